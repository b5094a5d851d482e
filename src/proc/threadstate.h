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
 *
 * A process in another PID namespace (a container) knows its threads by ids
 * of that namespace (gettid(), CPython's native_id, glibc's struct pthread
 * tid), not by the TIDs /proc shows here. When threadstate__new finds the
 * target in a nested namespace, each new thread's id inside it (the last id
 * of its NSpid: line) is read once, when the list first shows the thread;
 * threadstate__host_tid maps it back. Nothing is added per sample.
 *
 * GIL waiters (threadstate__set_gil): a thread of a GIL build whose last
 * read found it in a futex wait on the GIL's condition variable can leave
 * that wait only by taking the GIL, which moves the GIL's switch counter
 * (the taker differs from the last holder). While the counter moved by at
 * most one since the last read, and the one taker is the last holder now,
 * every other such waiter still waits: it is not read again (exact, no
 * approximation: see threadstate.c).
 */
#ifndef CSPY_THREADSTATE_H
#define CSPY_THREADSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct threadstate;

struct threadstate *threadstate__new(pid_t pid);
void threadstate__free(struct threadstate *t);

/* The process's TIDs, in increasing order (borrowed until the next call). Re-listed when older
 * than 100 ms, or now when refresh is true. Returns the count or -errno
 * (-ENOENT: the process is gone). */
int threadstate__tasks(struct threadstate *t, bool refresh, const pid_t **tids);
/* How many times the tasks were listed so far (changes with each listing). */
unsigned threadstate__listings(const struct threadstate *t);
/* Listings due (100 ms) but left out: no PID was allocated in cspy's PID
 * namespace since the last one (/proc/sys/kernel/ns_last_pid: no thread
 * was created) and the process's thread count is the same (the link
 * count of /proc/PID/task: none ended), both read before that listing. */
uint64_t threadstate__relists_spared(const struct threadstate *t);
/* Reads of the process's CPU clock left out: a process of 16 threads or
 * more, a thread of which ran at the read before (the clock, a sum over
 * every thread, then proves nothing: quiet needs a read at which none ran
 * before it; the idle proof's 50 ms count from such a read). */
uint64_t threadstate__clock_spared(const struct threadstate *t);
/* Read now which listed threads are running. */
void threadstate__read(struct threadstate *t);
/* After threadstate__read: true when the process used no CPU since the
 * read before, at which no listed thread ran and every one was read: no
 * thread of it has run since (not even to start or end a thread), so
 * every stack is as it was and nothing runs; found with one clock read,
 * no per-thread file. (A thread woken but not yet on a CPU counts as
 * asleep, as with an unchanged schedstat.) */
bool threadstate__quiet(const struct threadstate *t);
/* The GIL as read from the target just before a threadstate__read: the
 * address range of its condition variable (the waiters' futex), its switch
 * counter, and the TID of its last holder (0: unknown). */
struct threadstate_gil {
	uint64_t cond_lo, cond_hi;      /* [lo, hi) */
	uint64_t switches;
	pid_t last_holder;
	uint64_t interval_us;   /* its switch interval (sys.getswitchinterval()) */
};
/* Give the next threadstate__read the GIL read just before it (g NULL: not
 * read; the rule is off for this read and the next). */
void threadstate__set_gil(struct threadstate *t, const struct threadstate_gil *g);
/* Between two reads: one more read of the GIL (g NULL: it failed), so that
 * the next read knows the takers even when the counter moved by more than
 * one in all (each poll's change of one names its taker). */
void threadstate__gil_poll(struct threadstate *t, const struct threadstate_gil *g);
/* The GIL as last given (threadstate__set_gil) or polled, NULL: none. */
const struct threadstate_gil *threadstate__gil_last(const struct threadstate *t);
/* Would a poll now be of use (the last read had the GIL and waiters, and no
 * poll since has lost the track)? The poll period in µs when it would
 * (threadstate__gil_poll_us of the GIL's switch interval and the quiet tick
 * gaps in a row), 0 when not. */
uint64_t threadstate__gil_polling(const struct threadstate *t);
/* The poll period in µs for a switch interval of interval_us (0: 1) after
 * quiet tick gaps in a row: half the interval, doubled for each
 * GIL_QUIET_GAPS of them (at most 64 times). A gap between two reads is
 * quiet when the switch counter moved by at most one over it: a poll in it
 * was of no use (one switch names its taker at the read). A gap of two or
 * more switches ends the run (polls are of use again: every half interval),
 * as does a read without the GIL. Only the cost moves: a gap whose polls
 * were too few for its switches loses the track and its waiters are read. */
#define GIL_QUIET_GAPS 8u
uint64_t threadstate__gil_poll_us(uint64_t interval_us, unsigned quiet);
/* Polls left out so far by that back-off (the half-interval polls of the
 * tick gaps in which it was in force, less those made). */
uint64_t threadstate__gil_spared(const struct threadstate *t);
/* Threads found waiting for the GIL by the last read (each is read again
 * only when the GIL may have changed hands to it: threadstate__set_gil);
 * -1 before any GIL was given (its address is not known). Waiters are
 * found by the last GIL given, also in reads without one. */
int threadstate__gil_waiters(const struct threadstate *t);
/* Thread reads left out so far because the GIL proved them still waiting. */
uint64_t threadstate__gil_skips(const struct threadstate *t);
/* Per-thread files (syscall, schedstat, stat) read so far. */
uint64_t threadstate__reads(const struct threadstate *t);
/* The stack of tid was read, begun at read_ns (clock_now_ns): its
 * innermost frame's address and current instruction's (0: unknown). When
 * they differ from the read before, the thread ran Python code since that
 * read began: the next threadstate__read, if it comes within 20 us of that
 * moment, counts it running without reading its files (and reads nothing
 * at all when every listed thread is so proved). Each proof serves one
 * read. */
void threadstate__ran(struct threadstate *t, pid_t tid, uint64_t frame, uint64_t instr,
		      uint64_t read_ns);
/* Run states proved by threadstate__ran so far. */
uint64_t threadstate__proofs(const struct threadstate *t);
/* After threadstate__read: 1 running, 0 not, -1 unknown: a TID not listed,
 * or listed since the last threadstate__read (a thread that just started). */
int threadstate__running(const struct threadstate *t, pid_t tid);
/* True when the process is in another PID namespace than the TIDs listed. */
bool threadstate__nested(const struct threadstate *t);
/* The listed TID of the thread whose id inside the process's PID namespace
 * is ns_tid; 0 when the list has none. Without a nested namespace, ns_tid
 * itself when it is listed. */
pid_t threadstate__host_tid(const struct threadstate *t, pid_t ns_tid);
/* The id inside the process's PID namespace of the listed TID tid; 0 when
 * unknown or when the process is not in a nested namespace. */
pid_t threadstate__ns_tid(const struct threadstate *t, pid_t tid);

#endif
