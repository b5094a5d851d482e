/* SPDX-License-Identifier: MIT
 *
 * The asyncio reader (see pyasync.h). Where the tasks are:
 *   - 3.7-3.13, and pure-Python asyncio of every version: the module dict
 *     of asyncio.tasks (found through the interpreter's modules dict):
 *     _all_tasks (WeakSet, 3.7-3.11) or _scheduled_tasks (WeakSet) and
 *     _eager_tasks (set, 3.12+), and _current_tasks (dict loop -> task);
 *   - 3.14+ with the C _asyncio module: its module state points at its
 *     debug offsets (Py_AsyncioModuleDebugOffsets), which say where each
 *     thread state (and the interpreter, for tasks of finished threads)
 *     keeps its list of native tasks and its running loop and task; tasks
 *     of other classes are in the state's non_asyncio_tasks WeakSet and
 *     non_asyncio_eager_tasks set.
 * C Task objects are read by per-version layout tables (alays[]: measured
 * from each version's Modules/_asynciomodule.c and checked live; 3.14+
 * from the debug offsets); pure-Python Tasks (asyncio.tasks._PyTask and
 * its subclasses) from their instance attributes. Sets are read whole, the
 * tasks' heads in batches (mem__readv): with 10,000 tasks a read costs a
 * few dozen syscalls, not 10,000.
 *
 * A task's coroutine chain: its coroutine, then while a coroutine (or
 * generator, async generator) is suspended in an await / yield from, the
 * object it awaits: <= 3.9 the top of f_stacktop, 3.10 f_valuestack at
 * f_stackdepth, 3.11+ the top of the embedded frame's stack (stacktop
 * index; 3.14+ stackpointer; 3.15 the second from the top) when the frame
 * state says suspended (3.13+: suspended in a yield from). The candidate
 * must be a coroutine, generator, async generator, async_generator_asend /
 * athrow (their generator) or coroutine_wrapper; anything else (a Future,
 * a Task) ends the chain. Frames are read by pyproc__read_frame, so their
 * frame_addr matches the thread stacks.
 *
 * awaited_by: A awaits B when A's fut_waiter is B, or a _GatheringFuture
 * whose _children hold B; and B's done callbacks hold a bound method of a
 * TaskGroup (its _on_task_done), whose _parent_task is A. Running: the
 * value of _current_tasks for the task's loop (3.14+ C: a thread state's
 * asyncio_running_task), the thread: the one whose state runs it (3.14+)
 * or the loop's _thread_id.
 *
 * Every set, dict, list, chain and name is bounded; a task whose memory
 * changed under the read (the target runs) is kept with its err.
 */
#include "python/pyasync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pydict.h"
#include "python/pyobj.h"
#include "python/pyproc.h"
#include "python/pystr.h"
#include "util/bytes.h"
#include "util/xalloc.h"

#define MAX_SET_SLOTS (1u << 23)        /* slots of one set table read */
#define MAX_CHILDREN 100000             /* a gathering future's _children */
#define MAX_CALLBACKS 64                /* a future's callbacks looked at */
#define MAX_TSTATES 4096
#define MAX_BASES 32                    /* tp_base steps to find a Task class */
#define HEAD_READ 256                   /* bytes of a C task read (every field used) */
#define GEN_READ 192                    /* bytes of a coroutine object read */
#define IOV_BATCH 1024
#define TYPE_CACHE_MAX 4096
#define TP_BASE_FROM_NAME 232           /* tp_base - tp_name in PyTypeObject (3.x) */

/* Per-minor layouts (x86_64/aarch64, GIL builds; a free-threaded build's
 * object header is 16 bytes longer: added at run time). Offsets in bytes,
 * -1: none. Measured from Modules/_asynciomodule.c (FutureObj_HEAD,
 * TaskObj), Include/cpython/genobject.h / pycore_frame.h and
 * frameobject.h of each version, and checked live (ctypes over id()). */
struct alay {
	unsigned minor;
	/* C Task: fut_loop, fut_callback0, fut_callbacks, fut_state (int),
	 * task_fut_waiter, task_coro, task_name (3.8+) */
	int t_loop, t_cb0, t_cbs, t_state, t_waiter, t_coro, t_name;
	int g_frame;                    /* <= 3.10: gi_frame (PyFrameObject *) */
	int g_iframe, g_state;          /* 3.11+: embedded frame, gi_frame_state (int8) */
	int fo_valuestack, fo_stacktop, fo_stackdepth;  /* <= 3.10 PyFrameObject */
	int if_stack;                   /* 3.11+: stacktop (int index) or stackpointer */
	bool if_stack_ptr;              /* 3.14+: a pointer past the stack's top */
	int yf_peek;                    /* the awaited object: this many down from the top */
	int st_yf_lo, st_yf_hi;         /* frame states suspended at an await (3.11+) */
	int md_state;                   /* 3.14+: PyModuleObject md_state - md_dict */
	bool debug;                     /* 3.14+: tasks from the module's debug offsets */
};

