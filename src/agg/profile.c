/* SPDX-License-Identifier: MIT
 *
 * The profile model (see profile.h). Frames and stacks each live in a
 * growable array indexed by a hash index of ids (util/hashmap.h: FNV-1a
 * hashes, open addressing; a stack that moves to a lane is taken out and put
 * back). A stack's frame ids are one allocation of their own; the stacks of
 * a thread are chained through next (the thread's first), and unused stack
 * ids through the same link (free_stack). A stack's hash mixes its thread's
 * key, a number given once per thread entry, so a thread moved to another
 * index keeps its stacks where they are in the index. Threads are found by
 * (pid, tid) in a third index (lanes are not in it).
 */
#include "agg/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/intern.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

#define EMPTY UINT32_MAX

struct frame_rec {
	struct prof_frame pub;
};

struct stack_rec {
	struct prof_stack pub;
	uint64_t hash;
	uint32_t next;          /* next stack of the same thread, or next unused id; EMPTY: none */
	uint32_t remap;         /* during profile__thread_exit: the lane's stack id */
};

struct thread_rec {
	struct prof_thread pub;
	uint32_t key;           /* never reused: what stack hashes mix in */
	uint32_t first_stack;   /* EMPTY: none */
	uint32_t last_plus1;    /* the stack its last add interned, + 1 (0: none) */
	bool lane;              /* a lane of exited threads: not in the (pid, tid) table */
	struct prof_run *runs;
	size_t nruns, cap;
};

struct profile {
	struct frame_rec *frames;
	size_t nframes, frames_cap;
	struct hashmap frame_tab;

	struct stack_rec *stacks;
	size_t nstacks, stacks_cap;
	struct hashmap stack_tab;
	uint32_t free_stack;    /* first unused stack id, EMPTY: none */

	struct thread_rec *threads;
	size_t nthreads, threads_cap;
	struct hashmap thread_tab;      /* (pid, tid) -> thread index, lanes left out */
	uint32_t next_key;
	struct intern *strings;         /* thread names and command lines */

	struct prof_meta meta;
	char *title, *cmdline, *pyver;
	uint64_t total;
	uint64_t ticks, tick_ns, prev_tick_ns;  /* profile__tick */
	bool no_runs;
	uint64_t base_total;            /* profile__add_base */

	struct prof_source *sources;    /* profile__set_source; strings owned */
	size_t nsources, sources_cap, source_bytes;
	struct hashmap source_tab;      /* filename -> index */

	prof_listener_fn listener;      /* profile__set_listener, or NULL */
	void *listener_ctx;
};

struct profile *profile__new(void)
{
	struct profile *p = xcalloc(1, sizeof(*p));
	hashmap__init(&p->frame_tab, 1024);
	hashmap__init(&p->stack_tab, 1024);
	p->free_stack = EMPTY;
	hashmap__init(&p->thread_tab, 128);
	hashmap__init(&p->source_tab, 64);
	p->strings = intern__new();
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
	for (size_t i = 0; i < p->nstacks; i++)
		free((uint32_t *)p->stacks[i].pub.frames);
	for (size_t i = 0; i < p->nthreads; i++)
		free(p->threads[i].runs);
	for (size_t i = 0; i < p->nsources; i++) {
		free((char *)p->sources[i].filename);
		free((char *)p->sources[i].text);
		free((char *)p->sources[i].error);
	}
	free(p->sources);
	hashmap__fini(&p->source_tab);
	intern__free(p->strings);
	free(p->frames);
	hashmap__fini(&p->frame_tab);
	free(p->stacks);
	hashmap__fini(&p->stack_tab);
	free(p->threads);
	hashmap__fini(&p->thread_tab);
	free(p->title);
	free(p->cmdline);
	free(p->pyver);
	free(p);
}

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
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, name, strlen(name) + 1);
	h = hashmap_fnv(h, filename, strlen(filename) + 1);
	h = hashmap_fnv(h, &line, sizeof(line));
	h = hashmap_fnv(h, &kind, sizeof(kind));
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&p->frame_tab, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&p->frame_tab, &pos)) {
		const struct frame_rec *f = &p->frames[id];
		if (f->pub.line == line && f->pub.kind == kind &&
		    str_eq(f->pub.name, name) && str_eq(f->pub.filename, filename))
			return id;
	}
	uint32_t id = (uint32_t)p->nframes;
	p->frames = xgrow(p->frames, &p->frames_cap, p->nframes + 1, sizeof(*p->frames));
	p->frames[id] = (struct frame_rec){ { xstrdup(name), xstrdup(filename),
					      xstrdup(short_filename), line, kind } };
	p->nframes++;
	hashmap__insert(&p->frame_tab, &pos, id);
	return id;
}

