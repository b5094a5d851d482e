/* SPDX-License-Identifier: MIT
 *
 * Tests of the options record and top share (cli/opts.h), as a table: an
 * argv goes in; out come opts_parse's return value, the exact stderr (every
 * error is one line) and the options that differ from their defaults,
 * written as one line ("pid=1,2 rate=250 F | output=f.svg"; after the bar,
 * the test command's own options). The test command has options of both
 * kinds record and top add (a short one with a value, a long-only one with
 * a bounded number, a flag, a counted flag), so the merging of the two
 * tables is tested too. stderr is caught by pointing fd 2 at a temporary
 * file for each case.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "agg/filter.h"
#include "cli/args.h"
#include "cli/opts.h"
#include "native/unwind.h"
#include "sampler/sampler.h"
#include "util/xalloc.h"

struct own {
	const char *output;
	double delay;
	bool locals;
	int verbose;
};

enum { O_DELAY = OPTS_OWN };

static const struct option own_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "delay", required_argument, NULL, O_DELAY },
	{ "locals", no_argument, NULL, 'l' },
	{ "verbose", no_argument, NULL, 'v' },
	{ 0 }
};

static int parse_own(int key, const char *arg, void *p)
{
	struct own *own = p;
	switch (key) {
	case 'o': own->output = arg; return 0;
	case O_DELAY: return args_parse_double(arg, "--delay", 0.05, &own->delay);
	case 'l': own->locals = true; return 0;
	case 'v': own->verbose++; return 0;
	default: return -EINVAL;
	}
}

static int usage_calls;

static void usage(FILE *f)
{
	(void)f;
	usage_calls++;
}

static const struct opts_cmd test_cmd = {
	.name = "test", .nothing = "test", .own = own_options, .own_short = "o:lv",
	.parse = parse_own, .usage = usage,
};

/* What differs from the defaults, in a fixed order. */
static char *describe(const struct opts *o, const struct own *own)
{
	char buf[2048] = "";
	size_t n = 0;
#define ADD(...) (n += (size_t)snprintf(buf + n, sizeof(buf) - n, __VA_ARGS__))
	for (int i = 0; i < o->target.npids; i++)
		ADD("%s%d", i ? "," : "pid=", (int)o->target.pids[i]);
	if (o->target.npids)
		ADD(" ");
	for (char **a = o->target.command; a && *a; a++)
		ADD("%s%s", a == o->target.command ? "command=" : ",", *a);
	if (o->target.command)
		ADD(" ");
	if (o->rate != 100)
		ADD("rate=%g ", o->rate);
	if (o->duration != 0)
		ADD("duration=%g ", o->duration);
	if (o->subprocesses)
		ADD("s ");
	if (o->idle)
		ADD("i ");
	if (o->gil)
		ADD("g ");
	if (o->nonblocking)
		ADD("nonblocking ");
	if (o->native)
		ADD("native ");
	if (o->full_filenames)
		ADD("full-filenames ");
	if (o->function_agg)
		ADD("F ");
	if (o->function_pattern)
		ADD("function=%s ", o->function_pattern);
	if (o->include)
		ADD("include=%s ", o->include);
	if (o->exclude)
		ADD("exclude=%s ", o->exclude);
	ADD("|");
	if (own->output)
		ADD(" output=%s", own->output);
	if (own->delay != 1)
		ADD(" delay=%g", own->delay);
	if (own->locals)
		ADD(" locals");
	if (own->verbose)
		ADD(" verbose=%d", own->verbose);
#undef ADD
	return xstrdup(buf);
}

struct result {
	int ret;
	char *err;              /* stderr */
	char *got;              /* describe() */
	struct opts o;
};

/* Run opts_parse on "test" + args (NULL-terminated), catching stderr. */
static void run(const char *const *args, struct result *r)
{
	char *argv[OPTS_MAX_PIDS + 16];
	int argc = 0;
	argv[argc++] = "test";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;

	FILE *tmp = tmpfile();
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	struct opts o = OPTS_DEFAULTS;
	struct own own = { .delay = 1 };
	r->ret = opts_parse(argc, argv, &test_cmd, &o, &own);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	long len = ftell(tmp);
	r->err = xcalloc(1, (size_t)(len > 0 ? len : 0) + 1);
	rewind(tmp);
	if (len > 0 && fread(r->err, 1, (size_t)len, tmp) != (size_t)len)
		r->err[0] = '\0';
	fclose(tmp);
	r->got = describe(&o, &own);
	r->o = o;
}

