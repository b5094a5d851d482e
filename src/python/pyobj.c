/* SPDX-License-Identifier: MIT
 *
 * Remote Python objects: types, object heads, ints (see pyobj.h).
 *
 * A type is recognised by its tp_name together with the tp_flags subclass
 * bit of the layout the name promises, so a user class that happens to be
 * called "dict" is not read as one. One read fetches a type's fields (name
 * pointer, basic size, flags, dict offset), a second its name. An object's
 * head is read up to PYOBJ_HEAD_SPEC bytes but never past its page, where a
 * mapping could end; a field beyond what was read costs one more read.
 */
#include "python/pyobj.h"

#include <errno.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "util/bytes.h"

/* tp_flags subclass bits (2.7 and 3.x agree). */
#define TPF_INT27 (1ul << 23)
#define TPF_LONG (1ul << 24)
#define TPF_LIST (1ul << 25)
#define TPF_TUPLE (1ul << 26)
#define TPF_BYTES (1ul << 27)
#define TPF_UNICODE (1ul << 28)
#define TPF_DICT (1ul << 29)

int pyobj_head_read(const struct pyctx *c, uint64_t addr, struct pyobj_head *h)
{
	long got = mem__read_upto(c->mem, addr, h->b, (size_t)c->L->ob_type + 8, sizeof(h->b));
	if (got < 0)
		return (int)got;
	h->addr = addr;
	h->len = (size_t)got;
	return 0;
}

int pyobj_head_get(const struct pyctx *c, const struct pyobj_head *h, size_t off, void *dst,
		   size_t len)
{
	if (off <= h->len && h->len - off >= len) {
		memcpy(dst, h->b + off, len);
		return 0;
	}
	return mem__read(c->mem, h->addr + off, dst, len);
}

int pyobj_head_u64(const struct pyctx *c, const struct pyobj_head *h, int off, uint64_t *v)
{
	if (off < 0)
		return -EINVAL;
	return pyobj_head_get(c, h, (size_t)off, v, 8);
}

static enum pyobj_kind classify(const struct py_layout *L, const struct pyobj_type *t)
{
	const char *n = t->name;
	unsigned long f = t->flags;
	bool py2 = L->str_kind == PY_STR_PY2;

	if (!strcmp(n, "NoneType"))
		return PYOBJ_NONE;
	if (!strcmp(n, "bool"))
		return PYOBJ_BOOL;
	if (!strcmp(n, "float"))
		return PYOBJ_FLOAT;
	if (!strcmp(n, "int"))
		return py2 ? (f & TPF_INT27 ? PYOBJ_INT27 : PYOBJ_OTHER) :
			     (f & TPF_LONG ? PYOBJ_LONG : PYOBJ_OTHER);
	if (py2 && !strcmp(n, "long"))
		return f & TPF_LONG ? PYOBJ_LONG : PYOBJ_OTHER;
	if (!strcmp(n, "str"))
		return py2 ? (f & TPF_BYTES ? PYOBJ_BYTES : PYOBJ_OTHER) :
			     (f & TPF_UNICODE ? PYOBJ_STR : PYOBJ_OTHER);
	if (py2 && !strcmp(n, "unicode"))
		return f & TPF_UNICODE ? PYOBJ_STR : PYOBJ_OTHER;
	if (!py2 && !strcmp(n, "bytes"))
		return f & TPF_BYTES ? PYOBJ_BYTES : PYOBJ_OTHER;
	if (!strcmp(n, "tuple"))
		return f & TPF_TUPLE ? PYOBJ_TUPLE : PYOBJ_OTHER;
	if (!strcmp(n, "list"))
		return f & TPF_LIST ? PYOBJ_LIST : PYOBJ_OTHER;
	if (!strcmp(n, "dict"))
		return f & TPF_DICT ? PYOBJ_DICT : PYOBJ_OTHER;
	if (py2 && !strcmp(n, "instance"))
		return PYOBJ_INSTANCE27;
	return PYOBJ_OTHER;
}

