/* SPDX-License-Identifier: MIT
 *
 * The sampling loop of `cspy record` (and later `top`): it owns the target
 * processes (attached PIDs, a launched child, and with --subprocesses every
 * Python descendant, including ones started later), wakes at absolute
 * deadlines with randomised intervals (mean 1/rate, so periodic work in the
 * target cannot alias with the sampler), reads every target's stacks
 * (pausing it unless nonblocking), applies the idle/GIL/filters, and adds
 * each kept thread stack to a struct profile. A failed read is counted as an
 * error and never ends the run; the run ends when every target has exited,
 * after the duration, or when sampler__request_stop() is called (also from
 * a signal handler).
 */
#ifndef CSPY_SAMPLER_H
#define CSPY_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "native/merge.h"

struct profile;
struct snap_target;
struct stack_filter;
struct threadsel;

struct sampler_status {
	uint64_t samples;       /* successful reads of a process's stacks */
	uint64_t errors;        /* failed reads, and with --native threads not merged */
	uint64_t native_fails[NATIVE_FAIL_N];   /* the threads not merged, by reason */
	struct { int err; uint64_t n; } read_fails[4];  /* failed reads by -errno (err 0: others) */
	uint64_t ticks;
	double elapsed_s;
	double lag_s;           /* how late the latest tick started */
	double max_lag_s;       /* the worst lateness so far */
	bool behind;            /* sampling cannot keep up with the rate */
	int processes;          /* targets alive */
	uint64_t cpu_ns;        /* cspy's own CPU time (user + system) so far */
	uint64_t thread_samples;        /* threads seen in successful reads (before filters) */
	uint64_t active_samples;        /* ... of which running on a CPU */
	uint64_t gil_samples;           /* ... of which holding the GIL */
	int threads;            /* threads in the latest read of all targets */
	uint64_t vm_reads;      /* process_vm_readv calls so far (all targets) */
	uint64_t first_sample_ns;       /* CLOCK_MONOTONIC of the first sample, 0 if none */
	uint64_t first_sample_cpu_ns;   /* cpu_ns once the first sample was taken (start-up cost) */
	uint64_t pauses;        /* blocking mode: pauses of a process's threads */
	uint64_t paused_ns;     /* ... and their total length, first interrupt to last resume */
	uint64_t pause_stop_ns; /* ... of which the threads took to stop */
	uint64_t pause_read_ns; /* ... and the reads in the pause took */
	unsigned pause_p50_us, pause_p90_us, pause_p99_us, pause_max_us;  /* their lengths' spread
				 * (µs, up to 2,000: that long or more) */
	uint64_t gil_retries;   /* GIL holder paused alone, but it had let the GIL go: redone */
	uint64_t pause_retries; /* a thread stopped while making a frame current: paused again */
	uint64_t quiet_samples; /* samples of a process in which nothing had run: not read */
	uint64_t pauses_begun;  /* pauses interrupted before the tick's first take (snap_begun) */
	uint64_t state_reads;   /* per-thread run state files read (proc/threadstate), all targets */
	uint64_t state_proofs;  /* run states proved by a changed frame, no file read (threadstate__ran) */
	uint64_t gil_waiter_skips;      /* ... not read: GIL waiters proven still waiting */
	uint64_t gil_polls;     /* reads of a GIL between ticks, for those proofs */
	uint64_t gil_polls_spared;      /* ... left out: switches were rare (back-off) */
	uint64_t relists_spared;        /* task listings due but proved unchanged */
	uint64_t clock_spared;  /* process CPU clock reads left out (a thread ran) */
	uint64_t prewarm_spared;        /* warm reads before a pause left out (many threads) */
	uint64_t tlbc_frames;   /* frames found in a thread-local bytecode copy (3.14t) */
	uint64_t ts_batched;    /* thread states read with the last sample's chain, at once */
	uint64_t ts_serial;     /* ... and one by one (pyproc__walk_stats), all targets */
	uint64_t code_reads;    /* code object headers read (pyproc__code_stats), all targets */
	uint64_t code_trusted;  /* ... taken from a check less than the trust window ago */
	uint64_t frames_reused; /* raw frames taken from their thread's last stack (pyproc__frames_reused) */
	uint64_t frames_walked; /* frames read following the chain (pyproc__frames_walked) */
	int nogil_processes;    /* targets alive running without a GIL (free-threaded) */
	int max_nogil_processes;        /* ... the most at any time */
	/* --async (see sampler_config.async_tasks) */
	uint64_t async_reads;           /* reads of the tasks (a sample with an event loop) */
	uint64_t async_read_ns;         /* ... their total time */
	uint64_t async_join_ns;         /* building the task stacks (agg/taskjoin), in all */
	uint64_t async_fails;           /* ... that failed (the thread stacks kept) */
	uint64_t async_joined;          /* thread samples shown as a task's stack */
	uint64_t async_unjoined;        /* a running task not found in its thread's stack
					 * (it moved on between the reads): the thread's kept */
	uint64_t async_pending;         /* pending tasks' samples (with include_idle) */
	/* the python/native/system split (sampler_config.classify) */
	uint64_t split_samples;         /* active samples classified */
	uint64_t split_ns;              /* ... cspy's time classifying them, in all (not the
					 * byte of bytecode read with the stack) */
	uint64_t split_stat_reads;      /* /proc/PID/task/TID/stat reads (no registers) */
	char async_why[256];            /* a target whose asyncio cannot be read: why, or "" */
	/* --memory (sampler_config.memory; sampler/memattr.h) */
	uint64_t mem_grown, mem_shrunk; /* resident-memory bytes attributed to stacks */
	uint64_t mem_dropped;           /* ... shares of active threads whose stack was not kept */
	int64_t mem_pending;            /* ... net change not attributed: no thread ran after it */
	uint64_t mem_read_fails;        /* reads of a target's statm that failed */
	uint64_t mem_ns;                /* time in the reads and attributions, in all */
	char gave_up[512];      /* why a target stopped being sampled while it lives (another
				 * process began tracing it: no pause can work): one line, or "" */
};

