/* SPDX-License-Identifier: MIT
 *
 * The flame graph writer: a profile becomes one self-contained, interactive
 * SVG file (the default output of `cspy record`). Stacks of every thread are
 * merged by their frame labels ("name (file:line)") into one tree whose
 * frames are drawn as boxes as wide as their share of the samples; by default
 * the root is on top and callees hang below their callers (an icicle, as
 * py-spy draws it). The embedded script (src/writers/flamegraph.js, compiled in
 * at build time) adds click-to-zoom, a regex search with "Matched: P%",
 * Ctrl-F, `?s=REGEX` in the URL, and a details line. Frame labels only ever
 * appear escaped in XML text and attributes, never in the script.
 *
 * A differential profile (prof_meta.diff, `cspy diff`) is drawn with NEW's
 * samples as widths (frames only BASE had are not drawn) and coloured by the
 * change of each frame's share, NEW's count over NEW's total minus BASE's
 * over BASE's: grey for none, towards red where it grew and blue where it
 * shrank, full colour at the graph's largest change (at least 1 % of the
 * samples). Each frame's tooltip gives both counts, both shares and the
 * change; its <g> carries data-b (BASE's samples) beside data-n.
 *
 * The output is deterministic: the same profile and options give the same
 * bytes (siblings are ordered by label, colours come from a hash of the
 * function name, numbers are formatted without the locale).
 */
#ifndef CSPY_FLAMEGRAPH_H
#define CSPY_FLAMEGRAPH_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct flamegraph_opts {
	const char *title;      /* NULL: the profile's meta title, else its command line */
	bool full_filenames;    /* labels with full file names instead of package-relative */
	int width;              /* image width in px */
	double min_width;       /* px; frames narrower than this are left out, with their callees */
	bool icicle;            /* true: root on top (py-spy's look); false: root at the bottom */
	bool reverse;           /* true: merge stacks from the leaf (callers hang below callees) */
};

/* The defaults: `struct flamegraph_opts o = FLAMEGRAPH_OPTS_DEFAULT;`. */
#define FLAMEGRAPH_OPTS_DEFAULT ((struct flamegraph_opts){ \
	.title = NULL, \
	.full_filenames = false, \
	.width = 1200, \
	.min_width = 0.1, \
	.icicle = true, \
	.reverse = false, \
})

/* Write p as an SVG flame graph to f; o may be NULL for the defaults. A
 * profile without samples gives a valid SVG that says so. Returns 0, -EINVAL
 * for a width below 100 px or above 1000000 px or a negative (or NaN)
 * min_width, or -EIO when writing to f failed
 * (f is flushed, not closed: the caller closes it and checks that too). */
int flamegraph_write(FILE *f, const struct profile *p, const struct flamegraph_opts *o);

#endif