/* ---- threads ------------------------------------------------------------- */

static uint64_t thread_hash(pid_t pid, pid_t tid)
{
	return ((uint64_t)(uint32_t)pid << 32 | (uint32_t)tid) * 0x9e3779b97f4a7c15ull;
}

static void thread_link(struct profile *p, uint32_t i)
{
	hashmap__add(&p->thread_tab, thread_hash(p->threads[i].pub.pid, p->threads[i].pub.tid), i);
}

static void thread_unlink(struct profile *p, uint32_t i)
{
	hashmap__remove(&p->thread_tab, thread_hash(p->threads[i].pub.pid, p->threads[i].pub.tid), i);
}

/* A new thread entry at the end (lanes are not in the (pid, tid) table). */
static uint32_t thread_append(struct profile *p, pid_t pid, pid_t tid, const char *name,
			      const char *cmdline, bool lane)
{
	p->threads = xgrow(p->threads, &p->threads_cap, p->nthreads + 1, sizeof(*p->threads));
	uint32_t id = (uint32_t)p->nthreads++;
	struct thread_rec *t = &p->threads[id];
	memset(t, 0, sizeof(*t));
	t->pub = (struct prof_thread){ .pid = pid, .tid = tid, .name = intern__get(p->strings, name),
				       .process_cmdline = intern__get(p->strings, cmdline) };
	t->key = p->next_key++;
	t->first_stack = EMPTY;
	t->lane = lane;
	if (!lane)
		thread_link(p, id);
	return id;
}

uint32_t profile__thread(struct profile *p, pid_t pid, pid_t tid, const char *name,
			 const char *process_cmdline)
{
	name = name ? name : "";
	struct hashmap_pos pos;
	for (uint32_t i = hashmap__first(&p->thread_tab, thread_hash(pid, tid), &pos); i != HASHMAP_NONE;
	     i = hashmap__next(&p->thread_tab, &pos)) {
		struct thread_rec *t = &p->threads[i];
		if (t->pub.pid != pid || t->pub.tid != tid)
			continue;
		if (name[0] && strcmp(t->pub.name, name) != 0) {
			intern__put(p->strings, t->pub.name);
			t->pub.name = intern__get(p->strings, name);
		}
		return i;
	}
	return thread_append(p, pid, tid, name, process_cmdline, false);
}

uint32_t profile__lane(struct profile *p, pid_t pid, const char *name, const char *process_cmdline,
		       uint32_t exited)
{
	uint32_t id = thread_append(p, pid, 0, name ? name : "", process_cmdline ? process_cmdline : "",
				    true);
	p->threads[id].pub.exited = exited;
	return id;
}

void profile__thread_set_ns_tid(struct profile *p, uint32_t thread, pid_t ns_tid)
{
	if (thread < p->nthreads)
		p->threads[thread].pub.ns_tid = ns_tid;
}

/* ---- stacks -------------------------------------------------------------- */

static uint64_t stack_hash(const struct profile *p, uint32_t thread, const uint32_t *frames, size_t n)
{
	uint64_t h = HASHMAP_FNV0 ^ ((uint64_t)p->threads[thread].key * 0x9e3779b97f4a7c15ull);
	return hashmap_words(h, frames, n);
}

/* The id of (thread, frames), EMPTY if none; *pos: where the search ended
 * (for hashmap__insert). */
