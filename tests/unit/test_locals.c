/* SPDX-License-Identifier: MIT
 *
 * Unit tests for python/locals over snapshot memory: hand-built code objects
 * and frames for both layout families. 3.11+ (_PyInterpreterFrame): plain
 * locals, arguments incl. *args and **kwargs, an argument that is also a cell,
 * cells and free vars (dereferenced), a cell slot still holding its raw value,
 * unbound and empty slots, hidden slots (3.12+), tagged _PyStackRef slots
 * (3.14, 3.14t). <= 3.10 (PyFrameObject): cell arguments via co_cell2arg
 * (Py_ssize_t in 3.7+, unsigned char in 3.6), by name in 2.7, keyword-only
 * and positional-only counts, and read errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "proc/mem.h"
#include "python/locals.h"
#include "python/offsets.h"
#include "python/pyctx.h"

#define CO_VARARGS 0x4
#define CO_VARKEYWORDS 0x8
#define K_HIDDEN 0x10
#define K_LOCAL 0x20
#define K_CELL 0x40
#define K_FREE 0x80

/* ---- value builders (the heap itself: fixture.h, objects in one region) ---- */

static uint64_t fx_int(struct fx *f, int64_t v)
{
	uint8_t *p;
	uint64_t a = fx_obj(f, f->t_int, 32 + 16, &p);
	if (f->L.int_ival >= 0) {
		put64(p, f->L.int_ival, (uint64_t)v);
	} else {
		uint32_t d = (uint32_t)(v < 0 ? -v : v);    /* small values only */
		if (f->L.long_tag >= 0)
			put64(p, f->L.long_tag, (v == 0 ? 1 : v < 0 ? 2 : 0) | (uint64_t)(v != 0) << 3);
		else
			put64(p, f->L.long_size, (uint64_t)(v < 0 ? -1 : v > 0));
		put32(p, f->L.long_digit, d);
	}
	return a;
}

/* ASCII str (2.7: a str). */
static uint64_t fx_str(struct fx *f, const char *s)
{
	const struct py_layout *L = &f->L;
	size_t n = strlen(s);
	uint8_t *p;
	if (L->str_kind == PY_STR_PY2) {
		uint64_t a = fx_obj(f, f->t_bytes, (size_t)L->bytes_sval + n + 1, &p);
		put64(p, L->bytes_size, n);
		memcpy(p + L->bytes_sval, s, n);
		return a;
	}
	uint64_t a = fx_obj(f, f->t_str, (size_t)L->uni_ascii_size + n + 1, &p);
	put64(p, L->uni_length, n);
	put32(p, L->uni_state, 1u << L->uni_kind_shift | 1u << L->uni_compact_bit |
	      1u << L->uni_ascii_bit);
	memcpy(p + L->uni_ascii_size, s, n);
	return a;
}

/* A tuple of str names. */
static uint64_t fx_names(struct fx *f, size_t n, const char *const *names)
{
	uint64_t it[32];
	for (size_t i = 0; i < n; i++)
		it[i] = fx_str(f, names[i]);
	return fx_tuple(f, n, it);
}

static uint64_t fx_cell(struct fx *f, uint64_t v)
{
	uint8_t *p;
	uint64_t a = fx_obj(f, f->t_cell, (size_t)f->L.cell_ref + 8, &p);
	put64(p, f->L.cell_ref, v);
	return a;
}

/* An object of n slots at `localsplus` (frame + off). */
static uint64_t fx_frame(struct fx *f, int off, size_t n, const uint64_t *slots)
{
	uint8_t *p;
	uint64_t a = fx_alloc(f, (size_t)off + 8 * n, &p);
	memcpy(p + off, slots, 8 * n);
	return a;
}

static uint64_t fx_code(struct fx *f, uint8_t **p)
{
	return fx_alloc(f, (size_t)f->L.code_read_size, p);
}

/* "name=repr" of every local, args starred, joined with "; ". */
static const char *show(struct fx *f, uint64_t frame, uint64_t code, int *err)
{
	static char out[2048];
	struct py_local *v;
	size_t n, len = 0;
	out[0] = '\0';
	*err = locals_read(&f->c, frame, code, 1, &v, &n);
	if (*err)
		return out;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s%s=%s", i ? "; " : "",
					v[i].is_arg ? "*" : "", v[i].name, v[i].repr);
	locals_free(v, n);
	return out;
}

/* ---- 3.11+ ---- */

/* def f(a, b, *args, **kw) with b a cell, locals x, y (unbound), cells c,
 * e (empty), z (raw value before MAKE_CELL), h (hidden), free fv. */
