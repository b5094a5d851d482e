/* SPDX-License-Identifier: MIT
 *
 * Launching the program to profile (`cspy record -- python app.py`): fork and
 * exec it so that it never outlives cspy (PR_SET_PDEATHSIG, and launch_end()
 * on every exit path), runs as the invoking user when cspy runs under sudo
 * (SUDO_UID/SUDO_GID), optionally with its output captured away from the
 * terminal. The exec is checked: a command that cannot be run is reported
 * before sampling starts.
 *
 * Reaping: the launched process is cspy's child and a wait on its PID would
 * take its exit status, so only this module ever waits on that PID
 * (launch_poll, launch_end); others (the ptrace pauses) only peek at it.
 *
 * Ending it is a shell's way: the program gets SIGINT (or the SIGTERM cspy
 * got) and LAUNCH_GRACE_S to exit, then SIGTERM, then SIGKILL,
 * LAUNCH_STEP_GRACE_S apart; cspy returns its status.
 */
#ifndef CSPY_LAUNCH_H
#define CSPY_LAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Seconds the program has to exit after the first signal (the terminal's
 * Ctrl-C, the signal cspy passed on, or cspy's SIGINT at the end of
 * --duration / top's q), and then after SIGTERM before SIGKILL. */
#define LAUNCH_GRACE_S 3.0
#define LAUNCH_STEP_GRACE_S 2.0

struct launch_opts {
	bool capture;           /* child's stdout/stderr to /dev/null */
	bool drop_sudo;         /* run as SUDO_UID/SUDO_GID when set in the environment */
};

/* Start argv[0] (PATH lookup). Returns the child's PID (> 0) or -errno; on
 * an exec failure the error is the child's errno (e.g. -ENOENT) and why
 * says in one line what could not be run, and as which user when cspy
 * switched to SUDO_UID for it. */
pid_t launch_start(char *const argv[], const struct launch_opts *o, char *why, size_t whylen);

/* Non-blocking: has the child exited? 1 and *status (a wait status), 0 if it
 * still runs, -errno. */
int launch_poll(pid_t pid, int *status);

/* The exit code cspy should return for a child's wait status (its exit
 * status, or 128 + signal). */
int launch_exit_code(int status);

/* Async-signal-safe, for a handler installed with SA_SIGINFO: did the
 * signal described by si reach the launched child pid as well? True when
 * the terminal sent it (Ctrl-C: to the whole foreground process group,
 * which the child shares with cspy) or when it came from a process of that
 * group (the program itself); then it must not be passed on. */
bool launch_signal_shared(const siginfo_t *si, pid_t pid);

/* End the child and reap it: send sig (SIGINT, SIGTERM, SIGHUP; SIGKILL at
 * once) unless already_sent (it got the signal itself); after
 * LAUNCH_GRACE_S send SIGTERM (unless sig was SIGTERM), after another
 * LAUNCH_STEP_GRACE_S SIGKILL. The nalso processes also (the Python
 * processes a child that is not Python started: a shell may not pass a
 * signal on) get the same signals, and the end waits for them to be gone
 * too; pid 0: the child was reaped already, only they are ended. *hurry
 * (or NULL) counts signals cspy got since it began ending the program (a
 * signal handler's count, from 0): each one sends the next signal at once.
 * Returns 0 with *status (its wait status, untouched for pid 0) and
 * *killed (cspy had to SIGKILL), or -errno (-ETIMEDOUT: not gone 5 s after
 * SIGKILL). */
int launch_end(pid_t pid, const pid_t *also, size_t nalso, int sig, bool already_sent,
	       volatile sig_atomic_t *hurry, int *status, bool *killed);

/* When cspy runs as root under sudo (SUDO_UID and SUDO_GID set), give the
 * open file fd to the invoking user, as if it had written it. 0 (also when
 * not under sudo) or -errno. */
int launch_chown_sudo_user(int fd);

#endif
