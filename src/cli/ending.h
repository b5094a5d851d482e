/* SPDX-License-Identifier: MIT
 *
 * How `record` and `top` end, shared: SIGINT, SIGTERM and SIGHUP only ask
 * the sampler to stop (and are counted); in launch mode the program is then
 * ended the way a shell would (proc/launch.h launch_end): a signal that
 * reached it too (the terminal's Ctrl-C goes to the whole process group)
 * is not sent again, one sent to cspy alone is passed on, and only after
 * LAUNCH_GRACE_S does cspy escalate to SIGTERM and then SIGKILL; each
 * further signal to cspy escalates at once. The end of --duration and
 * top's q send SIGINT. cspy's exit status is the program's.
 */
#ifndef CSPY_ENDING_H
#define CSPY_ENDING_H

#include <stdbool.h>
#include <sys/types.h>

struct sampler;

/* Install the handlers of SIGINT, SIGTERM, SIGHUP (and ignore SIGPIPE);
 * forget earlier signals. */
void ending_catch_signals(void);
/* The sampler every signal stops (sampler__request_stop), NULL: none (before
 * it is freed). */
void ending_set_sampler(struct sampler *s);
/* Launch mode: the program's PID, to tell which signals reached it. */
void ending_set_child(pid_t pid);
/* The first signal that arrived, 0 if none. Async-signal-safe. */
int ending_signal(void);
/* After sampling: end the launched child unless it has exited (failed: an
 * error already reported, SIGKILL at once), reap it, and return the exit
 * status cspy should return: the program's (128 + signal when a signal
 * killed it). Says on stderr when cspy had to SIGKILL it. */
int ending_end_child(struct sampler *s, pid_t child, bool failed);

#endif
