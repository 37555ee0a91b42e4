package cli

import (
	"strings"
	"sync"
)

// TargetError is one target's failure.
type TargetError struct {
	Target string
	Err    error
}

// Error is the failure alone: lepton's messages already name what they
// are about ("no such volume: v"), so the target is not said twice.
func (e TargetError) Error() string { return e.Err.Error() }

func (e TargetError) Unwrap() error { return e.Err }

// TargetErrors is the failures of a command over several targets, in
// target order. Report prints one line per target ("<applet>: <err>") and
// exits 1, so that "rm a b c" says what went wrong with each and still
// removes what it can, as docker does.
type TargetErrors []TargetError

func (e TargetErrors) Error() string {
	msgs := make([]string, len(e))
	for i, te := range e {
		msgs[i] = te.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap gives errors.Is and errors.As each target's error (as a
// TargetError, which unwraps to its Err).
func (e TargetErrors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, te := range e {
		errs[i] = te
	}
	return errs
}

type forEachOptions struct {
	parallel int
}

// ForEachOption changes how ForEach goes through its targets.
type ForEachOption func(*forEachOptions)

// Parallel runs up to n targets at once (default 1: one after the other,
// in the caller's goroutine, so fn need not be safe for concurrent use).
// The output stays in target order: a target's result is printed as soon
// as it and every target before it are done.
func Parallel(n int) ForEachOption {
	return func(o *forEachOptions) { o.parallel = n }
}

// ForEach runs fn on each of targets, after expanding "-" as Targets does
// (an error reading standard input is returned as is, before fn runs at
// all). The non-empty result of each target that succeeded goes to
// env.Stdout on its own line, in target order; it may hold several lines.
// A failed target's result is dropped, as Go's (value, error) convention
// has it, so "return ref, remove(ref)" prints ref only once it is gone.
// ForEach returns a TargetErrors for the targets that failed, nil if none
// did: a failure does not stop the other targets.
func ForEach(env *Env, targets []string, fn func(target string) (string, error), opts ...ForEachOption) error {
	o := forEachOptions{parallel: 1}
	for _, opt := range opts {
		opt(&o)
	}
	targets, err := Targets(env, targets)
	if err != nil {
		return err
	}
	type result struct {
		out string
		err error
	}
	results := make([]result, len(targets))
	var failed TargetErrors
	emit := func(i int) {
		switch r := results[i]; {
		case r.err != nil:
			failed = append(failed, TargetError{Target: targets[i], Err: r.err})
		case r.out != "":
			// Fprintln would double a trailing newline fn left on.
			_, _ = env.Stdout.Write([]byte(strings.TrimSuffix(r.out, "\n") + "\n"))
		}
	}
	if o.parallel <= 1 || len(targets) <= 1 {
		for i, t := range targets {
			out, err := fn(t)
			results[i] = result{out, err}
			emit(i)
		}
	} else {
		done := make([]chan struct{}, len(targets))
		for i := range done {
			done[i] = make(chan struct{})
		}
		slots := make(chan struct{}, o.parallel)
		var wg sync.WaitGroup
		wg.Go(func() {
			for i, t := range targets {
				slots <- struct{}{}
				wg.Go(func() {
					defer func() { <-slots }()
					out, err := fn(t)
					results[i] = result{out, err}
					close(done[i])
				})
			}
		})
		// Printing from this goroutine alone keeps env.Stdout, which need
		// not be safe for concurrent writes, to one writer.
		for i := range targets {
			<-done[i]
			emit(i)
		}
		wg.Wait()
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}
