/* SPDX-License-Identifier: MIT
 *
 * The pprof writer, read back by a tiny protobuf decoder of its own (wire
 * types 0 and 2 only, the fields of profile.proto the writer uses, every
 * length checked against the buffer): sample types, period, times,
 * comments, samples (locations leaf first, values, labels), locations,
 * functions and mappings of a small profile with Python and native frames;
 * wall time with idle threads; synthetic roots become labels; a lane of
 * exited threads; an empty profile without a rate; invalid UTF-8 repaired;
 * the gzip stream (deterministic, inflating to the raw message); write
 * errors on /dev/full; and the writer table's entry (.pb, .pb.gz, .pprof;
 * compressed by itself).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "agg/profile.h"
#include "writers/pprof.h"
#include "writers/writer.h"

#define MS 1000000ull
#define MAXN 64

struct d_label { uint64_t key, str; int64_t num; };
struct d_sample {
	uint64_t loc[MAXN];
	size_t nloc;
	int64_t val[4];
	size_t nval;
	struct d_label lab[16];
	size_t nlab;
};
struct d_loc { uint64_t id, mapping, function; int64_t line; size_t nline; };
struct d_func { uint64_t id, name, system_name, file; };
struct d_map { uint64_t id, file; bool fn, fl, ln; };

/* A decoded profile (small ones only: MAXN of each). */
struct dprof {
	bool bad;                       /* a malformed message, or more than MAXN of something */
	char *str[4 * MAXN];
	size_t nstr;
	uint64_t st_type[4], st_unit[4];
	size_t nst;
	struct d_sample s[MAXN];
	size_t ns;
	struct d_loc loc[MAXN];
	size_t nloc;
	struct d_func fn[MAXN];
	size_t nfn;
	struct d_map map[MAXN];
	size_t nmap;
	uint64_t time_nanos, duration_nanos, period, pt_type, pt_unit, default_type;
	uint64_t comment[8];
	size_t ncomment;
};

struct dec {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t d_varint(struct dec *d)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (d->p >= d->end) {
			d->bad = true;
			return 0;
		}
		unsigned char c = *d->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	d->bad = true;
	return 0;
}

/* The next field: its number, and its value (wire type 0) or its bytes
 * (wire type 2, as a sub-decoder). false at the end or on an error. */
static bool d_field(struct dec *d, unsigned *field, uint64_t *v, struct dec *sub)
{
	if (d->p >= d->end || d->bad)
		return false;
	uint64_t tag = d_varint(d);
	*field = (unsigned)(tag >> 3);
	unsigned wt = tag & 7;
	*v = 0;
	sub->p = sub->end = NULL;
	sub->bad = false;
	if (wt == 0) {
		*v = d_varint(d);
	} else if (wt == 2) {
		uint64_t n = d_varint(d);
		if (n > (uint64_t)(d->end - d->p)) {
			d->bad = true;
			return false;
		}
		sub->p = d->p;
		sub->end = d->p + n;
		d->p += n;
		*v = n;
	} else {
		d->bad = true;
	}
	return !d->bad;
}

/* A packed run of varints into out (at most max). */
static size_t d_packed(struct dec *sub, uint64_t *out, size_t max, bool *bad)
{
	size_t n = 0;
	while (sub->p < sub->end && !sub->bad) {
		uint64_t v = d_varint(sub);
		if (n < max)
			out[n++] = v;
		else
			*bad = true;
	}
	*bad |= sub->bad;
	return n;
}

static void d_sample(struct dprof *dp, struct dec *d)
{
	if (dp->ns >= MAXN) {
		dp->bad = true;
		return;
	}
	struct d_sample *s = &dp->s[dp->ns++];
	unsigned f;
	uint64_t v, tmp[MAXN];
	struct dec sub;
	while (d_field(d, &f, &v, &sub)) {
		if (f == 1) {
			s->nloc = d_packed(&sub, s->loc, MAXN, &dp->bad);
		} else if (f == 2) {
			s->nval = d_packed(&sub, tmp, 4, &dp->bad);
			for (size_t i = 0; i < s->nval; i++)
				s->val[i] = (int64_t)tmp[i];
		} else if (f == 3 && s->nlab < 16) {
			struct d_label *l = &s->lab[s->nlab++];
			struct dec ld;
			while (d_field(&sub, &f, &v, &ld)) {
				if (f == 1) l->key = v;
				else if (f == 2) l->str = v;
				else if (f == 3) l->num = (int64_t)v;
			}
			dp->bad |= sub.bad;
		} else {
			dp->bad = true;
		}
	}
	dp->bad |= d->bad;
}

