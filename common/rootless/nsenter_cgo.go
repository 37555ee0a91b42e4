//go:build linux && cgo

package rootless

/*
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// A process may join a user namespace only while it has one thread, which
// a Go program never has once its runtime runs: so this runs first, as a
// constructor, before the runtime starts. Go asks for it by re-executing
// itself with _LEPTON_NSENTER=USERFD:MNTFD, descriptors of the namespaces
// it opened; what failed goes back in _LEPTON_NSENTER_ERROR, for Go to
// report.
static void lepton_fail(const char *what) {
	char msg[512];
	snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
	setenv("_LEPTON_NSENTER_ERROR", msg, 1);
}

__attribute__((constructor)) static void lepton_nsenter(void) {
	const char *spec = getenv("_LEPTON_NSENTER");
	if (spec == NULL)
		return;
	int userfd, mntfd;
	if (sscanf(spec, "%d:%d", &userfd, &mntfd) != 2) {
		errno = EINVAL;
		lepton_fail("bad _LEPTON_NSENTER");
		return;
	}
	unsetenv("_LEPTON_NSENTER");
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd) == NULL)
		cwd[0] = '\0';
	if (setns(userfd, CLONE_NEWUSER) < 0) {
		lepton_fail("join the user namespace");
		return;
	}
	close(userfd);
	if (setns(mntfd, CLONE_NEWNS) < 0) {
		lepton_fail("join the mount namespace");
		return;
	}
	close(mntfd);
	// Joining a mount namespace moves the process to its root directory.
	if (cwd[0] != '\0' && chdir(cwd) < 0)
		lepton_fail("go back to the working directory");
}
*/
import "C"

// canEnter says whether this build can move into a user namespace: it
// needs the constructor above, so cgo.
const canEnter = true
