/* SPDX-License-Identifier: MIT
 *
 * `cspy record`: sample a running process (--pid, several allowed) or a
 * command cspy launches (after `--`), then write the profile in the chosen
 * format. The output file is opened before sampling starts, so an unwritable
 * path fails at once; Ctrl-C, SIGTERM, --duration or the targets' exit end
 * sampling and the file is always written. In launch mode cspy then waits
 * for the program to exit (passing a signal on, escalating after a grace
 * period: cli/session.h), exits with the program's exit status, and the
 * program never outlives cspy.
 *
 * While recording: --period and SIGUSR1 write the profile so far (begun
 * from the sampler's progress callback, about 10 times a second, and
 * written by a forked child from its copy of the profile, so sampling goes
 * on: a new output file renamed into place over the previous one, while
 * the first one, opened at the start, waits for the final profile). A format that streams (jsonl:
 * writers/writer.h) is begun before sampling, listens to the profile, and
 * is flushed from the same callback; a period or a SIGUSR1 is then a flush.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agg/filter.h"
#include "agg/profile.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/complete.h"
#include "cli/opts.h"
#include "cli/session.h"
#include "proc/launch.h"
#include "writers/outfile.h"
#include "writers/writer.h"
#include "sampler/sampler.h"
#include "sampler/srcread.h"
#include "tui/term.h"
#include "util/xalloc.h"
#include "util/clock.h"

/* What is record's own; the shared options are in o (cli/opts.h). */
struct record_config {
	struct opts o;
	const char *output;
	const char *format;             /* NULL: from the extension, else flamegraph */
	bool threads, interps, nolineno, capture, hideprogress;
	bool no_sources;                /* --no-sources: the report keeps no source text */
	bool stream;                    /* --stream: -f jsonl, to stdout unless -o */
	double period;                  /* --period S: write the profile so far; 0: no */
	int verbose;
};

static const struct record_config record_defaults = {
	.o = OPTS_DEFAULTS, .output = NULL, .format = NULL, .threads = false, .interps = false,
	.nolineno = false, .capture = false, .hideprogress = false, .stream = false, .period = 0,
	.verbose = 0,
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: cspy record [options] (--pid PID[,PID...] | [--] COMMAND [ARGS...])\n"
"\n"
"Sample a Python program and write a profile (a flame graph by default).\n"
"\n"
"Options:\n"
"  -o, --output FILE      output file (default: <program or pid>-<time>.<ext>;\n"
"                         - is standard output)\n"
"  -f, --format FORMAT    flamegraph (.svg), speedscope (.json), raw (.txt:\n"
"                         collapsed stacks), chrometrace (.trace.json), pprof\n"
"                         (.pb.gz; always gzip-compressed), json (cspy's own),\n"
"                         gecko (.gecko.json: Firefox Profiler), pstats\n"
"                         (.pstats, .prof: Python's pstats), html (.html: a\n"
"                         one-file report with the sources), jsonl (.jsonl:\n"
"                         one line per sample, written while recording);\n"
"                         default: from the extension of --output\n"
"                         (an unknown one is an error), else flamegraph; a name\n"
"                         ending in .gz (or .svgz) is written gzip-compressed\n"
"      --stream           -f jsonl, to standard output unless -o names a file\n"
"      --period S         every S seconds, write the profile so far to the output\n"
"                         (replaced whole: a reader never sees half a file) and\n"
"                         go on; with jsonl, flush it\n"
"  -r, --rate N           samples per second (default 100, at most 1000000)\n"
"  -d, --duration S       stop after S seconds (default: until the program exits)\n"
"  -p, --pid PID[,PID]    attach to running processes\n"
"  -s, --subprocesses     also profile Python subprocesses, also ones started later\n"
OPTS_HELP_MODE
"  -t, --threads          one root frame per thread\n"
"      --interpreters     one root frame per interpreter (subinterpreters), the\n"
"                         one the thread runs in, above the thread's\n"
"  -F, --function         aggregate by function (its first line), not by line\n"
"      --match-function REGEX\n"
"                         keep samples with a function whose name matches REGEX\n"
"      --include REGEX    keep samples with a frame (\"name (file:line)\")\n"
"                         matching REGEX\n"
"      --exclude REGEX    drop samples with a frame matching REGEX\n"
"      --thread REGEX     only threads whose name matches REGEX (the threading\n"
"                         name, else the OS one; not the TID); the others are\n"
"                         neither read nor counted\n"
"      --qualname         qualified names (Class.method): co_qualname on 3.11+,\n"
"                         before 3.11 the class defining the method, found from\n"
"                         its self or cls argument\n"
"      --nolineno         no line numbers\n"
"      --full-filenames   full file paths in frame names\n"
"      --nonblocking      do not pause the program to sample it (less overhead)\n"
"  -n, --native           also C/C++/Cython frames, merged with the Python ones\n"
"                         (not with --nonblocking)\n"
"      --async, --asyncio\n"
"                         samples attributed to asyncio tasks: the running\n"
"                         task's stack under the tasks awaiting it; every\n"
"                         pending task too, where it waits, with --idle\n"
"      --capture          keep the launched program's output off the terminal\n"
"      --hideprogress     no progress display\n"
"      --no-sources       html, json: do not read the frames' source files\n"
"  -v, --verbose          also print cspy's own CPU time per sample\n"
"  -h, --help             show this help\n"
"\n"
"SIGUSR1 sent to cspy writes the profile so far, as --period does, and\n"
"sampling goes on (the program does not get it).\n"
"\n"
"REGEX is a POSIX extended regular expression (as in grep -E), found anywhere\n"
"in the text unless anchored with ^ or $: --match-function '^handle_'.\n"
"PID is decimal, or hexadecimal after 0x (--pid 0x1a2b).\n"
"\n"
"A launched program ends as under a shell: Ctrl-C reaches it, SIGINT or SIGTERM\n"
"sent to cspy is passed on, the end of --duration sends it SIGINT; cspy waits,\n"
"writes the profile and exits with the program's status. If the program has not\n"
"exited 3 s later, SIGTERM, and 2 s after that SIGKILL (another Ctrl-C: at once).\n"
"A command that is not Python (sh -c, uv run) is followed: the Python processes\n"
"it starts are sampled (their own children with -s).\n"
"\n"
"Examples:\n"
"  cspy record -o profile.svg --pid 4242              until Ctrl-C\n"
"  cspy record -o profile.svg -d 30 --pid 4242        30 seconds\n"
"  cspy record -o profile.svg -- python app.py --port 8000\n"
"  cspy record -f speedscope -o p.json -- python app.py   open in speedscope.app\n"
"  cspy record --pid $(pgrep -d, python) -o all.svg    several processes\n"
"  cspy record -s -o workers.svg --pid $(pgrep -o gunicorn)   a server and its workers\n"
"  cspy record --gil --idle -r 1000 -o p.svg -- python job.py\n"
"  cspy record --native -o p.svg --pid 4242           with C extension frames\n"
"  cspy record --period 10 -o p.svg --pid 4242        p.svg updated every 10 s\n"
"  cspy record --stream --pid 4242 | jq -c 'select(.t)'   samples as they come\n");
}

