/* SPDX-License-Identifier: MIT
 *
 * JSON Lines writer (see jsonl.h). Lines are assembled in an output buffer
 * (writers/outbuf.h; strings escaped by json_outbuf_string). The stream
 * keeps what it has defined: a bit per profile frame id (frame ids never
 * change, so the stream uses them as they are); its own thread ids by
 * (pid, tid) in a hash index, with the name last written; its own stack ids
 * by frame sequence (threads left out: one stack line serves every thread)
 * in a hash index, and a cache from the profile's stack id to its own that
 * is checked against the frames on every use, because the profile reuses
 * the id of a stack emptied by a thread's exit.
 *
 * The python/native/system split and --memory bytes (prof_meta.classified,
 * .memory, also in the meta) are lines of their own that name a sample's
 * thread and stack: {"class":"native","thread_id":T,"stack_id":S,"weight":N}
 * right after the sample it classifies, {"memory":BYTES,...} (growth > 0,
 * shrink < 0) when the sampler attributes a change of resident memory to
 * the stack (after its tick's samples). A whole profile written at once has
 * them per stack after its samples.
 */
#include "writers/jsonl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/hashmap.h"
#include "util/xalloc.h"
#include "writers/json.h"
#include "writers/outbuf.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

#define NONE UINT32_MAX

static void put_int(struct outbuf *o, int64_t v)
{
	if (v < 0) {
		outbuf__mem(o, "-", 1);
		outbuf__u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		outbuf__u64(o, (uint64_t)v);
	}
}

/* ,"key": */
static void key(struct outbuf *o, const char *k)
{
	outbuf__mem(o, ",\"", 2);
	outbuf__str(o, k);
	outbuf__mem(o, "\":", 2);
}

static void kv_str(struct outbuf *o, const char *k, const char *v)
{
	key(o, k);
	json_outbuf_string(o, v ? v : "");
}

static void kv_u64(struct outbuf *o, const char *k, uint64_t v)
{
	key(o, k);
	outbuf__u64(o, v);
}

static void kv_bool(struct outbuf *o, const char *k, bool v)
{
	key(o, k);
	outbuf__str(o, v ? "true" : "false");
}

/* The meta object, "{...}", as in cspy's JSON (writers/profjson.h). */
static void put_meta(struct outbuf *o, const struct prof_meta *m)
{
	outbuf__str(o, "{\"title\":");
	json_outbuf_string(o, m->title ? m->title : "");
	kv_str(o, "command_line", m->command_line);
	kv_str(o, "python_version", m->python_version);
	char rate[64];
	snprintf(rate, sizeof(rate), "%.17g", m->rate_hz > 0 && m->rate_hz < 1e300 ? m->rate_hz : 0);
	key(o, "rate_hz");
	outbuf__str(o, rate);
	kv_u64(o, "start_unix_ns", m->start_unix_ns);
	kv_u64(o, "duration_ns", m->duration_ns);
	kv_u64(o, "samples", m->samples);
	kv_u64(o, "errors", m->errors);
	kv_u64(o, "ticks", m->ticks);
	kv_bool(o, "gil_only", m->gil_only);
	kv_bool(o, "idle_included", m->idle_included);
	kv_bool(o, "native", m->native);
	kv_str(o, "mode", prof_meta_mode(m));
	kv_bool(o, "exception_only", m->exception_only);
	kv_bool(o, "gc_frames", m->gc_frames);
	if (m->classified)
		kv_bool(o, "classified", true);
	if (m->memory)
		kv_bool(o, "memory", true);
	outbuf__mem(o, "}", 1);
}

static void put_head(struct outbuf *o, const struct profile *p)
{
	outbuf__str(o, "{\"cspy\":{\"version\":");
	json_outbuf_string(o, CSPY_VERSION);
	outbuf__str(o, ",\"format\":\"jsonl\",\"format_version\":");
	outbuf__u64(o, JSONL_FORMAT_VERSION);
	outbuf__str(o, "},\"meta\":");
	put_meta(o, profile__meta(p));
	outbuf__mem(o, "}\n", 2);
}

static void put_end(struct outbuf *o, const struct profile *p)
{
	outbuf__str(o, "{\"end\":true,\"meta\":");
	put_meta(o, profile__meta(p));
	outbuf__mem(o, "}\n", 2);
}

