/* SPDX-License-Identifier: MIT
 *
 * The top table (see topmodel.h). An update walks every distinct stack of
 * the profile once: its count minus the baseline taken at the last reset
 * (the profile's mark) is
 * added to the leaf's "own" and, once per stack, to the "total" of every key
 * in it (a per-key stamp holding the stack's index makes a recursive
 * function count once). Keys are frame ids (by line) or function ids; frames
 * map to functions through an array extended as the profile gains frames,
 * functions being interned by (name, file) in a hash index of function ids
 * (util/hashmap.h).
 * Synthetic frames (process and thread roots) belong to no row.
 *
 * The t/T keys' cycle is an order over the views: "all" first, the live
 * threads by (pid, tid), the exited threads' entry last. A step lists the
 * entries now (sorted) and moves to the neighbour of the current one, "all"
 * past either end. The list is kept until the next step: a thread shown
 * that has exited since steps to the nearest entry of that list that is
 * still there, so neither new threads (a thread per request) nor TIDs that
 * wrapped around can keep the cycle from its other entries.
 */
#include "tui/topmodel.h"

#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

#define NO_KEY UINT32_MAX

struct topmodel {
	uint32_t *func_of;              /* frame id -> function id, NO_KEY: synthetic */
	size_t nfunc_of, func_of_cap;
	uint32_t *func_rep;             /* function id -> first frame seen of it */
	size_t nfunc, func_cap;
	struct hashmap ftab;            /* (name, file) -> function id */

	uint64_t *own, *total;          /* per key, during an update */
	uint64_t *mown, *mtotal;        /* per key: bytes grown */
	uint64_t (*cls)[PROF_NCLASSES]; /* per key: own samples by class */
	uint32_t *stamp;
	size_t acc_cap;
	uint64_t *per_thread;
	size_t thr_cap;
	bool *counted;                  /* per profile thread: in the selection */
	size_t counted_cap;
	struct top_sel *cycle;          /* the cycle's entries after "all" at the last step */
	size_t ncycle, cycle_cap;

	struct top_row *rows;
	size_t nrows, rows_cap;
	uint64_t samples;
	uint64_t cls_samples[PROF_NCLASSES];
	uint64_t grow, shrink;
	bool classified;                /* a classified sample was met (sticky) */
	bool by_line;
	enum top_sort sort;
	int busiest;
};

struct topmodel *topmodel__new(void)
{
	struct topmodel *m = xcalloc(1, sizeof(*m));
	m->by_line = true;
	m->sort = TOP_SORT_OWN;
	m->busiest = -1;
	hashmap__init(&m->ftab, 256);
	return m;
}

void topmodel__free(struct topmodel *m)
{
	if (!m)
		return;
	free(m->func_of);
	free(m->func_rep);
	hashmap__fini(&m->ftab);
	free(m->own);
	free(m->total);
	free(m->mown);
	free(m->mtotal);
	free(m->cls);
	free(m->stamp);
	free(m->per_thread);
	free(m->counted);
	free(m->cycle);
	free(m->rows);
	free(m);
}

void topmodel__reset(struct topmodel *m, struct profile *p)
{
	(void)m;
	profile__mark(p);
}

static uint64_t func_hash(const struct prof_frame *f)
{
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, f->name, strlen(f->name));
	h = hashmap_fnv(h, "\xff", 1);
	return hashmap_fnv(h, f->filename, strlen(f->filename));
}

/* The function id of a (non-synthetic) frame, interned by name and file. */
static uint32_t func_intern(struct topmodel *m, const struct profile *p, uint32_t frame)
{
	const struct prof_frame *f = profile__frame_at(p, frame);
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&m->ftab, func_hash(f), &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&m->ftab, &pos)) {
		const struct prof_frame *g = profile__frame_at(p, m->func_rep[id]);
		if (strcmp(g->name, f->name) == 0 && strcmp(g->filename, f->filename) == 0)
			return id;
	}
	m->func_rep = xgrow(m->func_rep, &m->func_cap, m->nfunc + 1, sizeof(*m->func_rep));
	m->func_rep[m->nfunc] = frame;
	hashmap__insert(&m->ftab, &pos, (uint32_t)m->nfunc);
	return (uint32_t)m->nfunc++;
}

/* Extend the frame -> function map to every frame of p. */
static void map_frames(struct topmodel *m, const struct profile *p)
{
	size_t n = profile__nframes(p);
	if (n <= m->nfunc_of)
		return;
	m->func_of = xgrow(m->func_of, &m->func_of_cap, n, sizeof(*m->func_of));
	for (size_t id = m->nfunc_of; id < n; id++) {
		enum prof_frame_kind k = profile__frame_at(p, (uint32_t)id)->kind;
		m->func_of[id] = (k == PROF_FRAME_PROCESS || k == PROF_FRAME_THREAD || k == PROF_FRAME_INTERP)
				 ? NO_KEY : func_intern(m, p, (uint32_t)id);
	}
	m->nfunc_of = n;
}