/* Decode a whole (uncompressed) Profile message. */
static void decode(struct dprof *dp, const unsigned char *buf, size_t n)
{
	memset(dp, 0, sizeof(*dp));
	struct dec d = { buf, buf + n, false }, sub, x;
	unsigned f, g;
	uint64_t v, w;
	while (d_field(&d, &f, &v, &sub)) {
		switch (f) {
		case 1: case 11: {
			uint64_t t = 0, u = 0;
			while (d_field(&sub, &g, &w, &x)) {
				if (g == 1)
					t = w;
				else if (g == 2)
					u = w;
				else
					dp->bad = true;
			}
			if (f == 11) {
				dp->pt_type = t;
				dp->pt_unit = u;
			} else if (dp->nst < 4) {
				dp->st_type[dp->nst] = t;
				dp->st_unit[dp->nst++] = u;
			}
			break;
		}
		case 2:
			d_sample(dp, &sub);
			break;
		case 3: {
			if (dp->nmap >= MAXN) { dp->bad = true; break; }
			struct d_map *m = &dp->map[dp->nmap++];
			while (d_field(&sub, &g, &w, &x)) {
				if (g == 1) m->id = w;
				else if (g == 5) m->file = w;
				else if (g == 7) m->fn = w;
				else if (g == 8) m->fl = w;
				else if (g == 9) m->ln = w;
				else dp->bad = true;
			}
			break;
		}
		case 4: {
			if (dp->nloc >= MAXN) { dp->bad = true; break; }
			struct d_loc *l = &dp->loc[dp->nloc++];
			while (d_field(&sub, &g, &w, &x)) {
				if (g == 1) {
					l->id = w;
				} else if (g == 2) {
					l->mapping = w;
				} else if (g == 4) {
					struct dec y;
					unsigned h;
					uint64_t z;
					l->nline++;
					while (d_field(&x, &h, &z, &y)) {
						if (h == 1)
							l->function = z;
						else if (h == 2)
							l->line = (int64_t)z;
						else
							dp->bad = true;
					}
				} else {
					dp->bad = true;
				}
			}
			break;
		}
		case 5: {
			if (dp->nfn >= MAXN) { dp->bad = true; break; }
			struct d_func *fn = &dp->fn[dp->nfn++];
			while (d_field(&sub, &g, &w, &x)) {
				if (g == 1) fn->id = w;
				else if (g == 2) fn->name = w;
				else if (g == 3) fn->system_name = w;
				else if (g == 4) fn->file = w;
				else dp->bad = true;
			}
			break;
		}
		case 6:
			if (dp->nstr >= 4 * MAXN) { dp->bad = true; break; }
			dp->str[dp->nstr] = malloc(v + 1);
			memcpy(dp->str[dp->nstr], sub.p, v);
			dp->str[dp->nstr++][v] = '\0';
			break;
		case 9: dp->time_nanos = v; break;
		case 10: dp->duration_nanos = v; break;
		case 12: dp->period = v; break;
		case 13: dp->ncomment = d_packed(&sub, dp->comment, 8, &dp->bad); break;
		case 14: dp->default_type = v; break;
		default: dp->bad = true;
		}
		dp->bad |= sub.bad;
	}
	dp->bad |= d.bad;
}

static void dprof_free(struct dprof *dp)
{
	for (size_t i = 0; i < dp->nstr; i++)
		free(dp->str[i]);
}

static const char *S(const struct dprof *dp, uint64_t i)
{
	return i < dp->nstr ? dp->str[i] : "<out of range>";
}

static const struct d_loc *find_loc(const struct dprof *dp, uint64_t id)
{
	for (size_t i = 0; i < dp->nloc; i++)
		if (dp->loc[i].id == id)
			return &dp->loc[i];
	return NULL;
}

static const struct d_func *find_fn(const struct dprof *dp, uint64_t id)
{
	for (size_t i = 0; i < dp->nfn; i++)
		if (dp->fn[i].id == id)
			return &dp->fn[i];
	return NULL;
}

static const struct d_map *find_map(const struct dprof *dp, uint64_t id)
{
	for (size_t i = 0; i < dp->nmap; i++)
		if (dp->map[i].id == id)
			return &dp->map[i];
	return NULL;
}

