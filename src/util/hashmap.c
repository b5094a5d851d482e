/* SPDX-License-Identifier: MIT
 *
 * The hash index (see hashmap.h; the walk, hashmap__first and
 * hashmap__next, is inline there). A slot's 32 hash bits (the two halves of
 * the 64-bit hash folded together) give both its home, tag & (cap - 1), and
 * the tag a walk compares before handing an id to the caller; growing
 * re-places every id at its home in a table twice as large, from the tags
 * alone.
 */
#include "util/hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* As hashmap__first computes it (hashmap.h). */
static uint32_t tag_of(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

static void alloc_slots(struct hashmap *m, size_t cap)
{
	m->cap = cap;
	m->slots = xmalloc(cap * sizeof(*m->slots));
	memset(m->slots, 0xff, cap * sizeof(*m->slots));       /* id HASHMAP_NONE */
}

void hashmap__init(struct hashmap *m, size_t cap)
{
	size_t c = 8;
	while (c < cap)
		c *= 2;
	alloc_slots(m, c);
	m->n = 0;
}

void hashmap__fini(struct hashmap *m)
{
	if (!m)
		return;
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

void hashmap__clear(struct hashmap *m)
{
	memset(m->slots, 0xff, m->cap * sizeof(*m->slots));
	m->n = 0;
}

static void place(struct hashmap_slot *slots, size_t cap, struct hashmap_slot s)
{
	size_t i = s.tag & (cap - 1);
	while (slots[i].id != HASHMAP_NONE)
		i = (i + 1) & (cap - 1);
	slots[i] = s;
}

static void grow(struct hashmap *m)
{
	struct hashmap_slot *old = m->slots;
	size_t old_cap = m->cap;
	alloc_slots(m, old_cap * 2);
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].id != HASHMAP_NONE)
			place(m->slots, m->cap, old[i]);
	free(old);
}

void hashmap__insert(struct hashmap *m, const struct hashmap_pos *pos, uint32_t id)
{
	m->slots[pos->i] = (struct hashmap_slot){ id, pos->tag };
	if (++m->n * 2 > m->cap)
		grow(m);
}

void hashmap__add(struct hashmap *m, uint64_t h, uint32_t id)
{
	place(m->slots, m->cap, (struct hashmap_slot){ id, tag_of(h) });
	if (++m->n * 2 > m->cap)
		grow(m);
}

void hashmap__remove(struct hashmap *m, uint64_t h, uint32_t id)
{
	size_t mask = m->cap - 1, i = tag_of(h) & mask;
	while (m->slots[i].id != id) {
		if (m->slots[i].id == HASHMAP_NONE)
			return;
		i = (i + 1) & mask;
	}
	/* Move each later slot of the cluster into the hole unless its home lies
	 * cyclically in (hole, slot]. */
	for (size_t j = (i + 1) & mask; m->slots[j].id != HASHMAP_NONE; j = (j + 1) & mask) {
		size_t home = m->slots[j].tag & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].id = HASHMAP_NONE;
	m->n--;
}

size_t hashmap__count(const struct hashmap *m)
{
	return m->n;
}

uint64_t hashmap_fnv_str(const char *s)
{
	uint64_t h = HASHMAP_FNV0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		h = (h ^ *c) * 1099511628211ull;
	return h;
}
