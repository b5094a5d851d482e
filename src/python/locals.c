/* SPDX-License-Identifier: MIT
 *
 * --locals (see locals.h). The code object is one read (code_read_size
 * bytes), the frame's whole slot array a second; then the name tuples, the
 * kinds bytes (3.11+) or cell2arg map (3.6-3.10), the names themselves and
 * the values' reprs.
 *
 * <= 3.10 (PyFrameObject): slots [0, co_nlocals) are the fast locals named by
 * co_varnames, then one cell per co_cellvars name, then one per co_freevars
 * name. A cell that holds an argument (co_cell2arg in 3.6-3.10; same name as
 * an argument in 2.7) is shown in the argument's place, with the cell's value.
 *
 * 3.11+ (_PyInterpreterFrame): co_nlocalsplus slots named by
 * co_localsplusnames, with a kind byte each in co_localspluskinds. Hidden
 * slots (3.12+ inlined comprehensions) are skipped; cell and free slots are
 * dereferenced when they hold a cell (before the frame's prologue runs they
 * hold the plain value). Slots are masked with stackref_mask (3.14 tags).
 *
 * Arguments come first in both layouts: co_argcount (which includes the
 * positional-only ones since 3.8) + co_kwonlyargcount + *args + **kwargs.
 */
#include "python/locals.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pyobj.h"
#include "python/pyrepr.h"
#include "python/pystr.h"
#include "util/bytes.h"
#include "util/xalloc.h"

#define MAX_LOCALS 512
#define NAME_MAX_LEN 256
#define CO_VARARGS 0x4
#define CO_VARKEYWORDS 0x8
#define CO_FAST_CELL 0x40
#define CO_FAST_FREE 0x80

struct lctx {
	const struct pyctx *c;
	int level;
	uint64_t cell_type;     /* type known to be "cell"; 0 = not met yet */
	struct py_local *v;
	size_t n, cap;
};

static int32_t get_i32(const uint8_t *p, int off)
{
	return off >= 0 ? bytes_i32(p + off) : 0;
}

static uint64_t code_ptr(const uint8_t *p, int off)
{
	return off >= 0 ? bytes_u64(p + off) : 0;
}

static size_t repr_size(int level)
{
	if (level < 1)
		level = 1;
	if (level > 4)
		level = 4;
	return (size_t)1024 << (2 * (level - 1));
}

static void add(struct lctx *x, const char *name, uint64_t value, bool is_arg)
{
	size_t rn = repr_size(x->level);
	char *buf = xmalloc(rn);

	pyrepr_format(x->c, value, x->level, buf, rn);
	x->v = xgrow(x->v, &x->cap, x->n + 1, sizeof(*x->v));
	x->v[x->n].name = xstrdup(name ? name : "?");
	x->v[x->n].repr = xstrdup(buf);
	x->v[x->n].is_arg = is_arg;
	x->v[x->n].addr = value;
	x->n++;
	free(buf);
}

/* Length of a remote tuple (-1 when unreadable or absurd). */
static int64_t tuple_len(const struct pyctx *c, uint64_t tuple)
{
	uint64_t n;
	if (!tuple || mem__read_ptr(c->mem, tuple + (uint64_t)c->L->ob_size, &n) ||
	    (int64_t)n < 0 || n > (1u << 20))
		return -1;
	return (int64_t)n;
}

/* The first n names of a tuple of str into names[] (owned; NULL where
 * unreadable). 0 or -errno. */
