/* SPDX-License-Identifier: MIT
 *
 * The "raw" output format: collapsed stacks, the text that flamegraph.pl,
 * inferno and speedscope read. One line per distinct stack,
 *
 *     root;caller;...;leaf COUNT
 *
 * root first, each frame written as profile_frame_label() gives it
 * ("name (file:line)"). Stacks of different threads whose labels are equal
 * are merged into one line with the sum of their counts; lines are sorted by
 * their bytes (as `LC_ALL=C sort`), so the same profile always gives the same
 * file. Stacks without frames are left out.
 *
 * A differential profile (prof_meta.diff, `cspy diff`) is written in the
 * two-count form flamegraph.pl reads (difffolded.pl's output): one line per
 * stack that either profile has, BASE's samples then NEW's,
 *
 *     root;caller;...;leaf BASE NEW
 *
 * (0 where a profile lacks the stack).
 *
 * A label is made safe for the format before it is written: ';' (the frame
 * separator) becomes ':', and '\n' and '\r' (the line separator) become
 * spaces. Other bytes are written as they are (no UTF-8 check).
 */
#ifndef CSPY_COLLAPSED_H
#define CSPY_COLLAPSED_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct collapsed_opts {
	bool full_filenames;    /* labels with full file names instead of package-relative */
};

/* The defaults: `struct collapsed_opts o = COLLAPSED_OPTS_DEFAULT;`. */
#define COLLAPSED_OPTS_DEFAULT ((struct collapsed_opts){ \
	.full_filenames = false, \
})

/* Write p's stacks to f; o may be NULL for the defaults. An empty profile
 * writes nothing. Returns 0, or -EIO when a write or the final fflush failed
 * (f is flushed, not closed). */
int collapsed_write(FILE *f, const struct profile *p, const struct collapsed_opts *o);

#endif
