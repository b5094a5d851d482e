/* SPDX-License-Identifier: MIT
 *
 * The pstats writer (`-f pstats`, files ending in .pstats or .prof): the
 * profile as the statistics dictionary Python's pstats module loads
 * (`pstats.Stats(path)`, `python -m pstats PATH`, snakeviz), in Python's
 * marshal format, version 2: dicts, tuples, ints (TYPE_INT, TYPE_LONG past
 * 2^31), binary floats and UTF-8 strings only, which every Python 3 reads
 * (and Python 2.7's marshal too: its pstats then sees unicode names).
 *
 *   {(file, line, name): (cc, nc, tt, ct, {caller: (nc, cc, tt, ct), ...})}
 *
 * with the semantics of CPython 3.15's sampling profiler
 * (profiling.sampling --pstats), whose statistics are samples, not calls:
 *
 *   - the key is a frame: its full file name (co_filename, as cProfile
 *     writes it; pstats' strip_dirs() shortens it), the line it was at, and
 *     its function name. A frame without a line has line 0; a frame without
 *     a file (native functions without one, the synthetic process, thread,
 *     interpreter and <truncated> frames) has file "~" and line 0, which
 *     pstats prints as the bare name, as for cProfile's built-ins;
 *   - cc ("primitive calls") = the samples in which it was the leaf (ran
 *     itself); nc ("total calls") = the samples in which it was on the
 *     stack, counted once per sample however often recursion put it there;
 *   - tt = cc x the sampling interval, ct = nc x the interval, in seconds
 *     (the measured interval: profile_sample_rate(), as every writer that
 *     shows time);
 *   - callers: for each frame found directly below it in some stack (its
 *     caller), in cProfile's order for sub-entries: nc = the samples in
 *     which that caller called it (once per sample), cc = the samples in
 *     which, so called, it was the leaf, tt = cc x interval, ct = nc x
 *     interval. Outermost frames have no callers.
 *
 * A sample without frames (an empty stack) has no entry to count in.
 * Names are UTF-8 (malformed bytes become U+FFFD: marshal refuses invalid
 * UTF-8). Entries that come out the same (two frames differing only in
 * kind) are merged. CPython 3.15's sampler also stores the key
 * ('__sampled__',) = True, which makes 3.15's pstats label the columns as
 * samples, but which the pstats of every earlier Python refuses ("Invalid
 * timing data"); it is written only when asked (sampled_marker).
 */
#ifndef CSPY_PSTATS_H
#define CSPY_PSTATS_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct pstats_opts {
	bool sampled_marker;    /* add ('__sampled__',): True (3.15's pstats only) */
};

/* The defaults: `struct pstats_opts o = PSTATS_OPTS_DEFAULT;`. */
#define PSTATS_OPTS_DEFAULT ((struct pstats_opts){ \
	.sampled_marker = false, \
})

/* Write p to f; o may be NULL for the defaults. A profile without samples
 * gives an empty dict (which pstats.Stats refuses to load, as it refuses
 * any empty profile). Returns 0, or -EIO when writing to f failed (f is
 * flushed, not closed). */
int pstats_write(FILE *f, const struct profile *p, const struct pstats_opts *o);

#endif
