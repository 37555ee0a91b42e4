package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// benchCompose times compose up -d and down of a 10-service project with
// a two-level dependency graph (two roots, eight services on them) beside
// the same ten containers made by sequential lepton run -d, and removed by
// sequential lepton rm -f, in the same run.
func benchCompose(tmp string, lep func(string, ...string) []string, must func([]string) error, env []string, img string, rounds int, medians map[string]time.Duration) error {
	dir := filepath.Join(tmp, "composebench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var y strings.Builder
	y.WriteString("name: benchp\nservices:\n")
	roots := []string{"db1", "db2"}
	var all []string
	for i := range 10 {
		name := fmt.Sprintf("s%d", i)
		if i < 2 {
			name = roots[i]
		}
		all = append(all, name)
		fmt.Fprintf(&y, "  %s:\n    image: %s\n    init: true\n    command: [sleep, \"3600\"]\n", name, img)
		if i >= 2 {
			fmt.Fprintf(&y, "    depends_on: [%s]\n", roots[i%2])
		}
	}
	y.WriteString("networks:\n  default:\n    ipam:\n      config:\n        - subnet: 10.191.60.0/24\n")
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(y.String()), 0o644); err != nil {
		return err
	}
	compose := func(args ...string) []string { return lep("lepton-compose", append([]string{"-f", file}, args...)...) }
	timed := func(f func() error) (time.Duration, error) {
		start := time.Now()
		err := f()
		return time.Since(start), err
	}
	var seqUp, upD, seqRm, downD []time.Duration
	for range rounds + 1 { // the first round warms up
		// Sequential: the network, then each container, one command at a time.
		su, err := timed(func() error {
			if err := must(lep("lepton-network", "create", "--subnet", "10.191.61.0/24", "seqnet")); err != nil {
				return err
			}
			for _, n := range all {
				if err := must(lep("lepton-run", "-d", "--init", "--name", "seq-"+n, "--network", "seqnet", img, "sleep", "3600")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		sr, err := timed(func() error {
			for _, n := range all {
				if err := must(lep("lepton-container", "rm", "-f", "seq-"+n)); err != nil {
					return err
				}
			}
			return must(lep("lepton-network", "rm", "seqnet"))
		})
		if err != nil {
			return err
		}
		cu, err := timed(func() error { return must(compose("up", "-d")) })
		if err != nil {
			return err
		}
		cd, err := timed(func() error { return must(compose("down")) })
		if err != nil {
			return err
		}
		seqUp, seqRm, upD, downD = append(seqUp, su), append(seqRm, sr), append(upD, cu), append(downD, cd)
	}
	seqUp, seqRm, upD, downD = seqUp[1:], seqRm[1:], upD[1:], downD[1:]
	for _, ds := range [][]time.Duration{seqUp, seqRm, upD, downD} {
		sortDurations(ds)
	}
	report("10 x sequential run -d (+ network)", seqUp, medians, "")
	report("compose up -d, 10 services, 2 levels", upD, medians, "10 x sequential run -d (+ network)")
	report("10 x sequential rm -f (+ network)", seqRm, medians, "")
	report("compose down, 10 services", downD, medians, "10 x sequential rm -f (+ network)")
	return nil
}