static const struct alay alays[] = {
	{ PY_VER(3, 6), 16, -1, 24, 56, 88, 96, -1, 16, -1, -1, 64, 72, -1, -1, false, 1, 0, 0,
	  0, false },
	{ PY_VER(3, 7), 16, 24, 40, 72, 104, 112, -1, 16, -1, -1, 64, 72, -1, -1, false, 1, 0, 0,
	  0, false },
	{ PY_VER(3, 8), 16, 24, 40, 72, 104, 112, 120, 16, -1, -1, 64, 72, -1, -1, false, 1, 0, 0,
	  0, false },
	{ PY_VER(3, 9), 16, 24, 40, 80, 144, 152, 160, 16, -1, -1, 64, 72, -1, -1, false, 1, 0, 0,
	  0, false },
	{ PY_VER(3, 10), 16, 24, 40, 88, 152, 160, 168, 16, -1, -1, 64, -1, 80, -1, false, 1, 0, 0,
	  0, false },
	/* 3.11/3.12: FRAME_SUSPENDED (-1) also for a plain yield */
	{ PY_VER(3, 11), 16, 24, 40, 88, 128, 136, 144, -1, 80, 75, -1, -1, -1, 64, false, 1, -1,
	  -1, 0, false },
	{ PY_VER(3, 12), 16, 24, 40, 88, 128, 136, 144, -1, 72, 67, -1, -1, -1, 64, false, 1, -1,
	  -1, 0, false },
	/* 3.13+: FRAME_SUSPENDED_YIELD_FROM */
	{ PY_VER(3, 13), 16, 24, 40, 96, 112, 120, 128, -1, 72, 67, -1, -1, -1, 64, false, 1, -1,
	  -1, 0, false },
	/* 3.14+: the task fields from the debug offsets */
	{ PY_VER(3, 14), 16, 24, 40, -1, -1, -1, -1, -1, 72, 67, -1, -1, -1, 64, true, 1, -1, -1,
	  16, true },
	/* 3.15: states renumbered, the awaited object under a NULL slot,
	 * md_def gone from PyModuleObject */
	{ PY_VER(3, 15), 16, 24, 40, -1, -1, -1, -1, -1, 72, 67, -1, -1, -1, 64, true, 2, 2, 3,
	  8, true },
};
#define NALAYS (sizeof(alays) / sizeof(alays[0]))

/* Py_AsyncioModuleDebugOffsets (3.14, 3.15): 14 uint64 in this order. */
struct adebug {
	uint64_t task_size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set,
		 task_coro, task_node;
	uint64_t is_size, is_tasks_head;
	uint64_t ts_size, ts_running_loop, ts_running_task, ts_tasks_head;
};

enum kind {
	K_OTHER, K_CTASK, K_PYTASK, K_GATHER, K_CORO, K_AGEN_WRAP, K_CORO_WRAP, K_METHOD,
	K_TASKGROUP, K_INT, K_STR, K_NONE,
};

struct type_ent {
	uint64_t type;
	uint8_t kind;
};

/* The reader's state kept in struct py_tasks (priv). */
struct priv {
	const struct pyproc *p;
	uint64_t ctask, pytask;         /* the Task classes of the last read */
	struct type_ent *types;         /* open addressing, TYPE_CACHE_MAX * 2 slots */
	size_t ntypes;
};

/* One candidate task of a read. */
struct cand {
	uint64_t addr, type, loop, waiter, coro, name, cb0, cbs;
	int state;
	enum kind kind;
	int err;
};

/* One read. */
struct rd {
	struct pyproc *p;
	const struct pyctx *c;
	const struct py_layout *L;
	const struct alay *A;
	struct priv *pv;
	struct py_tasks *out;
	unsigned flags;
	int hend;                       /* end of the object header */
	int t_loop, t_cb0, t_cbs, t_state, t_waiter, t_coro, t_name, g_iframe, g_state;
	bool have_debug;
	struct adebug dbg;
	uint64_t *addrs;                /* candidate task addresses */
	size_t naddrs, addrs_cap;
	struct cand *cands;
	size_t ncands;
	struct { uint64_t loop, task, thread; } *running;
	size_t nrunning, running_cap;
	struct { uint64_t interp, tstate, thread; } *ts;
	size_t nts, ts_cap;
	bool truncated;
	bool any_asyncio;
};

/* ---- small helpers -------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void add_addr(struct rd *r, uint64_t a)
{
	if (!a || (a & 7))
		return;
	if (r->naddrs >= PYASYNC_MAX_TASKS) {
		r->truncated = true;
		return;
	}
	r->addrs = xgrow(r->addrs, &r->addrs_cap, r->naddrs + 1, sizeof(*r->addrs));
	r->addrs[r->naddrs++] = a;
}

static int rd_ptr(struct rd *r, uint64_t addr, uint64_t *v)
{
	*v = 0;
	return mem__read_ptr(r->c->mem, addr, v);
}

static uint64_t type_of(struct rd *r, uint64_t obj)
{
	uint64_t t = 0;
	if (!obj || rd_ptr(r, obj + (uint64_t)r->L->ob_type, &t) != 0)
		return 0;
	return t;
}

/* ---- types ---------------------------------------------------------------- */

static enum kind kind_by_name(const char *n)
{
	static const struct { const char *name; enum kind k; } names[] = {
		{ "coroutine", K_CORO }, { "generator", K_CORO }, { "async_generator", K_CORO },
		{ "async_generator_asend", K_AGEN_WRAP }, { "async_generator_athrow", K_AGEN_WRAP },
		{ "coroutine_wrapper", K_CORO_WRAP }, { "method", K_METHOD },
		{ "TaskGroup", K_TASKGROUP }, { "_GatheringFuture", K_GATHER }, { "int", K_INT },
		{ "str", K_STR }, { "NoneType", K_NONE },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(n, names[i].name) == 0)
			return names[i].k;
	return K_OTHER;
}

