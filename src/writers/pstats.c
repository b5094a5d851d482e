/* SPDX-License-Identifier: MIT
 *
 * pstats writer (see pstats.h). Each frame of the profile is mapped once to
 * its entry: the key's three parts (file, line, name) made valid UTF-8 and
 * rendered as marshal text, interned by that text in a hash index, so
 * frames that give the same key share an entry. Then every stack with
 * samples adds its count once: to its leaf's direct count, to the
 * cumulative count of each distinct entry on it (a per-entry stamp, the
 * stack's id, skips repeats from recursion), and to each distinct
 * (caller, callee) edge on it (the same stamp per edge), the leaf's edge
 * also to the edge's direct count. The edges are then grouped by callee
 * (a counting sort) and the dict is written in marshal's version 2
 * encoding into the output buffer (writers/outbuf.h) in entry order:
 * deterministic, the same profile gives the same bytes.
 */
#include "writers/pstats.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/hashmap.h"
#include "util/termsafe.h"
#include "util/xalloc.h"
#include "writers/outbuf.h"

#define NONE UINT32_MAX

struct entry {
	char *key;              /* the marshal text of the key tuple */
	size_t key_len;
	uint64_t direct, cumulative;
	uint32_t stamp;         /* last stack counted + 1 */
};

struct edge {
	uint32_t caller, callee;
	uint64_t direct, cumulative;
	uint32_t stamp;
};

struct ps {
	struct outbuf ob;       /* first: the output */
	struct entry *entries;
	size_t nentries, entries_cap;
	struct hashmap entry_index;
	struct edge *edges;
	size_t nedges, edges_cap;
	struct hashmap edge_index;
	uint32_t *frame_entry;  /* per profile frame */
};

/* Growable byte buffer for a key's marshal text. */
struct bytes {
	char *b;
	size_t n, cap;
};

static void bytes_put(struct bytes *b, const void *s, size_t n)
{
	b->b = xgrow(b->b, &b->cap, b->n + n, 1);
	memcpy(b->b + b->n, s, n);
	b->n += n;
}

static void le32(char *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (char)(v >> (8 * i));
}

/* marshal TYPE_UNICODE: 'u', length, UTF-8 (malformed bytes as U+FFFD). */
static void put_str(struct bytes *b, const char *s)
{
	size_t at = b->n, len = 0;
	char head[5] = { 'u' };
	bytes_put(b, head, 5);
	for (const unsigned char *c = (const unsigned char *)s; *c;) {
		size_t n;
		long cp = termsafe_utf8_next(c, &n);
		if (cp < 0) {
			bytes_put(b, "\xef\xbf\xbd", 3);
			len += 3;
		} else {
			bytes_put(b, c, n);
			len += n;
		}
		c += n;
	}
	le32(b->b + at + 1, (uint32_t)len);
}

/* A Python int: TYPE_INT when it fits 32 bits, else TYPE_LONG (15-bit digits). */
static void put_int(struct outbuf *o, uint64_t v)
{
	char b[5 + 2 * 5];
	if (v <= INT32_MAX) {
		b[0] = 'i';
		le32(b + 1, (uint32_t)v);
		outbuf__mem(o, b, 5);
		return;
	}
	uint32_t n = 0;
	for (uint64_t x = v; x; x >>= 15)
		n++;
	b[0] = 'l';
	le32(b + 1, n);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((v >> (15 * i)) & 0x7fff);
		b[5 + 2 * i] = (char)(d & 0xff);
		b[6 + 2 * i] = (char)(d >> 8);
	}
	outbuf__mem(o, b, 5 + 2 * n);
}

/* marshal TYPE_BINARY_FLOAT: 'g' and the IEEE double, little-endian. */
static void put_float(struct outbuf *o, double v)
{
	char b[9] = { 'g' };
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	for (int i = 0; i < 8; i++)
		b[1 + i] = (char)(bits >> (8 * i));
	outbuf__mem(o, b, 9);
}

static void put_tuple_head(struct outbuf *o, uint32_t n)
{
	char b[5] = { '(' };
	le32(b + 1, n);
	outbuf__mem(o, b, 5);
}

/* The entry of a frame: (file, line, name) as pstats.h says. */
static uint32_t frame_entry(struct ps *s, const struct prof_frame *f)
{
	bool has_file = f->filename[0] && f->kind != PROF_FRAME_PROCESS && f->kind != PROF_FRAME_THREAD &&
			f->kind != PROF_FRAME_INTERP && f->kind != PROF_FRAME_OTHER &&
			f->kind != PROF_FRAME_TASK;
	struct bytes b = { 0 };
	char head[5] = { '(' };
	le32(head + 1, 3);
	bytes_put(&b, head, 5);
	put_str(&b, has_file ? f->filename : "~");
	char num[5] = { 'i' };
	le32(num + 1, (uint32_t)(has_file && f->line > 0 ? f->line : 0));
	bytes_put(&b, num, 5);
	put_str(&b, f->name);

	uint64_t h = hashmap_fnv(HASHMAP_FNV0, b.b, b.n);
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&s->entry_index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&s->entry_index, &pos)) {
		const struct entry *e = &s->entries[id];
		if (e->key_len == b.n && memcmp(e->key, b.b, b.n) == 0) {
			free(b.b);
			return id;
		}
	}
	s->entries = xgrow(s->entries, &s->entries_cap, s->nentries + 1, sizeof(*s->entries));
	s->entries[s->nentries] = (struct entry){ .key = b.b, .key_len = b.n };
	hashmap__insert(&s->entry_index, &pos, (uint32_t)s->nentries);
	return (uint32_t)s->nentries++;
}

