/* SPDX-License-Identifier: MIT
 *
 * Unit tests for python/pystr: the pure decoders (Latin-1, UCS-2 with pairs
 * and lone surrogates, UCS-4, truncation at a character boundary, UTF-8
 * sanitising) and pystr_read()/pystr_read_ucs4()/pybytes_read() over
 * snapshot memory holding hand-built string objects for each layout: 3.11
 * compact ASCII/Latin-1/UCS-2/UCS-4, 3.12 (smaller header), a legacy
 * non-compact string with a data pointer, 2.7 str and unicode (told apart by
 * a fake type object's tp_name, or its flags), and 3.14t (32-byte header,
 * moved state bits). Each object is built twice: alone in its own snapshot
 * region (so the reader's speculative head read falls back), and inside one
 * large region (so the characters come with the head): the two modes of the
 * remote-heap fixture (fixture.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pystr.h"

/* ---- string builders (the heap itself: fixture.h) ---- */

/* PEP 393 string of code points cp[0..n): compact (ascii / not) or legacy. */
static uint64_t fx_pep393(struct fx *f, uint64_t type, const uint32_t *cp, size_t n, bool compact)
{
	const struct py_layout *L = &f->L;
	uint32_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = cp[i] > max ? cp[i] : max;
	int kind = max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
	bool ascii = max < 0x80;
	size_t hdr = compact ? (size_t)(ascii ? L->uni_ascii_size : L->uni_compact_size) :
		     (size_t)L->uni_data + 8;
	size_t size = hdr + (compact ? (n + 1) * (size_t)kind : 0);
	uint8_t *p, *d;
	uint64_t a = fx_alloc(f, size, &p), data;

	put64(p, 0, 1);
	put64(p, L->ob_type, type);
	put64(p, L->uni_length, n);
	put32(p, L->uni_state, (uint32_t)kind << L->uni_kind_shift |
	      (uint32_t)compact << L->uni_compact_bit | (uint32_t)ascii << L->uni_ascii_bit |
	      (L->uni_kind_shift == 2 ? 1u << 7 : 0) /* ready / statically allocated */);
	if (compact) {
		d = p + hdr;
		data = a + hdr;
	} else {
		data = fx_alloc(f, (n + 1) * (size_t)kind, &d);
		put64(p, L->uni_data, data);
	}
	for (size_t i = 0; i < n; i++)
		memcpy(d + i * (size_t)kind, &cp[i], (size_t)kind);
	fx_done(f, a, size);
	if (!compact)
		fx_done(f, data, (n + 1) * (size_t)kind);
	return a;
}

/* 2.7 str (PyStringObject). */
static uint64_t fx_str27(struct fx *f, uint64_t type, const char *s, size_t n)
{
	uint8_t *p;
	size_t size = (size_t)f->L.bytes_sval + n + 1;
	uint64_t a = fx_alloc(f, size, &p);
	put64(p, 0, 1);
	put64(p, f->L.ob_type, type);
	put64(p, f->L.bytes_size, n);
	memcpy(p + f->L.bytes_sval, s, n);
	fx_done(f, a, size);
	return a;
}

/* 2.7 unicode (UCS4 Py_UNICODE buffer elsewhere). */
static uint64_t fx_uni27(struct fx *f, uint64_t type, const uint32_t *cp, size_t n)
{
	uint8_t *p, *d;
	size_t size = 48;
	uint64_t a = fx_alloc(f, size, &p);
	uint64_t data = fx_alloc(f, (n + 1) * 4, &d);
	put64(p, 0, 1);
	put64(p, f->L.ob_type, type);
	put64(p, f->L.py2_uni_length, n);
	put64(p, f->L.py2_uni_str, data);
	memcpy(d, cp, n * 4);
	fx_done(f, a, size);
	fx_done(f, data, (n + 1) * 4);
	return a;
}

/* ---- pure decoders ---- */

static void test_decode_ascii_latin1(void)
{
	char out[64];
	bool t = true;
	const uint8_t ascii[] = "hello";
	const uint8_t latin1[] = { 'h', 0xe9, 'l', 0xff };

	CHECK_INT(pystr_decode(1, ascii, 5, out, sizeof(out), &t), 5);
	CHECK_STR(out, "hello");
	CHECK(!t);
	CHECK_INT(pystr_decode(1, latin1, 4, out, sizeof(out), &t), 6);
	CHECK_STR(out, "h\xc3\xa9l\xc3\xbf");
	CHECK(!t);
	CHECK_INT(pystr_decode(1, ascii, 0, out, sizeof(out), &t), 0);
	CHECK_STR(out, "");
	CHECK_INT(pystr_decode(3, ascii, 5, out, sizeof(out), NULL), 0);
}

