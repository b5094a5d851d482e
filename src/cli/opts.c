/* SPDX-License-Identifier: MIT
 *
 * The shared options of record and top (see opts.h). opts_parse builds one
 * getopt_long table and one short-option string from the shared entries and
 * the command's own, in that order, and runs a single pass: shared keys are
 * handled here, every other key goes to the command's parse function. The
 * short string starts with "+:": options end at the first non-option (the
 * command to launch keeps its own flags), and a missing value is told
 * apart from an unknown option.
 */
#include "cli/opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/filter.h"
#include "agg/threadsel.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "sampler/sampler.h"
#include "util/xalloc.h"

enum { O_FULL = 256, O_NONBLOCKING, O_INCLUDE, O_EXCLUDE, O_MATCH_FUNCTION, O_THREAD, O_QUALNAME,
       O_MODE, O_NO_GC, O_NO_SPLIT };
enum { O_ASYNC = 320 };  /* --async (record/top: asyncio tasks) */
enum { O_MEMORY = 330 }; /* --memory (record/top: resident-memory growth per stack) */
#define NOT_SHARED 2            /* parse_shared: the command's own option */

static const struct option shared[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "rate", required_argument, NULL, 'r' },
	{ "duration", required_argument, NULL, 'd' },
	{ "subprocesses", no_argument, NULL, 's' },
	{ "idle", no_argument, NULL, 'i' },
	{ "gil", no_argument, NULL, 'g' },
	{ "function", no_argument, NULL, 'F' },
	{ "native", no_argument, NULL, 'n' },
	{ "full-filenames", no_argument, NULL, O_FULL },
	{ "nonblocking", no_argument, NULL, O_NONBLOCKING },
	{ "match-function", required_argument, NULL, O_MATCH_FUNCTION },
	{ "include", required_argument, NULL, O_INCLUDE },
	{ "exclude", required_argument, NULL, O_EXCLUDE },
	{ "thread", required_argument, NULL, O_THREAD },
	{ "qualname", no_argument, NULL, O_QUALNAME },
	{ "mode", required_argument, NULL, O_MODE },
	{ "no-gc", no_argument, NULL, O_NO_GC },
	{ "no-split", no_argument, NULL, O_NO_SPLIT },
	{ "async", no_argument, NULL, O_ASYNC },
	{ "asyncio", no_argument, NULL, O_ASYNC },
	{ "memory", no_argument, NULL, O_MEMORY },
	{ "help", no_argument, NULL, 'h' },
};
#define NSHARED (sizeof(shared) / sizeof(shared[0]))
#define SHARED_SHORT "p:r:d:sigFnh"

/* --mode wall|cpu|gil|exception, given once (or twice the same). */
static int parse_mode(const char *arg, const char *cmd, struct opts *o)
{
	static const char *const modes[] = { "wall", "cpu", "gil", "exception" };
	const char *hit = NULL;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(arg, modes[i]))
			hit = modes[i];
	if (!hit) {
		cli_error("--mode '%s': not a mode; wall, cpu, gil or exception (see 'cspy %s --help')",
			  arg, cmd);
		return -EINVAL;
	}
	if (o->mode && strcmp(o->mode, hit) != 0) {
		cli_error("--mode %s and --mode %s: give one mode (see 'cspy %s --help')", o->mode,
			  hit, cmd);
		return -EINVAL;
	}
	o->mode = hit;
	return 0;
}

/* The mode's flags, after every option was read: wall is --idle, gil is
 * --gil, exception keeps the samples of the others in an exception; cpu
 * says neither --idle nor --gil. 0 or -EINVAL (reported). */
static int apply_mode(struct opts *o, const char *cmd)
{
	if (!o->mode)
		return 0;
	if (!strcmp(o->mode, "cpu") && (o->idle || o->gil)) {
		cli_error("--mode cpu samples the threads on a CPU: it cannot go with %s (see 'cspy "
			  "%s --help')", o->idle ? "--idle (--mode wall)" : "--gil (--mode gil)", cmd);
		return -EINVAL;
	}
	o->idle |= !strcmp(o->mode, "wall");
	o->gil |= !strcmp(o->mode, "gil");
	o->exception |= !strcmp(o->mode, "exception");
	return 0;
}

const char *opts_mode_name(const struct opts *o)
{
	return o->exception ? "exception" : o->gil ? "gil" : o->idle ? "wall" : "cpu";
}

/* One shared option: 0, 1 for --help, -EINVAL (reported), or NOT_SHARED. */
static int parse_shared(int key, char **argv, const struct option *table,
			const struct opts_cmd *cmd, struct opts *o)
{
	switch (key) {
	case 'p':
		return args_parse_pids(optarg, o->target.pids, &o->target.npids, OPTS_MAX_PIDS);
	case 'r':
		return args_parse_rate(optarg, &o->rate);
	case 'd':
		/* py-spy's default is spelled "unlimited". */
		if (!strcmp(optarg, "unlimited")) {
			o->duration = 0;
			return 0;
		}
		return args_parse_double(optarg, "--duration", 0.001, &o->duration);
	case 's': o->subprocesses = true; return 0;
	case 'i': o->idle = true; return 0;
	case 'g': o->gil = true; return 0;
	case 'F': o->function_agg = true; return 0;    /* py-spy's flag: never a value */
	case 'n': o->native = true; return 0;
	case O_FULL: o->full_filenames = true; return 0;
	case O_NONBLOCKING: o->nonblocking = true; return 0;
	case O_MATCH_FUNCTION: o->function_pattern = optarg; return 0;
	case O_INCLUDE: o->include = optarg; return 0;
	case O_EXCLUDE: o->exclude = optarg; return 0;
	case O_THREAD: o->thread_pattern = optarg; return 0;
	case O_QUALNAME: o->qualname = true; return 0;
	case O_MODE: return parse_mode(optarg, cmd->name, o);
	case O_NO_GC: o->no_gc = true; return 0;
	case O_NO_SPLIT: o->no_split = true; return 0;
	case O_ASYNC: o->async_tasks = true; return 0;
	case O_MEMORY: o->memory = true; return 0;
	case 'h':
		cmd->usage(stdout);
		return 1;
	case ':':
		cli_error("option '%s' needs a value (see 'cspy %s --help')", argv[optind - 1], cmd->name);
		return -EINVAL;
	case '?':
		opts_report_unknown(argv[optind - 1], table, cmd->name);
		return -EINVAL;
	default:
		return NOT_SHARED;
	}
}

