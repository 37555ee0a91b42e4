//go:build !linux

package main

import "fmt"

// benchRootless needs Linux's user namespaces.
func benchRootless(_, _, _, _ string, _ int) error {
	fmt.Println("\nrootless benchmarks skipped: rootless mode needs Linux")
	return nil
}
