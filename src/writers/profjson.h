/* SPDX-License-Identifier: MIT
 *
 * cspy's own JSON format (`record --format json`), meant for scripts: the
 * whole profile model, with nothing rendered or merged. Format version 1:
 *
 *   {"cspy": {"version": "X.Y.Z", "format_version": 1},
 *    "meta": {"title", "command_line", "python_version", "rate_hz",
 *             "start_unix_ns", "duration_ns", "samples", "errors",
 *             "gil_only", "idle_included", "native"},
 *    "frames": [{"name", "filename", "short_filename", "line", "kind"}],
 *    "threads": [{"pid", "tid", "name", "command_line", "samples"}],
 *    "stacks": [{"thread", "frames", "count"}],
 *    "sources": [{"filename", "text"} or {"filename", "error"}]}
 *
 * Frames, threads and stacks are in id order; a stack's "thread" indexes
 * "threads" and its "frames" index "frames", ROOT FIRST. A differential
 * profile (`cspy diff`) has "diff": true in "meta" and a "base" count
 * (BASE's samples; "count" is NEW's) in every stack, which then includes
 * the stacks only BASE had (count 0). "line" is -1 when there is none;
 * "kind" is "python", "native", "process", "thread", "interpreter", "task" (an asyncio task, record --async) or "other". "sources"
 * (only when the profile has sources: record reads them for this format,
 * agg/profile.h) holds the text of each file the Python frames name, or
 * why it could not be read; the key is optional and new within format
 * version 1. docs/formats.md describes every field.
 */
#ifndef CSPY_PROFJSON_H
#define CSPY_PROFJSON_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

#define PROFJSON_FORMAT_VERSION 1

struct profjson_opts {
	bool full_filenames;    /* no effect: both file names are always written (accepted
				 * so that every writer takes the same common options) */
	bool pretty;            /* indent (2 spaces) instead of one compact line */
};

/* The defaults: `struct profjson_opts o = PROFJSON_OPTS_DEFAULT;`. */
#define PROFJSON_OPTS_DEFAULT ((struct profjson_opts){ \
	.full_filenames = false, \
	.pretty = false, \
})

/* Write p to f; o may be NULL for the defaults. Returns 0, or -EIO when
 * writing to f failed (f is flushed, not closed). */
int profjson_write(FILE *f, const struct profile *p, const struct profjson_opts *o);

#endif
