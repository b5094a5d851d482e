/* SPDX-License-Identifier: MIT
 *
 * Launching the program to profile (`cspy record -- python app.py`): fork and
 * exec it so that it never outlives cspy (PR_SET_PDEATHSIG, and
 * launch__kill() on every exit path), runs as the invoking user when cspy
 * runs under sudo (SUDO_UID/SUDO_GID), optionally with its output captured
 * away from the terminal. The exec is checked: a command that cannot be run
 * is reported before sampling starts.
 */
#ifndef CSPY_LAUNCH_H
#define CSPY_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

struct launch_opts {
	bool capture;           /* child's stdout/stderr to /dev/null */
	bool drop_sudo;         /* run as SUDO_UID/SUDO_GID when set in the environment */
};

/* Start argv[0] (PATH lookup). Returns the child's PID (> 0) or -errno; on
 * an exec failure the error is the child's errno (e.g. -ENOENT). */
pid_t launch_start(char *const argv[], const struct launch_opts *o);

/* Non-blocking: has the child exited? 1 and *status (a wait status), 0 if it
 * still runs, -errno. */
int launch_poll(pid_t pid, int *status);

/* The exit code cspy should return for a child's wait status (its exit
 * status, or 128 + signal). */
int launch_exit_code(int status);

/* Kill the child (SIGKILL) and reap it, if it still runs. */
void launch_kill(pid_t pid);

#endif