/* "name name ..." of sample s's locations, leaf first. */
static void stack_text(const struct dprof *dp, const struct d_sample *s, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < s->nloc; i++) {
		const struct d_loc *l = find_loc(dp, s->loc[i]);
		const struct d_func *fn = l ? find_fn(dp, l->function) : NULL;
		size_t len = strlen(buf);
		snprintf(buf + len, n - len, "%s%s", i ? " " : "", fn ? S(dp, fn->name) : "?");
	}
}

/* The label key of sample s: its string value, or its number as text. */
static const char *label(const struct dprof *dp, const struct d_sample *s, const char *key, char *buf,
			 size_t n)
{
	for (size_t i = 0; i < s->nlab; i++) {
		if (strcmp(S(dp, s->lab[i].key), key) != 0)
			continue;
		if (s->lab[i].str)
			return S(dp, s->lab[i].str);
		snprintf(buf, n, "%lld", (long long)s->lab[i].num);
		return buf;
	}
	return NULL;
}

/* The sample whose stack text is text and whose thread_id label is tid
 * ("" for none), or NULL. */
static const struct d_sample *find_sample(const struct dprof *dp, const char *text, const char *tid)
{
	char b[1024], nb[32];
	for (size_t i = 0; i < dp->ns; i++) {
		stack_text(dp, &dp->s[i], b, sizeof(b));
		const char *t = label(dp, &dp->s[i], "thread_id", nb, sizeof(nb));
		if (strcmp(b, text) == 0 && strcmp(t ? t : "", tid) == 0)
			return &dp->s[i];
	}
	return NULL;
}

/* Write p with the writer (gzip or not) into a heap buffer. */
static unsigned char *write_mem(const struct profile *p, bool gzip, size_t *n, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pprof_opts o = PPROF_OPTS_DEFAULT;
	o.gzip = gzip;
	*err = pprof_write(f, p, &o);
	fclose(f);
	*n = len;
	return (unsigned char *)buf;
}

static void write_decode(const struct profile *p, struct dprof *dp)
{
	size_t n;
	int err;
	unsigned char *b = write_mem(p, false, &n, &err);
	CHECK_INT(err, 0);
	decode(dp, b, n);
	CHECK(!dp->bad);
	CHECK(dp->nstr > 0 && dp->str[0][0] == '\0');
	free(b);
}

/* Two threads of process 10 at 100 Hz, Python frames and a native one. */
static struct profile *small(void)
{
	struct profile *p = profile__new();
	uint32_t t1 = profile__thread(p, 10, 10, "MainThread", "python3 app.py");
	uint32_t t2 = profile__thread(p, 10, 11, "", "python3 app.py");
	uint32_t m = profile__frame(p, "main", "/src/app.py", "app.py", 10, PROF_FRAME_PYTHON);
	uint32_t r = profile__frame(p, "run", "/src/app.py", "app.py", 20, PROF_FRAME_PYTHON);
	uint32_t r2 = profile__frame(p, "run", "/src/app.py", "app.py", 21, PROF_FRAME_PYTHON);
	uint32_t l = profile__frame(p, "<module>", "/src/calc.py", "calc.py", 5, PROF_FRAME_PYTHON);
	uint32_t c = profile__frame(p, "memcpy", "/lib/libc.so.6", "libc.so.6", -1, PROF_FRAME_NATIVE);
	uint32_t s1[] = { m, r, l }, s2[] = { m, r2 }, s3[] = { m, c };
	profile__add(p, t1, s1, 3, 0, 1);
	profile__add(p, t2, s1, 3, 0, 1);
	profile__add(p, t1, s1, 3, 10 * MS, 1);
	profile__add(p, t1, s2, 2, 20 * MS, 1);
	profile__add(p, t1, s1, 3, 30 * MS, 1);
	profile__add(p, t2, s3, 2, 50 * MS, 1);
	profile__add(p, t2, s3, 2, 60 * MS, 1);
	struct prof_meta meta = {
		.title = "demo", .command_line = "python3 app.py", .rate_hz = 100,
		.start_unix_ns = 1700000000123456789ull, .duration_ns = 70 * MS, .samples = 7,
		.python_version = "3.12.1", .native = true,
	};
	profile__set_meta(p, &meta);
	return p;
}

