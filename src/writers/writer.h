/* SPDX-License-Identifier: MIT
 *
 * The one interface of the profile writers (the output formats of `cspy
 * record`): a table with one entry per format, each a name (--format), the
 * extension of a generated file name, the file-name endings that choose it,
 * the hint printed after writing, whether it shows time order, and its write
 * function. A new format is one new module in src/writers/ and one entry in
 * the table (writer.c); nothing above this layer names a format.
 *
 * The format comes from --format, else from the longest ending of the output
 * path that a writer claims (".trace.json" before ".json"), else it is the
 * flame graph. The entries are constant and live as long as the program.
 */
#ifndef CSPY_WRITER_H
#define CSPY_WRITER_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

/* What every writer takes from the command line. */
struct writer_opts {
	bool full_filenames;    /* labels with full file names instead of package-relative */
};

struct writer {
	const char *name;               /* --format NAME */
	const char *ext;                /* extension of a generated file name, without the dot */
	const char *const *endings;     /* path endings that choose it, NULL-terminated */
	const char *hint;               /* how to open the file, one line, or NULL */
	/* Does it show time order (the profile's runs)? Only then are runs kept:
	 * they grow with the samples, the other formats need only counts. */
	bool timeline;
	/* Write p to f (flushed, not closed); 0 or -errno (-EIO: a write failed). */
	int (*write)(FILE *f, const struct profile *p, const struct writer_opts *o);
};

/* The writer of --format (may be NULL) and the output path (may be NULL).
 * 0, or -EINVAL for an unknown format name (the caller reports it, naming
 * writer_names()). */
int writer_choose(const char *format, const char *path, const struct writer **out);
/* The writer called name, or NULL. */
const struct writer *writer_find(const char *name);
/* The i-th writer of the table, or NULL past its end. */
const struct writer *writer_at(size_t i);
/* The names for an error message: "flamegraph, speedscope, ... or json". */
const char *writer_names(void);

#endif
