/* SPDX-License-Identifier: MIT
 *
 * The output formats of `cspy record`, in one table: names, file
 * extensions, the hint printed after writing, and dispatch to each writer
 * module (src/writers/). The format comes from --format, or from the output
 * file's extension, or defaults to the flame graph.
 */
#ifndef CSPY_OUTPUT_H
#define CSPY_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

enum output_format {
	OUT_FLAMEGRAPH,
	OUT_SPEEDSCOPE,
	OUT_RAW,
	OUT_CHROMETRACE,
	OUT_JSON,
};

struct output_opts {
	bool full_filenames;
};

/* From --format (may be NULL) and the output path (may be NULL). 0, or
 * -EINVAL after printing an error naming the valid formats. */
int output_format_choose(const char *format, const char *path, enum output_format *out);
const char *output_format_name(enum output_format f);
const char *output_format_ext(enum output_format f);
/* How to open the file, one line, or NULL. */
const char *output_format_hint(enum output_format f);
/* Does the format show time order (the profile's runs)? Only then are runs
 * kept: they grow with the samples, the other formats need only counts. */
bool output_format_timeline(enum output_format f);
/* Write the profile; 0 or -errno. */
int output_write(FILE *f, enum output_format fmt, const struct profile *p, const struct output_opts *o);

#endif
