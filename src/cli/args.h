/* SPDX-License-Identifier: MIT
 *
 * Helpers shared by the subcommands (record, top, dump): PIDs and PID
 * lists (`--pid 1,2,3`), bounded numbers, the --native checks, the command
 * line shown in headers and titles, the launch-or-attach choice, and
 * attaching to PIDs. Errors are reported once, with cli_error(), and
 * returned as -errno.
 */
#ifndef CSPY_ARGS_H
#define CSPY_ARGS_H

#include <stdbool.h>
#include <sys/types.h>

struct sampler;

/* One PID: a number in 1..0x3fffffff, decimal or hexadecimal after 0x
 * (py-spy 0.4.1). 0 or -EINVAL (reported). */
int args_parse_pid(const char *s, pid_t *out);
/* Append the PIDs of "P[,P...]" to pids (*n of max used). 0 or -EINVAL. */
int args_parse_pids(const char *s, pid_t *pids, int *n, int max);
/* A number >= min (and <= 1e9) for option `what`. 0 or -EINVAL. */
int args_parse_double(const char *s, const char *what, double min, double *out);
/* The highest --rate: what the sampler reaches "as fast as it can" on
 * one stack (bench/results: about 100 kHz; about 10 kHz sustained). */
#define ARGS_MAX_RATE 1000000
/* --rate: a number >= 0.001, capped at ARGS_MAX_RATE with a note on
 * stderr. 0 or -EINVAL. */
int args_parse_rate(const char *s, double *out);
/* The command line to show: the launched command (argv joined), else the
 * first PID's /proc cmdline. Heap string. */
char *args_command_line(char *const *command, const pid_t *pids);

/* What to sample: a command (launch) or PIDs (attach), exactly one of them.
 * `nothing` completes "nothing to ...", cmd names the subcommand for the
 * help hint. 0 or -EINVAL (reported). */
int args_check_target(char *const *command, int npids, const char *nothing, const char *cmd);
/* --native is possible: this build has libdw, and the target is paused
 * (not --nonblocking). 0, or -EINVAL/-ENOTSUP (reported). */
int args_check_native(bool native, bool nonblocking);
/* pid names a live process that can hold Python: not gone, not a kernel
 * thread, not a zombie. 0, or -ENOENT/-EINVAL/-errno (reported). */
int args_check_process(pid_t pid);
/* Unless nonblocking (which never pauses), no thread of pid is traced by
 * another process (strace, gdb), which would make every pause fail.
 * 0 or -EBUSY (reported: who traces it). */
int args_check_traced(pid_t pid, bool nonblocking);
/* Attach the sampler to every PID, reporting the first failure in one line
 * (no such process, kernel thread, zombie, traced by another process when
 * not nonblocking, permission with its reason, not Python). With
 * subprocesses a non-Python PID is watched for Python descendants instead.
 * cmd names the subcommand for the sudo hint. 0 or -errno. */
int args_attach_pids(struct sampler *s, const pid_t *pids, int npids, bool subprocesses,
		     bool nonblocking, const char *cmd);

#endif
