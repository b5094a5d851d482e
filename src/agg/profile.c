/* SPDX-License-Identifier: MIT
 *
 * The profile model (see profile.h). Frames and stacks each live in a
 * growable array indexed by an open-addressing hash table of ids (FNV-1a
 * hashes, linear probing, load factor <= 1/2). Stack frame ids are kept in
 * one shared pool, so a stack costs its frame ids plus one small record.
 */
#include "agg/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define EMPTY UINT32_MAX

struct frame_rec {
	struct prof_frame pub;
	uint64_t hash;
};

struct stack_rec {
	struct prof_stack pub;
	size_t pool_off;
	uint64_t hash;
};

struct thread_rec {
	struct prof_thread pub;
	char *name, *cmdline;
	struct prof_run *runs;
	size_t nruns, cap;
};

struct table {
	uint32_t *slots;
	size_t cap;             /* power of two */
};

struct profile {
	struct frame_rec *frames;
	size_t nframes, frames_cap;
	struct table frame_tab;

	struct stack_rec *stacks;
	size_t nstacks, stacks_cap;
	struct table stack_tab;
	uint32_t *pool;
	size_t pool_n, pool_cap;

	struct thread_rec *threads;
	size_t nthreads, threads_cap;

	struct prof_meta meta;
	char *title, *cmdline, *pyver;
	uint64_t total;
	uint64_t run_gap_ns;
	bool no_runs;
};

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static const uint64_t FNV0 = 14695981039346656037ull;

static void table_init(struct table *t)
{
	t->cap = 1024;
	t->slots = xmalloc(t->cap * sizeof(*t->slots));
	memset(t->slots, 0xff, t->cap * sizeof(*t->slots));
}

struct profile *profile__new(void)
{
	struct profile *p = xcalloc(1, sizeof(*p));
	table_init(&p->frame_tab);
	table_init(&p->stack_tab);
	p->meta.title = p->meta.command_line = p->meta.python_version = "";
	return p;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nframes; i++) {
		free((char *)p->frames[i].pub.name);
		free((char *)p->frames[i].pub.filename);
		free((char *)p->frames[i].pub.short_filename);
	}
	for (size_t i = 0; i < p->nthreads; i++) {
		free(p->threads[i].name);
		free(p->threads[i].cmdline);
		free(p->threads[i].runs);
	}
	free(p->frames);
	free(p->frame_tab.slots);
	free(p->stacks);
	free(p->stack_tab.slots);
	free(p->pool);
	free(p->threads);
	free(p->title);
	free(p->cmdline);
	free(p->pyver);
	free(p);
}

/* Rebuild a table at twice the size from the hashes of its n items. */
static void table_grow(struct table *t, size_t n, uint64_t (*hash_of)(const struct profile *, uint32_t),
		       const struct profile *p)
{
	free(t->slots);
	t->cap *= 2;
	t->slots = xmalloc(t->cap * sizeof(*t->slots));
	memset(t->slots, 0xff, t->cap * sizeof(*t->slots));
	for (uint32_t id = 0; id < n; id++) {
		size_t i = hash_of(p, id) & (t->cap - 1);
		while (t->slots[i] != EMPTY)
			i = (i + 1) & (t->cap - 1);
		t->slots[i] = id;
	}
}

static uint64_t frame_hash_of(const struct profile *p, uint32_t id) { return p->frames[id].hash; }
static uint64_t stack_hash_of(const struct profile *p, uint32_t id) { return p->stacks[id].hash; }

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

uint32_t profile__frame(struct profile *p, const char *name, const char *filename,
			const char *short_filename, int line, enum prof_frame_kind kind)
{
	name = name ? name : "";
	filename = filename ? filename : "";
	short_filename = short_filename ? short_filename : "";
	uint64_t h = fnv(FNV0, name, strlen(name) + 1);
	h = fnv(h, filename, strlen(filename) + 1);
	h = fnv(h, &line, sizeof(line));
	h = fnv(h, &kind, sizeof(kind));
	struct table *t = &p->frame_tab;
	size_t i = h & (t->cap - 1);
	for (; t->slots[i] != EMPTY; i = (i + 1) & (t->cap - 1)) {
		const struct frame_rec *f = &p->frames[t->slots[i]];
		if (f->hash == h && f->pub.line == line && f->pub.kind == kind &&
		    str_eq(f->pub.name, name) && str_eq(f->pub.filename, filename))
			return t->slots[i];
	}
	uint32_t id = (uint32_t)p->nframes;
	p->frames = xgrow(p->frames, &p->frames_cap, p->nframes + 1, sizeof(*p->frames));
	p->frames[id] = (struct frame_rec){ { xstrdup(name), xstrdup(filename),
					      xstrdup(short_filename), line, kind }, h };
	p->nframes++;
	t->slots[i] = id;
	if (p->nframes * 2 > t->cap)
		table_grow(t, p->nframes, frame_hash_of, p);
	return id;
}

uint32_t profile__thread(struct profile *p, pid_t pid, pid_t tid, const char *name,
			 const char *process_cmdline)
{
	name = name ? name : "";
	for (size_t i = 0; i < p->nthreads; i++) {
		struct thread_rec *t = &p->threads[i];
		if (t->pub.pid != pid || t->pub.tid != tid)
			continue;
		if (name[0] && strcmp(t->name, name) != 0) {
			free(t->name);
			t->name = xstrdup(name);
			t->pub.name = t->name;
		}
		return (uint32_t)i;
	}
	p->threads = xgrow(p->threads, &p->threads_cap, p->nthreads + 1, sizeof(*p->threads));
	struct thread_rec *t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	t->cmdline = xstrdup(process_cmdline ? process_cmdline : "");
	t->pub = (struct prof_thread){ .pid = pid, .tid = tid, .name = t->name,
				       .process_cmdline = t->cmdline };
	return (uint32_t)p->nthreads++;
}

