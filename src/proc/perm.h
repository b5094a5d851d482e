/* SPDX-License-Identifier: MIT
 *
 * Explaining a permission failure to read or trace a process: who owns it,
 * who we are, whether we hold CAP_SYS_PTRACE, what kernel.yama.ptrace_scope
 * says (read from the system), whether we are in a container, and what to do.
 */
#ifndef CSPY_PERM_H
#define CSPY_PERM_H

#include <stddef.h>
#include <sys/types.h>

/* One line (no newline) saying why pid cannot be read and how to fix it.
 * `cmd` is the cspy command to suggest under sudo (e.g. "cspy dump --pid 42").
 * For a failed pause, ask perm_traced() first. */
void perm_explain(pid_t pid, const char *cmd, char *buf, size_t n);

/* Whether a thread of pid is traced by a process other than cspy (strace,
 * gdb: a thread has one tracer, so cspy cannot pause it): that tracer's PID
 * and, in buf, one line naming it; 0 when no thread is (buf untouched). */
pid_t perm_traced(pid_t pid, char *buf, size_t n);

#endif
