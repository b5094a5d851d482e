/* SPDX-License-Identifier: MIT
 *
 * `cspy diff BASE NEW`: what changed between two saved profiles (cspy's
 * JSON, `record -f json`, gzip'd or not; agg/load.h reads them). Both are
 * read whole and checked (each must hold samples, neither may be a diff
 * itself), agg/diff.h lines them up by stable frame identities into one
 * differential profile, and that is written, when an output is asked for
 * (-o or -f), by a writer of the table that can show a diff (.diff: the
 * flame graph coloured by change, raw's two counts, json with base counts,
 * the HTML report's diff view), the way record writes its files
 * (writers/outfile.h). Then a short table of the functions whose own share
 * changed most goes to standard output, or to standard error when the diff
 * itself went there; -q leaves it out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/diff.h"
#include "agg/load.h"
#include "agg/profile.h"
#include "cli/cli.h"
#include "cli/complete.h"
#include "cli/opts.h"
#include "cli/session.h"
#include "util/termsafe.h"
#include "util/xalloc.h"
#include "writers/outfile.h"
#include "writers/writer.h"

#define TOP_DEFAULT 10
#define TOP_MAX 100000

struct diff_config {
	const char *base, *new, *output, *format;
	bool full_filenames, nolineno, threads, quiet;
	long top;
};

static const struct diff_config diff_defaults = {
	.base = NULL, .new = NULL, .output = NULL, .format = NULL, .full_filenames = false,
	.nolineno = false, .threads = false, .quiet = false, .top = TOP_DEFAULT,
};

/* "flamegraph, raw or json": the writers that can show a diff. */
static char *diff_writer_names(void)
{
	size_t n = 0;
	for (size_t i = 0; writer_at(i); i++)
		n += writer_at(i)->diff;
	char *s = xstrdup("");
	size_t k = 0;
	for (size_t i = 0; writer_at(i); i++) {
		if (!writer_at(i)->diff)
			continue;
		k++;
		char *t = xasprintf("%s%s%s", s, k == 1 ? "" : k == n ? " or " : ", ", writer_at(i)->name);
		free(s);
		s = t;
	}
	return s;
}

static void usage(FILE *f)
{
	char *names = diff_writer_names();
	fprintf(f,
"Usage: cspy diff [options] BASE NEW\n"
"\n"
"Compare two saved profiles: what got slower (or faster) from BASE to NEW.\n"
"BASE and NEW are profiles cspy saved with record --format json (.json or\n"
".json.gz; '-' reads one of them from standard input). Frames line up by\n"
"function, file and line (native ones by function and module, or module and\n"
"offset), whatever the PIDs, thread ids and addresses of the two runs; shares\n"
"are of each profile's own samples, so runs of different lengths compare.\n"
"\n"
"Options:\n"
"  -o, --output FILE      write the differential profile to FILE ('-': standard\n"
"                         output); without -o and -f only the table is printed\n"
"  -f, --format FORMAT    %s (default: from FILE's extension); a flame graph\n"
"                         is coloured red where a frame's share grew, blue where\n"
"                         it shrank; raw has two counts per stack (BASE NEW),\n"
"                         as flamegraph.pl's difffolded input\n"
"      --nolineno         match Python frames without their line numbers (for\n"
"                         code whose lines moved between the two runs)\n"
"  -t, --threads          keep threads apart, matched by process command line and\n"
"                         thread name, numbers in them ignored (default: every\n"
"                         thread merged)\n"
"      --full-filenames   full file paths in frame names\n"
"      --top N            rows of the table of largest changes (default %d)\n"
"  -q, --quiet            no table, no message\n"
"  -h, --help             show this help\n"
"\n"
"The table lists the functions whose own share (samples with the function as\n"
"the leaf) changed most: base %%, new %% and the change in percentage points.\n"
"\n"
"Examples:\n"
"  cspy record -f json -o before.json -- python app.py\n"
"  cspy record -f json -o after.json -- python app.py\n"
"  cspy diff before.json after.json                    the table of changes\n"
"  cspy diff before.json after.json -o diff.svg        a differential flame graph\n"
"  cspy diff before.json after.json -o diff.txt        flamegraph.pl's two-count form\n"
"  cspy diff --nolineno -q old.json.gz new.json.gz -f json -o d.json\n",
		names, TOP_DEFAULT);
	free(names);
}

enum { O_FULL = 256, O_NOLINENO, O_TOP };

static const struct option diff_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "nolineno", no_argument, NULL, O_NOLINENO },
	{ "threads", no_argument, NULL, 't' },
	{ "full-filenames", no_argument, NULL, O_FULL },
	{ "top", required_argument, NULL, O_TOP },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};
#define DIFF_SHORT ":o:f:tqh"

/* 0, 1 after --help, or -EINVAL (reported). */
static int parse(int argc, char **argv, struct diff_config *c)
{
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, DIFF_SHORT, diff_options, NULL)) != -1) {
		optarg = opts_value(argv[optind - 1], optarg);
		switch (o) {
		case 'o': c->output = optarg; break;
		case 'f': c->format = optarg; break;
		case 't': c->threads = true; break;
		case O_NOLINENO: c->nolineno = true; break;
		case O_FULL: c->full_filenames = true; break;
		case 'q': c->quiet = true; break;
		case O_TOP: {
			char *end;
			errno = 0;
			c->top = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || c->top < 1 || c->top > TOP_MAX) {
				cli_error("--top takes a number from 1 to %d, not '%s'", TOP_MAX, optarg);
				return -EINVAL;
			}
			break;
		}
		case 'h': usage(stdout); return 1;
		case ':':
			cli_error("option '%s' needs a value (see 'cspy diff --help')", argv[optind - 1]);
			return -EINVAL;
		default:
			opts_report_unknown(argv[optind - 1], diff_options, "diff");
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		if (argc - optind > 2)
			cli_error("unexpected argument '%s': give two profiles, BASE and NEW (see "
				  "'cspy diff --help')", argv[optind + 2]);
		else
			cli_error("give two profiles, BASE and NEW (see 'cspy diff --help')");
		return -EINVAL;
	}
	c->base = argv[optind];
	c->new = argv[optind + 1];
	if (!strcmp(c->base, "-") && !strcmp(c->new, "-")) {
		cli_error("only one of BASE and NEW can be standard input ('-')");
		return -EINVAL;
	}
	return 0;
}

