/* SPDX-License-Identifier: MIT
 *
 * asyncio from the outside: the tasks of every event loop of an attached
 * Python process, read through the memory reader without running code in
 * the target. CPython 3.7-3.13: from the asyncio module's state (the task
 * sets and the current-task dict of asyncio.tasks, C Task/Future objects of
 * _asyncio by per-version layout tables, pure-Python Tasks by their instance
 * attributes); 3.14+: from the _asyncio module's debug offsets (section
 * AsyncioDebug) and the per-thread task lists. A task's coroutine chain is
 * read from its coroutine and the coroutine each awaits (gi_yieldfrom /
 * cr_await, per layout family); which task awaits which from the future a
 * task waits on (a task, a gathering future's children, a TaskGroup's
 * tasks; 3.14+: the tasks' awaited_by sets). Every remote length and loop
 * is bounded; a torn task is reported in its err, not as a crash.
 *
 * Ownership: struct py_tasks is the caller's, reused across calls
 * (pyasync__read resets it); the struct py_code pointers in its frames are
 * owned by the pyproc, valid until its next pyproc__sample() or
 * pyasync__read() or pyproc__close().
 */
#ifndef CSPY_PYASYNC_H
#define CSPY_PYASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pyproc;
struct py_frame;

#define PYASYNC_MAX_TASKS 1000000      /* tasks read per call (the rest: truncated) */
#define PYASYNC_MAX_CHAIN 1024         /* coroutines in one task's await chain */
#define PYASYNC_MAX_AWAITERS 4096      /* awaited_by entries per task */

enum py_task_state {
	PY_TASK_PENDING,        /* waiting (or ready to run) */
	PY_TASK_RUNNING,        /* the current task of its loop at the read */
	PY_TASK_DONE,           /* finished with a result or an exception */
	PY_TASK_CANCELLED,
};

struct py_task {
	uint64_t addr;          /* the Task object: Python's id() of it */
	uint64_t loop;          /* its event loop object (id()), 0 if unknown */
	uint64_t thread_id;     /* running: threading ident of the thread running it, else 0 */
	uint64_t loop_thread_id;        /* threading ident of the thread running its loop
					 * (the loop's _thread_id), 0 if unknown or not running */
	enum py_task_state state;
	char name[128];         /* Task.get_name() (3.8+), else "" */
	/* The coroutine chain: the task's coroutine, the coroutine it awaits,
	 * and so on, INNERMOST FIRST (as struct py_thread's frames). A running
	 * task's outermost coroutine frame, frames[nframes - 1], has the same
	 * frame_addr as that frame in its thread's stack. */
	struct py_frame *frames;
	size_t nframes, cap;
	/* The tasks awaiting this one (their addr), directly: by awaiting it,
	 * gather(), TaskGroup, or asyncio.wait_for/shield where visible. */
	uint64_t *awaited_by;
	size_t nawaited_by, awaited_cap;
	bool chain_truncated;   /* deeper than PYASYNC_MAX_CHAIN */
	int err;                /* 0, or -errno when this task could not be read whole */
};

struct py_tasks {
	struct py_task *tasks;
	size_t n, cap;
	bool truncated;         /* more than PYASYNC_MAX_TASKS */
	/* The reader's cache (types it has classified), kept across calls
	 * on the same pyproc; freed by py_tasks__release. Not for callers. */
	void *priv;
};

enum {
	/* Only the running tasks and, transitively, the tasks awaiting them
	 * (what record/top --async needs at each sample), not every task.
	 * Found from the running tasks up, through the done callbacks their
	 * awaiters left on them (no task set is read: the cost does not grow
	 * with the number of tasks); at most 4096 tasks (then truncated). */
	PYASYNC_RUNNING = 1,
	/* Do not read coroutine chains (frames stays empty). */
	PYASYNC_NO_FRAMES = 2,
};

/* Read the tasks of every event loop of the process (every interpreter).
 * flags: PYASYNC_*. Returns 0 (also with no tasks), -ENOENT when asyncio
 * is not imported in the target, -ENOTSUP when this interpreter's asyncio
 * cannot be read (why: one line saying what is missing), -ESRCH when the
 * process is gone, -EFAULT/-EIO for a torn read of the module state. */
int pyasync__read(struct pyproc *p, struct py_tasks *out, unsigned flags, char *why,
		  size_t whylen);
void py_tasks__release(struct py_tasks *t);

/* The name of a state as dump and the JSON write it: "pending",
 * "running", "done", "cancelled". */
const char *py_task_state_name(enum py_task_state s);

#endif
