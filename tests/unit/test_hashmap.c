/* SPDX-License-Identifier: MIT
 *
 * util/hashmap: ids found by their keys through the index (the caller's
 * compare), growth past many doublings, every id findable after removals in
 * the middle of clusters (backward shift), candidates of equal hash bits
 * walked in turn, clear; and FNV-1a against its published test vectors.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/hashmap.h"

#define N 20000

/* The items: key k has id k; hash(k) collides on purpose for small tables. */
static uint64_t key_hash(uint32_t k, bool clash)
{
	return clash ? (uint64_t)(k % 7) : hashmap_fnv(HASHMAP_FNV0, &k, sizeof(k));
}

static uint32_t find(const struct hashmap *m, const uint32_t *keys, uint32_t k, bool clash,
		     struct hashmap_pos *pos)
{
	for (uint32_t id = hashmap__first(m, key_hash(k, clash), pos); id != HASHMAP_NONE;
	     id = hashmap__next(m, pos))
		if (keys[id] == k)
			return id;
	return HASHMAP_NONE;
}

static void run(bool clash, uint32_t n)
{
	struct hashmap m;
	struct hashmap_pos pos;
	uint32_t *keys = malloc(n * sizeof(*keys));
	hashmap__init(&m, 0);
	for (uint32_t i = 0; i < n; i++) {
		keys[i] = i * 2654435761u;
		CHECK(find(&m, keys, keys[i], clash, &pos) == HASHMAP_NONE);
		hashmap__insert(&m, &pos, i);
	}
	CHECK_INT(hashmap__count(&m), n);
	bool all = true;
	for (uint32_t i = 0; i < n; i++)
		all &= find(&m, keys, keys[i], clash, &pos) == i;
	CHECK(all);
	/* Remove every third id; the others stay findable. */
	for (uint32_t i = 0; i < n; i += 3)
		hashmap__remove(&m, key_hash(keys[i], clash), i);
	hashmap__remove(&m, key_hash(12345, clash), n + 1);     /* not there: nothing */
	all = true;
	for (uint32_t i = 0; i < n; i++)
		all &= find(&m, keys, keys[i], clash, &pos) == (i % 3 ? i : HASHMAP_NONE);
	CHECK(all);
	CHECK_INT(hashmap__count(&m), n - (n + 2) / 3);
	/* Put them back with hashmap__add. */
	for (uint32_t i = 0; i < n; i += 3)
		hashmap__add(&m, key_hash(keys[i], clash), i);
	all = true;
	for (uint32_t i = 0; i < n; i++)
		all &= find(&m, keys, keys[i], clash, &pos) == i;
	CHECK(all);
	hashmap__clear(&m);
	CHECK_INT(hashmap__count(&m), 0);
	CHECK(find(&m, keys, keys[1], clash, &pos) == HASHMAP_NONE);
	hashmap__fini(&m);
	hashmap__fini(&m);      /* twice is harmless */
	free(keys);
}

static void test_spread(void) { run(false, N); }
static void test_clash(void) { run(true, 600); }

static void test_same_hash_walk(void)
{
	struct hashmap m;
	struct hashmap_pos pos;
	hashmap__init(&m, 16);
	for (uint32_t id = 0; id < 5; id++)
		hashmap__add(&m, 42, id);
	unsigned seen = 0;
	for (uint32_t id = hashmap__first(&m, 42, &pos); id != HASHMAP_NONE; id = hashmap__next(&m, &pos))
		seen |= 1u << id;
	CHECK_INT(seen, 0x1f);
	CHECK(hashmap__first(&m, 43, &pos) == HASHMAP_NONE);
	hashmap__fini(&m);
}

static void test_fnv(void)
{
	/* FNV-1a 64 test vectors (Fowler, Noll, Vo). */
	CHECK(hashmap_fnv_str("") == 0xcbf29ce484222325ull);
	CHECK(hashmap_fnv_str("a") == 0xaf63dc4c8601ec8cull);
	CHECK(hashmap_fnv_str("foobar") == 0x85944171f73967e8ull);
	CHECK(hashmap_fnv(hashmap_fnv(HASHMAP_FNV0, "foo", 3), "bar", 3) == hashmap_fnv_str("foobar"));
}

/* hashmap_words: stacks that differ in one frame id (also only in its high
 * bit), in order, or in length by trailing zeros hash apart; the low bits a
 * table uses spread: 20,000 stacks of 22 ids that differ only in the leaf
 * reach at least 90 % of the distinct buckets of 32,768 random ones. */
static void test_words(void)
{
	uint32_t a[22], b[22];
	for (int i = 0; i < 22; i++)
		a[i] = (uint32_t)(100 + i);
	uint64_t h = hashmap_words(HASHMAP_FNV0, a, 22);
	CHECK(h == hashmap_words(HASHMAP_FNV0, a, 22));
	for (int i = 0; i < 22; i++) {
		memcpy(b, a, sizeof(a));
		b[i] ^= 1;
		CHECK(hashmap_words(HASHMAP_FNV0, b, 22) != h);
		b[i] = a[i] ^ 0x80000000u;
		CHECK(hashmap_words(HASHMAP_FNV0, b, 22) != h);
	}
	memcpy(b, a, sizeof(a));
	b[3] = a[4];
	b[4] = a[3];
	CHECK(hashmap_words(HASHMAP_FNV0, b, 22) != h);
	uint32_t z[3] = { 5, 0, 0 };
	CHECK(hashmap_words(HASHMAP_FNV0, z, 1) != hashmap_words(HASHMAP_FNV0, z, 2));
	CHECK(hashmap_words(HASHMAP_FNV0, z, 2) != hashmap_words(HASHMAP_FNV0, z, 3));
	static uint8_t seen[32768];
	memset(seen, 0, sizeof(seen));
	size_t filled = 0;
	for (uint32_t leaf = 0; leaf < 20000; leaf++) {
		a[21] = leaf;
		size_t k = (size_t)(hashmap_words(HASHMAP_FNV0, a, 22) & 32767);
		filled += !seen[k];
		seen[k] = 1;
	}
	/* 32768 * (1 - exp(-20000 / 32768)) = 14,960 expected */
	CHECK(filled >= 13500);
}

int main(void)
{
	TEST_RUN(test_spread);
	TEST_RUN(test_clash);
	TEST_RUN(test_same_hash_walk);
	TEST_RUN(test_fnv);
	TEST_RUN(test_words);
	return TEST_REPORT();
}
