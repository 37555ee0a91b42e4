package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/lepton-project/lepton/common/networks"
	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/internal/testimage"
	"github.com/lepton-project/lepton/internal/testns"
)

const benchNS = "lepton-bench"

// benchContainers times container commands beside ctr doing the same work
// against the same daemon, in a namespace of their own that is removed
// afterwards.
func benchContainers(tmp, bindir, home, address string, runs, ncont int, onlyCompose bool) error {
	ctx := namespaces.WithNamespace(context.Background(), benchNS)
	c, err := containerd.New(address)
	if err != nil {
		return err
	}
	defer c.Close()
	defer removeNetworks(home) // runs after cleanNamespace: the bridges are the host's
	defer cleanNamespace(ctx, c)

	if err := importBusybox(tmp, address, benchNS); err != nil {
		return err
	}
	ctr := func(args ...string) []string {
		return append([]string{"ctr", "--address", address, "-n", benchNS}, args...)
	}
	env := append(os.Environ(), "LEPTON_HOME="+home, "CONTAINERD_ADDRESS="+address, "CONTAINERD_NAMESPACE="+benchNS,
		"LEPTON_SELF="+filepath.Join(bindir, "lepton"))
	lep := func(name string, args ...string) []string {
		return append([]string{filepath.Join(bindir, name)}, args...)
	}
	img0 := testimage.LocalName
	must := func(argv []string) error {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
		return nil
	}
	if onlyCompose {
		return benchCompose(tmp, lep, must, env, img0, max(runs/5, 3), map[string]time.Duration{})
	}
	if err := must(lep("lepton-run", "-d", "--name", "execbox", img0, "sleep", "3600")); err != nil {
		return err
	}
	// lepton applies docker's default seccomp profile, as docker does, and
	// runc then loads it for every process; ctr does the same work only
	// when asked with --seccomp, so the baselines ask.
	if err := must(ctr("run", "--seccomp", "-d", img0, "ctrbox", "sleep", "3600")); err != nil {
		return err
	}
	n := 0
	next := func() string { n++; return fmt.Sprint("b", n) }

	fmt.Println()
	medians := map[string]time.Duration{}
	// Each lepton command is timed alternately with its ctr baseline, so
	// that drift in the machine's load falls on both alike.
	pairs := []struct {
		base, name string
		baseArgv   func() []string
		argv       func() []string
	}{
		{"ctr run --seccomp --rm IMAGE true", "lepton run --rm --network none IMAGE true",
			func() []string { return ctr("run", "--seccomp", "--rm", img0, next(), "true") },
			func() []string { return lep("lepton-run", "--rm", "--network", "none", img0, "true") }},
		{"lepton run --rm --network none (again)", "lepton run --rm IMAGE true (bridge)",
			func() []string { return lep("lepton-run", "--rm", "--network", "none", img0, "true") },
			func() []string { return lep("lepton-run", "--rm", img0, "true") }},
		{"ctr task exec NAME true (seccomp)", "lepton exec NAME true",
			func() []string { return ctr("task", "exec", "--exec-id", next(), "ctrbox", "true") },
			func() []string { return lep("lepton-container", "exec", "execbox", "true") }},
	}
	for _, pr := range pairs {
		if err := timePair(pr.base, pr.name, pr.baseArgv, pr.argv, env, runs, medians); err != nil {
			return err
		}
		if strings.HasSuffix(pr.name, "(bridge)") {
			fmt.Printf("%-44s %+9.2fms  (target: at most +50ms)\n", "  bridge - none, medians", float64(medians[pr.name]-medians[pr.base])/1e6)
		}
	}
	if err := benchCNI(ctr, lep, env, img0, runs, next, medians); err != nil {
		return err
	}

	// ps over many containers: created straight through the client, as
	// lepton would label them, so that setting up stays quick.
	for _, total := range []int{ncont / 10, ncont} {
		if err := fillContainers(ctx, c, total); err != nil {
			return err
		}
		base := fmt.Sprintf("ctr containers ls (%d)", total)
		for _, r := range []struct {
			name, baseline string
			argv           []string
		}{
			{base, "", ctr("containers", "ls")},
			{fmt.Sprintf("lepton ps -a (%d)", total), base, lep("lepton-container", "ps", "-a")},
			{fmt.Sprintf("lepton info (%d)", total), base, lep("lepton", "info")},
			{fmt.Sprintf("lepton system df (%d)", total), base, lep("lepton", "system", "df")},
		} {
			ds, err := timeRuns(r.argv, env, max(runs/3, 5))
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			report(r.name, ds, medians, r.baseline)
		}
	}
	if err := emptyNamespaceOf(ctx, c, "fill-"); err != nil {
		return err
	}

	// 20 parallel detached runs: as lepton does them, and with every
	// command holding one lock from start to end, the design lepton avoids.
	for _, mode := range []string{"lepton (per-name locks)", "one lock for the whole command"} {
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for i := range 20 {
			argv := lep("lepton-run", "-d", "--name", fmt.Sprintf("par%d", i), img0, "true")
			if strings.HasPrefix(mode, "one lock") {
				argv = append([]string{"flock", filepath.Join(tmp, "global.lock")}, argv...)
			}
			wg.Go(func() {
				if err := must(argv); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		d := time.Since(start)
		fmt.Printf("%-44s %10s\n", "20 parallel run -d, "+mode, ms(d))
		medians["par:"+mode] = d
		if err := must(append(lep("lepton-container", "rm", "-f"), names("par", 20)...)); err != nil {
			return err
		}
	}
	fmt.Printf("%-44s %10.2fx\n", "  per-name locks / one lock", float64(medians["par:lepton (per-name locks)"])/float64(medians["par:one lock for the whole command"]))

	// rm -f of 100 stopped containers in one command, beside ctr
	// containers rm of 100: each made the way its own tool makes them.
	if err := benchRm(ctr, lep, must, env, img0, max(runs/3, 3), medians); err != nil {
		return err
	}
	fmt.Println()
	if err := benchCompose(tmp, lep, must, env, img0, max(runs/5, 3), medians); err != nil {
		return err
	}
	fmt.Println()
	return benchImages(ctx, c, env, ctr, lep, runs, nil)
}

// benchCNI puts lepton's bridge beside ctr run --cni, when this machine
// has what ctr needs for it: CNI plugins in /opt/cni/bin and a network
// in /etc/cni/net.d. lepton needs neither, so the bench never installs them.
func benchCNI(ctr func(...string) []string, lep func(string, ...string) []string, env []string, img string, runs int, next func() string, medians map[string]time.Duration) error {
	confs, _ := filepath.Glob("/etc/cni/net.d/*.conf*")
	if _, err := os.Stat("/opt/cni/bin/bridge"); err != nil || len(confs) == 0 {
		fmt.Printf("%-44s %10s\n", "ctr run --cni", "skipped: no CNI plugins in /opt/cni/bin or no network in /etc/cni/net.d")
		return nil
	}
	return timePair("ctr run --seccomp --cni --rm IMAGE true", "lepton run --rm IMAGE true (bridge, again)",
		func() []string { return ctr("run", "--seccomp", "--cni", "--rm", img, next(), "true") },
		func() []string { return lep("lepton-run", "--rm", img, "true") },
		env, runs, medians)
}

func names(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// importBusybox puts the test image in namespace ns with ctr, as the
// test scripts do.
func importBusybox(tmp, address, ns string) error {
	img, err := testimage.Busybox()
	if err != nil {
		return fmt.Errorf("test image: %w", err)
	}
	tar := filepath.Join(tmp, "busybox-"+ns+".tar")
	if err := testimage.WriteOCI(img, tar, testimage.LocalName); err != nil {
		return err
	}
	if out, err := exec.Command("ctr", "--address", address, "-n", ns, "images", "import", tar).CombinedOutput(); err != nil {
		return fmt.Errorf("import into %s: %v: %s", ns, err, out)
	}
	return nil
}

// timePair runs a baseline and a lepton command alternately, runs times
// each after two warm-up rounds, so that drift in the machine's load falls
// on both alike, and reports both medians with their ratio.
func timePair(base, name string, baseArgv, argv func() []string, env []string, runs int, medians map[string]time.Duration) error {
	var bs, ls []time.Duration
	for i := 0; i < runs+2; i++ {
		b, err := timeRuns(baseArgv(), env, -1)
		if err != nil {
			return fmt.Errorf("%s: %w", base, err)
		}
		l, err := timeRuns(argv(), env, -1)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if i >= 2 {
			bs, ls = append(bs, b...), append(ls, l...)
		}
	}
	sortDurations(bs)
	sortDurations(ls)
	report(base, bs, medians, "")
	report(name, ls, medians, base)
	return nil
}

func report(name string, ds []time.Duration, medians map[string]time.Duration, baseline string) {
	med, p90 := ds[len(ds)/2], ds[len(ds)*9/10]
	medians[name] = med
	ratio := ""
	if b, ok := medians[baseline]; ok && b > 0 {
		ratio = fmt.Sprintf("%.2fx %s", float64(med)/float64(b), baseline)
	}
	fmt.Printf("%-44s %10s %10s  %s\n", name, ms(med), ms(p90), ratio)
}

func fillContainers(ctx context.Context, c *containerd.Client, total int) error {
	have, err := c.ContainerService().List(ctx, "id~=^fill-")
	if err != nil {
		return err
	}
	img, err := c.GetImage(ctx, testimage.LocalName)
	if err != nil {
		return err
	}
	for i := len(have); i < total; i++ {
		id := fmt.Sprintf("fill-%05d", i)
		_, err := c.NewContainer(ctx, id, containerd.WithImage(img),
			containerd.WithNewSpec(oci.WithRootFSPath("rootfs"), oci.WithProcessArgs("true")),
			containerd.WithContainerLabels(map[string]string{"lepton/name": id, "lepton/command": "true"}))
		if err != nil {
			return err
		}
	}
	return nil
}

func emptyNamespaceOf(ctx context.Context, c *containerd.Client, prefix string) error {
	cs, err := c.Containers(ctx, "id~=^"+prefix)
	if err != nil {
		return err
	}
	for _, ct := range cs {
		ct.Delete(ctx)
	}
	return nil
}

func removeNetworks(home string) {
	ctx := context.Background()
	if s, err := store.Open(ctx, home); err == nil {
		if nets, err := networks.Open(s, benchNS); err == nil {
			nets.RemoveAll(ctx)
		}
	}
}

func cleanNamespace(ctx context.Context, c *containerd.Client) {
	if err := testns.Remove(ctx, c, benchNS); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
}

// benchRm times removing 100 created containers in one command: ctr
// containers rm, and lepton rm -f of containers lepton created (on the
// default network, so each has a directory, a name claim and a network
// plan to drop as well).
func benchRm(ctr func(...string) []string, lep func(string, ...string) []string, must func([]string) error, env []string, img string, rounds int, medians map[string]time.Duration) error {
	const n = 100
	fill := func(argv func(i int) []string) error {
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := must(argv(i)); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return firstErr
	}
	base, name := fmt.Sprintf("ctr containers rm (%d)", n), fmt.Sprintf("lepton rm -f (%d)", n)
	var bs, ls []time.Duration
	for range rounds {
		if err := fill(func(i int) []string { return ctr("containers", "create", img, fmt.Sprint("rmc", i), "true") }); err != nil {
			return err
		}
		b, err := timeRuns(append(ctr("containers", "rm"), names("rmc", n)...), env, -1)
		if err != nil {
			return fmt.Errorf("%s: %w", base, err)
		}
		if err := fill(func(i int) []string {
			return lep("lepton-container", "create", "--name", fmt.Sprint("rml", i), img, "true")
		}); err != nil {
			return err
		}
		l, err := timeRuns(append(lep("lepton-container", "rm", "-f"), names("rml", n)...), env, -1)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		bs, ls = append(bs, b...), append(ls, l...)
	}
	sortDurations(bs)
	sortDurations(ls)
	report(base, bs, medians, "")
	report(name, ls, medians, base)
	return nil
}
