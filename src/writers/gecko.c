/* SPDX-License-Identifier: MIT
 *
 * Firefox Profiler writer (see gecko.h). Names are interned once for the
 * whole file (the shared string array): each frame of the profile gets the
 * string indexes of its name and file and a function id, (name, file,
 * Python or not), up front. Then, thread by thread, the format's per-thread
 * tables are built from what that thread's samples use: a stack of the
 * profile (frame ids root first) is walked from the root, each step a node
 * (prefix, frame) of the thread's stack tree, found in a hash index, so
 * stacks that share a prefix share its nodes; the frames, functions and
 * resources the nodes need are numbered on first use through arrays indexed
 * by the profile's ids (reset after the thread by the lists of what was
 * set). A native frame gets a second variant in the GIL category when it is
 * reached below a GIL-waiting frame. The samples (one per sample of each
 * run, spread over the run's span) are gathered, sorted when the runs are
 * not in time order (lanes of exited threads), the idle gaps marked, and
 * every column written through the output buffer (writers/outbuf.h), with
 * strings escaped by the JSON writer (writers/json.h). Times are written in
 * ms with microsecond digits from integer nanoseconds.
 *
 * A --memory profile (prof_meta.memory, not a diff) is written with the
 * samples table's weightType "bytes" (the Firefox Profiler's call tree and
 * flame graph then add bytes): per thread one sample per stack that grew the
 * resident memory, weighing its bytes, one interval apart (no time order:
 * its runs are not used). Shrink is not shown in this format.
 */
#include "writers/gecko.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg/profile.h"
#include "arch/arch.h"
#include "util/hashmap.h"
#include "util/xalloc.h"
#include "writers/json.h"
#include "writers/outbuf.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

#define NONE UINT32_MAX
#define LANE_TID0 4194304       /* PID_MAX_LIMIT: no real TID is this high */
#define IDLE_FRAME NONE         /* the profile frame id standing for "(idle)" */
#define DEFAULT_INTERVAL_NS 10000000ull /* 100 Hz, when the rate is unknown */

static const char *const gil_functions[] = {
	"take_gil", "drop_gil", "PyCOND_WAIT", "PyCOND_TIMEDWAIT",
};

bool gecko_gil_function(const char *name)
{
	size_t n = strcspn(name, ".");
	for (size_t i = 0; i < sizeof(gil_functions) / sizeof(gil_functions[0]); i++)
		if (strlen(gil_functions[i]) == n && strncmp(name, gil_functions[i], n) == 0)
			return true;
	return false;
}

/* The shared string array: borrowed strings (the profile's, or literals). */
struct strings {
	const char **s;
	size_t n, cap;
	struct hashmap index;
};

static uint32_t string_id(struct strings *st, const char *s)
{
	size_t len = strlen(s);
	struct hashmap_pos pos;
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, s, len);
	for (uint32_t id = hashmap__first(&st->index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&st->index, &pos))
		if (strcmp(st->s[id], s) == 0)
			return id;
	st->s = xgrow(st->s, &st->cap, st->n + 1, sizeof(*st->s));
	st->s[st->n] = s;
	hashmap__insert(&st->index, &pos, (uint32_t)st->n);
	return (uint32_t)st->n++;
}

/* A function of the whole file: name, file (NONE: none), kind. */
struct func {
	uint32_t name, file;
	bool python;
	uint8_t category;       /* of its frames, before the GIL rule */
};

/* A stack node of one thread. */
struct node {
	uint32_t frame, prefix;
};

/* One sample of one thread. */
struct sample {
	uint64_t t_ns;
	uint32_t stack;         /* NONE: no stack */
	uint64_t weight;        /* samples, or bytes (memory) */
};

