//go:build unix

package store

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var (
	errWouldBlock      = unix.EWOULDBLOCK
	errUnsupportedSync = errors.New("never returned on unix")
)

func tryLock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}