static void put_frame(struct outbuf *o, uint32_t id, const struct prof_frame *f)
{
	outbuf__str(o, "{\"frame\":");
	outbuf__u64(o, id);
	kv_str(o, "name", f->name);
	kv_str(o, "filename", f->filename);
	kv_str(o, "short_filename", f->short_filename);
	key(o, "line");
	put_int(o, f->line);
	kv_str(o, "kind", profile_frame_kind_name(f->kind));
	outbuf__mem(o, "}\n", 2);
}

static void put_thread(struct outbuf *o, uint32_t id, const struct prof_thread *t)
{
	outbuf__str(o, "{\"thread\":");
	outbuf__u64(o, id);
	key(o, "pid");
	put_int(o, t->pid);
	key(o, "tid");
	put_int(o, t->tid);
	kv_str(o, "name", t->name);
	kv_str(o, "command_line", t->process_cmdline);
	if (t->ns_tid) {
		key(o, "ns_tid");
		put_int(o, t->ns_tid);
	}
	if (t->exited)
		kv_u64(o, "exited", t->exited);
	outbuf__mem(o, "}\n", 2);
}

static void put_stack(struct outbuf *o, uint32_t id, const uint32_t *frames, uint32_t n)
{
	outbuf__str(o, "{\"stack\":");
	outbuf__u64(o, id);
	outbuf__str(o, ",\"frames\":[");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			outbuf__mem(o, ",", 1);
		outbuf__u64(o, frames[i]);
	}
	outbuf__mem(o, "]}\n", 3);
}

static void put_sample(struct outbuf *o, uint64_t t_ns, const struct prof_thread *t, uint32_t thread,
		       uint32_t stack, uint64_t weight)
{
	outbuf__str(o, "{\"t\":");
	outbuf__u64(o, t_ns);
	key(o, "pid");
	put_int(o, t->pid);
	key(o, "tid");
	put_int(o, t->tid);
	kv_u64(o, "thread_id", thread);
	kv_u64(o, "stack_id", stack);
	kv_u64(o, "weight", weight);
	outbuf__mem(o, "}\n", 2);
}

/* A class line: n samples of (thread, stack) were of class c. */
static void put_class(struct outbuf *o, uint32_t thread, uint32_t stack, enum prof_class c, uint64_t n)
{
	outbuf__str(o, "{\"class\":\"");
	outbuf__str(o, profile_class_name(c));
	outbuf__mem(o, "\"", 1);
	kv_u64(o, "thread_id", thread);
	kv_u64(o, "stack_id", stack);
	kv_u64(o, "weight", n);
	outbuf__mem(o, "}\n", 2);
}

/* A memory line: bytes (> 0 growth, < 0 shrink) of (thread, stack). */
static void put_memory(struct outbuf *o, uint32_t thread, uint32_t stack, int64_t bytes)
{
	outbuf__str(o, "{\"memory\":");
	put_int(o, bytes);
	kv_u64(o, "thread_id", thread);
	kv_u64(o, "stack_id", stack);
	outbuf__mem(o, "}\n", 2);
}

/* ---- a whole profile ----------------------------------------------------- */

struct run_ref {
	uint64_t t_ns;
	uint32_t thread;
	uint32_t run;
};

static int run_cmp(const void *a, const void *b)
{
	const struct run_ref *x = a, *y = b;
	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->run < y->run ? -1 : x->run > y->run;
}