static void test_small(void)
{
	struct profile *p = small();
	struct dprof dp;
	write_decode(p, &dp);
	CHECK_INT(dp.nst, 2);
	CHECK_STR(S(&dp, dp.st_type[0]), "samples");
	CHECK_STR(S(&dp, dp.st_unit[0]), "count");
	CHECK_STR(S(&dp, dp.st_type[1]), "cpu");
	CHECK_STR(S(&dp, dp.st_unit[1]), "nanoseconds");
	CHECK_STR(S(&dp, dp.pt_type), "cpu");
	CHECK_STR(S(&dp, dp.pt_unit), "nanoseconds");
	CHECK_STR(S(&dp, dp.default_type), "cpu");
	CHECK_INT(dp.period, 10 * MS);
	CHECK(dp.time_nanos == 1700000000123456789ull);
	CHECK_INT(dp.duration_nanos, 70 * MS);
	CHECK_INT(dp.ncomment, 3);
	CHECK(strncmp(S(&dp, dp.comment[0]), "cspy ", 5) == 0);
	CHECK_STR(S(&dp, dp.comment[1]), "command line: python3 app.py");
	CHECK_STR(S(&dp, dp.comment[2]), "Python 3.12.1");

	/* One sample per (thread, stack); values [count, count x period]. */
	CHECK_INT(dp.ns, 4);
	int64_t total = 0;
	for (size_t i = 0; i < dp.ns; i++) {
		CHECK_INT(dp.s[i].nval, 2);
		CHECK_INT(dp.s[i].val[1], dp.s[i].val[0] * (int64_t)(10 * MS));
		total += dp.s[i].val[0];
	}
	CHECK_INT(total, 7);
	const struct d_sample *a = find_sample(&dp, "<module> run main", "10");
	const struct d_sample *b = find_sample(&dp, "<module> run main", "11");
	const struct d_sample *c = find_sample(&dp, "run main", "10");
	const struct d_sample *d = find_sample(&dp, "memcpy main", "11");
	CHECK(a && b && c && d);
	char nb[32];
	if (a && b && c && d) {
		CHECK_INT(a->val[0], 3);
		CHECK_INT(b->val[0], 1);
		CHECK_INT(c->val[0], 1);
		CHECK_INT(d->val[0], 2);
		CHECK_STR(label(&dp, a, "pid", nb, sizeof(nb)), "10");
		CHECK_STR(label(&dp, a, "thread_name", nb, sizeof(nb)), "MainThread");
		CHECK_STR(label(&dp, a, "command_line", nb, sizeof(nb)), "python3 app.py");
		CHECK(!label(&dp, b, "thread_name", nb, sizeof(nb)));        /* no name: no label */
		CHECK(!label(&dp, a, "exited_threads", nb, sizeof(nb)));
	}

	/* Functions per (name, file): run:20 and run:21 share one; lines on
	 * the locations; file names full. */
	CHECK_INT(dp.nfn, 4);
	CHECK_INT(dp.nloc, 5);
	const struct d_map *py = NULL, *lib = NULL;
	for (size_t i = 0; i < dp.nloc; i++) {
		const struct d_loc *l = &dp.loc[i];
		const struct d_func *fn = find_fn(&dp, l->function);
		const struct d_map *m = find_map(&dp, l->mapping);
		CHECK(fn && m && l->nline == 1);
		if (!fn || !m)
			continue;
		CHECK(!fn->system_name);
		const char *name = S(&dp, fn->name);
		if (strcmp(name, "memcpy") == 0) {
			lib = m;
			CHECK_STR(S(&dp, fn->file), "/lib/libc.so.6");
			CHECK_INT(l->line, 0);
		} else {
			py = m;
			CHECK(strcmp(S(&dp, fn->file), "/src/app.py") == 0 ||
			      strcmp(S(&dp, fn->file), "/src/calc.py") == 0);
			CHECK(l->line == 10 || l->line == 20 || l->line == 21 || l->line == 5);
		}
	}
	/* Native frames kept apart: libc's own mapping, without lines. */
	CHECK_INT(dp.nmap, 2);
	CHECK(py && lib && py != lib);
	if (py && lib) {
		CHECK_STR(S(&dp, py->file), "[python]");
		CHECK(py->fn && py->fl && py->ln);
		CHECK_STR(S(&dp, lib->file), "/lib/libc.so.6");
		CHECK(lib->fn && !lib->ln);
	}
	dprof_free(&dp);
	profile__free(p);
}

