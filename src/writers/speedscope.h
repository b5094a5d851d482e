/* SPDX-License-Identifier: MIT
 *
 * The speedscope writer: a profile becomes one file in speedscope's own JSON
 * format (https://www.speedscope.app/file-format-schema.json), which the
 * speedscope app opens directly. The file holds:
 *
 *   - "shared": {"frames": [...]}: one entry per interned frame, in frame id
 *     order, with "name" (the function name, or the label of a synthetic
 *     frame), "file" (left out when there is none) and "line" (left out when
 *     there is none);
 *   - "profiles": one "sampled" profile per thread that has samples, named
 *     `Process PID Thread TID "NAME"` (without the quoted part when the name
 *     is unknown), in thread order. Its samples follow the thread's timeline:
 *     each run of identical consecutive samples is one sample (frame indexes,
 *     root first) whose weight is the run's length, so the file grows with
 *     the number of stack changes, not with the number of samples (runs the
 *     profile split at a gap in the samples are joined again: speedscope's
 *     timeline has no gaps);
 *   - "name" (the profile title), "exporter" ("cspy VERSION"),
 *     "activeProfileIndex": the profile with the most samples (the first of
 *     equals), which speedscope opens first.
 *
 * Weights are in seconds (count / profile_sample_rate(): the rate samples
 * were really taken at, measured, see agg/profile.h) by default, or plain sample
 * counts with unit "none" when asked for or when the rate is unknown. Each
 * profile starts at 0 and its endValue is the sum of its weights, added in
 * file order as a reader does.
 */
#ifndef CSPY_SPEEDSCOPE_H
#define CSPY_SPEEDSCOPE_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct speedscope_opts {
	const char *title;      /* NULL: the profile's meta title (the command line) */
	bool full_filenames;    /* "file" is the full file name instead of package-relative */
	bool unit_samples;      /* weights are sample counts (unit "none") instead of seconds */
};

/* The defaults: `struct speedscope_opts o = SPEEDSCOPE_OPTS_DEFAULT;`. */
#define SPEEDSCOPE_OPTS_DEFAULT ((struct speedscope_opts){ \
	.title = NULL, \
	.full_filenames = false, \
	.unit_samples = false, \
})

/* Write p to f; o may be NULL for the defaults. A profile without samples
 * gives a valid file with no profiles. Returns 0, or -EIO when writing to f
 * failed (f is flushed, not closed). */
int speedscope_write(FILE *f, const struct profile *p, const struct speedscope_opts *o);

#endif