static void test_decode_ucs2_ucs4(void)
{
	char out[64];
	bool t = true;
	const uint16_t jp[] = { 0x65e5, 0x672c, 'x' };
	const uint16_t pair[] = { 0xd83d, 0xde00 };
	const uint16_t lone[] = { 'a', 0xd800, 'b', 0xdc00 };
	const uint32_t u4[] = { 0x1f600, 'z', 0xd800, 0x110000, 0x10ffff };

	CHECK_INT(pystr_decode(2, (const uint8_t *)jp, 3, out, sizeof(out), &t), 7);
	CHECK_STR(out, "\xe6\x97\xa5\xe6\x9c\xac" "x");
	CHECK(!t);
	/* UTF-16 pairs (2.7 narrow builds) join; lone surrogates are replaced. */
	pystr_decode(2, (const uint8_t *)pair, 2, out, sizeof(out), &t);
	CHECK_STR(out, "\xf0\x9f\x98\x80");
	pystr_decode(2, (const uint8_t *)lone, 4, out, sizeof(out), &t);
	CHECK_STR(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	pystr_decode(4, (const uint8_t *)u4, 5, out, sizeof(out), &t);
	CHECK_STR(out, "\xf0\x9f\x98\x80z\xef\xbf\xbd\xef\xbf\xbd\xf4\x8f\xbf\xbf");
	CHECK(!t);
}

static void test_decode_truncation(void)
{
	char out[8];
	bool t = false;
	const uint8_t latin1[] = { 'h', 0xe9, 'l' };
	const uint32_t emoji[] = { 'a', 0x1f600 };

	/* cap 3: room for 2 bytes; "é" (2 bytes) does not fit after "h". */
	CHECK_INT(pystr_decode(1, latin1, 3, out, 3, &t), 1);
	CHECK_STR(out, "h");
	CHECK(t);
	CHECK_INT(pystr_decode(1, latin1, 3, out, 4, &t), 3);
	CHECK_STR(out, "h\xc3\xa9");
	CHECK(t);
	CHECK_INT(pystr_decode(4, (const uint8_t *)emoji, 2, out, 5, &t), 1);
	CHECK_STR(out, "a");
	CHECK(t);
	CHECK_INT(pystr_decode(4, (const uint8_t *)emoji, 2, out, 6, &t), 5);
	CHECK(!t);
	out[0] = 'x';
	CHECK_INT(pystr_decode(1, latin1, 3, out, 0, &t), 0);
	CHECK(t);
	CHECK(out[0] == 'x');
	CHECK_INT(pystr_decode(1, latin1, 3, out, 1, &t), 0);
	CHECK_STR(out, "");
	CHECK(t);
}

static void test_utf8_sanitize(void)
{
	char out[64];
	bool t = true;
	const char *ok = "plain \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80";

	CHECK_INT(pystr_utf8_sanitize((const uint8_t *)ok, strlen(ok), out, sizeof(out), &t), strlen(ok));
	CHECK_STR(out, ok);
	CHECK(!t);
#define SAN(in, want) do { \
	pystr_utf8_sanitize((const uint8_t *)(in), sizeof(in) - 1, out, sizeof(out), &t); \
	CHECK_STR(out, want); \
} while (0)
#define R "\xef\xbf\xbd"
	SAN("a\xff" "b", "a" R "b");
	SAN("\xc0\x80", R R);                   /* overlong NUL */
	SAN("x\xe6\x97", "x" R);                /* cut 3-byte sequence: one U+FFFD */
	SAN("\xed\xa0\x80", R R R);             /* encoded surrogate */
	SAN("\xf4\x90\x80\x80", R R R R);       /* > U+10FFFF */
	SAN("\xe6\x97" "a", R "a");
	SAN("\x80\xbf", R R);
	SAN("\xf0\x9f\x98", R);
#undef SAN
	/* Truncation keeps whole sequences. */
	CHECK_INT(pystr_utf8_sanitize((const uint8_t *)"a\xc3\xa9", 3, out, 3, &t), 1);
	CHECK(t);
	CHECK_INT(pystr_utf8_sanitize((const uint8_t *)"a\xff", 2, out, 4, &t), 1);
	CHECK(t);
	CHECK_INT(pystr_utf8_sanitize((const uint8_t *)"a\xff", 2, out, 5, &t), 4);
	CHECK_STR(out, "a" R);
	CHECK(!t);
#undef R
}

