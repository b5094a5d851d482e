/* SPDX-License-Identifier: MIT
 *
 * The python / native / system split of each active sample of a thread
 * (record and top; agg/profile.h's prof_class), from outside the target:
 *
 * - system: the thread ran in the kernel. Which samples may be: with a
 *   pause, those the registers show stopped in a system call that was
 *   running (a read of /dev/zero, a stat) or at the end of one; without
 *   registers (--nonblocking, or a running thread the pause did not stop,
 *   such as one without the GIL while the holder alone was paused) any.
 *   How many are: the kernel's own per-thread user and system times
 *   (/proc/PID/task/TID/stat, a kept-open descriptor read only for active
 *   threads, at most once per 10 ms: the times are in clock ticks). A
 *   thread's samples wait (their stack ids kept) until its times move; the
 *   system share s of that move is then spread over the n samples that
 *   waited: s x n of them are system, chosen among the k candidates, each
 *   with chance min(1, s n / k), dithered (error diffusion per thread) so
 *   that the counts are unbiased; when they are fewer, a sample the
 *   registers show out of the kernel keeps its own class (the kernel time
 *   they cannot see, page faults, stays with the code that touched the
 *   memory), without registers the rest is spread over the others, and
 *   what is still left is owed to the next candidates (classify_settle:
 *   the times move by whole clock ticks, so on a loaded machine most moves
 *   have a share of 0 or 1, and a thread waiting for a CPU stops in user
 *   space as often as its user time says). The registers alone would not do: a stop
 *   comes at the thread's next return to user space, and a loop of short
 *   system calls returns from one far more often than an interrupt reaches
 *   it in user space (a virtual machine's IPIs take tens of microseconds),
 *   so that a stat loop with half its time in the kernel stops in a system
 *   call 85-100 % of the time. With no times yet (a thread's first read)
 *   the registers' word stands. A thread that leaves the sample (exited:
 *   its stacks are about to be folded into a lane), samples waiting for
 *   250 ms, and the end of a run settle with the last share known.
 * - native: C code other than the interpreter's bytecode work. With
 *   registers: a PC in another module than the interpreter's ELF (an
 *   extension, libz, libcrypto, libc), or in the interpreter outside its
 *   eval loop while the innermost Python frame's instruction is a call
 *   (a builtin such as sorted's list_sort; python/opcodes.h). A PC in the
 *   interpreter outside the eval loop under any other instruction is a
 *   helper of that instruction (long_add, a dict lookup): python. Without
 *   registers only the instruction tells: a call is native.
 * - python: the rest (the eval loop, and the helpers above).
 *
 * Memory: per thread only what an active thread needs (its descriptor and
 * last times), dropped when the thread was not met for 2 s; descriptors
 * kept open for at most CLASSIFY_MAX_FDS threads (then opened per read).
 */
#ifndef CSPY_CLASSIFY_H
#define CSPY_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agg/profile.h"

#define CLASSIFY_MAX_FDS 1024

struct pyproc_info;
struct py_thread;
struct snap_regs;

/* Where the interpreter's code is (from struct pyproc_info); 0: unknown. */
struct classify_code {
	unsigned version;               /* PY_VERSION_HEX: the opcode table */
	uint64_t eval_start, eval_end;  /* the eval loop */
	uint64_t text_start, text_end;  /* the interpreter ELF's executable mappings */
};

/* Pure: the class of a thread stopped with these registers. pc, sysno
 * (-1: none), running (ptrace_pause__running), opcode: the innermost
 * frame's (-1 unknown). */
enum prof_class classify_regs(const struct classify_code *c, uint64_t pc, int64_t sysno,
			      bool running, int opcode);
/* Pure: python or native by the instruction alone (a call: native). */
enum prof_class classify_opcode(unsigned version, int opcode);

/* Pure: utime and stime (clock ticks) from a /proc/.../stat text: 0 or
 * -EINVAL. */
int classify_parse_stat(const char *buf, size_t len, uint64_t *utime, uint64_t *stime);

