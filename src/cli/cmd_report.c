/* SPDX-License-Identifier: MIT
 *
 * `cspy report PROFILE`: render a saved profile (cspy's JSON, written by
 * `record -f json`; agg/load.h reads it, gzip'd or not) into any output
 * format of the writer table, the HTML report by default. The profile is
 * read whole first, then the output is opened and written the way record
 * writes its own (writers/outfile.h: a temporary file renamed into place,
 * .gz compressed), so the input may even be the output's own path. A
 * differential profile (cspy diff -f json) goes only to writers that can
 * show one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/load.h"
#include "agg/profile.h"
#include "cli/cli.h"
#include "cli/complete.h"
#include "cli/opts.h"
#include "cli/session.h"
#include "util/xalloc.h"
#include "writers/outfile.h"
#include "writers/writer.h"

struct report_config {
	const char *input, *output, *format;
	bool full_filenames;
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: cspy report [options] PROFILE\n"
"\n"
"Render a saved profile into any format (an HTML report by default). PROFILE is\n"
"a profile cspy saved with record --format json (.json, or .json.gz); '-'\n"
"reads standard input.\n"
"\n"
"Options:\n"
"  -o, --output FILE      output file (default: PROFILE's name with the format's\n"
"                         extension, in the current directory; '-': standard\n"
"                         output)\n"
"  -f, --format FORMAT    output format (default: from FILE's extension, else\n"
"                         html): %s\n"
"      --full-filenames   show full file names instead of package-relative ones\n"
"  -q, --quiet            no message when done\n"
"  -h, --help             print help\n"
"\n"
"Examples:\n"
"  cspy record -f json -o p.json --pid 4242; cspy report p.json   (p.html)\n"
"  cspy report p.json -o p.txt              the same run as collapsed stacks\n"
"  cspy report p.json.gz -f speedscope -o -   to standard output\n",
		writer_names());
}

enum { O_FULL = 256 };

static const struct option report_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "full-filenames", no_argument, NULL, O_FULL },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};
#define REPORT_SHORT ":o:f:qh"

/* 0, 1 after --help, or -EINVAL (reported). */
static int parse(int argc, char **argv, struct report_config *c)
{
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, REPORT_SHORT, report_options, NULL)) != -1) {
		optarg = opts_value(argv[optind - 1], optarg);
		switch (o) {
		case 'o': c->output = optarg; break;
		case 'f': c->format = optarg; break;
		case O_FULL: c->full_filenames = true; break;
		case 'q': c->quiet = true; break;
		case 'h': usage(stdout); return 1;
		case ':':
			cli_error("option '%s' needs a value (see 'cspy report --help')", argv[optind - 1]);
			return -EINVAL;
		default:
			opts_report_unknown(argv[optind - 1], report_options, "report");
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		cli_error("no PROFILE to read (see 'cspy report --help')");
		return -EINVAL;
	}
	c->input = argv[optind++];
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see 'cspy report --help')", argv[optind]);
		return -EINVAL;
	}
	if (strcmp(c->input, "-") == 0 && !c->output) {
		cli_error("reading standard input: give the output file with -o");
		return -EINVAL;
	}
	return 0;
}

/* The default output: the input's file name, without its directory, .gz
 * and last extension, with ext. */
static char *default_output(const char *input, const char *ext)
{
	const char *base = strrchr(input, '/');
	base = base ? base + 1 : input;
	size_t n = strlen(base);
	if (n > 3 && strcmp(base + n - 3, ".gz") == 0)
		n -= 3;
	for (size_t i = n; i > 1; i--)
		if (base[i - 1] == '.') {
			n = i - 1;
			break;
		}
	return xasprintf("%.*s.%s", (int)n, base, ext);
}

static const struct writer *choose(const struct report_config *c)
{
	const struct writer *w = NULL;
	if (c->format || c->output) {
		const char *out = c->output && strcmp(c->output, "-") != 0 ? c->output : NULL;
		int err = writer_choose(c->format, out, &w);
		if (err == -ENOENT) {
			cli_error("cannot tell the format from the name '%s': use one of %s, or --format",
				  c->output, writer_endings());
			return NULL;
		} else if (err) {
			cli_error("unknown format '%s': use %s", c->format, writer_names());
			return NULL;
		}
		if (c->format || (out && strchr(out, '.')))
			return w;
	}
	w = writer_find("html");
	return w ? w : writer_at(0);
}

int cmd_report(int argc, char **argv)
{
	struct report_config c = { 0 };
	int err = parse(argc, argv, &c);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;
	const struct writer *w = choose(&c);
	if (!w)
		return EXIT_USAGE;

	struct profile *p = NULL;
	char msg[512];
	err = profile_load(c.input, &p, msg, sizeof(msg));
	if (err) {
		cli_error("cannot read '%s': %s", c.input, msg);
		return 1;
	}
	if (msg[0])     /* read, with a warning (a jsonl recording cut short) */
		cli_note("Warning: '%s': %s", c.input, msg);
	int rc = 1;
	char *path = NULL;
	struct outfile *out = NULL;
	if (profile__meta(p)->diff && !w->diff) {
		cli_error("'%s' is a differential profile (cspy diff), which %s cannot show: use a "
			  "format that can (see 'cspy diff --help')", c.input, w->name);
		goto out;
	}
	if (!c.output || strcmp(c.output, "-") == 0)
		path = c.output ? xstrdup("/dev/stdout") : default_output(c.input, w->ext);
	else
		path = xstrdup(c.output);
	if (session_open_output(path, false, &out))
		goto out;
	if (writer_path_gzip(path) && !w->compressed && (err = outfile__gzip(out)) != 0) {
		cli_error("cannot compress '%s': %s", path, strerror(-err));
		outfile__close(out, err);
		goto out;
	}
	struct writer_opts wo = { .full_filenames = c.full_filenames };
	err = outfile__close(out, w->write(outfile__stream(out), p, &wo));
	if (err) {
		cli_error("writing '%s' failed: %s", path, strerror(-err));
		goto out;
	}
	if (!c.quiet && strcmp(path, "/dev/stdout") != 0) {
		cli_note("Wrote %s data to '%s' (%llu samples).", w->name, path,
			 (unsigned long long)profile__total(p));
		if (w->hint)
			cli_note("%s", w->hint);
		if (w->memory_note && profile__meta(p)->memory)
			cli_note("%s", w->memory_note);
	}
	rc = 0;
out:
	free(path);
	profile__free(p);
	return rc;
}

void cmd_report_options(struct complete_cmd *out)
{
	*out = (struct complete_cmd){
		.options = xmalloc(sizeof(report_options)), .shorts = xstrdup(REPORT_SHORT), .usage = usage,
	};
	memcpy(out->options, report_options, sizeof(report_options));
}