static int read_names(const struct pyctx *c, uint64_t tuple, size_t n, char **names)
{
	char buf[NAME_MAX_LEN];
	uint64_t *items;
	int err;

	if (n == 0)
		return 0;
	if (!tuple)
		return -EINVAL;
	items = xmalloc(n * sizeof(*items));
	err = mem__read(c->mem, tuple + (uint64_t)c->L->tuple_item, items, n * sizeof(*items));
	for (size_t i = 0; !err && i < n; i++)
		if (pystr_read(c, items[i], buf, sizeof(buf), NULL) == 0)
			names[i] = xstrdup(buf);
	free(items);
	return err;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* If obj is a cell, *value is its contents (0 = empty) and 1 is returned;
 * 0 if obj is not a cell; -errno. */
static int deref_cell(struct lctx *x, uint64_t obj, uint64_t *value)
{
	const struct py_layout *L = x->c->L;
	uint8_t b[64];
	size_t len = (size_t)L->cell_ref + 8;
	char name[16];
	int err;

	if (L->cell_ref < 0 || len > sizeof(b))
		return -EINVAL;
	err = mem__read(x->c->mem, obj, b, len);
	if (err)
		return err;
	uint64_t type = bytes_u64(b + L->ob_type);
	if (type != x->cell_type) {
		err = pyobj_type_name(x->c, obj, name, sizeof(name));
		if (err)
			return err;
		if (strcmp(name, "cell") != 0)
			return 0;
		x->cell_type = type;
	}
	*value = bytes_u64(b + L->cell_ref);
	return 1;
}

/* <= 3.10: PyFrameObject.f_localsplus. */
static int frameobj_locals(struct lctx *x, uint64_t frame, const uint8_t *co)
{
	const struct pyctx *c = x->c;
	const struct py_layout *L = c->L;
	uint64_t varnames = code_ptr(co, L->co_varnames), cellvars = code_ptr(co, L->co_cellvars);
	uint64_t freevars = code_ptr(co, L->co_freevars), cell2arg = code_ptr(co, L->co_cell2arg);
	int32_t argcount = get_i32(co, L->co_argcount), kwonly = get_i32(co, L->co_kwonlyargcount);
	int32_t nlocals = get_i32(co, L->co_nlocals), flags = get_i32(co, L->co_flags);
	int64_t ncell = cellvars ? tuple_len(c, cellvars) : 0;
	int64_t nfree = freevars ? tuple_len(c, freevars) : 0;
	int64_t nvar = tuple_len(c, varnames);
	char **vn = NULL, **cn = NULL, **fn = NULL;
	uint64_t *slot = NULL;
	int64_t *cell_arg = NULL, *arg_cell = NULL;
	int err = 0;

	if (argcount < 0 || kwonly < 0 || nlocals < 0 || nvar < 0 || ncell < 0 || nfree < 0 ||
	    nlocals > MAX_LOCALS || nvar < nlocals)
		return -EINVAL;
	int64_t nargs = (int64_t)argcount + kwonly + !!(flags & CO_VARARGS) + !!(flags & CO_VARKEYWORDS);
	if (nargs > nlocals)
		nargs = nlocals;
	if (ncell > MAX_LOCALS - nlocals)
		ncell = MAX_LOCALS - nlocals;
	if (nfree > MAX_LOCALS - nlocals - ncell)
		nfree = MAX_LOCALS - nlocals - ncell;
	size_t total = (size_t)(nlocals + ncell + nfree);
	if (total == 0)
		return 0;

	slot = xmalloc(total * sizeof(*slot));
	vn = xcalloc((size_t)nlocals + 1, sizeof(*vn));
	cn = xcalloc((size_t)ncell + 1, sizeof(*cn));
	fn = xcalloc((size_t)nfree + 1, sizeof(*fn));
	cell_arg = xmalloc(((size_t)ncell + 1) * sizeof(*cell_arg));
	arg_cell = xmalloc(((size_t)nlocals + 1) * sizeof(*arg_cell));
	err = mem__read(c->mem, frame + (uint64_t)L->f_localsplus, slot, total * sizeof(*slot));
	if (!err)
		err = read_names(c, varnames, (size_t)nlocals, vn);
	if (!err)
		err = read_names(c, cellvars, (size_t)ncell, cn);
	if (!err)
		err = read_names(c, freevars, (size_t)nfree, fn);
	if (err)
		goto out;

	/* Which cells hold arguments. */
	for (int64_t j = 0; j < ncell; j++)
		cell_arg[j] = -1;
	for (int64_t i = 0; i < nlocals; i++)
		arg_cell[i] = -1;
	if (ncell && L->co_cell2arg >= 0 && cell2arg && (L->cell2arg_size == 1 || L->cell2arg_size == 8)) {
		bool wide = L->cell2arg_size == 8;
		size_t esz = (size_t)L->cell2arg_size;
		uint8_t *map = xmalloc((size_t)ncell * esz);
		if (mem__read(c->mem, cell2arg, map, (size_t)ncell * esz) == 0) {
			for (int64_t j = 0; j < ncell; j++) {
				int64_t a;
				if (wide)
					memcpy(&a, map + j * 8, 8);
				else
					a = map[j] == 255 ? -1 : map[j];
				cell_arg[j] = a;
			}
		}
		free(map);
	} else if (ncell && L->co_cell2arg < 0) {
		/* 2.7: a cell named like an argument holds that argument. */
		for (int64_t j = 0; j < ncell; j++)
			for (int64_t i = 0; cn[j] && i < nargs; i++)
				if (vn[i] && strcmp(cn[j], vn[i]) == 0) {
					cell_arg[j] = i;
					break;
				}
	}
	for (int64_t j = 0; j < ncell; j++) {
		if (cell_arg[j] >= 0 && cell_arg[j] < nargs)
			arg_cell[cell_arg[j]] = j;
		else
			cell_arg[j] = -1;
	}

	for (int64_t i = 0; i < nlocals; i++) {
		uint64_t v = slot[i], cv = 0;
		if (arg_cell[i] >= 0 && slot[nlocals + arg_cell[i]] &&
		    deref_cell(x, slot[nlocals + arg_cell[i]], &cv) == 1 && cv)
			v = cv;
		if (v)
			add(x, vn[i], v, i < nargs);
	}
	for (int64_t j = 0; j < ncell + nfree; j++) {
		uint64_t v = 0;
		if (j < ncell && cell_arg[j] >= 0)
			continue;
		if (!slot[nlocals + j] || deref_cell(x, slot[nlocals + j], &v) != 1 || !v)
			continue;
		add(x, j < ncell ? cn[j] : fn[j - ncell], v, false);
	}
out:
	free(slot);
	free(cell_arg);
	free(arg_cell);
	free_names(vn, (size_t)nlocals);
	free_names(cn, (size_t)ncell);
	free_names(fn, (size_t)nfree);
	return err;
}

/* 3.11+: _PyInterpreterFrame.localsplus. */
static int iframe_locals(struct lctx *x, uint64_t frame, const uint8_t *co)
{
	const struct pyctx *c = x->c;
	const struct py_layout *L = c->L;
	int32_t argcount = get_i32(co, L->co_argcount), kwonly = get_i32(co, L->co_kwonlyargcount);
	int32_t flags = get_i32(co, L->co_flags), nlp = get_i32(co, L->co_nlocalsplus);
	uint64_t names = code_ptr(co, L->co_localsplusnames), kinds = code_ptr(co, L->co_localspluskinds);
	uint8_t kb[MAX_LOCALS] = { 0 };
	uint64_t *slot = NULL;
	char **nm = NULL;
	size_t nk = 0;
	int err;

	if (argcount < 0 || kwonly < 0 || nlp < 0 || L->co_nlocalsplus < 0 || !names || !kinds)
		return -EINVAL;
	size_t n = nlp > MAX_LOCALS ? MAX_LOCALS : (size_t)nlp;
	int64_t ntup = tuple_len(c, names);
	if (ntup < 0)
		return -EINVAL;
	if ((size_t)ntup < n)
		n = (size_t)ntup;
	if (n == 0)
		return 0;
	int64_t nargs = (int64_t)argcount + kwonly + !!(flags & CO_VARARGS) + !!(flags & CO_VARKEYWORDS);

	slot = xmalloc(n * sizeof(*slot));
	nm = xcalloc(n, sizeof(*nm));
	err = mem__read(c->mem, frame + (uint64_t)L->if_localsplus, slot, n * sizeof(*slot));
	if (!err)
		err = pybytes_read(c, kinds, kb, n, &nk);
	if (!err)
		err = read_names(c, names, n, nm);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = slot[i] & L->stackref_mask, cv;
		if ((kb[i] & L->co_fast_hidden) || !v)
			continue;
		if (kb[i] & (CO_FAST_CELL | CO_FAST_FREE)) {
			int r = deref_cell(x, v, &cv);
			if (r == 1 && !cv)
				continue;
			if (r == 1)
				v = cv;
		}
		add(x, nm[i], v, (int64_t)i < nargs);
	}
out:
	free(slot);
	free_names(nm, n);
	return err;
}

int locals_read(const struct pyctx *c, uint64_t frame_addr, uint64_t code_addr, int level,
		struct py_local **out, size_t *n)
{
	const struct py_layout *L = c->L;
	struct lctx x = { .c = c, .level = level };
	uint8_t co[512];
	int err;

	*out = NULL;
	*n = 0;
	if (L->code_read_size <= 0 || (size_t)L->code_read_size > sizeof(co))
		return -EINVAL;
	err = mem__read(c->mem, code_addr, co, (size_t)L->code_read_size);
	if (err)
		return err;
	if (L->family == PY_FAMILY_FRAMEOBJ)
		err = frameobj_locals(&x, frame_addr, co);
	else
		err = iframe_locals(&x, frame_addr, co);
	if (err) {
		locals_free(x.v, x.n);
		return err;
	}
	*out = x.v;
	*n = x.n;
	return 0;
}

void locals_free(struct py_local *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].repr);
	}
	free(v);
}