struct gk {
	struct outbuf ob;       /* first: the output */
	const struct profile *p;
	bool full;
	bool memory;            /* weights are bytes grown (prof_stack_weight) */
	uint64_t interval_ns;
	struct strings str;
	/* per profile frame */
	uint32_t *frame_func;   /* function id */
	/* functions of the file */
	struct func *funcs;
	size_t nfuncs, funcs_cap;
	struct hashmap func_index;
	uint32_t idle_func;
	uint32_t thread;        /* the thread being written */
	/* per profile stack: the thread's stack node of its leaf (NONE: not yet) */
	uint32_t *stack_node;
	/* the thread being built: maps from the file's ids, and what they hold */
	uint32_t *func_map;     /* per function: the thread's func index */
	uint32_t *res_map;      /* per string (a file): the thread's resource index */
	uint32_t *frame_map[2]; /* per profile frame, plain and GIL variant: frame index */
	uint32_t idle_frame, idle_stack;
	uint32_t *t_funcs;      /* thread func -> function id */
	size_t nt_funcs, t_funcs_cap;
	uint32_t *t_res;        /* thread resource -> file string id */
	size_t nt_res, t_res_cap;
	struct tframe { uint32_t pframe, func; uint8_t category; } *t_frames;
	size_t nt_frames, t_frames_cap;
	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct hashmap node_index;
	struct sample *samples;
	size_t nsamples, samples_cap;
};

static uint8_t kind_category(enum prof_frame_kind k)
{
	switch (k) {
	case PROF_FRAME_PYTHON: return GECKO_CAT_PYTHON;
	case PROF_FRAME_NATIVE: return GECKO_CAT_NATIVE;
	case PROF_FRAME_TASK: return GECKO_CAT_TASK;
	default: return GECKO_CAT_OTHER;
	}
}

static uint32_t func_id(struct gk *g, uint32_t name, uint32_t file, bool python, uint8_t category)
{
	uint64_t key[2] = { (uint64_t)name << 32 | file, (uint64_t)python << 8 | category };
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, key, sizeof(key));
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&g->func_index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&g->func_index, &pos)) {
		const struct func *f = &g->funcs[id];
		if (f->name == name && f->file == file && f->python == python && f->category == category)
			return id;
	}
	g->funcs = xgrow(g->funcs, &g->funcs_cap, g->nfuncs + 1, sizeof(*g->funcs));
	g->funcs[g->nfuncs] = (struct func){ name, file, python, category };
	hashmap__insert(&g->func_index, &pos, (uint32_t)g->nfuncs);
	return (uint32_t)g->nfuncs++;
}

/* Strings and functions of every frame, the "(idle)" function. */
static void funcs_build(struct gk *g)
{
	size_t nf = profile__nframes(g->p);
	g->frame_func = xmalloc((nf ? nf : 1) * sizeof(*g->frame_func));
	for (uint32_t i = 0; i < nf; i++) {
		const struct prof_frame *f = profile__frame_at(g->p, i);
		const char *file = g->full ? f->filename : f->short_filename;
		uint32_t name = string_id(&g->str, f->name);
		uint32_t fid = file[0] ? string_id(&g->str, file) : NONE;
		g->frame_func[i] = func_id(g, name, fid, f->kind == PROF_FRAME_PYTHON, kind_category(f->kind));
	}
	g->idle_func = func_id(g, string_id(&g->str, "(idle)"), NONE, false, GECKO_CAT_IDLE);
}

static uint32_t thread_func(struct gk *g, uint32_t func)
{
	if (g->func_map[func] != NONE)
		return g->func_map[func];
	uint32_t file = g->funcs[func].file;
	if (file != NONE && g->res_map[file] == NONE) {
		g->t_res = xgrow(g->t_res, &g->t_res_cap, g->nt_res + 1, sizeof(*g->t_res));
		g->t_res[g->nt_res] = file;
		g->res_map[file] = (uint32_t)g->nt_res++;
	}
	g->t_funcs = xgrow(g->t_funcs, &g->t_funcs_cap, g->nt_funcs + 1, sizeof(*g->t_funcs));
	g->t_funcs[g->nt_funcs] = func;
	return g->func_map[func] = (uint32_t)g->nt_funcs++;
}

