/* SPDX-License-Identifier: MIT
 *
 * The stack of an asyncio task (record/top --async), pure: from one read of
 * the tasks (python/pyasync.h) and a thread's frames, which frames a sample
 * shows, root first. A thread running task T (T.thread_id is the thread's
 * ident) becomes: for each ancestor in T's awaited_by chain, root-most
 * first, a task frame and that task's coroutine frames (where it waits);
 * then T's task frame; then the thread's frames from T's outermost
 * coroutine frame (matched by frame address) up to the leaf. The event
 * loop below it (run_forever, _run_once, Handle._run, Task.__step /
 * task_step, asyncio.run, <module>) is dropped. A pending task (--idle) is
 * its ancestors, its task frame and its own coroutine frames. A task awaited
 * by several follows the first awaiter; a chain longer than
 * TASKJOIN_MAX_ANCESTORS or that loops is cut there.
 *
 * The items name frames by index (into a task's frames or the thread's),
 * so the caller decides how a frame becomes a profile frame; the label of a
 * task frame is taskjoin_label's.
 */
#ifndef CSPY_TASKJOIN_H
#define CSPY_TASKJOIN_H

#include <stddef.h>
#include <stdint.h>

struct py_task;
struct py_tasks;

#define TASKJOIN_MAX_ANCESTORS 256

enum tj_kind {
	TJ_TASK,                /* the task frame of task `task` */
	TJ_TASK_FRAME,          /* frame `frame` (innermost-first index) of task `task` */
	TJ_THREAD_FRAME,        /* frame `frame` (innermost-first index) of the thread */
};

struct tj_item {
	enum tj_kind kind;
	uint32_t task;          /* index into the py_tasks */
	uint32_t frame;
};

struct taskjoin;

struct taskjoin *taskjoin__new(void);
void taskjoin__free(struct taskjoin *j);

/* Index a read of the tasks (borrowed until the next index or free). */
void taskjoin__index(struct taskjoin *j, const struct py_tasks *t);
/* The index of the task running on the thread with this ident, or -1. */
long taskjoin__running(const struct taskjoin *j, uint64_t thread_id);
/* The stack of task ti, root first, into items owned by j (valid until
 * its next call) and *n. Running task: thread_addrs are the thread's frame
 * addresses, innermost first (0: no Python frame there, e.g. a native one);
 * NULL when the task's outermost coroutine frame is not among them (the
 * caller keeps the thread's stack). Pending task: thread_addrs NULL; never
 * NULL. */
const struct tj_item *taskjoin__stack(struct taskjoin *j, size_t ti, const uint64_t *thread_addrs,
				      size_t nthread, size_t *n);

/* The label of a task frame into buf: "<task NAME>", where an automatic
 * name (Task-123) has its digits folded and the coroutine's name after it
 * ("<task Task-N: handle>"), and a task without a name (3.7) shows its
 * coroutine's ("<task handle>"). */
const char *taskjoin_label(const struct py_task *t, char *buf, size_t n);

#endif
