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
 * path that a writer claims (".trace.json" before ".json"), else, for a path
 * without an extension, it is the flame graph; an unknown extension is an
 * error. ".gz" after an ending, and ".svgz", mean the file is compressed. The entries are constant and live as long as the program.
 */
#ifndef CSPY_WRITER_H
#define CSPY_WRITER_H

#include <stdbool.h>
#include <stdio.h>

struct profile;

/* A format written while recording (jsonl): begin writes the head and
 * listens to the recording's profile (profile__set_listener), flush pushes
 * out what was buffered (record calls it about 10 times a second and at
 * each --period or SIGUSR1), end writes the last line from the profile's
 * final meta and frees the stream. 0 or -errno. */
struct writer_stream_ops {
	void *(*begin)(FILE *f, struct profile *p);
	int (*flush)(void *stream);
	int (*end)(void *stream);
};

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
	/* Does it show source text (profile__set_source)? Only then does
	 * record read the sources of the frames' files. */
	bool sources;
	/* Can it show a differential profile (prof_meta.diff, cspy diff)? */
	bool diff;
	/* Does it compress its output itself (pprof: always gzip)? Then the
	 * caller never compresses it again, whatever the path's ending
	 * (writer_path_gzip). */
	bool compressed;
	/* Written while recording, straight into the output (not renamed into
	 * place at the end): NULL for the formats written once at the end. */
	const struct writer_stream_ops *stream;
	/* What a --memory profile (prof_meta.memory) loses in this format, one
	 * line said after writing one, or NULL: it shows the bytes. */
	const char *memory_note;
};

/* The writer of --format (may be NULL) and the output path (may be NULL).
 * 0, or -EINVAL for an unknown format name (the caller reports it, naming
 * writer_names()), or without a format -ENOENT for a path whose extension
 * no writer claims (naming writer_endings()); a path without an extension
 * (/dev/stdout) gets the flame graph. A path ending in .gz is chosen by
 * what comes before .gz; .svgz is the flame graph. */
int writer_choose(const char *format, const char *path, const struct writer **out);
/* Is the output at path compressed (gzip): does it end in .gz or .svgz?
 * Whatever the format. */
bool writer_path_gzip(const char *path);
/* The endings that choose a writer, for an error message. */
const char *writer_endings(void);
/* The writer called name, or NULL. */
const struct writer *writer_find(const char *name);
/* The i-th writer of the table, or NULL past its end. */
const struct writer *writer_at(size_t i);
/* The names for an error message: "flamegraph, speedscope, ... or json". */
const char *writer_names(void);

#endif
