package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func open(t *testing.T) (*Store, *Collection) {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Collection("default", "things")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestValidateKey(t *testing.T) {
	for _, tt := range []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"my-vol_1.2", true},
		{"0abc", true},
		{strings.Repeat("x", MaxKeyLen), true},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"-flag", false},
		{"a/b", false},
		{"../../etc/passwd", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"tab\t", false},
		{"é", false},
		{"a b", false},
		{"a:b", false},
		{`a\b`, false},
		{strings.Repeat("x", MaxKeyLen+1), false},
		{strings.Repeat("x", 10000), false},
	} {
		err := ValidateKey(tt.key)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateKey(%.30q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
		if err != nil && !errdefs.IsInvalidArgument(err) {
			t.Errorf("ValidateKey(%.30q) = %v, want class ErrInvalidArgument", tt.key, err)
		}
	}
}

func TestHostileKeysTouchNothing(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(s.Root()), "escaped")
	for _, key := range []string{"..", "../escaped", "a/b", "a\x00b", "\x1b[2J", strings.Repeat("k", 10000)} {
		for name, op := range map[string]func() error{
			"Create": func() error { return c.Create(ctx, key, []byte("x")) },
			"Put":    func() error { return c.Put(ctx, key, []byte("x")) },
			"Delete": func() error { return c.Delete(ctx, key) },
			"Get":    func() error { _, err := c.Get(ctx, key); return err },
			"Update": func() error {
				return c.Update(ctx, key, func([]byte) ([]byte, error) { return nil, nil })
			},
		} {
			if err := op(); !errdefs.IsInvalidArgument(err) {
				t.Errorf("%s(%.20q) = %v, want ErrInvalidArgument", name, key, err)
			}
		}
	}
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("a hostile key created %s", outside)
	}
	if _, err := s.Collection("../x", "k"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Collection(../x) = %v, want ErrInvalidArgument", err)
	}
	if _, err := s.Collection("ns", "a/b"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Collection(ns, a/b) = %v, want ErrInvalidArgument", err)
	}
}

func TestCRUD(t *testing.T) {
	_, c := open(t)
	ctx := context.Background()
	if _, err := c.Get(ctx, "a"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
	if err := c.Create(ctx, "a", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, "a", []byte("two")); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("Create(existing) = %v, want ErrAlreadyExists", err)
	}
	if got, _ := c.Get(ctx, "a"); string(got) != "one" {
		t.Fatalf("a failed Create changed the record: %q", got)
	}
	if err := c.Update(ctx, "a", func(old []byte) ([]byte, error) { return append(old, '!'), nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := c.Update(ctx, "a", func([]byte) ([]byte, error) { return []byte("lost"), boom }); !errors.Is(err, boom) {
		t.Fatalf("Update with failing fn = %v, want boom", err)
	}
	if got, _ := c.Get(ctx, "a"); string(got) != "one!" {
		t.Fatalf("Get(a) = %q, want %q", got, "one!")
	}
	if err := c.Update(ctx, "missing", func(b []byte) ([]byte, error) { return b, nil }); !errdefs.IsNotFound(err) {
		t.Fatalf("Update(missing) = %v, want ErrNotFound", err)
	}
	if err := c.Put(ctx, "b", []byte("bee")); err != nil {
		t.Fatal(err)
	}
	es, err := c.List(ctx)
	if err != nil || len(es) != 2 || es[0].Key != "a" || es[1].Key != "b" || string(es[1].Data) != "bee" {
		t.Fatalf("List = %v, %v", es, err)
	}
	if err := c.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete(already gone) = %v, want nil", err)
	}
	// Deleting must not leave lock files behind, nor did failed lookups.
	left, _ := os.ReadDir(filepath.Join(c.Dir(), locksDir))
	if len(left) != 1 || left[0].Name() != "b" {
		t.Errorf("lock files left: %v, want only b", left)
	}
}

func TestSchemaVersion(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	if _, err := Open(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, root); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, versionFile), []byte("99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, root); !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("Open(newer schema) = %v, want ErrFailedPrecondition", err)
	}
}