struct tcase {
	const char *argv[12];
	int ret;
	const char *err;        /* exact stderr */
	const char *want;       /* describe(), when ret is 0 */
};

#define E "cspy: error: "
#define SEE " (see 'cspy test --help')\n"
#define HEXPID "(decimal, or hexadecimal after 0x)\n"

static const struct tcase cases[] = {
	/* What to sample. */
	{ { "-p", "4242" }, 0, "", "pid=4242 |" },
	{ { "--pid", "1,2 3" }, 0, "", "pid=1,2,3 |" },
	{ { "--pid=7", "-p", "8" }, 0, "", "pid=7,8 |" },
	{ { "--", "python", "app.py", "-p", "1" }, 0, "", "command=python,app.py,-p,1 |" },
	{ { "-i", "python", "-p", "1" }, 0, "", "command=python,-p,1 i |" },
	{ { 0 }, -EINVAL, E "nothing to test: give --pid PID or a command after '--'" SEE, NULL },
	{ { "-p", "1", "--", "x" }, -EINVAL, E "give either --pid or a command, not both\n", NULL },
	{ { "--pid" }, -EINVAL, E "option '--pid' needs a value" SEE, NULL },
	{ { "-p" }, -EINVAL, E "option '-p' needs a value" SEE, NULL },
	{ { "--pid", "x" }, -EINVAL, E "invalid PID 'x': expected a positive number " HEXPID, NULL },
	{ { "--pid", "0" }, -EINVAL, E "invalid PID '0': expected a positive number " HEXPID, NULL },
	{ { "--pid", "1,-2" }, -EINVAL, E "invalid PID '-2': expected a positive number " HEXPID, NULL },
	{ { "--pid", "1073741824" }, -EINVAL,
	  E "invalid PID '1073741824': expected a positive number " HEXPID, NULL },
	{ { "--pid", " , " }, -EINVAL, E "--pid needs a PID\n", NULL },
	/* How. */
	{ { "-r", "250", "-d", "1.5", "-p", "1" }, 0, "", "pid=1 rate=250 duration=1.5 |" },
	{ { "--rate=0.001", "--duration=0.001", "-p", "1" }, 0, "",
	  "pid=1 rate=0.001 duration=0.001 |" },
	{ { "--rate", "1e7", "-p", "1" }, 0,
	  "cspy> --rate 1e7 is more than cspy can sample: capped at 1000000 samples a second "
	  "(about 10000 a second can be kept up for long)\n", "pid=1 rate=1e+06 |" },
	{ { "-r", "0", "-p", "1" }, -EINVAL, E "invalid --rate '0'\n", NULL },
	{ { "-r", "fast", "-p", "1" }, -EINVAL, E "invalid --rate 'fast'\n", NULL },
	{ { "-d", "-1", "-p", "1" }, -EINVAL, E "invalid --duration '-1'\n", NULL },
	{ { "-d", "2e9", "-p", "1" }, -EINVAL, E "invalid --duration '2e9'\n", NULL },
	{ { "-sig", "-p", "1" }, 0, "", "pid=1 s i g |" },
	{ { "--subprocesses", "--idle", "--gil", "-p", "1" }, 0, "", "pid=1 s i g |" },
	{ { "--full-filenames", "--nonblocking", "-p", "1" }, 0, "",
	  "pid=1 nonblocking full-filenames |" },
	{ { "--sub", "--full", "--nonb", "-p", "1" }, 0, "", "pid=1 s nonblocking full-filenames |" },
	{ { "--include", "a", "--exclude=b", "-p", "1" }, 0, "", "pid=1 include=a exclude=b |" },
	/* Every option with a value also as --opt=value. */
	{ { "--pid=1,2", "--rate=250", "--duration=1.5", "--include=a", "--exclude=b",
	    "--match-function=c" }, 0, "", "pid=1,2 rate=250 duration=1.5 function=c include=a exclude=b |" },
	{ { "--output=f.svg", "--delay=2", "-p", "1" }, 0, "", "pid=1 | output=f.svg delay=2" },
	/* Hexadecimal PIDs (py-spy 0.4.1): 0x/0X, any case; a leading 0 is decimal. */
	{ { "--pid", "0x1a2b" }, 0, "", "pid=6699 |" },
	{ { "-p", "0X1A2B,10,010" }, 0, "", "pid=6699,10,10 |" },
	{ { "--pid=0xff" }, 0, "", "pid=255 |" },
	{ { "--pid", "0x" }, -EINVAL, E "invalid PID '0x': expected a positive number " HEXPID, NULL },
	{ { "--pid", "0x-1" }, -EINVAL, E "invalid PID '0x-1': expected a positive number " HEXPID, NULL },
	{ { "--pid", "0x1g" }, -EINVAL, E "invalid PID '0x1g': expected a positive number " HEXPID, NULL },
	{ { "--pid", "0x40000000" }, -EINVAL,
	  E "invalid PID '0x40000000': expected a positive number " HEXPID, NULL },
	{ { "--pid", "+5" }, -EINVAL, E "invalid PID '+5': expected a positive number " HEXPID, NULL },
	/* clap's -X=VALUE: the '=' is not part of the value (attached only). */
	{ { "-p=1", "-r=50", "-sd=2" }, 0, "", "pid=1 rate=50 duration=2 s |" },
	{ { "-o=f.svg", "-p", "1" }, 0, "", "pid=1 | output=f.svg" },
	{ { "--include", "=x", "-o", "=y", "-p", "1" }, 0, "", "pid=1 include==x | output==y" },
	/* py-spy's --duration default, spelled out. */
	{ { "-d", "unlimited", "-p", "1" }, 0, "", "pid=1 |" },
	{ { "--duration=unlimited", "-p", "1" }, 0, "", "pid=1 |" },
	/* -F/--function is py-spy's flag, never a value: what follows is the
	 * command; the regex filter is --match-function. */
	{ { "--function", "-p", "1" }, 0, "", "pid=1 F |" },
	{ { "-F", "-p", "1" }, 0, "", "pid=1 F |" },
	{ { "--function", "python", "app.py" }, 0, "", "command=python,app.py F |" },
	{ { "--func", "python" }, 0, "", "command=python F |" },
	{ { "-F", "main", "-p", "1" }, 0, "", "command=main,-p,1 F |" },
	{ { "-p", "1", "--function" }, 0, "", "pid=1 F |" },
	{ { "--match-function", "^run", "-p", "1" }, 0, "", "pid=1 function=^run |" },
	{ { "--match-function=^run", "-p", "1" }, 0, "", "pid=1 function=^run |" },
	{ { "--match", "^run", "-p", "1" }, 0, "", "pid=1 function=^run |" },
	{ { "--function=^run", "-p", "1" }, -EINVAL,
	  E "option '--function' takes no value: it aggregates by function (py-spy's -F); to keep "
	  "the samples with a function matching a regex, use --match-function REGEX" SEE, NULL },
	{ { "--idle=yes", "-p", "1" }, -EINVAL, E "option '--idle' takes no value" SEE, NULL },
	{ { "--loc=1", "-p", "1" }, -EINVAL, E "option '--locals' takes no value" SEE, NULL },
	/* The command's own options, among the shared ones. */
	{ { "-o", "f.svg", "--delay", "2", "-l", "-vv", "-p", "1" }, 0, "",
	  "pid=1 | output=f.svg delay=2 locals verbose=2" },
	{ { "-ivlo", "x", "-p", "1" }, 0, "", "pid=1 i | output=x locals verbose=1" },
	{ { "--out=y", "--loc", "-p", "1" }, 0, "", "pid=1 | output=y locals" },
	{ { "--delay", "0.01", "-p", "1" }, -EINVAL, E "invalid --delay '0.01'\n", NULL },
	{ { "--delay" }, -EINVAL, E "option '--delay' needs a value" SEE, NULL },
	{ { "-p", "1", "-o" }, -EINVAL, E "option '-o' needs a value" SEE, NULL },
	/* Unknown and ambiguous options; the first error ends the parse. */
	{ { "--bogus", "-p", "x" }, -EINVAL, E "unknown option '--bogus'" SEE, NULL },
	{ { "-Z", "-p", "1" }, -EINVAL, E "unknown option '-Z'" SEE, NULL },
	{ { "--n", "-p", "1" }, -EINVAL, E "unknown option '--n'" SEE, NULL },
	{ { "-p", "1", "--threads" }, -EINVAL, E "unknown option '--threads'" SEE, NULL },
	{ { "-p", "x", "--bogus" }, -EINVAL, E "invalid PID 'x': expected a positive number " HEXPID, NULL },
	{ { "-r", "0", "--pid" }, -EINVAL, E "invalid --rate '0'\n", NULL },
	/* --help: the command's usage, nothing else checked. */
	{ { "-h" }, 1, "", NULL },
	{ { "-p", "x", "--help" }, -EINVAL, E "invalid PID 'x': expected a positive number " HEXPID, NULL },
	{ { "--he", "-p", "x" }, 1, "", NULL },
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct result r;
		usage_calls = 0;
		run(c->argv, &r);
		if (r.ret != c->ret || strcmp(r.err, c->err) != 0 || (c->want && strcmp(r.got, c->want)))
			fprintf(stderr, "  case %zu (%s ...): ret %d, stderr \"%s\", got \"%s\"\n", i,
				c->argv[0] ? c->argv[0] : "", r.ret, r.err, r.got);
		CHECK_INT(r.ret, c->ret);
		CHECK_STR(r.err, c->err);
		if (c->want)
			CHECK_STR(r.got, c->want);
		CHECK_INT(usage_calls, c->ret == 1);
		free(r.err);
		free(r.got);
	}
}

