/* SPDX-License-Identifier: MIT
 *
 * The table of writers (see writer.h). Each entry's write function maps the
 * shared writer_opts onto its module's own options (which the module's tests
 * and tools set in full) and calls it. Endings: .svg flame graph;
 * .speedscope.json and any other .json speedscope (py-spy's JSON output);
 * .trace.json / .chrometrace.json Chrome trace; .txt / .collapsed / .folded
 * raw; .html / .htm the report; .gecko.json / .firefox.json the Firefox
 * Profiler's format;
 * .pstats / .prof Python's pstats; .pb / .pprof pprof; .jsonl JSON Lines.
 * cspy's own JSON has no ending: it is chosen with --format json. Any of
 * them followed by .gz, and .svgz (a flame graph), are compressed
 * (writers/outfile.h outfile__gzip), except pprof, which is always gzip (it
 * compresses itself: .pb.gz is the usual name).
 */
#include "writers/writer.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "writers/chrometrace.h"
#include "writers/collapsed.h"
#include "writers/flamegraph.h"
#include "writers/jsonl.h"
#include "writers/gecko.h"
#include "writers/html.h"
#include "writers/pprof.h"
#include "writers/profjson.h"
#include "writers/pstats.h"
#include "writers/speedscope.h"

static int write_flamegraph(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	struct flamegraph_opts fo = FLAMEGRAPH_OPTS_DEFAULT;
	fo.full_filenames = o->full_filenames;
	return flamegraph_write(f, p, &fo);
}

static int write_speedscope(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	struct speedscope_opts so = SPEEDSCOPE_OPTS_DEFAULT;
	so.full_filenames = o->full_filenames;
	return speedscope_write(f, p, &so);
}

static int write_raw(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	struct collapsed_opts co = COLLAPSED_OPTS_DEFAULT;
	co.full_filenames = o->full_filenames;
	return collapsed_write(f, p, &co);
}

static int write_chrometrace(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	struct chrometrace_opts to = CHROMETRACE_OPTS_DEFAULT;
	to.full_filenames = o->full_filenames;
	return chrometrace_write(f, p, &to);
}

static int write_html(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	struct html_opts ho = HTML_OPTS_DEFAULT;
	ho.full_filenames = o->full_filenames;
	return html_write(f, p, &ho);
}

static int write_pprof(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	(void)o;        /* file names are always full in pprof (its -trim_path shortens them) */
	struct pprof_opts po = PPROF_OPTS_DEFAULT;
	return pprof_write(f, p, &po);
}

static int write_profjson(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	struct profjson_opts jo = PROFJSON_OPTS_DEFAULT;
	jo.full_filenames = o->full_filenames;
	return profjson_write(f, p, &jo);
}

static int write_gecko(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	struct gecko_opts go = GECKO_OPTS_DEFAULT;
	go.full_filenames = o->full_filenames;
	return gecko_write(f, p, &go);
}

static int write_pstats(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	(void)o;        /* always full file names, as cProfile writes them */
	return pstats_write(f, p, NULL);
}

static int write_jsonl(FILE *f, const struct profile *p, const struct writer_opts *o)
{
	(void)o;        /* both file names are always written */
	return jsonl_write(f, p);
}

static void *jsonl_begin(FILE *f, struct profile *p) { return jsonl_stream__new(f, p); }
static int jsonl_flush(void *w) { return jsonl_stream__flush(w); }
static int jsonl_end(void *w) { return jsonl_stream__end(w); }
static const struct writer_stream_ops jsonl_stream_ops = { jsonl_begin, jsonl_flush, jsonl_end };