static enum kind classify(struct rd *r, uint64_t type)
{
	const struct py_layout *L = r->L;
	struct priv *pv = r->pv;
	if (!type)
		return K_OTHER;
	if (type == pv->ctask)
		return K_CTASK;
	if (type == pv->pytask)
		return K_PYTASK;
	size_t cap = 2 * TYPE_CACHE_MAX, i = (size_t)((type >> 4) * 0x9e3779b97f4a7c15ull >> 40) & (cap - 1);
	if (!pv->types)
		pv->types = xcalloc(cap, sizeof(*pv->types));
	for (; pv->types[i].type; i = (i + 1) & (cap - 1))
		if (pv->types[i].type == type)
			return (enum kind)pv->types[i].kind;
	char name[64];
	uint64_t np = 0;
	enum kind k = K_OTHER;
	bool known = false;
	if (rd_ptr(r, type + (uint64_t)L->tp_name, &np) == 0 &&
	    mem__read_cstr(r->c->mem, np, name, sizeof(name)) == 0) {
		k = kind_by_name(name);
		known = true;
	}
	/* A subclass of a Task class. */
	uint64_t t = type;
	for (int d = 0; known && k == K_OTHER && d < MAX_BASES; d++) {
		uint64_t base = 0;
		if (rd_ptr(r, t + (uint64_t)L->tp_name + TP_BASE_FROM_NAME, &base) != 0 || !base)
			break;
		if (base == pv->ctask)
			k = K_CTASK;
		else if (base == pv->pytask)
			k = K_PYTASK;
		t = base;
	}
	if (!known)
		return K_OTHER;         /* unreadable: not cached */
	if (pv->ntypes >= TYPE_CACHE_MAX) {
		memset(pv->types, 0, cap * sizeof(*pv->types));
		pv->ntypes = 0;
		i = (size_t)((type >> 4) * 0x9e3779b97f4a7c15ull >> 40) & (cap - 1);
	}
	pv->types[i].type = type;
	pv->types[i].kind = (uint8_t)k;
	pv->ntypes++;
	return k;
}

static enum kind kind_of(struct rd *r, uint64_t obj)
{
	return classify(r, type_of(r, obj));
}

/* ---- sets, WeakSets ------------------------------------------------------- */

/* Call fn(key) for each key of the remote set (the key may be a weakref:
 * deref, then the referent). */
static int set_each(struct rd *r, uint64_t set, bool weak)
{
	uint8_t hdr[32];
	uint64_t base = set + (uint64_t)r->hend;
	int err = mem__read(r->c->mem, base, hdr, sizeof(hdr));
	if (err)
		return err;
	uint64_t mask = bytes_u64(hdr + 16), table = bytes_u64(hdr + 24);
	int64_t used = (int64_t)bytes_u64(hdr + 8);
	if (used < 0 || mask >= MAX_SET_SLOTS || ((mask + 1) & mask) || !table)
		return -EFAULT;
	if (used == 0)
		return 0;
	size_t slots = (size_t)mask + 1;
	uint8_t *tab = xmalloc(slots * 16);
	err = mem__read(r->c->mem, table, tab, slots * 16);
	if (err) {
		free(tab);
		return err;
	}
	size_t first = r->naddrs;
	for (size_t i = 0; i < slots; i++) {
		uint64_t key = bytes_u64(tab + 16 * i);
		int64_t hash = (int64_t)bytes_u64(tab + 16 * i + 8);
		if (key && hash != -1)          /* -1: the dummy of a deleted key */
			add_addr(r, key);
	}
	free(tab);
	if (!weak)
		return 0;
	/* Dereference the weakrefs in batches: wr_object, right after the
	 * header; None when the task is gone. */
	size_t n = r->naddrs - first;
	struct mem_iov *iov = xmalloc(IOV_BATCH * sizeof(*iov));
	uint64_t *obj = xmalloc(IOV_BATCH * sizeof(*obj));
	size_t w = first;
	for (size_t k = 0; k < n; k += IOV_BATCH) {
		size_t m = n - k < IOV_BATCH ? n - k : IOV_BATCH;
		for (size_t j = 0; j < m; j++) {
			obj[j] = 0;
			iov[j] = (struct mem_iov){ r->addrs[first + k + j] + (uint64_t)r->hend, &obj[j], 8, 0 };
		}
		int rv = mem__readv(r->c->mem, iov, m);
		if (rv < 0) {
			err = rv;
			break;
		}
		for (size_t j = 0; j < m; j++)
			if (!iov[j].err && obj[j] && obj[j] != r->c->none_addr && !(obj[j] & 7))
				r->addrs[w++] = obj[j];
	}
	r->naddrs = w;
	free(iov);
	free(obj);
	return err;
}

/* A WeakSet's data set. */
static int weakset_each(struct rd *r, uint64_t ws)
{
	uint64_t data = 0;
	int err = pydict_getattr(r->c, ws, "data", &data);
	return err ? err : set_each(r, data, true);
}

/* ---- where the tasks are -------------------------------------------------- */

static void add_running(struct rd *r, uint64_t loop, uint64_t task, uint64_t thread)
{
	if (!task || (task & 7) || task == r->c->none_addr)
		return;
	for (size_t i = 0; i < r->nrunning; i++)
		if (r->running[i].task == task)
			return;
	r->running = xgrow(r->running, &r->running_cap, r->nrunning + 1, sizeof(*r->running));
	r->running[r->nrunning].loop = loop;
	r->running[r->nrunning].task = task;
	r->running[r->nrunning].thread = thread;
	r->nrunning++;
}

static int cur_cb(uint64_t key, uint64_t value, void *arg)
{
	add_running(arg, key, value, 0);
	return 0;
}

static int ts_cb(uint64_t interp, uint64_t tstate, uint64_t thread, void *arg)
{
	struct rd *r = arg;
	if (r->nts >= MAX_TSTATES)
		return 0;
	r->ts = xgrow(r->ts, &r->ts_cap, r->nts + 1, sizeof(*r->ts));
	r->ts[r->nts].interp = interp;
	r->ts[r->nts].tstate = tstate;
	r->ts[r->nts].thread = thread;
	r->nts++;
	return 0;
}