/* Read the type object at addr: its fields, and its name. */
int pyobj_type_load(const struct pyctx *c, uint64_t addr, struct pyobj_type *t)
{
	const struct py_layout *L = c->L;
	uint8_t b[512];
	size_t len = (size_t)L->tp_dictoffset + 8;
	int err;

	memset(t, 0, sizeof(*t));
	if (len > sizeof(b) || L->tp_flags < 0 || L->tp_basicsize < 0 || L->tp_name < 0)
		return -EINVAL;
	if (addr == 0)
		return -EFAULT;
	err = mem__read(c->mem, addr, b, len);
	if (err)
		return err;
	t->addr = addr;
	t->flags = (unsigned long)bytes_u64(b + L->tp_flags);
	t->basicsize = (int64_t)bytes_u64(b + L->tp_basicsize);
	t->dictoffset = (int64_t)bytes_u64(b + L->tp_dictoffset);
	err = mem__read_cstr(c->mem, bytes_u64(b + L->tp_name), t->name, sizeof(t->name));
	if (err)
		return err;
	t->kind = classify(L, t);
	return 0;
}

int pyobj_type_name(const struct pyctx *c, uint64_t obj, char *buf, size_t n)
{
	const struct py_layout *L = c->L;
	uint64_t type, name;
	int err;

	if (n == 0)
		return -EINVAL;
	buf[0] = '\0';
	err = mem__read_ptr(c->mem, obj + (uint64_t)L->ob_type, &type);
	if (!err)
		err = mem__read_ptr(c->mem, type + (uint64_t)L->tp_name, &name);
	if (!err)
		err = mem__read_cstr(c->mem, name, buf, n);
	return err;
}

/* ---- ints ---- */

/* Sign and 30-bit digits of a PyLongObject (2.7 long, 3.x int). At most max
 * digits; more gives -ERANGE. */
int pyobj_long_digits(const struct pyctx *c, const struct pyobj_head *h, uint32_t *d, size_t max,
		      size_t *nd, bool *neg)
{
	const struct py_layout *L = c->L;
	uint64_t w;
	int err;

	if (L->long_tag >= 0) {
		err = pyobj_head_u64(c, h, L->long_tag, &w);
		if (err)
			return err;
		unsigned sign = w & 3;
		if (sign == 3)
			return -EINVAL;
		*neg = sign == 2;
		*nd = sign == 1 ? 0 : (size_t)(w >> 3);
	} else {
		err = pyobj_head_u64(c, h, L->long_size, &w);
		if (err)
			return err;
		int64_t s = (int64_t)w;
		*neg = s < 0;
		*nd = s < 0 ? (size_t)(-(uint64_t)s) : (size_t)s;
	}
	if (*nd > max)
		return -ERANGE;
	if (*nd == 0)
		return 0;
	err = pyobj_head_get(c, h, (size_t)L->long_digit, d, *nd * 4);
	if (err)
		return err;
	for (size_t i = 0; i < *nd; i++)
		d[i] &= (1u << 30) - 1;
	return 0;
}

/* The value of an int-like object (kind INT27, LONG or BOOL) as int64. */
int pyobj_int_value(const struct pyctx *c, const struct pyobj_head *h, enum pyobj_kind k,
		    int64_t *out)
{
	const struct py_layout *L = c->L;
	uint32_t d[4];
	size_t nd;
	bool neg;
	uint64_t v = 0;
	int err;

	if (k == PYOBJ_INT27 || (k == PYOBJ_BOOL && L->str_kind == PY_STR_PY2)) {
		err = pyobj_head_u64(c, h, L->int_ival, &v);
		*out = (int64_t)v;
		return err;
	}
	err = pyobj_long_digits(c, h, d, 3, &nd, &neg);
	if (err)
		return err;
	if (nd == 3 && d[2] >= 16)
		return -ERANGE;
	v = 0;
	for (size_t i = nd; i-- > 0;)
		v = (v << 30) | d[i];
	if (!neg && v > (uint64_t)INT64_MAX)
		return -ERANGE;
	if (neg && v > (uint64_t)INT64_MAX + 1)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int pyobj_as_int64(const struct pyctx *c, uint64_t obj, int64_t *out)
{
	struct pyobj_head h;
	struct pyobj_type t;
	int err = pyobj_head_read(c, obj, &h);
	if (!err)
		err = pyobj_type_load(c, bytes_u64(h.b + c->L->ob_type), &t);
	if (err)
		return err;
	if (t.kind != PYOBJ_INT27 && t.kind != PYOBJ_LONG && t.kind != PYOBJ_BOOL)
		return -EINVAL;
	return pyobj_int_value(c, &h, t.kind, out);
}