static uint32_t stack_find(const struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
			   uint64_t h, struct hashmap_pos *pos)
{
	for (uint32_t id = hashmap__first(&p->stack_tab, h, pos); id != HASHMAP_NONE;
	     id = hashmap__next(&p->stack_tab, pos)) {
		const struct stack_rec *s = &p->stacks[id];
		if (s->pub.thread == thread && s->pub.n == n &&
		    memcmp(s->pub.frames, frames, n * sizeof(*frames)) == 0)
			return id;
	}
	return EMPTY;
}

static uint32_t stack_intern_hashed(struct profile *p, uint32_t thread, const uint32_t *frames,
				    size_t n)
{
	uint64_t h = stack_hash(p, thread, frames, n);
	struct hashmap_pos pos;
	uint32_t id = stack_find(p, thread, frames, n, h, &pos);
	if (id != EMPTY)
		return id;
	if (p->free_stack != EMPTY) {
		id = p->free_stack;
		p->free_stack = p->stacks[id].next;
	} else {
		p->stacks = xgrow(p->stacks, &p->stacks_cap, p->nstacks + 1, sizeof(*p->stacks));
		id = (uint32_t)p->nstacks++;
	}
	uint32_t *copy = xmalloc((n ? n : 1) * sizeof(*copy));
	memcpy(copy, frames, n * sizeof(*frames));
	struct thread_rec *t = &p->threads[thread];
	p->stacks[id] = (struct stack_rec){ { .thread = thread, .frames = copy, .n = (uint32_t)n },
					    h, t->first_stack, id };
	t->first_stack = id;
	hashmap__insert(&p->stack_tab, &pos, id);
	return id;
}

static uint32_t stack_intern(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n)
{
	/* A thread often shows the same stack again: compare with its last
	 * one before hashing (the same test as stack_find's, so an id reused
	 * since by another stack never matches wrongly). */
	uint32_t last = p->threads[thread].last_plus1 - 1;
	if (p->threads[thread].last_plus1 && last < p->nstacks) {
		const struct stack_rec *s = &p->stacks[last];
		if (s->pub.frames && s->pub.thread == thread && s->pub.n == n &&
		    memcmp(s->pub.frames, frames, n * sizeof(*frames)) == 0)
			return last;
	}
	uint32_t id = stack_intern_hashed(p, thread, frames, n);
	p->threads[thread].last_plus1 = id + 1;
	return id;
}

uint32_t profile__add(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
		      uint64_t t_ns, uint32_t weight)
{
	if (thread >= p->nthreads || weight == 0)
		return PROFILE_NO_STACK;
	uint32_t sid = stack_intern(p, thread, frames, n);
	p->stacks[sid].pub.count += weight;
	p->total += weight;
	struct thread_rec *t = &p->threads[thread];
	t->pub.samples += weight;
	if (p->listener) {
		struct prof_event e = { .kind = PROF_EVENT_ADD, .thread = thread, .stack = sid,
					.t_ns = t_ns, .weight = weight };
		p->listener(p->listener_ctx, p, &e);
	}
	if (p->no_runs)
		return sid;
	struct prof_run *last = t->nruns ? &t->runs[t->nruns - 1] : NULL;
	if (last && last->stack == sid && last->count <= UINT32_MAX - weight &&
	    (p->ticks < 2 || last->t_last_ns >= p->prev_tick_ns)) {
		last->count += weight;
		last->t_last_ns = t_ns;
		return sid;
	}
	t->runs = xgrow(t->runs, &t->cap, t->nruns + 1, sizeof(*t->runs));
	t->runs[t->nruns++] = (struct prof_run){ sid, weight, t_ns, t_ns };
	return sid;
}

void profile__add_class(struct profile *p, uint32_t stack, enum prof_class c, uint64_t weight)
{
	if (stack >= p->nstacks || (unsigned)c >= PROF_NCLASSES || !p->stacks[stack].pub.frames)
		return;
	p->stacks[stack].pub.cls[c] += weight;
	if (p->listener && weight) {
		struct prof_event e = { .kind = PROF_EVENT_CLASS, .thread = p->stacks[stack].pub.thread,
					.stack = stack, .cls = c, .amount = (int64_t)weight };
		p->listener(p->listener_ctx, p, &e);
	}
}

