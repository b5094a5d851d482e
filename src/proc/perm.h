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
 * `cmd` is the cspy command to suggest under sudo (e.g. "cspy dump --pid 42"). */
void perm_explain(pid_t pid, const char *cmd, char *buf, size_t n);

#endif