/* The root frame (PROF_FRAME_OTHER) of a stack cut at PYPROC_MAX_DEPTH
 * frames: its outermost frames are missing. After the process and thread
 * roots, before the frames read. */
#define SAMPLER_TRUNCATED "<truncated>"
/* The leaf frame (PROF_FRAME_OTHER) of a sample taken while its thread ran
 * a garbage collection, above the Python frame that triggered it. */
#define SAMPLER_GC "<GC>"

struct sampler_config {
	double rate_hz;
	double duration_s;      /* 0: unlimited */
	bool nonblocking;
	bool native;            /* --native: merge native stacks (needs the pause: not nonblocking) */
	bool gil_only;          /* --gil: only the thread holding the GIL; a target
				 * running without a GIL is refused (free-threaded) */
	bool gil_stats;         /* count GIL holders (gil_samples) even without --gil */
	bool include_idle;      /* --idle */
	bool threads_root;      /* --threads: root frame per thread */
	bool interps_root;      /* --interpreters: root frame per interpreter, above the thread's */
	bool subprocesses;
	bool function_lines;    /* -F: every frame at its function's first line */
	bool no_lineno;         /* --nolineno */
	const struct stack_filter *filter;
	/* --thread REGEX: only the threads whose name matches are read and
	 * counted (NULL: all). A thread's name is looked up at once when it
	 * has none yet (a new thread), then once a second (a rename is
	 * followed); a thread known not to match has no stack read. */
	const struct threadsel *threads;
	bool qualname;          /* --qualname: Class.method frame names */
	bool exception_only;    /* --mode exception: only threads handling or raising one */
	bool gc_frames;         /* a <GC> leaf frame (SAMPLER_GC) on the thread running a
				 * garbage collection (not --no-gc) */
	/* --async: a thread running an asyncio task shows the task's stack
	 * under the tasks awaiting it (agg/taskjoin.h); with include_idle also
	 * each pending task where it waits, in its loop thread's lane. */
	bool async_tasks;
	/* Each active sample classified python / native / system
	 * (sampler/classify.h, profile__add_class; record and top: on unless
	 * --no-split). Not the stacks of --async (a task's stack is no thread's
	 * innermost frame). */
	bool classify;
	/* --memory: each target's resident memory read at every tick, its
	 * change attributed to the stacks of the threads active in the tick
	 * (sampler/memattr.h; prof_stack.mem_grow, mem_shrink). */
	bool memory;
	/* Called about 10 times a second with the status (may be NULL), also
	 * while waiting between ticks at low rates; it may call
	 * sampler__request_stop() or read the targets (sampler__target). */
	void (*progress)(const struct sampler_status *st, void *arg);
	void *progress_arg;
};

