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
#include "util/clock.h"
#include "util/xalloc.h"

#define MAX_SET_SLOTS (1u << 22)        /* slots of one set table read (64 MiB) */
#define MAX_EDGES (4u << 20)            /* awaited_by edges of one read */
#define RUNNING_MAX 4096                /* PYASYNC_RUNNING: tasks followed up */
#define UP_BUDGET 65536                 /* PYASYNC_RUNNING: callbacks looked at, per read */
#define MAX_CHILDREN 100000             /* a gathering future's _children */
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

/* Where a done callback keeps what PYASYNC_RUNNING follows, after the
 * object header: a function's func_closure (3.6-3.9, 3.10+), a task's
 * wakeup: TaskWakeupMethWrapper's ww_task (3.7-3.9), the bound builtin
 * method's m_self (3.10+), a bound method's im_self. */
#define FUNC_CLOSURE_OLD 32
#define FUNC_CLOSURE_NEW 56
#define WW_TASK 0
#define M_SELF 8
#define IM_SELF 8

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
	K_TASKGROUP, K_INT, K_STR, K_NONE, K_WAKEUP_WRAPPER, K_BUILTIN_METHOD, K_FUNCTION,
	K_TUPLE, K_PARTIAL,
};

struct type_ent {
	uint64_t type;
	uint8_t kind;
};

#define MAX_WHERE 8                     /* interpreters whose asyncio is located */
#define MAX_SETS 4
#define WHERE_TTL_NS 1000000000ull      /* a located asyncio is looked up again after 1 s */
#define LOOP_CACHE 64                   /* loops whose thread is remembered (as long) */

/* Where one interpreter's asyncio keeps its tasks: the module lookups
 * (sys.modules is scanned by name), cached across reads. */
struct where {
	uint64_t interp, modules;       /* the key: the interpreter and its modules dict */
	uint64_t stamp_ns;
	bool asyncio;                   /* asyncio.tasks imported */
	bool importing;                 /* ... and still being imported: not kept */
	bool c_mode;                    /* its Futures are the C _asyncio's */
	int err;                        /* its asyncio cannot be read: why */
	char why[200];
	uint64_t ctask, pytask;         /* _CTask, _PyTask */
	uint64_t sets[MAX_SETS];        /* the sets of tasks (a WeakSet's data set) */
	bool weak[MAX_SETS];
	size_t nsets;
	uint64_t current;               /* _current_tasks (dict), 0: none */
	bool have_debug;                /* 3.14+ C: task lists of the thread states */
	struct adebug dbg;
};

/* The reader's state kept in struct py_tasks (priv). */
struct priv {
	const struct pyproc *p;
	uint64_t ctask, pytask;         /* the Task classes (of the main interpreter) */
	struct where where[MAX_WHERE];
	size_t nwhere;
	struct { uint64_t loop, thread, stamp_ns; } loops[LOOP_CACHE];  /* loop -> _thread_id */
	size_t nloops;
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
	bool c_mode;                    /* Futures of the C _asyncio */
	size_t up_budget;               /* PYASYNC_RUNNING: callbacks left to look at */
	size_t child_budget;            /* gathering futures' children left to look at */
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
		{ "TaskWakeupMethWrapper", K_WAKEUP_WRAPPER },
		{ "builtin_function_or_method", K_BUILTIN_METHOD }, { "function", K_FUNCTION },
		{ "tuple", K_TUPLE }, { "functools.partial", K_PARTIAL },
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
	if (used < 0 || mask >= MAX_SET_SLOTS || ((mask + 1) & mask) || !table ||
	    (uint64_t)used > mask + 1)
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
	/* Before 3.14 only the interpreters are needed (their modules). */
	return !tstate && !r->A->debug ? PYPROC_EACH_SKIP : 0;
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

static void where_set(struct where *w, uint64_t set, bool weak)
{
	if (set && w->nsets < MAX_SETS) {
		w->sets[w->nsets] = set;
		w->weak[w->nsets++] = weak;
	}
}

/* A WeakSet's data set, 0 if none. */
static uint64_t weak_data(struct rd *r, uint64_t ws)
{
	uint64_t data = 0;
	return ws && pydict_getattr(r->c, ws, "data", &data) == 0 ? data : 0;
}

/* 3.14+: the C module's state: debug offsets, the WeakSet and set of tasks
 * of other classes. 0 (also for pure-Python asyncio), or -ENOTSUP with
 * w->why. */
static int locate_c_module(struct rd *r, struct where *w)
{
	uint64_t mod = 0, state = 0, dbgp = 0, v = 0;
	uint64_t raw[13];
	if (pydict_get_str(r->c, w->modules, "_asyncio", &mod) != 0 || kind_of(r, mod) == K_NONE)
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
		snprintf(w->why, sizeof(w->why), "the _asyncio module's state could not be read (%s)",
			 strerror(-err));
		return -ENOTSUP;
	}
	memcpy(&w->dbg, raw, sizeof(raw));
	if (!debug_sane(&w->dbg)) {
		snprintf(w->why, sizeof(w->why),
			 "the _asyncio module's debug offsets are not what cspy reads");
		return -ENOTSUP;
	}
	w->have_debug = true;
	if (rd_ptr(r, state + 3 * 8, &v) == 0 && v)
		w->ctask = v;
	if (rd_ptr(r, state + 6 * 8, &v) == 0 && v)
		where_set(w, weak_data(r, v), true);
	if (rd_ptr(r, state + 7 * 8, &v) == 0 && v)
		where_set(w, v, false);
	return 0;
}