static uint32_t new_frame(struct gk *g, uint32_t pframe, uint32_t func, uint8_t category)
{
	g->t_frames = xgrow(g->t_frames, &g->t_frames_cap, g->nt_frames + 1, sizeof(*g->t_frames));
	g->t_frames[g->nt_frames] = (struct tframe){ pframe, thread_func(g, func), category };
	return (uint32_t)g->nt_frames++;
}

/* The thread's frame of profile frame pf below a node of category parent. */
static uint32_t thread_frame(struct gk *g, uint32_t pf, uint8_t parent, uint8_t *category)
{
	const struct prof_frame *f = profile__frame_at(g->p, pf);
	uint8_t cat = kind_category(f->kind);
	if (f->kind == PROF_FRAME_NATIVE && (parent == GECKO_CAT_GIL || gecko_gil_function(f->name)))
		cat = GECKO_CAT_GIL;
	*category = cat;
	uint32_t *map = g->frame_map[cat == GECKO_CAT_GIL];
	if (map[pf] == NONE)
		map[pf] = new_frame(g, pf, g->frame_func[pf], cat);
	return map[pf];
}

static uint32_t node(struct gk *g, uint32_t prefix, uint32_t frame)
{
	uint64_t key = (uint64_t)prefix << 32 | frame;
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, &key, sizeof(key));
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&g->node_index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&g->node_index, &pos))
		if (g->nodes[id].prefix == prefix && g->nodes[id].frame == frame)
			return id;
	g->nodes = xgrow(g->nodes, &g->nodes_cap, g->nnodes + 1, sizeof(*g->nodes));
	g->nodes[g->nnodes] = (struct node){ frame, prefix };
	hashmap__insert(&g->node_index, &pos, (uint32_t)g->nnodes);
	return (uint32_t)g->nnodes++;
}

/* The thread's node of the profile's stack s (NONE for an empty stack).
 * Cached per stack id: a stack belongs to one thread (a stack of another
 * thread, which the profile never gives, is walked without the cache). */
static uint32_t stack_node(struct gk *g, uint32_t s)
{
	const struct prof_stack *st = profile__stack_at(g->p, s);
	bool own = st->thread == g->thread;
	if (own && g->stack_node[s] != NONE)
		return g->stack_node[s];
	uint32_t prefix = NONE;
	uint8_t cat = GECKO_CAT_OTHER;
	for (uint32_t k = 0; k < st->n; k++) {
		uint32_t fr = thread_frame(g, st->frames[k], cat, &cat);
		prefix = node(g, prefix, fr);
	}
	if (own)
		g->stack_node[s] = prefix;
	return prefix;
}

static uint32_t idle_node(struct gk *g)
{
	if (g->idle_stack == NONE) {
		g->idle_frame = new_frame(g, IDLE_FRAME, g->idle_func, GECKO_CAT_IDLE);
		g->idle_stack = node(g, NONE, g->idle_frame);
	}
	return g->idle_stack;
}

