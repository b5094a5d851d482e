/* SPDX-License-Identifier: MIT
 *
 * The recorded-sample input form the engine's fuzzers share: "CSPYFZ1\n",
 * a header with the interpreter's version and addresses, then regions of
 * address, length and bytes (tests/tools/pyproc_snapshot writes them; the
 * seeds in fuzz/corpus/ are such). Header-only: each harness is one
 * translation unit of its own.
 */
#ifndef CSPY_FZSNAP_H
#define CSPY_FZSNAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc/mem.h"
#include "python/detect.h"
#include "python/offsets.h"
#include "python/pyproc.h"

#define FZ_MAGIC "CSPYFZ1\n"
#define FZ_HEADER (8 + 4 * 4 + 7 * 8)
#define SNAP_MAGIC_LEN 10       /* "CSPYSNAP1\n" */
#define FZ_MAX_REGIONS 4096

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* A recorded sample: 0 and the target and snapshot, or -1 when the header
 * is not valid. Regions cut short end the list. */
static inline int fzsnap_parse(const uint8_t *data, size_t size, struct py_target *t,
			       struct mem **out)
{
	if (size < FZ_HEADER + SNAP_MAGIC_LEN || memcmp(data, FZ_MAGIC, 8) != 0)
		return -1;
	memset(t, 0, sizeof(*t));
	t->version = get32(data + 8);
	t->free_threaded = get32(data + 12) & 1;
	t->py2_unicode_size = get32(data + 16) == 2 ? 2 : 4;
	const uint8_t *a = data + 24;
	t->runtime = get64(a);
	t->interp_head = get64(a + 8);
	t->tstate_current = get64(a + 16);
	t->none = get64(a + 24);
	t->true_ = get64(a + 32);
	t->false_ = get64(a + 40);
	t->code_type = get64(a + 48);
	struct mem *m = mem__new_snapshot();
	size_t off = FZ_HEADER + SNAP_MAGIC_LEN;
	for (int i = 0; i < FZ_MAX_REGIONS && size - off >= 16; i++) {
		uint64_t addr = get64(data + off), len = get64(data + off + 8);
		off += 16;
		if (len > size - off)
			len = size - off;
		mem__snapshot_add(m, addr, data + off, (size_t)len);
		off += (size_t)len;
	}
	*out = m;
	return 0;
}

/* The engine over a recorded sample with its version's table, or NULL (not
 * that form, or a version without a table). */
static inline struct pyproc *fzsnap_open(const uint8_t *data, size_t size)
{
	struct py_target t;
	struct mem *m;
	if (fzsnap_parse(data, size, &t, &m) != 0)
		return NULL;
	struct py_layout L;
	if (offsets_for_version(t.version, t.free_threaded, &L) != 0) {
		mem__free(m);
		return NULL;
	}
	L.py2_unicode_size = t.py2_unicode_size;
	return pyproc__new_mem(m, 0, &t, &L);
}

#endif
