/* SPDX-License-Identifier: MIT
 *
 * `cspy record`: sample a running process (--pid, several allowed) or a
 * command cspy launches (after `--`), then write the profile in the chosen
 * format. The output file is opened before sampling starts, so an unwritable
 * path fails at once; Ctrl-C, SIGTERM, --duration or the targets' exit end
 * sampling and the file is always written. In launch mode cspy then waits
 * for the program to exit (passing a signal on, escalating after a grace
 * period: cli/ending.h), exits with the program's exit status, and the
 * program never outlives cspy.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "agg/filter.h"
#include "agg/profile.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/ending.h"
#include "cli/output.h"
#include "out/outfile.h"
#include "proc/launch.h"
#include "sampler/sampler.h"
#include "util/xalloc.h"
#include "util/clock.h"

#define MAX_PIDS 256
#define START_TIMEOUT_S 30.0

struct record_config {
	const char *output;
	const char *format;             /* NULL: from the extension, else flamegraph */
	double rate;
	double duration;
	pid_t pids[MAX_PIDS];
	int npids;
	char **command;                 /* launch mode: argv, NULL-terminated */
	bool subprocesses, idle, gil, threads, interps, function_agg, nolineno, full_filenames;
	bool nonblocking, capture, hideprogress, native;
	int verbose;
	const char *function_pattern, *include, *exclude;
};

static const struct record_config record_defaults = {
	.output = NULL, .format = NULL, .rate = 100, .duration = 0, .npids = 0, .command = NULL,
	.subprocesses = false, .idle = false, .gil = false, .threads = false, .interps = false,
	.function_agg = false,
	.nolineno = false, .full_filenames = false, .nonblocking = false, .capture = false,
	.hideprogress = false, .native = false, .verbose = 0,
	.function_pattern = NULL, .include = NULL, .exclude = NULL,
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: cspy record [options] (--pid PID[,PID...] | [--] COMMAND [ARGS...])\n"
"\n"
"Sample a Python program and write a profile (a flame graph by default).\n"
"\n"
"Options:\n"
"  -o, --output FILE      output file (default: <program or pid>-<time>.<ext>)\n"
"  -f, --format FORMAT    flamegraph (.svg), speedscope (.json), raw (.txt:\n"
"                         collapsed stacks), chrometrace (.json), json (cspy's\n"
"                         own); default: from the extension of --output, else\n"
"                         flamegraph\n"
"  -r, --rate N           samples per second (default 100, at most 100000)\n"
"  -d, --duration S       stop after S seconds (default: until the program exits)\n"
"  -p, --pid PID[,PID]    attach to running processes\n"
"  -s, --subprocesses     also profile Python subprocesses, also ones started later\n"
"  -i, --idle             include idle (sleeping) threads\n"
"  -g, --gil              only the thread holding the GIL (refused for a\n"
"                         free-threaded Python running without one)\n"
"  -t, --threads          one root frame per thread\n"
"      --interpreters     one root frame per interpreter (subinterpreters), the\n"
"                         one the thread runs in, above the thread's\n"
"  -F, --function         aggregate by function (its first line), not by line\n"
"      --function PATTERN keep samples with a function matching the regex PATTERN\n"
"      --include PATTERN  keep samples with a frame matching PATTERN\n"
"      --exclude PATTERN  drop samples with a frame matching PATTERN\n"
"      --nolineno         no line numbers\n"
"      --full-filenames   full file paths in frame names\n"
"      --nonblocking      do not pause the program to sample it (less overhead)\n"
"  -n, --native           also C/C++/Cython frames, merged with the Python ones\n"
"                         (not with --nonblocking)\n"
"      --capture          keep the launched program's output off the terminal\n"
"      --hideprogress     no progress display\n"
"  -v, --verbose          also print cspy's own CPU time per sample\n"
"  -h, --help             show this help\n"
"\n"
"A launched program ends as under a shell: Ctrl-C reaches it, SIGINT or SIGTERM\n"
"sent to cspy is passed on, the end of --duration sends it SIGINT; cspy waits,\n"
"writes the profile and exits with the program's status. If the program has not\n"
"exited 3 s later, SIGTERM, and 2 s after that SIGKILL (another Ctrl-C: at once).\n"
"\n"
"Examples:\n"
"  cspy record -o profile.svg --pid 4242              until Ctrl-C\n"
"  cspy record -o profile.svg -d 30 --pid 4242        30 seconds\n"
"  cspy record -o profile.svg -- python app.py --port 8000\n"
"  cspy record -f speedscope -o p.json -- python app.py   open in speedscope.app\n"
"  cspy record --pid $(pgrep -d, python) -o all.svg    several processes\n"
"  cspy record -s -o workers.svg --pid $(pgrep -o gunicorn)   a server and its workers\n"
"  cspy record --gil --idle -r 1000 -o p.svg -- python job.py\n"
"  cspy record --native -o p.svg --pid 4242           with C extension frames\n");
}

