/* SPDX-License-Identifier: MIT
 *
 * Remote dicts and instance attributes (see pydict.h).
 *
 * The dict object's head is one read, the keys object's header and, for
 * small dicts, its whole entry table a second one (up to KEYS_SPEC bytes,
 * never past the keys object's first page, where a mapping cannot end
 * early). Larger tables are read CHUNK entries at a time, entries and split
 * values of a chunk in one mem__readv; a walk with a `single` budget reads a
 * chunk that fails again entry by entry and skips what stays unreadable. A
 * lookup by str key also checks each chunk's keys with one mem__readv of
 * their headers (compact ASCII keys compare right there, others through
 * pystr_read), so sys.modules costs a few reads, not one per module.
 * Instance attributes follow the layout's placement of the instance dict or
 * its split values (tp_dictoffset; 3.11 managed values/dict; 3.12 the
 * tagged dict-or-values word; 3.13+ inline values behind the object).
 */
#include "python/pydict.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pyobj.h"
#include "python/pystr.h"
#include "util/bytes.h"
#include "util/xalloc.h"

#define PAGE 4096u
#define KEYS_SPEC 1024          /* keys object header + small tables */
#define MAX_LIVE 100000         /* dict entries passed to a callback */
#define CHUNK 128               /* dict entries per read */

/* A lookup of the str key `key` (klen bytes of UTF-8); value when found. */
struct getstr {
	const struct pyctx *c;
	const char *key;
	size_t klen;
	uint64_t value;
};

/* The state of a dict walk: its budget (shared by nested walks of one repr),
 * and for str-key lookups the key, which lets a chunk's keys be checked
 * with one batched read instead of one read each. */
struct walk {
	struct pydict_budget *b;
	struct getstr *match;
};

/* Compare the keys k[0..n) with the ASCII key of g: verdict 1 equal, 0 not,
 * -1 unknown (not a compact ASCII str, or not fully read): the caller then
 * decides with pystr_read(). One mem__readv for the whole chunk. */
static void match_keys(const struct pyctx *c, const struct getstr *g, const uint64_t *k, size_t n,
		       int8_t *verdict)
{
	const struct py_layout *L = c->L;
	size_t hdr = (size_t)L->uni_ascii_size, want = hdr + g->klen, min = (size_t)L->uni_state + 4;
	struct mem_iov iov[CHUNK];

	memset(verdict, -1, n);
	if (L->str_kind != PY_STR_PEP393 || n == 0)
		return;
	for (size_t i = 0; i < g->klen; i++)
		if ((unsigned char)g->key[i] >= 0x80)
			return;
	uint8_t *buf = xmalloc(n * want);
	for (size_t i = 0; i < n; i++) {
		size_t len = PAGE - (k[i] & (PAGE - 1));
		len = len > want ? want : len < min ? min : len;
		iov[i] = (struct mem_iov){ .addr = k[i], .buf = buf + i * want, .len = len };
	}
	if (mem__readv(c->mem, iov, n) >= 0) {
		for (size_t i = 0; i < n; i++) {
			const uint8_t *b = iov[i].buf;
			if (iov[i].err)
				continue;
			uint64_t len = bytes_u64(b + L->uni_length);
			uint32_t state;
			memcpy(&state, b + L->uni_state, 4);
			bool ascii = ((state >> L->uni_kind_shift) & 7) == 1 &&
				     ((state >> L->uni_compact_bit) & 1) && ((state >> L->uni_ascii_bit) & 1);
			if (!ascii)
				continue;
			if (len != g->klen)
				verdict[i] = 0;
			else if (iov[i].len >= want)
				verdict[i] = memcmp(b + hdr, g->key, g->klen) == 0;
		}
	}
	free(buf);
}

/* An entry table to walk: n entries of esize bytes at `entries`, key and
 * value at koff/voff; values from a separate array when `values` != 0. */
struct etable {
	uint64_t entries;
	size_t n, esize;
	int koff, voff;
	uint64_t values;
	uint64_t pre_addr;      /* bytes already read (may cover the entries) */
	const uint8_t *pre;
	size_t pre_len;
};

/* Read one chunk's entries and/or values (iov, as etable_foreach sets them
 * up); within the budget's `single`, a chunk that cannot be read whole is
 * read again one entry at a time and an entry that still cannot be read is
 * zeroed (skipped as empty).
 * 0 or -errno. */
