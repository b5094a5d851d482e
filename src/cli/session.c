/* SPDX-License-Identifier: MIT
 *
 * The start and end of record's and top's sampling (see session.h). The
 * signal handler keeps the first signal and whether it reached the program
 * too (launch_signal_shared, from its siginfo); every later one (or every
 * one once the end began without a signal: --duration, q) is counted, and
 * launch_end escalates at once for each. The handler's only other act is
 * to ask the sampler to stop.
 */
#include "cli/session.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/args.h"
#include "cli/opts.h"
#include "writers/outfile.h"
#include "proc/launch.h"
#include "proc/perm.h"
#include "sampler/sampler.h"

/* How long a launched program has to become a Python process. */
#define START_TIMEOUT_S 30.0

static volatile sig_atomic_t first_sig;         /* 0: none yet */
static volatile sig_atomic_t first_shared;      /* it reached the child too */
static volatile sig_atomic_t ending;            /* the end has begun: signals hurry it */
static volatile sig_atomic_t hurry;             /* signals since then */
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t usr1;              /* SIGUSR1 count */
static struct sampler *volatile sampler;        /* stopped by every signal (session_start
						 * to session_end) */

int session_open_output(const char *path, bool append, struct outfile **out)
{
	int err = outfile__open(path, append ? OUTFILE_APPEND : OUTFILE_REPLACE, out);
	if (err) {
		cli_error("cannot write the output file '%s': %s", path, strerror(-err));
		return err;
	}
	if ((err = launch_chown_sudo_user(outfile__fd(*out))) != 0)
		fprintf(stderr, "cspy> Warning: cannot give '%s' to the user who ran sudo: %s\n", path,
			strerror(-err));
	return 0;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (ending) {
		hurry++;
	} else {
		first_shared = child_pid > 0 && launch_signal_shared(si, (pid_t)child_pid);
		first_sig = sig;
		ending = 1;
	}
	struct sampler *s = sampler;
	if (s)
		sampler__request_stop(s);
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

unsigned long session_usr1(void)
{
	return (unsigned long)usr1;
}

void session_catch_signals(void)
{
	first_sig = 0;
	first_shared = 0;
	ending = 0;
	hurry = 0;
	child_pid = 0;
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Restarted system calls: a SIGUSR1 must not fail a read or a wait
	 * of the sampler (its sleeps go on after EINTR). */
	usr1 = 0;
	struct sigaction su = { 0 };
	su.sa_handler = on_usr1;
	su.sa_flags = SA_RESTART;
	sigemptyset(&su.sa_mask);
	sigaction(SIGUSR1, &su, NULL);
}

int session_signal(void)
{
	return first_sig;
}

pid_t session_child(void)
{
	return (pid_t)child_pid;
}

int session_start(struct sampler *s, const struct opts *o, bool capture, const char *cmd, int *rc)
{
	const struct opts_target *t = &o->target;
	char why[600];
	sampler = s;
	if (first_sig)          /* one came before: stop at once */
		sampler__request_stop(s);
	if (!t->command) {
		int err = args_attach_pids(s, t->pids, t->npids, o->subprocesses, o->nonblocking, cmd);
		if (err)
			*rc = 1;
		return err;
	}
	struct launch_opts lo = { .capture = capture, .drop_sudo = true };
	pid_t child = launch_start(t->command, &lo, why, sizeof(why));
	if (child < 0) {
		cli_error("%s: %s", why, strerror((int)-child));
		*rc = 127;
		return (int)child;
	}
	child_pid = (sig_atomic_t)child;
	int err = sampler__add_child(s, child, START_TIMEOUT_S, why, sizeof(why));
	bool said = err == -EINPROGRESS;
	if (said) {
		cli_note("'%s' is not Python; profiling the Python processes it starts", t->command[0]);
		err = sampler__add_child(s, child, START_TIMEOUT_S, why, sizeof(why));
	}
	int status;
	if (err == -EINTR)
		return SESSION_INTERRUPTED;
	if (err == -ESRCH && sampler__child_status(s, &status) == 1) {
		cli_note("The program exited before it could be sampled.");
		return SESSION_EXITED;
	}
	if (err == -EPERM) {            /* the one-line why and what to do */
		perm_explain(child, cmd, why, sizeof(why));
		cli_error("%s", why);
		*rc = 1;
		return err;
	}
	if (err == -ENOEXEC && sampler__child_status(s, &status) == 1) {
		/* It ran, but never as Python: a failure, unless it failed itself. */
		cli_error("'%s' %s", t->command[0], why);
		*rc = launch_exit_code(status) ? launch_exit_code(status) : 1;
		return err;
	}
	if (err) {
		cli_error("'%s' %s", t->command[0], why);
		*rc = 1;
		return err;
	}
	if (!said && sampler__child_followed(s))
		cli_note("'%s' is not Python; profiling the Python processes it starts", t->command[0]);
	return SESSION_READY;
}

/* End the launched child (see session.h): its exit status for cspy. */
static int end_child(struct sampler *s, pid_t child, bool failed)
{
	int status;
	int r = sampler__child_status(s, &status);
	/* A child that is not Python (a shell) may not pass a signal on to
	 * the Python processes it started: they get each signal too. */
	pid_t also[64];
	size_t nalso = sampler__followed_pids(s, also, sizeof(also) / sizeof(also[0]));
	if (r == 0 || (r == 1 && nalso)) {
		ending = 1;     /* from now on, every signal hurries the end */
		int sig = failed ? SIGKILL : first_sig ? first_sig : SIGINT;
		bool shared = !failed && first_sig && first_shared;
		bool killed;
		int err = launch_end(r == 0 ? child : 0, also, nalso, sig, shared, &hurry, &status,
				     &killed);
		if (err) {
			fprintf(stderr, "cspy> Could not end the program (PID %d): %s\n", (int)child,
				strerror(-err));
			return 1;
		}
		if (killed && !failed)
			fprintf(stderr, "cspy> The program did not exit after %s%s: cspy killed it "
				"with SIGKILL.\n", sig == SIGHUP ? "SIGHUP" : sig == SIGTERM ? "SIGTERM" : "SIGINT",
				sig == SIGTERM ? "" : " and SIGTERM");
		r = 1;
	}
	if (r < 0) {
		fprintf(stderr, "cspy> The program's exit status was lost.\n");
		return 1;
	}
	return launch_exit_code(status);
}

int session_end(struct sampler *s, int rc)
{
	sampler = NULL;         /* sampling is over; s is freed after this */
	if (child_pid > 0) {
		int code = end_child(s, (pid_t)child_pid, rc != 0);
		rc = rc ? rc : code;
	}
	return rc;
}
