/* SPDX-License-Identifier: MIT
 *
 * struct pyctx: what every remote-object decoder needs, as plain data: the
 * memory reader, the target's layout, and the addresses of a few well-known
 * objects. Built once per attached process (python/pyproc.c); borrowed by
 * everything else.
 */
#ifndef CSPY_PYCTX_H
#define CSPY_PYCTX_H

#include <stdint.h>

struct mem;
struct py_layout;

struct pyctx {
	struct mem *mem;
	const struct py_layout *L;
	uint64_t none_addr, true_addr, false_addr;   /* _Py_NoneStruct, _Py_TrueStruct, _Py_FalseStruct; 0 if unknown */
	uint64_t code_type;                          /* &PyCode_Type; 0 if unknown */
};

#endif
