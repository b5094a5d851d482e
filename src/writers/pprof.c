/* SPDX-License-Identifier: MIT
 *
 * pprof writer (see pprof.h): a small protobuf encoder of its own. A
 * message is built in a growable byte buffer (struct pb): varints, tags
 * (field << 3 | wire type), length-delimited fields (a nested message, a
 * string, or a packed run of varints, each built first in a scratch buffer
 * so that its length is known) and nothing else: profile.proto needs only
 * wire types 0 and 2. Fields equal to their default (0) are left out, as
 * proto3 writes them.
 *
 * The top-level Profile is not held whole: its fields go out in order
 * (sample types, samples, mappings, locations, functions, the header
 * fields, then the string table, whose indexes the others used), through a
 * sink that deflates them with zlib into a gzip stream (windowBits 15 + 16,
 * time 0: equal profiles give equal bytes; level 1, Z_BEST_SPEED, as Go's
 * runtime/pprof writes its profiles: a third of the time of the default
 * level for a file a quarter larger) and writes 64 KiB blocks with every
 * fwrite checked. Protobuf allows a message's fields in any order, and
 * repeated fields may be split: the string table only has to keep its own
 * order.
 *
 * Tables: strings are interned (hashmap.h, FNV-1a) to their index, index 0
 * being ""; functions are interned by (name index, file index). A location
 * is a frame: its id is the frame id + 1 (ids need only be unique and
 * nonzero), and only frames of stacks with samples are written. The labels
 * of a thread are encoded once and copied into each of its samples.
 *
 * A --memory profile (prof_meta.memory, not a diff) adds the sample types
 * alloc_space/bytes and free_space/bytes (each stack's resident-memory
 * growth and shrink), alloc_space the default. A profile with the
 * python/native/system split (prof_meta.classified) writes a stack as up to
 * four samples: one per class with its samples and the label class=python,
 * native or system, and the samples not classified (idle) without the
 * label; a stack's bytes are shared among them in proportion to their
 * samples (the rest to the last), so every total stays the model's.
 */
#include "writers/pprof.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agg/profile.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

#define SINK_CHUNK 65536

/* Wire types. */
enum { WT_VARINT = 0, WT_LEN = 2 };

/* Field numbers of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
	MAPPING_ID = 1, MAPPING_FILENAME = 5, MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_FILENAME = 4,
};

/* A growable byte buffer: one message being built. */
struct pb {
	unsigned char *b;
	size_t n, cap;
};

static void pb_mem(struct pb *p, const void *data, size_t n)
{
	p->b = xgrow(p->b, &p->cap, p->n + n, 1);
	memcpy(p->b + p->n, data, n);
	p->n += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	pb_mem(p, tmp, n);
}

static void pb_tag(struct pb *p, unsigned field, unsigned wt)
{
	pb_varint(p, (uint64_t)field << 3 | wt);
}

/* A varint field; left out when 0 (proto3's default). int64 fields that
 * are never negative here go through this too. */
static void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_tag(p, field, WT_VARINT);
	pb_varint(p, v);
}

/* A length-delimited field: bytes, a string, a nested message or a packed
 * run of varints. */
static void pb_bytes(struct pb *p, unsigned field, const void *data, size_t n)
{
	pb_tag(p, field, WT_LEN);
	pb_varint(p, n);
	pb_mem(p, data, n);
}

static void pb_sub(struct pb *p, unsigned field, const struct pb *sub)
{
	pb_bytes(p, field, sub->b, sub->n);
}

/* Where the top-level fields go: deflated (or not) in 64 KiB blocks to f. */
struct sink {
	FILE *f;
	int err;                /* 0 or -EIO */
	bool gzip;
	z_stream z;
	unsigned char out[SINK_CHUNK];
};

static void sink_fwrite(struct sink *s, const void *data, size_t n)
{
	if (n && !s->err && fwrite(data, 1, n, s->f) != n)
		s->err = -EIO;
}

