package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// keyLock is a held per-key lock.
type keyLock struct {
	f    *os.File
	path string
}

// lock takes key's exclusive lock, waiting until ctx is done.
//
// The lock file is removed when the record is gone (see release), so a
// waiter may end up holding a lock on a file that is no longer linked. It
// therefore checks, after locking, that the path still names the file it
// locked, and starts again if not.
func (c *Collection) lock(ctx context.Context, key string) (*keyLock, error) {
	dir := filepath.Join(c.dir, locksDir)
	if err := os.MkdirAll(dir, c.s.dirMode); err != nil {
		return nil, fmt.Errorf("lock %s %q: %w", c.kind, key, err)
	}
	path := filepath.Join(dir, key)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock %s %q: %w", c.kind, key, err)
		}
		if err := lockWait(ctx, f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s %q: %w", c.kind, key, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return &keyLock{f: f, path: path}, nil
		}
		f.Close() // unlinked by the previous holder: lock the new file instead
	}
}

// LockFile takes an exclusive lock on path, made if missing, waiting until
// ctx is done, for work outside the store's records that must be done by
// one process at a time (starting a daemon, say). release drops it; so
// does the process's death, however it dies.
func LockFile(ctx context.Context, path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockWait(ctx, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// lockWait polls for the lock rather than blocking in the kernel, so that a
// cancelled context (Ctrl-C, a deadline) ends the wait promptly.
func lockWait(ctx context.Context, f *os.File) error {
	delay := 200 * time.Microsecond
	for {
		err := tryLock(f)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errWouldBlock) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// release drops the lock. When the record no longer exists the lock file is
// unlinked first, still under the lock, so churn leaves no files behind.
func (l *keyLock) release(gone bool) error {
	var err error
	if gone {
		if rerr := os.Remove(l.path); rerr != nil && !os.IsNotExist(rerr) {
			err = rerr
		}
	}
	if cerr := l.f.Close(); err == nil { // closing the last descriptor drops the lock
		err = cerr
	}
	return err
}
