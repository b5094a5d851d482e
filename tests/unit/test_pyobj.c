/* SPDX-License-Identifier: MIT
 *
 * Unit tests for the remote-object readers python/pyobj, pydict, pyrepr and
 * pythread over snapshot memory: hand-built objects for several layouts
 * (2.7, 3.6, 3.11, 3.12, 3.13, 3.14, 3.14t) made by the small
 * fx_* builders below. Covered: type names; ints (small, negative, multi-digit
 * up to thousands of digits; <= 3.11 ob_size and 3.12+ lv_tag; 2.7 int/long);
 * float reprs; str/bytes repr quoting and escapes; tuple/list/dict reprs with
 * element, string, depth and buffer truncation; dict walks for the 2.7,
 * 3.6 and 3.11+ layouts (general, unicode and split keys); attributes through
 * tp_dictoffset, 3.11 managed values, the 3.12 tagged word, 3.13 inline
 * values; and thread names through modules -> threading -> _active, also
 * when _active is torn (entries unreadable or not int -> Thread).
 * Objects are built on the remote-heap fixture (fixture.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pydict.h"
#include "python/pyobj.h"
#include "python/pyrepr.h"
#include "python/pythread.h"

#define V27 0x020712f0u
#define V36 0x030600f0u
#define V310 0x030a0df0u
#define V311 0x030b07f0u
#define V312 0x030c01f0u
#define V313 0x030d00f0u
#define V314 0x030e00f0u
#define V315 0x030f02f0u

/* ---- value builders (the heap itself: fixture.h) ---- */

/* An int from its sign and 30-bit digits (2.7: a long). */
static uint64_t fx_long_digits(struct fx *f, bool neg, const uint32_t *d, size_t nd)
{
	uint8_t *p;
	size_t n = (size_t)f->L.long_digit + 4 * (nd ? nd : 1);
	uint64_t a = fx_obj(f, f->t_long, n, &p);
	if (f->L.long_tag >= 0)
		put64(p, f->L.long_tag, (uint64_t)nd << 3 | (nd == 0 ? 1 : neg ? 2 : 0));
	else
		put64(p, f->L.long_size, neg ? (uint64_t)-(int64_t)nd : nd);
	memcpy(p + f->L.long_digit, d, 4 * nd);
	fx_done(f, a, n);
	return a;
}

static uint64_t fx_int(struct fx *f, int64_t v)
{
	uint32_t d[3];
	size_t nd = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	while (u) {
		d[nd++] = (uint32_t)(u & ((1u << 30) - 1));
		u >>= 30;
	}
	return fx_long_digits(f, v < 0, d, nd);
}

/* 2.7 PyIntObject (or bool when t is t_bool). */
static uint64_t fx_int27(struct fx *f, uint64_t t, int64_t v)
{
	uint8_t *p;
	uint64_t a = fx_obj(f, t, 24, &p);
	put64(p, f->L.int_ival, (uint64_t)v);
	fx_done(f, a, 24);
	return a;
}

static uint64_t fx_float(struct fx *f, double v)
{
	uint8_t *p;
	size_t n = (size_t)f->L.float_fval + 8;
	uint64_t a = fx_obj(f, f->t_float, n, &p);
	memcpy(p + f->L.float_fval, &v, 8);
	fx_done(f, a, n);
	return a;
}

/* A str (3.x compact; 2.7 unicode) of the UTF-8 text s. */
static uint64_t fx_str(struct fx *f, const char *s)
{
	const struct py_layout *L = &f->L;
	uint32_t cp[4096], max = 0;
	size_t n = 0;
	const uint8_t *q = (const uint8_t *)s;
	while (*q) {
		uint32_t c = *q++;
		int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (extra)
			c &= 0x3fu >> extra;
		while (extra--)
			c = c << 6 | (*q++ & 0x3f);
		cp[n++] = c;
		max = c > max ? c : max;
	}
	uint8_t *p, *d;
	if (L->str_kind == PY_STR_PY2) {
		uint64_t a = fx_obj(f, f->t_str, 48, &p);
		uint64_t data = fx_alloc(f, (n + 1) * 4, &d);
		put64(p, L->py2_uni_length, n);
		put64(p, L->py2_uni_str, data);
		memcpy(d, cp, n * 4);
		fx_done(f, a, 48);
		fx_done(f, data, (n + 1) * 4);
		return a;
	}
	int kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
	bool ascii = max < 0x80;
	size_t hdr = (size_t)(ascii ? L->uni_ascii_size : L->uni_compact_size);
	size_t size = hdr + (n + 1) * (size_t)kind;
	uint64_t a = fx_obj(f, f->t_str, size, &p);
	put64(p, L->uni_length, n);
	put32(p, L->uni_state, (uint32_t)kind << L->uni_kind_shift | 1u << L->uni_compact_bit |
	      (uint32_t)ascii << L->uni_ascii_bit);
	for (size_t i = 0; i < n; i++)
		memcpy(p + hdr + i * (size_t)kind, &cp[i], (size_t)kind);
	fx_done(f, a, size);
	return a;
}

static uint64_t fx_list(struct fx *f, size_t n, const uint64_t *items)
{
	uint8_t *p, *q;
	size_t size = (size_t)f->L.list_item + 16;
	uint64_t a = fx_obj(f, f->t_list, size, &p);
	uint64_t arr = n ? fx_alloc(f, 8 * n, &q) : 0;
	put64(p, f->L.list_size, n);
	put64(p, f->L.list_item, arr);
	if (n) {
		memcpy(q, items, 8 * n);
		fx_done(f, arr, 8 * n);
	}
	fx_done(f, a, size);
	return a;
}

/* A 3.6+ keys object with n entries. kind (3.11+): 0 general, 1 unicode,
 * 2 split (values left NULL). 3.6-3.10: split when kind == 2. */