/* Compress n bytes (flush: Z_FINISH at the end) and write what comes out. */
static void sink_deflate(struct sink *s, const unsigned char *data, size_t n, int flush)
{
	s->z.next_in = (unsigned char *)data;
	s->z.avail_in = (uInt)n;
	int zr;
	do {
		s->z.next_out = s->out;
		s->z.avail_out = SINK_CHUNK;
		zr = deflate(&s->z, flush);
		if (zr == Z_STREAM_ERROR) {
			s->err = -EIO;
			return;
		}
		sink_fwrite(s, s->out, SINK_CHUNK - s->z.avail_out);
	} while (s->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
}

/* Pass the buffer's bytes on and empty it. */
static void sink_put(struct sink *s, struct pb *p)
{
	if (!s->gzip) {
		sink_fwrite(s, p->b, p->n);
	} else {
		for (size_t off = 0; off < p->n; off += 1u << 30)       /* avail_in is 32 bits */
			sink_deflate(s, p->b + off, p->n - off < (1u << 30) ? p->n - off : 1u << 30,
				     Z_NO_FLUSH);
	}
	p->n = 0;
}

/* The top-level buffer goes out once it holds this much. */
static void sink_maybe_put(struct sink *s, struct pb *p)
{
	if (p->n >= SINK_CHUNK)
		sink_put(s, p);
}

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid: the
 * shortest form, no surrogates, at most U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp, min;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	cp = c & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/* s as valid UTF-8: NULL when it is already, else a heap copy in which each
 * byte that starts no valid sequence is U+FFFD. */
static char *utf8_repair(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0;
	while (i < n) {
		size_t len = utf8_seq(s + i, n - i);
		if (!len)
			break;
		i += len;
	}
	if (i == n)
		return NULL;
	char *out = xmalloc(n * 3 + 1), *w = out;
	memcpy(w, s, i);
	w += i;
	while (i < n) {
		size_t len = utf8_seq(s + i, n - i);
		if (len) {
			memcpy(w, s + i, len);
			w += len;
			i += len;
		} else {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
			i++;
		}
	}
	*w = '\0';
	return out;
}

/* The string table: index 0 is "". */
struct strtab {
	struct hashmap map;
	char **s;               /* owned copies */
	size_t n, cap;
};

static void strtab_init(struct strtab *t)
{
	hashmap__init(&t->map, 1024);
	t->s = NULL;
	t->n = t->cap = 0;
	t->s = xgrow(t->s, &t->cap, 1, sizeof(*t->s));
	t->s[t->n++] = xstrdup("");
	hashmap__add(&t->map, hashmap_fnv_str(""), 0);
}

static void strtab_fini(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	hashmap__fini(&t->map);
}

/* The index of s (NULL: ""), interned as valid UTF-8. */
static uint64_t strtab_get(struct strtab *t, const char *s)
{
	if (!s || !s[0])
		return 0;
	char *fixed = utf8_repair(s);
	const char *key = fixed ? fixed : s;
	uint64_t h = hashmap_fnv_str(key);
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&t->map, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&t->map, &pos)) {
		if (strcmp(t->s[id], key) == 0) {
			free(fixed);
			return id;
		}
	}
	t->s = xgrow(t->s, &t->cap, t->n + 1, sizeof(*t->s));
	t->s[t->n] = fixed ? fixed : xstrdup(s);
	hashmap__insert(&t->map, &pos, (uint32_t)t->n);
	return t->n++;
}

/* Functions, interned by (name, file) string indexes; id = index + 1. */
struct func {
	uint64_t name, file;
};

struct functab {
	struct hashmap map;
	struct func *f;
	size_t n, cap;
};

static uint64_t functab_get(struct functab *t, uint64_t name, uint64_t file)
{
	uint64_t key[2] = { name, file };
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, key, sizeof(key));
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&t->map, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&t->map, &pos))
		if (t->f[id].name == name && t->f[id].file == file)
			return id + 1;
	t->f = xgrow(t->f, &t->cap, t->n + 1, sizeof(*t->f));
	t->f[t->n] = (struct func){ .name = name, .file = file };
	hashmap__insert(&t->map, &pos, (uint32_t)t->n);
	return ++t->n;
}

/* Mappings: "[python]", "[native]" and one per native module. */
struct mapping {
	uint64_t file;          /* string index */
	bool lines;             /* its frames have lines */
};

struct maptab {
	struct mapping *m;
	size_t n, cap;
};

