/* SPDX-License-Identifier: MIT
 *
 * A recorded profile, the model every output writer reads. Frames are
 * interned (name, file, line, kind -> small id); stacks are interned per
 * thread (a stack = its thread + frame ids, root first -> stack id, with a
 * sample count), so memory grows with distinct stacks, not with samples.
 * Time order is kept per thread as runs (stack id, first timestamp, count)
 * that merge consecutive identical samples: enough for speedscope's and
 * Chrome's timelines without storing every sample.
 *
 * Exited threads: profile__thread_exit() folds a thread into one lane per
 * (process, name pattern) -- "Thread-N (handler)" for every exited
 * "Thread-123 (handler)" -- adding its stacks' counts and appending its runs,
 * and frees what it held, so a thread-per-request server costs memory per
 * distinct stack and name pattern, not per thread ever seen. Names and
 * command lines are interned (agg/intern.h): no per-thread copies. Thread
 * and stack ids stay dense (0..n-1): folding a thread moves the last thread
 * into its index, and a stack left empty keeps its id with count 0 until a
 * new stack takes it, so ids are valid only until the next
 * profile__thread_exit().
 *
 * Ownership: the profile owns every string and array; the const pointers the
 * getters return are valid until profile__free().
 */
#ifndef CSPY_PROFILE_H
#define CSPY_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct profile;

enum prof_frame_kind {
	PROF_FRAME_PYTHON,      /* a Python function */
	PROF_FRAME_NATIVE,      /* a C/C++ function (--native) */
	PROF_FRAME_PROCESS,     /* synthetic root: process PID:"cmdline" (--subprocesses) */
	PROF_FRAME_THREAD,      /* synthetic root: thread (TID): name (--threads) */
	PROF_FRAME_INTERP,      /* synthetic root: interpreter (ID) (--interpreters) */
	PROF_FRAME_OTHER,       /* synthetic: e.g. idle marker */
	PROF_FRAME_TASK,        /* synthetic: an asyncio task, "<task NAME>" (record --async) */
};

struct prof_frame {
	const char *name;               /* function name, or the label of a synthetic frame */
	const char *filename;           /* full file name as the interpreter has it; "" if none */
	const char *short_filename;     /* package-relative; "" if none */
	int line;                       /* -1: none (e.g. --nolineno, synthetic frames) */
	enum prof_frame_kind kind;
};

struct prof_thread {
	pid_t pid, tid;                 /* tid 0 in a lane of exited threads */
	const char *name;               /* "" if unknown; the name pattern in a lane of exited threads */
	const char *process_cmdline;
	uint64_t samples;               /* samples of this thread kept in the profile */
	pid_t ns_tid;                   /* id in the process's PID namespace when not tid, else 0 */
	uint32_t exited;                /* 0: one thread; N: a lane of N exited threads */
};

/* What a thread was doing in an active sample (record/top's split of time,
 * like scalene's columns): running bytecode (the eval loop and the helpers
 * it calls for one instruction), in C code called from Python (a builtin, an
 * extension, a library), or in the kernel (a system call that was running). */
enum prof_class {
	PROF_CLASS_PYTHON,
	PROF_CLASS_NATIVE,
	PROF_CLASS_SYSTEM,
};
#define PROF_NCLASSES 3

struct prof_stack {
	uint32_t thread;                /* index into the threads */
	const uint32_t *frames;         /* frame ids, ROOT FIRST */
	uint32_t n;
	uint64_t count;                 /* samples (weights) with exactly this stack; 0: unused id */
	uint64_t marked;                /* count at the last profile__mark() */
	uint64_t base;                  /* a diff (cspy diff): samples of the base profile with
					 * this stack (count: the new one's); else 0. An id with
					 * count 0 and base > 0 is a stack only the base had */
	uint64_t cls[PROF_NCLASSES];    /* of count: the samples classified python / native /
					 * system (profile__add_class); the rest (idle samples,
					 * a profile without the split) are not classified */
	uint64_t cls_marked[PROF_NCLASSES];     /* cls at the last profile__mark() */
	uint64_t mem_grow, mem_shrink;  /* --memory: bytes of resident-memory growth and
					 * shrink attributed to this stack (profile__add_memory) */
	uint64_t mem_grow_marked, mem_shrink_marked;    /* at the last profile__mark() */
};

struct prof_run {
	uint32_t stack;                 /* stack id */
	uint32_t count;                 /* consecutive samples of this thread with this stack */
	uint64_t t_ns;                  /* time of the first of them, ns since the profile's start */
	uint64_t t_last_ns;             /* time of the last of them */
};

