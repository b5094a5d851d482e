/* SPDX-License-Identifier: MIT
 *
 * A sampling session of `record` and `top`, from start to end, shared:
 * - the output file, opened before sampling so that an unwritable path
 *   fails at once, and under sudo given to the user who ran sudo;
 * - signals: SIGINT, SIGTERM and SIGHUP only ask the sampler to stop
 *   (sampler__request_stop on the sampler of session_start, until
 *   session_end) and are counted; SIGPIPE is ignored; SIGUSR1 is only
 *   counted (record writes the profile so far: session_usr1), never passed
 *   on and never an end;
 * - launch or attach: the command after `--` is started (as the user who
 *   ran sudo) and the sampler waits for its interpreter, or the sampler
 *   attaches to every --pid;
 * - the end: in launch mode the program is ended the way a shell would
 *   (proc/launch.h launch_end): a signal that reached it too (the
 *   terminal's Ctrl-C goes to the whole process group) is not sent again,
 *   one sent to cspy alone is passed on, and only after LAUNCH_GRACE_S does
 *   cspy escalate to SIGTERM and then SIGKILL; each further signal to cspy
 *   escalates at once. The end of --duration and top's q send SIGINT.
 *   cspy's exit status is the program's.
 * There is one session per process (signal handlers are process-wide), so
 * its state is the module's own.
 */
#ifndef CSPY_SESSION_H
#define CSPY_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

struct opts;
struct outfile;
struct sampler;

/* Open path for the output (replaced when complete, or appended to) and,
 * under sudo, give it to the user who ran sudo (a failure only warns).
 * 0 and *out, or -errno (reported). */
int session_open_output(const char *path, bool append, struct outfile **out);

/* Install the handlers of SIGINT, SIGTERM, SIGHUP, SIGUSR1 (and ignore SIGPIPE);
 * forget earlier signals and any earlier child. */
void session_catch_signals(void);
/* How many SIGUSR1 arrived since session_catch_signals. */
unsigned long session_usr1(void);
/* The first signal that arrived, 0 if none. Async-signal-safe. */
int session_signal(void);

enum session_start {
	SESSION_READY = 0,              /* sampling can begin */
	SESSION_INTERRUPTED,            /* a signal came before the launched program's
					 * interpreter started */
	SESSION_EXITED,                 /* the launched program ended before a sample
					 * could be taken (said on stderr) */
};
/* Launch the command of o's target (capture: its output off the terminal)
 * or attach s to its PIDs (cli/args.h args_attach_pids, with o's
 * --subprocesses and --nonblocking); cmd names the subcommand for hints.
 * A launched command that is not Python is followed (sampler__add_child):
 * one line on stderr says so. Returns a session_start, or -errno for a
 * failure already reported, with *rc the exit status for it (127 when the
 * command could not be started; a command that ended without running
 * Python: its own exit status when not 0; else 1). */
int session_start(struct sampler *s, const struct opts *o, bool capture, const char *cmd, int *rc);
/* The launched program's PID, 0 in attach mode (or when it never started). */
pid_t session_child(void);

/* After sampling: in launch mode, end the program unless it has exited
 * (at once with SIGKILL when rc says cspy failed), reap it, and say on
 * stderr when cspy had to SIGKILL it. Returns cspy's exit status: rc when
 * not 0, else the program's (128 + signal when a signal killed it), else 0. */
int session_end(struct sampler *s, int rc);

#endif