static void iframe_case(unsigned ver, bool ft)
{
	struct fx f;
	uint8_t *co;
	int err;
	bool tagged = ver >= 0x030e0000;
	static const char *const names[] = { "a", "b", "args", "kw", "x", "y", "c", "e", "z", "h", "fv" };
	const uint8_t kinds[] = { K_LOCAL, K_LOCAL | K_CELL, K_LOCAL, K_LOCAL, K_LOCAL, K_LOCAL,
				  K_CELL, K_CELL, K_CELL, K_LOCAL | K_HIDDEN, K_FREE };
	bool hides = ver >= 0x030c0000;

	fx_init(&f, ver, ft, false);
	uint64_t s[11] = {
		fx_int(&f, 1), fx_cell(&f, fx_int(&f, 2)), fx_tuple(&f, 0, NULL), 0,
		fx_str(&f, "hi"), 0, fx_cell(&f, fx_str(&f, "cv")), fx_cell(&f, 0), fx_int(&f, 7),
		fx_int(&f, 99), fx_cell(&f, f.none),
	};
	s[3] = fx_tuple(&f, 1, (uint64_t[]){ fx_int(&f, 3) });
	if (tagged) {
		for (int i = 0; i < 11; i++)
			s[i] |= 1;      /* tag bits; NULL is "1" too */
	}
	uint64_t frame = fx_frame(&f, f.L.if_localsplus, 11, s);
	uint64_t code = fx_code(&f, &co);
	put32(co, f.L.co_argcount, 2);
	put32(co, f.L.co_posonlyargcount, 0);
	put32(co, f.L.co_kwonlyargcount, 0);
	put32(co, f.L.co_flags, CO_VARARGS | CO_VARKEYWORDS);
	put32(co, f.L.co_nlocalsplus, 11);
	put64(co, f.L.co_localsplusnames, fx_names(&f, 11, names));
	put64(co, f.L.co_localspluskinds, fx_bytes(&f, kinds, 11));
	fx_commit(&f);

	const char *r = show(&f, frame, code, &err);
	CHECK_INT(err, 0);
	if (hides)
		CHECK_STR(r, "*a=1; *b=2; *args=(); *kw=(3,); x='hi'; c='cv'; z=7; fv=None");
	else
		CHECK_STR(r, "*a=1; *b=2; *args=(); *kw=(3,); x='hi'; c='cv'; z=7; h=99; fv=None");

	/* unreadable code object, frame, names */
	CHECK_STR(show(&f, frame, 0x1000, &err), "");
	CHECK_INT(err, -EFAULT);
	show(&f, 0x1000, code, &err);
	CHECK_INT(err, -EFAULT);
	fx_free(&f);
}

static void test_iframe_311(void)
{
	iframe_case(0x030b07f0, false);
}

static void test_iframe_312_313(void)
{
	iframe_case(0x030c01f0, false);
	iframe_case(0x030d00f0, false);
	iframe_case(0x030d00f0, true);
}

static void test_iframe_314(void)
{
	iframe_case(0x030e00f0, false);
	iframe_case(0x030e00f0, true);
	iframe_case(0x030f02f0, false);
	iframe_case(0x030f02f0, true);
}

static void test_iframe_kwonly(void)
{
	/* def f(a, /, b, *, k): argcount 2 (incl. posonly), kwonly 1; local t */
	struct fx f;
	uint8_t *co;
	int err;
	static const char *const names[] = { "a", "b", "k", "t" };
	const uint8_t kinds[] = { K_LOCAL, K_LOCAL, K_LOCAL, K_LOCAL };
	fx_init(&f, 0x030c01f0, false, false);
	uint64_t s[4] = { fx_int(&f, 1), fx_int(&f, 2), fx_int(&f, 3), fx_int(&f, 4) };
	uint64_t frame = fx_frame(&f, f.L.if_localsplus, 4, s);
	uint64_t code = fx_code(&f, &co);
	put32(co, f.L.co_argcount, 2);
	put32(co, f.L.co_posonlyargcount, 1);
	put32(co, f.L.co_kwonlyargcount, 1);
	put32(co, f.L.co_nlocalsplus, 4);
	put64(co, f.L.co_localsplusnames, fx_names(&f, 4, names));
	put64(co, f.L.co_localspluskinds, fx_bytes(&f, kinds, 4));
	/* A second code object claiming more slots than it has names. */
	uint8_t *co2;
	uint64_t code2 = fx_code(&f, &co2);
	memcpy(co2, co, (size_t)f.L.code_read_size);
	put32(co2, f.L.co_nlocalsplus, 100000);
	fx_commit(&f);
	CHECK_STR(show(&f, frame, code, &err), "*a=1; *b=2; *k=3; t=4");
	CHECK_INT(err, 0);
	CHECK_STR(show(&f, frame, code2, &err), "*a=1; *b=2; *k=3; t=4");
	CHECK_INT(err, 0);
	fx_free(&f);
}

/* ---- <= 3.10 ---- */

