/* SPDX-License-Identifier: MIT
 *
 * Pausing every thread of a process for a consistent read, cheaply:
 * PTRACE_SEIZE each thread (no signal is sent), PTRACE_INTERRUPT it, wait for
 * the stop, and PTRACE_DETACH afterwards (re-injecting any signal that
 * arrived meanwhile). A seized thread is never left stopped: if cspy dies,
 * even by SIGKILL, the kernel detaches its tracees and they run on.
 */
#ifndef CSPY_PTRACE_H
#define CSPY_PTRACE_H

#include <stdint.h>
#include <sys/types.h>

struct ptrace_pause;

/* Seize and stop every thread of pid. Returns 0 and *out, -EPERM/-EACCES when
 * ptrace is not permitted, -ESRCH when the process is gone, or -errno. Threads
 * that exit meanwhile are ignored. */
int ptrace_pause__stop(pid_t pid, struct ptrace_pause **out);
/* Let every thread run again and forget them. Accepts NULL. */
void ptrace_pause__resume(struct ptrace_pause *p);
/* fs_base (the glibc pthread_t) of a stopped thread, for mapping thread ids to
 * TIDs on old Pythons. 0 and *fs_base, or -errno. */
int ptrace_pause__fs_base(const struct ptrace_pause *p, pid_t tid, uint64_t *fs_base);
/* All general registers of a stopped thread (for native unwinding). 0 and
 * *regs, -ESRCH when tid is not a stopped thread of this pause, or -errno. */
struct user_regs_struct;
int ptrace_pause__regs(const struct ptrace_pause *p, pid_t tid, struct user_regs_struct *regs);

#endif
