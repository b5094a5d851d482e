/* SPDX-License-Identifier: MIT
 *
 * Line-number decoding for every CPython line-table format, pure functions
 * over a copy of the table's bytes (no remote reads), unit-tested against the
 * interpreters themselves and fuzzed:
 *   LT_LNOTAB_U8   2.7       co_lnotab, unsigned line increments
 *   LT_LNOTAB_S8   3.6-3.9   co_lnotab, signed (int8) line increments
 *   LT_LINETABLE   3.10      co_linetable, PEP 626 (sdelta u8, ldelta int8; -128 = none)
 *   LT_LOCATIONS   3.11+     co_linetable location table (varint entries)
 * Every decoder is bounded by len and never reads past it.
 */
#ifndef CSPY_LINETABLE_H
#define CSPY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

enum lt_kind {
	LT_LNOTAB_U8,
	LT_LNOTAB_S8,
	LT_LINETABLE,
	LT_LOCATIONS,
};

/* Line for a byte offset into the bytecode.
 * offset: byte offset of the instruction (LT_LNOTAB_*: f_lasti, may be -1;
 * LT_LINETABLE: 2*f_lasti; LT_LOCATIONS: 2*code-unit index). A negative offset
 * returns firstlineno. Returns the line, or -1 when the instruction has no
 * line (3.10 "-128", 3.11+ NONE entries, offset past the table). */
int linetable_addr2line(enum lt_kind kind, const uint8_t *tab, size_t len,
			int firstlineno, int offset);

#endif