static int chunk_read(const struct pyctx *c, struct walk *w, struct mem_iov *iov, size_t niov,
		      size_t cnt)
{
	int r = mem__readv(c->mem, iov, niov), err = 0;

	for (size_t i = 0; r >= 0 && i < niov && !err; i++)
		err = iov[i].err;
	if (r >= 0 && !err)
		return 0;
	if (r < 0)
		return r;
	if (w->b->single < cnt)
		return err;
	w->b->single -= cnt;
	for (size_t j = 0; j < niov; j++) {
		if (!iov[j].err)
			continue;
		/* the entries (esize each) or the split values (8 each) */
		size_t each = iov[j].len / cnt;
		uint8_t *b = iov[j].buf;
		for (size_t i = 0; i < cnt; i++)
			if (mem__read(c->mem, iov[j].addr + i * each, b + i * each, each))
				memset(b + i * each, 0, each);
	}
	return 0;
}

static int etable_foreach(const struct pyctx *c, const struct etable *e, struct walk *w,
			  pydict_fn fn, void *arg)
{
	uint8_t eb[CHUNK * 24];
	uint64_t vb[CHUNK], ks[CHUNK], vs[CHUNK];
	int8_t verdict[CHUNK];
	size_t live = 0;

	for (size_t base = 0; base < e->n;) {
		size_t cnt = e->n - base < CHUNK ? e->n - base : CHUNK;
		if (cnt > w->b->scan)
			cnt = w->b->scan;
		if (cnt == 0)
			return 0;
		w->b->scan -= cnt;
		uint64_t at = e->entries + base * e->esize;
		size_t bytes = cnt * e->esize, m = 0;
		const uint8_t *ents = eb;
		struct mem_iov iov[2];
		size_t niov = 0;

		if (e->pre && at >= e->pre_addr && at - e->pre_addr <= e->pre_len &&
		    e->pre_len - (at - e->pre_addr) >= bytes)
			ents = e->pre + (at - e->pre_addr);
		else
			iov[niov++] = (struct mem_iov){ .addr = at, .buf = eb, .len = bytes };
		if (e->values)
			iov[niov++] = (struct mem_iov){ .addr = e->values + base * 8, .buf = vb,
							.len = cnt * 8 };
		if (niov) {
			int r = chunk_read(c, w, iov, niov, cnt);
			if (r < 0)
				return r;
		}
		for (size_t i = 0; i < cnt; i++) {
			const uint8_t *p = ents + i * e->esize;
			ks[m] = bytes_u64(p + e->koff);
			vs[m] = e->values ? vb[i] : bytes_u64(p + e->voff);
			if (ks[m] && vs[m])
				m++;
		}
		if (w->match)
			match_keys(c, w->match, ks, m, verdict);
		else
			memset(verdict, -1, m);
		for (size_t j = 0; j < m; j++) {
			if (live++ == MAX_LIVE)
				return 0;
			if (verdict[j] == 0)
				continue;
			if (verdict[j] == 1) {
				w->match->value = vs[j];
				return 1;
			}
			int rc = fn(ks[j], vs[j], arg);
			if (rc)
				return rc;
		}
		base += cnt;
	}
	return 0;
}

/* Walk the keys object at `keys` (3.6+), values from the split values array
 * `values` (0: in the entries), at most vmax of them. */
static int keys_foreach(const struct pyctx *c, uint64_t keys, uint64_t values, size_t vmax,
			struct walk *w, pydict_fn fn, void *arg)
{
	const struct py_layout *L = c->L;
	uint8_t kb[KEYS_SPEC];
	struct etable e = { 0 };
	int64_t nent;
	long got;

