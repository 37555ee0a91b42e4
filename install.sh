#!/usr/bin/env bash
# install.sh: build and install lepton, the daemons it talks to, and start
# containerd if it is not running. Safe to run again: it only does what is
# missing, so a second run takes seconds.
#
#   ./install.sh [--prefix DIR] [--no-daemons] [--docker-alias]
#   ./install.sh --rootless            (as the user who will use lepton)
#
#   --prefix DIR     install under DIR/bin (default /usr/local)
#   --no-daemons     only lepton and its links (client-only machines)
#   --docker-alias   also link DIR/bin/docker to lepton
#   --rootless       set up rootless mode for the calling user: check what
#                    it needs, then start the user's containerd (as a systemd
#                    user service where systemd runs). Run ./install.sh as
#                    root first: it installs rootlesskit, slirp4netns, uidmap.
#
# Needs: Go (any version that can fetch the toolchain go.mod asks for through
# the module proxy; Debian's golang-go is installed when there is none), and
# for the daemons root and Debian's apt archive.
set -euo pipefail

CONTAINERD_VERSION=v2.4.2 # containerd, its runc shim and ctr
RUNC_VERSION=v1.5.2
BUILDKIT_VERSION=v0.34.2 # buildkitd; internal/buildkitd/go.mod pins the same
ROOTLESSKIT_VERSION=v2.3.6 # rootless mode; 2.2 or newer for --detach-netns

prefix=/usr/local
daemons=1
docker_alias=0
rootless=0
while [ $# -gt 0 ]; do
	case "$1" in
	--prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
	--prefix=*) prefix=${1#--prefix=}; shift ;;
	--no-daemons) daemons=0; shift ;;
	--docker-alias) docker_alias=1; shift ;;
	--rootless) rootless=1; shift ;;
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown option $1 (see ./install.sh --help)" >&2; exit 2 ;;
	esac
done

src=$(cd "$(dirname "$0")" && pwd)
bindir=$prefix/bin
step=""
trap 'rc=$?; [ $rc -ne 0 ] && echo "install.sh: FAILED at step: $step (exit $rc)" >&2' EXIT

say() { echo "install.sh: $*"; }
begin() { step=$*; }

apt_updated=0
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || { echo "install.sh: need packages ${missing[*]} and there is no apt-get; install them by hand" >&2; return 1; }
	if [ $apt_updated -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	say "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- rootless mode, for the calling user ------------------------------------
if [ $rootless = 1 ]; then
	begin "set up rootless mode"
	if [ "$(id -u)" = 0 ]; then
		echo "install.sh: --rootless sets up a user who is not root: run it as that user (root runs plain ./install.sh)" >&2
		exit 2
	fi
	export PATH=$bindir:$PATH
	command -v lepton >/dev/null || { echo "install.sh: lepton is not installed in $bindir: as root, run ./install.sh first" >&2; exit 1; }
	if ! lepton system rootless check; then
		echo "install.sh: fix the FAIL lines above (most need root), then run ./install.sh --rootless again" >&2
		exit 1
	fi
	if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && systemctl --user show-environment >/dev/null 2>&1; then
		unit=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/lepton-rootless.service
		mkdir -p "$(dirname "$unit")"
		lepton_bin=$(command -v lepton)
		cat >"$unit" <<UNIT
[Unit]
Description=lepton's rootless containerd (written by lepton's install.sh)

[Service]
ExecStart=$lepton_bin system rootless start --foreground
ExecStop=$lepton_bin system rootless stop
# The service's cgroup is the user's to hand out, so containers get limits.
Delegate=yes
Type=simple
Restart=on-failure
KillMode=mixed

[Install]
WantedBy=default.target
UNIT
		systemctl --user daemon-reload
		systemctl --user enable --now lepton-rootless.service
		say "wrote $unit and started it (systemctl --user status lepton-rootless)"
	else
		lepton system rootless start
	fi
	say "done: try 'lepton info' (it says Rootless: yes)"
	exit 0
fi