/* The split and --memory: small()'s stacks with classes and bytes. The
 * 3-sample stack of thread 10 (2 python, 1 system; 3000 bytes grown, 30
 * shrunk) becomes two samples labelled class=python and class=system with
 * the bytes shared 2:1; thread 11's memcpy stack (2 samples: 1 native, 1
 * not classified; 5 bytes) a native one and one without a label (the rest:
 * 3 bytes). Sample types alloc_space/free_space bytes, alloc_space the
 * default. */
static void test_split_memory(void)
{
	struct profile *p = small();
	struct prof_meta meta = *profile__meta(p);
	meta.title = "demo";
	meta.command_line = "python3 app.py";
	meta.python_version = "3.12.1";
	meta.classified = meta.memory = true;
	profile__set_meta(p, &meta);
	uint32_t s1 = PROFILE_NO_STACK, s3 = PROFILE_NO_STACK;
	for (uint32_t i = 0; i < profile__nstacks(p); i++) {
		const struct prof_stack *st = profile__stack_at(p, i);
		const struct prof_thread *th = profile__thread_at(p, st->thread);
		if (th->tid == 10 && st->n == 3)
			s1 = i;
		if (th->tid == 11 && st->n == 2)
			s3 = i;
	}
	CHECK(s1 != PROFILE_NO_STACK && s3 != PROFILE_NO_STACK);
	profile__add_class(p, s1, PROF_CLASS_PYTHON, 2);
	profile__add_class(p, s1, PROF_CLASS_SYSTEM, 1);
	profile__add_memory(p, s1, 3000);
	profile__add_memory(p, s1, -30);
	profile__add_class(p, s3, PROF_CLASS_NATIVE, 1);
	profile__add_memory(p, s3, 5);
	struct dprof dp;
	write_decode(p, &dp);
	CHECK_INT(dp.nst, 4);
	CHECK_STR(S(&dp, dp.st_type[2]), "alloc_space");
	CHECK_STR(S(&dp, dp.st_unit[2]), "bytes");
	CHECK_STR(S(&dp, dp.st_type[3]), "free_space");
	CHECK_STR(S(&dp, dp.default_type), "alloc_space");
	int64_t total = 0, grow = 0, shrink = 0;
	int py = 0, sys = 0, nat = 0, none = 0;
	char nb[32];
	for (size_t i = 0; i < dp.ns; i++) {
		const struct d_sample *s = &dp.s[i];
		CHECK_INT(s->nval, 4);
		total += s->val[0];
		grow += s->val[2];
		shrink += s->val[3];
		char text[256];
		stack_text(&dp, s, text, sizeof(text));
		const char *cls = label(&dp, s, "class", nb, sizeof(nb));
		const char *tid = label(&dp, s, "thread_id", nb + 16, 16);
		if (strcmp(text, "<module> run main") == 0 && tid && strcmp(tid, "10") == 0) {
			CHECK(cls != NULL);
			if (cls && strcmp(cls, "python") == 0) {
				py++;
				CHECK(s->val[0] == 2 && s->val[2] == 2000 && s->val[3] == 20);
			} else if (cls && strcmp(cls, "system") == 0) {
				sys++;
				CHECK(s->val[0] == 1 && s->val[2] == 1000 && s->val[3] == 10);
			}
		} else if (strcmp(text, "memcpy main") == 0) {
			if (cls) {
				nat++;
				CHECK_STR(cls, "native");
				CHECK(s->val[0] == 1 && s->val[2] == 2);
			} else {
				none++;
				CHECK(s->val[0] == 1 && s->val[2] == 3);
			}
		} else {
			CHECK(cls == NULL && s->val[2] == 0 && s->val[3] == 0);
		}
	}
	CHECK(py == 1 && sys == 1 && nat == 1 && none == 1);
	CHECK_INT(total, 7);
	CHECK_INT(grow, 3005);
	CHECK_INT(shrink, 30);
	dprof_free(&dp);
	profile__free(p);
}

/* Idle threads kept: wall time, not cpu. */
static void test_wall(void)
{
	struct profile *p = small();
	struct prof_meta m = *profile__meta(p);
	m.idle_included = true;
	profile__set_meta(p, &m);
	struct dprof dp;
	write_decode(p, &dp);
	CHECK_STR(S(&dp, dp.st_type[1]), "wall");
	CHECK_STR(S(&dp, dp.pt_type), "wall");
	CHECK_STR(S(&dp, dp.default_type), "wall");
	dprof_free(&dp);
	profile__free(p);
}

