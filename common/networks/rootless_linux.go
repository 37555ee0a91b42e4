package networks

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/lepton-project/lepton/common/check"
	"github.com/lepton-project/lepton/common/rootless"
)

// For a rootless daemon the bridges live in a network namespace of its
// own, so a port published by nftables there is not yet on the host:
// rootlesskit's port driver listens on the host and forwards to the
// container. The nftables rules stay the record of who published what
// (written first, removed last); rootlesskit's ports follow them.

// away says whether the calling goroutine's thread is outside the network
// namespace the bridges live in: that of the rootless daemon this process
// works for (as root, the process's own, so never away). The lepton
// process itself stays on the host's network, where containerd and
// buildkitd pull and login logs in.
func away() bool {
	d, ok := rootless.Current()
	if !ok {
		return false
	}
	var base, here unix.Stat_t
	if unix.Stat(d.NetNS(), &base) != nil || unix.Stat("/proc/thread-self/ns/net", &here) != nil {
		return true // inBase says what is wrong
	}
	return base.Dev != here.Dev || base.Ino != here.Ino
}

// inBase runs fn on a thread of its own that has joined the daemon's
// network namespace, and waits for it. That thread never comes back to
// the host's namespace (only the host's root may enter it): its goroutine
// ends still locked to it, and Go's runtime then ends the thread.
func inBase(fn func() error) error {
	d, _ := rootless.Current()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		fd, err := unix.Open(d.NetNS(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open the rootless daemon's network namespace %s: %w (is the daemon running?)", d.NetNS(), err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("join the rootless daemon's network namespace %s: %w", d.NetNS(), err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// rootlessTimeout bounds a call to rootlesskit's API.
const rootlessTimeout = 10 * time.Second

// forward asks rootlesskit to publish the ports got (of container id, at
// ip) on the host. On failure those it added are withdrawn.
func forward(id string, ip netip.Addr, got []Port) error {
	d, ok := rootless.Current()
	if !ok || len(got) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), rootlessTimeout)
	defer cancel()
	var added []rootless.Port
	for _, p := range got {
		rp, err := d.AddPort(ctx, rootlessPort(p, ip))
		if err != nil {
			for _, a := range added {
				d.RemovePort(ctx, a.ID)
			}
			return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("cannot publish %s on the host: %v; choose another host port", p, err))
		}
		added = append(added, rp)
	}
	return nil
}

func rootlessPort(p Port, ip netip.Addr) rootless.Port {
	return rootless.Port{Proto: p.Proto, ParentIP: p.HostIP, ParentPort: p.HostPort, ChildIP: ip.String(), ChildPort: p.ContainerPort}
}

// unforward withdraws rootlesskit's ports for the rules of container id,
// before the rules go: while they stand, no other container takes their
// host ports, so the ports withdrawn are id's alone.
func unforward(c *nftables.Conn, id string) {
	d, ok := rootless.Current()
	if !ok {
		return
	}
	mine := map[rootless.Port]bool{}
	for _, p := range publishedPorts(c) {
		if p.owner == id {
			mine[p.forward()] = true
		}
	}
	if len(mine) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rootlessTimeout)
	defer cancel()
	ports, err := d.Ports(ctx)
	if err != nil {
		return
	}
	for _, rp := range ports {
		id := rp.ID
		rp.ID = 0
		if mine[rp] {
			d.RemovePort(ctx, id)
		}
	}
}

// forward is the rootlesskit port that carries a published rule.
func (p published) forward() rootless.Port {
	return rootless.Port{Proto: p.proto, ParentIP: p.hostIP, ParentPort: p.port, ChildIP: p.toIP, ChildPort: p.toPort}
}

// dnatTarget reads the address and port a published rule forwards to
// (see dnat).
func dnatTarget(r *nftables.Rule) (string, int) {
	var ip string
	var port int
	for _, e := range r.Exprs {
		if im, ok := e.(*expr.Immediate); ok {
			switch {
			case im.Register == 1 && len(im.Data) == 4:
				ip = netip.AddrFrom4([4]byte(im.Data)).String()
			case im.Register == 2 && len(im.Data) == 2:
				port = int(binaryutil.BigEndian.Uint16(im.Data))
			}
		}
	}
	return ip, port
}

// checkForwards compares rootlesskit's ports with the rules, under the
// host lock every publish takes:
//
//   - orphan-forward: a port rootlesskit publishes that no rule owns (a
//     lepton killed between the two removals); repair withdraws it;
//   - missing-forward: a rule whose port rootlesskit does not publish (a
//     lepton killed between adding the rule and asking rootlesskit);
//     repair asks rootlesskit again.
func checkForwards(ctx context.Context, r *check.Report) error {
	if away() {
		return inBase(func() error { return checkForwards(ctx, r) })
	}
	d, ok := rootless.Current()
	if !ok {
		return nil
	}
	return hostLocked(func() error {
		c, err := nftConn()
		if err != nil {
			return err
		}
		ports, err := d.Ports(ctx)
		if err != nil {
			return err
		}
		have := map[rootless.Port]bool{}
		for _, rp := range ports {
			k := rp
			k.ID = 0
			have[k] = true
		}
		want := map[rootless.Port]bool{}
		for _, p := range publishedPorts(c) {
			k := p.forward()
			want[k] = true
			if !have[k] {
				r.Add("missing-forward", short(p.owner)+"/"+fmt.Sprint(p.port), fmt.Sprintf("host port %d/%s of container %s is not forwarded by rootlesskit; repair forwards it", p.port, p.proto, short(p.owner)), func() error {
					_, err := d.AddPort(ctx, k)
					return err
				})
			}
		}
		for _, rp := range ports {
			k := rp
			k.ID = 0
			if !want[k] {
				id := rp.ID
				r.Add("orphan-forward", fmt.Sprintf("%d/%s", rp.ParentPort, rp.Proto), fmt.Sprintf("rootlesskit forwards host port %d/%s to %s:%d, which no container publishes; repair withdraws it", rp.ParentPort, rp.Proto, rp.ChildIP, rp.ChildPort), func() error {
					return d.RemovePort(ctx, id)
				})
			}
		}
		return nil
	})
}