/* One thread's dithering of its system share. */
struct classify_dither {
	uint64_t utime, stime;          /* at the last read */
	double share;                   /* system share of the last CPU time seen, -1: none */
	double acc;                     /* error carried to the next sample */
	bool primed;
	double acc_other;               /* the dithering of the samples not candidates */
	double owed;                    /* system samples earlier settles could not place */
};
/* Pure: a new read of the thread's times (ticks): true when this sample
 * counts as system. The first read takes the thread's lifetime share. */
bool classify_dither__step(struct classify_dither *d, uint64_t utime, uint64_t stime);
/* Pure: a new read of the times: true when they moved since the last one
 * (d->share is then theirs: the share to spread over the samples that
 * waited), or on the first read (the lifetime share). */
bool classify_dither__read(struct classify_dither *d, uint64_t utime, uint64_t stime);
/* Pure: one sample by the current share: true for system (false while no
 * share is known). */
bool classify_dither__next(struct classify_dither *d);
/* Pure: of n samples whose CPU time had the system share `share`, k may be
 * system (the candidates): the chance each candidate is, so that share x n
 * of them are (at most 1; 0 with no candidate or no share). */
double classify_candidate_share(double share, size_t n, size_t k);
/* Pure: ... and the chance of each of the n - k others, when the k
 * candidates are fewer than share x n (a thread waiting for a CPU stops
 * where it was preempted, which may be in user space): the rest of the
 * share among them. 0 when the candidates suffice. */
double classify_other_share(double share, size_t n, size_t k);

/* A sample waiting for its thread's times to move. */
struct classify_pending {
	uint32_t stack;
	uint8_t cls;                    /* its class (enum prof_class) out of the kernel;
					 * classify_settle makes it system where it is */
	bool cand;                      /* may be system: stopped in a running system call,
					 * or no registers (then any sample may) */
	bool regs;                      /* ... told by the registers */
};

/* At most this many system samples are owed (see classify_settle). */
#define CLASSIFY_OWED_MAX 16.0

/* Pure: which of the n samples w are system (their cls made
 * PROF_CLASS_SYSTEM) by d's share (that of the times' last move): share x n
 * of them, among the candidates. The
 * times move in whole clock ticks (10 ms of CPU), so a move's share is
 * often 0, 1/2 or 1; when a move of share 1 has fewer candidates than
 * samples (a thread waiting for a CPU stops where it was preempted, in
 * user space as often as its user time says), the system samples the
 * candidates could not take are owed (d->owed, at most CLASSIFY_OWED_MAX)
 * and placed among the next settles' candidates, so that the count over a
 * run is the kernel's. */
void classify_settle(struct classify_dither *d, struct classify_pending *w, size_t n);

struct classify;
struct py_sample;

/* At most this many samples of a thread wait for its times to move; more:
 * the oldest settle with the last share. */
#define CLASSIFY_MAX_PENDING 1024

/* The split of one target (pid, its pyproc_info) into prof (borrowed);
 * freed by classify__free (accepts NULL), which does not settle. */
struct classify *classify__new(pid_t pid, const struct pyproc_info *info, struct profile *prof);
void classify__free(struct classify *c);
/* Classify th's active sample now, just added to the profile as stack:
 * its class added (profile__add_class) now, or, without registers, when
 * its thread's times next move. regs: what the pause's registers said of
 * it (NULL or !have: none). */
void classify__thread(struct classify *c, const struct py_thread *th,
		      const struct snap_regs *regs, uint32_t stack);
/* Before the profile folds exited threads (those s does not list): settle
 * the waiting samples of every thread s does not list, and of those whose
 * oldest waited for 250 ms (a thread asleep since: its times stand still),
 * and forget the threads s does not list (their entries and descriptors). */
void classify__settle_absent(struct classify *c, const struct py_sample *s);
/* Settle every waiting sample (the end of a run, a target gone). */
void classify__settle_all(struct classify *c);
/* Threads' /proc reads so far (the cost, for the bench). */
uint64_t classify__stat_reads(const struct classify *c);

#endif
