/* SPDX-License-Identifier: MIT
 *
 * The remote-heap fixture of the unit tests that decode Python objects
 * (test_pyobj, test_pystr, test_locals): objects are built by hand in a
 * local arena that stands for the target's memory at FX_BASE, with the
 * offsets of one version's layout, and read back through a snapshot reader
 * (proc/mem.h) as cspy reads a live process.
 *
 * Two ways to publish what was built: with exact = false, fx_commit() adds
 * the whole arena as one region (reads past an object's end succeed, as in a
 * real heap); with exact = true, every object is its own region, added by
 * fx_done() when it is complete (a read past its end fails: how the readers'
 * speculative reads and their fallbacks are tested). A builder calls
 * fx_done() on each object it makes, whatever the mode.
 *
 * fx_init() makes the type objects every test needs (their tp_name and
 * tp_flags as the interpreter has them) and None. Builders of values whose
 * shape differs per test (ints, strs, frames, dicts) stay in the tests.
 */
#ifndef CSPY_TEST_FIXTURE_H
#define CSPY_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "python/offsets.h"
#include "python/pyctx.h"

#define FX_BASE 0x7f3400000000ull
#define FX_ARENA (4u << 20)

/* tp_flags bits the readers test. */
#define F_INT27 (1ul << 23)
#define F_LONG (1ul << 24)
#define F_LIST (1ul << 25)
#define F_TUPLE (1ul << 26)
#define F_BYTES (1ul << 27)
#define F_UNICODE (1ul << 28)
#define F_DICT (1ul << 29)

struct fx {
	struct py_layout L;
	struct pyctx c;         /* c.mem = m, c.L = &L */
	struct mem *m;          /* the snapshot reader */
	uint8_t *arena;         /* FX_ARENA bytes standing for FX_BASE... */
	size_t used;
	bool exact;
	/* Types: 2.7's str is t_bytes (named "str"), its unicode t_str (named
	 * "unicode"), its long t_long; on 3.x t_long is t_int. t_obj: a class
	 * "Foo". */
	uint64_t t_none, t_bool, t_int, t_long, t_float, t_str, t_bytes, t_tuple, t_list;
	uint64_t t_dict, t_module, t_obj, t_cell;
	uint64_t none;
};

static inline void put64(uint8_t *p, int off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static inline void put32(uint8_t *p, int off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

/* The layout of version ver (PY_VERSION_HEX; ft: free-threaded), an empty
 * snapshot, the types and None. Aborts when there is no such layout. */
void fx_init(struct fx *f, unsigned ver, bool ft, bool exact);
void fx_free(struct fx *f);
/* Reserve n bytes (16-aligned, zeroed); *p points at them in the arena.
 * Returns their remote address. Aborts when the arena is full. */
uint64_t fx_alloc(struct fx *f, size_t n, uint8_t **p);
/* The object at addr (n bytes) is complete (exact mode: publish it). */
void fx_done(struct fx *f, uint64_t addr, size_t n);
/* Publish everything built so far (one-region mode). */
void fx_commit(struct fx *f);

/* A NUL-terminated C string. */
uint64_t fx_cstr(struct fx *f, const char *s);
/* A bare object of n bytes of type t (refcount 1); the caller fills the rest
 * and calls fx_done(). */
uint64_t fx_obj(struct fx *f, uint64_t t, size_t n, uint8_t **p);
/* A type object with tp_name, tp_flags, tp_basicsize, tp_dictoffset and
 * (where the layout has it) ht_cached_keys; fx_type: the last three 0. */
uint64_t fx_type_ex(struct fx *f, const char *name, uint64_t flags, int64_t basicsize,
		    int64_t dictoffset, uint64_t cached_keys);
uint64_t fx_type(struct fx *f, const char *name, uint64_t flags);
/* A bytes object (2.7: a str) of n bytes. */
uint64_t fx_bytes(struct fx *f, const void *s, size_t n);
/* A tuple of n items (addresses). */
uint64_t fx_tuple(struct fx *f, size_t n, const uint64_t *items);

#endif
