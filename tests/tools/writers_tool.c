/* SPDX-License-Identifier: MIT
 *
 * Test tool for every writer of `record` (flamegraph, speedscope, raw
 * (collapsed), chrometrace, json, gecko, pstats, pprof, html): read collapsed
 * stacks into a profile with a
 * fixed timeline and write it in one format, so the writers can be checked on
 * fixed inputs (golden files, tests/validate/'s browser and schema checks)
 * and timed, without a live process.
 *
 *   writers_tool -f FORMAT [-o OUT] [-t TITLE] [--full-filenames]
 *                [--unit-samples] [--pretty] [--width PX] [--min-width PX]
 *                [--flame] [--reverse] [--sampled-marker] [--time N]
 *                [INPUT | --synth S,N[,R]]
 *
 * Input: one stack per line, "frame;frame;...;leaf COUNT", root first, in
 * time order. A frame is "name (file:line)", "name (file)" or "name"; the
 * file is the short file name and "/src/FILE" the full one (unless it starts
 * with '/'). A prefix "native:", "process:", "thread:", "interp:" or
 * "other:" sets the frame's kind (default Python). In frames, "\;" is a literal ';', "\n" a
 * newline, "\\" a backslash and "\xHH" any byte. The COUNT samples of a line
 * get consecutive timestamps, one sampling period apart, on the current
 * thread's clock (each thread's clock starts at 0). Lines that are empty or
 * start with '#' are skipped. Directives:
 *
 *   !thread PID TID [NAME]    samples that follow belong to this thread
 *                             (default: pid 1, tid 1, "MainThread")
 *   !cmdline TEXT             process command line of threads created after
 *   !idle N                   advance the current thread's clock N periods
 *   !rate HZ                  sampling rate (default 100)
 *   !behind HZ                sampling fell behind: HZ was requested (meta
 *                             rate_hz), the samples came at !rate (spaced
 *                             so, and meta ticks = the longest thread's
 *                             clock: ticks / duration is !rate)
 *   !title TEXT, !command_line TEXT, !python_version TEXT, !start NS,
 *   !errors N                 profile metadata
 *
 * --plain reads frames as flamegraph.pl does: each frame is a Python frame
 * whose name is its whole text (no file, no line, no kind prefix, no escapes:
 * every ';' separates frames). The flame graph golden file and
 * tests/validate/run_svg.sh use it.
 *
 * --sampled-marker (pstats) adds CPython 3.15's ('__sampled__',) key.
 * --unit-samples (speedscope), --pretty (json), and --width, --min-width,
 * --flame (root at the bottom) and --reverse (flamegraph) set the writer's
 * options of those names.
 *
 * --synth S,N[,R] builds a synthetic profile instead: S distinct stacks
 * (depth 12 to 19) spread over 4 threads, N samples, a new random stack every
 * R samples (default 1: the worst case for the timeline formats).
 * --time N writes N times and prints the fastest time to stderr.
 *
 * --base FILE reads a second input of the same form as the BASE profile of a
 * differential one (profile__add_base, meta.diff: what `cspy diff` builds);
 * its directives only choose threads. --source NAME=PATH gives the frames'
 * file NAME the text of the local file PATH, --source-error NAME=TEXT says
 * why NAME has none (profile__set_source; both repeatable): the HTML
 * report's source view on fixed inputs.
 *
 * Example: writers_tool -f speedscope -o out.json tests/golden/speedscope/input.txt
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/profile.h"
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
#include "util/xalloc.h"

struct tool_opts {
	const char *title;
	bool full_filenames;
	bool unit_samples;
	bool pretty;
	int width;              /* flamegraph: 0 = the writer's default */
	double min_width;       /* flamegraph: < 0 = the writer's default */
	bool flame;             /* flamegraph: root at the bottom */
	bool reverse;
	bool plain;             /* frames as flamegraph.pl reads them (see the top) */
	bool sampled_marker;    /* pstats: CPython 3.15's ('__sampled__',) key */
};

static int w_flamegraph(FILE *f, const struct profile *p, const struct tool_opts *t)
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

static int w_speedscope(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct speedscope_opts o = SPEEDSCOPE_OPTS_DEFAULT;
	o.title = t->title;
	o.full_filenames = t->full_filenames;
	o.unit_samples = t->unit_samples;
	return speedscope_write(f, p, &o);
}

static int w_raw(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct collapsed_opts o = COLLAPSED_OPTS_DEFAULT;
	o.full_filenames = t->full_filenames;
	return collapsed_write(f, p, &o);
}

