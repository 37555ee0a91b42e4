// Command bench times whole lepton commands beside baselines run in the same
// invocation (the process floor /bin/true, ctr, plain ls), and prints medians
// and ratios. It is not a test: it asserts nothing, it reports.
//
//	go run ./bench [-n RUNS] [-volumes N] [-lepton PATH] [-only build|compose|rootless]
//
// Without -lepton it builds lepton from this checkout first, the way
// install.sh does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lepton-project/lepton/common/store"
	"github.com/lepton-project/lepton/common/volumes"
)

func main() {
	runs := flag.Int("n", 30, "Runs per command (the median is reported)")
	nvol := flag.Int("volumes", 1000, "Volumes to list")
	bin := flag.String("lepton", "", "Lepton binary to time (default: build this checkout)")
	address := flag.String("address", "/run/containerd/containerd.sock", "Containerd socket for the container benchmarks (skipped when none answers)")
	ncont := flag.Int("containers", 1000, "Containers for ps to list")
	only := flag.String("only", "", "Run only this group: build, compose or rootless")
	flag.Parse()
	if err := bench(*runs, *nvol, *bin, *address, *ncont, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(runs, nvol int, bin, address string, ncont int, only string) error {
	tmp, err := os.MkdirTemp("", "lepton-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		// As install.sh builds it: static, with cgo for rootless mode.
		bin = filepath.Join(tmp, "lepton")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "netgo,osusergo", "-ldflags", "-s -w -linkmode external -extldflags -static", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build lepton: %w", err)
		}
	}
	bindir := filepath.Join(tmp, "bin")
	os.MkdirAll(bindir, 0o755)
	for _, n := range []string{"lepton", "lepton-volume", "lepton-run", "lepton-container", "lepton-image", "lepton-network", "lepton-compose"} {
		if err := os.Symlink(bin, filepath.Join(bindir, n)); err != nil {
			return err
		}
	}
	home := filepath.Join(tmp, "home")
	if only == "build" {
		return benchBuild(tmp, bindir, home, address, runs)
	}
	if only == "compose" {
		return benchContainers(tmp, bindir, home, address, runs, ncont, true)
	}
	if only == "rootless" {
		return benchRootless(tmp, bindir, home, address, runs)
	}
	if only != "" {
		return fmt.Errorf("-only %s: the groups are build, compose and rootless", only)
	}
	if err := seedVolumes(home, nvol); err != nil {
		return err
	}
	env := append(os.Environ(), "LEPTON_HOME="+home, "CONTAINERD_NAMESPACE=default")

	fmt.Printf("lepton benchmarks: median of %d runs each, %s\n\n", runs, time.Now().Format(time.RFC3339))
	rows := []row{
		{"/bin/true (process floor)", []string{"/bin/true"}, ""},
		{"ctr --version", []string{"ctr", "--version"}, ""},
		{"lepton --list-applets", []string{bin, "--list-applets"}, "ctr --version"},
		{fmt.Sprintf("ls -l over %d records (fs floor)", nvol), []string{"ls", "-l", filepath.Join(home, "meta", "default", "volumes")}, ""},
		{fmt.Sprintf("lepton-volume ls over %d volumes", nvol), []string{filepath.Join(bindir, "lepton-volume"), "ls"}, "/bin/true (process floor)"},
		{fmt.Sprintf("lepton-volume ls --format json over %d", nvol), []string{filepath.Join(bindir, "lepton-volume"), "ls", "--format", "json"}, fmt.Sprintf("ls -l over %d records (fs floor)", nvol)},
	}
	medians := map[string]time.Duration{}
	fmt.Printf("%-44s %10s %10s  %s\n", "command", "median", "p90", "ratio")
	if err := timeRows(rows, env, runs, medians); err != nil {
		return err
	}
	if _, err := os.Stat(address); err != nil {
		fmt.Printf("\ncontainer benchmarks skipped: no containerd at %s\n", address)
		return nil
	}
	if err := benchContainers(tmp, bindir, home, address, runs, ncont, false); err != nil {
		return err
	}
	if err := benchBuild(tmp, bindir, home, address, runs); err != nil {
		return err
	}
	return benchRootless(tmp, bindir, home, address, runs)
}

type row struct {
	name     string
	argv     []string
	baseline string
}

func timeRows(rows []row, env []string, runs int, medians map[string]time.Duration) error {
	for _, r := range rows {
		if _, err := exec.LookPath(r.argv[0]); err != nil {
			fmt.Printf("%-44s %10s\n", r.name, "(not installed)")
			continue
		}
		ds, err := timeRuns(r.argv, env, runs)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		med, p90 := ds[len(ds)/2], ds[len(ds)*9/10]
		medians[r.name] = med
		ratio := ""
		if b, ok := medians[r.baseline]; ok && b > 0 {
			ratio = fmt.Sprintf("%.2fx %s", float64(med)/float64(b), r.baseline)
		}
		fmt.Printf("%-44s %10s %10s  %s\n", r.name, ms(med), ms(p90), ratio)
	}
	return nil
}

func seedVolumes(home string, n int) error {
	ctx := context.Background()
	s, err := store.Open(ctx, home)
	if err != nil {
		return err
	}
	vs, err := volumes.Open(s, "default")
	if err != nil {
		return err
	}
	for i := range n {
		labels := map[string]string{"bench": "yes", "index": fmt.Sprint(i)}
		if _, err := vs.Create(ctx, volumes.CreateOptions{Name: fmt.Sprintf("vol-%04d", i), Labels: labels}); err != nil {
			return err
		}
	}
	return nil
}

// timeRuns runs argv n times after two warm-up runs (n < 0: once, no
// warm-up) and returns the durations sorted.
func timeRuns(argv, env []string, n int) ([]time.Duration, error) {
	var ds []time.Duration
	warm := 2
	if n < 0 {
		n, warm = 1, 0
	}
	for i := 0; i < n+warm; i++ {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		if i >= warm {
			ds = append(ds, d)
		}
	}
	sortDurations(ds)
	return ds, nil
}

func sortDurations(ds []time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
