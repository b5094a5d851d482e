/* SPDX-License-Identifier: MIT
 *
 * Differential profiles (see diff.h). Each input profile is walked once:
 * every frame id a stack uses gets its identity key (a byte string that holds each part
 * with its length first, so no name can fake a separator), the key is looked
 * up in a table of the result's frames (util/hashmap.h), and the frame is
 * interned in the result on first sight; threads get the same treatment
 * with their own key. Then NEW's stacks are added with their counts and
 * BASE's with profile__add_base, both through those id maps, so stacks with
 * equal identities meet in one result stack. NEW goes first, so the result
 * keeps NEW's full file names and thread order.
 *
 * diff_top() folds the result's frames into functions (the label without
 * its line) and counts, per stack, the leaf's function (own samples) and
 * every function once (total samples), for NEW's counts and BASE's bases.
 */
#include "agg/diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

/* ---- keys: a table of byte strings -> dense indexes ---- */

struct keytab {
	char **keys;
	size_t *lens;
	uint32_t *vals;         /* the caller's value per key (a result id) */
	size_t n, cap, lcap, vcap;
	struct hashmap tab;
};

static void keytab_init(struct keytab *k)
{
	memset(k, 0, sizeof(*k));
	hashmap__init(&k->tab, 256);
}

static void keytab_fini(struct keytab *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->keys[i]);
	free(k->keys);
	free(k->lens);
	free(k->vals);
	hashmap__fini(&k->tab);
}

/* The index of key (len bytes); a new one (with *fresh set) if it was not
 * there. The key is copied. */
static uint32_t keytab_get(struct keytab *k, const char *key, size_t len, bool *fresh)
{
	struct hashmap_pos pos;
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, key, len);
	for (uint32_t i = hashmap__first(&k->tab, h, &pos); i != HASHMAP_NONE;
	     i = hashmap__next(&k->tab, &pos))
		if (k->lens[i] == len && memcmp(k->keys[i], key, len) == 0) {
			*fresh = false;
			return i;
		}
	k->keys = xgrow(k->keys, &k->cap, k->n + 1, sizeof(*k->keys));
	k->lens = xgrow(k->lens, &k->lcap, k->n + 1, sizeof(*k->lens));
	k->vals = xgrow(k->vals, &k->vcap, k->n + 1, sizeof(*k->vals));
	k->keys[k->n] = xmalloc(len ? len : 1);
	memcpy(k->keys[k->n], key, len);
	k->lens[k->n] = len;
	k->vals[k->n] = HASHMAP_NONE;
	hashmap__insert(&k->tab, &pos, (uint32_t)k->n);
	*fresh = true;
	return (uint32_t)k->n++;
}

/* A growing byte buffer for building keys. */
struct kbuf {
	char *s;
	size_t n, cap;
};

static void kbuf_part(struct kbuf *b, const void *data, size_t len)
{
	b->s = xgrow(b->s, &b->cap, b->n + sizeof(len) + len, 1);
	memcpy(b->s + b->n, &len, sizeof(len));
	memcpy(b->s + b->n + sizeof(len), data, len);
	b->n += sizeof(len) + len;
}

static void kbuf_str(struct kbuf *b, const char *s)
{
	kbuf_part(b, s, strlen(s));
}

/* The pattern of s (profile_thread_pattern: numbers not inside a word ->
 * "N"); heap string. A pattern is never longer than s. */
static char *pattern_of(const char *s)
{
	size_t n = strlen(s) + 1;
	char *buf = xmalloc(n);
	profile_thread_pattern(s, buf, n);
	return buf;
}

/* ---- diff_build ---- */

struct builder {
	struct profile *res;
	const struct diff_opts *o;
	struct keytab frames, threads, procs;
	struct kbuf key;
	uint32_t merged_thread;         /* the one thread when threads are merged */
};

