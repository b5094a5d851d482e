/* SPDX-License-Identifier: MIT
 *
 * One read of every thread's stack of a Python process: the one sequence
 * that `dump`, the sampler (each tick of `record` and `top`) and top's
 * --locals pane all go through. snapshot__take() decides what to pause
 * (nothing, every thread, or only the threads running now), pauses them
 * with ptrace, reads the stacks (python/pyproc.h) with the pause and the
 * target's task list passed along, unwinds the native stacks and reads the
 * locals while the threads are stopped, resumes them, and only then merges
 * the native stacks (symbols take time, the target runs meanwhile). The
 * pause is undone on every path, before snapshot__take returns.
 *
 * Without a pause (--nonblocking) the run states of the threads are read
 * first (proc/threadstate.h), so that idle ones are known without their
 * stacks, and a torn read may be tried again (tries). Before the run states
 * (both modes) the GIL is read when threads wait for it, so that those the
 * GIL's switch counter proves still waiting are not read again; between
 * snapshots the caller may read it more often (snap_target__gil_poll).
 *
 * Pausing only the running threads (SNAP_PAUSE_RUNNING, the sampler's
 * mode): a thread asleep in the kernel cannot change its Python stack, and
 * waking it costs the program. When several run and one of them holds the
 * GIL, no other can change a Python stack, so that holder is paused alone;
 * the read must then show it owning the GIL, or it had let the GIL go before
 * the stop and every running thread is paused after all (gil_retries). Not
 * with native stacks: every thread shown needs its registers.
 */
#ifndef CSPY_SNAPSHOT_H
#define CSPY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "native/merge.h"
#include "python/pyproc.h"

struct threadstate;
struct unwinder;
struct py_local;

/* What a snapshot reads, borrowed: the caller owns all of it (the sampler's
 * targets, dump's process). */
struct snap_target {
	pid_t pid;
	struct pyproc *pp;
	struct threadstate *tasks;      /* its TIDs and run states (threadstate__new(pid)) */
	struct unwinder *uw;            /* native stacks, NULL: none */
};

/* Open pid (pyproc__open) with a task list of its own, no unwinder: 0, or
 * the pyproc__open error with its reason in why. Closed (with its unwinder,
 * if the caller added one) by snap_target__close. */
int snap_target__open(pid_t pid, struct snap_target *t, char *why, size_t whylen);
void snap_target__close(struct snap_target *t);
const struct pyproc_info *snap_target__info(const struct snap_target *t);

/* Between snapshots: in how many ns t's GIL is worth reading again for the
 * GIL-waiter rule (proc/threadstate.h, threadstate__gil_poll: half its
 * switch interval, at least 0.5 ms), 0: not now (no waiters, or the track
 * is lost until the next snapshot). snap_target__gil_poll reads it. */
uint64_t snap_target__gil_poll_ns(const struct snap_target *t);
void snap_target__gil_poll(const struct snap_target *t);

enum snap_pause {
	SNAP_NONBLOCKING,       /* no pause: the run states are read, then the stacks */
	SNAP_PAUSE_ALL,         /* every thread of the process, listed now */
	SNAP_PAUSE_TASKS,       /* every thread of the task list (up to 100 ms old) */
	SNAP_PAUSE_RUNNING,     /* the threads running now, or the GIL holder alone (above) */
};

struct snap_begun;

struct snap_req {
	enum snap_pause pause;
	unsigned flags;         /* PYSAMPLE_* */
	int tries;              /* SNAP_NONBLOCKING: reads while one is torn (-EFAULT,
				 * -EAGAIN); 0 or 1: one read */
	bool native;            /* with a pause: unwind with t->uw in it, merge after it
				 * (no unwinder: no merged stacks, n = 0) */
	int locals;             /* 0, or the level of the locals read of every frame
				 * (python/locals.h), in the pause */
	pid_t locals_tid;       /* with locals: only this thread's; 0: every thread's */
	bool regs;              /* with a pause: each stopped thread's registers into
				 * snapshot.regs (the python/native/system split) */
	bool prewarm;           /* a pause 2 ms or more after the previous one first reads
				 * the stacks without pausing (once), so that the read in
				 * the pause finds cspy's caches warm: at 100 Hz it held the
				 * program twice as long without */
	unsigned stall_ms;      /* tests: stay paused this long before reading */
	/* Called right after the stacks were read (in the pause, if any, before
	 * native unwinding), with them: what must see the process as they do
	 * (record --async reads the asyncio tasks there). NULL: none. */
	void (*after_read)(void *arg, const struct py_sample *sample);
	void *after_read_arg;
	/* SNAP_PAUSE_RUNNING: what snapshot__begin found and seized for
	 * this take (with this request), used and ended by it; NULL: none */
	struct snap_begun *begun;
};