static void add_sample(struct gk *g, uint64_t t_ns, uint32_t stack, uint64_t weight)
{
	g->samples = xgrow(g->samples, &g->samples_cap, g->nsamples + 1, sizeof(*g->samples));
	g->samples[g->nsamples++] = (struct sample){ t_ns, stack, weight };
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

/* The thread's samples in time order, with the idle gaps marked; returns
 * whether any sample weighs other than 1. */
static bool samples_build(struct gk *g, const struct prof_run *runs, size_t nruns)
{
	bool sorted = true;
	g->nsamples = 0;
	for (size_t r = 0; r < nruns; r++) {
		const struct prof_run *run = &runs[r];
		uint32_t s = stack_node(g, run->stack);
		uint64_t span = run->t_last_ns > run->t_ns ? run->t_last_ns - run->t_ns : 0;
		if (r && run->t_ns < runs[r - 1].t_last_ns)
			sorted = false;
		/* (in double: span x i may pass 2^64 in a run of hours) */
		double step = run->count > 1 ? (double)span / (run->count - 1) : 0;
		for (uint32_t i = 0; i < run->count; i++)
			add_sample(g, run->t_ns + (uint64_t)(step * i + 0.5), s, 1);
	}
	if (!sorted)
		qsort(g->samples, g->nsamples, sizeof(*g->samples), cmp_sample);
	/* The gaps: rebuilt in place from the end (each gap adds one sample). */
	size_t gaps = 0;
	for (size_t i = 1; i < g->nsamples; i++)
		if (g->samples[i].t_ns - g->samples[i - 1].t_ns > 2 * g->interval_ns)
			gaps++;
	if (!gaps)
		return false;
	uint32_t idle = idle_node(g);
	size_t n = g->nsamples;
	g->samples = xgrow(g->samples, &g->samples_cap, n + gaps, sizeof(*g->samples));
	for (size_t i = n, w = n + gaps; i-- > 0;) {
		g->samples[--w] = g->samples[i];
		if (i && g->samples[i].t_ns - g->samples[i - 1].t_ns > 2 * g->interval_ns)
			g->samples[--w] = (struct sample){ g->samples[i - 1].t_ns + g->interval_ns, idle, 0 };
	}
	g->nsamples = n + gaps;
	return true;
}

/* A profile without time order (read back from cspy's JSON: no runs): the
 * thread's stacks one after another, one sample per stack weighing its
 * count, at the time its first sample would have had at the interval.
 * Returns whether any sample weighs other than 1. */
static bool samples_from_counts(struct gk *g, const uint32_t *stacks, size_t n)
{
	bool weighted = false;
	uint64_t t = 0;
	g->nsamples = 0;
	for (size_t i = 0; i < n; i++) {
		const struct prof_stack *st = profile__stack_at(g->p, stacks[i]);
		if (g->memory) {        /* bytes: one interval per stack */
			add_sample(g, t, stack_node(g, stacks[i]), st->mem_grow);
			t += g->interval_ns;
			continue;
		}
		uint64_t c = st->count > UINT32_MAX ? UINT32_MAX : st->count;
		add_sample(g, t, stack_node(g, stacks[i]), (uint32_t)c);
		weighted |= c != 1;
		t += c * g->interval_ns;
	}
	return weighted || g->memory;
}

/* Milliseconds with microsecond digits: "12.345". */
static size_t fmt_ms(char *b, uint64_t ns)
{
	uint64_t us = ns / 1000;
	size_t n = outbuf_fmt_u64(b, us / 1000);
	uint64_t frac = us % 1000;
	if (frac) {
		b[n++] = '.';
		b[n++] = (char)('0' + frac / 100);
		b[n++] = (char)('0' + frac / 10 % 10);
		b[n++] = (char)('0' + frac % 10);
		while (b[n - 1] == '0')
			n--;
	}
	return n;
}

static void put_ms(struct gk *g, uint64_t ns)
{
	char b[40];
	outbuf__mem(&g->ob, b, fmt_ms(b, ns));
}

static void put_u32_or_null(struct gk *g, uint32_t v)
{
	if (v == NONE)
		outbuf__mem(&g->ob, "null", 4);
	else
		outbuf__u64(&g->ob, v);
}

/* ",\"NAME\":[v,v,...]" of n values given by a callback over the index. */
#define COLUMN(g, name, n, ...) do { \
	outbuf__str(&(g)->ob, ",\"" name "\":["); \
	for (size_t i_ = 0; i_ < (n) && !(g)->ob.err; i_++) { \
		if (i_) \
			outbuf__mem(&(g)->ob, ",", 1); \
		__VA_ARGS__; \
	} \
	outbuf__mem(&(g)->ob, "]", 1); \
} while (0)

