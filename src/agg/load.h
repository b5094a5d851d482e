/* SPDX-License-Identifier: MIT
 *
 * Reading a saved profile back into the profile model, for `cspy report`
 * and `cspy diff`: cspy's own JSON (`record -f json`, writers/profjson.h,
 * format_version 1, with the optional "sources" and diff "base" counts),
 * plain or gzip-compressed (zlib reads both). The file is read whole
 * (bounded by PROFILE_LOAD_MAX bytes after decompression), parsed with
 * jansson, and checked as it is turned into a profile: every index (a
 * stack's thread and frames) is checked against what the file defined,
 * every count and string is bounded, and anything else is refused with a
 * message that says where. A profile holds no time order from JSON (no
 * runs): it has counts only.
 *
 * Also JSON Lines (`record -f jsonl`, writers/jsonl.h), told by its first
 * line: replayed sample by sample, so the profile has its runs (time
 * order) and its exited threads' lanes as recorded. A recording cut short
 * (no end line, a last line or a gzip stream cut) still loads; err then
 * says so.
 */
#ifndef CSPY_LOAD_H
#define CSPY_LOAD_H

#include <stddef.h>

struct profile;

/* Largest (decompressed) profile read: 4 GiB. */
#define PROFILE_LOAD_MAX ((size_t)4 << 30)

/* Read the profile at path ("-": standard input) into a new profile (*out,
 * freed with profile__free). 0, or -errno with a one-line message in err
 * (errn bytes; without the path, which the caller adds): -ENOENT, -EACCES
 * ... when the file cannot be read, -EINVAL when it is not a cspy profile
 * or is malformed, -EFBIG past PROFILE_LOAD_MAX. On success err holds ""
 * or one line to warn about (a jsonl recording cut short). */
int profile_load(const char *path, struct profile **out, char *err, size_t errn);

#endif
