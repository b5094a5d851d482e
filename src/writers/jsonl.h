/* SPDX-License-Identifier: MIT
 *
 * JSON Lines (`record -f jsonl`, `--stream`): one JSON object per line, the
 * samples as they are taken, for piping into jq or another tool while the
 * recording goes on. Format version 1 (docs/formats.md has every field);
 * the first key of a line says what it is, and no two kinds share it:
 *
 *   {"cspy": {"version", "format": "jsonl", "format_version": 1}, "meta": {...}}   first
 *   {"frame": ID, "name", "filename", "short_filename", "line", "kind"}
 *   {"thread": ID, "pid", "tid", "name", "command_line"[, "ns_tid"][, "exited"]}
 *   {"stack": ID, "frames": [FRAME IDS, ROOT FIRST]}
 *   {"t": NS, "pid", "tid", "thread_id", "stack_id", "weight"}    a sample
 *   {"exit": THREAD ID, "at": NS}      the thread has exited (its id is not used again)
 *   {"end": true, "meta": {...}}       last: the final metadata
 *
 * A frame, thread or stack is defined once, on its own line, before the
 * first line that uses it. A thread's name change gives it a new thread id
 * (same pid and tid). t is in ns since the recording began.
 *
 * Two ways to write it: jsonl_write() writes a whole profile at once (cspy
 * report), one sample line per run (weight: the run's count, t: its first
 * sample) or, without runs, per stack; a jsonl_stream listens to the
 * recording's profile (profile__set_listener) and writes each sample as it
 * is added, into a buffer that jsonl_stream__flush() pushes out (record
 * does so about 10 times a second). Its ids are its own: the profile's
 * thread and stack ids change when threads exit, the ones written never do.
 */
#ifndef CSPY_JSONL_H
#define CSPY_JSONL_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

#define JSONL_FORMAT_VERSION 1

/* Write all of p to f. 0, or -EIO when a write failed (f flushed, not
 * closed). */
int jsonl_write(FILE *f, const struct profile *p);

struct jsonl_stream;
/* Begin streaming p to f: the head line (p's meta as set now) is written
 * and p's listener set to the stream. Both are borrowed until
 * jsonl_stream__end(). */
struct jsonl_stream *jsonl_stream__new(FILE *f, struct profile *p);
/* Write out what is buffered (and fflush f). 0 or -EIO. */
int jsonl_stream__flush(struct jsonl_stream *w);
/* Stop listening, write the end line (p's meta as set now), flush and free
 * w. 0, or -EIO when any write failed. NULL: 0. */
int jsonl_stream__end(struct jsonl_stream *w);

#endif
