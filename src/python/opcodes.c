/* SPDX-License-Identifier: MIT
 *
 * The call-family opcodes of each minor version (see opcodes.h), one
 * 256-bit set each. Every row is the output of tools/opcode_calls.py run by
 * that interpreter (the opcode numbers in the comment); free-threaded and
 * debug builds share their minor's numbers (3.14, 3.14t and 3.14d print
 * the same row). 3.15 is an alpha: its numbers may still move, and the row
 * is the one of the interpreter the tests run.
 */
#include "python/opcodes.h"

#include <stddef.h>
#include <stdint.h>

struct opcode_row {
	unsigned minor;         /* 0x30c: 3.12 */
	uint64_t call[4];
};

static const struct opcode_row rows[] = {
	{ 0x207, { 0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000007008ull, 0x0000000000000000ull } },	/* 131 140 141 142 */
	{ 0x306, { 0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000006008ull, 0x0000000000000000ull } },	/* 131 141 142 */
	{ 0x307, { 0x0000000000000000ull, 0x0000000000000000ull, 0x0000000200006008ull, 0x0000000000000000ull } },	/* 131 141 142 161 */
	{ 0x308, { 0x0000000000000000ull, 0x0000000000000000ull, 0x0000000200006008ull, 0x0000000000000000ull } },	/* 131 141 142 161 */
	{ 0x309, { 0x0000000000000000ull, 0x0000000000000000ull, 0x0000000200006008ull, 0x0000000000000000ull } },	/* 131 141 142 161 */
	{ 0x30a, { 0x0000000000000000ull, 0x0000000000000000ull, 0x0000000200006008ull, 0x0000000000000000ull } },	/* 131 141 142 161 */
	{ 0x30b, { 0x0000000000400000ull, 0x820200000003f30dull, 0x0000084000006000ull, 0x0000000000000000ull } },	/* 22 64 66 67 72 73 76 77 78 79 80 81 113 121 127 141 142 166 171 */
	{ 0x30c, { 0x0101ffc420000000ull, 0x0000000000000000ull, 0x0000680000004000ull, 0x0012000000000000ull } },	/* 29 34 38 39 40 41 42 43 44 45 46 47 48 56 142 171 173 174 241 244 */
	{ 0x30d, { 0x03e0000000000000ull, 0x0000000000000000ull, 0x0038ffe400000000ull, 0x0070000000000000ull } },	/* 53 54 55 56 57 162 165 166 167 168 169 170 171 172 173 174 175 179 180 181 244 245 246 */
	{ 0x30e, { 0x00f0000000000010ull, 0x0000000000000000ull, 0x00000038ff7c8000ull, 0x1c00000000000000ull } },	/* 4 52 53 54 55 143 146 147 148 149 150 152 153 154 155 156 157 158 159 163 164 165 250 251 252 */
	{ 0x30f, { 0x003c000000000010ull, 0x0000000000000000ull, 0x000001c7fb790000ull, 0x0e00000000000000ull } },	/* 4 50 51 52 53 144 147 148 149 150 152 153 155 156 157 158 159 160 161 162 166 167 168 249 250 251 */
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const struct opcode_row *row_of(unsigned version, bool exact)
{
	unsigned minor = (version >> 16) & 0xffff;
	for (size_t i = 0; i < NROWS; i++)
		if (rows[i].minor == minor)
			return &rows[i];
	if (!exact && minor > rows[NROWS - 1].minor && (minor >> 8) == 3)
		return &rows[NROWS - 1];
	return NULL;
}

bool opcodes_is_call(unsigned version, int opcode)
{
	const struct opcode_row *r = row_of(version, false);
	if (!r || opcode < 0 || opcode > 255)
		return false;
	return (r->call[opcode / 64] >> (opcode % 64)) & 1;
}

bool opcodes_known(unsigned version)
{
	return row_of(version, true) != NULL;
}