static uint64_t fx_keys(struct fx *f, int kind, size_t n, const uint64_t *k, const uint64_t *v)
{
	const struct py_layout *L = &f->L;
	unsigned ls = 3;
	while ((1u << ls) * 2 < n * 3)
		ls++;
	size_t slots = 1u << ls;
	size_t ix = slots <= 0xff ? 1 : slots <= 0xffff ? 2 : 4;
	size_t esize = L->dict_kind == PY_DICT_311 && kind != 0 ? 16 : 24;
	size_t ibytes = L->dict_kind == PY_DICT_311 ? (size_t)1 << (ls + (ix == 1 ? 0 : ix == 2 ? 1 : 2)) :
			slots * ix;
	size_t size = (size_t)L->dk_indices + ibytes + esize * n;
	uint8_t *p;
	uint64_t a = fx_alloc(f, size, &p);
	put64(p, 0, 1);
	if (L->dict_kind == PY_DICT_311) {
		p[L->dk_log2_size] = (uint8_t)ls;
		p[L->dk_log2_index_bytes] = (uint8_t)(ls + (ix == 1 ? 0 : ix == 2 ? 1 : 2));
		p[L->dk_kind] = (uint8_t)kind;
	} else {
		put64(p, L->dk_size, slots);
	}
	put64(p, L->dk_nentries, n);
	memset(p + L->dk_indices, 0xff, ibytes);   /* indices are not read */
	uint8_t *e = p + L->dk_indices + ibytes;
	for (size_t i = 0; i < n; i++) {
		size_t ko = esize == 24 ? 8 : 0;
		if (esize == 24)
			put64(e, (int)(i * esize), 0x1234 + i);
		put64(e, (int)(i * esize + ko), k[i]);
		put64(e, (int)(i * esize + ko + 8), kind == 2 ? 0 : v[i]);
	}
	fx_done(f, a, size);
	return a;
}

/* Split values for v[0..n): returns what ma_values / the instance points at
 * (3.13+: the PyDictValues with its 8-byte prefix). */
static uint64_t fx_values(struct fx *f, size_t n, const uint64_t *v, bool valid)
{
	uint8_t *p;
	size_t pre = (size_t)f->L.dict_values_prefix, size = pre + 8 * n;
	uint64_t a = fx_alloc(f, size, &p);
	if (pre) {
		p[0] = (uint8_t)n;      /* capacity */
		p[1] = (uint8_t)n;      /* size */
		p[2] = 1;               /* embedded */
		p[3] = valid;
	}
	memcpy(p + pre, v, 8 * n);
	fx_done(f, a, size);
	return a;
}

static bool get_slot_used(const uint8_t *t, size_t s)
{
	uint64_t k;
	memcpy(&k, t + s * 24 + 8, 8);
	return k != 0;
}

/* A dict {k[i]: v[i]}; unicode says whether the keys are all str (3.11+
 * keys kind); split makes a split table. */
static uint64_t fx_dict_ex(struct fx *f, size_t n, const uint64_t *k, const uint64_t *v, bool unicode,
			   bool split)
{
	const struct py_layout *L = &f->L;
	uint8_t *p;
	if (L->dict_kind == PY_DICT_27) {
		size_t slots = 8;
		while (slots * 2 < n * 3)
			slots *= 2;
		size_t size = 48 + 8 * 24;      /* header + ma_smalltable */
		uint64_t a = fx_obj(f, f->t_dict, size, &p);
		uint64_t table = a + 48;
		uint8_t *t = p + 48;
		if (slots > 8) {
			table = fx_alloc(f, slots * 24, &t);
			memset(t, 0, slots * 24);
		}
		put64(p, 16, n);                /* ma_fill */
		put64(p, L->ma_used, n);
		put64(p, L->ma_mask27, slots - 1);
		put64(p, L->ma_table27, table);
		/* spread the entries over the table, leaving holes */
		for (size_t i = 0; i < n; i++) {
			size_t s = (i * 2 + 1) % slots;
			while (get_slot_used(t, s))
				s = (s + 1) % slots;
			put64(t, (int)(s * 24), 77);
			put64(t, (int)(s * 24 + 8), k[i]);
			put64(t, (int)(s * 24 + 16), v[i]);
		}
		if (slots > 8)
			fx_done(f, table, slots * 24);
		fx_done(f, a, size);
		return a;
	}
	uint64_t keys = fx_keys(f, split ? 2 : unicode ? 1 : 0, n, k, v);
	uint64_t values = split ? fx_values(f, n, v, true) : 0;
	size_t size = (size_t)L->ma_values + 8;
	uint64_t a = fx_obj(f, f->t_dict, size, &p);
	put64(p, L->ma_used, n);
	put64(p, L->ma_keys, keys);
	put64(p, L->ma_values, values);
	fx_done(f, a, size);
	return a;
}

static uint64_t fx_dict(struct fx *f, size_t n, const uint64_t *k, const uint64_t *v)
{
	return fx_dict_ex(f, n, k, v, false, false);
}

/* ---- helpers ---- */

static const char *repr(struct fx *f, uint64_t obj, int level)
{
	static char buf[8192];
	pyrepr_format(&f->c, obj, level, buf, sizeof(buf));
	return buf;
}

static const char *repr_n(struct fx *f, uint64_t obj, size_t n)
{
	static char buf[8192];
	pyrepr_format(&f->c, obj, 1, buf, n);
	return buf;
}

/* ---- tests ---- */

