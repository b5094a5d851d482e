/* SPDX-License-Identifier: MIT
 *
 * Argument helpers shared by the subcommands: PID lists (`--pid 1,2,3`),
 * bounded numbers, and the command line shown in headers and titles. Errors
 * are reported with cli_error() and returned as -EINVAL.
 */
#ifndef CSPY_ARGS_H
#define CSPY_ARGS_H

#include <sys/types.h>

/* Append the PIDs of "P[,P...]" to pids (*n of max used). 0 or -EINVAL. */
int args_parse_pids(const char *s, pid_t *pids, int *n, int max);
/* A number >= min (and <= 1e9) for option `what`. 0 or -EINVAL. */
int args_parse_double(const char *s, const char *what, double min, double *out);
/* The command line to show: the launched command (argv joined), else the
 * first PID's /proc cmdline. Heap string. */
char *args_command_line(char *const *command, const pid_t *pids);

#endif
