/* SPDX-License-Identifier: MIT
 *
 * The table of `cspy top`, computed from a profile: one row per line of code
 * (or per function), with its "own" samples (it was the leaf frame) and its
 * "total" samples (it was anywhere in the stack; a recursive function counts
 * once per sample), the own samples' python/native/system split and, with
 * --memory, the bytes grown as own and total. Only the samples since the last reset count: a reset
 * marks every stack's count in the profile (profile__mark, kept when exited
 * threads are folded into lanes; every model of one profile shares it), and
 * an update subtracts it. The
 * view can be limited to one thread, named by process and thread id (a
 * profile's thread indices move when a thread exits), or to the lanes of
 * exited threads; the t/T keys' cycle over these views is computed here too
 * (topmodel__step). Pure: no I/O, no clock;
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
#include <sys/types.h>

#include "agg/profile.h"

struct topmodel;

/* The sortable columns, keys 1-4 (5-6 with --memory). */
enum top_sort {
	TOP_SORT_OWN,           /* %Own */
	TOP_SORT_TOTAL,         /* %Total */
	TOP_SORT_OWN_TIME,      /* OwnTime (same order as %Own) */
	TOP_SORT_TOTAL_TIME,    /* TotalTime (same order as %Total) */
	TOP_SORT_MEM_OWN,       /* MemOwn: bytes grown with it as the leaf */
	TOP_SORT_MEM_TOTAL,     /* MemTotal: bytes grown with it anywhere in the stack */
};
#define TOP_NSORT 6

/* Which threads the table counts. */
enum top_sel_kind {
	TOP_SEL_ALL,            /* every thread */
	TOP_SEL_THREAD,         /* one live thread: pid, tid */
	TOP_SEL_EXITED,         /* every lane of exited threads (profile__thread_exit), as one */
};

struct top_sel {
	enum top_sel_kind kind;
	pid_t pid, tid;         /* TOP_SEL_THREAD */
};

/* Where a selection stands in the cycle of the t/T keys (topmodel__step). */
struct top_cycle {
	size_t threads;         /* live threads in the cycle */
	bool exited;            /* the exited threads are an entry: their lanes have
				 * samples since the reset */
	uint64_t nexited;       /* threads folded into the lanes */
	size_t pos;             /* the selection's place among the entries after "all"
				 * (1-based); 0: all, or a thread no longer in the profile */
	int index;              /* profile index of the selected thread, -1: none */
};

struct top_row {
	uint32_t frame;         /* profile frame id: the line, or the function's first-seen frame */
	uint64_t own, total;    /* samples since the reset */
	uint64_t cls[PROF_NCLASSES];    /* of own: python / native / system (prof_stack.cls) */
	uint64_t mem_own, mem_total;    /* bytes of resident-memory growth (--memory), as own
					 * and total */
};

struct topmodel *topmodel__new(void);
void topmodel__free(struct topmodel *m);

/* Forget the samples taken so far: later updates count only what the
 * profile gains from now on. */
void topmodel__reset(struct topmodel *m, struct profile *p);
/* Recompute the rows from p: by_line (one row per frame, i.e. per line) or
 * by function (name and file), counting the threads of sel (NULL: all). A
 * selected thread that has exited has no rows (its samples went to its
 * lane). Rows are left sorted by the last sort key (%Own at first). */
void topmodel__update(struct topmodel *m, const struct profile *p, bool by_line,
		      const struct top_sel *sel);
void topmodel__sort(struct topmodel *m, enum top_sort key);

size_t topmodel__nrows(const struct topmodel *m);
const struct top_row *topmodel__rows(const struct topmodel *m);
bool topmodel__by_line(const struct topmodel *m);
enum top_sort topmodel__sort_key(const struct topmodel *m);
/* Stacks (thread samples) in the view: the denominator of the percentages. */
uint64_t topmodel__samples(const struct topmodel *m);
/* Of those, the samples of class c (the view's python/native/system split;
 * all 0 in a profile without it). */
uint64_t topmodel__class_samples(const struct topmodel *m, enum prof_class c);
/* Bytes of resident memory grown and shrunk in the view since the reset
 * (--memory; else 0). */
void topmodel__memory(const struct topmodel *m, uint64_t *grow, uint64_t *shrink);
/* Has any update met a classified sample (since the model's start, not only
 * since the reset)? Then the split's columns stay, also right after a reset. */
bool topmodel__classified(const struct topmodel *m);
/* The live profile thread (not a lane) with the most samples since the
 * reset, whatever the selection, or -1 when there is none. A profile index:
 * valid until the profile's next profile__thread_exit. */
int topmodel__busiest_thread(const struct topmodel *m);

/* The cycle of the t/T keys over the views of p: "all"; then each live thread
 * (not a lane) in order of process and thread id (a thread sampled before
 * its TID was known, TID 0, last and only with samples since the reset);
 * then the exited threads, one entry for every lane, when the lanes have
 * samples since the reset (the mark); then "all" again. dir > 0: the entry
 * after cur, dir < 0: the one before. The entries are remembered until the
 * next step: when cur has exited since, the step goes to the nearest entry
 * of that list still there, so that a thread-per-request server, whose new
 * threads come and go between two key presses, cannot keep the cycle from
 * coming back to "all". */
struct top_sel topmodel__step(struct topmodel *m, const struct profile *p, const struct top_sel *cur,
			      int dir);
/* Where sel stands in that cycle. */
void topmodel_cycle(const struct profile *p, const struct top_sel *sel, struct top_cycle *c);

#endif