static int w_chrometrace(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct chrometrace_opts o = CHROMETRACE_OPTS_DEFAULT;
	o.full_filenames = t->full_filenames;
	return chrometrace_write(f, p, &o);
}

static int w_json(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct profjson_opts o = PROFJSON_OPTS_DEFAULT;
	o.full_filenames = t->full_filenames;
	o.pretty = t->pretty;
	return profjson_write(f, p, &o);
}

static int w_html(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct html_opts o = HTML_OPTS_DEFAULT;
	o.title = t->title;
	o.full_filenames = t->full_filenames;
	return html_write(f, p, &o);
}

static int w_jsonl(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	(void)t;
	return jsonl_write(f, p);
}

static int w_gecko(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct gecko_opts o = GECKO_OPTS_DEFAULT;
	o.full_filenames = t->full_filenames;
	return gecko_write(f, p, &o);
}

static int w_pstats(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	struct pstats_opts o = PSTATS_OPTS_DEFAULT;
	o.sampled_marker = t->sampled_marker;
	return pstats_write(f, p, &o);
}

static int w_pprof(FILE *f, const struct profile *p, const struct tool_opts *t)
{
	(void)t;
	struct pprof_opts o = PPROF_OPTS_DEFAULT;
	return pprof_write(f, p, &o);
}

static const struct format {
	const char *name;
	int (*write)(FILE *f, const struct profile *p, const struct tool_opts *t);
} formats[] = {
	{ "flamegraph", w_flamegraph },
	{ "speedscope", w_speedscope },
	{ "raw", w_raw },
	{ "collapsed", w_raw },
	{ "chrometrace", w_chrometrace },
	{ "json", w_json },
	{ "html", w_html },
	{ "gecko", w_gecko },
	{ "pstats", w_pstats },
	{ "pprof", w_pprof },
	{ "jsonl", w_jsonl },
};

/* Reading state: the current thread and every thread's clock. */
struct reader {
	struct profile *p;
	uint32_t thread;
	bool have_thread;
	uint64_t *clock;        /* per thread id, in sampling periods */
	size_t clock_cap;
	char *cmdline;
	double rate;
	double requested;               /* !behind: the requested rate, 0: none */
	struct prof_meta meta;
	char *title, *command_line, *python_version;
	uint32_t *ids;
	size_t ids_cap;
	bool plain;
	bool base;              /* --base: the lines are base counts (profile__add_base) */
};

static uint64_t period_ns(const struct reader *r)
{
	return r->rate > 0 ? (uint64_t)(1e9 / r->rate) : 1000000;
}

static uint32_t reader_thread(struct reader *r, pid_t pid, pid_t tid, const char *name)
{
	uint32_t t = profile__thread(r->p, pid, tid, name, r->cmdline);
	size_t old = r->clock_cap;
	r->clock = xgrow(r->clock, &r->clock_cap, t + 1, sizeof(*r->clock));
	if (r->clock_cap > old)
		memset(r->clock + old, 0, (r->clock_cap - old) * sizeof(*r->clock));
	r->thread = t;
	r->have_thread = true;
	return t;
}

/* Decode the escapes of one frame in place; returns its new length. */
static size_t unescape(char *s)
{
	char *w = s;
	for (const char *c = s; *c; c++) {
		if (*c != '\\' || !c[1]) {
			*w++ = *c;
			continue;
		}
		c++;
		if (*c == 'n') {
			*w++ = '\n';
		} else if (*c == 'x' && c[1] && c[2]) {
			char hex[3] = { c[1], c[2], 0 };
			*w++ = (char)strtoul(hex, NULL, 16);
			c += 2;
		} else {
			*w++ = *c;      /* \; \\ and anything else: the character itself */
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static uint32_t parse_frame(struct profile *p, char *text)
{
	static const struct { const char *prefix; enum prof_frame_kind kind; } kinds[] = {
		{ "native:", PROF_FRAME_NATIVE }, { "process:", PROF_FRAME_PROCESS },
		{ "thread:", PROF_FRAME_THREAD }, { "other:", PROF_FRAME_OTHER },
		{ "interp:", PROF_FRAME_INTERP },
	};
	enum prof_frame_kind kind = PROF_FRAME_PYTHON;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(text, kinds[i].prefix, n) == 0) {
			kind = kinds[i].kind;
			text += n;
			break;
		}
	}
	size_t len = unescape(text);
	const char *file = "";
	int line = -1;
	char *open = NULL;
	for (char *c = strstr(text, " ("); c; c = strstr(c + 1, " ("))
		open = c;
	if (kind != PROF_FRAME_PROCESS && kind != PROF_FRAME_THREAD && kind != PROF_FRAME_OTHER &&
	    kind != PROF_FRAME_INTERP &&
	    open && len && text[len - 1] == ')') {
		text[len - 1] = '\0';
		*open = '\0';
		file = open + 2;
		char *colon = strrchr(file, ':');
		if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
			line = atoi(colon + 1);
			*colon = '\0';
		}
	}
	char *full = file[0] == '/' || !file[0] ? xstrdup(file) : xasprintf("/src/%s", file);
	uint32_t id = profile__frame(p, text, full, file, line, kind);
	free(full);
	return id;
}

