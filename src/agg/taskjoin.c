/* SPDX-License-Identifier: MIT
 *
 * The task stack join (see taskjoin.h): a hash index from a task's address
 * to its index, the running tasks by thread ident (a short list: one per
 * event loop), and an item array reused for every stack. The ancestor chain
 * is walked from the task up the first awaiter of each, collected, then
 * emitted root-most first.
 */
#include "agg/taskjoin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyasync.h"
#include "python/pyproc.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

struct running {
	uint64_t thread_id;
	size_t task;
};

struct taskjoin {
	const struct py_tasks *t;
	struct hashmap by_addr;
	struct running *run;
	size_t nrun, run_cap;
	struct tj_item *items;
	size_t nitems, items_cap;
	size_t chain[TASKJOIN_MAX_ANCESTORS];
};

struct taskjoin *taskjoin__new(void)
{
	struct taskjoin *j = xcalloc(1, sizeof(*j));
	hashmap__init(&j->by_addr, 64);
	return j;
}

void taskjoin__free(struct taskjoin *j)
{
	if (!j)
		return;
	hashmap__fini(&j->by_addr);
	free(j->run);
	free(j->items);
	free(j);
}

static uint64_t addr_hash(uint64_t a)
{
	return hashmap_fnv(HASHMAP_FNV0, &a, sizeof(a));
}

void taskjoin__index(struct taskjoin *j, const struct py_tasks *t)
{
	j->t = t;
	j->nrun = 0;
	hashmap__clear(&j->by_addr);
	for (size_t i = 0; i < t->n && i < UINT32_MAX; i++) {
		const struct py_task *k = &t->tasks[i];
		uint64_t h = addr_hash(k->addr);
		struct hashmap_pos pos;
		uint32_t id = hashmap__first(&j->by_addr, h, &pos);
		while (id != HASHMAP_NONE && t->tasks[id].addr != k->addr)
			id = hashmap__next(&j->by_addr, &pos);
		if (id == HASHMAP_NONE)         /* the first of a task listed twice wins */
			hashmap__insert(&j->by_addr, &pos, (uint32_t)i);
		if (k->state == PY_TASK_RUNNING && k->thread_id) {
			j->run = xgrow(j->run, &j->run_cap, j->nrun + 1, sizeof(*j->run));
			j->run[j->nrun++] = (struct running){ k->thread_id, i };
		}
	}
}

long taskjoin__running(const struct taskjoin *j, uint64_t thread_id)
{
	for (size_t i = 0; i < j->nrun; i++)
		if (j->run[i].thread_id == thread_id)
			return (long)j->run[i].task;
	return -1;
}

static long find(const struct taskjoin *j, uint64_t addr)
{
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&j->by_addr, addr_hash(addr), &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&j->by_addr, &pos))
		if (j->t->tasks[id].addr == addr)
			return (long)id;
	return -1;
}

static void emit(struct taskjoin *j, enum tj_kind kind, size_t task, size_t frame)
{
	j->items = xgrow(j->items, &j->items_cap, j->nitems + 1, sizeof(*j->items));
	j->items[j->nitems++] = (struct tj_item){ kind, (uint32_t)task, (uint32_t)frame };
}

/* A task's frame and its coroutine frames, root first. */
static void emit_task(struct taskjoin *j, size_t ti, bool frames)
{
	const struct py_task *k = &j->t->tasks[ti];
	emit(j, TJ_TASK, ti, 0);
	for (size_t f = frames ? k->nframes : 0; f-- > 0;)
		emit(j, TJ_TASK_FRAME, ti, f);
}

const struct tj_item *taskjoin__stack(struct taskjoin *j, size_t ti, const uint64_t *thread_addrs,
				      size_t nthread, size_t *n)
{
	*n = 0;
	j->nitems = 0;
	if (!j->t || ti >= j->t->n)
		return NULL;
	const struct py_task *task = &j->t->tasks[ti];
	size_t match = 0;
	if (thread_addrs) {
		uint64_t outer = task->nframes ? task->frames[task->nframes - 1].frame_addr : 0;
		for (match = 0; outer && match < nthread && thread_addrs[match] != outer; match++)
			;
		if (!outer || match == nthread)
			return NULL;
	}
	/* The ancestors, first awaiter of each, until none, a loop, or the bound. */
	size_t nchain = 0;
	for (const struct py_task *k = task; k->nawaited_by && nchain < TASKJOIN_MAX_ANCESTORS;) {
		long a = find(j, k->awaited_by[0]);
		if (a < 0 || (size_t)a == ti)
			break;
		bool seen = false;
		for (size_t c = 0; c < nchain && !seen; c++)
			seen = j->chain[c] == (size_t)a;
		if (seen)
			break;
		j->chain[nchain++] = (size_t)a;
		k = &j->t->tasks[a];
	}
	while (nchain-- > 0)
		emit_task(j, j->chain[nchain], true);
	emit_task(j, ti, !thread_addrs);
	for (size_t f = match + 1; thread_addrs && f-- > 0;)
		emit(j, TJ_THREAD_FRAME, ti, f);
	*n = j->nitems;
	return j->items;
}

/* "Task-<digits>", asyncio's automatic name. */
static bool auto_name(const char *s)
{
	if (strncmp(s, "Task-", 5) != 0 || !s[5])
		return false;
	for (s += 5; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

const char *taskjoin_label(const struct py_task *t, char *buf, size_t n)
{
	const char *coro = t->nframes && t->frames[t->nframes - 1].code
			   ? t->frames[t->nframes - 1].code->name : NULL;
	if (coro && !coro[0])
		coro = NULL;
	if (t->name[0] && !auto_name(t->name))
		snprintf(buf, n, "<task %.*s>", (int)sizeof(t->name), t->name);
	else if (t->name[0])
		snprintf(buf, n, coro ? "<task Task-N: %s>" : "<task Task-N>", coro);
	else
		snprintf(buf, n, "<task %s>", coro ? coro : "?");
	return buf;
}
