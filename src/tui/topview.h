/* SPDX-License-Identifier: MIT
 *
 * What `cspy top` shows, as lines of text: the header (command, Python
 * version, samples, error rate, GIL/active shares, threads, the view's
 * settings), the table (%Own, %Total, OwnTime, TotalTime, function and
 * place) from a topmodel, an optional pane (--locals), and a last line for
 * key hints or a message; or the help text instead of the table. Rendered
 * for a width x height (trimmed to fit: every line cut to the width in
 * display columns, table rows and pane lines dropped to fit the height) or
 * unbounded (the plain-text snapshots of a pipe and of --output). Names
 * coming from the target are made safe: control characters (as
 * util/termsafe.h defines them) become '?', so that a function name cannot
 * send escapes to the terminal.
 *
 * Ownership: struct topview is plain data owned by the caller; render()
 * replaces its lines, release() frees them.
 */
#ifndef CSPY_TOPVIEW_H
#define CSPY_TOPVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tui/term.h"
#include "tui/topmodel.h"

struct profile;

struct top_header {
	const char *cmdline;            /* the profiled command line */
	const char *python_version;     /* "" if unknown */
	const char *timestamp;          /* wall clock (--timestamp), NULL: none */
	uint64_t samples, errors;       /* process reads since the reset: ok / failed */
	uint64_t thread_samples, active_samples, gil_samples;  /* threads seen in them */
	int threads, processes;         /* in the latest read */
	int nogil_processes;            /* of those, free-threaded without a GIL */
	bool show_processes;            /* --subprocesses */
	const char *thread_label;       /* "all", or the thread shown */
	bool paused;
	bool help;                      /* the help text instead of the table */
	double sample_s;                /* the wall time one sample stands for: OwnTime =
					 * samples x sample_s (cmd_top: the window's wall time
					 * / its ticks); <= 0: 1 s */
	const char *message;            /* last line (e.g. the program exited); NULL: key hints */
	const char *mode;               /* the sampling mode ("cpu", ...), NULL: not shown */
	const char *pane_title;         /* --locals pane: title and lines (npane 0: none) */
	const char *const *pane;
	size_t npane;
};

struct topview_opts {
	int width, height;              /* <= 0: unbounded */
	size_t max_rows;                /* unbounded height: at most this many rows (0: all) */
	bool full_filenames;
	bool hints;                     /* key hints on the last line (the screen) */
};

struct topview_line {
	char *text;
	enum term_style style;
};

struct topview {
	struct topview_line *lines;
	size_t n, cap;
};

void topview__render(struct topview *v, const struct top_header *h, const struct topmodel *m,
		     const struct profile *p, const struct topview_opts *o);
void topview__release(struct topview *v);
/* The lines as plain text, each ending in '\n'. 0 or -EIO. */
int topview__write(const struct topview *v, FILE *f);

/* Display columns of a UTF-8 string (wide characters count 2). */
size_t topview_width(const char *s);

#endif