func TestListSweepsOnlyStaleTemps(t *testing.T) {
	_, c := open(t)
	ctx := context.Background()
	if err := c.Put(ctx, "a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(c.Dir(), tmpPrefix+"dead")
	fresh := filepath.Join(c.Dir(), tmpPrefix+"inflight")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTmp)
	os.Chtimes(stale, old, old)
	es, err := c.List(ctx)
	if err != nil || len(es) != 1 {
		t.Fatalf("List = %v, %v; want only a", es, err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale temp file was not swept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh temp file (a write in flight) was swept")
	}
}

func TestLockHonoursContext(t *testing.T) {
	_, c := open(t)
	ctx := context.Background()
	hold := make(chan struct{})
	held := make(chan struct{})
	go c.Locked(ctx, "k", func(*Record) error { close(held); <-hold; return nil })
	<-held
	defer close(hold)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Put(tctx, "k", []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put while locked = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Put gave up after %v, want about 50ms", d)
	}
}

// TestLockFile: a second LockFile waits for the first, gives up when its
// context ends, and gets the lock once the first is released.
func TestLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	release, err := LockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := LockFile(tctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockFile while held = %v, want DeadlineExceeded", err)
	}
	release()
	again, err := LockFile(context.Background(), path)
	if err != nil {
		t.Fatalf("LockFile after release: %v", err)
	}
	again()
}