struct sampler;

/* The profile is borrowed and must outlive the sampler. */
struct sampler *sampler__new(const struct sampler_config *c, struct profile *prof);
void sampler__free(struct sampler *s);

/* Add a target. Returns 0, or the pyproc__open error (-ENOEXEC, -EACCES,
 * -ENOTSUP ...) with a one-line reason in why; with gil_only, -ENOTSUP for
 * a free-threaded interpreter running without a GIL. */
int sampler__add_pid(struct sampler *s, pid_t pid, char *why, size_t whylen);
/* --subprocesses with a PID that is not Python itself (a shell, a
 * supervisor): adopt its Python descendants as they appear. */
void sampler__watch(struct sampler *s, pid_t pid);
/* Launch mode: the child cspy started; it is reaped by the sampler, which
 * waits for its interpreter to start (up to timeout_s) and, with
 * subprocesses, for Python descendants. A child that is not Python (a
 * shell, `uv run`) is followed: the wait is for the Python processes it
 * starts, without a deadline; their own children need subprocesses.
 * Returns 0 (sampler__child_followed tells whether the child itself is a
 * target), -EINPROGRESS once when a child that is not Python has started no
 * Python process for 2 s (the caller may say so, then calls again), -ESRCH
 * when the Python program exited before its interpreter started, -ENOEXEC
 * when it exited without ever running Python or never became a Python
 * process within timeout_s, -ENOTSUP as sampler__add_pid. */
int sampler__add_child(struct sampler *s, pid_t child, double timeout_s, char *why, size_t whylen);
/* The launched child is not Python: the Python processes it starts are
 * sampled in its place. */
bool sampler__child_followed(const struct sampler *s);
/* ... and the Python processes it started that live (not their own
 * children): at most max, for ending them with it. */
size_t sampler__followed_pids(const struct sampler *s, pid_t *out, size_t max);

/* Sample until done: every target has exited, the duration is over, or a
 * stop was asked for. What ended it shows in the status (processes,
 * elapsed_s, gave_up). */
void sampler__run(struct sampler *s);
const struct sampler_status *sampler__status(const struct sampler *s);
/* The launched child's wait status once it exited: 1 and *status, 0 while
 * it runs, -ECHILD when it is gone but its status was lost. */
int sampler__child_status(const struct sampler *s, int *status);
/* The live target pid, NULL if none: borrowed, for a snapshot of it
 * between ticks (sampler/snapshot.h: top --locals, from the progress
 * callback). */
const struct snap_target *sampler__target(const struct sampler *s, pid_t pid);
/* Python version of the first target, "" if none. */
const char *sampler__python_version(const struct sampler *s);

/* Settle the python/native/system split's samples that wait for their
 * threads' times (sampler/classify.h) now: before top's reset marks the
 * profile, so that every class counted is of a sample counted before it. */
void sampler__settle(struct sampler *s);

/* End the run at the next tick (and the waits of sampler__add_child).
 * Async-signal-safe: it only sets a flag of s. */
void sampler__request_stop(struct sampler *s);

#endif