static uint64_t maptab_get(struct maptab *t, uint64_t file, bool lines)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->m[i].file == file)
			return i + 1;
	t->m = xgrow(t->m, &t->cap, t->n + 1, sizeof(*t->m));
	t->m[t->n] = (struct mapping){ .file = file, .lines = lines };
	return ++t->n;
}

/* Does path name a source file (by its extension) rather than a module? A
 * native frame without a line is known by its module, unless --nolineno
 * took the line of a source file. */
static bool is_source_file(const char *path)
{
	static const char *const exts[] = { ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx",
					    ".S", ".s", ".rs", ".inc", ".m", ".mm", ".f", ".f90", ".go",
					    ".pyx", ".pxd", ".pxi", NULL };
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	if (!dot || (slash && dot < slash))
		return false;
	for (const char *const *e = exts; *e; e++)
		if (strcmp(dot, *e) == 0)
			return true;
	return false;
}

static bool synthetic(enum prof_frame_kind k)
{
	return k == PROF_FRAME_PROCESS || k == PROF_FRAME_THREAD || k == PROF_FRAME_INTERP;
}

/* A Label message as a Sample field: a string (str) or a number. */
static void put_label(struct pb *out, struct pb *tmp, uint64_t key, uint64_t str, int64_t num)
{
	tmp->n = 0;
	pb_uint(tmp, LABEL_KEY, key);
	if (str) {
		pb_uint(tmp, LABEL_STR, str);
	} else {
		pb_tag(tmp, LABEL_NUM, WT_VARINT);
		pb_varint(tmp, (uint64_t)num);
	}
	pb_sub(out, SAMPLE_LABEL, tmp);
}

/* The labels of every thread, encoded as Sample fields: thread i's are
 * text + off[i] .. text + off[i + 1]. */
static void thread_labels(struct pb *text, size_t *off, const struct profile *p, struct strtab *st,
			  struct pb *tmp)
{
	uint64_t k_pid = strtab_get(st, "pid"), k_tid = strtab_get(st, "thread_id");
	uint64_t k_name = strtab_get(st, "thread_name"), k_cmd = strtab_get(st, "command_line");
	uint64_t k_ns = strtab_get(st, "ns_thread_id"), k_exited = strtab_get(st, "exited_threads");
	for (uint32_t t = 0; t < profile__nthreads(p); t++) {
		const struct prof_thread *th = profile__thread_at(p, t);
		off[t] = text->n;
		if (th->pid > 0)
			put_label(text, tmp, k_pid, 0, th->pid);
		if (th->tid > 0)
			put_label(text, tmp, k_tid, 0, th->tid);
		if (th->ns_tid > 0)
			put_label(text, tmp, k_ns, 0, th->ns_tid);
		if (th->exited)
			put_label(text, tmp, k_exited, 0, th->exited);
		if (th->name && th->name[0])
			put_label(text, tmp, k_name, strtab_get(st, th->name), 0);
		if (th->process_cmdline && th->process_cmdline[0])
			put_label(text, tmp, k_cmd, strtab_get(st, th->process_cmdline), 0);
	}
	off[profile__nthreads(p)] = text->n;
}

static void value_type(struct pb *out, struct pb *tmp, unsigned field, uint64_t type, uint64_t unit)
{
	tmp->n = 0;
	pb_uint(tmp, VALUETYPE_TYPE, type);
	pb_uint(tmp, VALUETYPE_UNIT, unit);
	pb_sub(out, field, tmp);
}

/* Per frame: its location's mapping and function, once it is used. */
struct loc {
	bool used;
	uint64_t mapping, function;
};

struct writer_state {
	const struct profile *p;
	struct sink *sink;
	struct pb top, sub, tmp, lab;
	struct strtab st;
	struct functab ft;
	struct maptab mt;
	struct loc *locs;
};

