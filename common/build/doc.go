// Package build builds images from Dockerfiles with buildkit, into the
// containerd store lepton's other packages use. It talks to buildkitd
// through buildkit's Go client and runs the daemon itself: nothing needs
// setting up. It prints nothing but the build's progress, and only to the
// writer it is given.
//
// # Use
//
//	c, _ := ctrd.Connect(ctx, ctrd.DefaultAddress, "default")
//	b := build.New(c, build.DaemonOptions{
//		Containerd: ctrd.DefaultAddress, Namespace: "default", DataRoot: "/var/lib/lepton",
//	}, registry.Options{})
//	defer b.Close()
//	res, err := b.Build(ctx, build.Options{Context: "./app", Tags: []string{"app:1"}})
//	// res.Digest is the image's ID; "app:1" runs at once (common/containers)
//
// Options are docker build's flags; ParseSecret, ParseSSH, ParseOutput and
// ParseCache read their docker spellings, so a compose file's build:
// section and the command line fill the same struct.
//
// # The daemon
//
// buildkitd's containerd worker serves one namespace, so there is one
// daemon per data root, containerd and namespace (DaemonFor). Connect uses
// it if it listens and starts it if not, under the flock
// DATA_ROOT/buildkit/NAMESPACE/start.lock, so any number of first builds
// start exactly one; it is left running for the next build, in a session
// of its own. That directory holds its root (build cache metadata; the
// cache itself is snapshots and blobs in containerd's namespace), its pid
// file, its log and the configuration lepton writes at each start. The
// socket is in a short run directory (see DaemonFor). Stop ends it.
// DaemonOptions.Host names a daemon someone else runs instead.
//
// # A build
//
// Build checks everything it can before asking the daemon: the context and
// Dockerfile exist, the Dockerfile parses (ParseDockerfile names file and
// line), the --target is a stage, tags and flags are valid, secret files
// exist. Then it makes sure the images the Dockerfile starts from are in
// the store, pulling missing ones through common/registry (hosts.toml,
// docker's credentials), and has buildkit resolve them from the store
// ("image-resolve-mode": "local") with no registry call. The image
// exporter names the image only once the build has succeeded, so a
// failed, interrupted or killed build tags nothing; a failed RUN is
// reported with its Dockerfile line, step, exit code and last output.
package build