/* A column of n copies of a constant text. */
static void const_column(struct gk *g, const char *name, size_t n, const char *v)
{
	outbuf__str(&g->ob, ",\"");
	outbuf__str(&g->ob, name);
	outbuf__str(&g->ob, "\":[");
	size_t len = strlen(v);
	for (size_t i = 0; i < n && !g->ob.err; i++) {
		if (i)
			outbuf__mem(&g->ob, ",", 1);
		outbuf__mem(&g->ob, v, len);
	}
	outbuf__mem(&g->ob, "]", 1);
}

/* ",\"NAME\":{\"length\":N": a table's head; its columns follow, then "}". */
static void table_head(struct gk *g, const char *name, size_t n)
{
	outbuf__str(&g->ob, ",\"");
	outbuf__str(&g->ob, name);
	outbuf__str(&g->ob, "\":{\"length\":");
	outbuf__u64(&g->ob, n);
}

static void write_tables(struct gk *g, bool weighted)
{
	struct outbuf *o = &g->ob;
	char b[40];
	/* samples */
	table_head(g, "samples", g->nsamples);
	outbuf__str(o, g->memory ? ",\"weightType\":\"bytes\"" : ",\"weightType\":\"samples\"");
	COLUMN(g, "stack", g->nsamples, put_u32_or_null(g, g->samples[i_].stack));
	COLUMN(g, "time", g->nsamples, put_ms(g, g->samples[i_].t_ns));
	if (weighted)
		COLUMN(g, "weight", g->nsamples, outbuf__u64(o, g->samples[i_].weight));
	else
		outbuf__str(o, ",\"weight\":null");
	outbuf__mem(o, "}", 1);
	/* stackTable */
	table_head(g, "stackTable", g->nnodes);
	COLUMN(g, "frame", g->nnodes, outbuf__u64(o, g->nodes[i_].frame));
	COLUMN(g, "prefix", g->nnodes, put_u32_or_null(g, g->nodes[i_].prefix));
	outbuf__mem(o, "}", 1);
	/* frameTable */
	table_head(g, "frameTable", g->nt_frames);
	const_column(g, "address", g->nt_frames, "-1");
	const_column(g, "inlineDepth", g->nt_frames, "0");
	COLUMN(g, "category", g->nt_frames, outbuf__u64(o, g->t_frames[i_].category));
	const_column(g, "subcategory", g->nt_frames, "0");
	COLUMN(g, "func", g->nt_frames, outbuf__u64(o, g->t_frames[i_].func));
	const_column(g, "nativeSymbol", g->nt_frames, "null");
	const_column(g, "innerWindowID", g->nt_frames, "null");
	COLUMN(g, "line", g->nt_frames, {
		uint32_t pf = g->t_frames[i_].pframe;
		int line = pf == IDLE_FRAME ? -1 : profile__frame_at(g->p, pf)->line;
		if (line > 0)
			outbuf__mem(o, b, outbuf_fmt_u64(b, (uint64_t)line));
		else
			outbuf__mem(o, "null", 4);
	});
	const_column(g, "column", g->nt_frames, "null");
	outbuf__mem(o, "}", 1);
	/* funcTable */
	table_head(g, "funcTable", g->nt_funcs);
	COLUMN(g, "name", g->nt_funcs, outbuf__u64(o, g->funcs[g->t_funcs[i_]].name));
	COLUMN(g, "isJS", g->nt_funcs, outbuf__str(o, g->funcs[g->t_funcs[i_]].python ? "true" : "false"));
	COLUMN(g, "relevantForJS", g->nt_funcs, {
		const struct func *f = &g->funcs[g->t_funcs[i_]];
		/* synthetic roots stay in the "JavaScript" (here: Python) only view */
		outbuf__str(o, f->category == GECKO_CAT_OTHER ? "true" : "false");
	});
	COLUMN(g, "resource", g->nt_funcs, {
		uint32_t file = g->funcs[g->t_funcs[i_]].file;
		if (file == NONE)
			outbuf__mem(o, "-1", 2);
		else
			outbuf__u64(o, g->res_map[file]);
	});
	COLUMN(g, "fileName", g->nt_funcs, put_u32_or_null(g, g->funcs[g->t_funcs[i_]].file));
	const_column(g, "lineNumber", g->nt_funcs, "null");
	const_column(g, "columnNumber", g->nt_funcs, "null");
	outbuf__mem(o, "}", 1);
	/* resourceTable: one per file, as a library resource (type 1) */
	table_head(g, "resourceTable", g->nt_res);
	const_column(g, "lib", g->nt_res, "null");
	COLUMN(g, "name", g->nt_res, outbuf__u64(o, g->t_res[i_]));
	const_column(g, "host", g->nt_res, "null");
	const_column(g, "type", g->nt_res, "1");
	outbuf__mem(o, "}", 1);
	outbuf__str(o, ",\"nativeSymbols\":{\"libIndex\":[],\"address\":[],\"name\":[],"
		       "\"functionSize\":[],\"length\":0}"
		       ",\"markers\":{\"data\":[],\"name\":[],\"startTime\":[],\"endTime\":[],"
		       "\"phase\":[],\"category\":[],\"length\":0}");
}

