/* SPDX-License-Identifier: MIT
 *
 * Shared argument parsing (see args.h).
 */
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "native/unwind.h"
#include "proc/perm.h"
#include "proc/procfs.h"
#include "sampler/sampler.h"
#include "util/xalloc.h"

int args_parse_pid(const char *s, pid_t *out)
{
	/* Decimal, or hexadecimal after 0x/0X as py-spy 0.4.1 reads it; a
	 * leading 0 is not octal. Digits only: strtol's sign and spaces are not. */
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *digits = hex ? s + 2 : s;
	char *end = NULL;
	long v = 0;
	errno = 0;
	if (hex ? isxdigit((unsigned char)digits[0]) : isdigit((unsigned char)digits[0]))
		v = strtol(digits, &end, hex ? 16 : 10);
	if (!end || errno || *end || v <= 0 || v > 0x3fffffff) {
		cli_error("invalid PID '%s': expected a positive number (decimal, or hexadecimal "
			  "after 0x)", s);
		return -EINVAL;
	}
	*out = (pid_t)v;
	return 0;
}

int args_parse_pids(const char *s, pid_t *pids, int *n, int max)
{
	char *copy = xstrdup(s), *save = NULL;
	int err = 0;
	for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		pid_t pid;
		if ((err = args_parse_pid(tok, &pid)) != 0)
			break;
		if (*n >= max) {
			cli_error("too many PIDs (at most %d)", max);
			err = -EINVAL;
			break;
		}
		pids[(*n)++] = pid;
	}
	if (!err && *n == 0) {
		cli_error("--pid needs a PID");
		err = -EINVAL;
	}
	free(copy);
	return err;
}

int args_check_native(bool native, bool nonblocking)
{
	const char *why;
	if (!native)
		return 0;
	if (!unwind_available(&why)) {
		cli_error("%s", why);
		return -ENOTSUP;
	}
	if (nonblocking) {
		cli_error("--native cannot be used with --nonblocking: unwinding a native stack "
			  "needs the thread paused");
		return -EINVAL;
	}
	return 0;
}

int args_parse_double(const char *s, const char *what, double min, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v >= min) || v > 1e9) {
		cli_error("invalid %s '%s'", what, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int args_parse_rate(const char *s, double *out)
{
	int err = args_parse_double(s, "--rate", 0.001, out);
	if (!err && *out > ARGS_MAX_RATE) {
		cli_note("--rate %s is more than cspy can sample: capped at %d samples a second "
			 "(about 10000 a second can be kept up for long)", s, ARGS_MAX_RATE);
		*out = ARGS_MAX_RATE;
	}
	return err;
}

char *args_command_line(char *const *command, const pid_t *pids)
{
	if (!command) {
		char *cmd = procfs_cmdline(pids[0]);
		return cmd ? cmd : xasprintf("%d", (int)pids[0]);
	}
	size_t n = 1;
	for (char *const *a = command; *a; a++)
		n += strlen(*a) + 1;
	char *s = xcalloc(1, n);
	for (char *const *a = command; *a; a++) {
		if (a != command)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

int args_check_target(char *const *command, int npids, const char *nothing, const char *cmd)
{
	if (!command && npids == 0) {
		cli_error("nothing to %s: give --pid PID or a command after '--' (see 'cspy %s --help')",
			  nothing, cmd);
		return -EINVAL;
	}
	if (command && npids) {
		cli_error("give either --pid or a command, not both");
		return -EINVAL;
	}
	return 0;
}

int args_check_process(pid_t pid)
{
	struct procfs_stat st;
	int err = procfs_stat(pid, 0, &st);
	if (err == -ENOENT) {
		cli_error("no such process: %d", (int)pid);
		return err;
	}
	if (err) {
		cli_error("cannot read /proc/%d/stat: %s", (int)pid, strerror(-err));
		return err;
	}
	if (st.flags & PROCFS_PF_KTHREAD) {
		cli_error("process %d (%s) is a kernel thread, not a Python process", (int)pid, st.comm);
		return -EINVAL;
	}
	if (st.state == 'Z' || st.state == 'X') {
		cli_error("process %d (%s) is a zombie: it has exited and its parent %d has not reaped "
			  "it yet, so there is no stack to read", (int)pid, st.comm, (int)st.ppid);
		return -EINVAL;
	}
	return 0;
}

int args_check_traced(pid_t pid, bool nonblocking)
{
	char why[600];
	if (nonblocking || perm_traced(pid, why, sizeof(why)) <= 0)
		return 0;
	cli_error("%s", why);
	return -EBUSY;
}

int args_attach_pids(struct sampler *s, const pid_t *pids, int npids, bool subprocesses,
		     bool nonblocking, const char *cmd)
{
	char why[600];
	for (int i = 0; i < npids; i++) {
		struct procfs_stat st;
		int err = args_check_process(pids[i]);
		if (err)
			return err;
		if (procfs_stat(pids[i], 0, &st) != 0) {
			cli_error("no such process: %d", (int)pids[i]);
			return -ESRCH;
		}
		if ((err = args_check_traced(pids[i], nonblocking)) != 0)
			return err;
		err = sampler__add_pid(s, pids[i], why, sizeof(why));
		if (err == -EACCES || err == -EPERM) {
			char hint[64];
			snprintf(hint, sizeof(hint), "cspy %s --pid %d", cmd, (int)pids[i]);
			perm_explain(pids[i], hint, why, sizeof(why));
			cli_error("%s", why);
			return err;
		}
		if (err == -ENOEXEC && subprocesses) {
			sampler__watch(s, pids[i]);     /* its Python children will be found */
			continue;
		}
		if (err) {
			cli_error("process %d (%s) %s%s", (int)pids[i], st.comm,
				  err == -ENOEXEC ? "is not a Python process: " : "",
				  why[0] ? why : strerror(-err));
			return err;
		}
	}
	return 0;
}