/* Mark frame id used and give it a mapping and a function. */
static void use_frame(struct writer_state *w, uint32_t id)
{
	struct loc *l = &w->locs[id];
	if (l->used)
		return;
	const struct prof_frame *fr = profile__frame_at(w->p, id);
	const char *file = fr->filename[0] ? fr->filename : fr->short_filename;
	uint64_t name = strtab_get(&w->st, fr->name), fidx = strtab_get(&w->st, file);
	l->used = true;
	l->function = functab_get(&w->ft, name, fidx);
	if (fr->kind == PROF_FRAME_PYTHON)
		l->mapping = maptab_get(&w->mt, strtab_get(&w->st, "[python]"), true);
	else if (fr->kind == PROF_FRAME_NATIVE && fr->line < 0 && file[0] && !is_source_file(file))
		l->mapping = maptab_get(&w->mt, fidx, false);
	else if (fr->kind == PROF_FRAME_NATIVE)
		l->mapping = maptab_get(&w->mt, strtab_get(&w->st, "[native]"), true);
	else if (fr->kind == PROF_FRAME_TASK)   /* an asyncio task (record --async) */
		l->mapping = maptab_get(&w->mt, strtab_get(&w->st, "[asyncio task]"), true);
	else
		l->mapping = 0;
}

/* One Sample of stack stk: locs (its location ids, leaf first), values
 * (count, time, bytes), an optional class label, the root and thread labels. */
struct piece {
	uint64_t count, grow, shrink;
	uint64_t cls_str;       /* string index of the class label's value; 0: none */
};

static void write_sample(struct writer_state *w, const struct prof_stack *stk, const struct pb *locs,
			 const struct piece *pc, int64_t period, bool timed, bool memory,
			 uint64_t k_class, const uint64_t *k_root, const struct pb *tl,
			 const size_t *tl_off);

static void write_samples(struct writer_state *w, int64_t period, bool timed, bool memory)
{
	const struct profile *p = w->p;
	size_t nthreads = profile__nthreads(p);
	struct pb tl = { 0 };
	size_t *tl_off = xmalloc((nthreads + 1) * sizeof(*tl_off));
	thread_labels(&tl, tl_off, p, &w->st, &w->tmp);
	uint64_t k_root[3] = { strtab_get(&w->st, "process"), strtab_get(&w->st, "thread"),
			       strtab_get(&w->st, "interpreter") };
	bool classified = profile__meta(p)->classified;
	uint64_t k_class = classified ? strtab_get(&w->st, "class") : 0, v_class[PROF_NCLASSES];
	for (int c = 0; c < PROF_NCLASSES && classified; c++)
		v_class[c] = strtab_get(&w->st, profile_class_name((enum prof_class)c));
	struct pb locs = { 0 };

	for (uint32_t s = 0; s < profile__nstacks(p) && !w->sink->err; s++) {
		const struct prof_stack *stk = profile__stack_at(p, s);
		if (!stk->count && !(memory && (stk->mem_grow || stk->mem_shrink)))
			continue;
		locs.n = 0;
		for (uint32_t k = stk->n; k-- > 0;) {   /* leaf first */
			uint32_t id = stk->frames[k];
			if (synthetic(profile__frame_at(p, id)->kind))
				continue;
			use_frame(w, id);
			pb_varint(&locs, (uint64_t)id + 1);
		}
		/* The pieces: per class, then the rest; bytes in proportion. */
		struct piece pc[PROF_NCLASSES + 1];
		size_t npc = 0;
		uint64_t left = stk->count;
		for (int c = 0; c < PROF_NCLASSES && classified; c++) {
			uint64_t n = stk->cls[c] < left ? stk->cls[c] : left;
			if (n)
				pc[npc++] = (struct piece){ n, 0, 0, v_class[c] };
			left -= n;
		}
		if (left || !npc)
			pc[npc++] = (struct piece){ left, 0, 0, 0 };
		uint64_t g_left = stk->mem_grow, s_left = stk->mem_shrink;
		for (size_t i = 0; i < npc && memory; i++) {
			double share = stk->count ? (double)pc[i].count / (double)stk->count : 1;
			uint64_t g = i + 1 == npc ? g_left : (uint64_t)((double)stk->mem_grow * share);
			uint64_t sh = i + 1 == npc ? s_left : (uint64_t)((double)stk->mem_shrink * share);
			pc[i].grow = g < g_left ? g : g_left;
			pc[i].shrink = sh < s_left ? sh : s_left;
			g_left -= pc[i].grow;
			s_left -= pc[i].shrink;
		}
		for (size_t i = 0; i < npc && !w->sink->err; i++)
			write_sample(w, stk, &locs, &pc[i], period, timed, memory, k_class, k_root,
				     &tl, tl_off);
	}
	free(locs.b);
	free(tl.b);
	free(tl_off);
}