/* Walk an llist of native tasks (3.14+) from the head node at head. */
static int llist_each(struct rd *r, uint64_t head)
{
	uint64_t node = 0;
	int err = rd_ptr(r, head, &node);
	for (size_t n = 0; !err && node && node != head; n++) {
		if (n >= PYASYNC_MAX_TASKS) {
			r->truncated = true;
			break;
		}
		add_addr(r, node - r->dbg.task_node);
		err = rd_ptr(r, node, &node);
	}
	return err;
}

static bool debug_sane(const struct adebug *d)
{
	return d->task_size >= 64 && d->task_size <= 4096 && d->task_name < d->task_size &&
	       d->task_awaited_by < d->task_size && d->task_is_task < d->task_size &&
	       d->task_coro < d->task_size && d->task_node < d->task_size && d->task_coro >= 24 &&
	       d->task_is_task >= 24 && d->is_size > 0 && d->is_size < (16u << 20) &&
	       d->is_tasks_head < d->is_size && d->ts_size > 0 && d->ts_size < (1u << 20) &&
	       d->ts_running_loop < d->ts_size && d->ts_running_task < d->ts_size;
}

/* 3.14+: the C module's state: debug offsets, Task class, the WeakSet and
 * set of tasks of other classes. */
static int read_c_module(struct rd *r, uint64_t modules, char *why, size_t whylen)
{
	uint64_t mod = 0, state = 0, dbgp = 0;
	uint64_t raw[14];
	if (pydict_get_str(r->c, modules, "_asyncio", &mod) != 0 || kind_of(r, mod) == K_NONE)
		return 0;               /* pure-Python asyncio */
	char tn[16];
	if (pyobj_type_name(r->c, mod, tn, sizeof(tn)) != 0 || strcmp(tn, "module") != 0)
		return 0;
	int err = r->L->md_dict < 0 ? -EINVAL
				    : rd_ptr(r, mod + (uint64_t)r->L->md_dict + (uint64_t)r->A->md_state, &state);
	if (!err)
		err = state ? rd_ptr(r, state + 19 * 8, &dbgp) : -EFAULT;
	if (!err)
		err = dbgp ? mem__read(r->c->mem, dbgp, raw, sizeof(raw)) : -EFAULT;
	if (err) {
		snprintf(why, whylen, "the _asyncio module's state could not be read (%s)",
			 strerror(-err));
		return -ENOTSUP;
	}
	memcpy(&r->dbg, raw, sizeof(raw));
	if (!debug_sane(&r->dbg)) {
		snprintf(why, whylen, "the _asyncio module's debug offsets are not what cspy reads");
		return -ENOTSUP;
	}
	r->have_debug = true;
	r->t_coro = (int)r->dbg.task_coro;
	r->t_waiter = r->t_coro - 8;
	r->t_name = (int)r->dbg.task_name;
	r->t_state = (int)r->dbg.task_is_task - 4;
	uint64_t ctask = 0, other = 0;
	if (rd_ptr(r, state + 3 * 8, &ctask) == 0 && ctask)
		r->pv->ctask = ctask;
	if (rd_ptr(r, state + 6 * 8, &other) == 0 && other)
		weakset_each(r, other);
	if (rd_ptr(r, state + 7 * 8, &other) == 0 && other)
		set_each(r, other, false);
	return 0;
}

/* The tasks and running tasks of one interpreter. */
static int read_interp(struct rd *r, uint64_t interp, char *why, size_t whylen)
{
	const struct py_layout *L = r->L;
	uint64_t modules = 0, mod = 0, md = 0, v = 0;
	int err = rd_ptr(r, interp + (uint64_t)L->is_modules, &modules);
	if (err || !modules)
		return err;
	if (pydict_get_str(r->c, modules, "asyncio.tasks", &mod) != 0 || kind_of(r, mod) == K_NONE)
		return 0;               /* asyncio not imported here */
	if (L->md_dict < 0 || rd_ptr(r, mod + (uint64_t)L->md_dict, &md) != 0 || !md)
		return 0;
	r->any_asyncio = true;
	if (pydict_get_str(r->c, md, "_CTask", &v) == 0 && v != r->c->none_addr)
		r->pv->ctask = v;
	if (pydict_get_str(r->c, md, "_PyTask", &v) == 0 && v != r->c->none_addr)
		r->pv->pytask = v;
	if (r->A->debug && (err = read_c_module(r, modules, why, whylen)) != 0)
		return err;
	if (r->have_debug) {
		if (r->dbg.is_tasks_head)
			llist_each(r, interp + r->dbg.is_tasks_head);
		for (size_t i = 0; i < r->nts; i++) {
			uint64_t ts = r->ts[i].tstate, task = 0, loop = 0;
			if (r->ts[i].interp != interp || !ts)
				continue;
			if (r->dbg.ts_tasks_head)
				llist_each(r, ts + r->dbg.ts_tasks_head);
			if (rd_ptr(r, ts + r->dbg.ts_running_task, &task) == 0 && task &&
			    rd_ptr(r, ts + r->dbg.ts_running_loop, &loop) == 0)
				add_running(r, loop, task, r->ts[i].thread);
		}
	}
	/* The Python-level sets: the C module's own before 3.14, pure-Python
	 * asyncio's always (empty when the C module runs them, 3.14+). */
	static const char *const weaksets[] = { "_all_tasks", "_scheduled_tasks" };
	for (size_t i = 0; i < 2; i++)
		if (pydict_get_str(r->c, md, weaksets[i], &v) == 0)
			weakset_each(r, v);
	if (pydict_get_str(r->c, md, "_eager_tasks", &v) == 0)
		set_each(r, v, false);
	if (pydict_get_str(r->c, md, "_current_tasks", &v) == 0)
		pydict_foreach(r->c, v, cur_cb, r);
	return 0;
}

/* ---- the tasks' fields ---------------------------------------------------- */

