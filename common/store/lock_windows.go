//go:build windows

package store

import (
	"os"

	"golang.org/x/sys/windows"
)

var (
	errWouldBlock = windows.ERROR_LOCK_VIOLATION
	// Windows cannot fsync a directory; the rename is still atomic.
	errUnsupportedSync = windows.ERROR_ACCESS_DENIED
)

func tryLock(f *os.File) error {
	ol := new(windows.Overlapped)
	return windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
}
