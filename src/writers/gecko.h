/* SPDX-License-Identifier: MIT
 *
 * The Firefox Profiler writer (`-f gecko`): a profile becomes one file in
 * the Firefox Profiler's *processed* profile format, version 57 (the
 * version CPython 3.15's own sampler writes; the profiler upgrades it to
 * its current version when it opens it), which profiler.firefox.com opens
 * with "Load a profile from file". The file holds:
 *
 *   - "meta": interval (the measured sampling interval, ms), startTime
 *     (wall clock of the first sample, ms since the epoch),
 *     profilingStartTime/profilingEndTime, product "cspy", the machine
 *     (abi, oscpu, platform, CPUs), version 32 (the Gecko format) and
 *     preprocessedProfileVersion 57, the categories (below), the command
 *     line as "arguments", stackwalk 1 with --native, empty markerSchema
 *     and extensions;
 *   - "libs", "pages": empty; "shared": {"stringArray"}: every function
 *     and file name once, which the tables index;
 *   - "threads": one per thread of the profile that has samples (a lane of
 *     exited threads is one thread, "NAME (N exited threads)"), with its pid
 *     (a string: the Firefox Profiler groups threads into processes by it),
 *     tid, name, isMainThread (tid == pid), processName (the command line),
 *     and its own tables, as the format has them per thread: samples
 *     (stack, time in ms since startTime, weight, weightType "samples"),
 *     stackTable (frame, prefix: a tree of call paths), frameTable
 *     (func, category, line, ...), funcTable (name, file, isJS = Python),
 *     resourceTable (one per file), empty nativeSymbols and markers.
 *
 * Times: each run of the profile (agg/profile.h: count samples of one stack
 * from t_ns to t_last_ns) becomes count samples spread evenly over its
 * span, so a thread's samples keep their real times. Samples are sorted by
 * time (a lane of exited threads holds one thread's runs after another's,
 * so its samples are merged by time).
 * A profile without time order (cspy report of cspy's JSON: counts, no
 * runs) gives each thread its stacks one after another, one sample per
 * stack weighing its count, one interval per sample apart. A sample
 * without frames (an empty stack) has the stack null.
 *
 * Categories (meta.categories, index: name):
 *   0 Other (grey, the default): synthetic frames (process, thread and
 *     interpreter roots, <truncated>);
 *   1 Python (yellow): Python frames;
 *   2 Native (blue): native frames (--native);
 *   3 GIL (green): a native frame of a function that waits for the GIL
 *     (gecko_gil_function: take_gil, drop_gil, PyCOND_WAIT,
 *     PyCOND_TIMEDWAIT, with any compiler suffix such as ".lto_priv.0"),
 *     and every native frame called from one (pthread_cond_timedwait,
 *     futex waits under take_gil);
 *   4 Idle (transparent, the name the Firefox Profiler draws as idle): the
 *     synthetic frame "(idle)". Where a thread's next sample comes more than
 *     two sampling intervals after its previous one (it was idle without
 *     --idle, or unreadable, for at least one tick), one sample with the
 *     stack "(idle)" and weight 0 is written one interval after the
 *     previous sample: the timeline shows the gap as idle instead of
 *     stretching the last stack over it, and the call tree's counts stay
 *     the profile's (weight 0). Only a thread with such gaps has a weight
 *     column; the others have weight null (every sample weighs 1).
 */
#ifndef CSPY_GECKO_H
#define CSPY_GECKO_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct gecko_opts {
	bool full_filenames;    /* file names in full instead of package-relative */
};

/* The defaults: `struct gecko_opts o = GECKO_OPTS_DEFAULT;`. */
#define GECKO_OPTS_DEFAULT ((struct gecko_opts){ \
	.full_filenames = false, \
})

/* The format versions written (meta.version, meta.preprocessedProfileVersion). */
#define GECKO_VERSION 32
#define GECKO_PROCESSED_VERSION 57

/* Category indexes of meta.categories. */
enum gecko_category {
	GECKO_CAT_OTHER,
	GECKO_CAT_PYTHON,
	GECKO_CAT_NATIVE,
	GECKO_CAT_GIL,
	GECKO_CAT_IDLE,
	GECKO_CAT_TASK,         /* asyncio task frames (record --async) */
};

/* Write p to f; o may be NULL for the defaults. A profile without samples
 * gives a valid file with no threads. Returns 0, or -EIO when writing to f
 * failed (f is flushed, not closed). */
int gecko_write(FILE *f, const struct profile *p, const struct gecko_opts *o);

/* Is name (a native frame's function) one that waits for the GIL? The part
 * before the first '.' counts ("take_gil.lto_priv.0" is take_gil). */
bool gecko_gil_function(const char *name);

#endif