static int pytask_state(struct rd *r, uint64_t obj)
{
	char s[16];
	uint64_t v = 0;
	if (pydict_getattr(r->c, obj, "_state", &v) != 0 || pystr_read(r->c, v, s, sizeof(s), NULL) != 0)
		return -1;
	return strcmp(s, "PENDING") == 0 ? 0 : strcmp(s, "CANCELLED") == 0 ? 1 :
	       strcmp(s, "FINISHED") == 0 ? 2 : -1;
}

static void read_cands(struct rd *r)
{
	size_t n = r->naddrs;
	r->cands = xcalloc(n ? n : 1, sizeof(*r->cands));
	r->ncands = n;
	uint8_t *heads = xmalloc(IOV_BATCH * HEAD_READ);
	struct mem_iov *iov = xmalloc(IOV_BATCH * sizeof(*iov));
	int need = r->t_name > r->t_coro ? r->t_name : r->t_coro;
	if (r->t_cbs > need)
		need = r->t_cbs;
	if (r->t_state > need)
		need = r->t_state;
	need += 8;
	if (need > HEAD_READ)
		need = HEAD_READ;
	for (size_t k = 0; k < n; k += IOV_BATCH) {
		size_t m = n - k < IOV_BATCH ? n - k : IOV_BATCH;
		for (size_t j = 0; j < m; j++)
			iov[j] = (struct mem_iov){ r->addrs[k + j], heads + j * HEAD_READ, (size_t)need, 0 };
		int rv = mem__readv(r->c->mem, iov, m);
		for (size_t j = 0; j < m; j++) {
			struct cand *cd = &r->cands[k + j];
			const uint8_t *h = heads + j * HEAD_READ;
			cd->addr = r->addrs[k + j];
			if (rv < 0 || iov[j].err) {
				cd->err = rv < 0 ? rv : iov[j].err;
				/* Maybe a pure-Python task whose head is short: read its type. */
				cd->type = type_of(r, cd->addr);
				cd->kind = classify(r, cd->type);
				if (cd->kind == K_PYTASK)
					cd->err = 0;
				continue;
			}
			cd->type = bytes_u64(h + r->L->ob_type);
			cd->kind = classify(r, cd->type);
			if (cd->kind == K_CTASK) {
				cd->loop = bytes_u64(h + r->t_loop);
				cd->waiter = bytes_u64(h + r->t_waiter);
				cd->coro = bytes_u64(h + r->t_coro);
				cd->name = r->t_name >= 0 ? bytes_u64(h + r->t_name) : 0;
				cd->cb0 = r->t_cb0 >= 0 ? bytes_u64(h + r->t_cb0) : 0;
				cd->cbs = r->t_cbs >= 0 ? bytes_u64(h + r->t_cbs) : 0;
				cd->state = (int)bytes_i32(h + r->t_state);
			}
		}
	}
	free(heads);
	free(iov);
	for (size_t i = 0; i < n; i++) {
		struct cand *cd = &r->cands[i];
		if (cd->kind != K_PYTASK || cd->err)
			continue;
		pydict_getattr(r->c, cd->addr, "_loop", &cd->loop);
		pydict_getattr(r->c, cd->addr, "_fut_waiter", &cd->waiter);
		pydict_getattr(r->c, cd->addr, "_coro", &cd->coro);
		pydict_getattr(r->c, cd->addr, "_name", &cd->name);
		pydict_getattr(r->c, cd->addr, "_callbacks", &cd->cbs);
		cd->state = pytask_state(r, cd->addr);
		if (cd->state < 0)
			cd->err = -EFAULT;
	}
	for (size_t i = 0; i < n; i++) {
		struct cand *cd = &r->cands[i];
		if (cd->waiter == r->c->none_addr)
			cd->waiter = 0;
		if (cd->cbs == r->c->none_addr)
			cd->cbs = 0;
		if (cd->kind == K_CTASK && (cd->state < 0 || cd->state > 2))
			cd->err = -EFAULT;
	}
}

static void task_name(struct rd *r, const struct cand *cd, struct py_task *t)
{
	t->name[0] = '\0';
	if (!cd->name || cd->name == r->c->none_addr)
		return;
	/* 3.13+: an int n until get_name() makes it "Task-n". */
	int64_t v;
	if (pystr_read(r->c, cd->name, t->name, sizeof(t->name), NULL) == 0)
		return;
	if (pyobj_as_int64(r->c, cd->name, &v) == 0)
		snprintf(t->name, sizeof(t->name), "Task-%lld", (long long)v);
}

/* ---- awaited_by ----------------------------------------------------------- */

static struct cand *cand_find(struct rd *r, uint64_t addr)
{
	size_t lo = 0, hi = r->ncands;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->cands[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->ncands && r->cands[lo].addr == addr ? &r->cands[lo] : NULL;
}

/* An edge: waiter (a task) awaits the task at index ti. */
struct edge {
	uint64_t awaited, awaiter;
};

struct edges {
	struct edge *e;
	size_t n, cap;
};

static void edge_add(struct edges *es, uint64_t awaited, uint64_t awaiter)
{
	if (es->n >= 16 * (size_t)PYASYNC_MAX_TASKS)
		return;
	es->e = xgrow(es->e, &es->cap, es->n + 1, sizeof(*es->e));
	es->e[es->n++] = (struct edge){ awaited, awaiter };
}

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	if (x->awaited != y->awaited)
		return x->awaited < y->awaited ? -1 : 1;
	return x->awaiter < y->awaiter ? -1 : x->awaiter > y->awaiter;
}

