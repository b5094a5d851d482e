/* SPDX-License-Identifier: MIT
 *
 * A small hash index: it maps 64-bit hashes to uint32 ids, the indexes of
 * items the caller keeps in its own array, and leaves keys and their
 * comparison to the caller. Open addressing with linear probing in a
 * power-of-two table kept at most half full (it doubles itself); each slot
 * holds the id and 32 bits of the hash, so a probe passes other keys without
 * touching the caller's items and growing needs no callback. Removal shifts
 * the rest of the cluster back (no tombstones). Also the one FNV-1a hash of
 * the project, hashmap_fnv().
 *
 * A lookup walks the candidates, ids whose hash bits match, and the caller
 * compares each with its key:
 *
 *     struct hashmap_pos pos;
 *     for (id = hashmap__first(m, h, &pos); id != HASHMAP_NONE; id = hashmap__next(m, &pos))
 *             if (equal(items[id], key))
 *                     return id;
 *     hashmap__insert(m, &pos, new_id);       (pos: where the walk ended)
 *
 * The struct is plain so that it can be embedded; its fields are private.
 * Not thread-safe. The ids are the caller's; HASHMAP_NONE is not an id.
 */
#ifndef CSPY_HASHMAP_H
#define CSPY_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#define HASHMAP_NONE UINT32_MAX
#define HASHMAP_FNV0 14695981039346656037ull    /* FNV-1a's 64-bit offset basis */

struct hashmap_slot {
	uint32_t id;            /* HASHMAP_NONE: empty */
	uint32_t tag;           /* 32 bits of the id's hash */
};

struct hashmap {
	struct hashmap_slot *slots;
	size_t cap;             /* power of two */
	size_t n;
};

/* Where a walk is: its slot and the hash bits it looks for. */
struct hashmap_pos {
	size_t i;
	uint32_t tag;
};

/* An empty map with room for at least cap/2 ids before it grows. */
void hashmap__init(struct hashmap *m, size_t cap);
/* Free the table (not the struct, which the caller embeds). */
void hashmap__fini(struct hashmap *m);
/* Take every id out, keeping the table's size. */
void hashmap__clear(struct hashmap *m);
/* The first id stored with hash h, or HASHMAP_NONE; then *pos is the empty
 * slot where an id with hash h goes (for hashmap__insert). */
static inline uint32_t hashmap__first(const struct hashmap *m, uint64_t h, struct hashmap_pos *pos);
/* The next id after the one at *pos with the same hash bits, or HASHMAP_NONE
 * (see hashmap__first). */
static inline uint32_t hashmap__next(const struct hashmap *m, struct hashmap_pos *pos);
/* Store id where a walk that found nothing ended; the map may grow, which
 * makes every hashmap_pos stale. */
void hashmap__insert(struct hashmap *m, const struct hashmap_pos *pos, uint32_t id);
/* Store id with hash h, known not to be in the map yet. */
void hashmap__add(struct hashmap *m, uint64_t h, uint32_t id);
/* Take id (stored with hash h) out; nothing if it is not there. */
void hashmap__remove(struct hashmap *m, uint64_t h, uint32_t id);
/* The number of ids stored. */
size_t hashmap__count(const struct hashmap *m);

/* FNV-1a over n bytes, continuing from h (HASHMAP_FNV0 to start). Inline:
 * it hashes every sample's stack, and the compiler unrolls it for the
 * fixed-size parts of a key. */
static inline uint64_t hashmap_fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}
/* A hash of n 32-bit words (a stack's frame ids), continuing from h: two
 * words per multiply (FNV-1a takes one per byte: a 300-frame stack was 1,200
 * dependent multiplies per sample), rotated so that every bit reaches the
 * low ones, and finished with murmur3's mixer. */
static inline uint64_t hashmap_words(uint64_t h, const uint32_t *w, size_t n)
{
	size_t i = 0;
	for (; i + 2 <= n; i += 2) {
		uint64_t x = (uint64_t)w[i] | (uint64_t)w[i + 1] << 32;
		h = (((h << 27) | (h >> 37)) ^ x) * 0x9e3779b97f4a7c15ull;
	}
	if (i < n)
		h = (((h << 27) | (h >> 37)) ^ w[i]) * 0x9e3779b97f4a7c15ull;
	h ^= (uint64_t)n;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}
/* FNV-1a of a C string (without its terminator), from HASHMAP_FNV0. */
uint64_t hashmap_fnv_str(const char *s);

/* The walk is inline: it runs for every sample (the profile's stack
 * lookup), and a call per probe costs more than the probe. */
static inline uint32_t hashmap_scan_(const struct hashmap *m, size_t i, struct hashmap_pos *pos)
{
	size_t mask = m->cap - 1;
	for (; m->slots[i].id != HASHMAP_NONE; i = (i + 1) & mask) {
		if (m->slots[i].tag == pos->tag) {
			pos->i = i;
			return m->slots[i].id;
		}
	}
	pos->i = i;
	return HASHMAP_NONE;
}

static inline uint32_t hashmap__first(const struct hashmap *m, uint64_t h, struct hashmap_pos *pos)
{
	pos->tag = (uint32_t)(h ^ (h >> 32));
	return hashmap_scan_(m, pos->tag & (m->cap - 1), pos);
}

static inline uint32_t hashmap__next(const struct hashmap *m, struct hashmap_pos *pos)
{
	return hashmap_scan_(m, (pos->i + 1) & (m->cap - 1), pos);
}

#endif
