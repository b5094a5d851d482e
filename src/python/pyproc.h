/* SPDX-License-Identifier: MIT
 *
 * The engine: an attached Python process and the reading of its stacks.
 * pyproc__open() detects the interpreter and fills the layout (per-version
 * table, overwritten by the target's _Py_DebugOffsets on 3.13+).
 * pyproc__sample() walks every interpreter, every thread state of each, and
 * each thread's frames (once per layout family: PyFrameObject chains up to 3.10,
 * _PyInterpreterFrame chains from 3.11, read from whole datastack chunks),
 * resolving each frame's code object through a cache validated on every
 * sample (a code object's address can be reused after it is freed), and its
 * line through the line table. It does not pause the target, nor list its
 * threads: the caller does both and passes what it knows (struct py_view;
 * sampler/snapshot.h is that caller). A sample that meets torn memory reports an error
 * for that thread or sample, never crashes: every remote length and loop is
 * bounded.
 *
 * Subinterpreters: a thread that runs code in another interpreter has a
 * thread state in each (the caller's, whose frames called into it, and the
 * one it runs in now). They are joined into one struct py_thread: the frames
 * of the interpreter it runs in now above the frames that called into it,
 * interp_id that interpreter's. Which state called which is read from where
 * their eval loops sit on the thread's C stack (3.10+: the C stack grows
 * down, so a deeper call sits lower); before 3.10, which has no such
 * address, states with the same thread ids are joined, the newer
 * interpreter's frames on top.
 *
 * Ownership: struct py_sample is owned by the caller and reused across calls
 * (pyproc__sample resets it); the struct py_code pointers in it are owned by
 * the pyproc and stay valid until the next pyproc__sample() or
 * pyproc__close().
 */
#ifndef CSPY_PYPROC_H
#define CSPY_PYPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pyproc;
struct pyctx;
struct mem;
struct ptrace_pause;
struct threadstate;
struct threadstate_gil;

#define PYPROC_MAX_DEPTH 8192
#define PYPROC_MAX_THREADS 4096          /* thread states, over all interpreters */
#define PYPROC_MAX_INTERPS 256          /* interpreters walked (the rest are not read) */
/* The work of one sample, over all its threads: frames walked, and bytes of
 * datastack chunks and line tables read (a sample beyond them fails with
 * -E2BIG: only a corrupted or hostile interpreter state gets there). */
#define PYPROC_MAX_SAMPLE_FRAMES (1u << 18)
#define PYPROC_MAX_SAMPLE_BYTES (64u << 20)

struct py_code {
	uint64_t uid;           /* unique for cspy's lifetime: a cache key that never goes stale */
	uint64_t addr;
	char *name;             /* co_name */
	char *qualname;         /* co_qualname (3.11+), else co_name */
	char *filename;         /* co_filename */
	const char *short_filename;     /* relative to the top-most package dir */
	int firstlineno;
};

struct py_frame {
	const struct py_code *code;
	int line;               /* -1 when unknown */
	uint64_t frame_addr;    /* PyFrameObject* or _PyInterpreterFrame* (for --locals) */
	bool entry;             /* first frame run by a new call of the eval loop (<= 3.10:
				 * every frame; 3.11: is_entry; 3.12+: called from a shim
				 * frame, or the bottom frame); for merging native stacks */
	uint64_t cstack;        /* on an entry frame, 3.12+: the address of the shim frame
				 * its eval-loop call keeps on the C stack (inside that
				 * call's native frame: found without symbols), else 0 */
	/* With PYSAMPLE_QUALNAME, before 3.11 (no co_qualname): "Class.method"
	 * of the class defining the method its self/cls argument's type finds
	 * (python/qualname.h), NULL when none (then code->qualname); owned by
	 * the pyproc, valid until pyproc__close. qual_uid: a unique id of
	 * that (code, class) pair, a stand-in for code->uid in caches keyed by
	 * the frame's name (0 with no qualname). */
	const char *qualname;
	uint64_t qual_uid;
};