/* The first half of a SNAP_PAUSE_RUNNING take, done ahead of it: the run
 * states read, what to pause decided (as the take would) and interrupted,
 * the stops not awaited (ptrace_pause__seize_tids, ptrace_pause__interrupt). The sampler begins
 * every process's take of a tick before the first take, so that their
 * stops are awaited together: each waits for the scheduler to give the
 * thread a CPU, milliseconds on a pool of busy processes, and one process
 * after another that was most of a tick. Owned by the caller and reused;
 * a take with it in its request ends it, snap_begun__release frees it. */
struct snap_begun {
	bool valid;                     /* found for the next take */
	struct ptrace_pause *pause;     /* the interrupted threads, NULL: nothing to pause */
	int nrun;                       /* the running threads, their TIDs in run */
	pid_t *run;
	size_t run_cap;
	pid_t holder;                   /* paused alone: the GIL holder (0: all of run) */
};

struct snap_locals {            /* the locals of one frame */
	struct py_local *v;
	size_t n;
	int err;                /* 0, or why they could not be read */
};

struct snap_regs {
	bool have;              /* stopped by this pause, registers taken */
	bool running;           /* ptrace_pause__running: user space or a non-waiting call */
	uint64_t pc;
	int64_t sysno;          /* the system call it is in, -1: none */
};

/* One snapshot, owned by the caller and reused across takes (each take
 * resets it). The code objects the frames point to belong to the target's
 * pyproc (valid until its next read). */
struct snapshot {
	struct py_sample sample;
	struct merged_sample native;    /* req.native: merged stacks per thread */
	/* req.locals: [thread][frame] as in sample, NULL for a thread not
	 * read (locals_tid); locals NULL without req.locals */
	struct snap_locals **locals;
	size_t nlocals;                 /* threads in locals */
	/* req.regs: per thread of sample (nregs of them, 0 when nothing was
	 * paused), what its registers said at the stop */
	struct snap_regs *regs;
	size_t nregs, regs_cap;
	/* Nothing of the process ran since the last snapshot (threadstate__quiet)
	 * and the request keeps only running threads' stacks (PYSAMPLE_SKIP_IDLE
	 * and PYSAMPLE_NO_GIL, no names, locals, native stacks or after_read):
	 * nothing was read, sample.n is 0. Not a list of the threads: the
	 * caller must not take the threads missing from it for gone. */
	bool quiet;
	pid_t *run;                     /* private: the running threads' TIDs */
	size_t run_cap;
	uint64_t paused_at_ns;          /* private: when the last pause began */
	uint64_t prewarm_spared;        /* warm reads left out: many thread states */
};

#define SNAP_HOLD_BUCKETS 2001
/* What the pauses cost, added to by every take (may be NULL). */
struct snap_stats {
	uint64_t pauses;        /* pauses of a process's threads */
	uint64_t paused_ns;     /* their total length, first interrupt to last resume */
	uint64_t stop_ns;       /* ... of which from the first interrupt to the last stop seen */
	uint64_t read_ns;       /* ... and reading (stacks, registers; --native: unwinding) */
	uint64_t gil_retries;   /* GIL holder paused alone, but it had let the GIL go: redone */
	uint64_t retries;       /* a thread stopped while making a frame current: redone */
	uint64_t quiet;         /* snapshots not read: nothing had run (snapshot.quiet) */
	uint64_t begun;         /* pauses begun ahead of their take (snapshot__begin) */
	/* the pauses by length in microseconds (the last: that long or more),
	 * for their median and tail (snap_stats__hold_us) */
	uint32_t hold_us[SNAP_HOLD_BUCKETS];
};

/* The length in microseconds that share q (0..1) of the pauses counted in
 * st did not exceed (the median: 0.5); 0 without pauses. */
unsigned snap_stats__hold_us(const struct snap_stats *st, double q);

/* Take one snapshot of t into *out. Returns 0, or the error of the pause
 * (-EPERM/-EACCES, -ESRCH: gone), or of the read (see pyproc__sample). */
int snapshot__take(const struct snap_target *t, const struct snap_req *r, struct snapshot *out,
		   struct snap_stats *st);
void snapshot__release(struct snapshot *s);

/* Begin t's take with r (r->pause SNAP_PAUSE_RUNNING; otherwise nothing is
 * begun) into *b: the run states read, the running threads (or the GIL
 * holder alone) seized, not stopped yet; the read before a pause
 * (r->prewarm) done first, in s. 0, or the error of the seizing (b not
 * valid: the take does it all again, and meets the error itself). Then
 * snap_begun__interrupt (every target's one after the other: the program
 * is held from there), and snapshot__take(t, r with begun = b, s, ...)
 * awaits the stops. */
int snapshot__begin(const struct snap_target *t, const struct snap_req *r, struct snapshot *s,
		    struct snap_begun *b);
void snap_begun__interrupt(struct snap_begun *b);
/* Would the take of b wait for no stop (nothing begun, or every stop seen:
 * one look each, ptrace_pause__stopped)? */
bool snap_begun__ready(struct snap_begun *b);
/* A begun pause that no take ended is let go; the TIDs freed. */
void snap_begun__release(struct snap_begun *b);

#endif
