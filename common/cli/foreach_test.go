package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestForEachOrderAndErrors(t *testing.T) {
	env, out, _ := testEnv("b\n{\"Name\":\"c\"}\n")
	var ran []string
	err := ForEach(env, []string{"a", "-", "d"}, func(target string) (string, error) {
		ran = append(ran, target)
		switch target {
		case "b":
			return "", errdefs.ErrNotFound.WithMessage("no such thing: b")
		case "c":
			return "", nil // nothing to say: prints no line
		case "d":
			return "d1\nd2\n", nil
		}
		return target, nil
	})
	if got := strings.Join(ran, " "); got != "a b c d" {
		t.Errorf("ran %q, want a b c d", got)
	}
	if out.String() != "a\nd1\nd2\n" {
		t.Errorf("stdout %q", out)
	}
	var tes TargetErrors
	if !errors.As(err, &tes) || len(tes) != 1 || tes[0].Target != "b" {
		t.Fatalf("err = %#v, want one TargetError for b", err)
	}
	if !errdefs.IsNotFound(err) {
		t.Errorf("errors.Is does not reach the target's error through %v", err)
	}
	if err.Error() != "no such thing: b" {
		t.Errorf("Error() = %q", err)
	}
}

func TestForEachNoFailureIsNil(t *testing.T) {
	env, _, _ := testEnv("")
	if err := ForEach(env, []string{"a"}, func(string) (string, error) { return "", nil }); err != nil {
		t.Errorf("ForEach = %#v, want an untyped nil", err)
	}
}

func TestForEachDropsAFailedTargetsResult(t *testing.T) {
	env, out, _ := testEnv("")
	err := ForEach(env, []string{"x", "y"}, func(t string) (string, error) {
		if t == "x" {
			return t, errors.New("x is in use")
		}
		return t, nil
	})
	if out.String() != "y\n" || err == nil || err.Error() != "x is in use" {
		t.Errorf("stdout %q, err %v; want only y printed", out, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestForEachStdinErrorAsIs(t *testing.T) {
	env, _, _ := testEnv("")
	env.Stdin = failingReader{}
	called := false
	err := ForEach(env, []string{"a", "-"}, func(string) (string, error) { called = true; return "", nil })
	var tes TargetErrors
	if err == nil || errors.As(err, &tes) || called {
		t.Errorf("err %v (TargetErrors: %v), fn called: %v; want the read error, before any target", err, tes != nil, called)
	}
}

// lockedWriter fails the test if two goroutines write at once.
type lockedWriter struct {
	mu  sync.Mutex
	w   io.Writer
	bad atomic.Bool
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	if !l.mu.TryLock() {
		l.bad.Store(true)
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestForEachParallel(t *testing.T) {
	env, out, _ := testEnv("")
	lw := &lockedWriter{w: out}
	env.Stdout = lw
	var targets []string
	for i := range 20 {
		targets = append(targets, fmt.Sprint(i))
	}
	var mu sync.Mutex
	var running, most int
	err := ForEach(env, targets, func(target string) (string, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		defer func() { mu.Lock(); running--; mu.Unlock() }()
		// Later targets finish first: the output must still be in order.
		i, _ := strconv.Atoi(target)
		time.Sleep(time.Duration(20-i) * time.Millisecond / 4)
		if i%7 == 3 {
			return "", fmt.Errorf("failed %d", i)
		}
		return "t" + target, nil
	}, Parallel(4))
	var want []string
	for i := range 20 {
		if i%7 != 3 {
			want = append(want, fmt.Sprintf("t%d\n", i))
		}
	}
	if out.String() != strings.Join(want, "") {
		t.Errorf("stdout %q, want %q", out, strings.Join(want, ""))
	}
	if most > 4 || most < 2 {
		t.Errorf("%d targets ran at once, want 2 to 4", most)
	}
	if lw.bad.Load() {
		t.Error("stdout was written from two goroutines at once")
	}
	if err == nil || err.Error() != "failed 3\nfailed 10\nfailed 17" {
		t.Errorf("err = %v, want the failures in target order", err)
	}
}

// TestForEachParallelPrintsEarly checks that a result is printed as soon
// as it and those before it are done, not once every target is.
func TestForEachParallelPrintsEarly(t *testing.T) {
	env, _, _ := testEnv("")
	printed := make(chan string, 3)
	env.Stdout = writerFunc(func(b []byte) (int, error) { printed <- string(b); return len(b), nil })
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- ForEach(env, []string{"a", "b", "slow"}, func(target string) (string, error) {
			if target == "slow" {
				<-release
			}
			return target, nil
		}, Parallel(3))
	}()
	for _, want := range []string{"a\n", "b\n"} {
		select {
		case got := <-printed:
			if got != want {
				t.Errorf("printed %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q not printed while a later target still runs", want)
		}
	}
	close(release)
	if err := <-done; err != nil || <-printed != "slow\n" {
		t.Errorf("ForEach = %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestReportTargetErrors(t *testing.T) {
	tes := TargetErrors{
		{Target: "a", Err: errdefs.ErrNotFound.WithMessage("no such volume: a")},
		{Target: "b", Err: errors.New("volume b is in use")},
	}
	for _, err := range []error{tes, &tes, fmt.Errorf("rm: %w", tes), append(TargetErrors{{Target: "-x", Err: Usagef("bad name %q", "-x")}}, tes...)} {
		want := "lepton-x: no such volume: a\nlepton-x: volume b is in use\n"
		if tes, ok := err.(TargetErrors); ok && len(tes) == 3 {
			want = "lepton-x: bad name \"-x\"\n" + want
		}
		env, out, errb := testEnv("")
		if code := Report(env, err); code != 1 || out.Len() != 0 || errb.String() != want {
			t.Errorf("Report(%T) = %d, stdout %q, stderr %q", err, code, out, errb)
		}
	}
}