/* At most OPTS_MAX_PIDS PIDs, over any number of --pid. */
static void test_too_many_pids(void)
{
	char *list = xstrdup("1");
	for (int i = 2; i <= OPTS_MAX_PIDS; i++) {
		char *l = xasprintf("%s,%d", list, i);
		free(list);
		list = l;
	}
	const char *full[] = { "-p", list, NULL };
	struct result r;
	run(full, &r);
	CHECK_INT(r.ret, 0);
	CHECK_INT(r.o.target.npids, OPTS_MAX_PIDS);
	CHECK_INT(r.o.target.pids[OPTS_MAX_PIDS - 1], OPTS_MAX_PIDS);
	free(r.err);
	free(r.got);
	const char *more[] = { "-p", list, "-p", "9", NULL };
	run(more, &r);
	CHECK_INT(r.ret, -EINVAL);
	CHECK_STR(r.err, E "too many PIDs (at most 256)\n");
	free(r.err);
	free(r.got);
	free(list);
}

/* --native: refused without libdw, and with --nonblocking. */
static void test_native(void)
{
	const char *why;
	bool can = unwind_available(&why);
	struct result r;
	const char *native[] = { "--native", "-p", "1", NULL };
	run(native, &r);
	CHECK_INT(r.ret, can ? 0 : -ENOTSUP);
	if (can)
		CHECK_STR(r.got, "pid=1 native |");
	free(r.err);
	free(r.got);
	const char *both[] = { "-n", "--nonblocking", "-p", "1", NULL };
	run(both, &r);
	CHECK_INT(r.ret, can ? -EINVAL : -ENOTSUP);
	if (can)
		CHECK_STR(r.err, E "--native cannot be used with --nonblocking: unwinding a native "
			  "stack needs the thread paused\n");
	free(r.err);
	free(r.got);
}