/* The first entry is the default. */
static const struct writer writers[] = {
	{ .name = "flamegraph", .ext = "svg", .endings = (const char *const[]){ ".svg", NULL },
	  .hint = "Open it in a web browser; click to zoom, Ctrl-F to search.",
	  .write = write_flamegraph, .diff = true },
	{ .name = "speedscope", .ext = "json", .endings = (const char *const[]){ ".json", NULL },
	  .hint = "Open it at https://www.speedscope.app/ (or with the speedscope command).",
	  .timeline = true, .write = write_speedscope },
	{ .name = "raw", .ext = "txt",
	  .endings = (const char *const[]){ ".txt", ".collapsed", ".folded", NULL },
	  .hint = "Render it with flamegraph.pl or inferno-flamegraph (collapsed stacks).",
	  .write = write_raw, .diff = true },
	{ .name = "chrometrace", .ext = "json",
	  .endings = (const char *const[]){ ".trace.json", ".chrometrace.json", NULL },
	  .hint = "Open it in chrome://tracing or https://ui.perfetto.dev/.",
	  .timeline = true, .write = write_chrometrace },
	{ .name = "pprof", .ext = "pb.gz", .endings = (const char *const[]){ ".pb", ".pprof", NULL },
	  .hint = "Open it with `pprof -http=: FILE` (or Pyroscope, Grafana, Parca).",
	  .compressed = true, .write = write_pprof },
	{ .name = "json", .ext = "json", .endings = (const char *const[]){ NULL },
	  .hint = "cspy's JSON profile; its fields are described in docs/formats.md.",
	  .sources = true, .write = write_profjson, .diff = true },
	{ .name = "html", .ext = "html", .endings = (const char *const[]){ ".html", ".htm", NULL },
	  .hint = "Open it in a web browser (one file, works offline): flame graph, table, "
		  "source view.",
	  .sources = true, .diff = true, .write = write_html },
	{ .name = "gecko", .ext = "gecko.json",
	  .endings = (const char *const[]){ ".gecko.json", ".firefox.json", NULL },
	  .hint = "Open it at https://profiler.firefox.com/ (Load a profile from file).",
	  .timeline = true, .write = write_gecko },
	{ .name = "pstats", .ext = "pstats", .endings = (const char *const[]){ ".pstats", ".prof", NULL },
	  .hint = "Read it with python3 -m pstats FILE, pstats.Stats(FILE) or snakeviz FILE.",
	  .write = write_pstats,
	  .memory_note = "pstats holds times: the memory bytes are not in this file (they are in the "
			 "other formats: flamegraph, html, json, pprof, speedscope, ...)." },
	{ .name = "jsonl", .ext = "jsonl", .endings = (const char *const[]){ ".jsonl", NULL },
	  .hint = "JSON Lines, written while recording: docs/formats.md; `cspy report` reads it back.",
	  .write = write_jsonl, .stream = &jsonl_stream_ops },
};

#define NWRITERS (sizeof(writers) / sizeof(writers[0]))

const struct writer *writer_at(size_t i)
{
	return i < NWRITERS ? &writers[i] : NULL;
}

const struct writer *writer_find(const char *name)
{
	for (size_t i = 0; i < NWRITERS; i++)
		if (strcasecmp(name, writers[i].name) == 0)     /* py-spy: any case */
			return &writers[i];
	return NULL;
}

const char *writer_names(void)
{
	return "flamegraph, speedscope, raw, chrometrace, pprof, json, html, gecko, pstats or jsonl";
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool writer_path_gzip(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	return n && (ends_with(path, n, ".gz") || ends_with(path, n, ".svgz"));
}

const char *writer_endings(void)
{
	return ".svg, .json, .trace.json, .chrometrace.json, .txt, .collapsed, .folded, .pb, .pprof, "
	       ".gecko.json, .firefox.json, .pstats, .prof, .jsonl, .html, .htm, each also with .gz, and .svgz";
}

/* Does the last component of path (its first n bytes) have an extension: a
 * dot after its first character? */
static bool has_extension(const char *path, size_t n)
{
	size_t b = n;
	while (b > 0 && path[b - 1] != '/')
		b--;
	for (size_t i = b + 1; i < n; i++)
		if (path[i] == '.')
			return true;
	return false;
}

int writer_choose(const char *format, const char *path, const struct writer **out)
{
	if (format) {
		*out = writer_find(format);
		return *out ? 0 : -EINVAL;
	}
	*out = &writers[0];
	if (!path)
		return 0;
	size_t n = strlen(path), best = 0;
	if (ends_with(path, n, ".svgz"))
		return 0;
	if (ends_with(path, n, ".gz"))
		n -= 3;         /* compressed: the ending before .gz chooses */
	bool found = false;
	for (size_t i = 0; i < NWRITERS; i++) {
		for (const char *const *e = writers[i].endings; *e; e++) {
			size_t m = strlen(*e);
			if (m > best && n >= m && strncmp(path + n - m, *e, m) == 0) {
				best = m;
				*out = &writers[i];
				found = true;
			}
		}
	}
	/* No extension at all (/dev/stdout): the flame graph, as always; one
	 * that no writer claims is refused rather than guessed. */
	return found || !has_extension(path, n) ? 0 : -ENOENT;
}
