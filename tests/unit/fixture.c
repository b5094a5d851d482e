/* SPDX-License-Identifier: MIT
 *
 * The remote-heap fixture (see fixture.h): one calloc'ed arena, a bump
 * allocator over it, and a snapshot reader that the built objects are added
 * to, whole (fx_commit) or one object at a time (fx_done).
 */
#include "fixture.h"

#include <stdlib.h>

#include "proc/mem.h"

void fx_init(struct fx *f, unsigned ver, bool ft, bool exact)
{
	bool py2 = ver >> 24 == 2;
	uint8_t *p;

	memset(f, 0, sizeof(*f));
	if (offsets_for_version(ver, ft, &f->L) != 0)
		abort();
	f->m = mem__new_snapshot();
	f->arena = calloc(1, FX_ARENA);
	if (!f->arena)
		abort();
	f->exact = exact;
	f->c.mem = f->m;
	f->c.L = &f->L;
	f->t_none = fx_type(f, "NoneType", 0);
	f->t_bool = fx_type(f, "bool", py2 ? F_INT27 : F_LONG);
	f->t_int = fx_type(f, "int", py2 ? F_INT27 : F_LONG);
	f->t_long = py2 ? fx_type(f, "long", F_LONG) : f->t_int;
	f->t_float = fx_type(f, "float", 0);
	f->t_str = fx_type(f, py2 ? "unicode" : "str", F_UNICODE);
	f->t_bytes = fx_type(f, py2 ? "str" : "bytes", F_BYTES);
	f->t_tuple = fx_type(f, "tuple", F_TUPLE);
	f->t_list = fx_type(f, "list", F_LIST);
	f->t_dict = fx_type(f, "dict", F_DICT);
	f->t_module = fx_type(f, "module", 0);
	f->t_obj = fx_type(f, "Foo", 0);
	f->t_cell = fx_type(f, "cell", 0);
	f->none = fx_obj(f, f->t_none, (size_t)f->L.ob_type + 8, &p);
	fx_done(f, f->none, (size_t)f->L.ob_type + 8);
}

void fx_free(struct fx *f)
{
	mem__free(f->m);
	free(f->arena);
}

uint64_t fx_alloc(struct fx *f, size_t n, uint8_t **p)
{
	f->used = (f->used + 15) & ~(size_t)15;
	if (f->used + n > FX_ARENA)
		abort();
	*p = f->arena + f->used;
	uint64_t addr = FX_BASE + f->used;
	f->used += n;
	return addr;
}

void fx_done(struct fx *f, uint64_t addr, size_t n)
{
	if (f->exact)
		mem__snapshot_add(f->m, addr, f->arena + (addr - FX_BASE), n);
}

void fx_commit(struct fx *f)
{
	if (!f->exact)
		mem__snapshot_add(f->m, FX_BASE, f->arena, f->used);
}

uint64_t fx_cstr(struct fx *f, const char *s)
{
	uint8_t *p;
	size_t n = strlen(s) + 1;
	uint64_t a = fx_alloc(f, n, &p);
	memcpy(p, s, n);
	fx_done(f, a, n);
	return a;
}

uint64_t fx_obj(struct fx *f, uint64_t t, size_t n, uint8_t **p)
{
	uint64_t a = fx_alloc(f, n, p);
	put64(*p, 0, 1);
	put64(*p, f->L.ob_type, t);
	return a;
}

uint64_t fx_type_ex(struct fx *f, const char *name, uint64_t flags, int64_t basicsize,
		    int64_t dictoffset, uint64_t cached_keys)
{
	uint8_t *p;
	uint64_t nm = fx_cstr(f, name);
	size_t n = (size_t)(f->L.ht_cached_keys > f->L.tp_dictoffset ? f->L.ht_cached_keys :
			    f->L.tp_dictoffset) + 8;
	uint64_t a = fx_alloc(f, n, &p);
	put64(p, f->L.tp_name, nm);
	put64(p, f->L.tp_flags, flags);
	put64(p, f->L.tp_basicsize, (uint64_t)basicsize);
	put64(p, f->L.tp_dictoffset, (uint64_t)dictoffset);
	if (f->L.ht_cached_keys >= 0)
		put64(p, f->L.ht_cached_keys, cached_keys);
	fx_done(f, a, n);
	return a;
}

uint64_t fx_type(struct fx *f, const char *name, uint64_t flags)
{
	return fx_type_ex(f, name, flags, 0, 0, 0);
}

uint64_t fx_bytes(struct fx *f, const void *s, size_t n)
{
	uint8_t *p;
	size_t size = (size_t)f->L.bytes_sval + n + 1;
	uint64_t a = fx_obj(f, f->t_bytes, size, &p);
	put64(p, f->L.bytes_size, n);
	memcpy(p + f->L.bytes_sval, s, n);
	fx_done(f, a, size);
	return a;
}

uint64_t fx_tuple(struct fx *f, size_t n, const uint64_t *items)
{
	uint8_t *p;
	size_t size = (size_t)f->L.tuple_item + 8 * n;
	uint64_t a = fx_obj(f, f->t_tuple, size, &p);
	put64(p, f->L.ob_size, n);
	if (n)
		memcpy(p + f->L.tuple_item, items, 8 * n);
	fx_done(f, a, size);
	return a;
}