void profile__add_memory(struct profile *p, uint32_t stack, int64_t bytes)
{
	if (stack >= p->nstacks || !p->stacks[stack].pub.frames)
		return;
	if (bytes > 0)
		p->stacks[stack].pub.mem_grow += (uint64_t)bytes;
	else
		p->stacks[stack].pub.mem_shrink += (uint64_t)0 - (uint64_t)bytes;
	if (p->listener && bytes) {
		struct prof_event e = { .kind = PROF_EVENT_MEMORY, .thread = p->stacks[stack].pub.thread,
					.stack = stack, .amount = bytes };
		p->listener(p->listener_ctx, p, &e);
	}
}

uint32_t profile__stack_find(const struct profile *p, uint32_t thread, const uint32_t *frames, size_t n)
{
	if (thread >= p->nthreads)
		return PROFILE_NO_STACK;
	struct hashmap_pos pos;
	uint32_t id = stack_find(p, thread, frames, n, stack_hash(p, thread, frames, n), &pos);
	return id == EMPTY ? PROFILE_NO_STACK : id;
}

uint64_t profile__class_total(const struct profile *p, enum prof_class c)
{
	uint64_t t = 0;
	for (size_t i = 0; (unsigned)c < PROF_NCLASSES && i < p->nstacks; i++)
		t += p->stacks[i].pub.cls[c];
	return t;
}

void profile__memory_total(const struct profile *p, uint64_t *grow, uint64_t *shrink)
{
	uint64_t g = 0, s = 0;
	for (size_t i = 0; i < p->nstacks; i++) {
		g += p->stacks[i].pub.mem_grow;
		s += p->stacks[i].pub.mem_shrink;
	}
	*grow = g;
	*shrink = s;
}

void profile__add_base(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
		       uint64_t weight)
{
	if (thread >= p->nthreads || weight == 0)
		return;
	/* stack_intern may move p->stacks: index after it */
	uint32_t sid = stack_intern(p, thread, frames, n);
	p->stacks[sid].pub.base += weight;
	p->base_total += weight;
}

uint64_t profile__base_total(const struct profile *p) { return p->base_total; }

/* ---- sources ------------------------------------------------------------- */

static uint64_t source_hash(const char *filename)
{
	return hashmap_fnv(HASHMAP_FNV0, filename, strlen(filename));
}

static size_t source_find(const struct profile *p, const char *filename, uint64_t h,
			  struct hashmap_pos *pos)
{
	for (uint32_t i = hashmap__first(&p->source_tab, h, pos); i != HASHMAP_NONE;
	     i = hashmap__next(&p->source_tab, pos))
		if (strcmp(p->sources[i].filename, filename) == 0)
			return i;
	return SIZE_MAX;
}

void profile__set_source(struct profile *p, const char *filename, const char *text, size_t len,
			 const char *error)
{
	uint64_t h = source_hash(filename);
	struct hashmap_pos pos;
	size_t i = source_find(p, filename, h, &pos);
	if (i == SIZE_MAX) {
		p->sources = xgrow(p->sources, &p->sources_cap, p->nsources + 1, sizeof(*p->sources));
		i = p->nsources++;
		p->sources[i] = (struct prof_source){ xstrdup(filename), NULL, 0, NULL };
		hashmap__insert(&p->source_tab, &pos, (uint32_t)i);
	}
	struct prof_source *s = &p->sources[i];
	p->source_bytes -= s->len;
	free((char *)s->text);
	free((char *)s->error);
	s->text = NULL;
	s->len = 0;
	s->error = NULL;
	if (text) {
		char *copy = xmalloc(len ? len : 1);
		memcpy(copy, text, len);
		s->text = copy;
		s->len = len;
		p->source_bytes += len;
	} else {
		s->error = xstrdup(error ? error : "not read");
	}
}

const struct prof_source *profile__source(const struct profile *p, const char *filename)
{
	struct hashmap_pos pos;
	size_t i = source_find(p, filename, source_hash(filename), &pos);
	return i == SIZE_MAX ? NULL : &p->sources[i];
}

size_t profile__nsources(const struct profile *p) { return p->nsources; }
size_t profile__source_bytes(const struct profile *p) { return p->source_bytes; }