struct py_thread {
	uint64_t tstate;        /* of the interpreter it runs in now */
	int64_t interp_id;      /* that interpreter's id (the main one: 0) */
	uint64_t thread_id;     /* threading ident (pthread_t) */
	pid_t tid;              /* OS thread id (as /proc shows it to cspy), 0 if unknown */
	pid_t ns_tid;           /* its id inside the target's PID namespace (a container)
				 * when that differs from tid, else 0 */
	bool active;            /* running on a CPU (OS state R) */
	bool owns_gil;
	char name[64];          /* threading name, "" if unknown */
	struct py_frame *frames;        /* innermost first */
	size_t nframes, cap;
	bool truncated;         /* deeper than PYPROC_MAX_DEPTH */
	bool skipped;           /* idle, stack not read (PYSAMPLE_SKIP_IDLE), or left out
				 * by name (pyproc__set_skip) */
	int err;                /* 0, or -errno when this thread's stack could not be read */
	/* Read only when the flags ask (PYSAMPLE_EXCEPTION, PYSAMPLE_GC), else false: */
	bool in_exception;      /* handling one (sys.exc_info() would show it) or raising one */
	bool in_gc;             /* running a garbage collection now */
	/* PYSAMPLE_OPCODE: the opcode (0-255) of the innermost frame's current
	 * instruction as it sits in the bytecode (3.11+: maybe specialized,
	 * or an INSTRUMENTED_ one under sys.monitoring); -1 unknown. */
	int opcode;
	/* The address of the innermost frame's current instruction in the
	 * target (3.11+: its instruction pointer; <= 3.10: inside co_code's
	 * bytes), 0 unknown: with frames[0].frame_addr, whether the thread ran
	 * since the last sample (proc/threadstate.h, threadstate__ran). */
	uint64_t leaf_instr;
};

struct py_sample {
	struct py_thread *threads;
	size_t n, cap;
};

struct pyproc_info {
	pid_t pid;
	unsigned version;
	bool version_guessed;   /* micro unknown: the interpreter had not written it yet */
	bool free_threaded;
	char version_str[32];   /* "3.12.1" */
	const char *binary;     /* ELF holding the runtime (as mapped) */
	const char *exe;        /* /proc/PID/exe */
	const char *cmdline;
	/* Where the interpreter's code is, for the python/native/system split
	 * (sampler/classify.h); 0: unknown. The eval loop (its ELF symbol and
	 * size), and the lowest and highest executable mapping of binary. */
	uint64_t eval_start, eval_end;
	uint64_t text_start, text_end;
};

enum {
	PYSAMPLE_NAMES = 1,     /* look up thread names in threading._active */
	PYSAMPLE_SKIP_IDLE = 4, /* do not read the stacks of idle threads (skipped) */
	PYSAMPLE_NO_GIL = 8,    /* owns_gil not needed: the GIL is not read (false for all) */
	PYSAMPLE_QUALNAME = 16, /* before 3.11: py_frame.qualname from self/cls (--qualname) */
	PYSAMPLE_EXCEPTION = 32,        /* fill in_exception (the thread state's exceptions) */
	PYSAMPLE_GC = 64,       /* fill in_gc: when a collection runs, the thread running it
				 * (the GIL holder; without a GIL the only attached thread) */
	PYSAMPLE_OPCODE = 128,  /* fill opcode (one byte more per thread read) */
	PYSAMPLE_PREWARM = 256, /* the same read follows at once (a pause's): the code
				 * objects it checks, which that one takes from the cache
				 * (pyproc__set_code_trust), are not fetched again with it */
};

/* Attach to pid (no pause, no ptrace): detect Python, build the layout.
 * Returns 0, or -ENOENT (no process), -ENOEXEC (not Python), -ENOTSUP
 * (unsupported version), -EPERM/-EACCES, -ESRCH; why gets a one-line reason. */
int pyproc__open(pid_t pid, struct pyproc **out, char *why, size_t whylen);
void pyproc__close(struct pyproc *p);

struct maps;
/* The same over a process that no longer runs (a core file, proc/core.h):
 * its memory reader (taken, even on failure), its mappings (copied), and
 * what /proc would have told (pid, exe, cmdline); root: where its files
 * are ("" for the host; for package-relative names). Returns as
 * pyproc__open. No /proc, no ptrace. */
int pyproc__open_core(struct mem *mem, const struct maps *maps, pid_t pid, const char *exe,
		      const char *cmdline, const char *root, struct pyproc **out, char *why,
		      size_t whylen);

struct py_target;
struct py_layout;
/* An engine over any memory reader, with the interpreter already located:
 * how unit tests and fuzzers walk frames in a snapshot. Takes ownership of
 * mem; copies *target and *layout. pid is only used for /proc lookups (0:
 * none). */
