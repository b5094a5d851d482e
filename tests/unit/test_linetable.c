/* SPDX-License-Identifier: MIT
 *
 * Unit tests for python/linetable.c: hand-built tables in each of the four
 * formats, including the edge cases the interpreters rarely produce (empty
 * tables, "no line" entries, zero-length ranges, long line jumps split over
 * several pairs, varint continuations, truncated entries, offsets past the
 * end). The bulk check against real interpreters is tests/linetables/.
 */
#include "python/linetable.h"
#include "harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int u8(const uint8_t *t, size_t n, int first, int off)
{
	return linetable_addr2line(LT_LNOTAB_U8, t, n, first, off);
}

static int s8(const uint8_t *t, size_t n, int first, int off)
{
	return linetable_addr2line(LT_LNOTAB_S8, t, n, first, off);
}

static int lt(const uint8_t *t, size_t n, int first, int off)
{
	return linetable_addr2line(LT_LINETABLE, t, n, first, off);
}

static int loc(const uint8_t *t, size_t n, int first, int off)
{
	return linetable_addr2line(LT_LOCATIONS, t, n, first, off);
}

static void test_empty_tables(void)
{
	static const uint8_t none[1];

	/* lnotab: no pairs, every offset is on the first line */
	CHECK_INT(u8(NULL, 0, 7, 0), 7);
	CHECK_INT(u8(none, 0, 7, 100), 7);
	CHECK_INT(s8(none, 0, 7, 0), 7);
	/* 3.10 / 3.11+: no ranges, so no line */
	CHECK_INT(lt(none, 0, 7, 0), -1);
	CHECK_INT(loc(none, 0, 7, 0), -1);
	CHECK_INT(loc(NULL, 0, 7, 0), -1);
}

static void test_negative_offset(void)
{
	static const uint8_t t[] = { 0x00, 0x05, 0x04, 0x01 };

	CHECK_INT(u8(t, N(t), 3, -1), 3);
	CHECK_INT(s8(t, N(t), 3, -1), 3);
	CHECK_INT(lt(t, N(t), 3, -1), 3);
	CHECK_INT(loc(t, N(t), 3, -1), 3);
	CHECK_INT(loc(t, N(t), 3, -2147483647 - 1), 3);
}

static void test_lnotab_u8(void)
{
	/* +1 line at byte 6, +1 at byte 9 */
	static const uint8_t t[] = { 6, 1, 3, 1 };
	/* 300-line jump at byte 4: 255 then 45; 0xff is +255, not -1 */
	static const uint8_t big[] = { 4, 255, 0, 45 };
	/* address jump > 255 split over two pairs */
	static const uint8_t far[] = { 255, 0, 45, 1 };
	/* a trailing odd byte is ignored */
	static const uint8_t odd[] = { 2, 1, 2 };

	CHECK_INT(u8(t, N(t), 10, 0), 10);
	CHECK_INT(u8(t, N(t), 10, 5), 10);
	CHECK_INT(u8(t, N(t), 10, 6), 11);
	CHECK_INT(u8(t, N(t), 10, 8), 11);
	CHECK_INT(u8(t, N(t), 10, 9), 12);
	CHECK_INT(u8(t, N(t), 10, 1000), 12); /* past the end: last line */
	CHECK_INT(u8(big, N(big), 10, 3), 10);
	CHECK_INT(u8(big, N(big), 10, 4), 310);
	CHECK_INT(u8(far, N(far), 1, 299), 1);
	CHECK_INT(u8(far, N(far), 1, 300), 2);
	CHECK_INT(u8(odd, N(odd), 1, 100), 2);
}

static void test_lnotab_s8(void)
{
	/* +1 at byte 2, -2 at byte 4 */
	static const uint8_t t[] = { 2, 1, 2, 0xfe };
	/* +200 and -200 split over pairs of at most 127 / -128 */
	static const uint8_t up[] = { 2, 127, 0, 73 };
	static const uint8_t down[] = { 2, 0x80, 0, 0xb8 };
	/* line changes before the first instruction (3.8 "unused code"):
	 * offset 0..3 is line+1, the second +1 applies from byte 4 on */
	static const uint8_t pre[] = { 0, 1, 4, 1 };

	CHECK_INT(s8(t, N(t), 10, 0), 10);
	CHECK_INT(s8(t, N(t), 10, 1), 10);
	CHECK_INT(s8(t, N(t), 10, 2), 11);
	CHECK_INT(s8(t, N(t), 10, 4), 9);
	CHECK_INT(s8(t, N(t), 10, 50), 9);
	CHECK_INT(s8(up, N(up), 10, 0), 10);
	CHECK_INT(s8(up, N(up), 10, 2), 210);
	CHECK_INT(s8(down, N(down), 300, 2), 100);
	CHECK_INT(s8(pre, N(pre), 653, 0), 654);
	CHECK_INT(s8(pre, N(pre), 653, 2), 654);
	CHECK_INT(s8(pre, N(pre), 653, 4), 655);
	/* the same bytes read as unsigned (2.7) */
	CHECK_INT(u8(down, N(down), 300, 2), 300 + 128 + 184);
}

