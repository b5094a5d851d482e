/* SPDX-License-Identifier: MIT
 *
 * Remote dicts of every layout (2.7's table, 3.6-3.10 compact dicts, 3.11+
 * general, unicode and split keys) and the attributes of instances, which
 * live in a dict or in split values (tp_dictoffset; 3.11 managed values or
 * dict; 3.12 the tagged dict-or-values word; 3.13+ inline values). Every
 * count read from the target is bounded.
 */
#ifndef CSPY_PYDICT_H
#define CSPY_PYDICT_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;

/* Called for each live entry; returns non-zero to stop the walk. */
typedef int (*pydict_fn)(uint64_t key, uint64_t value, void *arg);

/* Call fn(key, value, arg) for each live entry of the remote dict (at most
 * 100,000 entries). fn's non-zero value stops the walk and is returned.
 * Otherwise 0, or -errno. */
int pydict_foreach(const struct pyctx *c, uint64_t dict, pydict_fn fn, void *arg);

#define PYDICT_MAX_SCAN (1u << 18)      /* entries (slots on 2.7) one walk looks at */

/* What walks may still do, shared by several (the nested dicts of one
 * repr): scan, entries left to look at; single, entries that may be read
 * one at a time where a chunk of entries cannot be read whole, an entry
 * still unreadable then being skipped (a dict caught mid-change by a thread
 * without a GIL). single = 0: a chunk that cannot be read fails the walk. */
struct pydict_budget {
	size_t scan;
	size_t single;
};

/* pydict_foreach() within the budget *b (updated). A table header out of
 * bounds still fails the walk. */
int pydict_walk(const struct pyctx *c, uint64_t dict, struct pydict_budget *b, pydict_fn fn,
		void *arg);

/* Value for the str key `key` (compared as UTF-8). 0 and *value, -ENOENT, -errno. */
int pydict_get_str(const struct pyctx *c, uint64_t dict, const char *key, uint64_t *value);

/* Attribute `name` of an instance from its __dict__ (tp_dictoffset, managed
 * dicts, 3.11/3.12 values, 3.13+ inline values). 0 and *value, -ENOENT, -errno. */
int pydict_getattr(const struct pyctx *c, uint64_t obj, const char *name, uint64_t *value);

#endif
