/* SPDX-License-Identifier: MIT
 *
 * The table of `cspy top`, computed from a profile: one row per line of code
 * (or per function), with its "own" samples (it was the leaf frame) and its
 * "total" samples (it was anywhere in the stack; a recursive function counts
 * once per sample). Only the samples since the last reset count: a reset
 * marks every stack's count in the profile (profile__mark, kept when exited
 * threads are folded into lanes; every model of one profile shares it), and
 * an update subtracts it. The
 * view can be limited to one thread of the profile. Pure: no I/O, no clock;
 * rows name frames by their profile id, so they stay valid while the profile
 * grows (a paused display keeps its rows).
 *
 * Ownership: the model owns its rows; topmodel__rows() is borrowed until the
 * next update, sort or free. The profile is only read (marked by a reset),
 * never kept.
 */
#ifndef CSPY_TOPMODEL_H
#define CSPY_TOPMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile;
struct topmodel;

/* The four columns, keys 1-4. */
enum top_sort {
	TOP_SORT_OWN,           /* %Own */
	TOP_SORT_TOTAL,         /* %Total */
	TOP_SORT_OWN_TIME,      /* OwnTime (same order as %Own) */
	TOP_SORT_TOTAL_TIME,    /* TotalTime (same order as %Total) */
};

#define TOP_ALL_THREADS (-1)

struct top_row {
	uint32_t frame;         /* profile frame id: the line, or the function's first-seen frame */
	uint64_t own, total;    /* samples since the reset */
};

struct topmodel *topmodel__new(void);
void topmodel__free(struct topmodel *m);

/* Forget the samples taken so far: later updates count only what the
 * profile gains from now on. */
void topmodel__reset(struct topmodel *m, struct profile *p);
/* Recompute the rows from p: by_line (one row per frame, i.e. per line) or
 * by function (name and file); thread: a profile thread index, or
 * TOP_ALL_THREADS. Rows are left sorted by the last sort key (%Own at
 * first). */
void topmodel__update(struct topmodel *m, const struct profile *p, bool by_line, int thread);
void topmodel__sort(struct topmodel *m, enum top_sort key);

size_t topmodel__nrows(const struct topmodel *m);
const struct top_row *topmodel__rows(const struct topmodel *m);
bool topmodel__by_line(const struct topmodel *m);
enum top_sort topmodel__sort_key(const struct topmodel *m);
/* Stacks (thread samples) in the view: the denominator of the percentages. */
uint64_t topmodel__samples(const struct topmodel *m);
/* The profile thread with the most samples since the reset (whatever the
 * thread filter), or -1 when there is none. */
int topmodel__busiest_thread(const struct topmodel *m);

#endif