static void test_type_name(void)
{
	struct fx f;
	char buf[32];
	fx_init(&f, V311, false, true);
	uint64_t s = fx_str(&f, "x");
	fx_commit(&f);
	CHECK_INT(pyobj_type_name(&f.c, s, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "str");
	CHECK_INT(pyobj_type_name(&f.c, f.none, buf, 4), 0);
	CHECK_STR(buf, "Non");
	CHECK_INT(pyobj_type_name(&f.c, 0x10, buf, sizeof(buf)), -EFAULT);
	fx_free(&f);
}

static void int_cases(unsigned ver, bool ft)
{
	for (int exact = 0; exact < 2; exact++) {
		struct fx f;
		int64_t v;
		fx_init(&f, ver, ft, exact);
		uint64_t zero = fx_int(&f, 0), one = fx_int(&f, 1), neg = fx_int(&f, -7);
		uint64_t big = fx_int(&f, 1234567890123456789), min = fx_int(&f, INT64_MIN);
		uint64_t max = fx_int(&f, INT64_MAX);
		uint32_t d64[] = { 0, 0, 16 };            /* 2**64 */
		uint64_t two64 = fx_long_digits(&f, false, d64, 3);
		uint32_t dneg[] = { 0, 0, 8 };            /* -2**63 - 1 would need more */
		uint64_t m63 = fx_long_digits(&f, true, dneg, 3);  /* -2**63 */
		/* 10**100 in 30-bit digits (from Python) */
		static const uint32_t g[] = {
			0x00000000, 0x00000000, 0x00000000, 0x0ba3c400, 0x324308a8, 0x0469f2aa,
			0x2ce408e2, 0x3382fce2, 0x0b2784c4, 0x130df3ac, 0x249ad259, 0x00000004,
		};
		uint64_t googol = fx_long_digits(&f, false, g, 12);
		uint64_t ngoogol = fx_long_digits(&f, true, g, 12);
		static uint32_t huge[600];
		for (size_t i = 0; i < 600; i++)
			huge[i] = 0x3fffffff;
		uint64_t h = fx_long_digits(&f, false, huge, 600);
		uint64_t h400 = fx_long_digits(&f, false, huge, 400);
		uint64_t s = fx_str(&f, "1");
		fx_commit(&f);

		CHECK_STR(repr(&f, zero, 1), "0");
		CHECK_STR(repr(&f, one, 1), "1");
		CHECK_STR(repr(&f, neg, 1), "-7");
		CHECK_STR(repr(&f, big, 1), "1234567890123456789");
		CHECK_STR(repr(&f, min, 1), "-9223372036854775808");
		CHECK_STR(repr(&f, two64, 1), "18446744073709551616");
		CHECK_STR(repr(&f, googol, 1), "1"
			  "0000000000000000000000000000000000000000000000000000000000000000000000000"
			  "000000000000000000000000000");
		CHECK(repr(&f, ngoogol, 1)[0] == '-' && strlen(repr(&f, ngoogol, 1)) == 102);
		char want[64];
		snprintf(want, sizeof(want), "<int at 0x%" PRIx64 ">", h);
		CHECK_STR(repr(&f, h, 1), want);
		/* 2**12000 - 1: 3613 digits, printed in full */
		const char *r = repr(&f, h400, 1);
		CHECK_INT(strlen(r), 3613);
		CHECK(strncmp(r, "229059320350", 12) == 0);
		CHECK(strcmp(r + strlen(r) - 5, "29375") == 0);

		CHECK_INT(pyobj_as_int64(&f.c, zero, &v), 0);
		CHECK_INT(v, 0);
		CHECK_INT(pyobj_as_int64(&f.c, neg, &v), 0);
		CHECK_INT(v, -7);
		CHECK_INT(pyobj_as_int64(&f.c, big, &v), 0);
		CHECK_INT(v, 1234567890123456789);
		CHECK_INT(pyobj_as_int64(&f.c, min, &v), 0);
		CHECK(v == INT64_MIN);
		CHECK_INT(pyobj_as_int64(&f.c, max, &v), 0);
		CHECK(v == INT64_MAX);
		CHECK_INT(pyobj_as_int64(&f.c, m63, &v), 0);
		CHECK(v == INT64_MIN);
		CHECK_INT(pyobj_as_int64(&f.c, two64, &v), -ERANGE);
		CHECK_INT(pyobj_as_int64(&f.c, googol, &v), -ERANGE);
		CHECK_INT(pyobj_as_int64(&f.c, s, &v), -EINVAL);
		CHECK_INT(pyobj_as_int64(&f.c, 0x20, &v), -EFAULT);
		fx_free(&f);
	}
}

static void test_int_311(void)
{
	int_cases(V36, false);
	int_cases(V311, false);
}

static void test_int_312(void)
{
	int_cases(V312, false);
	int_cases(V314, false);
	int_cases(V314, true);
	int_cases(V315, false);
	int_cases(V315, true);
}

static void test_int_27(void)
{
	struct fx f;
	int64_t v;
	fx_init(&f, V27, false, true);
	uint64_t i = fx_int27(&f, f.t_int, -42), t = fx_int27(&f, f.t_bool, 1);
	uint64_t fl = fx_int27(&f, f.t_bool, 0);
	uint64_t l = fx_int(&f, 5), ln = fx_int(&f, -1234567890123);
	fx_commit(&f);
	CHECK_STR(repr(&f, i, 1), "-42");
	CHECK_STR(repr(&f, t, 1), "True");
	CHECK_STR(repr(&f, fl, 1), "False");
	CHECK_STR(repr(&f, l, 1), "5L");
	CHECK_STR(repr(&f, ln, 1), "-1234567890123L");
	CHECK_INT(pyobj_as_int64(&f.c, i, &v), 0);
	CHECK_INT(v, -42);
	CHECK_INT(pyobj_as_int64(&f.c, ln, &v), 0);
	CHECK_INT(v, -1234567890123);
	CHECK_INT(pyobj_as_int64(&f.c, t, &v), 0);
	CHECK_INT(v, 1);
	fx_free(&f);
}

static void test_float(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.1, "0.1" }, { 1.0, "1.0" }, { 1e100, "1e+100" }, { -0.0, "-0.0" },
		{ 0.0, "0.0" }, { 3.141592653589793, "3.141592653589793" }, { 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" }, { 1e-5, "1e-05" }, { 0.0001, "0.0001" },
		{ 123456.789, "123456.789" }, { 1.5e-7, "1.5e-07" }, { 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" }, { -2.5, "-2.5" },
		{ 100.0, "100.0" }, { 0.30000000000000004, "0.30000000000000004" },
		{ 1.2345678901234567e16, "1.2345678901234568e+16" }, { 2.0 / 3, "0.6666666666666666" },
	};
	struct fx f;
	fx_init(&f, V311, false, false);
	uint64_t a[sizeof(cases) / sizeof(cases[0])];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		a[i] = fx_float(&f, cases[i].v);
	uint64_t inf = fx_float(&f, INFINITY), ninf = fx_float(&f, -INFINITY), nan_ = fx_float(&f, NAN);
	fx_commit(&f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(repr(&f, a[i], 1), cases[i].want);
	CHECK_STR(repr(&f, inf, 1), "inf");
	CHECK_STR(repr(&f, ninf, 1), "-inf");
	CHECK_STR(repr(&f, nan_, 1), "nan");
	fx_free(&f);
}

static void test_str_repr(void)
{
	for (int exact = 0; exact < 2; exact++) {
		struct fx f;
		fx_init(&f, V312, false, exact);
		uint64_t s1 = fx_str(&f, "hello"), s2 = fx_str(&f, "it's"), s3 = fx_str(&f, "a\"b'c");
		uint64_t s4 = fx_str(&f, "tab\t\n\r\\ \x01\x7f");
		uint64_t s5 = fx_str(&f, "h\xc3\xa9llo \xe6\x97\xa5 \xf0\x9f\x98\x80");
		uint64_t s6 = fx_str(&f, "\xc2\x80\xc2\xa0\xc2\xad\xe2\x80\x8b");  /* U+0080 A0 AD 200B */
		uint64_t s7 = fx_str(&f, "\"");
		char long_[300];
		memset(long_, 'x', 299);
		long_[299] = '\0';
		uint64_t s8 = fx_str(&f, long_);
		uint64_t b1 = fx_bytes(&f, "by\x00\xff'\n", 6), b2 = fx_bytes(&f, "\"'", 2);
		fx_commit(&f);
		CHECK_STR(repr(&f, s1, 1), "'hello'");
		CHECK_STR(repr(&f, s2, 1), "\"it's\"");
		CHECK_STR(repr(&f, s3, 1), "'a\"b\\'c'");
		CHECK_STR(repr(&f, s4, 1), "'tab\\t\\n\\r\\\\ \\x01\\x7f'");
		CHECK_STR(repr(&f, s5, 1), "'h\xc3\xa9llo \xe6\x97\xa5 \xf0\x9f\x98\x80'");
		CHECK_STR(repr(&f, s6, 1), "'\\x80\\xa0\\xad\\u200b'");
		CHECK_STR(repr(&f, s7, 1), "'\"'");
		const char *r = repr(&f, s8, 1);
		CHECK_INT(strlen(r), 105);
		CHECK(strcmp(r + 100, "x...'") == 0);
		CHECK_INT(strlen(repr(&f, s8, 2)), 301);
		CHECK_STR(repr(&f, b1, 1), "b\"by\\x00\\xff'\\n\"");
		CHECK_STR(repr(&f, b2, 1), "b'\"\\''");
		fx_free(&f);
	}
}

static void test_str_repr_27(void)
{
	struct fx f;
	fx_init(&f, V27, false, true);
	uint64_t u = fx_str(&f, "h\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80'");
	uint64_t s = fx_bytes(&f, "h\xc3\xa9\t", 4);
	fx_commit(&f);
	CHECK_STR(repr(&f, u, 1), "u\"h\\xe9 \\u65e5 \\U0001f600'\"");
	CHECK_STR(repr(&f, s, 1), "'h\\xc3\\xa9\\t'");
	fx_free(&f);
}

static void test_containers(void)
{
	for (int exact = 0; exact < 2; exact++) {
		struct fx f;
		uint64_t it[40];
		fx_init(&f, V311, false, exact);
		for (int i = 0; i < 40; i++)
			it[i] = fx_int(&f, i);
		uint64_t t0 = fx_tuple(&f, 0, it), t1 = fx_tuple(&f, 1, it), t2 = fx_tuple(&f, 2, it);
		uint64_t l0 = fx_list(&f, 0, it), l20 = fx_list(&f, 20, it), l40 = fx_list(&f, 40, it);
		uint64_t s = fx_str(&f, "a");
		uint64_t nest[2] = { it[1], 0 };
		uint64_t in = fx_list(&f, 1, &it[4]);
		nest[1] = fx_list(&f, 2, (uint64_t[]){ it[3], in });
		nest[1] = fx_list(&f, 2, (uint64_t[]){ it[2], nest[1] });
		uint64_t deep = fx_list(&f, 2, nest);          /* [1, [2, [3, [4]]]] */
		uint64_t mixed = fx_tuple(&f, 3, (uint64_t[]){ s, f.none, t1 });
		uint64_t obj = fx_obj(&f, f.t_obj, 32, &(uint8_t *){ 0 });
		fx_done(&f, obj, 32);
		uint64_t withobj = fx_list(&f, 1, &obj);
		uint64_t bad = fx_list(&f, 2, (uint64_t[]){ it[1], 0xbad0 });
		fx_commit(&f);

		CHECK_STR(repr(&f, t0, 1), "()");
		CHECK_STR(repr(&f, t1, 1), "(0,)");
		CHECK_STR(repr(&f, t2, 1), "(0, 1)");
		CHECK_STR(repr(&f, l0, 1), "[]");
		CHECK_STR(repr(&f, l20, 1), "[0, 1, 2, 3, 4, 5, 6, 7, ...]");
		CHECK_STR(repr(&f, l20, 2), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, "
					    "16, 17, 18, 19]");
		CHECK(strstr(repr(&f, l40, 2), "30, 31, ...]") != NULL);
		CHECK_STR(repr(&f, deep, 1), "[1, [2, [3, [...]]]]");
		CHECK_STR(repr(&f, mixed, 1), "('a', None, (0,))");
		char want[64];
		snprintf(want, sizeof(want), "[<Foo at 0x%" PRIx64 ">]", obj);
		CHECK_STR(repr(&f, withobj, 1), want);
		CHECK_STR(repr(&f, bad, 1), "[1, <unreadable at 0xbad0>]");
		CHECK_STR(repr(&f, 0xbad0, 1), "<unreadable at 0xbad0>");
		/* buffer bound */
		CHECK_STR(repr_n(&f, l20, 12), "[0, 1, 2...");
		CHECK_STR(repr_n(&f, l20, 4), "...");
		CHECK_STR(repr_n(&f, l20, 3), "..");
		CHECK_STR(repr_n(&f, l20, 1), "");
		CHECK_STR(repr_n(&f, t2, 7), "(0, 1)");
		/* None by address and by type */
		f.c.none_addr = f.none;
		CHECK_STR(repr(&f, f.none, 1), "None");
		f.c.none_addr = 0;
		CHECK_STR(repr(&f, f.none, 1), "None");
		fx_free(&f);
	}
}

static void test_repr_utf8_cut(void)
{
	struct fx f;
	fx_init(&f, V312, false, false);
	uint64_t s = fx_str(&f, "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5");
	fx_commit(&f);
	/* 11 bytes of room: "'" + 2 CJK (6 bytes) fits before "..." only on a boundary */
	const char *r = repr_n(&f, s, 12);
	CHECK_STR(r, "'\xe6\x97\xa5\xe6\x97\xa5...");
	fx_free(&f);
}

static bool L_is27(struct fx *f)
{
	return f->L.dict_kind == PY_DICT_27;
}

static void dict_cases(unsigned ver, bool ft)
{
	for (int exact = 0; exact < 2; exact++) {
		struct fx f;
		uint64_t k[12], v[12], value;
		const char *names[] = { "a", "bb", "threading", "x", "y", "z", "k6", "k7", "k8", "k9",
					"k10", "k11" };
		fx_init(&f, ver, ft, exact);
		for (int i = 0; i < 12; i++) {
			k[i] = fx_str(&f, names[i]);
			v[i] = fx_int(&f, i + 1);
		}
		uint64_t empty = fx_dict(&f, 0, k, v);
		uint64_t d1 = fx_dict_ex(&f, 1, k, v, true, false);
		uint64_t d3 = fx_dict_ex(&f, 3, k, v, true, false);
		uint64_t d12 = fx_dict_ex(&f, 12, k, v, true, false);
		uint64_t ik = fx_int(&f, 5);
		uint64_t gen = fx_dict(&f, 2, (uint64_t[]){ ik, k[0] }, (uint64_t[]){ k[1], f.none });
		uint64_t inner = fx_dict_ex(&f, 1, &k[1], &v[1], true, false);
		uint64_t outer = fx_dict_ex(&f, 2, k, (uint64_t[]){ inner, v[1] }, true, false);
		uint64_t split = L_is27(&f) ? d3 : fx_dict_ex(&f, 3, k, v, true, true);
		fx_commit(&f);

		CHECK_STR(repr(&f, empty, 1), "{}");
		if (L_is27(&f)) {
			/* 2.7: table order; keys are unicode */
			CHECK_STR(repr(&f, d1, 1), "{u'a': 1L}");
			const char *r = repr(&f, d3, 1);
			CHECK(strstr(r, "u'a': 1L") && strstr(r, "u'bb': 2L") && strstr(r, "u'threading': 3L"));
			r = repr(&f, gen, 1);
			CHECK(strstr(r, "5L: u'bb'") && strstr(r, "u'a': None"));
			CHECK(strstr(repr(&f, d12, 1), ", ...}") != NULL);
		} else {
			CHECK_STR(repr(&f, d1, 1), "{'a': 1}");
			CHECK_STR(repr(&f, d3, 1), "{'a': 1, 'bb': 2, 'threading': 3}");
			CHECK_STR(repr(&f, outer, 1), "{'a': {'bb': 2}, 'bb': 2}");
			CHECK_STR(repr(&f, gen, 1), "{5: 'bb', 'a': None}");
			CHECK(strstr(repr(&f, d12, 1), "'k7': 8, ...}") != NULL);
			CHECK_STR(repr(&f, split, 1), "{'a': 1, 'bb': 2, 'threading': 3}");
		}
		CHECK_INT(pydict_get_str(&f.c, d12, "threading", &value), 0);
		CHECK(value == v[2]);
		CHECK_INT(pydict_get_str(&f.c, d12, "k11", &value), 0);
		CHECK(value == v[11]);
		CHECK_INT(pydict_get_str(&f.c, d12, "thread", &value), -ENOENT);
		CHECK_INT(pydict_get_str(&f.c, d12, "threadingX", &value), -ENOENT);
		CHECK_INT(pydict_get_str(&f.c, split, "bb", &value), 0);
		CHECK(value == v[1]);
		CHECK_INT(pydict_get_str(&f.c, gen, "a", &value), 0);
		CHECK(value == f.none);
		CHECK_INT(pydict_get_str(&f.c, empty, "a", &value), -ENOENT);
		CHECK_INT(pydict_get_str(&f.c, 0x40, "a", &value), -EFAULT);
		fx_free(&f);
	}
}

static void test_dict_36(void)
{
	dict_cases(V36, false);
	dict_cases(V310, false);
}

static void test_dict_311(void)
{
	dict_cases(V311, false);
	dict_cases(V312, false);
	dict_cases(V313, false);
	dict_cases(V314, true);
	dict_cases(V315, false);
	dict_cases(V315, true);
}

static void test_dict_27(void)
{
	dict_cases(V27, false);
}

/* A dict big enough for several chunks, with deleted entries. */
static int count_cb(uint64_t k, uint64_t v, void *arg)
{
	(void)k;
	(void)v;
	return ++*(int *)arg == 1000 ? 7 : 0;
}

static void test_dict_big(void)
{
	static const unsigned vers[] = { V27, V36, V311, V313 };
	for (size_t vi = 0; vi < 4; vi++) {
		struct fx f;
		static uint64_t k[1500], v[1500];
		uint64_t value;
		char name[16];
		int n = 0;
		fx_init(&f, vers[vi], false, false);
		for (int i = 0; i < 1500; i++) {
			snprintf(name, sizeof(name), "key%d", i);
			k[i] = fx_str(&f, name);
			v[i] = fx_int(&f, i);
		}
		uint64_t d = fx_dict_ex(&f, 1500, k, v, true, false);
		fx_commit(&f);
		CHECK_INT(pydict_get_str(&f.c, d, "key1499", &value), 0);
		CHECK(value == v[1499]);
		CHECK_INT(pydict_foreach(&f.c, d, count_cb, &n), 7);
		CHECK_INT(n, 1000);
		fx_free(&f);
	}
}

static void test_dict_corrupt(void)
{
	struct fx f;
	uint64_t k = 0, v = 0, value;
	uint8_t *p;
	fx_init(&f, V311, false, true);
	k = fx_str(&f, "a");
	v = fx_int(&f, 1);
	uint64_t keys = fx_keys(&f, 1, 1, &k, &v);
	uint64_t d = fx_obj(&f, f.t_dict, 48, &p);
	put64(p, f.L.ma_used, 1);
	put64(p, f.L.ma_keys, keys);
	fx_done(&f, d, 48);
	/* log2 sizes out of range, then a huge nentries */
	uint8_t kb[64];
	CHECK_INT(mem__read(f.m, keys, kb, 32), 0);
	kb[f.L.dk_log2_size] = 40;
	mem__snapshot_add(f.m, keys, kb, 32);
	CHECK_INT(pydict_get_str(&f.c, d, "a", &value), -EINVAL);
	kb[f.L.dk_log2_size] = 3;
	kb[f.L.dk_log2_index_bytes] = 9;
	mem__snapshot_add(f.m, keys, kb, 32);
	CHECK_INT(pydict_get_str(&f.c, d, "a", &value), -EINVAL);
	kb[f.L.dk_log2_index_bytes] = 3;
	put64(kb, f.L.dk_nentries, 1000);
	mem__snapshot_add(f.m, keys, kb, 32);
	CHECK_INT(pydict_get_str(&f.c, d, "a", &value), -EINVAL);
	put64(kb, f.L.dk_nentries, 1);
	mem__snapshot_add(f.m, keys, kb, 32);
	CHECK_INT(pydict_get_str(&f.c, d, "a", &value), 0);
	fx_free(&f);
}

/* ---- attributes ---- */

/* Instance of a class with attributes names[i] = vals[i], placed the way
 * the layout does it. mode: 0 = values (3.11+) / dict (older), 1 = dict. */
static uint64_t fx_instance(struct fx *f, size_t n, const uint64_t *names, const uint64_t *vals,
			    int mode, uint64_t *type_out)
{
	const struct py_layout *L = &f->L;
	uint8_t *p;
	uint64_t cached = 0, type, obj, dict;
	int hdr = L->ob_type + 8;

	if (L->managed_dict_off == 0) {
		/* <= 3.10: tp_dictoffset right after the header */
		type = fx_type_ex(f, "Thread", 0, hdr + 8, hdr, 0);
		dict = fx_dict_ex(f, n, names, vals, true, false);
		obj = fx_obj(f, type, (size_t)hdr + 8, &p);
		put64(p, hdr, dict);
		fx_done(f, obj, (size_t)hdr + 8);
		*type_out = type;
		return obj;
	}
	bool inl = L->tpflags_inline_values != 0;
	cached = fx_keys(f, 2, n, names, vals);
	uint64_t flags = L->tpflags_managed_dict | (inl ? L->tpflags_inline_values : 0);
	type = fx_type_ex(f, "Thread", flags, hdr, 0, cached);
	size_t pre = 32;
	size_t size = pre + (size_t)hdr + (inl ? (size_t)L->dict_values_prefix + 8 * n : 0);
	uint64_t base = fx_alloc(f, size, &p);
	obj = base + pre;
	uint8_t *o = p + pre;
	put64(o, 0, 1);
	put64(o, L->ob_type, type);
	uint64_t values = 0;
	dict = mode == 1 ? fx_dict_ex(f, n, names, vals, true, false) : 0;
	if (inl) {
		/* 3.13+: values inline (valid unless a dict took over) */
		uint8_t *vp = o + hdr;
		vp[0] = (uint8_t)n;
		vp[1] = (uint8_t)n;
		vp[2] = 1;
		vp[3] = mode == 0;
		memcpy(vp + L->dict_values_prefix, vals, 8 * n);
		put64(o, L->managed_dict_off, dict);
	} else if (L->managed_values_off) {
		/* 3.11 */
		values = mode == 0 ? fx_values(f, n, vals, true) : 0;
		put64(o, L->managed_values_off, values);
		put64(o, L->managed_dict_off, dict);
	} else {
		/* 3.12: tagged word */
		values = mode == 0 ? fx_values(f, n, vals, true) : 0;
		put64(o, L->managed_dict_off, mode == 0 ? values - 1 : dict);
	}
	fx_done(f, base, size);
	*type_out = type;
	return obj;
}

static void attr_cases(unsigned ver, bool ft)
{
	for (int exact = 0; exact < 2; exact++) {
		for (int mode = 0; mode < 2; mode++) {
			struct fx f;
			uint64_t names[3], vals[3], value, type;
			fx_init(&f, ver, ft, exact);
			names[0] = fx_str(&f, "_daemonic");
			names[1] = fx_str(&f, ver >> 24 == 2 ? "_Thread__name" : "_name");
			names[2] = fx_str(&f, "_ident");
			vals[0] = fx_int(&f, 0);
			vals[1] = fx_str(&f, "worker");
			vals[2] = fx_int(&f, 99);
			uint64_t obj = fx_instance(&f, 3, names, vals, mode, &type);
			fx_commit(&f);
			CHECK_INT(pydict_getattr(&f.c, obj, "_ident", &value), 0);
			CHECK(value == vals[2]);
			CHECK_INT(pydict_getattr(&f.c, obj, ver >> 24 == 2 ? "_Thread__name" : "_name",
						     &value), 0);
			CHECK(value == vals[1]);
			CHECK_INT(pydict_getattr(&f.c, obj, "missing", &value), -ENOENT);
			CHECK_INT(pydict_getattr(&f.c, f.none, "x", &value), -ENOENT);
			CHECK_INT(pydict_getattr(&f.c, 0x30, "x", &value), -EFAULT);
			fx_free(&f);
		}
	}
}

static void test_getattr_old(void)
{
	attr_cases(V27, false);
	attr_cases(V310, false);
}

static void test_getattr_311(void)
{
	attr_cases(V311, false);
}

static void test_getattr_312(void)
{
	attr_cases(V312, false);
}

static void test_getattr_313(void)
{
	attr_cases(V313, false);
	attr_cases(V314, false);
	attr_cases(V314, true);
	attr_cases(V315, false);
	attr_cases(V315, true);
}

/* ---- thread names ---- */

struct seen {
	int n;
	uint64_t ident[4];
	char name[4][32];
};

static void name_cb(uint64_t ident, const char *name, void *arg)
{
	struct seen *s = arg;
	if (s->n < 4) {
		s->ident[s->n] = ident;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
	}
	s->n++;
}

static void thread_cases(unsigned ver, bool ft)
{
	struct fx f;
	uint64_t names[3], vals[3], type, t1, t2, k[3], v[3];
	struct seen s = { 0 };
	uint8_t *p;
	bool py2 = ver >> 24 == 2;

	fx_init(&f, ver, ft, true);
	names[0] = fx_str(&f, "_daemonic");
	names[1] = fx_str(&f, py2 ? "_Thread__name" : "_name");
	names[2] = fx_str(&f, py2 ? "_Thread__ident" : "_ident");
	vals[0] = f.none;
	vals[1] = fx_str(&f, "MainThread");
	vals[2] = fx_int(&f, 139812345);
	t1 = fx_instance(&f, 3, names, vals, 0, &type);
	vals[1] = fx_str(&f, "worker-\xc3\xa9");
	vals[2] = fx_int(&f, (int64_t)1 << 46);
	t2 = fx_instance(&f, 3, names, vals, 1, &type);
	/* _active = {139812345: t1, 2**46: t2} */
	k[0] = fx_int(&f, 139812345);
	k[1] = fx_int(&f, (int64_t)1 << 46);
	uint64_t active = fx_dict(&f, 2, k, (uint64_t[]){ t1, t2 });
	/* threading.__dict__ = {'__name__': 'threading', '_active': active} */
	k[0] = fx_str(&f, "__name__");
	k[1] = fx_str(&f, "_active");
	v[0] = fx_str(&f, "threading");
	v[1] = active;
	uint64_t md = fx_dict_ex(&f, 2, k, v, true, false);
	uint64_t mod = fx_obj(&f, f.t_module, (size_t)f.L.md_dict + 8, &p);
	put64(p, f.L.md_dict, md);
	fx_done(&f, mod, (size_t)f.L.md_dict + 8);
	/* sys.modules = {'sys': None, 'threading': mod, 'os': None} */
	k[0] = fx_str(&f, "sys");
	k[1] = fx_str(&f, "threading");
	k[2] = fx_str(&f, "os");
	uint64_t modules = fx_dict_ex(&f, 3, k, (uint64_t[]){ f.none, mod, f.none }, true, false);
	uint64_t nomods = fx_dict_ex(&f, 1, k, (uint64_t[]){ f.none }, true, false);
	uint64_t badmods = fx_dict_ex(&f, 2, k, (uint64_t[]){ f.none, f.none }, true, false);
	fx_commit(&f);

	CHECK_INT(pythread_names(&f.c, modules, name_cb, &s), 0);
	CHECK_INT(s.n, 2);
	for (int i = 0; i < 2 && i < s.n; i++) {
		if (s.ident[i] == 139812345)
			CHECK_STR(s.name[i], "MainThread");
		else if (s.ident[i] == (uint64_t)1 << 46)
			CHECK_STR(s.name[i], "worker-\xc3\xa9");
		else
			CHECK(0);
	}
	s.n = 0;
	CHECK_INT(pythread_names(&f.c, nomods, name_cb, &s), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(pythread_names(&f.c, badmods, name_cb, &s), 0);   /* threading is None */
	CHECK_INT(s.n, 0);
	CHECK_INT(pythread_names(&f.c, 0x50, name_cb, &s), -EFAULT);
	fx_free(&f);
}

/* A torn _active, as a thread paused in the middle of changing it (no GIL)
 * leaves it: besides two good entries, one whose value is unreadable, one
 * whose value is not a Thread, one whose key is unreadable, one with a
 * misaligned key, one whose Thread is another thread's (its own ident is not
 * the key: the dict read while it changes), and one entry whose bytes cannot
 * be read at all. The good entries still give their names; the torn ones
 * are skipped. */
static void thread_torn_cases(unsigned ver, bool ft)
{
	struct fx f;
	uint64_t names[3], vals[3], type, k[7], v[7];
	struct seen s = { 0 };
	uint8_t *p;
	const uint64_t unmapped = FX_BASE + FX_ARENA + 0x100000;
	bool py2 = ver >> 24 == 2;

	fx_init(&f, ver, ft, false);
	names[0] = fx_str(&f, "_daemonic");
	names[1] = fx_str(&f, py2 ? "_Thread__name" : "_name");
	names[2] = fx_str(&f, py2 ? "_Thread__ident" : "_ident");
	vals[0] = f.none;
	vals[1] = fx_str(&f, "MainThread");
	vals[2] = fx_int(&f, 1001);
	uint64_t t1 = fx_instance(&f, 3, names, vals, 0, &type);
	vals[1] = fx_str(&f, "worker");
	vals[2] = fx_int(&f, 1002);
	uint64_t t2 = fx_instance(&f, 3, names, vals, 0, &type);
	vals[1] = fx_str(&f, "hidden");
	vals[2] = fx_int(&f, 1003);
	uint64_t t3 = fx_instance(&f, 3, names, vals, 0, &type);
	k[0] = fx_int(&f, 1001);
	v[0] = t1;
	k[1] = fx_int(&f, 1003);        /* this entry's bytes are left out below */
	v[1] = t3;
	k[2] = fx_int(&f, 1002);
	v[2] = t2;
	k[3] = fx_int(&f, 1004);
	v[3] = unmapped;
	k[4] = fx_int(&f, 1005);
	v[4] = fx_int(&f, 7);
	k[5] = unmapped;
	v[5] = t1;
	k[6] = fx_int(&f, 1006);        /* worker's Thread under another ident */
	v[6] = t2;
	uint64_t active = fx_dict(&f, 7, k, v);
	uint64_t kv[2] = { fx_str(&f, "__name__"), fx_str(&f, "_active") };
	uint64_t md = fx_dict_ex(&f, 2, kv, (uint64_t[]){ fx_str(&f, "threading"), active }, true,
				 false);
	uint64_t mod = fx_obj(&f, f.t_module, (size_t)f.L.md_dict + 8, &p);
	put64(p, f.L.md_dict, md);
	kv[0] = fx_str(&f, "threading");
	uint64_t modules = fx_dict_ex(&f, 1, kv, &mod, true, false);
	/* Commit all but the entry of k[1]: its key pointer is found in the
	 * entry table (hash, key, value on every layout used here). */
	size_t at = 0;
	for (size_t o = 8; o + 16 <= f.used; o += 8) {
		uint64_t w[2];
		memcpy(w, f.arena + o, 16);
		if (w[0] == k[1] && w[1] == v[1])
			at = o - 8;
	}
	CHECK(at != 0);
	mem__snapshot_add(f.m, FX_BASE, f.arena, at);
	mem__snapshot_add(f.m, FX_BASE + at + 24, f.arena + at + 24, f.used - at - 24);

	CHECK_INT(pythread_names(&f.c, modules, name_cb, &s), 0);
	CHECK_INT(s.n, 2);
	for (int i = 0; i < 2 && i < s.n; i++) {
		if (s.ident[i] == 1001)
			CHECK_STR(s.name[i], "MainThread");
		else if (s.ident[i] == 1002)
			CHECK_STR(s.name[i], "worker");
		else
			CHECK(0);
	}
	/* A torn table header still fails (the walk cannot be bounded). */
	uint64_t keys = 0;
	if (f.L.dict_kind != PY_DICT_27) {
		CHECK_INT(mem__read_ptr(f.m, active + (uint64_t)f.L.ma_keys, &keys), 0);
		uint8_t kb[8];
		put64(kb, 0, (uint64_t)1 << 40);
		mem__snapshot_add(f.m, keys + (uint64_t)f.L.dk_nentries, kb, 8);
		s.n = 0;
		CHECK_INT(pythread_names(&f.c, modules, name_cb, &s), -EINVAL);
		CHECK_INT(s.n, 0);
	}
	fx_free(&f);
}

static void test_thread_names_torn(void)
{
	thread_torn_cases(V27, false);
	thread_torn_cases(V36, false);
	thread_torn_cases(V311, false);
	thread_torn_cases(V312, false);
	thread_torn_cases(V313, false);
	thread_torn_cases(V314, true);
	thread_torn_cases(V315, true);
}

static void test_thread_names(void)
{
	thread_cases(V27, false);
	thread_cases(V36, false);
	thread_cases(V311, false);
	thread_cases(V312, false);
	thread_cases(V313, false);
	thread_cases(V314, true);
	thread_cases(V315, false);
	thread_cases(V315, true);
}

int main(void)
{
	TEST_RUN(test_type_name);
	TEST_RUN(test_int_311);
	TEST_RUN(test_int_312);
	TEST_RUN(test_int_27);
	TEST_RUN(test_float);
	TEST_RUN(test_str_repr);
	TEST_RUN(test_str_repr_27);
	TEST_RUN(test_containers);
	TEST_RUN(test_repr_utf8_cut);
	TEST_RUN(test_dict_36);
	TEST_RUN(test_dict_311);
	TEST_RUN(test_dict_27);
	TEST_RUN(test_dict_big);
	TEST_RUN(test_dict_corrupt);
	TEST_RUN(test_getattr_old);
	TEST_RUN(test_getattr_311);
	TEST_RUN(test_getattr_312);
	TEST_RUN(test_getattr_313);
	TEST_RUN(test_thread_names);
	TEST_RUN(test_thread_names_torn);
	return TEST_REPORT();
}
