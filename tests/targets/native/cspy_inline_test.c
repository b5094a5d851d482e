/* SPDX-License-Identifier: MIT
 *
 * A shared library for the --native inline check (tests/e2e/native.py:
 * inline), loaded with ctypes by inline_target.py and built -O2 -g: the
 * static inline function inner_work is inlined into outer_spin (forced), so
 * no symbol and no frame of its own exist for it, only DWARF's inlined
 * scope. The runner finds the lines by their CSPY_* markers.
 */
#include <stdint.h>

static volatile uint64_t sink;

static inline __attribute__((always_inline)) uint64_t inner_work(uint64_t n)
{                                                       /* CSPY_INNER_FIRST */
	uint64_t x = 0;
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ull + i;
	return x;
}                                                       /* CSPY_INNER_LAST */

__attribute__((noinline)) void outer_spin(void)
{
	for (;;)
		sink = inner_work(1000000);             /* CSPY_OUTER_CALL */
}