struct option *opts_table(const struct opts_cmd *cmd, char **shorts)
{
	size_t nown = 0;
	while (cmd->own && cmd->own[nown].name)
		nown++;
	struct option *table = xcalloc(NSHARED + nown + 1, sizeof(*table));
	memcpy(table, shared, sizeof(shared));
	if (nown)
		memcpy(table + NSHARED, cmd->own, nown * sizeof(*table));
	*shorts = xasprintf("+:%s%s", SHARED_SHORT, cmd->own_short ? cmd->own_short : "");
	return table;
}

char *opts_value(const char *word, char *value)
{
	/* `-p=1` and `-sp=1` as clap reads them: the value after the '='. A
	 * value of its own word (`-p =1`) or of a long option is kept whole. */
	if (value && value[0] == '=' && word[0] == '-' && word[1] != '-' &&
	    value > word && value < word + strlen(word))
		return value + 1;
	return value;
}

void opts_report_unknown(const char *arg, const struct option *table, const char *cmd)
{
	/* getopt_long also answers '?' for `--flag=value` of a flag: say so,
	 * and where the flag is py-spy's -F/--function, what filters instead. */
	const char *eq = strchr(arg, '=');
	if (!strncmp(arg, "--", 2) && eq && eq > arg + 2) {
		size_t n = (size_t)(eq - arg - 2);
		const struct option *hit = NULL;
		int hits = 0;
		for (const struct option *t = table; t->name; t++) {
			if (strncmp(t->name, arg + 2, n) != 0)
				continue;
			if (strlen(t->name) == n) {
				hit = t;
				hits = 1;
				break;
			}
			hit = t;
			hits++;
		}
		if (hits == 1 && hit->has_arg == no_argument) {
			bool function = !strcmp(hit->name, "function");
			cli_error("option '--%s' takes no value%s (see 'cspy %s --help')", hit->name,
				  function ? ": it aggregates by function (py-spy's -F); to keep the "
					     "samples with a function matching a regex, use "
					     "--match-function REGEX" : "", cmd);
			return;
		}
	}
	cli_error("unknown option '%s' (see 'cspy %s --help')", arg, cmd);
}

int opts_parse(int argc, char **argv, const struct opts_cmd *cmd, struct opts *o, void *own)
{
	char *shorts;
	struct option *table = opts_table(cmd, &shorts);
	int key, err = 0;
	optind = 1;
	opterr = 0;
	while (!err && (key = getopt_long(argc, argv, shorts, table, NULL)) != -1) {
		optarg = opts_value(argv[optind - 1], optarg);
		err = parse_shared(key, argv, table, cmd, o);
		if (err == NOT_SHARED)
			err = cmd->parse(key, optarg, own);
	}
	free(shorts);
	free(table);
	if (err)
		return err;
	if (apply_mode(o, cmd->name))
		return -EINVAL;
	if (optind < argc)
		o->target.command = argv + optind;
	if (args_check_target(o->target.command, o->target.npids, cmd->nothing, cmd->name))
		return -EINVAL;
	return args_check_native(o->native, o->nonblocking);
}

int opts_filter(struct opts *o, struct stack_filter **out)
{
	char why[600];
	*out = NULL;
	if (o->thread_pattern && !o->threadsel &&
	    threadsel__new(o->thread_pattern, &o->threadsel, why, sizeof(why))) {
		cli_error("%s", why);
		return -EINVAL;
	}
	if (!o->function_pattern && !o->include && !o->exclude)
		return 0;
	if (stack_filter__new(o->function_pattern, o->include, o->exclude, out, why, sizeof(why))) {
		cli_error("%s", why);
		return -EINVAL;
	}
	return 0;
}

void opts_sampler_config(const struct opts *o, struct stack_filter *filter,
			 struct sampler_config *sc)
{
	sc->rate_hz = o->rate;
	sc->duration_s = o->duration;
	sc->nonblocking = o->nonblocking;
	sc->gil_only = o->gil;
	sc->include_idle = o->idle;
	sc->subprocesses = o->subprocesses;
	sc->native = o->native;
	sc->filter = filter;
	sc->exception_only = o->exception;
	sc->gc_frames = !o->no_gc;
	sc->threads = o->threadsel;
	sc->qualname = o->qualname;
	sc->async_tasks = o->async_tasks;
	sc->classify = !o->no_split && !o->async_tasks;
	sc->memory = o->memory;
}

void opts_free(struct opts *o)
{
	threadsel__free(o->threadsel);
	o->threadsel = NULL;
}
