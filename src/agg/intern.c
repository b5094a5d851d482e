/* SPDX-License-Identifier: MIT
 *
 * String interning (see intern.h). Each string lives in one entry holding
 * its hash, its reference count and the bytes; the string handed out points
 * into the entry, so intern__put finds the entry from the string alone
 * (offsetof) and unlinks it from its bucket's chain.
 */
#include "agg/intern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/xalloc.h"

struct entry {
	struct entry *next;
	uint64_t hash;
	size_t refs;
	char str[];
};

struct intern {
	struct entry **buckets;
	size_t cap;             /* power of two */
	size_t n;
};

struct intern *intern__new(void)
{
	struct intern *in = xcalloc(1, sizeof(*in));
	in->cap = 64;
	in->buckets = xcalloc(in->cap, sizeof(*in->buckets));
	return in;
}

void intern__free(struct intern *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->cap; i++)
		for (struct entry *e = in->buckets[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(in->buckets);
	free(in);
}

static void grow(struct intern *in)
{
	size_t cap = in->cap * 2;
	struct entry **b = xcalloc(cap, sizeof(*b));
	for (size_t i = 0; i < in->cap; i++)
		for (struct entry *e = in->buckets[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (cap - 1)];
			b[e->hash & (cap - 1)] = e;
		}
	free(in->buckets);
	in->buckets = b;
	in->cap = cap;
}

const char *intern__get(struct intern *in, const char *s)
{
	s = s ? s : "";
	uint64_t h = hashmap_fnv_str(s);
	for (struct entry *e = in->buckets[h & (in->cap - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->str, s) == 0) {
			e->refs++;
			return e->str;
		}
	size_t len = strlen(s);
	struct entry *e = xmalloc(sizeof(*e) + len + 1);
	e->hash = h;
	e->refs = 1;
	memcpy(e->str, s, len + 1);
	e->next = in->buckets[h & (in->cap - 1)];
	in->buckets[h & (in->cap - 1)] = e;
	if (++in->n > in->cap)
		grow(in);
	return e->str;
}

void intern__put(struct intern *in, const char *s)
{
	if (!s)
		return;
	struct entry *e = (struct entry *)(s - offsetof(struct entry, str));
	if (--e->refs)
		return;
	struct entry **link = &in->buckets[e->hash & (in->cap - 1)];
	while (*link && *link != e)
		link = &(*link)->next;
	if (*link)
		*link = e->next;
	in->n--;
	free(e);
}

size_t intern__count(const struct intern *in)
{
	return in->n;
}