struct pyproc *pyproc__new_mem(struct mem *mem, pid_t pid, const struct py_target *target,
			       const struct py_layout *layout);

/* Check, live, that the layout reads this target right: the interpreter's
 * thread states point back to it, every frame's code object is of the code
 * type (PyCode_Type) with sane lengths (code units, first line, line table,
 * name strings) and the frame's instruction inside it, and at least one
 * frame was checked. pyproc__open() runs it for a newer minor version than
 * cspy knows (tried with the newest table and the target's own
 * _Py_DebugOffsets) and refuses the target when it fails. Returns 0, or
 * -EINVAL with the first failed check in why. Bounded: 4096 threads, 256
 * frames each, 16384 frames in all (it stops once 1024 were checked). */
int pyproc__validate(struct pyproc *p, char *why, size_t whylen);

const struct pyproc_info *pyproc__info(const struct pyproc *p);
/* The reader of p's memory: each pyproc__sample is one of its cycles
 * (proc/mem.h), which --native's stack pages join (unwinder__unwind). */
struct mem *pyproc__mem(const struct pyproc *p);
const struct pyctx *pyproc__ctx(const struct pyproc *p);

/* What the caller knows of the target's OS threads at one read; owned by
 * the caller, used for the length of the call only. Every field is
 * optional (a NULL view: none of them). */
struct py_view {
	/* The target's TIDs and run states (proc/threadstate.h): thread ids
	 * are mapped to TIDs (and namespace ids) through them; listed again
	 * when a sample meets a thread the list lacks. */
	struct threadstate *tasks;
	/* The tasks' run states were read for this read (threadstate__read):
	 * a thread not stopped by the pause is active when it was running. */
	bool states;
	/* The threads the caller stopped with ptrace: thread ids of old
	 * Pythons are mapped to TIDs through each thread's thread pointer, and a
	 * stopped thread is active when it was running at the stop (see
	 * ptrace_pause__running). */
	const struct ptrace_pause *pause;
};

/* The TID of the thread holding the GIL now (read live, no pause): 1 and
 * *tid when the interpreter has a GIL held by a thread of tasks (the
 * target's task list, see py_view); 0 when it is free, absent
 * (free-threaded) or unknown, or when the last sample met more than one
 * interpreter (each may have its own GIL). */
int pyproc__gil_tid(struct pyproc *p, struct threadstate *tasks, pid_t *tid);

/* The GIL as proc/threadstate.h's GIL-waiter rule needs it (its cond's
 * address range, switch counter and last holder's TID, read live in one
 * read plus the holder's thread state): 1, or 0 when there is no such GIL
 * (2.7, 3.6, free-threaded builds, several interpreters as of the last
 * sample) or it could not be read. last (NULL: none): an earlier result,
 * whose address is used instead of finding the GIL again, and whose holder
 * is kept without a read when the counter has not moved (one read in all). */
int pyproc__gil_state(struct pyproc *p, struct threadstate *tasks, const struct threadstate_gil *last,
		      struct threadstate_gil *g);

/* Whether the interpreter has a GIL now: 1 for every build with one, and
 * for a free-threaded build whose GIL was enabled (PYTHON_GIL=1, -X gil=1,
 * or an extension module that needs it; CPython never disables it again
 * once enabled for good); 0 for a free-threaded build running without one;
 * -EAGAIN while the interpreter has not created its GIL state yet, or has
 * enabled it only while it imports an extension module (3.13+: transient,
 * a count below INT_MAX); -errno when it could not be read. Read live, no
 * pause. */
int pyproc__gil_enabled(struct pyproc *p);

/* Read every thread's stack into *s, with what the caller knows of the
 * threads in *v (may be NULL). flags: PYSAMPLE_*. Returns 0, or -ESRCH
 * (the process is gone), or -EFAULT/-EIO when the interpreter state itself
 * could not be read (a torn sample), -ELOOP when the thread list loops,
 * -E2BIG when the sample exceeds PYPROC_MAX_SAMPLE_*; per-thread failures
 * are in thread.err (-ELOOP: its frame chain loops). */
int pyproc__sample(struct pyproc *p, const struct py_view *v, struct py_sample *s, unsigned flags);
void py_sample__release(struct py_sample *s);

/* Number of read syscalls issued on the target so far. */
uint64_t pyproc__syscalls(const struct pyproc *p);
/* Frames whose line was found in a thread-local copy of their bytecode
 * (3.14t: a frame with tlbc_index > 0), so far. */