	if (L->dk_nentries < 0 || L->dk_indices < 0)
		return -EINVAL;
	got = mem__read_upto(c->mem, keys, kb, (size_t)L->dk_indices, sizeof(kb));
	if (got < 0)
		return (int)got;
	nent = (int64_t)bytes_u64(kb + L->dk_nentries);
	if (nent == 0)
		return 0;
	if (L->dict_kind == PY_DICT_36) {
		int64_t size = (int64_t)bytes_u64(kb + L->dk_size);
		if (size < 8 || size > (1l << 30) || (size & (size - 1)) || nent < 0 || nent > size)
			return -EINVAL;
		size_t ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		e.entries = keys + (uint64_t)L->dk_indices + (uint64_t)size * ix;
		e.esize = 24;
		e.koff = 8;
		e.voff = 16;
	} else {
		unsigned ls = kb[L->dk_log2_size], ib = kb[L->dk_log2_index_bytes], kind = kb[L->dk_kind];
		if (ls > 30 || ib < ls || ib > ls + 3 || kind > 2 || nent < 0 || nent > (1l << ls))
			return -EINVAL;
		e.entries = keys + (uint64_t)L->dk_indices + (1ull << ib);
		e.esize = kind == 0 ? 24 : 16;
		e.koff = kind == 0 ? 8 : 0;
		e.voff = e.koff + 8;
	}
	e.n = (size_t)nent < PYDICT_MAX_SCAN ? (size_t)nent : PYDICT_MAX_SCAN;
	if (values && e.n > vmax)
		e.n = vmax;
	e.values = values;
	e.pre_addr = keys;
	e.pre = kb;
	e.pre_len = (size_t)got;
	return etable_foreach(c, &e, w, fn, arg);
}

/* A walk of the dict object at `dict` (every layout). */
static int dict_walk(const struct pyctx *c, uint64_t dict, struct walk *w, pydict_fn fn, void *arg)
{
	const struct py_layout *L = c->L;
	struct pyobj_head h;
	uint64_t used, vals;
	int err;

	err = pyobj_head_read(c, dict, &h);
	if (!err)
		err = pyobj_head_u64(c, &h, L->ma_used, &used);
	if (err)
		return err;
	if ((int64_t)used <= 0)
		return 0;
	if (L->dict_kind == PY_DICT_27) {
		uint64_t mask, table;
		err = pyobj_head_u64(c, &h, L->ma_mask27, &mask);
		if (!err)
			err = pyobj_head_u64(c, &h, L->ma_table27, &table);
		if (err)
			return err;
		if (mask >= (1ull << 30) || ((mask + 1) & mask) || !table)
			return -EINVAL;
		struct etable e = {
			.entries = table, .n = mask + 1 < PYDICT_MAX_SCAN ? (size_t)mask + 1 : PYDICT_MAX_SCAN,
			.esize = 24, .koff = 8, .voff = 16,
			.pre_addr = dict, .pre = h.b, .pre_len = h.len,
		};
		return etable_foreach(c, &e, w, fn, arg);
	}
	uint64_t keys;
	err = pyobj_head_u64(c, &h, L->ma_keys, &keys);
	if (!err)
		err = pyobj_head_u64(c, &h, L->ma_values, &vals);
	if (err)
		return err;
	if (!keys)
		return -EINVAL;
	return keys_foreach(c, keys, vals ? vals + (uint64_t)L->dict_values_prefix : 0, SIZE_MAX, w,
			    fn, arg);
}

int pydict_foreach(const struct pyctx *c, uint64_t dict, pydict_fn fn, void *arg)
{
	struct pydict_budget b = { PYDICT_MAX_SCAN, 0 };
	return pydict_walk(c, dict, &b, fn, arg);
}

int pydict_walk(const struct pyctx *c, uint64_t dict, struct pydict_budget *b, pydict_fn fn,
		void *arg)
{
	struct walk w = { b, NULL };
	return dict_walk(c, dict, &w, fn, arg);
}

static int getstr_cb(uint64_t key, uint64_t value, void *arg)
{
	struct getstr *g = arg;
	char buf[256];
	bool cut;

	if (pystr_read(g->c, key, buf, g->klen + 2, &cut) == 0 && !cut &&
	    strcmp(buf, g->key) == 0) {
		g->value = value;
		return 1;
	}
	return 0;
}

/* Lookup by walking: rc of the walk (1 found, 0 not, -errno). */
static int getstr_result(int rc, const struct getstr *g, uint64_t *value)
{
	if (rc == 1) {
		*value = g->value;
		return 0;
	}
	return rc < 0 ? rc : -ENOENT;
}

int pydict_get_str(const struct pyctx *c, uint64_t dict, const char *key, uint64_t *value)
{
	struct getstr g = { c, key, strlen(key), 0 };
	struct pydict_budget b = { PYDICT_MAX_SCAN, 0 };
	struct walk w = { &b, &g };
	if (g.klen + 2 > 256)
		return -EINVAL;
	return getstr_result(dict_walk(c, dict, &w, getstr_cb, &g), &g, value);
}