/* The items of a list (bounded). */
static int list_items(struct rd *r, uint64_t list, uint64_t **items, size_t *n)
{
	const struct py_layout *L = r->L;
	uint64_t size = 0, arr = 0;
	*items = NULL;
	*n = 0;
	int err = rd_ptr(r, list + (uint64_t)L->list_size, &size);
	if (!err)
		err = rd_ptr(r, list + (uint64_t)L->list_item, &arr);
	if (err)
		return err;
	if ((int64_t)size < 0 || size > MAX_CHILDREN)
		return -EFAULT;
	if (!size)
		return 0;
	*items = xmalloc(size * 8);
	err = mem__read(r->c->mem, arr, *items, size * 8);
	if (err) {
		free(*items);
		*items = NULL;
		return err;
	}
	*n = size;
	return 0;
}

/* A callback of a task that belongs to a TaskGroup: tg._on_task_done (a
 * bound method of the TaskGroup) -> tg._parent_task. */
static uint64_t taskgroup_parent(struct rd *r, uint64_t cb)
{
	uint64_t self = 0, parent = 0;
	if (!cb || kind_of(r, cb) != K_METHOD)
		return 0;
	/* PyMethodObject: im_func, im_self after the header. */
	if (rd_ptr(r, cb + (uint64_t)r->hend + 8, &self) != 0 || kind_of(r, self) != K_TASKGROUP)
		return 0;
	if (pydict_getattr(r->c, self, "_parent_task", &parent) != 0)
		return 0;
	return parent;
}

static void callbacks_edges(struct rd *r, const struct cand *cd, struct edges *es)
{
	uint64_t p = taskgroup_parent(r, cd->cb0);
	if (p)
		edge_add(es, cd->addr, p);
	if (!cd->cbs)
		return;
	uint64_t *items;
	size_t n;
	if (list_items(r, cd->cbs, &items, &n) != 0)
		return;
	for (size_t i = 0; i < n && i < MAX_CALLBACKS; i++) {
		/* 3.7+: (callback, context) tuples; 3.6: the callbacks. */
		uint64_t cb = items[i], fn = 0;
		char tn[16];
		if (pyobj_type_name(r->c, cb, tn, sizeof(tn)) == 0 && strcmp(tn, "tuple") == 0) {
			if (rd_ptr(r, cb + (uint64_t)r->L->tuple_item, &fn) != 0)
				continue;
			cb = fn;
		}
		if ((p = taskgroup_parent(r, cb)) != 0)
			edge_add(es, cd->addr, p);
	}
	free(items);
}

/* Every edge of the read: waiters that are tasks, gathering futures'
 * children, TaskGroups. */
static void find_edges(struct rd *r, struct edges *es)
{
	for (size_t i = 0; i < r->ncands; i++) {
		struct cand *cd = &r->cands[i];
		if (cd->err || (cd->kind != K_CTASK && cd->kind != K_PYTASK))
			continue;
		if (cd->waiter) {
			struct cand *w = cand_find(r, cd->waiter);
			if (w && (w->kind == K_CTASK || w->kind == K_PYTASK)) {
				edge_add(es, w->addr, cd->addr);
			} else if (kind_of(r, cd->waiter) == K_GATHER) {
				uint64_t ch = 0, *items;
				size_t n;
				if (pydict_getattr(r->c, cd->waiter, "_children", &ch) == 0 &&
				    list_items(r, ch, &items, &n) == 0) {
					for (size_t k = 0; k < n; k++)
						edge_add(es, items[k], cd->addr);
					free(items);
				}
			}
		}
		if (r->A->minor >= PY_VER(3, 11))
			callbacks_edges(r, cd, es);
	}
	if (es->n)
		qsort(es->e, es->n, sizeof(*es->e), cmp_edge);
}

/* ---- coroutine chains ----------------------------------------------------- */

static int push_frame(struct rd *r, struct py_task *t, uint64_t frame)
{
	struct py_frame f;
	int err = pyproc__read_frame(r->p, frame, &f);
	if (err)
		return err;
	t->frames = xgrow(t->frames, &t->cap, t->nframes + 1, sizeof(*t->frames));
	t->frames[t->nframes++] = f;
	return 0;
}

/* One coroutine: push its frame; *next: what it awaits (0: the end). */
static int coro_step(struct rd *r, struct py_task *t, uint64_t gen, uint64_t *next)
{
	const struct alay *A = r->A;
	uint8_t g[GEN_READ];
	*next = 0;
	if (r->L->family == PY_FAMILY_FRAMEOBJ) {
		uint64_t f = 0;
		int err = rd_ptr(r, gen + (uint64_t)A->g_frame + (uint64_t)(r->hend - 16), &f);
		if (err || !f)
			return err;     /* finished: no frame */
		if ((err = push_frame(r, t, f)) != 0)
			return err;
		uint64_t top = 0;
		if (A->fo_stacktop >= 0) {
			if ((err = rd_ptr(r, f + (uint64_t)A->fo_stacktop, &top)) != 0 || !top)
				return err;     /* running, or not started */
		} else {
			int32_t depth = 0;
			uint64_t vs = 0;
			if ((err = mem__read_i32(r->c->mem, f + (uint64_t)A->fo_stackdepth, &depth)) != 0 ||
			    (err = rd_ptr(r, f + (uint64_t)A->fo_valuestack, &vs)) != 0)
				return err;
			if (depth <= 0 || depth > 4096 || !vs)
				return 0;
			top = vs + 8 * (uint64_t)depth;
		}
		return rd_ptr(r, top - 8 * (uint64_t)A->yf_peek, next);
	}
	size_t need = (size_t)r->g_iframe + (size_t)A->if_stack + 8;
	if (need > sizeof(g))
		return -EINVAL;
	int err = mem__read(r->c->mem, gen, g, need);
	if (err)
		return err;
	int8_t st = (int8_t)g[r->g_state];
	uint64_t fr = gen + (uint64_t)r->g_iframe;
	bool finished = A->minor >= PY_VER(3, 15) ? st >= 5 : st >= 1;
	if (finished)
		return 0;
	if ((err = push_frame(r, t, fr)) != 0)
		return err;
	if (st < A->st_yf_lo || st > A->st_yf_hi)
		return 0;
	uint64_t top;
	if (A->if_stack_ptr) {
		top = bytes_u64(g + r->g_iframe + A->if_stack);
		if (top <= fr + (uint64_t)r->L->if_localsplus || top - fr > (1u << 20))
			return 0;
	} else {
		int32_t idx = bytes_i32(g + r->g_iframe + A->if_stack);
		if (idx <= 0 || idx > (1 << 16))
			return 0;
		top = fr + (uint64_t)r->L->if_localsplus + 8 * (uint64_t)idx;
	}
	if ((err = rd_ptr(r, top - 8 * (uint64_t)A->yf_peek, next)) != 0)
		return err;
	*next &= r->L->stackref_mask;
	return 0;
}

