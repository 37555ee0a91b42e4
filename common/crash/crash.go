// Package crash lets the tests kill lepton at a named step of a
// multi-step command, to prove that whatever is left there has an owner
// that "lepton system check --repair" finds. It does nothing unless the
// environment variable LEPTON_TEST_CRASH names the step.
package crash

import "os"

// Env is the variable naming the step at which to die.
const Env = "LEPTON_TEST_CRASH"

// Point kills this process, as SIGKILL would (no deferred cleanup runs),
// when LEPTON_TEST_CRASH is name.
func Point(name string) {
	if os.Getenv(Env) != name {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	select {} // the signal is on its way
}
