/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for python/linetable.c. Input layout: byte 0 picks the
 * table kind (modulo 5, so one value in five is an invalid kind), bytes 1-4
 * are firstlineno and bytes 5-8 the offset (little-endian int32), the rest is
 * the table. The table is copied into a buffer of exactly its size so that
 * ASan sees any read past len. Besides the given offset, a few derived ones
 * (0, the end of the table, far past it) are decoded too, and the result for
 * a negative offset must be firstlineno.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     fuzz/fuzz_linetable.c src/python/linetable.c -o /tmp/fz
 *   /tmp/fz -max_total_time=60
 */
#include "python/linetable.h"

#include <stdlib.h>
#include <string.h>

static int32_t le32(const uint8_t *p)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	int32_t r;

	memcpy(&r, &v, sizeof(r));
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum lt_kind kind;
	int first, offset;
	size_t len;
	uint8_t *tab;

	if (size < 9)
		return 0;
	kind = (enum lt_kind)(data[0] % 5);
	first = le32(data + 1);
	offset = le32(data + 5);
	len = size - 9;
	tab = malloc(len ? len : 1);
	if (!tab)
		return 0;
	memcpy(tab, data + 9, len);

	(void)linetable_addr2line(kind, tab, len, first, offset);
	(void)linetable_addr2line(kind, tab, len, first, 0);
	(void)linetable_addr2line(kind, tab, len, first, (int)(len * 2 & 0x7fffffff));
	(void)linetable_addr2line(kind, tab, len, first, 0x7fffffff);
	(void)linetable_addr2line(kind, NULL, 0, first, offset);
	if (linetable_addr2line(kind, tab, len, first, offset < 0 ? offset : -1) != first)
		abort();
	free(tab);
	return 0;
}