/* The result's frame id of frame f of an input. */
static uint32_t map_frame(struct builder *b, const struct prof_frame *f)
{
	const char *name = f->name, *file = f->filename, *shortf = f->short_filename;
	int line = f->line;
	char *pat = NULL;
	switch (f->kind) {
	case PROF_FRAME_PYTHON:
		if (b->o->no_lines)
			line = -1;
		break;
	case PROF_FRAME_NATIVE:
		line = -1;
		break;
	case PROF_FRAME_PROCESS:
	case PROF_FRAME_THREAD:
		name = pat = pattern_of(f->name);
		break;
	case PROF_FRAME_INTERP:
	case PROF_FRAME_OTHER:
	case PROF_FRAME_TASK:
		break;
	}
	b->key.n = 0;
	int kind = (int)f->kind;
	kbuf_part(&b->key, &kind, sizeof(kind));
	kbuf_str(&b->key, name);
	kbuf_str(&b->key, shortf);
	kbuf_part(&b->key, &line, sizeof(line));
	bool fresh;
	uint32_t k = keytab_get(&b->frames, b->key.s, b->key.n, &fresh);
	if (fresh)
		b->frames.vals[k] = profile__frame(b->res, name, file, shortf, line, f->kind);
	free(pat);
	return b->frames.vals[k];
}

/* The result's thread id of thread t of an input. */
static uint32_t map_thread(struct builder *b, const struct prof_thread *t)
{
	if (!b->o->threads)
		return b->merged_thread;
	char *cmd = pattern_of(t->process_cmdline ? t->process_cmdline : "");
	char *name = pattern_of(t->name ? t->name : "");
	bool fresh;
	uint32_t proc = keytab_get(&b->procs, cmd, strlen(cmd), &fresh);
	b->key.n = 0;
	kbuf_part(&b->key, &proc, sizeof(proc));
	kbuf_str(&b->key, name);
	uint32_t k = keytab_get(&b->threads, b->key.s, b->key.n, &fresh);
	if (fresh)
		b->threads.vals[k] = profile__thread(b->res, (pid_t)proc + 1, (pid_t)k + 1, name,
						     t->process_cmdline ? t->process_cmdline : "");
	free(cmd);
	free(name);
	return b->threads.vals[k];
}

/* Add every stack of in: its counts (base false) or as base counts. */
static void add_stacks(struct builder *b, const struct profile *in, bool base)
{
	size_t nf = profile__nframes(in), nt = profile__nthreads(in);
	uint32_t *fmap = xmalloc((nf ? nf : 1) * sizeof(*fmap));
	uint32_t *tmap = xmalloc((nt ? nt : 1) * sizeof(*tmap));
	for (uint32_t i = 0; i < nf; i++)
		fmap[i] = HASHMAP_NONE; /* mapped when a stack uses it */
	for (uint32_t i = 0; i < nt; i++)
		tmap[i] = HASHMAP_NONE;
	uint32_t *fr = NULL;
	size_t fcap = 0;
	for (uint32_t s = 0; s < profile__nstacks(in); s++) {
		const struct prof_stack *st = profile__stack_at(in, s);
		if (!st->count || st->thread >= nt)
			continue;
		fr = xgrow(fr, &fcap, st->n ? st->n : 1, sizeof(*fr));
		size_t n = 0;
		for (uint32_t k = 0; k < st->n; k++) {
			uint32_t f = st->frames[k];
			if (f >= nf)
				continue;
			if (fmap[f] == HASHMAP_NONE)
				fmap[f] = map_frame(b, profile__frame_at(in, f));
			fr[n++] = fmap[f];
		}
		if (tmap[st->thread] == HASHMAP_NONE)
			tmap[st->thread] = map_thread(b, profile__thread_at(in, st->thread));
		uint32_t th = tmap[st->thread];
		if (base) {
			profile__add_base(b->res, th, fr, n, st->count);
			continue;
		}
		/* profile__add takes 32-bit weights */
		for (uint64_t left = st->count; left;) {
			uint32_t w = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
			profile__add(b->res, th, fr, n, 0, w);
			left -= w;
		}
	}
	free(fr);
	free(fmap);
	free(tmap);
}

static void copy_sources(struct profile *res, const struct profile *in)
{
	for (size_t i = 0; i < profile__nsources(in); i++) {
		const struct prof_source *s = profile__source_at(in, i);
		if (!profile__source(res, s->filename))
			profile__set_source(res, s->filename, s->text, s->len, s->error);
	}
}