/* 3.6: the task set and current tasks are class attributes of the
 * pure-Python Task (Task._all_tasks, Task._current_tasks); the C Task keeps
 * them in statics of the _asyncio module, out of reach. */
static int locate_36(struct rd *r, struct where *w, uint64_t md)
{
	uint64_t task = 0, tdict = 0, v = 0;
	if (pydict_get_str(r->c, md, "Task", &task) != 0)
		return 0;
	if (task == w->ctask) {
		snprintf(w->why, sizeof(w->why),
			 "on Python 3.6 the C _asyncio module keeps its tasks in variables of its "
			 "own that cspy cannot find (3.7+ can be read, and 3.6 with the pure-Python "
			 "asyncio)");
		return -ENOTSUP;
	}
	if (rd_ptr(r, task + (uint64_t)r->L->tp_name + TP_BASE_FROM_NAME + 8, &tdict) != 0 || !tdict)
		return 0;
	if (pydict_get_str(r->c, tdict, "_all_tasks", &v) == 0)
		where_set(w, weak_data(r, v), true);
	if (pydict_get_str(r->c, tdict, "_current_tasks", &v) == 0)
		w->current = v;
	return 0;
}

/* Fill *w for the interpreter (its modules dict: w->modules). */
static int locate(struct rd *r, struct where *w)
{
	const struct py_layout *L = r->L;
	uint64_t mod = 0, md = 0, v = 0, task = 0;
	if (pydict_get_str(r->c, w->modules, "asyncio.tasks", &mod) != 0 || kind_of(r, mod) == K_NONE)
		return 0;               /* asyncio not imported here */
	if (L->md_dict < 0 || rd_ptr(r, mod + (uint64_t)L->md_dict, &md) != 0 || !md)
		return 0;
	w->asyncio = true;
	/* asyncio.tasks is in sys.modules while its body still runs (the C
	 * module's _current_tasks then replaces the Python one): read what is
	 * there, but keep the location only once the import is done
	 * (__spec__._initializing false). */
	uint64_t spec = 0, init = 0;
	w->importing = !(pydict_get_str(r->c, md, "__spec__", &spec) == 0 &&
			 pydict_getattr(r->c, spec, "_initializing", &init) == 0 &&
			 init == r->c->false_addr && init);
	if (pydict_get_str(r->c, md, "_CTask", &v) == 0 && v != r->c->none_addr)
		w->ctask = v;
	if (pydict_get_str(r->c, md, "_PyTask", &v) == 0 && v != r->c->none_addr)
		w->pytask = v;
	w->c_mode = w->ctask && pydict_get_str(r->c, md, "Task", &task) == 0 && task == w->ctask;
	if (r->A->minor < PY_VER(3, 7))
		return locate_36(r, w, md);
	int err = r->A->debug ? locate_c_module(r, w) : 0;
	if (err)
		return err;
	if (r->A->debug && !w->have_debug && w->c_mode) {
		snprintf(w->why, sizeof(w->why), "the _asyncio module's state was not found");
		return -ENOTSUP;
	}
	/* The Python-level sets: the C module's own before 3.14, pure-Python
	 * asyncio's always (empty when the C module runs them, 3.14+). */
	static const char *const weaksets[] = { "_all_tasks", "_scheduled_tasks" };
	for (size_t i = 0; i < 2; i++)
		if (pydict_get_str(r->c, md, weaksets[i], &v) == 0)
			where_set(w, weak_data(r, v), true);
	if (pydict_get_str(r->c, md, "_eager_tasks", &v) == 0)
		where_set(w, v, false);
	if (pydict_get_str(r->c, md, "_current_tasks", &v) == 0)
		w->current = v;
	return 0;
}

/* The cached location of interp's asyncio, looked up again when its
 * modules dict changed or after WHERE_TTL_NS. */
static struct where *where_of(struct rd *r, uint64_t interp)
{
	struct priv *pv = r->pv;
	uint64_t modules = 0, now = clock_now_ns();
	if (rd_ptr(r, interp + (uint64_t)r->L->is_modules, &modules) != 0 || !modules)
		return NULL;
	struct where *w = NULL;
	for (size_t i = 0; i < pv->nwhere && !w; i++)
		if (pv->where[i].interp == interp)
			w = &pv->where[i];
	if (w && w->modules == modules && now - w->stamp_ns < WHERE_TTL_NS)
		return w;
	if (!w) {
		if (pv->nwhere >= MAX_WHERE)
			return NULL;
		w = &pv->where[pv->nwhere++];
	}
	memset(w, 0, sizeof(*w));
	w->interp = interp;
	w->modules = modules;
	w->stamp_ns = now;
	w->err = locate(r, w);
	/* A read that found no asyncio, or one still being imported, or
	 * without the current tasks, is not kept: look again next time. */
	if (!w->asyncio || w->importing || (!w->current && !w->have_debug && !w->err))
		w->stamp_ns = 0;
	return w;
}