/* Lookup in split values: keys shared by the type, values of the instance. */
static int values_get_str(const struct pyctx *c, uint64_t type, uint64_t values, size_t vmax,
			  const char *name, uint64_t *value)
{
	struct getstr g = { c, name, strlen(name), 0 };
	uint64_t keys;
	int err;

	if (g.klen + 2 > 256 || c->L->ht_cached_keys < 0)
		return -EINVAL;
	err = mem__read_ptr(c->mem, type + (uint64_t)c->L->ht_cached_keys, &keys);
	if (err)
		return err;
	if (!keys)
		return -ENOENT;
	struct pydict_budget b = { PYDICT_MAX_SCAN, 0 };
	struct walk w = { &b, &g };
	return getstr_result(keys_foreach(c, keys, values, vmax, &w, getstr_cb, &g), &g, value);
}

/* The pointer at obj + off (off < 0), from pre (read from obj + lo) if given. */
static int pre_word(const struct pyctx *c, uint64_t obj, const uint8_t *pre, int lo, int off,
		    uint64_t *w)
{
	if (pre) {
		*w = bytes_u64(pre + (off - lo));
		return 0;
	}
	return mem__read_ptr(c->mem, obj - (uint64_t)(-(int64_t)off), w);
}

int pydict_getattr(const struct pyctx *c, uint64_t obj, const char *name, uint64_t *value)
{
	const struct py_layout *L = c->L;
	struct pyobj_type t;
	uint8_t pre[64];
	uint64_t dict = 0, w, type;
	int err;

	/* 3.11+: the managed dict/values words sit just before the object; read
	 * them with its header when that memory is readable. */
	int lo = L->managed_values_off < L->managed_dict_off ? L->managed_values_off :
		 L->managed_dict_off;
	size_t span = (size_t)(-lo) + (size_t)L->ob_type + 8;
	bool have_pre = lo < 0 && span <= sizeof(pre) &&
			mem__read(c->mem, obj - (uint64_t)(-lo), pre, span) == 0;
	if (have_pre)
		type = bytes_u64(pre + (-lo) + L->ob_type);
	else if ((err = mem__read_ptr(c->mem, obj + (uint64_t)L->ob_type, &type)))
		return err;
	err = pyobj_type_load(c, type, &t);
	if (err)
		return err;

	if (L->tpflags_managed_dict && (t.flags & L->tpflags_managed_dict)) {
		if (L->tpflags_inline_values && (t.flags & L->tpflags_inline_values)) {
			/* 3.13+: PyDictValues {capacity, size, embedded, valid, values[]}
			 * right behind the object. */
			uint8_t vh[8];
			if (t.basicsize <= 0 || t.basicsize > (1 << 20))
				return -EINVAL;
			uint64_t vals = obj + (uint64_t)t.basicsize;
			err = mem__read(c->mem, vals, vh, sizeof(vh));
			if (err)
				return err;
			if (vh[3])
				return values_get_str(c, type, vals + (uint64_t)L->dict_values_prefix,
						      vh[0], name, value);
		}
		if (L->managed_values_off) {
			/* 3.11: a values pointer, else the dict pointer. */
			err = pre_word(c, obj, have_pre ? pre : NULL, lo, L->managed_values_off, &w);
			if (err)
				return err;
			if (w)
				return values_get_str(c, type, w, SIZE_MAX, name, value);
		}
		err = pre_word(c, obj, have_pre ? pre : NULL, lo, L->managed_dict_off, &w);
		if (err)
			return err;
		/* 3.12: the word is a dict, or (bit 0 set) values - 1. */
		if (L->managed_dict_tagged && (w & 1))
			return values_get_str(c, type, w + 1, SIZE_MAX, name, value);
		dict = w;
	} else if (t.kind == PYOBJ_INSTANCE27) {
		/* 2.7 old-style instance: in_class, in_dict after the header. */
		err = mem__read_ptr(c->mem, obj + (uint64_t)L->ob_type + 16, &dict);
		if (err)
			return err;
	} else if (t.dictoffset > 0 && t.dictoffset < (1 << 20)) {
		err = mem__read_ptr(c->mem, obj + (uint64_t)t.dictoffset, &dict);
		if (err)
			return err;
	}
	if (!dict)
		return -ENOENT;
	return pydict_get_str(c, dict, name, value);
}