static bool selected(const struct top_sel *sel, const struct prof_thread *pt)
{
	if (!sel || sel->kind == TOP_SEL_ALL)
		return true;
	if (sel->kind == TOP_SEL_EXITED)
		return pt->exited > 0;
	return !pt->exited && pt->pid == sel->pid && pt->tid == sel->tid;
}

void topmodel__update(struct topmodel *m, const struct profile *p, bool by_line,
		      const struct top_sel *sel)
{
	map_frames(m, p);
	size_t nkeys = by_line ? m->nfunc_of : m->nfunc;
	size_t cap = m->acc_cap;
	if (nkeys > cap) {
		m->own = xgrow(m->own, &cap, nkeys, sizeof(*m->own));
		m->total = xrealloc(m->total, cap * sizeof(*m->total));
		m->stamp = xrealloc(m->stamp, cap * sizeof(*m->stamp));
		m->mown = xrealloc(m->mown, cap * sizeof(*m->mown));
		m->mtotal = xrealloc(m->mtotal, cap * sizeof(*m->mtotal));
		m->cls = xrealloc(m->cls, cap * sizeof(*m->cls));
		m->acc_cap = cap;
	}
	if (nkeys) {
		memset(m->own, 0, nkeys * sizeof(*m->own));
		memset(m->total, 0, nkeys * sizeof(*m->total));
		memset(m->stamp, 0, nkeys * sizeof(*m->stamp));
		memset(m->mown, 0, nkeys * sizeof(*m->mown));
		memset(m->mtotal, 0, nkeys * sizeof(*m->mtotal));
		memset(m->cls, 0, nkeys * sizeof(*m->cls));
	}
	size_t nthreads = profile__nthreads(p);
	m->per_thread = xgrow(m->per_thread, &m->thr_cap, nthreads ? nthreads : 1, sizeof(*m->per_thread));
	memset(m->per_thread, 0, m->thr_cap * sizeof(*m->per_thread));
	m->counted = xgrow(m->counted, &m->counted_cap, nthreads ? nthreads : 1, sizeof(*m->counted));
	for (size_t t = 0; t < nthreads; t++)
		m->counted[t] = selected(sel, profile__thread_at(p, (uint32_t)t));

	m->by_line = by_line;
	m->samples = 0;
	memset(m->cls_samples, 0, sizeof(m->cls_samples));
	m->grow = m->shrink = 0;
	size_t nstacks = profile__nstacks(p);
	for (size_t si = 0; si < nstacks; si++) {
		const struct prof_stack *st = profile__stack_at(p, (uint32_t)si);
		/* bytes may come after the samples (attributed at the tick's end) */
		uint64_t g = st->mem_grow > st->mem_grow_marked ? st->mem_grow - st->mem_grow_marked : 0;
		uint64_t sh = st->mem_shrink > st->mem_shrink_marked
			      ? st->mem_shrink - st->mem_shrink_marked : 0;
		if (st->count <= st->marked && !g && !sh)
			continue;
		uint64_t c = st->count > st->marked ? st->count - st->marked : 0;
		m->per_thread[st->thread] += c;
		if (!m->counted[st->thread])
			continue;
		m->samples += c;
		m->grow += g;
		m->shrink += sh;
		uint64_t cc[PROF_NCLASSES];
		m->classified = m->classified || st->cls[0] || st->cls[1] || st->cls[2];
		for (int k = 0; k < PROF_NCLASSES; k++) {
			cc[k] = st->cls[k] > st->cls_marked[k] ? st->cls[k] - st->cls_marked[k] : 0;
			m->cls_samples[k] += cc[k];
		}
		uint32_t key = NO_KEY;
		for (uint32_t k = 0; k < st->n; k++) {
			uint32_t f = st->frames[k];
			key = m->func_of[f] == NO_KEY ? NO_KEY : by_line ? f : m->func_of[f];
			if (key == NO_KEY || m->stamp[key] == si + 1)
				continue;
			m->stamp[key] = (uint32_t)(si + 1);
			m->total[key] += c;
			m->mtotal[key] += g;
		}
		if (key != NO_KEY) {    /* the leaf */
			m->own[key] += c;
			m->mown[key] += g;
			for (int k = 0; k < PROF_NCLASSES; k++)
				m->cls[key][k] += cc[k];
		}
	}

	m->nrows = 0;
	for (size_t k = 0; k < nkeys; k++) {
		if (!m->total[k] && !m->mtotal[k])
			continue;
		m->rows = xgrow(m->rows, &m->rows_cap, m->nrows + 1, sizeof(*m->rows));
		m->rows[m->nrows++] = (struct top_row){
			.frame = by_line ? (uint32_t)k : m->func_rep[k],
			.own = m->own[k], .total = m->total[k],
			.cls = { m->cls[k][0], m->cls[k][1], m->cls[k][2] },
			.mem_own = m->mown[k], .mem_total = m->mtotal[k],
		};
	}
	m->busiest = -1;
	for (size_t t = 0; t < nthreads; t++)
		if (m->per_thread[t] && !profile__thread_at(p, (uint32_t)t)->exited &&
		    (m->busiest < 0 || m->per_thread[t] > m->per_thread[m->busiest]))
			m->busiest = (int)t;
	topmodel__sort(m, m->sort);
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a > b ? -1 : a < b ? 1 : 0;
}