static void test_linetable_310(void)
{
	/* bytes 0-5 line+1, 6-9 no line, 10-11 line+2 (the -128 entry leaves
	 * the running line alone) */
	static const uint8_t t[] = { 6, 1, 4, 0x80, 2, 1 };
	/* zero-length ranges only move the running line */
	static const uint8_t zero[] = { 0, 5, 0, 0x80, 4, 1, 0, 3, 2, 0 };
	/* a range longer than 254 bytes is split, the tail has delta 0 */
	static const uint8_t far[] = { 254, 2, 46, 0 };
	/* odd trailing byte ignored */
	static const uint8_t odd[] = { 2, 1, 9 };

	CHECK_INT(lt(t, N(t), 10, 0), 11);
	CHECK_INT(lt(t, N(t), 10, 5), 11);
	CHECK_INT(lt(t, N(t), 10, 6), -1);
	CHECK_INT(lt(t, N(t), 10, 9), -1);
	CHECK_INT(lt(t, N(t), 10, 10), 12);
	CHECK_INT(lt(t, N(t), 10, 11), 12);
	CHECK_INT(lt(t, N(t), 10, 12), -1); /* past the end */
	CHECK_INT(lt(t, N(t), 10, 1 << 30), -1);
	CHECK_INT(lt(zero, N(zero), 1, 0), 7);
	CHECK_INT(lt(zero, N(zero), 1, 3), 7);
	CHECK_INT(lt(zero, N(zero), 1, 4), 10);
	CHECK_INT(lt(zero, N(zero), 1, 5), 10);
	CHECK_INT(lt(zero, N(zero), 1, 6), -1);
	CHECK_INT(lt(far, N(far), 1, 253), 3);
	CHECK_INT(lt(far, N(far), 1, 299), 3);
	CHECK_INT(lt(far, N(far), 1, 300), -1);
	CHECK_INT(lt(odd, N(odd), 1, 1), 2);
	CHECK_INT(lt(odd, N(odd), 1, 2), -1);
}

/* First byte of a 3.11+ entry: bit 7, code, length in code units - 1. */
#define E(code, units) ((uint8_t)(0x80 | (code) << 3 | ((units) - 1)))

static void test_locations_entries(void)
{
	static const uint8_t t[] = {
		E(13, 2), 0x02,			/* NO_COLUMNS +1: units 0-1 */
		E(15, 1),			/* NONE: unit 2 */
		E(3, 3), 0x12,			/* SHORT3: units 3-5, line kept */
		E(12, 1), 0x04, 0x08,		/* ONE_LINE2 (+2): unit 6 */
		E(14, 8), 0x48, 0x03,		/* LONG, +100 (varint 200 in */
		0x02, 0x05, 0x0a,		/*   two groups): units 7-14 */
		E(13, 1), 0x4d, 0x02,		/* NO_COLUMNS -70: unit 15 */
		E(10, 1), 0x01, 0x02,		/* ONE_LINE0: unit 16 */
		E(11, 1), 0x01, 0x02,		/* ONE_LINE1: unit 17 */
	};
	int f = 20;

	/* offsets are bytes: unit u is offset 2u */
	CHECK_INT(loc(t, N(t), f, 0), f + 1);
	CHECK_INT(loc(t, N(t), f, 2), f + 1);
	CHECK_INT(loc(t, N(t), f, 4), -1);
	CHECK_INT(loc(t, N(t), f, 6), f + 1);
	CHECK_INT(loc(t, N(t), f, 10), f + 1);
	CHECK_INT(loc(t, N(t), f, 12), f + 3);
	CHECK_INT(loc(t, N(t), f, 14), f + 103);
	CHECK_INT(loc(t, N(t), f, 28), f + 103);
	CHECK_INT(loc(t, N(t), f, 30), f + 33);
	CHECK_INT(loc(t, N(t), f, 31), f + 33); /* odd byte: same unit */
	CHECK_INT(loc(t, N(t), f, 32), f + 33);
	CHECK_INT(loc(t, N(t), f, 34), f + 34);
	CHECK_INT(loc(t, N(t), f, 36), -1); /* past the end */
	CHECK_INT(loc(t, N(t), f, 1 << 30), -1);
}

