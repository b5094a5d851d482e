/* SPDX-License-Identifier: MIT
 *
 * The HTML report (`record --format html`, `cspy report`): one
 * self-contained file that opens offline from disk. It holds the page's
 * style and script (src/writers/report.css and report.js, embedded at build
 * time) and the profile as JSON data in a <script type="application/json">
 * element, in which every "<", ">", "&", U+2028 and U+2029 is written as a
 * \uXXXX escape, so no name or source text can end the element or be read
 * as markup; invalid UTF-8 becomes U+FFFD. The script builds the flame
 * graph, the thread selector, the table of functions, the source view (the
 * profile's sources, agg/profile.h) and, for a differential profile
 * (prof_meta.diff), the diff colouring. A Content-Security-Policy forbids
 * every load from anywhere. The data (compact arrays, for speed):
 *
 *   {"meta": {"title", "command_line", "python_version", "rate_hz",
 *             "duration_ns", "samples", "errors", "gil_only", "idle_included",
 *             "native", "diff", "full_filenames", "total", "base_total"},
 *    "frames": [[name, filename, short_filename, line, kind]],
 *    "threads": [[pid, tid, name, command_line, samples, exited]],
 *    "stacks": [[thread, count, base, frame ids root first ...]],
 *    "sources": [[filename, text or null, error or null]]}
 *
 * kind is the index of enum prof_frame_kind; stacks with neither samples
 * nor base samples are left out.
 */
#ifndef CSPY_HTML_H
#define CSPY_HTML_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct html_opts {
	const char *title;      /* NULL: the profile's (prof_meta.title) */
	bool full_filenames;    /* labels with full file names instead of package-relative */
};

#define HTML_OPTS_DEFAULT ((struct html_opts){ .title = NULL, .full_filenames = false })

/* Write p to f as the report; o may be NULL for the defaults. 0, or -EIO
 * when a write failed, -ENOMEM when the data could not be assembled. */
int html_write(FILE *f, const struct profile *p, const struct html_opts *o);

#endif
