//go:build !linux && !windows

package system

func memTotal() int64 { return 0 }

func cgroupVersion() string { return "none" }