static void write_sample(struct writer_state *w, const struct prof_stack *stk, const struct pb *locs,
			 const struct piece *pc, int64_t period, bool timed, bool memory,
			 uint64_t k_class, const uint64_t *k_root, const struct pb *tl,
			 const size_t *tl_off)
{
	const struct profile *p = w->p;
	size_t nthreads = profile__nthreads(p);
	{
		struct pb *sub = &w->sub, *ids = &w->lab;
		sub->n = 0;
		if (locs->n)
			pb_sub(sub, SAMPLE_LOCATION_ID, locs);
		ids->n = 0;
		pb_varint(ids, pc->count);
		if (timed)
			pb_varint(ids, pc->count * (uint64_t)period);
		if (memory) {
			pb_varint(ids, pc->grow);
			pb_varint(ids, pc->shrink);
		}
		pb_sub(sub, SAMPLE_VALUE, ids);
		if (pc->cls_str)
			put_label(sub, &w->tmp, k_class, pc->cls_str, 0);
		for (uint32_t k = 0; k < stk->n; k++) {         /* root labels, root first */
			const struct prof_frame *fr = profile__frame_at(p, stk->frames[k]);
			if (synthetic(fr->kind)) {
				uint64_t key = k_root[fr->kind == PROF_FRAME_PROCESS ? 0
						      : fr->kind == PROF_FRAME_THREAD ? 1 : 2];
				put_label(sub, &w->tmp, key, strtab_get(&w->st, fr->name[0] ? fr->name : "?"), 0);
			}
		}
		if (stk->thread < nthreads)
			pb_mem(sub, tl->b + tl_off[stk->thread], tl_off[stk->thread + 1] - tl_off[stk->thread]);
		pb_sub(&w->top, PROFILE_SAMPLE, sub);
		sink_maybe_put(w->sink, &w->top);
	}
}

static void write_tables(struct writer_state *w)
{
	struct pb *sub = &w->sub, *tmp = &w->tmp;
	for (size_t i = 0; i < w->mt.n; i++) {
		sub->n = 0;
		pb_uint(sub, MAPPING_ID, i + 1);
		pb_uint(sub, MAPPING_FILENAME, w->mt.m[i].file);
		pb_uint(sub, MAPPING_HAS_FUNCTIONS, 1);
		pb_uint(sub, MAPPING_HAS_FILENAMES, 1);
		pb_uint(sub, MAPPING_HAS_LINE_NUMBERS, w->mt.m[i].lines);
		pb_sub(&w->top, PROFILE_MAPPING, sub);
	}
	for (uint32_t id = 0; id < profile__nframes(w->p) && !w->sink->err; id++) {
		const struct loc *l = &w->locs[id];
		if (!l->used)
			continue;
		int line = profile__frame_at(w->p, id)->line;
		sub->n = tmp->n = 0;
		pb_uint(sub, LOCATION_ID, (uint64_t)id + 1);
		pb_uint(sub, LOCATION_MAPPING_ID, l->mapping);
		pb_uint(tmp, LINE_FUNCTION_ID, l->function);
		pb_uint(tmp, LINE_LINE, line > 0 ? (uint64_t)line : 0);
		pb_sub(sub, LOCATION_LINE, tmp);
		pb_sub(&w->top, PROFILE_LOCATION, sub);
		sink_maybe_put(w->sink, &w->top);
	}
	for (size_t i = 0; i < w->ft.n && !w->sink->err; i++) {
		sub->n = 0;
		pb_uint(sub, FUNCTION_ID, i + 1);
		pb_uint(sub, FUNCTION_NAME, w->ft.f[i].name);
		pb_uint(sub, FUNCTION_FILENAME, w->ft.f[i].file);
		pb_sub(&w->top, PROFILE_FUNCTION, sub);
		sink_maybe_put(w->sink, &w->top);
	}
}