void profile__thread_set_ns_tid(struct profile *p, uint32_t thread, pid_t ns_tid)
{
	if (thread < p->nthreads)
		p->threads[thread].pub.ns_tid = ns_tid;
}

static uint32_t stack_intern(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n)
{
	uint64_t h = fnv(FNV0, &thread, sizeof(thread));
	h = fnv(h, frames, n * sizeof(*frames));
	struct table *t = &p->stack_tab;
	size_t i = h & (t->cap - 1);
	for (; t->slots[i] != EMPTY; i = (i + 1) & (t->cap - 1)) {
		const struct stack_rec *s = &p->stacks[t->slots[i]];
		if (s->hash == h && s->pub.thread == thread && s->pub.n == n &&
		    memcmp(p->pool + s->pool_off, frames, n * sizeof(*frames)) == 0)
			return t->slots[i];
	}
	uint32_t id = (uint32_t)p->nstacks;
	uint32_t *old_pool = p->pool;
	p->pool = xgrow(p->pool, &p->pool_cap, p->pool_n + n + 1, sizeof(*p->pool));
	if (p->pool != old_pool)        /* keep every stack's frames pointer valid */
		for (size_t k = 0; k < p->nstacks; k++)
			p->stacks[k].pub.frames = p->pool + p->stacks[k].pool_off;
	memcpy(p->pool + p->pool_n, frames, n * sizeof(*frames));
	p->stacks = xgrow(p->stacks, &p->stacks_cap, p->nstacks + 1, sizeof(*p->stacks));
	p->stacks[id] = (struct stack_rec){ { thread, p->pool + p->pool_n, (uint32_t)n, 0 }, p->pool_n, h };
	p->pool_n += n;
	p->nstacks++;
	t->slots[i] = id;
	if (p->nstacks * 2 > t->cap)
		table_grow(t, p->nstacks, stack_hash_of, p);
	return id;
}

void profile__add(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
		  uint64_t t_ns, uint32_t weight)
{
	if (thread >= p->nthreads || weight == 0)
		return;
	uint32_t sid = stack_intern(p, thread, frames, n);
	p->stacks[sid].pub.count += weight;
	p->total += weight;
	struct thread_rec *t = &p->threads[thread];
	t->pub.samples += weight;
	if (p->no_runs)
		return;
	struct prof_run *last = t->nruns ? &t->runs[t->nruns - 1] : NULL;
	if (last && last->stack == sid && last->count <= UINT32_MAX - weight &&
	    (!p->run_gap_ns || t_ns - last->t_last_ns <= p->run_gap_ns)) {
		last->count += weight;
		last->t_last_ns = t_ns;
		return;
	}
	t->runs = xgrow(t->runs, &t->cap, t->nruns + 1, sizeof(*t->runs));
	t->runs[t->nruns++] = (struct prof_run){ sid, weight, t_ns, t_ns };
}

void profile__set_keep_runs(struct profile *p, bool keep)
{
	p->no_runs = !keep;
}

void profile__set_run_gap(struct profile *p, uint64_t gap_ns)
{
	p->run_gap_ns = gap_ns;
}

void profile__set_meta(struct profile *p, const struct prof_meta *m)
{
	/* Copy first: m's strings may be the ones held now (profile__meta()). */
	char *title = xstrdup(m->title ? m->title : "");
	char *cmdline = xstrdup(m->command_line ? m->command_line : "");
	char *pyver = xstrdup(m->python_version ? m->python_version : "");
	free(p->title);
	free(p->cmdline);
	free(p->pyver);
	p->meta = *m;
	p->title = title;
	p->cmdline = cmdline;
	p->pyver = pyver;
	p->meta.title = title;
	p->meta.command_line = cmdline;
	p->meta.python_version = pyver;
}

const struct prof_meta *profile__meta(const struct profile *p) { return &p->meta; }
size_t profile__nframes(const struct profile *p) { return p->nframes; }
size_t profile__nthreads(const struct profile *p) { return p->nthreads; }
size_t profile__nstacks(const struct profile *p) { return p->nstacks; }
uint64_t profile__total(const struct profile *p) { return p->total; }

const struct prof_frame *profile__frame_at(const struct profile *p, uint32_t id)
{
	return id < p->nframes ? &p->frames[id].pub : NULL;
}

const struct prof_thread *profile__thread_at(const struct profile *p, uint32_t id)
{
	return id < p->nthreads ? &p->threads[id].pub : NULL;
}

const struct prof_stack *profile__stack_at(const struct profile *p, uint32_t id)
{
	return id < p->nstacks ? &p->stacks[id].pub : NULL;
}

const struct prof_run *profile__runs(const struct profile *p, uint32_t thread, size_t *n)
{
	if (thread >= p->nthreads) {
		*n = 0;
		return NULL;
	}
	*n = p->threads[thread].nruns;
	return p->threads[thread].runs;
}

const char *profile_frame_label(const struct prof_frame *f, bool full, char *buf, size_t n)
{
	const char *file = full ? f->filename : f->short_filename;
	if (f->kind == PROF_FRAME_PROCESS || f->kind == PROF_FRAME_THREAD ||
	    f->kind == PROF_FRAME_OTHER || !file[0])
		snprintf(buf, n, "%s", f->name);
	else if (f->line >= 0)
		snprintf(buf, n, "%s (%s:%d)", f->name, file, f->line);
	else
		snprintf(buf, n, "%s (%s)", f->name, file);
	return buf;
}
