/* SPDX-License-Identifier: MIT
 *
 * The options the sampling commands (`record`, `top`) share, parsed once:
 * what to sample (struct opts_target: --pid PID[,PID...] or a command after
 * `--`) and how (struct opts: --rate, --duration, --subprocesses, --idle,
 * --gil, -F/--function (py-spy's flag: by function), --match-function,
 * --include, --exclude (POSIX extended regexes), --full-filenames,
 * --nonblocking, --native, --thread REGEX, --qualname, --mode
 * wall|cpu|gil|exception (wall is --idle, gil is --gil), --no-gc), with their defaults in one
 * initializer (OPTS_DEFAULTS). A command describes only what is its own in a
 * struct opts_cmd (its name, its extra options and their parser, its help);
 * opts_parse merges the two option tables into one getopt_long pass, so
 * options are checked in the order given and every error reads the same in
 * every command. The help text stays each command's own.
 */
#ifndef CSPY_OPTS_H
#define CSPY_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct sampler_config;
struct stack_filter;
struct threadsel;

#define OPTS_MAX_PIDS 256
/* The first getopt value free for a command's own long-only options. */
#define OPTS_OWN 512

/* What is sampled: exactly one of PIDs (attach) and a command (launch). */
struct opts_target {
	pid_t pids[OPTS_MAX_PIDS];
	int npids;
	char **command;                 /* launch mode: argv, NULL-terminated */
};

struct opts {
	struct opts_target target;
	double rate;                    /* --rate, samples a second */
	double duration;                /* --duration, seconds; 0: until the end */
	bool subprocesses, idle, gil, nonblocking, native, full_filenames;
	bool function_agg;              /* -F/--function: by function, not by line */
	const char *function_pattern;   /* --match-function REGEX */
	const char *include, *exclude;
	const char *thread_pattern;     /* --thread REGEX */
	struct threadsel *threadsel;    /* ... compiled by opts_filter, freed by opts_free */
	bool qualname;                  /* --qualname */
	const char *mode;               /* --mode as given (wall, cpu, gil, exception), NULL: none */
	bool exception;                 /* --mode exception: samples in an exception only */
	bool no_gc;                     /* --no-gc: no <GC> frames */
	bool no_split;                  /* --no-split: no python/native/system split */
	bool async_tasks;               /* --async (--asyncio): samples attributed to asyncio tasks */
	bool memory;                    /* --memory: resident-memory changes attributed to stacks */
};

#define OPTS_DEFAULTS {                                                                 \
	.target = { .npids = 0, .command = NULL }, .rate = 100, .duration = 0,          \
	.subprocesses = false, .idle = false, .gil = false, .nonblocking = false,       \
	.native = false, .full_filenames = false, .function_agg = false,                \
	.function_pattern = NULL, .include = NULL, .exclude = NULL,                      \
	.thread_pattern = NULL, .threadsel = NULL, .qualname = false,                    \
	.mode = NULL, .exception = false, .no_gc = false,                                \
	.async_tasks = false,                                                           \
	.memory = false,                                                                \
}

/* What a command adds to the shared options. */
struct opts_cmd {
	const char *name;               /* "record": in messages and hints */
	const char *nothing;            /* completes "nothing to ...": "profile" */
	const struct option *own;       /* its own long options, { 0 }-terminated;
					 * long-only ones from OPTS_OWN on */
	const char *own_short;          /* its own short options, getopt syntax ("o:f:t"),
					 * none of the shared p r d s i g F n h */
	/* One of its own options (key as getopt_long returns it, arg its
	 * value or NULL) into own. 0 or -EINVAL (reported). */
	int (*parse)(int key, const char *arg, void *own);
	void (*usage)(FILE *f);         /* --help */
};

/* Parse argv (argv[0] is the command's name) into o (set to OPTS_DEFAULTS
 * or other defaults by the caller) and, through cmd->parse, into own.
 * Options stop at the first argument that is not one (or at `--`); the
 * rest is the command to launch. Then checks that exactly one target was
 * given and that --native is possible. Returns 0; 1 after printing the
 * help on stdout; or -EINVAL/-ENOTSUP, reported in one line. */
int opts_parse(int argc, char **argv, const struct opts_cmd *cmd, struct opts *o, void *own);

/* The one getopt_long table of cmd (the shared options, then its own;
 * { 0 }-terminated) and its short-option string ("+:" first) in *shorts;
 * both on the heap. What opts_parse parses, and what `cspy completions`
 * lists. */
struct option *opts_table(const struct opts_cmd *cmd, char **shorts);

/* The value getopt_long gave (optarg) of the argument word it was read
 * from (argv[optind - 1]), as py-spy (clap) reads it: a value attached to
 * a short option loses a leading '=' (`-p=1` is `-p 1`). */
char *opts_value(const char *word, char *value);

/* The error for an argument getopt_long did not take (its '?'): "unknown
 * option", or for `--flag=value` that the flag takes no value. Shared with
 * dump's parser, so the errors read the same. */
void opts_report_unknown(const char *arg, const struct option *table, const char *cmd);

/* The stack filter of --match-function, --include and --exclude into
 * *out (NULL when none is given; the caller frees it), and --thread's
 * selection into o->threadsel (opts_free frees it). 0 or -EINVAL (a bad
 * pattern, reported). */
int opts_filter(struct opts *o, struct stack_filter **out);
/* What opts_filter allocated in o. */
void opts_free(struct opts *o);

/* The sampling mode that runs, for the profile's metadata and headers:
 * "exception" (in an exception, of the threads the other flags choose),
 * "gil" (--gil, with --idle also when the holder sleeps), "wall" (--idle)
 * or "cpu" (the default). */
const char *opts_mode_name(const struct opts *o);

/* Set the fields of sc that the shared options decide (rate, duration,
 * nonblocking, gil, idle, subprocesses, native, thread selection (borrowed
 * from o), qualname, exception, <GC> frames) and its filter (borrowed);
 * the rest of sc is left as it is. */
void opts_sampler_config(const struct opts *o, struct stack_filter *filter,
			 struct sampler_config *sc);

/* The help lines of the sampling mode options, the same in record's and
 * top's --help (the man pages and completions read them there). */
#define OPTS_HELP_MODE \
"  -i, --idle             include idle (sleeping) threads\n" \
"  -g, --gil              only the thread holding the GIL (refused for a\n" \
"                         free-threaded Python running without one)\n" \
"      --mode MODE        what is sampled: cpu (the threads on a CPU, the\n" \
"                         default), wall (every thread, as --idle), gil (the\n" \
"                         GIL holder, as --gil) or exception (of the threads on\n" \
"                         a CPU, or with --idle/--gil of theirs, those handling\n" \
"                         or raising an exception)\n" \
"      --no-gc            no <GC> frame on the thread running a garbage\n" \
"                         collection\n" \
"      --no-split         no python/native/system split of the active samples\n" \
"                         (on by default; not with --async)\n" \
"      --memory           also read the resident memory at each sample: its\n" \
"                         growth and shrink since the previous one go to the\n" \
"                         stacks of the threads that ran (bytes)\n"

#endif