int jsonl_write(FILE *f, const struct profile *p)
{
	struct outbuf *o = xmalloc(sizeof(*o));
	outbuf__init(o, f);
	put_head(o, p);
	for (uint32_t i = 0; i < profile__nframes(p) && !o->err; i++)
		put_frame(o, i, profile__frame_at(p, i));
	for (uint32_t i = 0; i < profile__nthreads(p) && !o->err; i++)
		put_thread(o, i, profile__thread_at(p, i));
	for (uint32_t i = 0; i < profile__nstacks(p) && !o->err; i++) {
		const struct prof_stack *s = profile__stack_at(p, i);
		if (s->count)
			put_stack(o, i, s->frames, s->n);
	}
	/* Samples: the runs of every thread in time order, else one line
	 * per stack (a profile read back from cspy's JSON has no runs). */
	size_t nruns = 0, n;
	for (uint32_t i = 0; i < profile__nthreads(p); i++) {
		profile__runs(p, i, &n);
		nruns += n;
	}
	if (nruns) {
		struct run_ref *refs = xmalloc(nruns * sizeof(*refs));
		size_t k = 0;
		for (uint32_t i = 0; i < profile__nthreads(p); i++) {
			const struct prof_run *r = profile__runs(p, i, &n);
			for (size_t j = 0; j < n; j++)
				refs[k++] = (struct run_ref){ r[j].t_ns, i, (uint32_t)j };
		}
		qsort(refs, nruns, sizeof(*refs), run_cmp);
		for (size_t j = 0; j < nruns && !o->err; j++) {
			const struct prof_run *r = &profile__runs(p, refs[j].thread, &n)[refs[j].run];
			put_sample(o, r->t_ns, profile__thread_at(p, refs[j].thread), refs[j].thread,
				   r->stack, r->count);
		}
		free(refs);
	} else {
		for (uint32_t i = 0; i < profile__nstacks(p) && !o->err; i++) {
			const struct prof_stack *s = profile__stack_at(p, i);
			if (s->count)
				put_sample(o, 0, profile__thread_at(p, s->thread), s->thread, i, s->count);
		}
	}
	/* Each stack's split and bytes, after its samples. */
	for (uint32_t i = 0; i < profile__nstacks(p) && !o->err; i++) {
		const struct prof_stack *s = profile__stack_at(p, i);
		if (!s->count)
			continue;
		for (int c = 0; c < PROF_NCLASSES; c++)
			if (s->cls[c])
				put_class(o, s->thread, i, (enum prof_class)c, s->cls[c]);
		if (s->mem_grow)
			put_memory(o, s->thread, i, s->mem_grow > INT64_MAX ? INT64_MAX : (int64_t)s->mem_grow);
		if (s->mem_shrink)
			put_memory(o, s->thread, i,
				   s->mem_shrink > INT64_MAX ? -INT64_MAX : -(int64_t)s->mem_shrink);
	}
	put_end(o, p);
	outbuf__flush(o);
	int err = o->err;
	free(o);
	if (fflush(f) != 0 || ferror(f))
		err = -EIO;
	return err;
}

/* ---- streaming ----------------------------------------------------------- */

struct jthread {
	pid_t pid, tid;
	char *name;             /* as last written */
};

struct jstack {
	uint32_t *frames;
	uint32_t n;
};

struct jsonl_stream {
	struct profile *p;
	struct outbuf *o;
	unsigned char *frame_done;      /* per profile frame id: defined */
	size_t frame_cap;
	struct jthread *threads;
	size_t nthreads, threads_cap;
	struct hashmap thread_tab;      /* (pid, tid) -> live thread id */
	struct jstack *stacks;
	size_t nstacks, stacks_cap;
	struct hashmap stack_tab;       /* frames -> stack id */
	uint32_t *cache;                /* profile stack id -> stack id, NONE: not known */
	size_t cache_cap;
};

static uint64_t tid_hash(pid_t pid, pid_t tid)
{
	return ((uint64_t)(uint32_t)pid << 32 | (uint32_t)tid) * 0x9e3779b97f4a7c15ull;
}

/* The stream's live thread id of (pid, tid), or NONE. */
static uint32_t thread_find(const struct jsonl_stream *w, pid_t pid, pid_t tid)
{
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&w->thread_tab, tid_hash(pid, tid), &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&w->thread_tab, &pos))
		if (w->threads[id].pid == pid && w->threads[id].tid == tid)
			return id;
	return NONE;
}

/* The stream's id of the profile's thread, defined (again, under a new id,
 * when its name changed) if needed. */
static uint32_t thread_id(struct jsonl_stream *w, const struct prof_thread *t)
{
	uint32_t id = thread_find(w, t->pid, t->tid);
	if (id != NONE && strcmp(w->threads[id].name, t->name) == 0)
		return id;
	if (id != NONE)
		hashmap__remove(&w->thread_tab, tid_hash(t->pid, t->tid), id);
	w->threads = xgrow(w->threads, &w->threads_cap, w->nthreads + 1, sizeof(*w->threads));
	id = (uint32_t)w->nthreads++;
	w->threads[id] = (struct jthread){ t->pid, t->tid, xstrdup(t->name) };
	hashmap__add(&w->thread_tab, tid_hash(t->pid, t->tid), id);
	put_thread(w->o, id, t);
	return id;
}

static void frames_define(struct jsonl_stream *w, const uint32_t *frames, uint32_t n)
{
	size_t nf = profile__nframes(w->p);
	if (nf > w->frame_cap) {
		size_t old = w->frame_cap;
		w->frame_done = xgrow(w->frame_done, &w->frame_cap, nf, 1);
		memset(w->frame_done + old, 0, w->frame_cap - old);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t f = frames[i];
		if (f < nf && !w->frame_done[f]) {
			w->frame_done[f] = 1;
			put_frame(w->o, f, profile__frame_at(w->p, f));
		}
	}
}