/* Reset the per-thread maps by what the thread set. */
static void thread_reset(struct gk *g)
{
	for (size_t i = 0; i < g->nt_funcs; i++)
		g->func_map[g->t_funcs[i]] = NONE;
	for (size_t i = 0; i < g->nt_res; i++)
		g->res_map[g->t_res[i]] = NONE;
	for (size_t i = 0; i < g->nt_frames; i++)
		if (g->t_frames[i].pframe != IDLE_FRAME)
			g->frame_map[g->t_frames[i].category == GECKO_CAT_GIL][g->t_frames[i].pframe] = NONE;
	g->nt_funcs = g->nt_res = g->nt_frames = g->nnodes = 0;
	g->idle_frame = g->idle_stack = NONE;
	hashmap__clear(&g->node_index);
}

static void write_thread(struct gk *g, uint32_t t, const struct prof_run *runs, size_t nruns,
			 const uint32_t *stacks, size_t nstacks, bool first, int *lane)
{
	struct outbuf *o = &g->ob;
	const struct prof_thread *th = profile__thread_at(g->p, t);
	g->thread = t;
	bool weighted = nruns && !g->memory ? samples_build(g, runs, nruns)
		        : samples_from_counts(g, stacks, nstacks);
	char *name = th->exited ? xasprintf("%s (%u exited threads)", th->name[0] ? th->name : "?",
					   (unsigned)th->exited)
		   : th->name[0] ? xstrdup(th->name) : xasprintf("Thread %d", (int)th->tid);
	long tid = th->exited ? LANE_TID0 + (*lane)++ : th->tid;
	bool is_main = !th->exited && th->tid == th->pid;

	outbuf__str(o, first ? "{\"name\":" : ",{\"name\":");
	json_outbuf_string(o, name);
	outbuf__str(o, is_main ? ",\"isMainThread\":true" : ",\"isMainThread\":false");
	outbuf__str(o, ",\"processType\":\"default\",\"processName\":");
	if (th->process_cmdline && th->process_cmdline[0]) {
		json_outbuf_string(o, th->process_cmdline);
	} else {
		char *pn = xasprintf("Process %d", (int)th->pid);
		json_outbuf_string(o, pn);
		free(pn);
	}
	outbuf__str(o, ",\"processStartupTime\":0,\"processShutdownTime\":null,\"registerTime\":");
	put_ms(g, g->nsamples ? g->samples[0].t_ns : 0);
	outbuf__str(o, ",\"unregisterTime\":null,\"pausedRanges\":[],\"pid\":\"");
	outbuf__u64(o, (uint64_t)th->pid);
	outbuf__str(o, "\",\"tid\":");
	outbuf__u64(o, (uint64_t)tid);
	write_tables(g, weighted);
	outbuf__mem(o, "}", 1);
	free(name);
}

