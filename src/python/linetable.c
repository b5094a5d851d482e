/* SPDX-License-Identifier: MIT
 *
 * Line-table decoders: map a bytecode byte offset to a source line for each
 * of CPython's four line-table formats (see linetable.h; CPython describes
 * them in Objects/lnotab_notes.txt up to 3.10, then Objects/locations.md and
 * InternalDocs/code_objects.md). Each decoder is one forward walk over the table,
 * keeping a running line number and the address range of the current entry,
 * and stops at the first entry whose range holds the offset. The walk never
 * looks at more than len bytes, advances at least one byte per step, and
 * allocates nothing, so hostile tables (the sampler reads them from another
 * process, and the fuzzer feeds them at random) cost at most O(len).
 *
 * The running line is kept in unsigned 32-bit arithmetic so that a table
 * that adds up to a huge line wraps (as CPython's int would in practice)
 * instead of overflowing a signed int; real tables never get near the limit.
 */
#include "python/linetable.h"

#include <limits.h>

/* 3.11+ location entry codes (_PyCodeLocationInfoKind). */
enum {
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

/* Two's-complement view of a wrapped running line, without relying on
 * implementation-defined conversions. */
static int lt_int(uint32_t v)
{
	if (v <= (uint32_t)INT_MAX)
		return (int)v;
	return -(int)(UINT32_MAX - v) - 1;
}

/* co_lnotab: pairs (address increment u8, line increment u8 or int8). The
 * line of an offset is the line after applying every pair whose cumulative
 * address is <= the offset. A trailing odd byte is ignored, as CPython does. */
static int lt_lnotab(const uint8_t *tab, size_t len, int firstlineno,
		     size_t offset, int is_signed)
{
	uint32_t line = (uint32_t)firstlineno;
	size_t addr = 0;

	for (size_t p = 0; p + 1 < len; p += 2) {
		addr += tab[p];
		if (addr > offset)
			break;
		if (is_signed && tab[p + 1] >= 128)
			line -= 256u - tab[p + 1];
		else
			line += tab[p + 1];
	}
	return lt_int(line);
}

/* 3.10 co_linetable: pairs (byte-range length u8, line delta int8), where a
 * delta of -128 marks a range without a line and leaves the running line
 * alone. Zero-length ranges only move the running line. */
static int lt_linetable(const uint8_t *tab, size_t len, int firstlineno,
			size_t offset)
{
	uint32_t line = (uint32_t)firstlineno;
	size_t start = 0;

	for (size_t p = 0; p + 1 < len; p += 2) {
		size_t n = tab[p];
		uint8_t ld = tab[p + 1];

		if (ld != 0x80) {
			if (ld >= 128)
				line -= 256u - ld;
			else
				line += ld;
		}
		if (n != 0 && offset - start < n)
			return ld == 0x80 ? -1 : lt_int(line);
		start += n;
	}
	return -1;
}

/* Unsigned varint of 6-bit groups, least significant first, 0x40 meaning
 * "more follows", read from tab[*p] up to end. Bits beyond 32 are dropped;
 * a varint cut short by end yields what was read so far. */
static uint32_t lt_varint(const uint8_t *tab, size_t *p, size_t end)
{
	uint32_t v = 0;
	unsigned shift = 0;

	while (*p < end) {
		uint8_t b = tab[(*p)++];

		if (shift < 32)
			v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	return v;
}

/* 3.11+ location table. Each entry starts with a byte that has bit 7 set:
 * bits 3-6 the code, bits 0-2 the length in code units minus one. Its extra
 * bytes (column data, varints) never have bit 7 set, so the next entry starts
 * at the next byte with bit 7 set; only the line delta is decoded here. A
 * truncated entry (extra bytes missing at the end) contributes what it has. */
static int lt_locations(const uint8_t *tab, size_t len, int firstlineno,
			size_t unit)
{
	uint32_t line = (uint32_t)firstlineno;
	size_t addr = 0;
	size_t p = 0;

	while (p < len) {
		uint8_t b = tab[p];
		unsigned code = (b >> 3) & 15;
		size_t n = (size_t)(b & 7) + 1;
		size_t extra = p + 1;
		size_t next = extra;

		while (next < len && !(tab[next] & 0x80))
			next++;
		if (code == LOC_NO_COLUMNS || code == LOC_LONG) {
			uint32_t u = lt_varint(tab, &extra, next);

			line += (u & 1) ? 0u - (u >> 1) : (u >> 1);
		} else if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2) {
			line += code - LOC_ONE_LINE0;
		}
		if (unit - addr < n)
			return code == LOC_NONE ? -1 : lt_int(line);
		addr += n;
		p = next;
	}
	return -1;
}

int linetable_addr2line(enum lt_kind kind, const uint8_t *tab, size_t len,
			int firstlineno, int offset)
{
	if (offset < 0)
		return firstlineno;
	if (!tab)
		len = 0;
	switch (kind) {
	case LT_LNOTAB_U8:
		return lt_lnotab(tab, len, firstlineno, (size_t)offset, 0);
	case LT_LNOTAB_S8:
		return lt_lnotab(tab, len, firstlineno, (size_t)offset, 1);
	case LT_LINETABLE:
		return lt_linetable(tab, len, firstlineno, (size_t)offset);
	case LT_LOCATIONS:
		return lt_locations(tab, len, firstlineno, (size_t)offset / 2);
	}
	return -1;
}
