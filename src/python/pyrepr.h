/* SPDX-License-Identifier: MIT
 *
 * Bounded reprs of remote Python objects, for --locals: what Python's
 * repr() would print for None, bools, ints, floats, str and bytes, tuples,
 * lists and dicts, within limits on elements, string lengths and nesting,
 * into a bounded buffer.
 */
#ifndef CSPY_PYREPR_H
#define CSPY_PYREPR_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;

/* A bounded repr of obj into buf (always NUL-terminated): None, True/False,
 * int (any size; very long ones abbreviated), float, str and bytes (quoted,
 * escaped, truncated), tuple, list, dict (first elements, nested up to a
 * depth); anything else "<typename at 0x...>". level 1 = short (py-spy's
 * default), 2+ = longer strings/containers. Never fails: unreadable memory
 * gives "<unreadable at 0x...>". */
void pyrepr_format(const struct pyctx *c, uint64_t obj, int level, char *buf, size_t n);

#endif