struct profile *diff_build(const struct profile *base, const struct profile *new,
			   const struct diff_opts *o)
{
	struct diff_opts def = DIFF_OPTS_DEFAULT;
	struct builder b = { .o = o ? o : &def };
	b.res = profile__new();
	profile__set_keep_runs(b.res, false);
	keytab_init(&b.frames);
	keytab_init(&b.threads);
	keytab_init(&b.procs);
	if (!b.o->threads)
		b.merged_thread = profile__thread(b.res, 1, 1, "all threads",
						  profile__meta(new)->command_line);
	add_stacks(&b, new, false);
	add_stacks(&b, base, true);
	copy_sources(b.res, new);
	copy_sources(b.res, base);

	struct prof_meta m = *profile__meta(new);
	const struct prof_meta *bm = profile__meta(base);
	m.diff = true;
	m.native = m.native || bm->native;
	/* A diff compares samples: it carries neither profile's split nor bytes. */
	m.classified = false;
	m.memory = false;
	if (b.o->title)
		m.title = b.o->title;
	profile__set_meta(b.res, &m);

	keytab_fini(&b.frames);
	keytab_fini(&b.threads);
	keytab_fini(&b.procs);
	free(b.key.s);
	return b.res;
}

/* ---- diff_top ---- */

static double share(uint64_t part, uint64_t total)
{
	return total ? (double)part / (double)total : 0;
}

static double change_of(const struct diff_row *r)
{
	double c = r->self_new_share - r->self_base_share;
	return c < 0 ? -c : c;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	double cx = change_of(x), cy = change_of(y);
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(x->label, y->label);
}

size_t diff_top(const struct profile *d, size_t max, bool full, struct diff_row **rows)
{
	size_t nf = profile__nframes(d);
	uint32_t *func = xmalloc((nf ? nf : 1) * sizeof(*func));
	struct keytab funcs;
	keytab_init(&funcs);
	size_t lcap = 256;
	char *lbuf = xmalloc(lcap);
	for (uint32_t i = 0; i < nf; i++) {
		struct prof_frame f = *profile__frame_at(d, i);
		f.line = -1;
		size_t need = strlen(f.name) + strlen(full ? f.filename : f.short_filename) + 8;
		lbuf = xgrow(lbuf, &lcap, need, 1);
		profile_frame_label(&f, full, lbuf, lcap);
		bool fresh;
		func[i] = keytab_get(&funcs, lbuf, strlen(lbuf), &fresh);
	}
	free(lbuf);
	size_t nfn = funcs.n;
	struct diff_row *r = xcalloc(nfn ? nfn : 1, sizeof(*r));
	uint32_t *seen = xmalloc((nfn ? nfn : 1) * sizeof(*seen));
	for (size_t i = 0; i < nfn; i++)
		seen[i] = UINT32_MAX;
	for (uint32_t s = 0; s < profile__nstacks(d); s++) {
		const struct prof_stack *st = profile__stack_at(d, s);
		if ((!st->count && !st->base) || !st->n)
			continue;
		for (uint32_t k = 0; k < st->n; k++) {
			if (st->frames[k] >= nf)
				continue;
			uint32_t fn = func[st->frames[k]];
			if (seen[fn] == s)
				continue;       /* recursion: once per stack */
			seen[fn] = s;
			r[fn].total_new += st->count;
			r[fn].total_base += st->base;
		}
		if (st->frames[st->n - 1] < nf) {
			uint32_t leaf = func[st->frames[st->n - 1]];
			r[leaf].self_new += st->count;
			r[leaf].self_base += st->base;
		}
	}
	uint64_t tn = profile__total(d), tb = profile__base_total(d);
	for (size_t i = 0; i < nfn; i++) {
		r[i].label = xmalloc(funcs.lens[i] + 1);
		memcpy(r[i].label, funcs.keys[i], funcs.lens[i]);
		r[i].label[funcs.lens[i]] = '\0';
		r[i].self_new_share = share(r[i].self_new, tn);
		r[i].self_base_share = share(r[i].self_base, tb);
		r[i].total_new_share = share(r[i].total_new, tn);
		r[i].total_base_share = share(r[i].total_base, tb);
	}
	qsort(r, nfn, sizeof(*r), cmp_rows);
	size_t n = nfn < max ? nfn : max;
	for (size_t i = n; i < nfn; i++)
		free(r[i].label);
	free(seen);
	free(func);
	keytab_fini(&funcs);
	*rows = r;
	return n;
}

void diff_rows_free(struct diff_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++)
		free(rows[i].label);
	free(rows);
}