struct prof_meta {
	const char *title;              /* usually the profiled command line */
	const char *command_line;
	double rate_hz;                 /* requested sampling rate */
	uint64_t start_unix_ns;         /* wall clock at start */
	uint64_t duration_ns;
	uint64_t samples, errors;       /* sampling attempts that produced stacks / failed */
	uint64_t ticks;                 /* sampling ticks in duration_ns (0: unknown) */
	const char *python_version;     /* of the first process, "" if unknown */
	bool gil_only, idle_included, native;
	bool diff;                      /* a differential profile: stacks carry base counts */
	bool exception_only;            /* --mode exception: samples in an exception only */
	bool gc_frames;                 /* <GC> frames were asked for (not --no-gc) */
	bool classified;                /* active samples carry the python/native/system split */
	bool memory;                    /* --memory: stacks carry bytes of memory growth/shrink,
					 * and the writers weigh stacks by mem_grow */
};

/* The sampling mode of a profile, from its flags: "exception", "gil",
 * "wall" (idle threads included) or "cpu". */
static inline const char *prof_meta_mode(const struct prof_meta *m)
{
	return m->exception_only ? "exception" : m->gil_only ? "gil"
	       : m->idle_included ? "wall" : "cpu";
}

/* The weight a writer draws a stack with: in a --memory profile the bytes
 * its samples grew the resident memory by (prof_meta.memory; a diff, which
 * compares samples, keeps counts), else its samples. */
static inline uint64_t prof_stack_weight(const struct prof_meta *m, const struct prof_stack *s)
{
	return m->memory && !m->diff ? s->mem_grow : s->count;
}

struct profile *profile__new(void);
void profile__free(struct profile *p);

/* Intern a frame; name/filename/short_filename are copied. */
uint32_t profile__frame(struct profile *p, const char *name, const char *filename,
			const char *short_filename, int line, enum prof_frame_kind kind);
/* Intern a thread by (pid, tid); the name is updated when it changes.
 * Strings are interned, not copied per thread. */
uint32_t profile__thread(struct profile *p, pid_t pid, pid_t tid, const char *name,
			 const char *process_cmdline);
/* Append a lane of `exited` exited threads of pid named name (a saved
 * profile's lane, agg/load.h): a thread entry with tid 0 that no
 * profile__thread() finds. Strings are interned. */
uint32_t profile__lane(struct profile *p, pid_t pid, const char *name, const char *process_cmdline,
		       uint32_t exited);
/* The thread's id inside its process's PID namespace (a container), when
 * it differs from its TID; 0: none. */
void profile__thread_set_ns_tid(struct profile *p, uint32_t thread, pid_t ns_tid);
/* The thread has exited: fold it into the lane of exited threads of its
 * process and name pattern (created if needed; at most PROFILE_MAX_LANES per
 * process, the rest share the lane named PROFILE_OTHER_LANE): its stacks'
 * counts and marks are added to the lane's stacks with the same frames, its
 * runs appended to the lane's (with the lane's stack ids), its samples added.
 * The thread's entry is then gone: the last thread takes its index. A lane
 * itself is left alone. Sum of counts, per stack text, is preserved. */
void profile__thread_exit(struct profile *p, uint32_t thread);
#define PROFILE_MAX_LANES 256
#define PROFILE_OTHER_LANE "<other exited threads>"
/* The name pattern of a thread name: each run of decimal digits not directly
 * after an ASCII letter becomes "N" ("Thread-123 (handler)" -> "Thread-N
 * (handler)", "ThreadPoolExecutor-0_12" -> "ThreadPoolExecutor-N_N",
 * "worker 7" -> "worker N"; "http2" stays). Writes into buf (n bytes,
 * truncated), returns buf. */
const char *profile_thread_pattern(const char *name, char *buf, size_t n);

/* Remember every stack's count now (prof_stack.marked, kept through
 * profile__thread_exit): what `top` counts from after a reset. */
void profile__mark(struct profile *p);
/* Record one sample of `thread` at time t_ns (ns since start) with frame ids
 * ROOT FIRST; weight is usually 1. Returns the stack's id (valid until the
 * next profile__thread_exit), PROFILE_NO_STACK when nothing was added. */
uint32_t profile__add(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
		      uint64_t t_ns, uint32_t weight);
#define PROFILE_NO_STACK UINT32_MAX
/* weight of the stack's samples were of class c (prof_stack.cls); an id
 * that is PROFILE_NO_STACK or unused is ignored. */
void profile__add_class(struct profile *p, uint32_t stack, enum prof_class c, uint64_t weight);
/* A change of the process's resident memory attributed to the stack:
 * growth (bytes > 0) to mem_grow, shrink to mem_shrink. */
void profile__add_memory(struct profile *p, uint32_t stack, int64_t bytes);
/* The id of the stack (thread, frames ROOT FIRST), PROFILE_NO_STACK when
 * the profile has none (a reader of class and memory lines, agg/load.c). */
uint32_t profile__stack_find(const struct profile *p, uint32_t thread, const uint32_t *frames, size_t n);
/* Sums over every stack: samples of class c; bytes grown and shrunk. */
uint64_t profile__class_total(const struct profile *p, enum prof_class c);
void profile__memory_total(const struct profile *p, uint64_t *grow, uint64_t *shrink);
/* "python", "native" or "system" (a static string). */
const char *profile_class_name(enum prof_class c);