/* ---- remote strings ---- */

static size_t utf8_to_cp(const char *s, uint32_t *cp)
{
	size_t n = 0;
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		uint32_t c = *p++;
		int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (extra)
			c &= 0x3f >> extra;
		while (extra--)
			c = c << 6 | (*p++ & 0x3f);
		cp[n++] = c;
	}
	return n;
}

/* Build the string s (UTF-8) for layout f and read it back. */
static int roundtrip(struct fx *f, const char *s, bool compact, size_t cap, char *out, bool *t)
{
	uint32_t cp[256];
	size_t n = utf8_to_cp(s, cp);
	uint64_t type = fx_type(f, "str", 1ul << 28);
	uint64_t a = fx_pep393(f, type, cp, n, compact);
	fx_commit(f);
	return pystr_read(&f->c, a, out, cap, t);
}

static void pep393_cases(unsigned ver, bool ft)
{
	static const char *cases[] = {
		"hello_world", "h\xc3\xa9llo w\xc3\xb6rld", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		"smile \xf0\x9f\x98\x80!", "",
	};
	for (int exact = 0; exact < 2; exact++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			for (int compact = 1; compact >= 0; compact--) {
				struct fx f;
				char out[128];
				bool t = true;
				fx_init(&f, ver, ft, exact);
				CHECK_INT(roundtrip(&f, cases[i], compact, sizeof(out), out, &t), 0);
				CHECK_STR(out, cases[i]);
				CHECK(!t);
				fx_free(&f);
			}
		}
	}
}

static void test_read_311(void)
{
	pep393_cases(0x030b07f0, false);
}

static void test_read_312(void)
{
	pep393_cases(0x030c01f0, false);
	pep393_cases(0x030d00f0, false);
}

static void test_read_36_legacy(void)
{
	pep393_cases(0x030600f0, false);
	pep393_cases(0x030a0df0, false);
}

static void test_read_314t(void)
{
	pep393_cases(0x030e00f0, true);
	pep393_cases(0x030d00f0, true);
	pep393_cases(0x030e00f0, false);
	pep393_cases(0x030f02f0, true);
	pep393_cases(0x030f02f0, false);
}