/* The filter exists only when a pattern was given; a bad one is refused. */
static void test_filter(void)
{
	struct opts o = OPTS_DEFAULTS;
	struct stack_filter *f = (struct stack_filter *)&o;
	CHECK_INT(opts_filter(&o, &f), 0);
	CHECK(f == NULL);
	o.include = "run";
	CHECK_INT(opts_filter(&o, &f), 0);
	CHECK(f != NULL);
	stack_filter__free(f);

	FILE *tmp = tmpfile();
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	o.exclude = "(";
	int err = opts_filter(&o, &f);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fclose(tmp);
	CHECK_INT(err, -EINVAL);
	CHECK(f == NULL);
}

/* The shared options reach the sampler's configuration; the rest of it is
 * left alone. */
static void test_sampler_config(void)
{
	struct opts o = OPTS_DEFAULTS;
	o.rate = 250;
	o.duration = 3;
	o.nonblocking = o.gil = o.idle = o.subprocesses = o.native = true;
	struct stack_filter *filter = (struct stack_filter *)&o;   /* only compared */
	struct sampler_config sc = { .threads_root = true, .no_lineno = true, .gil_stats = true };
	opts_sampler_config(&o, filter, &sc);
	CHECK(sc.rate_hz == 250);
	CHECK(sc.duration_s == 3);
	CHECK(sc.nonblocking && sc.gil_only && sc.include_idle && sc.subprocesses && sc.native);
	CHECK(sc.filter == filter);
	CHECK(sc.threads_root && sc.no_lineno && sc.gil_stats);
	CHECK(!sc.function_lines && !sc.interps_root);
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_too_many_pids);
	TEST_RUN(test_native);
	TEST_RUN(test_filter);
	TEST_RUN(test_sampler_config);
	return TEST_REPORT();
}