/* The measured rate (ticks / duration) sets the period, rounded. */
static void test_measured_period(void)
{
	struct profile *p = small();
	struct prof_meta m = *profile__meta(p);
	m.rate_hz = 1000;
	m.ticks = 3;
	m.duration_ns = 100 * MS;       /* 30 Hz really: 33333333.3 ns */
	profile__set_meta(p, &m);
	struct dprof dp;
	write_decode(p, &dp);
	CHECK_INT(dp.period, 33333333);
	for (size_t i = 0; i < dp.ns; i++)
		CHECK_INT(dp.s[i].val[1], dp.s[i].val[0] * 33333333);
	dprof_free(&dp);
	profile__free(p);
}

/* --subprocesses/--threads/--interpreters roots are labels (process chain
 * root first), not locations; "<truncated>" stays a frame, without
 * mapping; native frames with a source line (or a source file) are in
 * "[native]". */
static void test_roots(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 20, 21, "worker", "python3 child.py");
	uint32_t pa = profile__frame(p, "process 1:\"python3 parent.py\"", "", "", -1, PROF_FRAME_PROCESS);
	uint32_t pc = profile__frame(p, "process 20:\"python3 child.py\"", "", "", -1, PROF_FRAME_PROCESS);
	uint32_t in = profile__frame(p, "interpreter (0)", "", "", -1, PROF_FRAME_INTERP);
	uint32_t th = profile__frame(p, "thread (21): worker", "", "", -1, PROF_FRAME_THREAD);
	uint32_t tr = profile__frame(p, "<truncated>", "", "", -1, PROF_FRAME_OTHER);
	uint32_t f = profile__frame(p, "f", "/src/c.py", "c.py", 3, PROF_FRAME_PYTHON);
	uint32_t n1 = profile__frame(p, "do_read", "/build/io.c", "io.c", 77, PROF_FRAME_NATIVE);
	uint32_t n2 = profile__frame(p, "do_write", "/build/io.c", "io.c", -1, PROF_FRAME_NATIVE);
	uint32_t s[] = { pa, pc, in, th, tr, f, n1, n2 };
	profile__add(p, t, s, 8, 0, 4);
	struct prof_meta meta = { .rate_hz = 100 };
	profile__set_meta(p, &meta);
	struct dprof dp;
	write_decode(p, &dp);
	CHECK_INT(dp.ns, 1);
	char b[256], nb[32];
	stack_text(&dp, &dp.s[0], b, sizeof(b));
	CHECK_STR(b, "do_write do_read f <truncated>");
	CHECK_INT(dp.s[0].val[0], 4);
	const char *procs[2] = { NULL, NULL };
	int np = 0;
	for (size_t i = 0; i < dp.s[0].nlab; i++)
		if (strcmp(S(&dp, dp.s[0].lab[i].key), "process") == 0 && np < 2)
			procs[np++] = S(&dp, dp.s[0].lab[i].str);
	CHECK_INT(np, 2);
	CHECK_STR(procs[0], "process 1:\"python3 parent.py\"");
	CHECK_STR(procs[1], "process 20:\"python3 child.py\"");
	CHECK_STR(label(&dp, &dp.s[0], "thread", nb, sizeof(nb)), "thread (21): worker");
	CHECK_STR(label(&dp, &dp.s[0], "interpreter", nb, sizeof(nb)), "interpreter (0)");
	CHECK_STR(label(&dp, &dp.s[0], "thread_id", nb, sizeof(nb)), "21");
	CHECK_INT(dp.nloc, 4);
	for (size_t i = 0; i < dp.nloc; i++) {
		const struct d_func *fn = find_fn(&dp, dp.loc[i].function);
		const struct d_map *m = find_map(&dp, dp.loc[i].mapping);
		const char *name = fn ? S(&dp, fn->name) : "?";
		if (strcmp(name, "<truncated>") == 0)
			CHECK(dp.loc[i].mapping == 0);
		else if (strcmp(name, "f") == 0)
			CHECK(m && strcmp(S(&dp, m->file), "[python]") == 0);
		else
			CHECK(m && strcmp(S(&dp, m->file), "[native]") == 0);
	}
	dprof_free(&dp);
	profile__free(p);
}

