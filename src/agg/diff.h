/* SPDX-License-Identifier: MIT
 *
 * Differential profiles (`cspy diff BASE NEW`), as pure functions: no I/O,
 * so they are unit-tested on profiles made in C.
 *
 * diff_build() lines two profiles up frame by frame and stack by stack and
 * returns one profile whose stacks carry NEW's samples as their count and
 * BASE's as their base (prof_stack.base, prof_meta.diff). Two recordings of
 * the same program never share ids, PIDs or TIDs, so frames are matched by
 * a STABLE identity instead:
 *
 *   Python frames   (function name, short file name, line); with no_lines,
 *                   without the line (for code whose lines moved), and the
 *                   frame then has no line (-1)
 *   native frames   (function name, short file name: the module, or the
 *                   source file when DWARF gave one), never the line (it is
 *                   the sampled PC's, which differs between runs); a frame
 *                   without a symbol is already named "module+0xOFFSET" (the
 *                   offset in the file: the same across runs and ASLR)
 *   process, thread the frame's label with every number that is not part
 *   roots           of a word made "N" (profile_thread_pattern): "process
 *                   N:\"python app.py\"", "thread (N): MainThread"
 *   other roots     their label as it is
 *
 * A frame of the result keeps the full file name of the first profile that
 * had it (NEW's before BASE's). Threads are merged by default: every stack
 * goes to one thread (pid 1, tid 1, "all threads"), as the flame graph shows
 * them anyway, and a program whose threads are named differently in the two
 * runs still lines up. With threads, they are kept apart and matched by
 * (process command line, thread name), each as a pattern as above; thread k
 * of the result (in order of first appearance, NEW first) is pid = the
 * process pattern's number (1, 2, ...), tid = k + 1: a diff's ids are not a
 * run's.
 *
 * Ownership: the result is a new profile the caller frees; the inputs are
 * only read.
 */
#ifndef CSPY_DIFF_H
#define CSPY_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct profile;

struct diff_opts {
	bool no_lines;          /* match Python frames without their line numbers */
	bool threads;           /* keep threads apart, matched by name pattern (default: merged) */
	const char *title;      /* the result's title; NULL: NEW's */
};

#define DIFF_OPTS_DEFAULT ((struct diff_opts){ \
	.no_lines = false, \
	.threads = false, \
	.title = NULL, \
})

/* The differential profile of base and new (see above); o may be NULL for
 * the defaults. Its meta is NEW's with diff set (and neither classified nor
 * memory: a diff compares samples) and the title of o; its
 * sources NEW's, then BASE's for the files NEW has none of. */
struct profile *diff_build(const struct profile *base, const struct profile *new,
			   const struct diff_opts *o);

/* One function of the table of largest changes. Shares are fractions of
 * each profile's own total (NEW's count over NEW's total samples, BASE's
 * base over BASE's), so two runs of different lengths compare. */
struct diff_row {
	char *label;            /* "name (file)" (profile_frame_label without a line) */
	uint64_t self_base, self_new;   /* samples with the function as the leaf */
	uint64_t total_base, total_new; /* samples with the function anywhere (once per stack) */
	double self_base_share, self_new_share;
	double total_base_share, total_new_share;
};

/* The functions of the differential profile d (diff_build's) whose own
 * share changed most, largest |self_new_share - self_base_share| first
 * (ties by label), at most max of them; functions are matched without
 * lines (their label without one). *rows gets a heap array
 * (diff_rows_free); returns the number of rows. full: full file names. */
size_t diff_top(const struct profile *d, size_t max, bool full, struct diff_row **rows);
void diff_rows_free(struct diff_row *rows, size_t n);

#endif
