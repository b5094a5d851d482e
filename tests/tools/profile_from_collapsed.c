/* SPDX-License-Identifier: MIT
 *
 * Test tool: read collapsed stacks ("frame;frame;...;leaf COUNT" per line,
 * root first, as flamegraph.pl reads them) into a profile and write it in one
 * of cspy's output formats, so the writers can be checked on fixed inputs
 * (golden files, browser validators) without a live process.
 *
 *   profile_from_collapsed [-f FORMAT] [-o OUT] [-t TITLE] [options] [INPUT]
 *
 * Every frame is a Python frame whose name is the frame text itself (no file,
 * no line), so its label is that text. All stacks belong to one thread
 * (pid 1, tid 1); thread or process roots, if wanted, are ordinary frames of
 * the input. Lines that are empty or start with '#' are skipped; a line
 * without a positive count is an error. Formats live in a table: adding one
 * is one row (`flamegraph` today; `speedscope`, `raw`, `chrometrace`, `json`
 * are known names that report "not supported yet").
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "writers/flamegraph.h"
#include "util/xalloc.h"

struct tool_opts {
	const char *title;
	bool full_filenames;
	int width;
	double min_width;
	bool flame;             /* root at the bottom */
	bool reverse;
};

static int write_flamegraph(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct flamegraph_opts o = FLAMEGRAPH_OPTS_DEFAULT;
	o.title = t->title;
	o.full_filenames = t->full_filenames;
	if (t->width)
		o.width = t->width;
	if (t->min_width >= 0)
		o.min_width = t->min_width;
	o.icicle = !t->flame;
	o.reverse = t->reverse;
	return flamegraph_write(f, p, &o);
}

static const struct format {
	const char *name;
	int (*write)(FILE *f, const struct profile *p, const struct tool_opts *t);
} formats[] = {
	{ "flamegraph", write_flamegraph },
	{ "speedscope", NULL },
	{ "raw", NULL },
	{ "chrometrace", NULL },
	{ "json", NULL },
};

static void usage(FILE *f)
{
	fputs("usage: profile_from_collapsed [-f FORMAT] [-o OUT] [-t TITLE] [--full-filenames]\n"
	      "           [--width PX] [--min-width PX] [--flame] [--reverse] [INPUT]\n"
	      "Reads collapsed stacks (\"a;b;c 10\" per line) from INPUT or stdin and writes\n"
	      "them in FORMAT (default flamegraph) to OUT or stdout.\n"
	      "Formats: flamegraph (speedscope, raw, chrometrace, json: not yet)\n"
	      "Example: profile_from_collapsed -f flamegraph -t demo -o out.svg stacks.txt\n", f);
}

/* Parse one line into frames of p; returns 0, or -EINVAL if it is malformed. */
static int add_line(struct profile *p, uint32_t thread, char *line, uint32_t **ids, size_t *cap)
{
	size_t len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (!len || line[0] == '#')
		return 0;
	char *sp = strrchr(line, ' ');
	if (!sp || sp == line)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long count = strtoull(sp + 1, &end, 10);
	if (errno || *end || end == sp + 1 || count == 0 || count > UINT32_MAX)
		return -EINVAL;
	*sp = '\0';
	size_t n = 0;
	for (char *fr = line;;) {
		char *semi = strchr(fr, ';');
		if (semi)
			*semi = '\0';
		*ids = xgrow(*ids, cap, n + 1, sizeof(**ids));
		(*ids)[n++] = profile__frame(p, fr, "", "", -1, PROF_FRAME_PYTHON);
		if (!semi)
			break;
		fr = semi + 1;
	}
	profile__add(p, thread, *ids, n, 0, (uint32_t)count);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, 't' },
		{ "full-filenames", no_argument, NULL, 'F' },
		{ "width", required_argument, NULL, 'w' },
		{ "min-width", required_argument, NULL, 'm' },
		{ "flame", no_argument, NULL, 'b' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct tool_opts t = { .title = NULL, .width = 0, .min_width = -1 };
	const char *format = "flamegraph", *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "f:o:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': out = optarg; break;
		case 't': t.title = optarg; break;
		case 'F': t.full_filenames = true; break;
		case 'w': t.width = atoi(optarg); break;
		case 'm': t.min_width = atof(optarg); break;
		case 'b': t.flame = true; break;
		case 'r': t.reverse = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	const struct format *fmt = NULL;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, format) == 0)
			fmt = &formats[i];
	if (!fmt) {
		fprintf(stderr, "profile_from_collapsed: unknown format '%s'\n", format);
		return 2;
	}
	if (!fmt->write) {
		fprintf(stderr, "profile_from_collapsed: format '%s' is not supported yet\n", format);
		return 2;
	}

	const char *in_name = optind < argc ? argv[optind] : "-";
	FILE *in = strcmp(in_name, "-") == 0 ? stdin : fopen(in_name, "r");
	if (!in) {
		fprintf(stderr, "profile_from_collapsed: %s: %s\n", in_name, strerror(errno));
		return 1;
	}
	struct profile *p = profile__new();
	uint32_t thread = profile__thread(p, 1, 1, "MainThread", "");
	uint32_t *ids = NULL;
	size_t cap = 0, lineno = 0, linecap = 0;
	char *line = NULL;
	int rc = 0;
	while (getline(&line, &linecap, in) >= 0) {
		lineno++;
		if (add_line(p, thread, line, &ids, &cap) < 0) {
			fprintf(stderr, "profile_from_collapsed: %s:%zu: expected \"frame;...;frame COUNT\"\n",
				in_name, lineno);
			rc = 1;
			goto out;
		}
	}
	if (ferror(in)) {
		fprintf(stderr, "profile_from_collapsed: %s: read error\n", in_name);
		rc = 1;
		goto out;
	}
	struct prof_meta meta = { .title = t.title ? t.title : in_name, .command_line = "" };
	profile__set_meta(p, &meta);

	FILE *f = out ? fopen(out, "w") : stdout;
	if (!f) {
		fprintf(stderr, "profile_from_collapsed: %s: %s\n", out, strerror(errno));
		rc = 1;
		goto out;
	}
	int err = fmt->write(f, p, &t);
	if (fclose(f) != 0 && !err)
		err = -EIO;
	if (err) {
		fprintf(stderr, "profile_from_collapsed: writing %s: %s\n", out ? out : "stdout",
			strerror(-err));
		rc = 1;
	}
out:
	free(line);
	free(ids);
	profile__free(p);
	if (in != stdin)
		fclose(in);
	return rc;
}