uint64_t pyproc__tlbc_frames(const struct pyproc *p);
/* Thread states read so far from the chain fetched at once (the last
 * sample's states, while the walk follows them: batched) and one by one
 * (serial: the first sample, and the rest of a sample's walk once it leaves
 * that chain). */
void pyproc__walk_stats(const struct pyproc *p, uint64_t *batched, uint64_t *serial);
/* The thread states the last whole sample walked (its chain; 0: none yet,
 * or the last sample failed). */
size_t pyproc__chain_len(const struct pyproc *p);

/* Code object headers read, and taken without a read from a check less
 * than the trust window ago (see pyproc__set_code_trust). */
void pyproc__code_stats(const struct pyproc *p, uint64_t *reads, uint64_t *trusted);
/* Raw frames taken from their thread's last stack, unchanged from the root
 * up (no code or line looked up), within the code trust window. */
uint64_t pyproc__frames_reused(const struct pyproc *p);
/* Frames read by following the chain from the current frame (3.11+: a
 * walk stops at the top of the frames its thread's last stack shows
 * unchanged, found by reading them side by side; <= 3.10: 0). */
uint64_t pyproc__frames_walked(const struct pyproc *p);

/* How long a code object checked against its cache entry is taken without
 * reading it again (default 0.5 ms; 0: read every code object every sample).
 * What a longer window can miss: a code object freed and another made at
 * its address within it, whose samples in the window keep the old name. */
void pyproc__set_code_trust(struct pyproc *p, uint64_t ns);

/* ---- for the asyncio reader (python/pyasync.c) --------------------------- */

/* Call fn(interp, tstate, thread_id, arg) for every thread state of every
 * interpreter, and first fn(interp, 0, 0, arg) once per interpreter (which
 * may return PYPROC_EACH_SKIP: not its thread states, no read of them). No
 * frames are read and nothing of the last sample changes. Bounded by
 * PYPROC_MAX_INTERPS and PYPROC_MAX_THREADS. Returns 0, fn's other
 * non-zero value (which stops the walk), -ELOOP, -EAGAIN (no interpreter
 * yet), or -errno. */
#define PYPROC_EACH_SKIP 1
typedef int (*pyproc_tstate_fn)(uint64_t interp, uint64_t tstate, uint64_t thread_id,
				void *arg);
int pyproc__each_tstate(struct pyproc *p, pyproc_tstate_fn fn, void *arg);

/* Read one frame (a PyFrameObject <= 3.10, a _PyInterpreterFrame 3.11+,
 * e.g. the one a coroutine embeds) into *out: its code through the code
 * cache, its line, out->frame_addr = frame_addr (the same address the
 * thread stacks of pyproc__sample give for that frame). out->code stays
 * valid as the sample's (see above). Returns 0, -ENOENT when the frame
 * holds no code object, or -errno. */
int pyproc__read_frame(struct pyproc *p, uint64_t frame_addr, struct py_frame *out);

/* pyproc__read_frame() for n frames at once: the frames read in batches,
 * their code objects' headers in one. out[i].code is NULL (and line -1)
 * for a frame that could not be read or holds no code object. Returns 0,
 * or -ESRCH when the process is gone. */
int pyproc__read_frames(struct pyproc *p, const uint64_t *addrs, size_t n, struct py_frame *out);

/* Make room in the code cache for n more code objects (at most 1 << 20), so
 * that the next n pyproc__read_frame() calls do not move the struct py_code
 * entries (which growing the cache does: it would leave the frames read
 * before pointing at freed memory). Moves them itself: code pointers taken
 * before the call are stale after it. */
void pyproc__reserve_codes(struct pyproc *p, size_t n);

/* --thread: threads whose name is known to be left out need no stack read.
 * skip(arg, thread_id, tid) is asked for each thread state before its frames
 * are read (with one interpreter: with several, every state is walked, see
 * sample_stacks); true marks the thread skipped (py_thread.skipped, no
 * frames). NULL: none skipped. Kept until changed. */
void pyproc__set_skip(struct pyproc *p, bool (*skip)(void *arg, uint64_t thread_id, pid_t tid),
		      void *arg);
/* Look up the names of s's threads in threading._active now (what
 * PYSAMPLE_NAMES does inside pyproc__sample), after a sample that did not:
 * a thread the caller has no name for. 0 or -errno. */
int pyproc__thread_names(struct pyproc *p, struct py_sample *s);

#endif