static int read_directive(struct reader *r, char *line)
{
	char *arg = strchr(line, ' ');
	if (arg)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	if (strcmp(line, "!thread") == 0) {
		char *e1, *e2;
		long pid = strtol(arg, &e1, 10), tid = strtol(e1, &e2, 10);
		if (e1 == arg || e2 == e1 || (*e2 && *e2 != ' '))
			return -EINVAL;
		reader_thread(r, (pid_t)pid, (pid_t)tid, *e2 ? e2 + 1 : "");
	} else if (strcmp(line, "!cmdline") == 0) {
		free(r->cmdline);
		r->cmdline = xstrdup(arg);
	} else if (strcmp(line, "!idle") == 0) {
		if (!r->have_thread)
			reader_thread(r, 1, 1, "MainThread");
		r->clock[r->thread] += strtoull(arg, NULL, 10);
	} else if (strcmp(line, "!rate") == 0) {
		r->rate = atof(arg);
	} else if (strcmp(line, "!behind") == 0) {
		r->requested = atof(arg);
	} else if (strcmp(line, "!title") == 0) {
		free(r->title);
		r->title = xstrdup(arg);
	} else if (strcmp(line, "!command_line") == 0) {
		free(r->command_line);
		r->command_line = xstrdup(arg);
	} else if (strcmp(line, "!python_version") == 0) {
		free(r->python_version);
		r->python_version = xstrdup(arg);
	} else if (strcmp(line, "!start") == 0) {
		r->meta.start_unix_ns = strtoull(arg, NULL, 10);
	} else if (strcmp(line, "!errors") == 0) {
		r->meta.errors = strtoull(arg, NULL, 10);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int read_line(struct reader *r, char *line)
{
	size_t len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (!len || line[0] == '#')
		return 0;
	if (line[0] == '!')
		return read_directive(r, line);
	char *sp = strrchr(line, ' ');
	if (!sp || sp == line)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long count = strtoull(sp + 1, &end, 10);
	if (errno || *end || end == sp + 1 || count == 0 || count > UINT32_MAX)
		return -EINVAL;
	*sp = '\0';
	if (!r->have_thread)
		reader_thread(r, 1, 1, "MainThread");
	size_t n = 0;
	for (char *fr = line;;) {
		char *semi = fr;
		while (*semi && *semi != ';')
			semi += semi[0] == '\\' && semi[1] && !r->plain ? 2 : 1;
		bool last = !*semi;
		*semi = '\0';
		r->ids = xgrow(r->ids, &r->ids_cap, n + 1, sizeof(*r->ids));
		r->ids[n++] = r->plain ? profile__frame(r->p, fr, "", "", -1, PROF_FRAME_PYTHON) :
					 parse_frame(r->p, fr);
		if (last)
			break;
		fr = semi + 1;
	}
	if (r->base) {
		profile__add_base(r->p, r->thread, r->ids, n, count);
		return 0;
	}
	for (unsigned long long i = 0; i < count; i++)
		profile__add(r->p, r->thread, r->ids, n, r->clock[r->thread]++ * period_ns(r), 1);
	return 0;
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* The synthetic profile of --synth (see the top of the file). */
static void synthesize(struct reader *r, unsigned long nstacks, unsigned long nsamples,
		       unsigned long runlen)
{
	static const char *const prefix[] = { "<module>", "main", "run", "dispatch", "handle" };
	uint32_t threads[4];
	char name[64], file[64];
	for (int t = 0; t < 4; t++) {
		snprintf(name, sizeof(name), t ? "Worker-%d" : "MainThread", t);
		threads[t] = reader_thread(r, 1000, 1000 + t, name);
	}
	uint32_t ids[32];
	uint64_t seed = 42;
	unsigned long cur = 0;
	for (unsigned long s = 0; s < nsamples; s++) {
		if (s % (runlen ? runlen : 1) == 0)
			cur = (unsigned long)(lcg(&seed) % (nstacks ? nstacks : 1));
		size_t n = 0;
		for (size_t k = 0; k < sizeof(prefix) / sizeof(prefix[0]); k++)
			ids[n++] = profile__frame(r->p, prefix[k], "/src/app/main.py", "app/main.py",
						  (int)(10 * k + 1), PROF_FRAME_PYTHON);
		/* Base-10 digits of the stack number pick the frames below. */
		unsigned long v = cur;
		size_t extra = 7 + cur % 8;
		for (size_t level = 0; level < extra; level++) {
			snprintf(name, sizeof(name), "func_%zu_%lu", level, v % 10);
			snprintf(file, sizeof(file), "pkg/mod%zu.py", level);
			char *full = xasprintf("/src/%s", file);
			ids[n++] = profile__frame(r->p, name, full, file, (int)(v % 10) + 1, PROF_FRAME_PYTHON);
			free(full);
			v /= 10;
		}
		uint32_t t = threads[cur % 4];
		profile__add(r->p, t, ids, n, r->clock[t]++ * period_ns(r), 1);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fputs("usage: writers_tool -f FORMAT [-o OUT] [-t TITLE] [--full-filenames] [--unit-samples]\n"
	      "                    [--pretty] [--width PX] [--min-width PX] [--flame] [--reverse] [--plain]\n"
	      "                    [--sampled-marker] [--base FILE] [--source NAME=PATH]\n"
	      "                    [--source-error NAME=TEXT]\n"
	      "                    [--time N] [INPUT | --synth STACKS,SAMPLES[,RUNLEN]]\n"
	      "Reads collapsed stacks (\"a;b;c 10\" per line, with !thread/!rate/!idle/... directives)\n"
	      "from INPUT or stdin and writes them in FORMAT to OUT or stdout.\n"
	      "Formats: flamegraph, speedscope, raw (or collapsed), chrometrace, json, gecko, pstats,\n"
	      "         jsonl, pprof, html\n"
	      "Examples: writers_tool -f speedscope -o out.json tests/golden/speedscope/input.txt\n"
	      "          writers_tool -f flamegraph -t demo -o out.svg stacks.txt\n"
	      "          writers_tool -f chrometrace --synth 10000,1000000 --time 3 -o /dev/null\n", f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, 't' },
		{ "full-filenames", no_argument, NULL, 'F' },
		{ "unit-samples", no_argument, NULL, 'U' },
		{ "pretty", no_argument, NULL, 'P' },
		{ "width", required_argument, NULL, 'w' },
		{ "min-width", required_argument, NULL, 'm' },
		{ "flame", no_argument, NULL, 'b' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "plain", no_argument, NULL, 'p' },
		{ "sampled-marker", no_argument, NULL, 'M' },
		{ "synth", required_argument, NULL, 'S' },
		{ "time", required_argument, NULL, 'T' },
		{ "base", required_argument, NULL, 'B' },
		{ "source", required_argument, NULL, 's' },
		{ "source-error", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct tool_opts t = { .min_width = -1 };
	const char *format = NULL, *out = NULL, *synth = NULL, *base = NULL;
	const char *srcs[64];
	bool src_err[64];
	size_t nsrcs = 0;
	int repeat = 0, c;
	while ((c = getopt_long(argc, argv, "f:o:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': out = optarg; break;
		case 't': t.title = optarg; break;
		case 'F': t.full_filenames = true; break;
		case 'U': t.unit_samples = true; break;
		case 'P': t.pretty = true; break;
		case 'w': t.width = atoi(optarg); break;
		case 'm': t.min_width = atof(optarg); break;
		case 'b': t.flame = true; break;
		case 'r': t.reverse = true; break;
		case 'p': t.plain = true; break;
		case 'M': t.sampled_marker = true; break;
		case 'S': synth = optarg; break;
		case 'T': repeat = atoi(optarg); break;
		case 'B': base = optarg; break;
		case 's': case 'E':
			if (nsrcs == sizeof(srcs) / sizeof(srcs[0]) || !strchr(optarg, '=')) {
				usage(stderr);
				return 2;
			}
			src_err[nsrcs] = c == 'E';
			srcs[nsrcs++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!format || argc - optind > 1 || (synth && optind < argc)) {
		usage(stderr);
		return 2;
	}
	const struct format *fmt = NULL;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, format) == 0)
			fmt = &formats[i];
	if (!fmt) {
		fprintf(stderr, "writers_tool: unknown format '%s'\n", format);
		return 2;
	}

	struct reader r = { .p = profile__new(), .rate = 100, .plain = t.plain };
	r.meta.start_unix_ns = 1700000000000000000ull;
	const char *in_name = optind < argc ? argv[optind] : "-";
	FILE *in = NULL;
	char *line = NULL;
	int rc = 0;
	if (synth) {
		unsigned long s = 0, n = 0, rl = 1;
		if (sscanf(synth, "%lu,%lu,%lu", &s, &n, &rl) < 2 || !s) {
			usage(stderr);
			rc = 2;
			goto out;
		}
		in_name = "synthetic";
		synthesize(&r, s, n, rl);
	} else {
		in = strcmp(in_name, "-") == 0 ? stdin : fopen(in_name, "r");
		if (!in) {
			fprintf(stderr, "writers_tool: %s: %s\n", in_name, strerror(errno));
			rc = 1;
			goto out;
		}
		size_t lineno = 0, linecap = 0;
		while (getline(&line, &linecap, in) >= 0) {
			lineno++;
			if (read_line(&r, line) < 0) {
				fprintf(stderr, "writers_tool: %s:%zu: expected \"frame;...;frame COUNT\" "
					"or a directive\n", in_name, lineno);
				rc = 1;
				goto out;
			}
		}
		if (ferror(in)) {
			fprintf(stderr, "writers_tool: %s: read error\n", in_name);
			rc = 1;
			goto out;
		}
	}
	if (base && !rc) {
		FILE *bf = fopen(base, "r");
		if (!bf) {
			fprintf(stderr, "writers_tool: %s: %s\n", base, strerror(errno));
			rc = 1;
			goto out;
		}
		r.base = true;
		r.have_thread = false;
		size_t lineno = 0, linecap = 0;
		while (!rc && getline(&line, &linecap, bf) >= 0) {
			lineno++;
			if (read_line(&r, line) < 0) {
				fprintf(stderr, "writers_tool: %s:%zu: expected \"frame;...;frame COUNT\" "
					"or a directive\n", base, lineno);
				rc = 1;
			}
		}
		fclose(bf);
		if (rc)
			goto out;
		r.meta.diff = true;
	}
	for (size_t i = 0; i < nsrcs; i++) {
		char *name = xstrdup(srcs[i]), *eq = strchr(name, '=');
		*eq = '\0';
		if (src_err[i]) {
			profile__set_source(r.p, name, NULL, 0, eq + 1);
		} else {
			FILE *sf = fopen(eq + 1, "rb");
			char *text = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&text, &len);
			int ch;
			while (sf && (ch = fgetc(sf)) != EOF)
				fputc(ch, mem);
			fclose(mem);
			if (!sf) {
				fprintf(stderr, "writers_tool: %s: %s\n", eq + 1, strerror(errno));
				rc = 1;
			} else {
				fclose(sf);
				profile__set_source(r.p, name, text, len, NULL);
			}
			free(text);
		}
		free(name);
		if (rc)
			goto out;
	}
	uint64_t duration = 0, ticks = 0;
	for (size_t i = 0; i < profile__nthreads(r.p); i++)
		if (r.clock[i] * period_ns(&r) > duration) {
			duration = r.clock[i] * period_ns(&r);
			ticks = r.clock[i];
		}
	r.meta.title = r.title ? r.title : in_name;
	r.meta.command_line = r.command_line ? r.command_line : "";
	r.meta.python_version = r.python_version ? r.python_version : "";
	r.meta.rate_hz = r.requested > 0 ? r.requested : r.rate;
	r.meta.ticks = r.requested > 0 ? ticks : 0;
	r.meta.duration_ns = duration;
	r.meta.samples = profile__total(r.p);
	profile__set_meta(r.p, &r.meta);

	double best = 0;
	for (int i = 0; i < (repeat > 0 ? repeat : 1) && !rc; i++) {
		FILE *f = out ? fopen(out, "w") : stdout;
		if (!f) {
			fprintf(stderr, "writers_tool: %s: %s\n", out, strerror(errno));
			rc = 1;
			break;
		}
		double t0 = now_s();
		int err = fmt->write(f, r.p, &t);
		double dt = now_s() - t0;
		if (!i || dt < best)
			best = dt;
		if (f != stdout && fclose(f) != 0 && !err)
			err = -EIO;
		if (err) {
			fprintf(stderr, "writers_tool: writing %s: %s\n", out ? out : "stdout", strerror(-err));
			rc = 1;
		}
	}
	if (repeat > 0 && !rc)
		fprintf(stderr, "%s: %zu stacks, %" PRIu64 " samples: %.1f ms\n", format,
			profile__nstacks(r.p), profile__total(r.p), best * 1e3);
out:
	free(line);
	free(r.ids);
	free(r.clock);
	free(r.cmdline);
	free(r.title);
	free(r.command_line);
	free(r.python_version);
	profile__free(r.p);
	if (in && in != stdin)
		fclose(in);
	return rc;
}