static int by_own(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;
	int c = cmp_u64_desc(a->own, b->own);
	if (!c)
		c = cmp_u64_desc(a->total, b->total);
	return c ? c : a->frame < b->frame ? -1 : a->frame > b->frame;
}

static int by_total(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;
	int c = cmp_u64_desc(a->total, b->total);
	if (!c)
		c = cmp_u64_desc(a->own, b->own);
	return c ? c : a->frame < b->frame ? -1 : a->frame > b->frame;
}

static int by_mem_own(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;
	int c = cmp_u64_desc(a->mem_own, b->mem_own);
	if (!c)
		c = cmp_u64_desc(a->mem_total, b->mem_total);
	return c ? c : by_own(pa, pb);
}

static int by_mem_total(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;
	int c = cmp_u64_desc(a->mem_total, b->mem_total);
	if (!c)
		c = cmp_u64_desc(a->mem_own, b->mem_own);
	return c ? c : by_total(pa, pb);
}

void topmodel__sort(struct topmodel *m, enum top_sort key)
{
	if ((unsigned)key >= TOP_NSORT)
		key = TOP_SORT_OWN;
	m->sort = key;
	int (*cmp)(const void *, const void *) =
		key == TOP_SORT_MEM_OWN ? by_mem_own : key == TOP_SORT_MEM_TOTAL ? by_mem_total
		: key == TOP_SORT_TOTAL || key == TOP_SORT_TOTAL_TIME ? by_total : by_own;
	if (m->nrows > 1)
		qsort(m->rows, m->nrows, sizeof(*m->rows), cmp);
}

size_t topmodel__nrows(const struct topmodel *m) { return m->nrows; }
const struct top_row *topmodel__rows(const struct topmodel *m) { return m->rows; }
bool topmodel__by_line(const struct topmodel *m) { return m->by_line; }
enum top_sort topmodel__sort_key(const struct topmodel *m) { return m->sort; }
uint64_t topmodel__samples(const struct topmodel *m) { return m->samples; }

uint64_t topmodel__class_samples(const struct topmodel *m, enum prof_class c)
{
	return (unsigned)c < PROF_NCLASSES ? m->cls_samples[c] : 0;
}

bool topmodel__classified(const struct topmodel *m)
{
	return m->classified;
}

void topmodel__memory(const struct topmodel *m, uint64_t *grow, uint64_t *shrink)
{
	*grow = m->grow;
	*shrink = m->shrink;
}
int topmodel__busiest_thread(const struct topmodel *m) { return m->busiest; }

/* The order of the cycle: <0, 0, >0 as a comes before, with or after b. */
static int sel_cmp(const struct top_sel *a, const struct top_sel *b)
{
	if (a->kind != b->kind) {
		int ra = a->kind == TOP_SEL_ALL ? 0 : a->kind == TOP_SEL_THREAD ? 1 : 2;
		int rb = b->kind == TOP_SEL_ALL ? 0 : b->kind == TOP_SEL_THREAD ? 1 : 2;
		return ra - rb;
	}
	if (a->kind != TOP_SEL_THREAD)
		return 0;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	/* TID 0 (threads not started yet) after the process's other threads. */
	uint64_t ta = a->tid ? (uint64_t)a->tid : UINT64_MAX, tb = b->tid ? (uint64_t)b->tid : UINT64_MAX;
	return ta < tb ? -1 : ta > tb;
}

/* Has profile thread t samples since the reset? */
static bool has_window_samples(const struct profile *p, uint32_t t)
{
	size_t nstacks = profile__nstacks(p);
	for (size_t si = 0; si < nstacks; si++) {
		const struct prof_stack *st = profile__stack_at(p, (uint32_t)si);
		if (st->thread == t && st->count > st->marked)
			return true;
	}
	return false;
}

/* Is thread t an entry of the cycle: live (not a lane) and with a known TID,
 * or a thread whose TID was not known yet when it was sampled (TID 0: a
 * thread state whose thread had not started; never retired) with samples
 * since the reset. */
