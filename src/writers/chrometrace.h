/* SPDX-License-Identifier: MIT
 *
 * The Chrome trace-event writer: a profile becomes a timeline that
 * chrome://tracing, Perfetto (ui.perfetto.dev) and speedscope open. The file
 * is one JSON object:
 *
 *   {"traceEvents": [...], "displayTimeUnit": "ms",
 *    "otherData": {"exporter": "cspy VERSION", "title": ..., "command_line": ...}}
 *
 * "traceEvents" starts with metadata events ("ph": "M"): one "process_name"
 * per process (its command line, or "Process PID") and one "thread_name" per
 * thread (its name, or "Thread TID"). Then come, thread by thread, duration
 * events ("ph": "B" begin, "E" end) with "name" (the function's name, or a
 * synthetic frame's label), "args" (as py-spy writes them: "filename", the
 * full file name, and "line", null when there is none; left out for frames
 * without a file), "cat" (the frame kind: "python", "native", "process",
 * "thread", "interpreter", "task", "other"), "ts" (microseconds since the start of the profile,
 * rounded down), "pid" and "tid".
 *
 * Events come from the thread's runs (identical consecutive samples). At the
 * start of each run, the frames of the previous stack that differ from the
 * new one (compared by label, from the root) end, innermost first, and the
 * new frames begin, outermost first. A run lasts until the next one starts,
 * except across a gap in the samples (more than two and a half sampling
 * periods between two samples of the thread, i.e. at least two samples
 * missing, e.g. while it was idle and idle threads were not recorded; one
 * missing sample, such as a failed one, is bridged): then all its frames end
 * one period after its last sample, which is also when the thread's last run
 * ends. Without a known sampling rate there are no gaps and the last run
 * lasts 1 us after its last sample. A run is one span even when its samples
 * have a gap between them: the profile keeps runs, not each sample's time.
 *
 * One adjustment for speedscope's importer, which orders events with the same
 * timestamp by name and so would nest them wrongly when a frame ends and a
 * frame with the same label begins at the same moment (recursion changing
 * depth): at such a boundary the begin events are placed 1 us later, when
 * that still falls before the next boundary.
 */
#ifndef CSPY_CHROMETRACE_H
#define CSPY_CHROMETRACE_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct chrometrace_opts {
	bool full_filenames;    /* labels with full file names instead of package-relative */
};

/* The defaults: `struct chrometrace_opts o = CHROMETRACE_OPTS_DEFAULT;`. */
#define CHROMETRACE_OPTS_DEFAULT ((struct chrometrace_opts){ \
	.full_filenames = false, \
})

/* Write p to f; o may be NULL for the defaults. A profile without samples
 * gives an empty "traceEvents" array. Returns 0, or -EIO when writing to f
 * failed (f is flushed, not closed). */
int chrometrace_write(FILE *f, const struct profile *p, const struct chrometrace_opts *o);

#endif
