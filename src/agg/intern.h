/* SPDX-License-Identifier: MIT
 *
 * Reference-counted string interning: equal strings share one copy. The
 * profile keeps thread names and command lines here, so a thousand threads
 * of one process hold one copy of its command line, and a name is freed when
 * the last thread holding it is gone (names that change with every thread,
 * "Thread-123 (handler)", do not pile up). A chained hash table (FNV-1a),
 * doubled when it holds more strings than buckets.
 *
 * Ownership: intern__get returns a string the table owns, valid until the
 * matching intern__put (one per get) or intern__free.
 */
#ifndef CSPY_INTERN_H
#define CSPY_INTERN_H

#include <stddef.h>

struct intern;

struct intern *intern__new(void);
void intern__free(struct intern *in);

/* The shared copy of s (NULL reads as ""), with one more reference. */
const char *intern__get(struct intern *in, const char *s);
/* Drop one reference to a string intern__get returned; the last one frees
 * it. NULL is ignored. */
void intern__put(struct intern *in, const char *s);
/* Distinct strings held. */
size_t intern__count(const struct intern *in);

#endif