static bool in_cycle(const struct profile *p, uint32_t t)
{
	const struct prof_thread *pt = profile__thread_at(p, t);
	return !pt->exited && (pt->tid || has_window_samples(p, t));
}

void topmodel_cycle(const struct profile *p, const struct top_sel *sel, struct top_cycle *c)
{
	*c = (struct top_cycle){ .index = -1 };
	size_t nthreads = profile__nthreads(p);
	bool have_lanes = false;
	for (size_t t = 0; t < nthreads; t++) {
		const struct prof_thread *pt = profile__thread_at(p, (uint32_t)t);
		if (pt->exited) {
			c->nexited += pt->exited;
			have_lanes = true;
			continue;
		}
		struct top_sel me = { TOP_SEL_THREAD, pt->pid, pt->tid };
		int d = sel->kind == TOP_SEL_THREAD ? sel_cmp(&me, sel) : 1;
		if (d == 0)
			c->index = (int)t;
		if (!in_cycle(p, (uint32_t)t))
			continue;
		c->threads++;
		c->pos += d < 0;
	}
	if (have_lanes) {
		size_t nstacks = profile__nstacks(p);
		for (size_t si = 0; si < nstacks && !c->exited; si++) {
			const struct prof_stack *st = profile__stack_at(p, (uint32_t)si);
			c->exited = st->count > st->marked && profile__thread_at(p, st->thread)->exited;
		}
	}
	if (sel->kind == TOP_SEL_THREAD)
		c->pos = c->index >= 0 ? c->pos + 1 : 0;
	else if (sel->kind == TOP_SEL_EXITED)
		c->pos = c->threads + 1;
}

static int sel_qcmp(const void *a, const void *b)
{
	return sel_cmp(a, b);
}

/* The entries of the cycle after "all", in order, into m->cycle. */
static void cycle_list(struct topmodel *m, const struct profile *p)
{
	struct top_cycle c;
	topmodel_cycle(p, &(struct top_sel){ .kind = TOP_SEL_ALL }, &c);
	m->ncycle = 0;
	m->cycle = xgrow(m->cycle, &m->cycle_cap, c.threads + 1, sizeof(*m->cycle));
	size_t nthreads = profile__nthreads(p);
	for (size_t t = 0; t < nthreads && m->ncycle < c.threads; t++) {
		const struct prof_thread *pt = profile__thread_at(p, (uint32_t)t);
		if (in_cycle(p, (uint32_t)t))
			m->cycle[m->ncycle++] = (struct top_sel){ TOP_SEL_THREAD, pt->pid, pt->tid };
	}
	qsort(m->cycle, m->ncycle, sizeof(*m->cycle), sel_qcmp);
	if (c.exited)
		m->cycle[m->ncycle++] = (struct top_sel){ .kind = TOP_SEL_EXITED };
}

static const struct top_sel *find_sel(const struct top_sel *v, size_t n, const struct top_sel *x)
{
	return n ? bsearch(x, v, n, sizeof(*v), sel_qcmp) : NULL;
}

struct top_sel topmodel__step(struct topmodel *m, const struct profile *p, const struct top_sel *cur,
			      int dir)
{
	static const struct top_sel all = { .kind = TOP_SEL_ALL };
	/* The list of the last step: where a thread that is gone stood. */
	struct top_sel *old = m->cycle;
	size_t nold = m->ncycle;
	m->cycle = NULL;
	m->ncycle = m->cycle_cap = 0;
	cycle_list(m, p);
	const struct top_sel *v = m->cycle;
	size_t n = m->ncycle;
	struct top_sel next = all;
	const struct top_sel *here = cur->kind == TOP_SEL_ALL ? NULL : find_sel(v, n, cur);
	const struct top_sel *was = here || cur->kind == TOP_SEL_ALL ? NULL : find_sel(old, nold, cur);
	if (cur->kind == TOP_SEL_ALL) {
		if (n)
			next = dir > 0 ? v[0] : v[n - 1];
	} else if (here) {
		size_t i = (size_t)(here - v);
		if (dir > 0 && i + 1 < n)
			next = v[i + 1];
		else if (dir < 0 && i > 0)
			next = v[i - 1];
	} else if (was) {
		/* Gone: the nearest entry of the old list still there. */
		for (ptrdiff_t j = (was - old) + (dir > 0 ? 1 : -1); j >= 0 && (size_t)j < nold;
		     j += dir > 0 ? 1 : -1) {
			if (find_sel(v, n, &old[j])) {
				next = old[j];
				break;
			}
		}
	} else {
		/* Gone and not in the old list: the nearest entry in the order. */
		for (size_t i = 0; i < n; i++) {
			if (dir > 0 && sel_cmp(&v[i], cur) > 0) {
				next = v[i];
				break;
			}
			if (dir < 0 && sel_cmp(&v[i], cur) < 0)
				next = v[i];
		}
	}
	free(old);
	return next;
}
