/* SPDX-License-Identifier: MIT
 *
 * --locals: the arguments and local variables of one frame, as name/repr
 * pairs. Works on both frame layout families: a PyFrameObject (<= 3.10:
 * f_localsplus, co_varnames, cells, co_cell2arg) or a _PyInterpreterFrame
 * (3.11+: localsplus, co_localsplusnames/kinds, hidden slots, tagged
 * _PyStackRef on 3.14). Unbound slots are omitted.
 */
#ifndef CSPY_LOCALS_H
#define CSPY_LOCALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pyctx;

struct py_local {
	char *name;     /* owned, UTF-8 */
	char *repr;     /* owned, bounded (pyrepr_format) */
	bool is_arg;
	uint64_t addr;  /* the object's address (its id()) */
};

/* Read the locals of the frame at frame_addr executing code_addr. At most
 * 512 variables. Returns 0 and *out (free with locals_free), or -errno. */
int locals_read(const struct pyctx *c, uint64_t frame_addr, uint64_t code_addr, int level,
		struct py_local **out, size_t *n);
void locals_free(struct py_local *v, size_t n);

#endif