/* The stream's id of the profile's stack sid, defined if needed. */
static uint32_t stack_id(struct jsonl_stream *w, uint32_t sid, const struct prof_stack *s)
{
	if (sid < w->cache_cap && w->cache[sid] != NONE) {
		const struct jstack *j = &w->stacks[w->cache[sid]];
		if (j->n == s->n && memcmp(j->frames, s->frames, s->n * sizeof(*s->frames)) == 0)
			return w->cache[sid];
	}
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, s->frames, s->n * sizeof(*s->frames));
	struct hashmap_pos pos;
	uint32_t id;
	for (id = hashmap__first(&w->stack_tab, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&w->stack_tab, &pos)) {
		const struct jstack *j = &w->stacks[id];
		if (j->n == s->n && memcmp(j->frames, s->frames, s->n * sizeof(*s->frames)) == 0)
			break;
	}
	if (id == HASHMAP_NONE) {
		frames_define(w, s->frames, s->n);
		w->stacks = xgrow(w->stacks, &w->stacks_cap, w->nstacks + 1, sizeof(*w->stacks));
		id = (uint32_t)w->nstacks++;
		uint32_t *copy = xmalloc((s->n ? s->n : 1) * sizeof(*copy));
		memcpy(copy, s->frames, s->n * sizeof(*copy));
		w->stacks[id] = (struct jstack){ copy, s->n };
		hashmap__insert(&w->stack_tab, &pos, id);
		put_stack(w->o, id, s->frames, s->n);
	}
	if (sid >= w->cache_cap) {
		size_t old = w->cache_cap;
		w->cache = xgrow(w->cache, &w->cache_cap, (size_t)sid + 1, sizeof(*w->cache));
		for (size_t i = old; i < w->cache_cap; i++)
			w->cache[i] = NONE;
	}
	w->cache[sid] = id;
	return id;
}

static void on_event(void *ctx, const struct profile *p, const struct prof_event *e)
{
	struct jsonl_stream *w = ctx;
	const struct prof_thread *t = profile__thread_at(p, e->thread);
	if (!t)
		return;
	if (e->kind == PROF_EVENT_THREAD_EXIT) {
		uint32_t id = thread_find(w, t->pid, t->tid);
		if (id == NONE)
			return;         /* never written: nothing to say */
		hashmap__remove(&w->thread_tab, tid_hash(t->pid, t->tid), id);
		outbuf__str(w->o, "{\"exit\":");
		outbuf__u64(w->o, id);
		kv_u64(w->o, "at", e->t_ns);
		outbuf__mem(w->o, "}\n", 2);
		return;
	}
	const struct prof_stack *s = profile__stack_at(p, e->stack);
	if (!s)
		return;
	uint32_t th = thread_id(w, t);
	uint32_t st = stack_id(w, e->stack, s);
	if (e->kind == PROF_EVENT_CLASS)
		put_class(w->o, th, st, e->cls, (uint64_t)e->amount);
	else if (e->kind == PROF_EVENT_MEMORY)
		put_memory(w->o, th, st, e->amount);
	else
		put_sample(w->o, e->t_ns, t, th, st, e->weight);
}

struct jsonl_stream *jsonl_stream__new(FILE *f, struct profile *p)
{
	struct jsonl_stream *w = xcalloc(1, sizeof(*w));
	w->p = p;
	w->o = xmalloc(sizeof(*w->o));
	outbuf__init(w->o, f);
	hashmap__init(&w->thread_tab, 64);
	hashmap__init(&w->stack_tab, 1024);
	put_head(w->o, p);
	profile__set_listener(p, on_event, w);
	return w;
}

int jsonl_stream__flush(struct jsonl_stream *w)
{
	outbuf__flush(w->o);
	if (fflush(w->o->f) != 0)
		w->o->err = -EIO;
	return w->o->err;
}

int jsonl_stream__end(struct jsonl_stream *w)
{
	if (!w)
		return 0;
	profile__set_listener(w->p, NULL, NULL);
	put_end(w->o, w->p);
	int err = jsonl_stream__flush(w);
	for (size_t i = 0; i < w->nthreads; i++)
		free(w->threads[i].name);
	for (size_t i = 0; i < w->nstacks; i++)
		free(w->stacks[i].frames);
	free(w->threads);
	free(w->stacks);
	free(w->cache);
	free(w->frame_done);
	hashmap__fini(&w->thread_tab);
	hashmap__fini(&w->stack_tab);
	free(w->o);
	free(w);
	return err;
}
