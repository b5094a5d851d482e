/* SPDX-License-Identifier: MIT
 *
 * Pausing the threads of a process for a consistent read, cheaply:
 * PTRACE_SEIZE each thread (no signal is sent), then PTRACE_INTERRUPT them
 * all, wait for the stops (taking each thread's registers once), and
 * PTRACE_DETACH afterwards (re-injecting any signal that arrived meanwhile).
 * Threads are seized for one sample only, never kept: a seized thread that
 * gets a signal stops until its tracer lets it go, and between samples cspy
 * sleeps, so keeping them would delay every signal of the program by up to an
 * interval. A seized thread is never left stopped: if cspy dies, even by
 * SIGKILL, the kernel detaches its tracees and they run on. A pause of
 * cspy's own child (the launched program) never takes its exit status:
 * only the launcher (proc/launch.h) waits for it.
 */
#ifndef CSPY_PTRACE_H
#define CSPY_PTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ptrace_pause;

/* Seize and stop every thread of pid. Returns 0 and *out, -EPERM/-EACCES when
 * ptrace is not permitted, -ESRCH when the process is gone, or -errno. Threads
 * that exit meanwhile are ignored. */
int ptrace_pause__stop(pid_t pid, struct ptrace_pause **out);
/* The same for a known list of TIDs (say, one cached for 100 ms): no /proc
 * listing. A thread started since is not paused: its stack is read running.
 * Falls back to ptrace_pause__stop when none of tids can be seized. */
int ptrace_pause__stop_tids(pid_t pid, const pid_t *tids, int n, struct ptrace_pause **out);
/* ptrace_pause__stop_tids in three steps, so that the stops of several
 * processes are awaited together (each may wait for the scheduler to give
 * the thread a CPU): seize tids (nothing stops yet); 0 and *out, -ESRCH
 * when none of them could be seized (no fallback to a listing), or -errno.
 * Undone by ptrace_pause__resume, which first waits for the stops it
 * needs. */
int ptrace_pause__seize_tids(pid_t pid, const pid_t *tids, int n, struct ptrace_pause **out);
/* Then interrupt them all, once (the program is held from here: the
 * times), */
void ptrace_pause__interrupt(struct ptrace_pause *p);
/* and wait for the stops of a begun pause (up to 500 ms; a thread that does not
 * stop by then is not counted as stopped), sleeping until a SIGCHLD (the
 * kernel's notice of a tracee's stop) when they are slow to come. */
void ptrace_pause__wait(struct ptrace_pause *p);
/* Has every thread of p stopped (or exited)? One look at each not seen
 * stopped yet (a stop found is taken, as ptrace_pause__wait would), no
 * wait: true when ptrace_pause__wait would not wait. */
bool ptrace_pause__stopped(struct ptrace_pause *p);
/* When the first thread was interrupted and when every stop had been seen
 * (clock_now_ns): the program is held from the first. */
void ptrace_pause__times(const struct ptrace_pause *p, uint64_t *interrupted_ns, uint64_t *stopped_ns);
/* Let every thread run again and forget them. Accepts NULL. */
void ptrace_pause__resume(struct ptrace_pause *p);
/* The same, returning the clock (clock_now_ns) just before the last thread
 * was let go, 0 if none was: the end of the time the program was held,
 * which the return of the resume is not (the thread let go may take this
 * CPU first). */
uint64_t ptrace_pause__release(struct ptrace_pause *p);
/* The thread pointer of a stopped thread (x86-64: fs_base, glibc's pthread_t;
 * see arch_tp_is_thread), for mapping thread ids to TIDs on old Pythons. 0
 * and *tp, or -errno. */
int ptrace_pause__tp(const struct ptrace_pause *p, pid_t tid, uint64_t *tp);
/* Was the thread running when it stopped? 1: in user space, or in a system
 * call that does not wait; 0: blocked in a waiting system call (sleep,
 * futex, poll ... interrupted by the pause), or it never stopped (deep in
 * the kernel, uninterruptible); -ESRCH: not a thread of this pause. Read
 * from the registers taken at the stop: no /proc access. */
int ptrace_pause__running(const struct ptrace_pause *p, pid_t tid);
/* All general registers of a stopped thread (for native unwinding). 0 and
 * *regs, -ESRCH when tid is not a stopped thread of this pause, or -errno. */
struct arch_regs;
int ptrace_pause__regs(const struct ptrace_pause *p, pid_t tid, struct arch_regs *regs);

#endif