enum { O_NOLINENO = OPTS_OWN, O_INTERPS, O_CAPTURE, O_HIDE, O_STREAM, O_PERIOD };
enum { O_NO_SOURCES = OPTS_OWN + 64 };

static const struct option record_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "threads", no_argument, NULL, 't' },
	{ "interpreters", no_argument, NULL, O_INTERPS },
	{ "nolineno", no_argument, NULL, O_NOLINENO },
	{ "capture", no_argument, NULL, O_CAPTURE },
	{ "hideprogress", no_argument, NULL, O_HIDE },
	{ "no-sources", no_argument, NULL, O_NO_SOURCES },
	{ "stream", no_argument, NULL, O_STREAM },
	{ "period", required_argument, NULL, O_PERIOD },
	{ "verbose", no_argument, NULL, 'v' },
	{ 0 }
};

static int parse_own(int key, const char *arg, void *own)
{
	struct record_config *c = own;
	switch (key) {
	case 'o': c->output = arg; break;
	case 'f': c->format = arg; break;
	case 't': c->threads = true; break;
	case O_INTERPS: c->interps = true; break;
	case O_NOLINENO: c->nolineno = true; break;
	case O_CAPTURE: c->capture = true; break;
	case O_HIDE: c->hideprogress = true; break;
	case O_NO_SOURCES: c->no_sources = true; break;
	case O_STREAM: c->stream = true; break;
	case O_PERIOD: return args_parse_double(arg, "--period", 0.05, &c->period);
	case 'v': c->verbose++; break;
	default: return -EINVAL;        /* not in record_options */
	}
	return 0;
}

static const struct opts_cmd record_cmd = {
	.name = "record", .nothing = "profile", .own = record_options, .own_short = "o:f:tv",
	.parse = parse_own, .usage = usage,
};

