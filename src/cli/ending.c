/* SPDX-License-Identifier: MIT
 *
 * The signal handlers of record and top and the end of a launched program
 * (see ending.h). The handler keeps the first signal and whether it
 * reached the program too (launch_signal_shared, from its siginfo); every
 * later one (or every one once the end began without a signal: --duration,
 * q) is counted, and launch_end escalates at once for each.
 */
#include "cli/ending.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "proc/launch.h"
#include "sampler/sampler.h"

static volatile sig_atomic_t first_sig;         /* 0: none yet */
static volatile sig_atomic_t first_shared;      /* it reached the child too */
static volatile sig_atomic_t ending;            /* the end has begun: signals hurry it */
static volatile sig_atomic_t hurry;             /* signals since then */
static volatile sig_atomic_t child_pid;
static struct sampler *volatile sampler;        /* stopped by every signal */

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

void ending_catch_signals(void)
{
	first_sig = 0;
	first_shared = 0;
	ending = 0;
	hurry = 0;
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
}

void ending_set_sampler(struct sampler *s)
{
	sampler = s;
}

void ending_set_child(pid_t pid)
{
	child_pid = (sig_atomic_t)pid;
}

int ending_signal(void)
{
	return first_sig;
}

int ending_end_child(struct sampler *s, pid_t child, bool failed)
{
	int status;
	int r = sampler__child_status(s, &status);
	if (r == 0) {
		ending = 1;     /* from now on, every signal hurries the end */
		int sig = failed ? SIGKILL : first_sig ? first_sig : SIGINT;
		bool shared = !failed && first_sig && first_shared;
		bool killed;
		int err = launch_end(child, sig, shared, &hurry, &status, &killed);
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