# --- Go -------------------------------------------------------------------
begin "find Go"
if ! command -v go >/dev/null; then
	[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null; then
	apt_install golang-go ca-certificates
fi
# An older go fetches the toolchain go.mod names through the module proxy.
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

# --- lepton ---------------------------------------------------------------
begin "build lepton"
mkdir -p "$bindir"
version=$(git -C "$src" describe --always --dirty 2>/dev/null || echo dev)
# Static, since run --init mounts this binary into containers; with cgo
# (glibc's static libc) because rootless mode joins a user namespace from a
# C constructor. Without a C compiler it is built without cgo, and rootless
# mode says it is unavailable.
if [ "$(id -u)" = 0 ] && [ $daemons = 1 ]; then
	apt_install gcc libc6-dev
fi
ldflags="-s -w -X github.com/lepton-project/lepton/common/cli.Version=$version"
if command -v gcc >/dev/null && [ -e "$(gcc -print-file-name=libc.a)" ]; then
	(cd "$src" && CGO_ENABLED=1 go build -trimpath -tags netgo,osusergo -ldflags "$ldflags -linkmode external -extldflags -static" -o "$bindir/lepton.new" .)
else
	say "no gcc with a static libc: lepton is built without cgo, so without rootless mode"
	(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bindir/lepton.new" .)
fi
mv -f "$bindir/lepton.new" "$bindir/lepton"
say "installed $bindir/lepton ($version)"

begin "link applets"
for name in $("$bindir/lepton" --list-applets); do
	if [ "$(readlink "$bindir/$name" 2>/dev/null)" != lepton ]; then
		ln -sfn lepton "$bindir/$name"
		say "linked $bindir/$name"
	fi
done
if [ $docker_alias = 1 ] && [ "$(readlink "$bindir/docker" 2>/dev/null)" != lepton ]; then
	ln -sfn lepton "$bindir/docker"
	say "linked $bindir/docker"
fi

[ $daemons = 1 ] || { say "done (--no-daemons)"; exit 0; }

# --- daemons ----------------------------------------------------------------
begin "check we are root"
[ "$(id -u)" = 0 ] || { echo "install.sh: installing daemons needs root (or use --no-daemons)" >&2; exit 1; }
export PATH=$bindir:$PATH

# version_of BIN prints the vX.Y.Z a daemon reports, or nothing.
version_of() {
	"$1" --version 2>/dev/null | grep -oE 'v?[0-9]+\.[0-9]+\.[0-9]+' | head -1 | sed 's/^v*/v/'
}
# at_least HAVE WANT: same major.minor series or newer.
at_least() {
	[ -n "$1" ] && [ "$(printf '%s\n%s\n' "${2%.*}" "$1" | sort -V | head -1)" = "${2%.*}" ]
}

begin "install containerd $CONTAINERD_VERSION"
need=0
for b in containerd containerd-shim-runc-v2 ctr; do
	command -v $b >/dev/null || need=1
done
have=$(command -v containerd >/dev/null && version_of containerd || true)
at_least "$have" "$CONTAINERD_VERSION" || need=1
if [ $need = 1 ]; then
	say "building containerd $CONTAINERD_VERSION (have: ${have:-none}); this takes a few minutes"
	GOBIN=$bindir go install -tags no_btrfs \
		github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION \
		github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION \
		github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION
	say "installed containerd, containerd-shim-runc-v2, ctr $CONTAINERD_VERSION in $bindir"
else
	say "containerd $have already installed"
fi

begin "install runc $RUNC_VERSION"
have=$(command -v runc >/dev/null && version_of runc || true)
if ! at_least "$have" "$RUNC_VERSION" || ! runc --version 2>/dev/null | grep -q libseccomp; then
	apt_install libseccomp-dev pkg-config gcc libc6-dev
	say "building runc $RUNC_VERSION with seccomp (have: ${have:-none})"
	GOBIN=$bindir CGO_ENABLED=1 go install -tags seccomp github.com/opencontainers/runc@$RUNC_VERSION
	say "installed runc $RUNC_VERSION in $bindir"
else
	say "runc $have already installed"
fi

begin "install buildkitd $BUILDKIT_VERSION"
# lepton starts buildkitd itself at the first build (one per containerd
# namespace); here it is only built. The wrapper module pins it, since
# buildkit's go.mod has exclude directives "go install ...@version" refuses.
have=$(command -v buildkitd >/dev/null && version_of buildkitd || true)
if [ "$have" != "$BUILDKIT_VERSION" ]; then
	say "building buildkitd $BUILDKIT_VERSION (have: ${have:-none}); this takes a few minutes"
	(cd "$src/internal/buildkitd" && CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION" \
		-o "$bindir/buildkitd.new" github.com/moby/buildkit/cmd/buildkitd)
	mv -f "$bindir/buildkitd.new" "$bindir/buildkitd"
	say "installed buildkitd $BUILDKIT_VERSION in $bindir"
else
	say "buildkitd $have already installed"
fi

begin "install rootlesskit $ROOTLESSKIT_VERSION, slirp4netns and uidmap"
# For users who are not root: lepton starts their own containerd under
# rootlesskit, with slirp4netns for its network and newuidmap for its IDs.
apt_install uidmap slirp4netns
have=$(command -v rootlesskit >/dev/null && version_of rootlesskit || true)
if ! at_least "$have" "$ROOTLESSKIT_VERSION"; then
	say "building rootlesskit $ROOTLESSKIT_VERSION (have: ${have:-none})"
	GOBIN=$bindir CGO_ENABLED=0 go install github.com/rootless-containers/rootlesskit/v2/cmd/rootlesskit@$ROOTLESSKIT_VERSION
	say "installed rootlesskit $ROOTLESSKIT_VERSION in $bindir"
else
	say "rootlesskit $have already installed"
fi
if [ -e /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	say "warning: /dev/net/tun is mode $(stat -c %a /dev/net/tun), so rootless mode has no network for users; Debian's default is 0666 (chmod 0666 /dev/net/tun)"
fi

begin "write /etc/containerd/config.toml"
if [ ! -e /etc/containerd/config.toml ]; then
	mkdir -p /etc/containerd/certs.d
	cat >/etc/containerd/config.toml <<'EOF'
# Written by lepton's install.sh because there was no config. Registry
# mirrors, plain-http registries and CAs go in certs.d/<host>/hosts.toml.
version = 3

[plugins."io.containerd.cri.v1.images".registry]
  config_path = "/etc/containerd/certs.d"

[plugins."io.containerd.transfer.v1.local"]
  config_path = "/etc/containerd/certs.d"
EOF
	say "wrote /etc/containerd/config.toml"
else
	say "kept the existing /etc/containerd/config.toml"
fi

begin "start containerd"
sock=/run/containerd/containerd.sock
answers() { timeout 5 ctr --address "$sock" version >/dev/null 2>&1; }
if answers; then
	say "containerd is running at $sock"
elif [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
	if [ ! -e /etc/systemd/system/containerd.service ] && [ ! -e /lib/systemd/system/containerd.service ]; then
		cat >/etc/systemd/system/containerd.service <<EOF
[Unit]
Description=containerd container runtime (installed by lepton)
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=$bindir/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNOFILE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
EOF
		systemctl daemon-reload
	fi
	systemctl enable --now containerd
	say "started containerd with systemd"
else
	mkdir -p /run/containerd /var/log
	# setsid: the daemon must outlive this shell and its session.
	setsid "$bindir/containerd" </dev/null >>/var/log/containerd.log 2>&1 &
	echo $! >/run/containerd/containerd.pid
	say "started containerd in the background (pid $(cat /run/containerd/containerd.pid), log /var/log/containerd.log)"
fi
for _ in $(seq 1 150); do
	answers && break
	sleep 0.2
done
answers || { echo "install.sh: containerd did not answer at $sock within 30s; see /var/log/containerd.log" >&2; exit 1; }
say "done: try 'lepton volume create hello && lepton volume ls'"