static void write_meta(struct gk *g)
{
	struct outbuf *o = &g->ob;
	const struct prof_meta *m = profile__meta(g->p);
	char b[64];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	outbuf__str(o, "{\"meta\":{\"interval\":");
	snprintf(b, sizeof(b), "%.6f", (double)g->interval_ns / 1e6);
	outbuf__str(o, b);
	outbuf__str(o, ",\"startTime\":");
	snprintf(b, sizeof(b), "%llu.%06llu", (unsigned long long)(m->start_unix_ns / 1000000),
		 (unsigned long long)(m->start_unix_ns % 1000000));
	outbuf__str(o, b);
	outbuf__str(o, ",\"profilingStartTime\":0,\"profilingEndTime\":");
	put_ms(g, m->duration_ns);
	outbuf__str(o, ",\"abi\":");
	json_outbuf_string(o, arch_info.name);
	outbuf__str(o, ",\"misc\":");
	char *misc = m->python_version && m->python_version[0] ? xasprintf("Python %s", m->python_version)
							      : xstrdup("Python");
	json_outbuf_string(o, misc);
	free(misc);
	outbuf__str(o, ",\"oscpu\":");
	json_outbuf_string(o, arch_info.name);
	outbuf__str(o, ",\"platform\":\"Linux\",\"processType\":0,\"categories\":["
		       "{\"name\":\"Other\",\"color\":\"grey\",\"subcategories\":[\"Other\"]},"
		       "{\"name\":\"Python\",\"color\":\"yellow\",\"subcategories\":[\"Other\"]},"
		       "{\"name\":\"Native\",\"color\":\"blue\",\"subcategories\":[\"Other\"]},"
		       "{\"name\":\"GIL\",\"color\":\"green\",\"subcategories\":[\"Other\"]},"
		       "{\"name\":\"Idle\",\"color\":\"transparent\",\"subcategories\":[\"Other\"]},"
		       "{\"name\":\"Task\",\"color\":\"purple\",\"subcategories\":[\"Other\"]}]");
	outbuf__str(o, m->native ? ",\"stackwalk\":1" : ",\"stackwalk\":0");
	snprintf(b, sizeof(b), ",\"toolkit\":\"\",\"version\":%d,\"preprocessedProfileVersion\":%d",
		 GECKO_VERSION, GECKO_PROCESSED_VERSION);
	outbuf__str(o, b);
	outbuf__str(o, ",\"appBuildID\":\"\",\"physicalCPUs\":");
	outbuf__u64(o, cpus > 0 ? (uint64_t)cpus : 0);
	outbuf__str(o, ",\"logicalCPUs\":");
	outbuf__u64(o, cpus > 0 ? (uint64_t)cpus : 0);
	outbuf__str(o, ",\"CPUName\":\"\",\"product\":\"cspy\",\"symbolicated\":true,"
		       "\"markerSchema\":[],\"importedFrom\":\"cspy " CSPY_VERSION "\"");
	if (m->command_line && m->command_line[0]) {
		outbuf__str(o, ",\"arguments\":");
		json_outbuf_string(o, m->command_line);
	}
	outbuf__str(o, ",\"extensions\":{\"id\":[],\"name\":[],\"baseURL\":[],\"length\":0}}");
}