static int parse(int argc, char **argv, struct record_config *c)
{
	enum { O_NOLINENO = 256, O_INTERPS, O_FULL, O_NONBLOCKING, O_CAPTURE, O_HIDE, O_INCLUDE, O_EXCLUDE };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "subprocesses", no_argument, NULL, 's' },
		{ "idle", no_argument, NULL, 'i' },
		{ "gil", no_argument, NULL, 'g' },
		{ "threads", no_argument, NULL, 't' },
		{ "interpreters", no_argument, NULL, O_INTERPS },
		{ "function", no_argument, NULL, 'F' },
		{ "native", no_argument, NULL, 'n' },
		{ "nolineno", no_argument, NULL, O_NOLINENO },
		{ "full-filenames", no_argument, NULL, O_FULL },
		{ "nonblocking", no_argument, NULL, O_NONBLOCKING },
		{ "capture", no_argument, NULL, O_CAPTURE },
		{ "hideprogress", no_argument, NULL, O_HIDE },
		{ "include", required_argument, NULL, O_INCLUDE },
		{ "exclude", required_argument, NULL, O_EXCLUDE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:o:f:r:d:p:sigtFnvh", opts, NULL)) != -1) {
		switch (o) {
		case 'o': c->output = optarg; break;
		case 'f': c->format = optarg; break;
		case 'r':
			if (args_parse_rate(optarg, &c->rate))
				return -EINVAL;
			break;
		case 'd':
			if (args_parse_double(optarg, "--duration", 0.001, &c->duration))
				return -EINVAL;
			break;
		case 'p':
			if (args_parse_pids(optarg, c->pids, &c->npids, MAX_PIDS))
				return -EINVAL;
			break;
		case 's': c->subprocesses = true; break;
		case 'i': c->idle = true; break;
		case 'g': c->gil = true; break;
		case 't': c->threads = true; break;
		case O_INTERPS: c->interps = true; break;
		case 'F':
			/* `--function PATTERN` filters; a bare --function is py-spy's
			 * "aggregate by function". */
			if (optind < argc && argv[optind][0] != '-' && strcmp(argv[optind - 1], "-F") != 0)
				c->function_pattern = argv[optind++];
			else
				c->function_agg = true;
			break;
		case 'n': c->native = true; break;
		case O_NOLINENO: c->nolineno = true; break;
		case O_FULL: c->full_filenames = true; break;
		case O_NONBLOCKING: c->nonblocking = true; break;
		case O_CAPTURE: c->capture = true; break;
		case O_HIDE: c->hideprogress = true; break;
		case O_INCLUDE: c->include = optarg; break;
		case O_EXCLUDE: c->exclude = optarg; break;
		case 'v': c->verbose++; break;
		case 'h': usage(stdout); return 1;
		case ':':
			cli_error("option '%s' needs a value (see 'cspy record --help')", argv[optind - 1]);
			return -EINVAL;
		default:
			cli_error("unknown option '%s' (see 'cspy record --help')", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc)
		c->command = argv + optind;
	if (args_check_target(c->command, c->npids, "profile", "record"))
		return -EINVAL;
	return args_check_native(c->native, c->nonblocking);
}

/* "<program or pid>-<timestamp>" for the default output name. */
static char *default_stem(const struct record_config *c)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H-%M-%S", &tm);
	if (!c->command)
		return xasprintf("%d-%s", (int)c->pids[0], when);
	const char *prog = strrchr(c->command[0], '/') ? strrchr(c->command[0], '/') + 1 : c->command[0];
	if (strncmp(prog, "python", 6) == 0 && c->command[1] && c->command[1][0] != '-') {
		const char *script = strrchr(c->command[1], '/') ? strrchr(c->command[1], '/') + 1
								 : c->command[1];
		char *stem = xstrdup(script);
		char *dot = strrchr(stem, '.');
		if (dot && dot != stem)
			*dot = '\0';
		char *r = xasprintf("%s-%s", stem, when);
		free(stem);
		return r;
	}
	return xasprintf("%s-%s", prog, when);
}

struct progress_ctx {
	const struct record_config *c;
	bool tty, warned;
};

