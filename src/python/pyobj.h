/* SPDX-License-Identifier: MIT
 *
 * Remote Python objects: what the other object readers (pydict, pyrepr,
 * pythread) build on. Type objects (name, flags, sizes) and the kind of
 * object a type promises; the first bytes of an object read once and
 * served from there; ints of every layout (2.7 int and long, 3.x int with
 * ob_size or lv_tag). Everything goes through the memory reader; every
 * length read from the target is bounded.
 */
#ifndef CSPY_PYOBJ_H
#define CSPY_PYOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pyctx;

/* The kinds of object the readers tell apart: a tp_name together with the
 * tp_flags subclass bit that the name promises ("tuple" needs
 * Py_TPFLAGS_TUPLE_SUBCLASS and so on), so a user class called "dict" is
 * PYOBJ_OTHER. INT27 is 2.7's int, LONG 2.7's long and 3.x's int,
 * INSTANCE27 a 2.7 old-style instance. */
enum pyobj_kind {
	PYOBJ_OTHER, PYOBJ_NONE, PYOBJ_BOOL, PYOBJ_INT27, PYOBJ_LONG, PYOBJ_FLOAT, PYOBJ_STR,
	PYOBJ_BYTES, PYOBJ_TUPLE, PYOBJ_LIST, PYOBJ_DICT, PYOBJ_INSTANCE27,
};

/* A type object as the readers need it. */
struct pyobj_type {
	uint64_t addr;
	unsigned long flags;
	int64_t basicsize, dictoffset;
	enum pyobj_kind kind;
	char name[64];
};

/* Read the type object at addr: its fields (one read) and its name (a
 * second). 0 or -errno (-EFAULT for addr 0). */
int pyobj_type_load(const struct pyctx *c, uint64_t addr, struct pyobj_type *t);

/* tp_name of obj's type into buf. 0 or -errno. */
int pyobj_type_name(const struct pyctx *c, uint64_t obj, char *buf, size_t n);

#define PYOBJ_HEAD_SPEC 128

/* The first bytes of an object (at least its header, up to
 * PYOBJ_HEAD_SPEC, never past its page), read once; fields beyond them are
 * read on demand. */
struct pyobj_head {
	uint64_t addr;
	size_t len;
	uint8_t b[PYOBJ_HEAD_SPEC];
};

/* Read the head of the object at addr. 0 or -errno. */
int pyobj_head_read(const struct pyctx *c, uint64_t addr, struct pyobj_head *h);
/* Copy len bytes at obj + off into dst, from the head when it holds them.
 * 0 or -errno. */
int pyobj_head_get(const struct pyctx *c, const struct pyobj_head *h, size_t off, void *dst,
		   size_t len);
/* The u64 at obj + off; -EINVAL for off < 0 (a field the layout lacks). */
int pyobj_head_u64(const struct pyctx *c, const struct pyobj_head *h, int off, uint64_t *v);

/* Sign and 30-bit digits of a PyLongObject (2.7 long, 3.x int) whose head
 * is h, into d[0..*nd). At most max digits; more gives -ERANGE. 0 or -errno. */
int pyobj_long_digits(const struct pyctx *c, const struct pyobj_head *h, uint32_t *d, size_t max,
		      size_t *nd, bool *neg);

/* The value of an int-like object (kind INT27, LONG or BOOL) whose head is
 * h. 0, -ERANGE (does not fit in int64), -errno. */
int pyobj_int_value(const struct pyctx *c, const struct pyobj_head *h, enum pyobj_kind k,
		    int64_t *out);

/* Value of a Python int (2.7 int or long; 3.x int) that fits in int64. 0,
 * -ERANGE (too big), -EINVAL (not an int), -errno. */
int pyobj_as_int64(const struct pyctx *c, uint64_t obj, int64_t *out);

#endif