int gecko_write(FILE *f, const struct profile *p, const struct gecko_opts *opts)
{
	struct gecko_opts def = GECKO_OPTS_DEFAULT;
	if (!opts)
		opts = &def;
	struct gk *g = xcalloc(1, sizeof(*g));
	outbuf__init(&g->ob, f);
	g->p = p;
	g->full = opts->full_filenames;
	g->memory = profile__meta(p)->memory && !profile__meta(p)->diff;
	double rate = profile_sample_rate(profile__meta(p));
	g->interval_ns = rate > 0 ? (uint64_t)(1e9 / rate + 0.5) : DEFAULT_INTERVAL_NS;
	if (!g->interval_ns)
		g->interval_ns = 1;
	hashmap__init(&g->str.index, 64);
	hashmap__init(&g->func_index, 64);
	hashmap__init(&g->node_index, 64);
	funcs_build(g);
	size_t nf = profile__nframes(p), ns = profile__nstacks(p);
	g->stack_node = xmalloc((ns ? ns : 1) * sizeof(*g->stack_node));
	memset(g->stack_node, 0xff, (ns ? ns : 1) * sizeof(*g->stack_node));
	g->func_map = xmalloc(g->nfuncs * sizeof(*g->func_map));
	memset(g->func_map, 0xff, g->nfuncs * sizeof(*g->func_map));
	g->res_map = xmalloc((g->str.n ? g->str.n : 1) * sizeof(*g->res_map));
	memset(g->res_map, 0xff, (g->str.n ? g->str.n : 1) * sizeof(*g->res_map));
	for (int v = 0; v < 2; v++) {
		g->frame_map[v] = xmalloc((nf ? nf : 1) * sizeof(*g->frame_map[v]));
		memset(g->frame_map[v], 0xff, (nf ? nf : 1) * sizeof(*g->frame_map[v]));
	}
	g->idle_frame = g->idle_stack = NONE;

	write_meta(g);
	outbuf__str(&g->ob, ",\"libs\":[],\"pages\":[],\"threads\":[");
	/* Each thread's stacks with samples, in id order (for a profile
	 * without runs): a counting sort by thread. */
	size_t nt = profile__nthreads(p);
	size_t *at = xcalloc(nt + 1, sizeof(*at));
	uint32_t *by_thread = xmalloc((ns ? ns : 1) * sizeof(*by_thread));
	for (uint32_t i = 0; i < ns; i++) {
		const struct prof_stack *st = profile__stack_at(p, i);
		if (prof_stack_weight(profile__meta(p), st) && st->thread < nt)
			at[st->thread + 1]++;
	}
	for (size_t t = 0; t < nt; t++)
		at[t + 1] += at[t];
	size_t *fill = xmalloc((nt ? nt : 1) * sizeof(*fill));
	memcpy(fill, at, nt * sizeof(*fill));
	for (uint32_t i = 0; i < ns; i++) {
		const struct prof_stack *st = profile__stack_at(p, i);
		if (prof_stack_weight(profile__meta(p), st) && st->thread < nt)
			by_thread[fill[st->thread]++] = i;
	}
	bool first = true;
	int lane = 0;
	for (uint32_t t = 0; t < nt && !g->ob.err; t++) {
		size_t nruns;
		const struct prof_run *runs = profile__runs(p, t, &nruns);
		if ((!nruns || g->memory) && at[t + 1] == at[t])
			continue;
		write_thread(g, t, runs, nruns, by_thread + at[t], at[t + 1] - at[t], first, &lane);
		thread_reset(g);
		first = false;
	}
	free(at);
	free(fill);
	free(by_thread);
	/* The strings last: every thread's tables have named theirs. */
	outbuf__str(&g->ob, "],\"shared\":{\"stringArray\":[");
	for (size_t i = 0; i < g->str.n && !g->ob.err; i++) {
		if (i)
			outbuf__mem(&g->ob, ",", 1);
		json_outbuf_string(&g->ob, g->str.s[i]);
	}
	outbuf__str(&g->ob, "]}}\n");
	outbuf__flush(&g->ob);
	if (fflush(f) != 0 || ferror(f))
		g->ob.err = -EIO;
	int err = g->ob.err;
	hashmap__fini(&g->str.index);
	hashmap__fini(&g->func_index);
	hashmap__fini(&g->node_index);
	free(g->str.s);
	free(g->frame_func);
	free(g->funcs);
	free(g->stack_node);
	free(g->func_map);
	free(g->res_map);
	free(g->frame_map[0]);
	free(g->frame_map[1]);
	free(g->t_funcs);
	free(g->t_res);
	free(g->t_frames);
	free(g->nodes);
	free(g->samples);
	free(g);
	return err;
}