static void progress(const struct sampler_status *st, void *arg)
{
	struct progress_ctx *pc = arg;
	if (st->behind && !pc->warned) {
		pc->warned = true;
		fprintf(stderr, "%scspy> Warning: sampling is falling behind (%.0f ms late); results may be "
			"inaccurate. Try a lower --rate.\n", pc->tty ? "\r\033[K" : "", st->max_lag_s * 1000);
	}
	if (!pc->tty || pc->c->hideprogress)
		return;
	if (pc->c->duration > 0) {
		double f = st->elapsed_s / pc->c->duration;
		if (f > 1)
			f = 1;
		int w = 30, filled = (int)(f * w);
		fprintf(stderr, "\r\033[K[%.*s%*s] %3.0f%%  %.0f/%.0fs  Samples: %llu  Errors: %llu",
			filled, "##############################", w - filled, "", f * 100, st->elapsed_s,
			pc->c->duration, (unsigned long long)st->samples, (unsigned long long)st->errors);
	} else {
		fprintf(stderr, "\r\033[KCollected %llu samples (%llu errors) in %.1fs",
			(unsigned long long)st->samples, (unsigned long long)st->errors, st->elapsed_s);
	}
	fflush(stderr);
}

/* CSPY_STATS=FILE: cspy's own costs as one JSON object, for `make bench`
 * (documented in docs/formats.md). Best effort: a failure only warns. */
static void write_stats(const char *path, const struct sampler_status *st, double rate,
			uint64_t start_ns, double write_s)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "cspy> cannot write CSPY_STATS file '%s': %s\n", path, strerror(errno));
		return;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double first = st->first_sample_ns ? (double)(st->first_sample_ns - start_ns) / 1e9 : -1;
	fprintf(f, "{\"samples\": %llu, \"errors\": %llu, \"rate_hz\": %g, \"elapsed_s\": %.6f, "
		"\"cpu_s\": %.6f, \"vm_reads\": %llu, \"thread_samples\": %llu, "
		"\"max_lag_s\": %.6f, \"first_sample_s\": %.6f, \"startup_cpu_s\": %.6f, "
		"\"write_s\": %.6f, \"peak_rss_kb\": %ld, \"pauses\": %llu, \"paused_s\": %.6f, \"gil_retries\": %llu, "
		"\"tlbc_frames\": %llu}\n",
		(unsigned long long)st->samples, (unsigned long long)st->errors, rate, st->elapsed_s,
		(double)st->cpu_ns / 1e9, (unsigned long long)st->vm_reads,
		(unsigned long long)st->thread_samples, st->max_lag_s, first,
		(double)st->first_sample_cpu_ns / 1e9, write_s, ru.ru_maxrss,
		(unsigned long long)st->pauses, (double)st->paused_ns / 1e9,
		(unsigned long long)st->gil_retries, (unsigned long long)st->tlbc_frames);
	if (fclose(f) != 0)
		fprintf(stderr, "cspy> cannot write CSPY_STATS file '%s'\n", path);
}