/* What a listener hears (profile__set_listener): for writers that write
 * while recording (jsonl). PROF_EVENT_ADD: after profile__add interned the
 * sample, thread and stack are its ids (valid until the next thread exit).
 * PROF_EVENT_THREAD_EXIT: BEFORE profile__thread_exit folds `thread` into
 * its lane (its entry, pid, tid and name, still readable); stack is unused.
 * PROF_EVENT_CLASS: profile__add_class gave `amount` samples of `stack`
 * (of `thread`) the class `cls`; PROF_EVENT_MEMORY: profile__add_memory
 * gave it `amount` bytes (> 0 growth, < 0 shrink). t_ns and weight are
 * unused in both. */
enum prof_event_kind { PROF_EVENT_ADD, PROF_EVENT_THREAD_EXIT, PROF_EVENT_CLASS, PROF_EVENT_MEMORY };
struct prof_event {
	enum prof_event_kind kind;
	uint32_t thread, stack;
	uint64_t t_ns;                  /* ADD: the sample's time; EXIT: the last tick's */
	uint32_t weight;
	enum prof_class cls;            /* CLASS */
	int64_t amount;                 /* CLASS: samples; MEMORY: bytes */
};
typedef void (*prof_listener_fn)(void *ctx, const struct profile *p, const struct prof_event *e);
/* Call fn(ctx, p, event) on every profile__add and profile__thread_exit
 * (one listener; NULL: none). fn must not change p. */
void profile__set_listener(struct profile *p, prof_listener_fn fn, void *ctx);

/* A sampling tick begins at t_ns (ns since start; the time its samples are
 * added with). Once ticks are given, a run ends when a thread was left out
 * of the tick before, even with the same stack (it was idle or unreadable
 * then, which timelines should show); a tick that came late (sampling fell
 * behind) splits nothing. Without ticks (default), runs never split. */
void profile__tick(struct profile *p, uint64_t t_ns);

/* Keep per-thread runs (time order)? On by default; `top` needs only the
 * counts and turns them off so that a long session's memory stays bounded. */
void profile__set_keep_runs(struct profile *p, bool keep);

/* A differential profile (cspy diff): add weight samples of the BASE
 * profile to the stack (thread, frames ROOT FIRST), interned like
 * profile__add's stacks; prof_stack.base. No runs, no thread samples. */
void profile__add_base(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
		       uint64_t weight);
/* Total base weight (0 unless profile__add_base was called). */
uint64_t profile__base_total(const struct profile *p);

/* Source text of the files the profile's frames name, for the report's
 * source view: read from the target while it runs (through /proc/PID/root)
 * or carried by a saved profile. A file that could not be read has no text
 * and an error saying why ("not found", "larger than 1 MiB", ...). */
struct prof_source {
	const char *filename;           /* as in prof_frame.filename */
	const char *text;               /* NULL when error is set; not NUL-terminated */
	size_t len;
	const char *error;              /* NULL when text is set */
};
/* Set (or replace) the source of filename: text of len bytes (copied), or
 * text NULL and an error message. */
void profile__set_source(struct profile *p, const char *filename, const char *text, size_t len,
			 const char *error);
/* The source of filename, or NULL when none was set. */
const struct prof_source *profile__source(const struct profile *p, const char *filename);
size_t profile__nsources(const struct profile *p);
const struct prof_source *profile__source_at(const struct profile *p, size_t i);
/* Bytes of source text held. */
size_t profile__source_bytes(const struct profile *p);

/* Metadata (strings copied). */
void profile__set_meta(struct profile *p, const struct prof_meta *m);
const struct prof_meta *profile__meta(const struct profile *p);

/* The rate samples were really taken at, in Hz: ticks / duration when both
 * are known (below the requested rate when sampling fell behind it), else
 * the requested rate_hz (0: unknown). A sample stands for 1 / this many
 * seconds in every writer that shows time (speedscope, chrometrace). */
double profile_sample_rate(const struct prof_meta *m);

size_t profile__nframes(const struct profile *p);
const struct prof_frame *profile__frame_at(const struct profile *p, uint32_t id);
size_t profile__nthreads(const struct profile *p);
const struct prof_thread *profile__thread_at(const struct profile *p, uint32_t id);
/* Stack ids, including unused ones (count 0) left by profile__thread_exit. */
size_t profile__nstacks(const struct profile *p);
const struct prof_stack *profile__stack_at(const struct profile *p, uint32_t id);
/* Runs of one thread, in time order. */
const struct prof_run *profile__runs(const struct profile *p, uint32_t thread, size_t *n);
/* Total weight of all samples. */
uint64_t profile__total(const struct profile *p);

/* The label py-spy uses for a frame in collapsed stacks and flame graphs:
 * "name (file:line)", "name (file)" without a line, or the synthetic label.
 * full: use the full filename. Writes into buf (n bytes), returns buf. */
const char *profile_frame_label(const struct prof_frame *f, bool full, char *buf, size_t n);
/* The name of a frame kind in the output formats: "python", "native",
 * "process", "thread", "interpreter" or "other" (a static string). */
const char *profile_frame_kind_name(enum prof_frame_kind k);

#endif