int pprof_write(FILE *f, const struct profile *p, const struct pprof_opts *o)
{
	struct pprof_opts def = PPROF_OPTS_DEFAULT;
	if (!o)
		o = &def;
	const struct prof_meta *m = profile__meta(p);
	struct sink *sink = xcalloc(1, sizeof(*sink));
	sink->f = f;
	sink->gzip = o->gzip;
	/* windowBits 15 + 16: a gzip header (no name, time 0) and trailer. */
	if (sink->gzip &&
	    deflateInit2(&sink->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(sink);
		return -ENOMEM;
	}
	struct writer_state w = { .p = p, .sink = sink };
	strtab_init(&w.st);
	hashmap__init(&w.ft.map, 1024);
	w.locs = xcalloc(profile__nframes(p) + 1, sizeof(*w.locs));

	double rate = profile_sample_rate(m);
	bool timed = rate > 0;
	int64_t period = timed ? (int64_t)(1e9 / rate + 0.5) : 1;
	if (period < 1)
		period = 1;
	uint64_t s_samples = strtab_get(&w.st, "samples"), s_count = strtab_get(&w.st, "count");
	uint64_t s_time = strtab_get(&w.st, m->idle_included ? "wall" : "cpu");
	uint64_t s_ns = strtab_get(&w.st, "nanoseconds");

	bool memory = m->memory && !m->diff;
	uint64_t s_alloc = memory ? strtab_get(&w.st, "alloc_space") : 0;
	value_type(&w.top, &w.tmp, PROFILE_SAMPLE_TYPE, s_samples, s_count);
	if (timed)
		value_type(&w.top, &w.tmp, PROFILE_SAMPLE_TYPE, s_time, s_ns);
	if (memory) {
		uint64_t s_bytes = strtab_get(&w.st, "bytes");
		value_type(&w.top, &w.tmp, PROFILE_SAMPLE_TYPE, s_alloc, s_bytes);
		value_type(&w.top, &w.tmp, PROFILE_SAMPLE_TYPE, strtab_get(&w.st, "free_space"), s_bytes);
	}
	write_samples(&w, period, timed, memory);
	write_tables(&w);

	pb_uint(&w.top, PROFILE_TIME_NANOS, m->start_unix_ns);
	pb_uint(&w.top, PROFILE_DURATION_NANOS, m->duration_ns);
	if (timed)
		value_type(&w.top, &w.tmp, PROFILE_PERIOD_TYPE, s_time, s_ns);
	else
		value_type(&w.top, &w.tmp, PROFILE_PERIOD_TYPE, s_samples, s_count);
	pb_uint(&w.top, PROFILE_PERIOD, (uint64_t)period);
	char *comments[3] = { xasprintf("cspy " CSPY_VERSION), NULL, NULL };
	if (m->command_line && m->command_line[0])
		comments[1] = xasprintf("command line: %s", m->command_line);
	if (m->python_version && m->python_version[0])
		comments[2] = xasprintf("Python %s", m->python_version);
	w.tmp.n = 0;
	for (int i = 0; i < 3; i++) {
		if (comments[i])
			pb_varint(&w.tmp, strtab_get(&w.st, comments[i]));
		free(comments[i]);
	}
	pb_sub(&w.top, PROFILE_COMMENT, &w.tmp);
	pb_uint(&w.top, PROFILE_DEFAULT_SAMPLE_TYPE, memory ? s_alloc : timed ? s_time : s_samples);

	/* Last: the string table, which every field above indexes. */
	for (size_t i = 0; i < w.st.n && !sink->err; i++) {
		pb_bytes(&w.top, PROFILE_STRING_TABLE, w.st.s[i], strlen(w.st.s[i]));
		sink_maybe_put(sink, &w.top);
	}
	sink_put(sink, &w.top);
	if (sink->gzip) {
		if (!sink->err)
			sink_deflate(sink, (const unsigned char *)"", 0, Z_FINISH);
		deflateEnd(&sink->z);
	}
	if (fflush(f) != 0 || ferror(f))
		sink->err = -EIO;
	int err = sink->err;
	free(w.top.b);
	free(w.sub.b);
	free(w.tmp.b);
	free(w.lab.b);
	free(w.locs);
	free(w.ft.f);
	hashmap__fini(&w.ft.map);
	free(w.mt.m);
	strtab_fini(&w.st);
	free(sink);
	return err;
}