int cmd_record(int argc, char **argv)
{
	uint64_t start_ns = clock_now_ns();
	struct record_config c = record_defaults;
	int err = parse(argc, argv, &c);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;

	enum output_format fmt;
	if (output_format_choose(c.format, c.output, &fmt) != 0)
		return EXIT_USAGE;
	char *stem = NULL, *path = NULL;
	if (!c.output) {
		stem = default_stem(&c);
		path = xasprintf("%s.%s", stem, output_format_ext(fmt));
	} else {
		path = xstrdup(c.output);
	}
	struct stack_filter *filter = NULL;
	char why[600];
	if ((c.function_pattern || c.include || c.exclude) &&
	    stack_filter__new(c.function_pattern, c.include, c.exclude, &filter, why, sizeof(why))) {
		cli_error("%s", why);
		free(stem);
		free(path);
		return EXIT_USAGE;
	}
	/* Open the output now: an unwritable path must not cost a whole run. */
	struct outfile *out = NULL;
	err = outfile__open(path, OUTFILE_REPLACE, &out);
	if (err) {
		cli_error("cannot write the output file '%s': %s", path, strerror(-err));
		stack_filter__free(filter);
		free(stem);
		free(path);
		return 1;
	}
	/* Under sudo, the file belongs to the user who ran sudo. */
	if ((err = launch_chown_sudo_user(outfile__fd(out))) != 0)
		fprintf(stderr, "cspy> Warning: cannot give '%s' to the user who ran sudo: %s\n", path,
			strerror(-err));

	ending_catch_signals();

	struct profile *prof = profile__new();
	profile__set_keep_runs(prof, output_format_timeline(fmt));
	struct progress_ctx pc = { .c = &c, .tty = isatty(STDERR_FILENO) };
	struct sampler_config sc = {
		.rate_hz = c.rate, .duration_s = c.duration, .nonblocking = c.nonblocking,
		.gil_only = c.gil, .include_idle = c.idle, .threads_root = c.threads, .interps_root = c.interps,
		.subprocesses = c.subprocesses, .function_lines = c.function_agg,
		.no_lineno = c.nolineno, .native = c.native, .filter = filter, .progress = progress,
		.progress_arg = &pc,
	};
	struct sampler *s = sampler__new(&sc, prof);
	ending_set_sampler(s);
	int rc = 0;
	pid_t child = 0;
	bool started = false;           /* sampling began: the file gets written */
	char *cmdline = args_command_line(c.command, c.pids);

	if (c.command) {
		struct launch_opts lo = { .capture = c.capture, .drop_sudo = true };
		child = launch_start(c.command, &lo, why, sizeof(why));
		if (child < 0) {
			cli_error("%s: %s", why, strerror((int)-child));
			rc = 127;
			child = 0;
			goto out;
		}
		ending_set_child(child);
		err = sampler__add_child(s, child, START_TIMEOUT_S, why, sizeof(why));
		int status;
		if (err == -EINTR) {
			/* Ctrl-C before the interpreter started: nothing sampled, still write. */
		} else if (err == -ESRCH && sampler__child_status(s, &status) == 1) {
			/* The program ran and ended before a sample could be taken:
			 * an empty profile, and its exit status. */
			cli_note("The program exited before it could be sampled.");
		} else if (err) {
			cli_error("'%s' %s", c.command[0], why);
			rc = 1;
			goto out;
		}
	} else if (args_attach_pids(s, c.pids, c.npids, c.subprocesses, c.nonblocking, "record") != 0) {
		rc = 1;
		goto out;
	}

	cli_note("Sampling process %g times a second. Press Control-C to exit.", c.rate);
	started = true;
	sampler__run(s);
	if (pc.tty && !c.hideprogress)
		fprintf(stderr, "\r\033[K");
	if (c.gil && sampler__status(s)->max_nogil_processes > 0)
		fprintf(stderr, "cspy> Warning: --gil: %d Python process%s ran without a GIL "
			"(free-threaded): none of their threads were kept\n",
			sampler__status(s)->max_nogil_processes,
			sampler__status(s)->max_nogil_processes == 1 ? "" : "es");
	if (sampler__status(s)->gave_up[0]) {
		cli_error("%s", sampler__status(s)->gave_up);
		rc = 1;
	}

out:;
	const struct sampler_status *st = sampler__status(s);
	/* The program runs on after a signal, the end of --duration or an
	 * error: end it (see cli/ending.h) before writing the file. */
	if (child > 0) {
		int code = ending_end_child(s, child, rc != 0);
		rc = rc ? rc : code;
	}

	struct prof_meta meta = {
		.title = cmdline, .command_line = cmdline, .rate_hz = c.rate,
		.start_unix_ns = (uint64_t)time(NULL) * 1000000000ull, .duration_ns =
		(uint64_t)(st->elapsed_s * 1e9), .samples = st->samples, .errors = st->errors,
		.python_version = sampler__python_version(s), .gil_only = c.gil,
		.idle_included = c.idle, .native = c.native,
	};
	profile__set_meta(prof, &meta);
	struct output_opts oo = { .full_filenames = c.full_filenames };
	int werr = 0;
	if (!started && rc) {
		/* Nothing was sampled because of an error already reported:
		 * leave no empty file behind. */
		outfile__close(out, -ECANCELED);
		goto done;
	}
	uint64_t w0 = clock_now_ns();
	werr = outfile__close(out, output_write(outfile__stream(out), fmt, prof, &oo));
	double write_s = (double)(clock_now_ns() - w0) / 1e9;
	if (werr) {
		cli_error("writing '%s' failed: %s", path, strerror(-werr));
		rc = rc ? rc : 1;
	} else if (st->samples == 0 && rc == 0 && !c.command) {
		cli_note("No samples were collected.");
	}
	if (!werr) {
		cli_note("Wrote %s data to '%s'. Samples: %llu Errors: %llu", output_format_name(fmt),
			 path, (unsigned long long)st->samples, (unsigned long long)st->errors);
		const char *hint = output_format_hint(fmt);
		if (hint)
			cli_note("%s", hint);
	}
	if (c.verbose && st->samples) {
		fprintf(stderr, "cspy> cspy used %.1f ms of CPU for %llu samples: %.1f us per sample, "
			"%.1f memory reads per sample\n",
			(double)st->cpu_ns / 1e6, (unsigned long long)st->samples,
			(double)st->cpu_ns / 1e3 / (double)st->samples,
			(double)st->vm_reads / (double)st->samples);
		if (st->samples > 1)
			fprintf(stderr, "cspy> start-up (attach, first sample) %.1f ms of CPU; "
				"then %.1f us per sample\n", (double)st->first_sample_cpu_ns / 1e6,
				(double)(st->cpu_ns - st->first_sample_cpu_ns) / 1e3 /
				(double)(st->samples - 1));
	}
	if (getenv("CSPY_STATS") && *getenv("CSPY_STATS"))
		write_stats(getenv("CSPY_STATS"), st, c.rate, start_ns, write_s);
done:
	ending_set_sampler(NULL);
	sampler__free(s);
	profile__free(prof);
	stack_filter__free(filter);
	free(cmdline);
	free(stem);
	free(path);
	return rc;
}