static int read_chain(struct rd *r, struct py_task *t, uint64_t coro)
{
	t->nframes = 0;
	uint64_t obj = coro;
	for (size_t steps = 0; obj && obj != r->c->none_addr; steps++) {
		if (steps >= 4 * PYASYNC_MAX_CHAIN || t->nframes >= PYASYNC_MAX_CHAIN) {
			t->chain_truncated = true;
			break;
		}
		enum kind k = kind_of(r, obj);
		uint64_t next = 0;
		if (k == K_CORO) {
			int err = coro_step(r, t, obj, &next);
			if (err)
				return err;
		} else if (k == K_AGEN_WRAP || k == K_CORO_WRAP) {
			/* ags_gen / agt_gen / cw_coroutine: right after the header */
			if (rd_ptr(r, obj + (uint64_t)r->hend, &next) != 0)
				return -EFAULT;
		} else {
			break;          /* a Future, a Task, ...: the end */
		}
		if (next == obj)
			break;
		obj = next;
	}
	/* Outermost first so far: innermost first, as thread stacks. */
	for (size_t i = 0; i < t->nframes / 2; i++) {
		struct py_frame f = t->frames[i];
		t->frames[i] = t->frames[t->nframes - 1 - i];
		t->frames[t->nframes - 1 - i] = f;
	}
	return 0;
}

/* ---- the read ------------------------------------------------------------- */

static const struct alay *alay_for(unsigned version)
{
	const struct alay *best = NULL;
	for (size_t i = 0; i < NALAYS; i++)
		if (alays[i].minor <= PY_MINOR_OF(version))
			best = &alays[i];
	return best;
}

static struct py_task *task_slot(struct py_tasks *out)
{
	size_t old = out->cap;
	out->tasks = xgrow(out->tasks, &out->cap, out->n + 1, sizeof(*out->tasks));
	if (out->cap > old)
		memset(out->tasks + old, 0, (out->cap - old) * sizeof(*out->tasks));
	struct py_task *t = &out->tasks[out->n++];
	struct py_frame *fr = t->frames;
	uint64_t *ab = t->awaited_by;
	size_t cap = t->cap, acap = t->awaited_cap;
	memset(t, 0, sizeof(*t));
	t->frames = fr;
	t->cap = cap;
	t->awaited_by = ab;
	t->awaited_cap = acap;
	return t;
}

static uint64_t loop_thread(struct rd *r, uint64_t loop)
{
	uint64_t v = 0;
	int64_t id = 0;
	if (!loop || pydict_getattr(r->c, loop, "_thread_id", &v) != 0 ||
	    pyobj_as_int64(r->c, v, &id) != 0)
		return 0;
	return (uint64_t)id;
}

