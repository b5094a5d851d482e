/* SPDX-License-Identifier: MIT
 *
 * Which threads of a process are running, read cheaply at every sample
 * without pausing it (--nonblocking, dump --nonblocking). A thread runs when
 * the kernel reports it runnable: /proc/PID/task/TID/syscall says "running"
 * (R). Each thread's file is kept open and re-read with one pread; when the
 * process used no CPU at all for the last 50 ms (its CPU clock, one cheap
 * clock_gettime), no thread can be running and nothing else is read. The
 * task list itself is re-listed at most every 100 ms, or on request when a
 * thread it does not know shows up.
 */
#ifndef CSPY_THREADSTATE_H
#define CSPY_THREADSTATE_H

#include <stdbool.h>
#include <sys/types.h>

struct threadstate;

struct threadstate *threadstate__new(pid_t pid);
void threadstate__free(struct threadstate *t);

/* The process's TIDs, in increasing order (borrowed until the next call). Re-listed when older
 * than 100 ms, or now when refresh is true. Returns the count or -errno
 * (-ENOENT: the process is gone). */
int threadstate__tasks(struct threadstate *t, bool refresh, const pid_t **tids);
/* Read now which listed threads are running. */
void threadstate__read(struct threadstate *t);
/* After threadstate__read: 1 running, 0 not, -1 unknown TID. */
int threadstate__running(const struct threadstate *t, pid_t tid);

#endif