/* A lane of exited threads: no thread_id, exited_threads = N, the name
 * pattern as thread_name. */
static void test_lane(void)
{
	struct profile *p = profile__new();
	uint32_t f = profile__frame(p, "handle", "/src/h.py", "h.py", 1, PROF_FRAME_PYTHON);
	for (int i = 0; i < 2; i++) {
		uint32_t t = profile__thread(p, 5, 100 + i, i ? "Thread-8 (handle)" : "Thread-7 (handle)", "srv");
		profile__add(p, t, &f, 1, 0, 1);
		profile__thread_exit(p, t);
	}
	struct dprof dp;
	write_decode(p, &dp);
	char nb[32];
	CHECK_INT(dp.ns, 1);
	CHECK_INT(dp.nst, 1);           /* no rate: samples/count only */
	CHECK_STR(S(&dp, dp.default_type), "samples");
	if (dp.ns == 1) {
		CHECK_INT(dp.s[0].val[0], 2);
		CHECK(!label(&dp, &dp.s[0], "thread_id", nb, sizeof(nb)));
		CHECK_STR(label(&dp, &dp.s[0], "exited_threads", nb, sizeof(nb)), "2");
		CHECK_STR(label(&dp, &dp.s[0], "thread_name", nb, sizeof(nb)), "Thread-N (handle)");
		CHECK_STR(label(&dp, &dp.s[0], "pid", nb, sizeof(nb)), "5");
	}
	dprof_free(&dp);
	profile__free(p);
}

static void test_empty(void)
{
	struct profile *p = profile__new();
	struct dprof dp;
	write_decode(p, &dp);
	CHECK_INT(dp.ns, 0);
	CHECK_INT(dp.nloc, 0);
	CHECK_INT(dp.nst, 1);
	CHECK_STR(S(&dp, dp.st_type[0]), "samples");
	dprof_free(&dp);
	profile__free(p);
}

static bool valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		int n = *u < 0x80 ? 1 : (*u & 0xe0) == 0xc0 && *u >= 0xc2 ? 2 : (*u & 0xf0) == 0xe0 ? 3
			: (*u & 0xf8) == 0xf0 && *u <= 0xf4 ? 4 : 0;
		if (!n)
			return false;
		for (int i = 1; i < n; i++)
			if ((u[i] & 0xc0) != 0x80)
				return false;
		u += n;
	}
	return true;
}

/* Invalid UTF-8 becomes U+FFFD (one per byte), valid text is kept. */
static void test_hostile(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "bad\xff name", "python3 \xc3(.py");
	uint32_t a = profile__frame(p, "a\xfe\xff<b>\"q\"\n;", "/src/\xe2\x82.py", "\xe2\x82.py", 1,
				    PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "na\xc3\xafve \xf0\x9f\x98\x80 \xed\xa0\x80", "/s.py", "s.py", 2,
				    PROF_FRAME_PYTHON);
	uint32_t s[] = { a, b };
	profile__add(p, t, s, 2, 0, 1);
	struct dprof dp;
	write_decode(p, &dp);
	bool all = true;
	for (size_t i = 0; i < dp.nstr; i++)
		all &= valid_utf8(dp.str[i]);
	CHECK(all);
	char text[256], nb[32];
	if (dp.ns == 1) {
		stack_text(&dp, &dp.s[0], text, sizeof(text));
		CHECK_STR(text, "na\xc3\xafve \xf0\x9f\x98\x80 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
			  "a\xef\xbf\xbd\xef\xbf\xbd<b>\"q\"\n;");
		CHECK_STR(label(&dp, &dp.s[0], "thread_name", nb, sizeof(nb)), "bad\xef\xbf\xbd name");
		CHECK_STR(label(&dp, &dp.s[0], "command_line", nb, sizeof(nb)), "python3 \xef\xbf\xbd(.py");
	}
	CHECK_INT(dp.ns, 1);
	dprof_free(&dp);
	profile__free(p);
}

