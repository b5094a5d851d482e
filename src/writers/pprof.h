/* SPDX-License-Identifier: MIT
 *
 * The pprof writer: a profile becomes one profile.proto message (Google's
 * pprof format, read by `pprof`, Pyroscope, Grafana, Parca and most
 * continuous-profiling services), gzip-compressed as pprof's convention
 * wants it. The message holds:
 *
 *   - sample types [samples/count, cpu/nanoseconds] (wall/nanoseconds when
 *     idle threads were kept, prof_meta.idle_included), the second the
 *     default; period_type = the second type and period = 1e9 /
 *     profile_sample_rate() ns, rounded; a profile whose rate is unknown
 *     has samples/count only. time_nanos and duration_nanos from the meta;
 *     comments "cspy VERSION", the command line and the Python version.
 *   - one Sample per stack with samples: its location ids leaf first, its
 *     values [count, count x period] and its labels: "pid", "thread_id"
 *     (numbers; no thread_id for a lane of exited threads, which has
 *     "exited_threads" = N instead), "ns_thread_id" when the thread has
 *     another id inside its PID namespace, "thread_name" and "command_line"
 *     (strings, when known). The synthetic root frames of --subprocesses,
 *     --threads and --interpreters are not locations but string labels
 *     "process", "thread" and "interpreter" holding the frame's text ("process
 *     12:\"python3 app.py\""; one "process" label per process of the chain,
 *     root first): `pprof -tagroot=process,thread` draws them as roots again.
 *   - one Location per frame (Line: its Function and the frame's line when
 *     it has one; address 0) and one Function per (name, file): name is the
 *     frame's name, filename its full file name. system_name is left out:
 *     cspy's names are already demangled, and pprof "demangles" a function
 *     whose system_name equals its name again with C++ heuristics that cut
 *     "<...>" and "(...)" out of it ("<module>" would become "").
 *   - Mappings keep native frames apart from Python ones: every Python frame
 *     is in the mapping "[python]"; a native frame known by its module only
 *     (no source line; its file is the module's path) is in the mapping of
 *     that module; a native frame with a source file and line from DWARF is
 *     in the mapping "[native]". Other frames ("<truncated>") have no
 *     mapping. Every mapping says it has functions (pprof never tries to
 *     symbolize them).
 *
 * Strings are written as valid UTF-8 (each invalid byte becomes U+FFFD, as
 * in the JSON writers), since protobuf readers may reject anything else.
 */
#ifndef CSPY_PPROF_H
#define CSPY_PPROF_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

struct pprof_opts {
	bool gzip;              /* gzip the message (pprof's files always are); false: raw protobuf */
};

/* The defaults: `struct pprof_opts o = PPROF_OPTS_DEFAULT;`. */
#define PPROF_OPTS_DEFAULT ((struct pprof_opts){ \
	.gzip = true, \
})

/* Write p to f; o may be NULL for the defaults. Differential profiles are
 * written as their new side (count). Returns 0, -EIO when writing to f
 * failed (f is flushed, not closed), or -ENOMEM when zlib could not start. */
int pprof_write(FILE *f, const struct profile *p, const struct pprof_opts *o);

#endif