static void test_locations_none_keeps_line(void)
{
	/* NONE entries neither have a line nor move the running line */
	static const uint8_t t[] = {
		E(15, 8), E(15, 1), E(13, 1), 0x06, E(15, 2), E(0, 1), 0x00,
	};

	CHECK_INT(loc(t, N(t), 5, 0), -1);
	CHECK_INT(loc(t, N(t), 5, 16), -1);
	CHECK_INT(loc(t, N(t), 5, 18), 8);
	CHECK_INT(loc(t, N(t), 5, 20), -1);
	CHECK_INT(loc(t, N(t), 5, 24), 8);
}

static void test_locations_varints(void)
{
	/* 3 groups: u = 1 | 2<<6 | 3<<12 = 12417, odd so -6208 */
	static const uint8_t neg[] = { E(13, 1), 0x41, 0x42, 0x03 };
	/* over-long varint (beyond 32 bits): must stay bounded and defined */
	static const uint8_t huge[] = {
		E(14, 1), 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
		0x7f, 0x7f, 0x7f, 0x7f, 0x3f, E(0, 1), 0,
	};

	CHECK_INT(loc(neg, N(neg), 10000, 0), 10000 - 6208);
	CHECK(loc(huge, N(huge), 1, 0) != 12345); /* just must not crash */
	CHECK_INT(loc(huge, N(huge), 1, 2), loc(huge, N(huge), 1, 0));
}

static void test_locations_truncated(void)
{
	/* NO_COLUMNS header as the last byte, its varint missing: delta 0 */
	static const uint8_t t1[] = { E(0, 2), 0x00, E(13, 1) };
	/* LONG whose varint promises more bytes than there are */
	static const uint8_t t2[] = { E(14, 3), 0x48 };
	/* a varint cut short by the next entry's header byte */
	static const uint8_t t3[] = { E(13, 1), 0x48, E(0, 2), 0x00 };
	/* ONE_LINE header with its two column bytes missing */
	static const uint8_t t4[] = { E(11, 1) };
	/* garbage before the first header byte counts as a header */
	static const uint8_t t5[] = { 0x05, E(13, 1), 0x04 };

	CHECK_INT(loc(t1, N(t1), 10, 0), 10);
	CHECK_INT(loc(t1, N(t1), 10, 4), 10);
	CHECK_INT(loc(t1, N(t1), 10, 6), -1);
	CHECK_INT(loc(t1, N(t1) - 1, 10, 4), -1); /* len bounds the walk */
	CHECK_INT(loc(t2, N(t2), 10, 4), 14);
	CHECK_INT(loc(t2, N(t2), 10, 6), -1);
	CHECK_INT(loc(t2, 1, 10, 0), 10);
	CHECK_INT(loc(t3, N(t3), 10, 0), 14);
	CHECK_INT(loc(t3, N(t3), 10, 2), 14);
	CHECK_INT(loc(t3, N(t3), 10, 4), 14);
	CHECK_INT(loc(t3, N(t3), 10, 6), -1);
	CHECK_INT(loc(t4, N(t4), 10, 0), 11);
	CHECK_INT(loc(t5, N(t5), 10, 0), 10);
	CHECK_INT(loc(t5, N(t5), 10, 10), 10);
	CHECK_INT(loc(t5, N(t5), 10, 12), 12);
	CHECK_INT(loc(t5, N(t5), 10, 14), -1);
}

static void test_bounded_by_len(void)
{
	/* the same buffer with a shorter len must not see the later bytes */
	static const uint8_t t[] = { 2, 1, 2, 1, 2, 1 };

	CHECK_INT(s8(t, 2, 1, 100), 2);
	CHECK_INT(s8(t, 3, 1, 100), 2);
	CHECK_INT(s8(t, 4, 1, 100), 3);
	CHECK_INT(lt(t, 2, 1, 2), -1);
	CHECK_INT(lt(t, 4, 1, 2), 3);
}

static void test_unknown_kind(void)
{
	static const uint8_t t[] = { 2, 1 };

	CHECK_INT(linetable_addr2line((enum lt_kind)99, t, N(t), 5, 0), -1);
	CHECK_INT(linetable_addr2line((enum lt_kind)99, t, N(t), 5, -1), 5);
}

int main(void)
{
	TEST_RUN(test_empty_tables);
	TEST_RUN(test_negative_offset);
	TEST_RUN(test_lnotab_u8);
	TEST_RUN(test_lnotab_s8);
	TEST_RUN(test_linetable_310);
	TEST_RUN(test_locations_entries);
	TEST_RUN(test_locations_none_keeps_line);
	TEST_RUN(test_locations_varints);
	TEST_RUN(test_locations_truncated);
	TEST_RUN(test_bounded_by_len);
	TEST_RUN(test_unknown_kind);
	return TEST_REPORT();
}