/* def f(p, q): p is a cell (also an argument), local l, cell cc, free fv,
 * unbound u. */
static void frameobj_case(unsigned ver)
{
	struct fx f;
	uint8_t *co, *c2a;
	int err;
	static const char *const var[] = { "p", "q", "l", "u" };
	static const char *const cell[] = { "p", "cc" };
	static const char *const free_[] = { "fv" };
	bool py2 = ver >> 24 == 2;

	fx_init(&f, ver, false, false);
	uint64_t s[7] = {
		py2 ? fx_int(&f, 9) : 0,        /* 2.7 keeps the argument's first value */
		fx_int(&f, 5), fx_str(&f, "l"), 0,
		fx_cell(&f, fx_int(&f, 10)), fx_cell(&f, fx_str(&f, "c")), fx_cell(&f, fx_int(&f, 3)),
	};
	uint64_t frame = fx_frame(&f, f.L.f_localsplus, 7, s);
	uint64_t code = fx_code(&f, &co);
	put32(co, f.L.co_argcount, 2);
	if (f.L.co_kwonlyargcount >= 0)
		put32(co, f.L.co_kwonlyargcount, 0);
	put32(co, f.L.co_nlocals, 4);
	put32(co, f.L.co_flags, 0);
	put64(co, f.L.co_varnames, fx_names(&f, 4, var));
	put64(co, f.L.co_cellvars, fx_names(&f, 2, cell));
	put64(co, f.L.co_freevars, fx_names(&f, 1, free_));
	if (f.L.co_cell2arg >= 0) {
		bool wide = ver >= 0x03070000;
		uint64_t m = fx_alloc(&f, 16, &c2a);
		if (wide) {
			put64(c2a, 0, 0);
			put64(c2a, 8, (uint64_t)-1);
		} else {
			c2a[0] = 0;
			c2a[1] = 255;
		}
		put64(co, f.L.co_cell2arg, m);
	}
	fx_commit(&f);
	CHECK_STR(show(&f, frame, code, &err), "*p=10; *q=5; l='l'; cc='c'; fv=3");
	CHECK_INT(err, 0);
	CHECK_STR(show(&f, frame, 0x1000, &err), "");
	CHECK_INT(err, -EFAULT);
	fx_free(&f);
}

static void test_frameobj_38(void)
{
	frameobj_case(0x030812f0);
	frameobj_case(0x030a0df0);
}

static void test_frameobj_36(void)
{
	frameobj_case(0x030600f0);
}

static void test_frameobj_27(void)
{
	frameobj_case(0x020712f0);
}

static void test_frameobj_varargs(void)
{
	/* 3.9: def f(a, *rest, k, **kw), no cells; cell2arg NULL */
	struct fx f;
	uint8_t *co;
	int err;
	static const char *const var[] = { "a", "k", "rest", "kw", "tmp" };
	fx_init(&f, 0x030912f0, false, false);
	uint64_t s[5] = { fx_int(&f, 1), fx_int(&f, 2), fx_tuple(&f, 0, NULL), fx_tuple(&f, 0, NULL),
			  fx_str(&f, "t") };
	uint64_t frame = fx_frame(&f, f.L.f_localsplus, 5, s);
	uint64_t code = fx_code(&f, &co);
	put32(co, f.L.co_argcount, 1);
	put32(co, f.L.co_kwonlyargcount, 1);
	put32(co, f.L.co_nlocals, 5);
	put32(co, f.L.co_flags, CO_VARARGS | CO_VARKEYWORDS);
	put64(co, f.L.co_varnames, fx_names(&f, 5, var));
	put64(co, f.L.co_cellvars, fx_tuple(&f, 0, NULL));
	put64(co, f.L.co_freevars, fx_tuple(&f, 0, NULL));
	/* bad: nlocals beyond the varnames tuple */
	uint8_t *co2;
	uint64_t code2 = fx_code(&f, &co2);
	memcpy(co2, co, (size_t)f.L.code_read_size);
	put32(co2, f.L.co_nlocals, 9);
	fx_commit(&f);
	CHECK_STR(show(&f, frame, code, &err), "*a=1; *k=2; *rest=(); *kw=(); tmp='t'");
	CHECK_INT(err, 0);
	show(&f, frame, code2, &err);
	CHECK_INT(err, -EINVAL);
	fx_free(&f);
}

int main(void)
{
	TEST_RUN(test_iframe_311);
	TEST_RUN(test_iframe_312_313);
	TEST_RUN(test_iframe_314);
	TEST_RUN(test_iframe_kwonly);
	TEST_RUN(test_frameobj_38);
	TEST_RUN(test_frameobj_36);
	TEST_RUN(test_frameobj_27);
	TEST_RUN(test_frameobj_varargs);
	return TEST_REPORT();
}
