/* SPDX-License-Identifier: MIT
 *
 * The format table (see output.h). Extensions: .svg flame graph;
 * .speedscope.json and other .json speedscope (py-spy's JSON output);
 * .trace.json / .chrometrace.json Chrome trace; .txt / .collapsed raw.
 * cspy's own JSON is chosen with --format json.
 */
#include "cli/output.h"

#include <errno.h>
#include <string.h>

#include "cli/cli.h"
#include "writers/chrometrace.h"
#include "writers/collapsed.h"
#include "writers/flamegraph.h"
#include "writers/profjson.h"
#include "writers/speedscope.h"

static const struct {
	const char *name, *ext, *hint;
} formats[] = {
	[OUT_FLAMEGRAPH] = { "flamegraph", "svg", "Open it in a web browser; click to zoom, Ctrl-F to search." },
	[OUT_SPEEDSCOPE] = { "speedscope", "json", "Open it at https://www.speedscope.app/ (or with the speedscope command)." },
	[OUT_RAW] = { "raw", "txt", "Render it with flamegraph.pl or inferno-flamegraph (collapsed stacks)." },
	[OUT_CHROMETRACE] = { "chrometrace", "json", "Open it in chrome://tracing or https://ui.perfetto.dev/." },
	[OUT_JSON] = { "json", "json", "cspy's JSON profile; its fields are described in docs/formats.md." },
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int output_format_choose(const char *format, const char *path, enum output_format *out)
{
	if (format) {
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
			if (strcmp(format, formats[i].name) == 0) {
				*out = (enum output_format)i;
				return 0;
			}
		}
		cli_error("unknown format '%s': use flamegraph, speedscope, raw, chrometrace or json", format);
		return -EINVAL;
	}
	*out = OUT_FLAMEGRAPH;
	if (!path)
		return 0;
	if (ends_with(path, ".trace.json") || ends_with(path, ".chrometrace.json"))
		*out = OUT_CHROMETRACE;
	else if (ends_with(path, ".json"))
		*out = OUT_SPEEDSCOPE;
	else if (ends_with(path, ".txt") || ends_with(path, ".collapsed") || ends_with(path, ".folded"))
		*out = OUT_RAW;
	return 0;
}

const char *output_format_name(enum output_format f) { return formats[f].name; }
const char *output_format_ext(enum output_format f) { return formats[f].ext; }
const char *output_format_hint(enum output_format f) { return formats[f].hint; }
bool output_format_timeline(enum output_format f) { return f == OUT_SPEEDSCOPE || f == OUT_CHROMETRACE; }

int output_write(FILE *f, enum output_format fmt, const struct profile *p, const struct output_opts *o)
{
	switch (fmt) {
	case OUT_FLAMEGRAPH: {
		struct flamegraph_opts fo = FLAMEGRAPH_OPTS_DEFAULT;
		fo.full_filenames = o->full_filenames;
		return flamegraph_write(f, p, &fo);
	}
	case OUT_SPEEDSCOPE: {
		struct speedscope_opts so = SPEEDSCOPE_OPTS_DEFAULT;
		so.full_filenames = o->full_filenames;
		return speedscope_write(f, p, &so);
	}
	case OUT_RAW: {
		struct collapsed_opts co = COLLAPSED_OPTS_DEFAULT;
		co.full_filenames = o->full_filenames;
		return collapsed_write(f, p, &co);
	}
	case OUT_CHROMETRACE: {
		struct chrometrace_opts to = CHROMETRACE_OPTS_DEFAULT;
		to.full_filenames = o->full_filenames;
		return chrometrace_write(f, p, &to);
	}
	case OUT_JSON: {
		struct profjson_opts jo = PROFJSON_OPTS_DEFAULT;
		jo.full_filenames = o->full_filenames;
		return profjson_write(f, p, &jo);
	}
	}
	return -EINVAL;
}