static void test_read_truncated(void)
{
	for (int exact = 0; exact < 2; exact++) {
		struct fx f;
		char out[8];
		bool t = false;
		fx_init(&f, 0x030b07f0, false, exact);
		CHECK_INT(roundtrip(&f, "abcdefghijkl", true, sizeof(out), out, &t), 0);
		CHECK_STR(out, "abcdefg");
		CHECK(t);
		CHECK_INT(roundtrip(&f, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", true, 6, out, &t), 0);
		CHECK_STR(out, "\xc3\xa9\xc3\xa9");
		CHECK(t);
		CHECK_INT(roundtrip(&f, "abc", true, 4, out, &t), 0);
		CHECK_STR(out, "abc");
		CHECK(!t);
		CHECK_INT(roundtrip(&f, "abc", true, 0, out, &t), -EINVAL);
		fx_free(&f);
	}
	/* A long string is read only as far as needed (and at most 64 KiB). */
	struct fx f;
	char *big = malloc(300001), out[32];
	bool t;
	memset(big, 'q', 300000);
	big[300000] = '\0';
	fx_init(&f, 0x030c01f0, false, true);
	uint64_t type = fx_type(&f, "str", 1ul << 28);
	uint8_t *p;
	size_t size = (size_t)f.L.uni_ascii_size + 300001;
	uint64_t a = fx_alloc(&f, size, &p);
	put64(p, f.L.ob_type, type);
	put64(p, f.L.uni_length, 300000);
	put32(p, f.L.uni_state, 1u << 2 | 1u << 5 | 1u << 6);
	memcpy(p + f.L.uni_ascii_size, big, 300001);
	/* Only the first 100 characters are in the snapshot. */
	mem__snapshot_add(f.m, a, p, (size_t)f.L.uni_ascii_size + 100);
	CHECK_INT(pystr_read(&f.c, a, out, sizeof(out), &t), 0);
	CHECK_INT(strlen(out), 31);
	CHECK(t);
	fx_free(&f);
	free(big);
}

static void test_read_invalid(void)
{
	struct fx f;
	char out[32];
	uint8_t *p;

	fx_init(&f, 0x030b07f0, false, true);
	uint64_t type = fx_type(&f, "str", 1ul << 28);
	/* kind 3 */
	uint64_t a = fx_alloc(&f, 80, &p);
	put64(p, f.L.ob_type, type);
	put64(p, f.L.uni_length, 2);
	put32(p, f.L.uni_state, 3u << 2 | 1u << 5);
	fx_done(&f, a, 80);
	CHECK_INT(pystr_read(&f.c, a, out, sizeof(out), NULL), -EINVAL);
	/* ascii flag with kind 2 */
	a = fx_alloc(&f, 80, &p);
	put64(p, f.L.ob_type, type);
	put64(p, f.L.uni_length, 2);
	put32(p, f.L.uni_state, 2u << 2 | 1u << 5 | 1u << 6);
	fx_done(&f, a, 80);
	CHECK_INT(pystr_read(&f.c, a, out, sizeof(out), NULL), -EINVAL);
	/* negative length */
	a = fx_alloc(&f, 80, &p);
	put64(p, f.L.ob_type, type);
	put64(p, f.L.uni_length, (uint64_t)-5);
	put32(p, f.L.uni_state, 1u << 2 | 1u << 5 | 1u << 6);
	fx_done(&f, a, 80);
	CHECK_INT(pystr_read(&f.c, a, out, sizeof(out), NULL), -EINVAL);
	/* legacy with a NULL data pointer */
	a = fx_alloc(&f, 80, &p);
	put64(p, f.L.ob_type, type);
	put64(p, f.L.uni_length, 3);
	put32(p, f.L.uni_state, 1u << 2);
	fx_done(&f, a, 80);
	CHECK_INT(pystr_read(&f.c, a, out, sizeof(out), NULL), -EINVAL);
	/* data pointer to unmapped memory; unmapped object */
	put64(p, f.L.uni_data, 0xdead0000);
	fx_done(&f, a, 80);
	CHECK_INT(pystr_read(&f.c, a, out, sizeof(out), NULL), -EFAULT);
	CHECK_INT(pystr_read(&f.c, 0x1000, out, sizeof(out), NULL), -EFAULT);
	CHECK_STR(out, "");
	fx_free(&f);
}

static void test_read_27(void)
{
	for (int exact = 0; exact < 2; exact++) {
		struct fx f;
		char out[64];
		bool t = true;
		uint32_t cp[32];

		fx_init(&f, 0x020712f0, false, exact);
		/* By name (flags left clear), and by flags (odd names). */
		uint64_t t_str = fx_type(&f, "str", 0), t_uni = fx_type(&f, "unicode", 0);
		uint64_t t_sub = fx_type(&f, "MyStr", 1ul << 27), t_int = fx_type(&f, "int", 1ul << 23);
		uint64_t s1 = fx_str27(&f, t_str, "h\xc3\xa9llo", 6);
		uint64_t s2 = fx_str27(&f, t_str, "bad\xff", 4);
		uint64_t s3 = fx_str27(&f, t_sub, "sub", 3);
		size_t n = utf8_to_cp("h\xc3\xa9llo \xf0\x9f\x98\x80", cp);
		uint64_t u1 = fx_uni27(&f, t_uni, cp, n);
		uint8_t *p;
		uint64_t i1 = fx_alloc(&f, 24, &p);
		put64(p, f.L.ob_type, t_int);
		put64(p, f.L.int_ival, 5);
		fx_done(&f, i1, 24);
		fx_commit(&f);

		CHECK_INT(pystr_read(&f.c, s1, out, sizeof(out), &t), 0);
		CHECK_STR(out, "h\xc3\xa9llo");
		CHECK(!t);
		CHECK_INT(pystr_read(&f.c, s2, out, sizeof(out), &t), 0);
		CHECK_STR(out, "bad\xef\xbf\xbd");
		CHECK_INT(pystr_read(&f.c, s3, out, sizeof(out), &t), 0);
		CHECK_STR(out, "sub");
		CHECK_INT(pystr_read(&f.c, u1, out, sizeof(out), &t), 0);
		CHECK_STR(out, "h\xc3\xa9llo \xf0\x9f\x98\x80");
		CHECK(!t);
		CHECK_INT(pystr_read(&f.c, u1, out, 4, &t), 0);
		CHECK_STR(out, "h\xc3\xa9");
		CHECK(t);
		CHECK_INT(pystr_read(&f.c, i1, out, sizeof(out), &t), -EINVAL);

		uint8_t b[16];
		size_t got = 0;
		CHECK_INT(pybytes_read(&f.c, s2, b, sizeof(b), &got), 0);
		CHECK_INT(got, 4);
		CHECK(memcmp(b, "bad\xff", 4) == 0);
		fx_free(&f);
	}
}

static void test_read_ucs4(void)
{
	for (int exact = 0; exact < 2; exact++) {
		struct fx f;
		uint32_t cp[8], out[8];
		size_t n;
		bool t = true;
		const uint32_t s[] = { 'a', 0xd800, 0x1f600, 'b' };

		fx_init(&f, 0x030c01f0, false, exact);
		uint64_t type = fx_type(&f, "str", 1ul << 28);
		uint64_t a = fx_pep393(&f, type, s, 4, true);
		uint64_t b = fx_pep393(&f, type, s, 2, true);    /* 'a' + lone surrogate: UCS-2 */
		fx_commit(&f);
		CHECK_INT(pystr_read_ucs4(&f.c, a, out, 8, &n, &t), 0);
		CHECK_INT(n, 4);
		CHECK(!t);
		CHECK(memcmp(out, s, sizeof(s)) == 0);
		CHECK_INT(pystr_read_ucs4(&f.c, a, out, 2, &n, &t), 0);
		CHECK_INT(n, 2);
		CHECK(t);
		CHECK_INT(pystr_read_ucs4(&f.c, b, cp, 8, &n, &t), 0);
		CHECK_INT(n, 2);
		CHECK_INT(cp[1], 0xd800);
		fx_free(&f);
	}
}

static void test_bytes(void)
{
	static const unsigned vers[][2] = { { 0x030b07f0, 0 }, { 0x030e00f0, 1 } };
	for (int exact = 0; exact < 2; exact++) {
		for (size_t v = 0; v < 2; v++) {
			struct fx f;
			uint8_t buf[300], data[280];
			size_t n = 99;

			for (size_t i = 0; i < sizeof(data); i++)
				data[i] = (uint8_t)(i * 7);
			fx_init(&f, vers[v][0], vers[v][1], exact);
			uint64_t a = fx_bytes(&f, data, sizeof(data));
			uint64_t e = fx_bytes(&f, "", 0);
			fx_commit(&f);
			CHECK_INT(pybytes_read(&f.c, a, buf, sizeof(buf), &n), 0);
			CHECK_INT(n, sizeof(data));
			CHECK(memcmp(buf, data, sizeof(data)) == 0);
			CHECK_INT(pybytes_read(&f.c, a, buf, 10, &n), 0);
			CHECK_INT(n, 10);
			CHECK(memcmp(buf, data, 10) == 0);
			CHECK_INT(pybytes_read(&f.c, e, buf, 10, &n), 0);
			CHECK_INT(n, 0);
			CHECK_INT(pybytes_read(&f.c, 0x2000, buf, 10, &n), -EFAULT);
			fx_free(&f);
		}
	}
}

/* Bytes are bounded by the caller only: a 200 KiB line table reads whole. */
static void test_bytes_large(void)
{
	struct fx f;
	size_t len = 200 * 1024, n = 0;
	uint8_t *data = malloc(len), *buf = malloc(len + 10);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 13 + 1);
	fx_init(&f, 0x030c01f0, false, true);
	uint64_t a = fx_bytes(&f, data, len);
	fx_commit(&f);
	CHECK_INT(pybytes_read(&f.c, a, buf, len + 10, &n), 0);
	CHECK_INT(n, len);
	CHECK(memcmp(buf, data, len) == 0);
	fx_free(&f);
	free(data);
	free(buf);
}

int main(void)
{
	TEST_RUN(test_decode_ascii_latin1);
	TEST_RUN(test_decode_ucs2_ucs4);
	TEST_RUN(test_decode_truncation);
	TEST_RUN(test_utf8_sanitize);
	TEST_RUN(test_read_311);
	TEST_RUN(test_read_312);
	TEST_RUN(test_read_36_legacy);
	TEST_RUN(test_read_314t);
	TEST_RUN(test_read_truncated);
	TEST_RUN(test_read_invalid);
	TEST_RUN(test_read_27);
	TEST_RUN(test_read_ucs4);
	TEST_RUN(test_bytes);
	TEST_RUN(test_bytes_large);
	return TEST_REPORT();
}