/* gzip: magic, the same bytes every time, inflating to the raw message. */
static void test_gzip(void)
{
	struct profile *p = small();
	size_t n1, n2, nr;
	int e1, e2, er;
	unsigned char *g1 = write_mem(p, true, &n1, &e1), *g2 = write_mem(p, true, &n2, &e2);
	unsigned char *raw = write_mem(p, false, &nr, &er);
	CHECK(!e1 && !e2 && !er);
	CHECK(n1 > 18 && g1[0] == 0x1f && g1[1] == 0x8b);
	CHECK(n1 == n2 && memcmp(g1, g2, n1) == 0);
	unsigned char *out = malloc(nr + 16);
	z_stream z = { 0 };
	CHECK_INT(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = g1;
	z.avail_in = (uInt)n1;
	z.next_out = out;
	z.avail_out = (uInt)(nr + 16);
	CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
	CHECK(z.total_out == nr && memcmp(out, raw, nr) == 0);
	inflateEnd(&z);
	free(out);
	free(g1);
	free(g2);
	free(raw);
	profile__free(p);
}

/* Many distinct stacks: more than one 64 KiB block, still one message. */
static void test_big(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "MainThread", "python3 x.py");
	uint32_t fr[40];
	char name[32];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		fr[i] = profile__frame(p, name, "/src/x.py", "x.py", i + 1, PROF_FRAME_PYTHON);
	}
	uint64_t total = 0;
	for (int i = 0; i < 3000; i++) {
		uint32_t s[12];
		for (int k = 0, d = i; k < 12; k++, d /= 40)     /* distinct: i in base 40 */
			s[k] = fr[k < 3 ? d % 40 : k];
		profile__add(p, t, s, 12, 0, (uint32_t)(i % 5 + 1));
		total += (uint64_t)(i % 5 + 1);
	}
	struct prof_meta meta = { .rate_hz = 100 };
	profile__set_meta(p, &meta);
	size_t n;
	int err;
	unsigned char *raw = write_mem(p, false, &n, &err);
	CHECK_INT(err, 0);
	CHECK(n > 65536);
	/* Sum the samples' first values with the decoder's field walk. */
	struct dec d = { raw, raw + n, false }, sub, x;
	unsigned f;
	uint64_t v, sum = 0, samples = 0;
	while (d_field(&d, &f, &v, &sub)) {
		if (f != 2)
			continue;
		samples++;
		while (d_field(&sub, &f, &v, &x)) {
			if (f == 2) {
				uint64_t vals[2];
				bool bad = false;
				CHECK_INT(d_packed(&x, vals, 2, &bad), 2);
				sum += vals[0];
			}
		}
	}
	CHECK(!d.bad);
	CHECK_INT(samples, profile__nstacks(p));
	CHECK_INT(sum, total);
	free(raw);
	profile__free(p);
}

static void test_dev_full(void)
{
	FILE *f = fopen("/dev/full", "w");
	if (!f) {
		TEST_SKIP("/dev/full cannot be opened");
		return;
	}
	struct profile *p = small();
	CHECK_INT(pprof_write(f, p, NULL), -EIO);
	fclose(f);
	profile__free(p);
}

/* The writer table: -f pprof, .pb, .pprof, .pb.gz; never gzipped twice. */
static void test_table(void)
{
	const struct writer *w = NULL;
	CHECK_INT(writer_choose(NULL, "p.pb.gz", &w), 0);
	CHECK(w && strcmp(w->name, "pprof") == 0 && w->compressed);
	CHECK_INT(writer_choose(NULL, "p.pb", &w), 0);
	CHECK(w && strcmp(w->name, "pprof") == 0);
	CHECK_INT(writer_choose(NULL, "cpu.pprof", &w), 0);
	CHECK(w && strcmp(w->name, "pprof") == 0);
	CHECK_INT(writer_choose("pprof", "/tmp/anything", &w), 0);
	CHECK(w && strcmp(w->name, "pprof") == 0 && strcmp(w->ext, "pb.gz") == 0);
	CHECK(strstr(writer_names(), "pprof") && strstr(writer_endings(), ".pprof"));
	CHECK_INT(writer_choose(NULL, "p.json", &w), 0);
	CHECK(w && !w->compressed);
}

int main(void)
{
	TEST_RUN(test_small);
	TEST_RUN(test_split_memory);
	TEST_RUN(test_wall);
	TEST_RUN(test_measured_period);
	TEST_RUN(test_roots);
	TEST_RUN(test_lane);
	TEST_RUN(test_empty);
	TEST_RUN(test_hostile);
	TEST_RUN(test_gzip);
	TEST_RUN(test_big);
	TEST_RUN(test_dev_full);
	TEST_RUN(test_table);
	return TEST_REPORT();
}