/* "<program or pid>-<timestamp>" for the default output name. */
static char *default_stem(const struct opts_target *c)
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
	struct srcread *src;    /* the format shows sources: read them between ticks */
	/* Writing while recording (--period, SIGUSR1, a streaming format). */
	struct sampler *s;
	struct profile *prof;
	const struct writer *fmt;
	struct outfile *out;            /* the final output (a stream writes into it) */
	void *stream;                   /* fmt->stream's, once begun; else NULL */
	const char *path, *cmdline;
	double next_write_s;            /* --period: elapsed_s of the next write */
	unsigned long usr1_seen;        /* session_usr1() when last looked at */
	unsigned long writes;           /* profiles so far written (or stream flushes asked) */
	bool write_said, write_failed;
	pid_t writer;                   /* the child writing the profile so far, 0: none */
	int writer_fd;                  /* ... the pipe its result comes through */
	uint64_t w_t0;                  /* ... when it began (clock_now_ns) */
	double w_at, w_paused_ms;       /* ... elapsed_s then, and how long sampling waited */
	bool w_usr1;                    /* ... asked by SIGUSR1 */
	uint64_t w_samples;             /* ... what it holds */
	size_t w_stacks;
};

static uint64_t start_unix_ns(const struct sampler_status *st);

/* bytes as "512 B", "12.0 KiB", "250.3 MiB", "1.20 GiB" into buf. */
static const char *bytes_text(uint64_t b, char *buf, size_t n)
{
	if (b < 1024)
		snprintf(buf, n, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, n, "%.1f KiB", (double)b / 1024);
	else if (b < 1024ull * 1024 * 1024)
		snprintf(buf, n, "%.1f MiB", (double)b / (1024 * 1024));
	else
		snprintf(buf, n, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
	return buf;
}

/* --memory: the line after the summary, the totals the stacks carry and
 * what none of them got. */
static void memory_note(const struct profile *prof, const struct sampler_status *st)
{
	uint64_t grow, shrink;
	profile__memory_total(prof, &grow, &shrink);
	char g[32], sh[32], b[32], pend[96] = "", drop[96] = "", rest[200] = "";
	if (st->mem_pending)
		snprintf(pend, sizeof(pend), "%s%s after the last sample with a running thread",
			 st->mem_pending < 0 ? "-" : "+",
			 bytes_text(st->mem_pending < 0 ? (uint64_t)0 - (uint64_t)st->mem_pending
				    : (uint64_t)st->mem_pending, b, sizeof(b)));
	if (st->mem_dropped)
		snprintf(drop, sizeof(drop), "%s%s of threads whose stacks were left out",
			 pend[0] ? "; " : "", bytes_text(st->mem_dropped, b, sizeof(b)));
	if (pend[0] || drop[0])
		snprintf(rest, sizeof(rest), " (not attributed: %s%s)", pend, drop);
	cli_note("Memory (resident): %s grown, %s shrunk, in the stacks of the threads that ran%s",
		 bytes_text(grow, g, sizeof(g)), bytes_text(shrink, sh, sizeof(sh)), rest);
}

/* The profile's metadata from the sampler's status now. */
static void set_meta(struct progress_ctx *pc, const struct sampler_status *st)
{
	const struct record_config *c = pc->c;
	struct prof_meta meta = {
		.title = pc->cmdline, .command_line = pc->cmdline, .rate_hz = c->o.rate,
		.start_unix_ns = start_unix_ns(st), .duration_ns = (uint64_t)(st->elapsed_s * 1e9),
		.samples = st->samples, .errors = st->errors, .ticks = st->ticks,
		.python_version = sampler__python_version(pc->s), .gil_only = c->o.gil,
		.idle_included = c->o.idle, .native = c->o.native,
		.exception_only = c->o.exception, .gc_frames = !c->o.no_gc,
		.classified = !c->o.no_split && !c->o.async_tasks,
		.memory = c->o.memory,
	};
	profile__set_meta(pc->prof, &meta);
}

/* The profile so far to a new file renamed over the output (the final
 * output, opened at the start, stays open for the end). 0 or -errno. */
static int write_file(struct progress_ctx *pc)
{
	struct outfile *of = NULL;
	int err = outfile__open(pc->path, OUTFILE_REPLACE, &of);
	if (err)
		return err;
	if (writer_path_gzip(pc->path) && !pc->fmt->compressed && (err = outfile__gzip(of)) != 0)
		return outfile__close(of, err);
	launch_chown_sudo_user(outfile__fd(of));
	struct writer_opts oo = { .full_filenames = pc->c->o.full_filenames };
	return outfile__close(of, pc->fmt->write(outfile__stream(of), pc->prof, &oo));
}

/* Say how a write of the profile so far went: a failure once, each one
 * with -v, else the first one once. */
static void write_said(struct progress_ctx *pc, int err)
{
	const char *clear = pc->tty && !pc->c->hideprogress ? "\r\033[K" : "";
	double ms = (double)(clock_now_ns() - pc->w_t0) / 1e6;
	if (err) {
		if (!pc->write_failed)
			fprintf(stderr, "%scspy> Warning: writing the profile so far to '%s' failed: %s "
				"(recording goes on)\n", clear, pc->path, strerror(-err));
		pc->write_failed = true;
	} else if (pc->c->verbose) {
		fprintf(stderr, "%scspy> Wrote the profile so far to '%s' at %.1f s%s: %llu samples, "
			"%zu stacks, in %.1f ms (sampling paused %.1f ms)\n", clear, pc->path, pc->w_at,
			pc->w_usr1 ? " (SIGUSR1)" : "", (unsigned long long)pc->w_samples, pc->w_stacks, ms,
			pc->w_paused_ms);
	} else if (!pc->write_said) {
		fprintf(stderr, "%scspy> Wrote the profile so far to '%s'%s; the final one follows at "
			"the end\n", clear, pc->path,
			pc->c->period > 0 ? ", again at every --period and SIGUSR1" : "");
	}
	pc->write_said = true;
}

/* The write in a child process ended? block: wait for it. Its result
 * comes through a pipe (its exit status may be reaped by the launcher's
 * reaping of traced threads, proc/launch.c). */
static void write_poll(struct progress_ctx *pc, bool block)
{
	if (pc->writer <= 0)
		return;
	if (block) {
		int fl = fcntl(pc->writer_fd, F_GETFL);
		fcntl(pc->writer_fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	int err = 0;
	ssize_t r;
	while ((r = read(pc->writer_fd, &err, sizeof(err))) < 0 && errno == EINTR)
		;
	if (r < 0 && errno == EAGAIN)
		return;
	if (r != (ssize_t)sizeof(err))
		err = -EPIPE;           /* it died without a word */
	close(pc->writer_fd);
	waitpid(pc->writer, NULL, 0);   /* it exits right after its word (ECHILD if reaped) */
	pc->writer = 0;
	write_said(pc, err);
}

/* --period or SIGUSR1: the profile so far, written by a child process
 * (fork: a copy-on-write snapshot of the profile) so that sampling goes
 * on while it is written, as a Redis BGSAVE does; one at a time (a request
 * while one runs waits for the next period or signal). Without fork, in
 * place. With a stream: a flush (done by the caller). */
static void write_so_far(struct progress_ctx *pc, const struct sampler_status *st, bool usr1)
{
	const char *clear = pc->tty && !pc->c->hideprogress ? "\r\033[K" : "";
	if (pc->stream) {
		pc->writes++;
		if (pc->c->verbose)
			fprintf(stderr, "%scspy> Flushed '%s' at %.1f s%s\n", clear, pc->path,
				st->elapsed_s, usr1 ? " (SIGUSR1)" : "");
		return;
	}
	if (!outfile__atomic(pc->out)) {
		/* Not a file a rename can replace: a second profile would be
		 * appended to the first (--period is refused for these). */
		if (!pc->write_failed)
			fprintf(stderr, "%scspy> Warning: cannot write the profile so far to '%s': not a "
				"file that can be replaced whole\n", clear, pc->path);
		pc->write_failed = true;
		return;
	}
	if (pc->writer > 0)
		return;
	pc->writes++;
	pc->w_t0 = clock_now_ns();
	pc->w_at = st->elapsed_s;
	pc->w_usr1 = usr1;
	set_meta(pc, st);
	pc->w_samples = profile__total(pc->prof);
	pc->w_stacks = profile__nstacks(pc->prof);
	fflush(stderr);
	int pfd[2] = { -1, -1 };
	pid_t pid = pipe2(pfd, O_CLOEXEC) == 0 ? fork() : -1;
	if (pid == 0) {
		close(pfd[0]);
		int err = write_file(pc);
		ssize_t w = write(pfd[1], &err, sizeof(err));
		_exit(w == (ssize_t)sizeof(err) ? 0 : 1);
	}
	if (pid < 0) {          /* no child: in place, sampling waits */
		if (pfd[0] >= 0) {
			close(pfd[0]);
			close(pfd[1]);
		}
		int err = write_file(pc);
		pc->w_paused_ms = (double)(clock_now_ns() - pc->w_t0) / 1e6;
		write_said(pc, err);
		return;
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
	pc->writer = pid;
	pc->writer_fd = pfd[0];
	pc->w_paused_ms = (double)(clock_now_ns() - pc->w_t0) / 1e6;
}

/* Writing while recording, from the progress callback: the stream's
 * buffer pushed out, then a write that is due. A stream that cannot be
 * written any more (the reader of the pipe is gone) ends the recording. */
static void write_while_recording(struct progress_ctx *pc, const struct sampler_status *st)
{
	write_poll(pc, false);
	if (pc->stream) {
		int err = pc->fmt->stream->flush(pc->stream);
		int oerr = outfile__flush(pc->out);     /* the real errno (EPIPE), if any */
		err = oerr ? oerr : err;
		if (err && !pc->write_failed) {
			pc->write_failed = true;
			fprintf(stderr, "%scspy> Writing '%s' failed: %s; stopping\n",
				pc->tty && !pc->c->hideprogress ? "\r\033[K" : "", pc->path, strerror(-err));
			sampler__request_stop(pc->s);
		}
	}
	unsigned long u = session_usr1();
	bool usr1 = u != pc->usr1_seen;
	bool due = pc->c->period > 0 && st->elapsed_s >= pc->next_write_s;
	if (!usr1 && !due)
		return;
	pc->usr1_seen = u;
	if (pc->c->period > 0)
		pc->next_write_s = st->elapsed_s + pc->c->period;
	write_so_far(pc, st, usr1);
}

static void progress(const struct sampler_status *st, void *arg)
{
	struct progress_ctx *pc = arg;
	if (pc->src)
		srcread__scan(pc->src, SRCREAD_FILES_PER_SCAN);
	if (pc->s)
		write_while_recording(pc, st);
	if (st->behind && !pc->warned) {
		pc->warned = true;
		fprintf(stderr, "%scspy> Warning: sampling is falling behind (%.0f ms late); results may be "
			"inaccurate. Try a lower --rate.\n", pc->tty ? "\r\033[K" : "", st->max_lag_s * 1000);
	}
	if (!pc->tty || pc->c->hideprogress)
		return;
	if (pc->c->o.duration > 0) {
		double f = st->elapsed_s / pc->c->o.duration;
		if (f > 1)
			f = 1;
		int w = 30, filled = (int)(f * w);
		fprintf(stderr, "\r\033[K[%.*s%*s] %3.0f%%  %.0f/%.0fs  Samples: %llu  Errors: %llu",
			filled, "##############################", w - filled, "", f * 100, st->elapsed_s,
			pc->c->o.duration, (unsigned long long)st->samples, (unsigned long long)st->errors);
	} else {
		fprintf(stderr, "\r\033[KCollected %llu samples (%llu errors) in %.1fs",
			(unsigned long long)st->samples, (unsigned long long)st->errors, st->elapsed_s);
	}
	if (pc->writes && !pc->stream)
		fprintf(stderr, "  Written: %lu", pc->writes);
	fflush(stderr);
}

/* The wall clock (CLOCK_REALTIME, ns since the epoch) at the first sample;
 * without one, when sampling started. Called when sampling has ended. */
static uint64_t start_unix_ns(const struct sampler_status *st)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	uint64_t ago = st->first_sample_ns ? clock_now_ns() - st->first_sample_ns
					   : (uint64_t)(st->elapsed_s * 1e9);
	return now > ago ? now - ago : 0;
}

/* CSPY_STATS=FILE: cspy's own costs as one JSON object, for `make bench`
 * (documented in docs/formats.md). Best effort: a failure only warns. */
/* -v: every error counted, by reason (the counts add up to Errors). */
static void print_error_reasons(const struct sampler_status *st)
{
	fprintf(stderr, "cspy> Errors by reason (%llu):\n", (unsigned long long)st->errors);
	for (size_t i = 0; i < sizeof(st->read_fails) / sizeof(st->read_fails[0]); i++)
		if (st->read_fails[i].n)
			fprintf(stderr, "cspy>   %8llu  reading the stacks failed: %s\n",
				(unsigned long long)st->read_fails[i].n, st->read_fails[i].err ?
				strerror(-st->read_fails[i].err) : "other errors");
	for (int i = 0; i < NATIVE_FAIL_N; i++)
		if (st->native_fails[i])
			fprintf(stderr, "cspy>   %8llu  --native, a thread: %s\n",
				(unsigned long long)st->native_fails[i],
				native_fail_text((enum native_fail)i));
}

static void write_stats(const char *path, const struct sampler_status *st, double rate,
			uint64_t start_ns, double write_s, const struct profile *prof)
{
	size_t runs = 0, n;
	for (uint32_t i = 0; i < profile__nthreads(prof); i++) {
		profile__runs(prof, i, &n);
		runs += n;
	}
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
		"\"tlbc_frames\": %llu, \"runs\": %zu, ",
		(unsigned long long)st->samples, (unsigned long long)st->errors, rate, st->elapsed_s,
		(double)st->cpu_ns / 1e9, (unsigned long long)st->vm_reads,
		(unsigned long long)st->thread_samples, st->max_lag_s, first,
		(double)st->first_sample_cpu_ns / 1e9, write_s, ru.ru_maxrss,
		(unsigned long long)st->pauses, (double)st->paused_ns / 1e9,
		(unsigned long long)st->gil_retries, (unsigned long long)st->tlbc_frames, runs);
	/* the pauses' parts: stopping the threads, reading; the rest is resuming */
	fprintf(f, "\"pause_retries\": %llu, ", (unsigned long long)st->pause_retries);
	fprintf(f, "\"pause_stop_s\": %.6f, \"pause_read_s\": %.6f, \"pause_p50_us\": %u, "
		"\"pause_p90_us\": %u, \"pause_p99_us\": %u, \"pause_max_us\": %u, ",
		(double)st->pause_stop_ns / 1e9, (double)st->pause_read_ns / 1e9, st->pause_p50_us,
		st->pause_p90_us, st->pause_p99_us, st->pause_max_us);
	/* --async: what its task reads cost (bench/run.py) */
	fprintf(f, "\"async_reads\": %llu, \"async_read_s\": %.6f, \"async_join_s\": %.6f, \"async_fails\": %llu, "
		"\"async_joined\": %llu, \"async_unjoined\": %llu, \"async_pending\": %llu, ",
		(unsigned long long)st->async_reads, (double)st->async_read_ns / 1e9,
		(double)st->async_join_ns / 1e9,
		(unsigned long long)st->async_fails, (unsigned long long)st->async_joined,
		(unsigned long long)st->async_unjoined, (unsigned long long)st->async_pending);
	/* --memory: its reads and attribution (bench/memory_cost.py) */
	fprintf(f, "\"mem_s\": %.6f, \"mem_grown\": %llu, \"mem_shrunk\": %llu, \"mem_dropped\": %llu, "
		"\"mem_pending\": %lld, \"mem_read_fails\": %llu, ", (double)st->mem_ns / 1e9,
		(unsigned long long)st->mem_grown, (unsigned long long)st->mem_shrunk,
		(unsigned long long)st->mem_dropped, (long long)st->mem_pending,
		(unsigned long long)st->mem_read_fails);
	/* the python/native/system split: what classifying cost (bench/split_cost.py) */
	fprintf(f, "\"split_samples\": %llu, \"split_s\": %.6f, \"split_stat_reads\": %llu, ",
		(unsigned long long)st->split_samples, (double)st->split_ns / 1e9,
		(unsigned long long)st->split_stat_reads);
	/* many threads and processes: what the run states cost (bench/pool_cost.py) */
	fprintf(f, "\"quiet_samples\": %llu, \"state_reads\": %llu, \"state_proofs\": %llu, ",
		(unsigned long long)st->quiet_samples, (unsigned long long)st->state_reads,
		(unsigned long long)st->state_proofs);
	fprintf(f, "\"gil_waiter_skips\": %llu, \"gil_polls\": %llu, ",
		(unsigned long long)st->gil_waiter_skips, (unsigned long long)st->gil_polls);
	fprintf(f, "\"gil_polls_spared\": %llu, \"relists_spared\": %llu, \"clock_spared\": %llu, ",
		(unsigned long long)st->gil_polls_spared, (unsigned long long)st->relists_spared,
		(unsigned long long)st->clock_spared);
	fprintf(f, "\"prewarm_spared\": %llu, ", (unsigned long long)st->prewarm_spared);
	/* the thread-state walk: states read at once with the last chain, one by one */
	fprintf(f, "\"ts_batched\": %llu, \"ts_serial\": %llu, ",
		(unsigned long long)st->ts_batched, (unsigned long long)st->ts_serial);
	fprintf(f, "\"code_reads\": %llu, \"code_trusted\": %llu, ",
		(unsigned long long)st->code_reads, (unsigned long long)st->code_trusted);
	fprintf(f, "\"frames_reused\": %llu, \"frames_walked\": %llu, ",
		(unsigned long long)st->frames_reused, (unsigned long long)st->frames_walked);
	fprintf(f, "\"pauses_begun\": %llu}\n", (unsigned long long)st->pauses_begun);
	if (fclose(f) != 0)
		fprintf(stderr, "cspy> cannot write CSPY_STATS file '%s'\n", path);
}

int cmd_record(int argc, char **argv)
{
	uint64_t start_ns = clock_now_ns();
	struct record_config c = record_defaults;
	int err = opts_parse(argc, argv, &record_cmd, &c.o, &c);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;

	if (c.stream) {
		/* The format that streams, named by the writer table. */
		const struct writer *w = NULL;
		for (size_t i = 0; (w = writer_at(i)) != NULL && !w->stream; i++)
			;
		if (c.format && (!writer_find(c.format) || !writer_find(c.format)->stream)) {
			cli_error("--stream writes %s: it cannot be combined with --format %s",
				  w ? w->name : "a stream", c.format);
			return EXIT_USAGE;
		}
		c.format = w ? w->name : c.format;
		if (!c.output)
			c.output = "-";
	}
	const struct writer *fmt;
	int cerr = writer_choose(c.format, c.output, &fmt);
	if (cerr == -ENOENT) {
		cli_error("cannot tell the format from the name '%s': use one of %s, or --format",
			  c.output, writer_endings());
		return EXIT_USAGE;
	} else if (cerr) {
		cli_error("unknown format '%s': use %s", c.format, writer_names());
		return EXIT_USAGE;
	}
	char *stem = NULL, *path = NULL;
	if (!c.output) {
		stem = default_stem(&c.o.target);
		path = xasprintf("%s.%s", stem, fmt->ext);
	} else {
		path = xstrdup(c.output);
	}
	struct stack_filter *filter = NULL;
	if (opts_filter(&c.o, &filter)) {
		free(stem);
		free(path);
		return EXIT_USAGE;
	}
	/* Open the output now: an unwritable path must not cost a whole run.
	 * A stream is written in place, for readers that follow it. */
	struct outfile *out = NULL;
	if (fmt->stream) {
		if ((err = outfile__open(path, OUTFILE_DIRECT, &out)) != 0) {
			cli_error("cannot write the output file '%s': %s", path, strerror(-err));
		} else if ((err = launch_chown_sudo_user(outfile__fd(out))) != 0) {
			fprintf(stderr, "cspy> Warning: cannot give '%s' to the user who ran sudo: %s\n",
				path, strerror(-err));
			err = 0;
		}
	} else {
		err = session_open_output(path, false, &out);
		if (!err && c.period > 0 && !outfile__atomic(out)) {
			cli_error("--period needs an output file that can be replaced whole, not '%s' "
				  "(or -f jsonl, which it flushes)", path);
			outfile__close(out, -ECANCELED);
			err = -EINVAL;
		}
	}
	if (err) {
		stack_filter__free(filter);
		opts_free(&c.o);
		free(stem);
		free(path);
		return 1;
	}
	/* The profile goes to standard output: a launched program's output
	 * would be mixed into it, so the program's goes to standard error
	 * (cspy's own stdout is not written to; the output has its own
	 * descriptor, outfile.h). */
	if (strcmp(path, "-") == 0 && c.o.target.command && !c.capture)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	if (writer_path_gzip(path) && !fmt->compressed && (err = outfile__gzip(out)) != 0) {
		cli_error("cannot compress '%s': %s", path, strerror(-err));
		outfile__close(out, err);
		stack_filter__free(filter);
		opts_free(&c.o);
		free(stem);
		free(path);
		return 1;
	}

	session_catch_signals();

	struct profile *prof = profile__new();
	profile__set_keep_runs(prof, fmt->timeline);
	/* The progress bar redraws with ANSI escapes: only on a terminal that
	 * takes them (TERM=dumb or unknown: the summary alone, as for a pipe). */
	struct progress_ctx pc = { .c = &c,
				   .tty = isatty(STDERR_FILENO) && term_ansi_ok(getenv("TERM")),
				   .prof = prof, .fmt = fmt, .out = out, .path = path };
	if (fmt->sources && !c.no_sources)
		pc.src = srcread__new(prof, SRCREAD_FILE_MAX, SRCREAD_TOTAL_MAX);
	struct sampler_config sc = {
		.threads_root = c.threads, .interps_root = c.interps, .function_lines = c.o.function_agg,
		.no_lineno = c.nolineno, .progress = progress, .progress_arg = &pc,
	};
	opts_sampler_config(&c.o, filter, &sc);
	struct sampler *s = sampler__new(&sc, prof);
	int rc = 0;
	bool started = false;           /* sampling began: the file gets written */
	char *cmdline = args_command_line(c.o.target.command, c.o.target.pids);
	pc.cmdline = cmdline;

	/* A Ctrl-C before the interpreter started (SESSION_INTERRUPTED) or a
	 * program that ended before a sample (SESSION_EXITED): nothing
	 * sampled, the (empty) profile is still written. */
	int how = session_start(s, &c.o, c.capture, "record", &rc);
	if (how < 0)
		goto out;

	if (how == SESSION_READY)
		cli_note("Sampling process %.7g times a second. Press Control-C to exit.", c.o.rate);
	started = true;
	/* Writing while recording begins with the samples. */
	pc.s = s;
	pc.usr1_seen = session_usr1();
	pc.next_write_s = c.period;
	if (fmt->stream) {
		set_meta(&pc, sampler__status(s));
		pc.stream = fmt->stream->begin(outfile__stream(out), prof);
	}
	sampler__run(s);
	if (pc.src)
		srcread__scan(pc.src, 0);       /* the rest, while the targets live */
	pc.s = NULL;
	write_poll(&pc, true);  /* a write of the profile so far ends before the final one */
	if (pc.tty && !c.hideprogress)
		fprintf(stderr, "\r\033[K");
	if (c.o.gil && sampler__status(s)->max_nogil_processes > 0)
		fprintf(stderr, "cspy> Warning: --gil: %d Python process%s ran without a GIL "
			"(free-threaded): none of their threads were kept\n",
			sampler__status(s)->max_nogil_processes,
			sampler__status(s)->max_nogil_processes == 1 ? "" : "es");
	if (c.o.async_tasks && sampler__status(s)->async_why[0])
		cli_note("--async: %s: its samples keep their thread stacks",
			 sampler__status(s)->async_why);
	else if (c.o.async_tasks && sampler__status(s)->samples && !sampler__status(s)->async_joined &&
		 !sampler__status(s)->async_pending)
		cli_note("--async: no sample found an asyncio task (no event loop ran, or asyncio "
			 "was not imported): the stacks are the threads' own");
	if (sampler__status(s)->gave_up[0]) {
		cli_error("%s", sampler__status(s)->gave_up);
		rc = 1;
	}

out:;
	const struct sampler_status *st = sampler__status(s);
	pc.s = s;
	set_meta(&pc, st);
	pc.s = NULL;
	/* The program runs on after a signal, the end of --duration or an
	 * error: end it (see cli/session.h) before writing the file. */
	rc = session_end(s, rc);

	struct writer_opts oo = { .full_filenames = c.o.full_filenames };
	int werr = 0;
	if (!started && rc) {
		/* Nothing was sampled because of an error already reported:
		 * leave no empty file behind (a stream's, written in place,
		 * is there and empty: removed). */
		outfile__close(out, -ECANCELED);
		struct stat sb;
		if (fmt->stream && strcmp(path, "-") != 0 && lstat(path, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && sb.st_size == 0)
			unlink(path);
		goto done;
	}
	uint64_t w0 = clock_now_ns();
	if (fmt->stream) {
		/* Begun with the samples; else (nothing was sampled) now. */
		if (!pc.stream)
			pc.stream = fmt->stream->begin(outfile__stream(out), prof);
		werr = outfile__close(out, fmt->stream->end(pc.stream));
		pc.stream = NULL;
	} else {
		werr = outfile__close(out, fmt->write(outfile__stream(out), prof, &oo));
	}
	double write_s = (double)(clock_now_ns() - w0) / 1e9;
	if (werr) {
		cli_error("writing '%s' failed: %s", path, strerror(-werr));
		rc = rc ? rc : 1;
	} else if (st->samples == 0 && rc == 0 && !c.o.target.command) {
		cli_note("No samples were collected.");
	} else if (st->samples > 0 && st->active_samples == 0 && !c.o.idle &&
		   profile__nstacks(prof) == 0) {
		/* Not an error (the profile is what was asked for): say why it
		 * is empty. */
		cli_note("Every thread was idle in all %llu samples, so none was kept: add --idle to "
			 "include idle threads.", (unsigned long long)st->samples);
	}
	if (!werr) {
		/* Ticks (reads of a process's stacks: one per tick and process)
		 * and thread samples (kept: what the flame graph's root counts)
		 * named apart. */
		cli_note("Wrote %s data to '%s'. Samples: %llu ticks, %llu thread samples. Errors: %llu",
			 fmt->name, path, (unsigned long long)st->samples,
			 (unsigned long long)profile__total(prof), (unsigned long long)st->errors);
		if (c.o.mode || strcmp(opts_mode_name(&c.o), "cpu") != 0)
			cli_note("Mode: %s%s%s", opts_mode_name(&c.o),
				 c.o.exception ? (c.o.gil ? ", of the GIL holder" : c.o.idle ?
						  ", of every thread" : ", of the threads on a CPU") : "",
				 c.o.no_gc ? ", no <GC> frames" : "");
		if (c.o.memory)
			memory_note(prof, st);
		const char *hint = fmt->hint;
		if (hint)
			cli_note("%s", hint);
		if (fmt->memory_note && profile__meta(prof)->memory)
			cli_note("%s", fmt->memory_note);
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
	if (c.verbose && st->errors)
		print_error_reasons(st);
	if (getenv("CSPY_STATS") && *getenv("CSPY_STATS"))
		write_stats(getenv("CSPY_STATS"), st, c.o.rate, start_ns, write_s, prof);
done:
	sampler__free(s);
	srcread__free(pc.src);
	profile__free(prof);
	stack_filter__free(filter);
	opts_free(&c.o);
	free(cmdline);
	free(stem);
	free(path);
	return rc;
}

void cmd_record_options(struct complete_cmd *out)
{
	*out = (struct complete_cmd){ .usage = usage, .launches = true };
	out->options = opts_table(&record_cmd, &out->shorts);
}