static struct edge *edge(struct ps *s, uint32_t caller, uint32_t callee)
{
	uint64_t key = (uint64_t)caller << 32 | callee;
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, &key, sizeof(key));
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&s->edge_index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&s->edge_index, &pos))
		if (s->edges[id].caller == caller && s->edges[id].callee == callee)
			return &s->edges[id];
	s->edges = xgrow(s->edges, &s->edges_cap, s->nedges + 1, sizeof(*s->edges));
	s->edges[s->nedges] = (struct edge){ .caller = caller, .callee = callee };
	hashmap__insert(&s->edge_index, &pos, (uint32_t)s->nedges);
	return &s->edges[s->nedges++];
}

static void count_stack(struct ps *s, const struct prof_stack *st, uint32_t stamp)
{
	if (!st->n || !st->count)
		return;
	uint32_t prev = NONE;
	for (uint32_t k = 0; k < st->n; k++) {
		uint32_t e = s->frame_entry[st->frames[k]];
		if (s->entries[e].stamp != stamp) {
			s->entries[e].stamp = stamp;
			s->entries[e].cumulative += st->count;
		}
		if (prev != NONE) {
			struct edge *ed = edge(s, prev, e);
			if (ed->stamp != stamp) {
				ed->stamp = stamp;
				ed->cumulative += st->count;
			}
			if (k + 1 == st->n)
				ed->direct += st->count;
		}
		prev = e;
	}
	s->entries[prev].direct += st->count;
}

int pstats_write(FILE *f, const struct profile *p, const struct pstats_opts *opts)
{
	struct pstats_opts def = PSTATS_OPTS_DEFAULT;
	if (!opts)
		opts = &def;
	struct ps *s = xcalloc(1, sizeof(*s));
	outbuf__init(&s->ob, f);
	hashmap__init(&s->entry_index, 64);
	hashmap__init(&s->edge_index, 64);
	size_t nf = profile__nframes(p);
	s->frame_entry = xmalloc((nf ? nf : 1) * sizeof(*s->frame_entry));
	for (uint32_t i = 0; i < nf; i++)
		s->frame_entry[i] = frame_entry(s, profile__frame_at(p, i));
	for (uint32_t i = 0; i < profile__nstacks(p); i++)
		count_stack(s, profile__stack_at(p, i), i + 1);

	/* Edges grouped by callee, in edge order. */
	uint32_t *first = xcalloc(s->nentries + 1, sizeof(*first));
	uint32_t *by_callee = xmalloc((s->nedges ? s->nedges : 1) * sizeof(*by_callee));
	for (size_t i = 0; i < s->nedges; i++)
		first[s->edges[i].callee + 1]++;
	for (size_t e = 0; e < s->nentries; e++)
		first[e + 1] += first[e];
	uint32_t *fill = xmalloc((s->nentries ? s->nentries : 1) * sizeof(*fill));
	memcpy(fill, first, s->nentries * sizeof(*fill));
	for (size_t i = 0; i < s->nedges; i++)
		by_callee[fill[s->edges[i].callee]++] = (uint32_t)i;

	double rate = profile_sample_rate(profile__meta(p));
	double period = rate > 0 ? 1.0 / rate : 0.01;
	struct outbuf *o = &s->ob;
	outbuf__mem(o, "{", 1);
	for (size_t e = 0; e < s->nentries && !o->err; e++) {
		const struct entry *en = &s->entries[e];
		if (!en->cumulative)
			continue;       /* a frame no sample has now */
		outbuf__mem(o, en->key, en->key_len);
		put_tuple_head(o, 5);
		put_int(o, en->direct);
		put_int(o, en->cumulative);
		put_float(o, (double)en->direct * period);
		put_float(o, (double)en->cumulative * period);
		outbuf__mem(o, "{", 1);
		for (uint32_t k = first[e]; k < first[e + 1]; k++) {
			const struct edge *ed = &s->edges[by_callee[k]];
			const struct entry *caller = &s->entries[ed->caller];
			outbuf__mem(o, caller->key, caller->key_len);
			put_tuple_head(o, 4);
			put_int(o, ed->cumulative);
			put_int(o, ed->direct);
			put_float(o, (double)ed->direct * period);
			put_float(o, (double)ed->cumulative * period);
		}
		outbuf__mem(o, "0", 1);
	}
	if (opts->sampled_marker) {
		/* ('__sampled__',): True */
		outbuf__mem(o, "(\x01\x00\x00\x00u\x0b\x00\x00\x00__sampled__T", 22);
	}
	outbuf__mem(o, "0", 1);
	outbuf__flush(o);
	if (fflush(f) != 0 || ferror(f))
		o->err = -EIO;
	int err = o->err;
	for (size_t e = 0; e < s->nentries; e++)
		free(s->entries[e].key);
	free(s->entries);
	free(s->edges);
	free(s->frame_entry);
	free(first);
	free(by_callee);
	free(fill);
	hashmap__fini(&s->entry_index);
	hashmap__fini(&s->edge_index);
	free(s);
	return err;
}