// TestGoroutineRace races 32 goroutines on shared and private keys and
// checks the store ends exactly as the successful operations say.
func TestGoroutineRace(t *testing.T) {
	_, c := open(t)
	ctx := context.Background()
	const n, rounds = 32, 40
	if err := c.Create(ctx, "counter", []byte("0")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var winners atomic.Int32
	var winner atomic.Value
	for i := range n {
		wg.Go(func() {
			mine := fmt.Sprintf("g%d", i)
			if c.Create(ctx, "contended", []byte(mine)) == nil {
				winners.Add(1)
				winner.Store(mine)
			}
			for r := range rounds {
				if err := c.Update(ctx, "counter", func(old []byte) ([]byte, error) {
					v, err := strconv.Atoi(string(old))
					return []byte(strconv.Itoa(v + 1)), err
				}); err != nil {
					t.Error(err)
				}
				// Create and delete a private key; keep it on the last round
				// for even goroutines only.
				key := fmt.Sprintf("own-%d", i)
				if err := c.Create(ctx, key, []byte(mine)); err != nil {
					t.Error(err)
				}
				if r < rounds-1 || i%2 == 1 {
					if err := c.Delete(ctx, key); err != nil {
						t.Error(err)
					}
				}
				// Shared churn: every goroutine creates and deletes the
				// same key; each must see either success or AlreadyExists.
				if err := c.Create(ctx, "churn", []byte(mine)); err != nil && !errdefs.IsAlreadyExists(err) {
					t.Error(err)
				}
				if err := c.Delete(ctx, "churn"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if winners.Load() != 1 {
		t.Fatalf("%d goroutines created the same key, want exactly 1", winners.Load())
	}
	if got, _ := c.Get(ctx, "contended"); string(got) != winner.Load().(string) {
		t.Errorf("contended = %q, the winner wrote %q", got, winner.Load())
	}
	if got, _ := c.Get(ctx, "counter"); string(got) != strconv.Itoa(n*rounds) {
		t.Errorf("counter = %s, want %d: an update was lost", got, n*rounds)
	}
	es, _ := c.List(ctx)
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	want := []string{"contended", "counter"}
	for i := 0; i < n; i += 2 {
		want = append(want, fmt.Sprintf("own-%d", i))
	}
	if !sameSet(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	locks, _ := os.ReadDir(filepath.Join(c.Dir(), locksDir))
	if len(locks) != len(want) {
		t.Errorf("%d lock files for %d records: churn leaks lock files", len(locks), len(want))
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// helper re-runs this test binary as a separate process that performs one
// role against the store at root.
func helper(t *testing.T, role, root string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "STORE_HELPER="+role, "STORE_ROOT="+root, "STORE_ARGS="+strings.Join(args, ","))
	cmd.Stderr = os.Stderr
	return cmd
}

// TestHelperProcess is not a test: it is the body of the processes that
// TestProcessRace and TestKilledWriter start.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv("STORE_HELPER")
	if role == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	s, err := Open(ctx, os.Getenv("STORE_ROOT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	c, _ := s.Collection("default", "things")
	args := strings.Split(os.Getenv("STORE_ARGS"), ",")
	switch role {
	case "race":
		id, rounds := args[0], 50
		if c.Create(ctx, "contended", []byte(id)) == nil {
			fmt.Println("won")
		}
		for range rounds {
			err := c.Update(ctx, "counter", func(old []byte) ([]byte, error) {
				v, err := strconv.Atoi(string(old))
				return []byte(strconv.Itoa(v + 1)), err
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			if err := c.Create(ctx, "own-"+id, []byte(id)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			if err := c.Delete(ctx, "own-"+id); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	case "writer":
		// Write ever-larger uniform records until killed.
		fmt.Println("ready")
		for i := 0; ; i++ {
			b := bytes.Repeat([]byte{byte('a' + i%26)}, 1<<20+i*4096)
			if err := c.Put(ctx, "victim", b); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	case "holder":
		c.Locked(ctx, "victim", func(*Record) error {
			fmt.Println("locked")
			time.Sleep(time.Hour)
			return nil
		})
	}
	os.Exit(2)
}

func TestProcessRace(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	if err := c.Create(ctx, "counter", []byte("0")); err != nil {
		t.Fatal(err)
	}
	const procs = 8
	var wg sync.WaitGroup
	outs := make([][]byte, procs)
	for i := range procs {
		wg.Go(func() {
			out, err := helper(t, "race", s.Root(), strconv.Itoa(i)).Output()
			if err != nil {
				t.Errorf("process %d: %v", i, err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	won := 0
	for _, o := range outs {
		won += strings.Count(string(o), "won")
	}
	if won != 1 {
		t.Errorf("%d processes created the same key, want 1", won)
	}
	if got, _ := c.Get(ctx, "counter"); string(got) != strconv.Itoa(procs*50) {
		t.Errorf("counter = %s, want %d", got, procs*50)
	}
	es, _ := c.List(ctx)
	if len(es) != 2 {
		t.Errorf("records left: %d, want contended and counter", len(es))
	}
}

func TestKilledWriter(t *testing.T) {
	s, c := open(t)
	ctx := context.Background()
	for i, delay := range []time.Duration{0, 3 * time.Millisecond, 17 * time.Millisecond, 40 * time.Millisecond, 90 * time.Millisecond} {
		cmd := helper(t, "writer", s.Root())
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		out.Read(buf) // "ready"
		time.Sleep(delay + time.Duration(i)*time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		b, err := c.Get(ctx, "victim")
		switch {
		case errdefs.IsNotFound(err), err == nil && string(b) == "after":
			// killed before its first write
		case err != nil:
			t.Fatal(err)
		case len(b) < 1<<20 || (len(b)-1<<20)%4096 != 0 || len(bytes.Trim(b, string(b[:1]))) != 0:
			t.Fatalf("after SIGKILL the record is torn: %d bytes", len(b))
		}
		// The lock died with the writer.
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := c.Put(lctx, "victim", []byte("after")); err != nil {
			t.Fatalf("lock still held after its holder was killed: %v", err)
		}
		cancel()
	}

	cmd := helper(t, "holder", s.Root())
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	out.Read(buf) // "locked"
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Put(lctx, "victim", []byte("x")); err != nil {
		t.Fatalf("lock of a killed holder still held: %v", err)
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", "a\x00", "vol-1.2_x", strings.Repeat("z", 300), "é"} {
		f.Add(s)
	}
	root := f.TempDir()
	s, err := Open(context.Background(), filepath.Join(root, "store"))
	if err != nil {
		f.Fatal(err)
	}
	c, _ := s.Collection("ns", "kind")
	f.Fuzz(func(t *testing.T, key string) {
		ctx := context.Background()
		err := c.Put(ctx, key, []byte(key))
		if ValidateKey(key) != nil {
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("Put(%q) = %v, want ErrInvalidArgument", key, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
		// An accepted key is exactly one file, directly in the collection.
		if _, err := os.Stat(filepath.Join(c.Dir(), key)); err != nil {
			t.Fatalf("record for %q is not at its own name: %v", key, err)
		}
		if got, err := c.Get(ctx, key); err != nil || string(got) != key {
			t.Fatalf("Get(%q) = %q, %v", key, got, err)
		}
		if err := c.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(filepath.Join(root))
		if len(entries) != 1 {
			t.Fatalf("key %q wrote outside the store root: %v", key, entries)
		}
	})
}