static int cmp_task(const void *a, const void *b)
{
	const struct py_task *x = a, *y = b;
	if (x->loop != y->loop)
		return x->loop < y->loop ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void rd_free(struct rd *r)
{
	free(r->addrs);
	free(r->cands);
	free(r->running);
	free(r->ts);
}

int pyasync__read(struct pyproc *p, struct py_tasks *out, unsigned flags, char *why,
		  size_t whylen)
{
	const struct pyproc_info *info = pyproc__info(p);
	char dummy[8];
	if (!why || !whylen) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	why[0] = '\0';
	for (size_t i = 0; i < out->n; i++) {
		out->tasks[i].nframes = 0;
		out->tasks[i].nawaited_by = 0;
	}
	out->n = 0;
	out->truncated = false;
	if ((info->version >> 24) < 3) {
		snprintf(why, whylen, "asyncio needs Python 3 (this is Python %s)", info->version_str);
		return -ENOTSUP;
	}
	const struct alay *A = alay_for(info->version);
	if (!A) {
		snprintf(why, whylen, "cspy reads asyncio from Python 3.6 on (this is %s)",
			 info->version_str);
		return -ENOTSUP;
	}
	if (!out->priv)
		out->priv = xcalloc(1, sizeof(struct priv));
	struct priv *pv = out->priv;
	if (pv->p != p) {
		free(pv->types);
		memset(pv, 0, sizeof(*pv));
		pv->p = p;
	}
	struct rd r = { 0 };
	r.p = p;
	r.c = pyproc__ctx(p);
	r.L = r.c->L;
	r.A = A;
	r.pv = pv;
	r.out = out;
	r.flags = flags;
	r.hend = r.L->ob_type + 8;
	int shift = r.hend - 16;
	r.t_loop = A->t_loop + shift;
	r.t_cb0 = A->t_cb0 < 0 ? -1 : A->t_cb0 + shift;
	r.t_cbs = A->t_cbs < 0 ? -1 : A->t_cbs + shift;
	r.t_state = A->t_state + shift;
	r.t_waiter = A->t_waiter + shift;
	r.t_coro = A->t_coro + shift;
	r.t_name = A->t_name < 0 ? -1 : A->t_name + shift;
	r.g_iframe = A->g_iframe + shift;
	r.g_state = A->g_state + shift;

	int err = pyproc__each_tstate(p, ts_cb, &r);
	if (err) {
		snprintf(why, whylen, "the interpreter's thread states could not be read (%s)",
			 strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < r.nts && !err; i++)
		if (!r.ts[i].tstate)
			err = read_interp(&r, r.ts[i].interp, why, whylen);
	if (err)
		goto out;
	if (!r.any_asyncio) {
		snprintf(why, whylen, "asyncio is not imported in the target");
		err = -ENOENT;
		goto out;
	}
	if (A->debug && !r.have_debug && pv->ctask && !pv->pytask) {
		snprintf(why, whylen, "the _asyncio module's state was not found");
		err = -ENOTSUP;
		goto out;
	}
	/* The running tasks are tasks too (a task may run before it is in a
	 * set: an eager one). */
	for (size_t i = 0; i < r.nrunning; i++)
		add_addr(&r, r.running[i].task);
	if (r.naddrs)
		qsort(r.addrs, r.naddrs, sizeof(*r.addrs), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < r.naddrs; i++)
		if (!u || r.addrs[u - 1] != r.addrs[i])
			r.addrs[u++] = r.addrs[i];
	r.naddrs = u;
	read_cands(&r);

	struct edges es = { 0 };
	find_edges(&r, &es);

	/* PYASYNC_RUNNING: the running tasks and, transitively, their awaiters. */
	bool *keep = NULL;
	if (flags & PYASYNC_RUNNING) {
		keep = xcalloc(r.ncands ? r.ncands : 1, sizeof(*keep));
		size_t *stack = xmalloc((r.ncands ? r.ncands : 1) * sizeof(*stack)), ns = 0;
		for (size_t i = 0; i < r.nrunning; i++) {
			struct cand *cd = cand_find(&r, r.running[i].task);
			if (cd && !keep[cd - r.cands]) {
				keep[cd - r.cands] = true;
				stack[ns++] = (size_t)(cd - r.cands);
			}
		}
		while (ns) {
			uint64_t a = r.cands[stack[--ns]].addr;
			struct edge key = { a, 0 };
			size_t lo = 0, hi = es.n;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (cmp_edge(&es.e[mid], &key) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < es.n && es.e[lo].awaited == a; lo++) {
				struct cand *w = cand_find(&r, es.e[lo].awaiter);
				if (w && !keep[w - r.cands]) {
					keep[w - r.cands] = true;
					stack[ns++] = (size_t)(w - r.cands);
				}
			}
		}
		free(stack);
	}

	size_t ei = 0;
	for (size_t i = 0; i < r.ncands; i++) {
		struct cand *cd = &r.cands[i];
		while (ei < es.n && es.e[ei].awaited < cd->addr)
			ei++;
		if (cd->kind != K_CTASK && cd->kind != K_PYTASK && !cd->err)
			continue;       /* not a task (a stale set entry) */
		if (keep && !keep[i])
			continue;
		struct py_task *t = task_slot(out);
		t->addr = cd->addr;
		t->err = cd->err;
		if (cd->err)
			continue;
		t->loop = cd->loop;
		t->state = cd->state == 1 ? PY_TASK_CANCELLED : cd->state == 2 ? PY_TASK_DONE
									   : PY_TASK_PENDING;
		for (size_t k = 0; k < r.nrunning; k++)
			if (r.running[k].task == cd->addr && t->state == PY_TASK_PENDING) {
				t->state = PY_TASK_RUNNING;
				t->thread_id = r.running[k].thread;
			}
		t->loop_thread_id = loop_thread(&r, cd->loop);
		if (t->state == PY_TASK_RUNNING && !t->thread_id)
			t->thread_id = t->loop_thread_id;
		task_name(&r, cd, t);
		for (size_t k = ei; k < es.n && es.e[k].awaited == cd->addr; k++) {
			if (k > ei && es.e[k].awaiter == es.e[k - 1].awaiter)
				continue;
			if (t->nawaited_by >= PYASYNC_MAX_AWAITERS)
				break;
			t->awaited_by = xgrow(t->awaited_by, &t->awaited_cap, t->nawaited_by + 1,
					      sizeof(*t->awaited_by));
			t->awaited_by[t->nawaited_by++] = es.e[k].awaiter;
		}
		if (!(flags & PYASYNC_NO_FRAMES) && cd->coro && t->state != PY_TASK_DONE &&
		    t->state != PY_TASK_CANCELLED) {
			int ferr = read_chain(&r, t, cd->coro);
			if (ferr == -ESRCH) {
				err = ferr;
				free(keep);
				free(es.e);
				goto out;
			}
			if (ferr)
				t->err = ferr;
		}
	}
	free(keep);
	free(es.e);
	if (out->n)
		qsort(out->tasks, out->n, sizeof(*out->tasks), cmp_task);
	out->truncated = r.truncated;
	err = 0;
out:
	rd_free(&r);
	return err;
}

void py_tasks__release(struct py_tasks *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		free(t->tasks[i].frames);
		free(t->tasks[i].awaited_by);
	}
	free(t->tasks);
	if (t->priv) {
		free(((struct priv *)t->priv)->types);
		free(t->priv);
	}
	memset(t, 0, sizeof(*t));
}

const char *py_task_state_name(enum py_task_state s)
{
	switch (s) {
	case PY_TASK_PENDING: return "pending";
	case PY_TASK_RUNNING: return "running";
	case PY_TASK_DONE: return "done";
	case PY_TASK_CANCELLED: return "cancelled";
	}
	return "?";
}