const struct prof_source *profile__source_at(const struct profile *p, size_t i)
{
	return i < p->nsources ? &p->sources[i] : NULL;
}

/* ---- exited threads ------------------------------------------------------ */

const char *profile_thread_pattern(const char *name, char *buf, size_t n)
{
	size_t o = 0;
	if (!n)
		return buf;
	name = name ? name : "";
	for (size_t i = 0; name[i] && o + 1 < n;) {
		unsigned char c = (unsigned char)name[i];
		unsigned char prev = i ? (unsigned char)name[i - 1] : 0;
		bool after_letter = (prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z');
		if (c >= '0' && c <= '9' && !after_letter) {
			while (name[i] >= '0' && name[i] <= '9')
				i++;
			buf[o++] = 'N';
			continue;
		}
		buf[o++] = (char)c;
		i++;
	}
	buf[o] = '\0';
	return buf;
}

/* The lane of exited threads of pid named pattern (an interned string of
 * p->strings): found, or appended. */
static uint32_t lane_for(struct profile *p, pid_t pid, const char *pattern, const char *cmdline)
{
	size_t lanes = 0;
	for (uint32_t i = 0; i < p->nthreads; i++) {
		const struct prof_thread *t = &p->threads[i].pub;
		if (!p->threads[i].lane || t->pid != pid)
			continue;
		if (t->name == pattern)
			return i;
		lanes++;
	}
	if (lanes >= PROFILE_MAX_LANES - 1 && strcmp(pattern, PROFILE_OTHER_LANE) != 0) {
		const char *other = intern__get(p->strings, PROFILE_OTHER_LANE);
		uint32_t id = lane_for(p, pid, other, cmdline);
		intern__put(p->strings, other);
		return id;
	}
	return thread_append(p, pid, 0, pattern, cmdline, true);
}

/* Move the stacks of thread `from` to lane `to`: each joins the lane's stack
 * with the same frames (its id becomes unused) or is re-keyed to the lane.
 * remap of every moved stack says which lane stack it became. */
static void move_stacks(struct profile *p, uint32_t from, uint32_t to)
{
	uint32_t sid = p->threads[from].first_stack;
	while (sid != EMPTY) {
		struct stack_rec *s = &p->stacks[sid];
		uint32_t next = s->next;
		hashmap__remove(&p->stack_tab, s->hash, sid);
		uint64_t h = stack_hash(p, to, s->pub.frames, s->pub.n);
		struct hashmap_pos pos;
		uint32_t into = stack_find(p, to, s->pub.frames, s->pub.n, h, &pos);
		if (into != EMPTY) {
			struct stack_rec *d = &p->stacks[into];
			d->pub.count += s->pub.count;
			d->pub.marked += s->pub.marked;
			d->pub.base += s->pub.base;
			for (int c = 0; c < PROF_NCLASSES; c++) {
				d->pub.cls[c] += s->pub.cls[c];
				d->pub.cls_marked[c] += s->pub.cls_marked[c];
			}
			d->pub.mem_grow += s->pub.mem_grow;
			d->pub.mem_shrink += s->pub.mem_shrink;
			d->pub.mem_grow_marked += s->pub.mem_grow_marked;
			d->pub.mem_shrink_marked += s->pub.mem_shrink_marked;
			free((uint32_t *)s->pub.frames);
			s->pub = (struct prof_stack){ .frames = NULL };   /* thread 0: always valid */
			s->remap = into;
			s->next = p->free_stack;
			p->free_stack = sid;
		} else {
			s->pub.thread = to;
			s->hash = h;
			s->remap = sid;
			s->next = p->threads[to].first_stack;
			p->threads[to].first_stack = sid;
			hashmap__insert(&p->stack_tab, &pos, sid);
		}
		sid = next;
	}
	p->threads[from].first_stack = EMPTY;
}

void profile__thread_exit(struct profile *p, uint32_t thread)
{
	if (thread >= p->nthreads || p->threads[thread].lane)
		return;
	if (p->listener) {
		struct prof_event e = { .kind = PROF_EVENT_THREAD_EXIT, .thread = thread,
					.t_ns = p->tick_ns };
		p->listener(p->listener_ctx, p, &e);
	}
	char buf[256];
	profile_thread_pattern(p->threads[thread].pub.name, buf, sizeof(buf));
	const char *pattern = intern__get(p->strings, buf);
	uint32_t lane = lane_for(p, p->threads[thread].pub.pid, pattern, p->threads[thread].pub.process_cmdline);
	intern__put(p->strings, pattern);
	struct thread_rec *l = &p->threads[lane], *t = &p->threads[thread];
	l->pub.exited++;
	l->pub.samples += t->pub.samples;
	move_stacks(p, thread, lane);
	if (t->nruns) {
		l->runs = xgrow(l->runs, &l->cap, l->nruns + t->nruns, sizeof(*l->runs));
		for (size_t r = 0; r < t->nruns; r++) {
			struct prof_run run = t->runs[r];
			run.stack = p->stacks[run.stack].remap;
			l->runs[l->nruns++] = run;
		}
	}
	free(t->runs);
	thread_unlink(p, thread);
	intern__put(p->strings, t->pub.name);
	intern__put(p->strings, t->pub.process_cmdline);
	/* The last thread takes the index. */
	uint32_t last = (uint32_t)p->nthreads - 1;
	if (thread != last) {
		bool linked = !p->threads[last].lane;
		if (linked)
			thread_unlink(p, last);
		p->threads[thread] = p->threads[last];
		for (uint32_t sid = p->threads[thread].first_stack; sid != EMPTY; sid = p->stacks[sid].next)
			p->stacks[sid].pub.thread = thread;
		if (linked)
			thread_link(p, thread);
	}
	p->nthreads--;
}

void profile__mark(struct profile *p)
{
	for (size_t i = 0; i < p->nstacks; i++) {
		struct prof_stack *s = &p->stacks[i].pub;
		s->marked = s->count;
		memcpy(s->cls_marked, s->cls, sizeof(s->cls));
		s->mem_grow_marked = s->mem_grow;
		s->mem_shrink_marked = s->mem_shrink;
	}
}

void profile__set_listener(struct profile *p, prof_listener_fn fn, void *ctx)
{
	p->listener = fn;
	p->listener_ctx = ctx;
}

void profile__set_keep_runs(struct profile *p, bool keep)
{
	p->no_runs = !keep;
}

void profile__tick(struct profile *p, uint64_t t_ns)
{
	p->prev_tick_ns = p->tick_ns;
	p->tick_ns = t_ns;
	p->ticks++;
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

double profile_sample_rate(const struct prof_meta *m)
{
	if (m->ticks && m->duration_ns)
		return (double)m->ticks * 1e9 / (double)m->duration_ns;
	return m->rate_hz > 0 ? m->rate_hz : 0;
}
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

const char *profile_frame_kind_name(enum prof_frame_kind k)
{
	switch (k) {
	case PROF_FRAME_PYTHON: return "python";
	case PROF_FRAME_NATIVE: return "native";
	case PROF_FRAME_PROCESS: return "process";
	case PROF_FRAME_THREAD: return "thread";
	case PROF_FRAME_INTERP: return "interpreter";
	case PROF_FRAME_OTHER: break;
	case PROF_FRAME_TASK: return "task";
	}
	return "other";
}

const char *profile_class_name(enum prof_class c)
{
	switch (c) {
	case PROF_CLASS_PYTHON: return "python";
	case PROF_CLASS_NATIVE: return "native";
	case PROF_CLASS_SYSTEM: return "system";
	}
	return "?";
}

const char *profile_frame_label(const struct prof_frame *f, bool full, char *buf, size_t n)
{
	const char *file = full ? f->filename : f->short_filename;
	if (f->kind == PROF_FRAME_PROCESS || f->kind == PROF_FRAME_THREAD ||
	    f->kind == PROF_FRAME_OTHER || f->kind == PROF_FRAME_TASK || !file[0])
		snprintf(buf, n, "%s", f->name);
	else if (f->line >= 0)
		snprintf(buf, n, "%s (%s:%d)", f->name, file, f->line);
	else
		snprintf(buf, n, "%s (%s)", f->name, file);
	return buf;
}