/* The tasks (unless running_only) and running tasks of one interpreter. */
static int collect(struct rd *r, const struct where *w, bool running_only)
{
	if (w->have_debug) {
		if (!running_only && w->dbg.is_tasks_head)
			llist_each(r, w->interp + w->dbg.is_tasks_head);
		for (size_t i = 0; i < r->nts; i++) {
			uint64_t ts = r->ts[i].tstate, task = 0, loop = 0;
			if (r->ts[i].interp != w->interp || !ts)
				continue;
			if (!running_only && w->dbg.ts_tasks_head)
				llist_each(r, ts + w->dbg.ts_tasks_head);
			if (rd_ptr(r, ts + w->dbg.ts_running_task, &task) == 0 && task &&
			    rd_ptr(r, ts + w->dbg.ts_running_loop, &loop) == 0)
				add_running(r, loop, task, r->ts[i].thread);
		}
	}
	for (size_t i = 0; !running_only && i < w->nsets; i++)
		set_each(r, w->sets[i], w->weak[i]);
	if (w->current)
		pydict_foreach(r->c, w->current, cur_cb, r);
	return 0;
}

/* ---- the tasks' fields ---------------------------------------------------- */

static int pytask_state(struct rd *r, uint64_t obj)
{
	char s[16];
	uint64_t v = 0;
	int err = pydict_getattr(r->c, obj, "_state", &v);
	if (err == -ENOENT)
		return 0;       /* the class attribute: _PENDING */
	if (err || pystr_read(r->c, v, s, sizeof(s), NULL) != 0)
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

/* Every task's name, the compact ASCII ones (Task-1, most names) from one
 * batched read of their heads; the others by pystr_read / the int. */
static void task_names(struct rd *r, struct py_tasks *out, const uint64_t *names)
{
	const struct py_layout *L = r->L;
	size_t n = out->n, hlen = (size_t)L->uni_ascii_size + 64;
	if (L->str_kind != PY_STR_PEP393 || L->uni_ascii_size <= 0 || hlen > 512 ||
	    (size_t)L->uni_state + 4 > hlen || (size_t)L->uni_length + 8 > hlen) {
		for (size_t i = 0; i < n; i++) {
			struct cand cd = { .name = names[i] };
			task_name(r, &cd, &out->tasks[i]);
		}
		return;
	}
	uint8_t *buf = xmalloc(IOV_BATCH * hlen);
	struct mem_iov *iov = xmalloc(IOV_BATCH * sizeof(*iov));
	size_t *at = xmalloc(IOV_BATCH * sizeof(*at));
	for (size_t k = 0; k < n;) {
		size_t m = 0;
		for (; k < n && m < IOV_BATCH; k++) {
			out->tasks[k].name[0] = '\0';
			if (!names[k] || names[k] == r->c->none_addr)
				continue;
			at[m] = k;
			iov[m] = (struct mem_iov){ names[k], buf + m * hlen, hlen, 0 };
			m++;
		}
		int rv = m ? mem__readv(r->c->mem, iov, m) : 0;
		for (size_t j = 0; j < m; j++) {
			struct py_task *t = &out->tasks[at[j]];
			const uint8_t *h = buf + j * hlen;
			bool fast = false;
			if (rv >= 0 && !iov[j].err) {
				int64_t len = (int64_t)bytes_u64(h + L->uni_length);
				uint32_t state = bytes_u32(h + L->uni_state);
				int kind = (int)((state >> L->uni_kind_shift) & 7);
				bool compact = (state >> L->uni_compact_bit) & 1;
				bool ascii = (state >> L->uni_ascii_bit) & 1;
				uint64_t type = bytes_u64(h + L->ob_type);
				if (compact && ascii && kind == 1 && len >= 0 &&
				    (size_t)len <= hlen - (size_t)L->uni_ascii_size &&
				    classify(r, type) == K_STR) {
					pystr_decode(1, h + L->uni_ascii_size, (size_t)len, t->name,
						     sizeof(t->name), NULL);
					fast = true;
				}
			}
			if (!fast) {
				struct cand cd = { .name = names[at[j]] };
				task_name(r, &cd, t);
			}
		}
	}
	free(buf);
	free(iov);
	free(at);
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
	if (es->n >= MAX_EDGES)
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

/* The type of each of n objects (0 where unreadable), in batches. */
static void types_of(struct rd *r, const uint64_t *objs, size_t n, uint64_t *types)
{
	struct mem_iov *iov = xmalloc(IOV_BATCH * sizeof(*iov));
	for (size_t k = 0; k < n; k += IOV_BATCH) {
		size_t m = n - k < IOV_BATCH ? n - k : IOV_BATCH, nio = 0;
		size_t *at = xmalloc(m * sizeof(*at));
		for (size_t j = 0; j < m; j++) {
			types[k + j] = 0;
			if (!objs[k + j] || (objs[k + j] & 7))
				continue;
			at[nio] = k + j;
			iov[nio++] = (struct mem_iov){ objs[k + j] + (uint64_t)r->L->ob_type, &types[k + j], 8, 0 };
		}
		int rv = nio ? mem__readv(r->c->mem, iov, nio) : 0;
		for (size_t j = 0; j < nio; j++)
			if (rv < 0 || iov[j].err)
				types[at[j]] = 0;
		free(at);
	}
	free(iov);
}

/* Every edge of the read: waiters that are tasks, gathering futures'
 * children, TaskGroups (the first done callback of a task: a TaskGroup
 * adds its own as the task is made, before anything can await it). The
 * types of the waiters and callbacks are read in batches. */
static void find_edges(struct rd *r, struct edges *es)
{
	size_t n = r->ncands;
	uint64_t *objs = xmalloc(2 * (n ? n : 1) * sizeof(*objs));
	uint64_t *types = xmalloc(2 * (n ? n : 1) * sizeof(*types));
	bool groups = r->A->minor >= PY_VER(3, 11);
	for (size_t i = 0; i < n; i++) {
		struct cand *cd = &r->cands[i];
		bool task = !cd->err && (cd->kind == K_CTASK || cd->kind == K_PYTASK);
		struct cand *w = task && cd->waiter ? cand_find(r, cd->waiter) : NULL;
		if (w && (w->kind == K_CTASK || w->kind == K_PYTASK)) {
			edge_add(es, w->addr, cd->addr);
			objs[2 * i] = 0;
		} else {
			objs[2 * i] = task ? cd->waiter : 0;
		}
		uint64_t cb = 0;
		if (task && groups && cd->kind == K_CTASK)
			cb = cd->cb0;
		else if (task && groups && cd->cbs) {
			/* pure-Python: _callbacks[0], a (callback, context) tuple */
			uint64_t arr = 0, tup = 0;
			int64_t size = 0;
			if (mem__read(r->c->mem, cd->cbs + (uint64_t)r->L->list_size, &size, 8) == 0 &&
			    size > 0 && rd_ptr(r, cd->cbs + (uint64_t)r->L->list_item, &arr) == 0 &&
			    rd_ptr(r, arr, &tup) == 0)
				rd_ptr(r, tup + (uint64_t)r->L->tuple_item, &cb);
		}
		objs[2 * i + 1] = cb;
	}
	types_of(r, objs, 2 * n, types);
	for (size_t i = 0; i < n; i++) {
		struct cand *cd = &r->cands[i];
		if (objs[2 * i] && classify(r, types[2 * i]) == K_GATHER) {
			uint64_t ch = 0, *items;
			size_t nc;
			if (r->child_budget && pydict_getattr(r->c, objs[2 * i], "_children", &ch) == 0 &&
			    list_items(r, ch, &items, &nc) == 0) {
				for (size_t k = 0; k < nc && r->child_budget; k++, r->child_budget--)
					edge_add(es, items[k], cd->addr);
				free(items);
			}
		}
		if (objs[2 * i + 1] && classify(r, types[2 * i + 1]) == K_METHOD) {
			uint64_t p = taskgroup_parent(r, objs[2 * i + 1]);
			if (p)
				edge_add(es, cd->addr, p);
		}
	}
	free(objs);
	free(types);
	if (es->n)
		qsort(es->e, es->n, sizeof(*es->e), cmp_edge);
}

/* ---- coroutine chains ----------------------------------------------------- */

/* The frame's address only: its code and line are read once every chain
 * is known (resolve_frames), so the code cache can make room for all of
 * them first. */
static int push_frame(struct rd *r, struct py_task *t, uint64_t frame)
{
	(void)r;
	t->frames = xgrow(t->frames, &t->cap, t->nframes + 1, sizeof(*t->frames));
	t->frames[t->nframes++] = (struct py_frame){ .code = NULL, .line = -1, .frame_addr = frame };
	return 0;
}

/* Code and line of every frame of every task: room for them all in the
 * code cache first (no entry moves while they are read). A frame that
 * cannot be read is left out, its task's err says so. */
static int resolve_frames(struct rd *r, struct py_tasks *out)
{
	size_t total = 0;
	for (size_t i = 0; i < out->n; i++)
		total += out->tasks[i].nframes;
	if (!total)
		return 0;
	pyproc__reserve_codes(r->p, total);
	uint64_t *addrs = xmalloc(total * sizeof(*addrs));
	struct py_frame *fr = xmalloc(total * sizeof(*fr));
	size_t k = 0;
	for (size_t i = 0; i < out->n; i++)
		for (size_t j = 0; j < out->tasks[i].nframes; j++)
			addrs[k++] = out->tasks[i].frames[j].frame_addr;
	int err = pyproc__read_frames(r->p, addrs, total, fr);
	k = 0;
	for (size_t i = 0; !err && i < out->n; i++) {
		struct py_task *t = &out->tasks[i];
		size_t kept = 0;
		for (size_t j = 0; j < t->nframes; j++, k++) {
			if (!fr[k].code) {
				t->err = t->err ? t->err : -EFAULT;
				continue;
			}
			t->frames[kept++] = fr[k];
		}
		t->nframes = kept;
	}
	free(addrs);
	free(fr);
	return err;
}

/* Read ptrs at addrs[i] + off for the i where addrs[i] != 0, in batches:
 * vals[i] (0 where unreadable or skipped; ok[i] false then). */
static void batch_u64(struct rd *r, const uint64_t *addrs, size_t n, uint64_t off, uint64_t *vals,
		      bool *ok)
{
	struct mem_iov *iov = xmalloc(IOV_BATCH * sizeof(*iov));
	size_t *at = xmalloc(IOV_BATCH * sizeof(*at));
	for (size_t i = 0; i < n; i++) {
		vals[i] = 0;
		ok[i] = false;
	}
	for (size_t k = 0; k < n;) {
		size_t m = 0;
		for (; k < n && m < IOV_BATCH; k++) {
			if (!addrs[k])
				continue;
			at[m] = k;
			iov[m++] = (struct mem_iov){ addrs[k] + off, &vals[k], 8, 0 };
		}
		int rv = m ? mem__readv(r->c->mem, iov, m) : 0;
		for (size_t j = 0; j < m; j++) {
			ok[at[j]] = rv >= 0 && !iov[j].err;
			if (!ok[at[j]])
				vals[at[j]] = 0;
		}
	}
	free(iov);
	free(at);
}

/* Every task's coroutine chain (frame addresses, outermost first until
 * reversed), one level of every chain at a time: the objects' types, the
 * coroutines (or their frames) and what each awaits are read in batches.
 * coros[i]: task i's coroutine, 0 for none. */
static void read_chains(struct rd *r, struct py_tasks *out, const uint64_t *coros)
{
	const struct alay *A = r->A;
	size_t n = out->n;
	if (!n)
		return;
	uint64_t *cur = xmalloc(n * sizeof(*cur)), *types = xmalloc(n * sizeof(*types));
	uint64_t *v = xmalloc(n * sizeof(*v)), *w = xmalloc(n * sizeof(*w));
	uint64_t *gen = xmalloc(n * sizeof(*gen));
	bool *ok = xmalloc(n * sizeof(*ok)), *ok2 = xmalloc(n * sizeof(*ok2));
	memcpy(cur, coros, n * sizeof(*cur));
	bool iframe = r->L->family == PY_FAMILY_IFRAME;
	size_t glen = iframe ? (size_t)r->g_iframe + (size_t)A->if_stack + 8 : 0;
	uint8_t *gbuf = iframe && glen <= GEN_READ ? xmalloc(IOV_BATCH * GEN_READ) : NULL;
	struct mem_iov *iov = xmalloc(IOV_BATCH * sizeof(*iov));
	size_t *at = xmalloc(IOV_BATCH * sizeof(*at));
	for (size_t i = 0; i < n; i++)
		if (cur[i] == r->c->none_addr)
			cur[i] = 0;
	for (size_t level = 0;; level++) {
		bool any = false;
		for (size_t i = 0; i < n && !any; i++)
			any = cur[i] != 0;
		if (!any)
			break;
		if (level >= PYASYNC_MAX_CHAIN) {
			for (size_t i = 0; i < n; i++)
				if (cur[i])
					out->tasks[i].chain_truncated = true;
			break;
		}
		types_of(r, cur, n, types);
		/* Wrappers: their coroutine is right after the header. */
		for (size_t i = 0; i < n; i++) {
			enum kind k = cur[i] ? classify(r, types[i]) : K_OTHER;
			gen[i] = k == K_CORO ? cur[i] : 0;
			w[i] = k == K_AGEN_WRAP || k == K_CORO_WRAP ? cur[i] : 0;
			if (k != K_CORO && k != K_AGEN_WRAP && k != K_CORO_WRAP)
				cur[i] = 0;     /* a Future, a Task, ...: the end */
		}
		batch_u64(r, w, n, (uint64_t)r->hend, v, ok);
		for (size_t i = 0; i < n; i++)
			if (w[i])
				cur[i] = ok[i] && v[i] != w[i] ? v[i] : 0;
		if (!iframe) {
			/* <= 3.10: gi_frame, then its stack top, then the awaited */
			batch_u64(r, gen, n, (uint64_t)A->g_frame + (uint64_t)(r->hend - 16), v, ok);
			for (size_t i = 0; i < n; i++) {
				if (!gen[i])
					continue;
				if (!ok[i])
					out->tasks[i].err = -EFAULT;
				if (!v[i]) {
					cur[i] = 0;     /* finished (or unreadable) */
					continue;
				}
				push_frame(r, &out->tasks[i], v[i]);
			}
			uint64_t *top = w;
			if (A->fo_stacktop >= 0) {
				batch_u64(r, v, n, (uint64_t)A->fo_stacktop, top, ok2);
			} else {
				uint64_t *vs = xmalloc(n * sizeof(*vs));
				batch_u64(r, v, n, (uint64_t)A->fo_valuestack, vs, ok2);
				batch_u64(r, v, n, (uint64_t)A->fo_stackdepth, top, ok2);
				for (size_t i = 0; i < n; i++) {
					int32_t depth = (int32_t)(uint32_t)top[i];
					top[i] = v[i] && vs[i] && depth > 0 && depth <= 4096
						 ? vs[i] + 8 * (uint64_t)depth : 0;
				}
				free(vs);
			}
			for (size_t i = 0; i < n; i++)
				if (gen[i] && (!v[i] || !top[i]))
					cur[i] = 0;     /* running, or not started */
				else if (gen[i])
					top[i] -= 8 * (uint64_t)A->yf_peek;
				else
					top[i] = 0;
			batch_u64(r, top, n, 0, v, ok);
			for (size_t i = 0; i < n; i++)
				if (gen[i] && top[i])
					cur[i] = ok[i] && v[i] != gen[i] ? v[i] : 0;
			continue;
		}
		/* 3.11+: the coroutine with its embedded frame, in one read */
		if (!gbuf) {
			for (size_t i = 0; i < n; i++)
				if (gen[i]) {
					cur[i] = 0;
					out->tasks[i].err = -EINVAL;
				}
			continue;
		}
		uint64_t *top = w;
		for (size_t i = 0; i < n; i++)
			top[i] = 0;
		for (size_t k = 0; k < n;) {
			size_t m = 0;
			for (; k < n && m < IOV_BATCH; k++) {
				if (!gen[k])
					continue;
				at[m] = k;
				iov[m] = (struct mem_iov){ gen[k], gbuf + m * GEN_READ, glen, 0 };
				m++;
			}
			int rv = m ? mem__readv(r->c->mem, iov, m) : 0;
			for (size_t j = 0; j < m; j++) {
				size_t i = at[j];
				struct py_task *t = &out->tasks[i];
				const uint8_t *g = gbuf + j * GEN_READ;
				cur[i] = 0;
				if (rv < 0 || iov[j].err) {
					t->err = -EFAULT;
					continue;
				}
				int8_t st = (int8_t)g[r->g_state];
				uint64_t fr = gen[i] + (uint64_t)r->g_iframe;
				bool finished = A->minor >= PY_VER(3, 15) ? st >= 5 : st >= 1;
				if (finished)
					continue;
				push_frame(r, t, fr);
				if (st < A->st_yf_lo || st > A->st_yf_hi)
					continue;
				if (A->if_stack_ptr) {
					uint64_t sp = bytes_u64(g + r->g_iframe + A->if_stack);
					if (sp <= fr + (uint64_t)r->L->if_localsplus || sp - fr > (1u << 20))
						continue;
					top[i] = sp - 8 * (uint64_t)A->yf_peek;
				} else {
					int32_t idx = bytes_i32(g + r->g_iframe + A->if_stack);
					if (idx <= 0 || idx > (1 << 16))
						continue;
					top[i] = fr + (uint64_t)r->L->if_localsplus + 8 * (uint64_t)idx -
						 8 * (uint64_t)A->yf_peek;
				}
			}
		}
		batch_u64(r, top, n, 0, v, ok);
		for (size_t i = 0; i < n; i++)
			if (top[i]) {
				uint64_t nx = v[i] & r->L->stackref_mask;
				cur[i] = ok[i] && nx != gen[i] ? nx : 0;
			}
		for (size_t i = 0; i < n; i++)
			if (out->tasks[i].nframes >= PYASYNC_MAX_CHAIN && cur[i]) {
				out->tasks[i].chain_truncated = true;
				cur[i] = 0;
			}
	}
	/* Outermost first so far: innermost first, as thread stacks. */
	for (size_t k = 0; k < n; k++) {
		struct py_task *t = &out->tasks[k];
		for (size_t i = 0; i < t->nframes / 2; i++) {
			struct py_frame f = t->frames[i];
			t->frames[i] = t->frames[t->nframes - 1 - i];
			t->frames[t->nframes - 1 - i] = f;
		}
	}
	free(cur);
	free(types);
	free(v);
	free(w);
	free(gen);
	free(ok);
	free(ok2);
	free(gbuf);
	free(iov);
	free(at);
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
	struct priv *pv = r->pv;
	uint64_t now = clock_now_ns();
	for (size_t i = 0; i < pv->nloops; i++)
		if (pv->loops[i].loop == loop && now - pv->loops[i].stamp_ns < WHERE_TTL_NS)
			return pv->loops[i].thread;
	if (!loop || pydict_getattr(r->c, loop, "_thread_id", &v) != 0 ||
	    pyobj_as_int64(r->c, v, &id) != 0)
		id = 0;
	/* Kept for a second (a loop's thread is set when it starts running,
	 * None when it stops): the slot of the same loop, else the oldest. */
	size_t slot = 0;
	for (size_t i = 0; i < LOOP_CACHE; i++) {
		if (i >= pv->nloops) {
			slot = pv->nloops++;
			break;
		}
		if (pv->loops[i].loop == loop) {
			slot = i;
			break;
		}
		if (pv->loops[i].stamp_ns < pv->loops[slot].stamp_ns)
			slot = i;
	}
	pv->loops[slot].loop = loop;
	pv->loops[slot].thread = (uint64_t)id;
	pv->loops[slot].stamp_ns = now;
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

/* ---- PYASYNC_RUNNING: from the running tasks up, through callbacks ------- */

#define UP_MAX_DEPTH 8                  /* gathers within gathers followed */
#define UP_MAX_CALLBACKS 64             /* callbacks of one future looked at */
#define UP_MAX_CLOSURE 32               /* cells of a gather callback looked at */

static void up_future(struct rd *r, uint64_t task, uint64_t fut, bool c_layout, int depth,
		      struct edges *es);

/* One done callback of fut (awaited: the task whose awaiters are sought). */
static void up_callback(struct rd *r, uint64_t task, uint64_t cb, int depth, struct edges *es)
{
	uint64_t x = 0;
	if (r->up_budget == 0)
		return;
	r->up_budget--;
	switch (kind_of(r, cb)) {
	case K_WAKEUP_WRAPPER:          /* 3.7-3.9 C: a task's wakeup */
		if (rd_ptr(r, cb + (uint64_t)r->hend + WW_TASK, &x) == 0 && x)
			edge_add(es, task, x);
		return;
	case K_BUILTIN_METHOD:          /* 3.10+ C: task_wakeup bound to the task */
		if (rd_ptr(r, cb + (uint64_t)r->hend + M_SELF, &x) == 0 && x) {
			enum kind k = kind_of(r, x);
			if (k == K_CTASK || k == K_PYTASK)
				edge_add(es, task, x);
		}
		return;
	case K_METHOD:                  /* Task.__wakeup, TaskGroup._on_task_done */
		if (rd_ptr(r, cb + (uint64_t)r->hend + IM_SELF, &x) != 0 || !x)
			return;
		switch (kind_of(r, x)) {
		case K_CTASK:
		case K_PYTASK:
			edge_add(es, task, x);
			return;
		case K_TASKGROUP:
			if ((x = taskgroup_parent(r, cb)) != 0)
				edge_add(es, task, x);
			return;
		default:
			return;
		}
	case K_FUNCTION: {              /* gather's _done_callback: its closure holds outer */
		uint64_t clo = 0;
		int off = r->A->minor >= PY_VER(3, 10) ? FUNC_CLOSURE_NEW : FUNC_CLOSURE_OLD;
		int64_t n = 0;
		if (depth >= UP_MAX_DEPTH ||
		    rd_ptr(r, cb + (uint64_t)r->hend + (uint64_t)off, &clo) != 0 || !clo ||
		    kind_of(r, clo) != K_TUPLE ||
		    mem__read(r->c->mem, clo + (uint64_t)r->L->ob_size, &n, 8) != 0)
			return;
		for (int64_t i = 0; i < n && i < UP_MAX_CLOSURE; i++) {
			uint64_t cell = 0, v = 0;
			if (rd_ptr(r, clo + (uint64_t)r->L->tuple_item + 8 * (uint64_t)i, &cell) != 0 ||
			    !cell || rd_ptr(r, cell + (uint64_t)r->L->cell_ref, &v) != 0 || !v)
				continue;
			if (kind_of(r, v) == K_GATHER)
				up_future(r, task, v, r->c_mode, depth + 1, es);
		}
		return;
	}
	case K_PARTIAL:                 /* 3.6 gather: partial(_done_callback, i); fn first */
		if (depth < UP_MAX_DEPTH && rd_ptr(r, cb + (uint64_t)r->hend, &x) == 0 && x &&
		    kind_of(r, x) == K_FUNCTION)
			up_callback(r, task, x, depth + 1, es);
		return;
	default:
		return;
	}
}

/* The callbacks of fut (a task or a future; C layout or pure-Python). */
static void up_future(struct rd *r, uint64_t task, uint64_t fut, bool c_layout, int depth,
		      struct edges *es)
{
	uint64_t cb0 = 0, cbs = 0, *items = NULL;
	size_t n = 0;
	if (c_layout) {
		rd_ptr(r, fut + (uint64_t)r->t_cb0, &cb0);
		rd_ptr(r, fut + (uint64_t)r->t_cbs, &cbs);
	} else {
		pydict_getattr(r->c, fut, "_callbacks", &cbs);
	}
	if (cb0 && cb0 != r->c->none_addr)
		up_callback(r, task, cb0, depth, es);
	if (!cbs || cbs == r->c->none_addr || list_items(r, cbs, &items, &n) != 0)
		return;
	for (size_t i = 0; i < n && i < UP_MAX_CALLBACKS; i++) {
		uint64_t cb = items[i], fn = 0;
		/* (callback, context) tuples, 3.7+ */
		if (kind_of(r, cb) == K_TUPLE && rd_ptr(r, cb + (uint64_t)r->L->tuple_item, &fn) == 0)
			cb = fn;
		if (cb && cb != r->c->none_addr)
			up_callback(r, task, cb, depth, es);
	}
	free(items);
}

/* The running tasks and, transitively, the tasks awaiting them: from each
 * task the callbacks its awaiters left on it (a task's wakeup, a gather's
 * callback whose closure holds the gathering future, whose own callbacks
 * are the awaiting tasks' wakeups, a TaskGroup's). Adds them to r->addrs
 * and their edges to es; no set is read. */
static void running_up(struct rd *r, struct edges *es)
{
	r->up_budget = UP_BUDGET;
	for (size_t i = 0; i < r->nrunning; i++)
		add_addr(r, r->running[i].task);
	for (size_t i = 0; i < r->naddrs && i < RUNNING_MAX; i++) {
		uint64_t t = r->addrs[i];
		enum kind k = kind_of(r, t);
		size_t before = es->n;
		if (k == K_CTASK || k == K_PYTASK)
			up_future(r, t, t, k == K_CTASK, 0, es);
		for (size_t e = before; e < es->n; e++) {
			bool seen = false;
			for (size_t j = 0; j < r->naddrs && !seen; j++)
				seen = r->addrs[j] == es->e[e].awaiter;
			if (!seen && r->naddrs < RUNNING_MAX)
				add_addr(r, es->e[e].awaiter);
			else if (!seen)
				r->truncated = true;
		}
	}
}

/* ---- the read ------------------------------------------------------------- */

int pyasync__read(struct pyproc *p, struct py_tasks *out, unsigned flags, char *why,
		  size_t whylen)
{
	const struct pyproc_info *info = pyproc__info(p);
	unsigned version = pyproc__ctx(p)->L->version;  /* also over a snapshot (pyproc__new_mem) */
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
	if ((version >> 24) < 3) {
		snprintf(why, whylen, "asyncio needs Python 3 (this is Python %s)", info->version_str);
		return -ENOTSUP;
	}
	const struct alay *A = alay_for(version);
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
	bool running_only = (flags & PYASYNC_RUNNING) != 0;
	uint64_t *coros = NULL, *names = NULL;
	size_t coros_cap = 0;
	struct rd r = { 0 };
	struct edges es = { 0 };
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
	r.child_budget = MAX_EDGES;

	int err = pyproc__each_tstate(p, ts_cb, &r);
	if (err) {
		snprintf(why, whylen, "the interpreter's thread states could not be read (%s)",
			 strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < r.nts; i++) {
		if (r.ts[i].tstate)
			continue;
		struct where *w = where_of(&r, r.ts[i].interp);
		if (!w || !w->asyncio)
			continue;
		r.any_asyncio = true;
		if (w->err) {
			snprintf(why, whylen, "%s", w->why);
			err = w->err;
			goto out;
		}
		if (w->ctask)
			pv->ctask = w->ctask;
		if (w->pytask)
			pv->pytask = w->pytask;
		r.c_mode = w->c_mode;
		if (w->have_debug) {
			r.have_debug = true;
			r.dbg = w->dbg;
			r.t_coro = (int)w->dbg.task_coro;
			r.t_waiter = r.t_coro - 8;
			r.t_name = (int)w->dbg.task_name;
			r.t_state = (int)w->dbg.task_is_task - 4;
		}
		collect(&r, w, running_only);
	}
	if (!r.any_asyncio) {
		snprintf(why, whylen, "asyncio is not imported in the target");
		err = -ENOENT;
		goto out;
	}
	if (running_only) {
		running_up(&r, &es);
		if (es.n)
			qsort(es.e, es.n, sizeof(*es.e), cmp_edge);
	} else {
		/* The running tasks are tasks too (a task may run before it is
		 * in a set: an eager one). */
		for (size_t i = 0; i < r.nrunning; i++)
			add_addr(&r, r.running[i].task);
	}
	if (r.naddrs)
		qsort(r.addrs, r.naddrs, sizeof(*r.addrs), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < r.naddrs; i++)
		if (!u || r.addrs[u - 1] != r.addrs[i])
			r.addrs[u++] = r.addrs[i];
	r.naddrs = u;
	read_cands(&r);
	if (!running_only)
		find_edges(&r, &es);

	size_t ei = 0;
	for (size_t i = 0; i < r.ncands; i++) {
		struct cand *cd = &r.cands[i];
		while (ei < es.n && es.e[ei].awaited < cd->addr)
			ei++;
		if (cd->kind != K_CTASK && cd->kind != K_PYTASK && !cd->err)
			continue;       /* not a task (a stale set entry) */
		struct py_task *t = task_slot(out);
		t->addr = cd->addr;
		t->err = cd->err;
		size_t ncap = coros_cap;
		coros = xgrow(coros, &coros_cap, out->n, sizeof(*coros));
		names = xgrow(names, &ncap, out->n, sizeof(*names));
		coros[out->n - 1] = 0;
		names[out->n - 1] = 0;
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
		names[out->n - 1] = cd->name;
		for (size_t k = ei; k < es.n && es.e[k].awaited == cd->addr; k++) {
			if (k > ei && es.e[k].awaiter == es.e[k - 1].awaiter)
				continue;
			if (t->nawaited_by >= PYASYNC_MAX_AWAITERS)
				break;
			t->awaited_by = xgrow(t->awaited_by, &t->awaited_cap, t->nawaited_by + 1,
					      sizeof(*t->awaited_by));
			t->awaited_by[t->nawaited_by++] = es.e[k].awaiter;
		}
		coros[out->n - 1] = !(flags & PYASYNC_NO_FRAMES) && t->state != PY_TASK_DONE &&
				    t->state != PY_TASK_CANCELLED ? cd->coro : 0;
	}
	if (out->n && coros) {
		task_names(&r, out, names);
		read_chains(&r, out, coros);
	}
	if ((err = resolve_frames(&r, out)) != 0)
		goto out;
	if (out->n)
		qsort(out->tasks, out->n, sizeof(*out->tasks), cmp_task);
	out->truncated = r.truncated;
	err = 0;
out:
	free(coros);
	free(names);
	free(es.e);
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