/* The writer for -f/-o, NULL with *err set when reported. Without either:
 * NULL, no error (only the table). */
static const struct writer *choose(const struct diff_config *c, bool *bad)
{
	*bad = false;
	if (!c->format && !c->output)
		return NULL;
	const struct writer *w = NULL;
	const char *out = c->output && strcmp(c->output, "-") != 0 ? c->output : NULL;
	int err = writer_choose(c->format, out, &w);
	char *names = diff_writer_names();
	if (err == -ENOENT)
		cli_error("cannot tell the format from the name '%s': use --format (%s)", c->output,
			  names);
	else if (err)
		cli_error("unknown format '%s': use %s", c->format, names);
	else if (!w->diff)
		cli_error("%s cannot show a diff: use %s", w->name, names);
	free(names);
	if (err || !w->diff) {
		*bad = true;
		return NULL;
	}
	return w;
}

/* Load path into *out: 0, or 1 with the error reported. */
static int load(const char *path, struct profile **out)
{
	char msg[512];
	int err = profile_load(path, out, msg, sizeof(msg));
	if (err) {
		cli_error("cannot read '%s': %s", path, msg);
		return 1;
	}
	if (profile__meta(*out)->diff) {
		cli_error("'%s' is a differential profile already (cspy diff): compare two recorded "
			  "ones", path);
		return 1;
	}
	if (profile__total(*out) == 0) {
		cli_error("'%s' holds no samples: there is nothing to compare", path);
		return 1;
	}
	return 0;
}

/* The table of largest changes to f. */
static void print_table(FILE *f, const struct profile *d, const struct diff_config *c)
{
	struct diff_row *rows;
	size_t n = diff_top(d, (size_t)c->top, c->full_filenames, &rows);
	fprintf(f, "Largest changes of own time, in %% of each profile's samples (base: %llu, "
		"new: %llu samples):\n", (unsigned long long)profile__base_total(d),
		(unsigned long long)profile__total(d));
	fprintf(f, "%9s %8s %8s  %s\n", "change", "base %", "new %", "function");
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		const struct diff_row *r = &rows[i];
		if (!r->self_base && !r->self_new)
			continue;       /* never a leaf: its own share is 0 in both */
		double ch = (r->self_new_share - r->self_base_share) * 100;
		char *label = termsafe_escape(r->label);
		fprintf(f, "%+9.2f %8.2f %8.2f  %s\n", ch > -0.005 && ch < 0.005 ? 0.0 : ch,
			r->self_base_share * 100, r->self_new_share * 100, label);
		free(label);
		shown++;
	}
	if (!shown)
		fprintf(f, "(no function)\n");
	diff_rows_free(rows, n);
}

int cmd_diff(int argc, char **argv)
{
	struct diff_config c = diff_defaults;
	int err = parse(argc, argv, &c);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;
	bool bad;
	const struct writer *w = choose(&c, &bad);
	if (bad)
		return EXIT_USAGE;

	int rc = 1;
	struct profile *base = NULL, *new = NULL, *d = NULL;
	char *path = NULL, *title = NULL;
	if (load(c.base, &base) || load(c.new, &new))
		goto out;
	title = xasprintf("cspy diff %s %s", c.base, c.new);
	struct diff_opts dopt = { .no_lines = c.nolineno, .threads = c.threads, .title = title };
	d = diff_build(base, new, &dopt);

	bool to_stdout = false;
	if (w) {
		to_stdout = !c.output || !strcmp(c.output, "-");
		path = xstrdup(to_stdout ? "/dev/stdout" : c.output);
		struct outfile *of = NULL;
		if (session_open_output(path, false, &of))
			goto out;
		if (writer_path_gzip(path) && !w->compressed && (err = outfile__gzip(of)) != 0) {
			cli_error("cannot compress '%s': %s", path, strerror(-err));
			outfile__close(of, err);
			goto out;
		}
		struct writer_opts wo = { .full_filenames = c.full_filenames };
		err = outfile__close(of, w->write(outfile__stream(of), d, &wo));
		if (err) {
			cli_error("writing '%s' failed: %s", path, strerror(-err));
			goto out;
		}
	}
	if (!c.quiet) {
		FILE *tf = to_stdout ? stderr : stdout;
		print_table(tf, d, &c);
		if (w && !to_stdout) {
			cli_note("Wrote a %s diff to '%s'.", w->name, path);
			if (w->hint)
				cli_note("%s", w->hint);
		}
	}
	rc = 0;
out:
	free(path);
	free(title);
	profile__free(d);
	profile__free(base);
	profile__free(new);
	return rc;
}

void cmd_diff_options(struct complete_cmd *out)
{
	*out = (struct complete_cmd){
		.options = xmalloc(sizeof(diff_options)), .shorts = xstrdup(DIFF_SHORT), .usage = usage,
	};
	memcpy(out->options, diff_options, sizeof(diff_options));
}
