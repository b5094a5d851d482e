/* SPDX-License-Identifier: MIT
 *
 * `cspy top`: a live view of where a running program spends its time, like
 * Unix top for Python functions. It attaches (--pid) or launches (after
 * `--`) as `record` does and runs the same sampler into a profile; the
 * sampler's progress callback (about 10 times a second) reads the keys,
 * notices resizes and, every --delay seconds, recomputes the table
 * (tui/topmodel.h), renders it (tui/topview.h) and draws it on the terminal
 * (tui/term.h), appends it to --output, and with --locals reads the stack
 * and locals of the busiest thread (paused with ptrace, as `dump --locals`
 * does). When stdout is not a terminal, or a terminal that cannot take ANSI
 * escapes (tui/term.h: term_ansi_ok), the same text is printed plainly at
 * every refresh, without escapes. Times shown are samples x the wall time
 * per sampling tick since the reset (sample_seconds).
 *
 * Exits: q/Ctrl-C, SIGINT/SIGTERM/SIGHUP (the handlers only ask the sampler
 * to stop; the terminal is restored on the way out), --duration (the last
 * table is left on the normal screen), the targets' exit (said on screen;
 * the view stays until a key). In launch mode the program is then ended as
 * record ends it (cli/session.h: q, Ctrl-C as a key in raw mode and the end
 * of --duration send SIGINT, a signal to cspy is passed on, escalation
 * after a grace period), cspy exits with the program's status, and the
 * program never outlives cspy.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "writers/outfile.h"
#include "proc/launch.h"
#include "python/locals.h"
#include "sampler/sampler.h"
#include "sampler/snapshot.h"
#include "tui/term.h"
#include "tui/topmodel.h"
#include "tui/topview.h"
#include "util/xalloc.h"
#include "util/clock.h"

#define FILE_MAX_ROWS 100       /* rows per plain-text snapshot */
#define PANE_MAX_LINES 400

/* What is top's own; the shared options are in o (cli/opts.h). */
struct top_config {
	struct opts o;
	double delay;
	bool timestamp, locals;
	const char *output;
};

static const struct top_config top_defaults = {
	.o = OPTS_DEFAULTS, .delay = 1, .timestamp = false, .locals = false, .output = NULL,
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: cspy top [options] (--pid PID[,PID...] | [--] COMMAND [ARGS...])\n"
"\n"
"A live view of the functions a Python program spends its time in.\n"
"\n"
"Options:\n"
"  -p, --pid PID[,PID]    attach to running processes\n"
"  -r, --rate N           samples per second (default 100, at most 1000000)\n"
"  -d, --duration S       quit after S seconds, leaving the last table on screen\n"
"      --delay S          refresh every S seconds (default 1)\n"
"  -s, --subprocesses     also profile Python subprocesses, also ones started later\n"
OPTS_HELP_MODE
"  -F, --function         start aggregated by function, not by line\n"
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
"  -l, --locals           a pane with the stack and local variables of the\n"
"                         busiest thread (or the one shown), refreshed\n"
"  -o, --output FILE      append a plain-text snapshot of the table to FILE at\n"
"                         every refresh\n"
"      --timestamp        the wall-clock time in the header (and in --output)\n"
"      --full-filenames   full file paths in function names\n"
"      --nonblocking      do not pause the program to sample it (less overhead)\n"
"  -n, --native           also C/C++/Cython functions (not with --nonblocking)\n"
"      --async, --asyncio\n"
"                         samples attributed to asyncio tasks: the running\n"
"                         task's stack under the tasks awaiting it; every\n"
"                         pending task too, where it waits, with --idle\n"
"  -h, --help             show this help\n"
"\n"
"REGEX is a POSIX extended regular expression (as in grep -E), found anywhere\n"
"in the text unless anchored with ^ or $: --match-function '^handle_'.\n"
"PID is decimal, or hexadecimal after 0x (--pid 0x1a2b).\n"
"\n"
"Keys: 1-4 sort by %%Own, %%Total, OwnTime, TotalTime; L by line / by function;\n"
"t / T next / previous thread (live ones, then the exited ones as one entry);\n"
"A all threads; R reset; space pause the display; ? help; q quit.\n"
"Times: samples x the wall time per sampling tick (1/rate unless sampling falls\n"
"behind). When stdout is not a terminal, or TERM is unset, \"dumb\" or a terminal\n"
"with no terminfo entry and not of a known ANSI family (xterm, screen, tmux, ...),\n"
"a plain-text table is printed every --delay seconds instead (no escapes; Ctrl-C\n"
"ends it).\n"
"A launched program gets SIGINT at q, Ctrl-C or the end of --duration (a SIGTERM\n"
"to cspy is passed on); SIGTERM and SIGKILL follow if it has not exited 3 and 5 s\n"
"later. cspy exits with the program's status.\n"
"\n"
"Examples:\n"
"  cspy top --pid 4242                      until q or Ctrl-C\n"
"  cspy top -- python app.py --port 8000    launch and watch a program\n"
"  cspy top -s --pid $(pgrep -o gunicorn)   a server and all its workers\n"
"  cspy top --locals --pid 4242             ... and the busiest thread's variables\n"
"  cspy top -d 60 --delay 10 --timestamp -o top.log --pid 4242 > /dev/null\n");
}

enum { O_DELAY = OPTS_OWN, O_TIMESTAMP };

static const struct option top_options[] = {
	{ "delay", required_argument, NULL, O_DELAY },
	{ "locals", no_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "timestamp", no_argument, NULL, O_TIMESTAMP },
	{ 0 }
};

static int parse_own(int key, const char *arg, void *own)
{
	struct top_config *c = own;
	switch (key) {
	case O_DELAY: return args_parse_double(arg, "--delay", 0.05, &c->delay);
	case 'l': c->locals = true; break;
	case 'o': c->output = arg; break;
	case O_TIMESTAMP: c->timestamp = true; break;
	default: return -EINVAL;        /* not in top_options */
	}
	return 0;
}

static const struct opts_cmd top_cmd = {
	.name = "top", .nothing = "watch", .own = top_options, .own_short = "lo:",
	.parse = parse_own, .usage = usage,
};

/* The state of a running top. */
struct top {
	const struct top_config *c;
	struct sampler *s;
	struct profile *prof;
	struct topmodel *m;             /* the screen's (frozen while paused) */
	struct topmodel *live;          /* --output and plain text while the screen is paused */
	struct term *term;              /* NULL: plain text on stdout */
	FILE *out;                      /* --output, or NULL */
	int out_err;                    /* first write error of --output */
	bool stdout_err;
	char *cmdline;
	struct sampler_status base;     /* the status at the last reset */
	struct sampler_status shown;    /* the status of the screen's rows */
	struct sampler_status last;     /* the latest status */
	bool by_line, paused, help, quit, dirty;
	struct top_sel sel;             /* the threads shown (t/T/A keys) */
	uint64_t next_refresh;
	char *thread_label;
	char *pane_title;
	char **pane;
	size_t npane;
	const char *message;
	char msgbuf[256];
	struct topview view;
	struct snapshot lsnap;          /* --locals reads */
	char timestamp[32];             /* of the latest refresh */
	char shown_time[32];            /* of the screen's rows */
};

/* "all (N)", the thread shown as `TID (ns N) "NAME" [k/n]`, or the exited
 * threads; n counts the entries of the T cycle after "all". */
static void set_thread_label(struct top *t)
{
	free(t->thread_label);
	struct top_cycle c;
	topmodel_cycle(t->prof, &t->sel, &c);
	size_t n = c.threads + c.exited;
	if (t->sel.kind == TOP_SEL_ALL) {
		t->thread_label = xasprintf("all (%zu)", c.threads);
		return;
	}
	if (t->sel.kind == TOP_SEL_EXITED) {
		t->thread_label = xasprintf("exited threads (%llu) [%zu/%zu]", (unsigned long long)c.nexited,
					    c.pos, n > c.pos ? n : c.pos);
		return;
	}
	if (c.index < 0) {
		t->thread_label = xasprintf("%d (exited)", (int)t->sel.tid);
		return;
	}
	const struct prof_thread *pt = profile__thread_at(t->prof, (uint32_t)c.index);
	char pid[32] = "";
	if (t->c->o.subprocesses)
		snprintf(pid, sizeof(pid), " of process %d", (int)pt->pid);
	if (!pt->tid) {         /* sampled before their TID was known */
		t->thread_label = xasprintf("threads starting%s [%zu/%zu]", pid, c.pos, n);
		return;
	}
	char ns[32] = "";
	if (pt->ns_tid)
		snprintf(ns, sizeof(ns), " (ns %d)", (int)pt->ns_tid);
	t->thread_label = xasprintf("%d%s%s%s%s%s [%zu/%zu]", (int)pt->tid, ns, pt->name[0] ? " \"" : "",
				    pt->name, pt->name[0] ? "\"" : "", pid, c.pos, n);
}

static void pane_clear(struct top *t)
{
	for (size_t i = 0; i < t->npane; i++)
		free(t->pane[i]);
	free(t->pane);
	t->pane = NULL;
	t->npane = 0;
	free(t->pane_title);
	t->pane_title = NULL;
}

static void pane_add(struct top *t, char *line)
{
	if (t->npane >= PANE_MAX_LINES) {
		free(line);
		return;
	}
	t->pane = xrealloc(t->pane, (t->npane + 1) * sizeof(*t->pane));
	t->pane[t->npane++] = line;
}

/* --locals: the current stack of the thread shown (or the busiest one) with
 * the locals of each frame, read as `dump --locals` does. */
static void read_locals(struct top *t, const struct topmodel *m)
{
	pane_clear(t);
	bool one = t->sel.kind == TOP_SEL_THREAD;
	int th = topmodel__busiest_thread(m);
	if (one) {
		struct top_cycle c;
		topmodel_cycle(t->prof, &t->sel, &c);
		if (c.index < 0) {
			t->pane_title = xasprintf("Locals: thread %d has exited", (int)t->sel.tid);
			return;
		}
		th = c.index;
	}
	if (th < 0) {
		t->pane_title = xstrdup("Locals: no thread has been sampled yet");
		return;
	}
	const struct prof_thread *pt = profile__thread_at(t->prof, (uint32_t)th);
	char ns[32] = "";
	if (pt->ns_tid)
		snprintf(ns, sizeof(ns), " (ns %d)", (int)pt->ns_tid);
	t->pane_title = xasprintf("Thread %d%s%s%s%s (%s): stack and locals", (int)pt->tid, ns,
				  pt->name[0] ? " \"" : "", pt->name, pt->name[0] ? "\"" : "",
				  one ? "shown" : "busiest");
	const struct snap_target *target = sampler__target(t->s, pt->pid);
	if (!target) {
		pane_add(t, xasprintf("(process %d has exited)", (int)pt->pid));
		return;
	}
	/* Without the pause a read can be torn: again, up to 5 times. */
	struct snap_req r = { .pause = t->c->o.nonblocking ? SNAP_NONBLOCKING : SNAP_PAUSE_ALL,
			      .tries = 5, .locals = 1, .locals_tid = pt->tid };
	int err = snapshot__take(target, &r, &t->lsnap, NULL);
	const struct py_sample *sm = &t->lsnap.sample;
	const struct py_thread *pyt = NULL;
	const struct snap_locals *lv = NULL;
	for (size_t i = 0; !err && i < sm->n; i++)
		if (sm->threads[i].tid == pt->tid) {
			pyt = &sm->threads[i];
			lv = t->lsnap.locals[i];
		}
	if (err) {
		pane_add(t, xasprintf("(could not read the process: %s)", strerror(-err)));
	} else if (!pyt) {
		pane_add(t, xasprintf("(thread %d has no Python frames now)", (int)pt->tid));
	} else if (pyt->err) {
		pane_add(t, xasprintf("(could not read the thread's stack: %s)", strerror(-pyt->err)));
	} else {
		for (size_t k = 0; k < pyt->nframes && t->npane < PANE_MAX_LINES; k++) {
			const struct py_frame *fr = &pyt->frames[k];
			const char *file = t->c->o.full_filenames ? fr->code->filename : fr->code->short_filename;
			if (fr->line >= 0)
				pane_add(t, xasprintf("%s (%s:%d)", fr->code->name, file, fr->line));
			else
				pane_add(t, xasprintf("%s (%s)", fr->code->name, file));
			if (!lv || lv[k].err) {
				pane_add(t, xstrdup("    <could not read the locals>"));
				continue;
			}
			for (size_t i = 0; i < lv[k].n; i++)
				pane_add(t, xasprintf("    %s: %s", lv[k].v[i].name, lv[k].v[i].repr));
		}
	}
}

/* The wall time one sample stands for in the window since the reset: its
 * wall time over its ticks (each tick samples every thread once). When
 * sampling keeps up that is 1/rate; when it falls behind (a high rate, deep
 * stacks, a busy machine) it is the real, longer interval. 1/rate before
 * the first tick. */
static double sample_seconds(const struct top *t, const struct sampler_status *st)
{
	uint64_t ticks = st->ticks - t->base.ticks;
	double wall = st->elapsed_s - t->base.elapsed_s;
	return ticks > 0 && wall > 0 ? wall / (double)ticks : 1.0 / t->c->o.rate;
}

static void fill_header(const struct top *t, const struct sampler_status *st, const char *when,
			struct top_header *h)
{
	*h = (struct top_header){
		.cmdline = t->cmdline, .python_version = sampler__python_version(t->s),
		.timestamp = t->c->timestamp ? when : NULL,
		.samples = st->samples - t->base.samples, .errors = st->errors - t->base.errors,
		.thread_samples = st->thread_samples - t->base.thread_samples,
		.active_samples = st->active_samples - t->base.active_samples,
		.gil_samples = st->gil_samples - t->base.gil_samples,
		.threads = st->threads, .processes = st->processes,
		.nogil_processes = st->nogil_processes,
		.show_processes = t->c->o.subprocesses, .thread_label = t->thread_label,
		.paused = t->paused, .help = t->help, .sample_s = sample_seconds(t, st),
		.message = t->message, .mode = opts_mode_name(&t->c->o),
		.pane_title = t->pane_title, .pane = (const char *const *)t->pane, .npane = t->npane,
	};
	if (!t->c->locals)
		h->npane = 0;
}

static void stamp(struct top *t)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(t->timestamp, sizeof(t->timestamp), "%Y-%m-%d %H:%M:%S", &tm);
}

/* A plain-text snapshot of m with status st into f. */
static int write_snapshot(struct top *t, FILE *f, const struct topmodel *m,
			  const struct sampler_status *st, bool separator)
{
	struct top_header h;
	fill_header(t, st, t->timestamp, &h);
	h.paused = false;
	h.help = false;
	h.message = NULL;
	struct topview_opts o = { .max_rows = FILE_MAX_ROWS, .full_filenames = t->c->o.full_filenames };
	struct topview v = { 0 };
	topview__render(&v, &h, m, t->prof, &o);
	int err = topview__write(&v, f);
	topview__release(&v);
	if (!err && separator && fputc('\n', f) == EOF)
		err = -EIO;
	if (!err && fflush(f) != 0)
		err = -errno;
	return err;
}

static void draw(struct top *t)
{
	if (!t->term)
		return;
	int rows, cols;
	term__size(t->term, &rows, &cols);
	struct top_header h;
	fill_header(t, &t->shown, t->shown_time, &h);
	struct topview_opts o = { .width = cols, .height = rows, .full_filenames = t->c->o.full_filenames,
				  .hints = true };
	topview__render(&t->view, &h, t->m, t->prof, &o);
	const char **lines = xmalloc((t->view.n + 1) * sizeof(*lines));
	enum term_style *styles = xmalloc((t->view.n + 1) * sizeof(*styles));
	for (size_t i = 0; i < t->view.n; i++) {
		lines[i] = t->view.lines[i].text;
		styles[i] = t->view.lines[i].style;
	}
	if (term__draw(t->term, lines, styles, t->view.n) != 0)
		t->quit = true;         /* the terminal is gone */
	free(lines);
	free(styles);
	t->dirty = false;
}

/* The status of the rows now shown; once the targets are gone, the thread
 * count of their last read stays. */
static void take_status(struct top *t, const struct sampler_status *st)
{
	int threads = t->shown.threads;
	t->shown = *st;
	memcpy(t->shown_time, t->timestamp, sizeof(t->shown_time));
	if (st->processes == 0 && st->threads == 0)
		t->shown.threads = threads;
}

/* Every --delay: new rows (unless paused), the --locals pane, the --output
 * snapshot, the screen or the plain-text table. */
static void refresh(struct top *t, const struct sampler_status *st)
{
	stamp(t);
	const struct topmodel *fresh = t->m;
	if (!t->paused) {
		topmodel__update(t->m, t->prof, t->by_line, &t->sel);
		set_thread_label(t);
		take_status(t, st);
		if (t->c->locals)
			read_locals(t, t->m);
	} else if (t->out) {
		topmodel__update(t->live, t->prof, t->by_line, &t->sel);
		topmodel__sort(t->live, topmodel__sort_key(t->m));
		fresh = t->live;
	}
	if (t->out && !t->out_err)
		t->out_err = write_snapshot(t, t->out, fresh, st, true);
	if (t->term) {
		if (!t->paused || t->dirty)
			draw(t);
	} else if (!t->stdout_err) {
		if (write_snapshot(t, stdout, t->m, st, true) != 0) {
			t->stdout_err = true;   /* a closed pipe: the reader is gone */
			t->quit = true;
		}
	}
}

static void reset(struct top *t, const struct sampler_status *st)
{
	sampler__settle(t->s);  /* the split's classes of the samples before the mark */
	topmodel__reset(t->m, t->prof);
	topmodel__reset(t->live, t->prof);
	t->base = *st;
}

static void update_now(struct top *t, const struct sampler_status *st)
{
	topmodel__update(t->m, t->prof, t->by_line, &t->sel);
	set_thread_label(t);
	take_status(t, st);
	t->dirty = true;
}

static void key(struct top *t, int k, const struct sampler_status *st)
{
	if (t->help && k != TERM_KEY_CTRL_C && k != TERM_KEY_EOF) {
		t->help = false;        /* any key closes the help */
		t->dirty = true;
		return;
	}
	switch (k) {
	case '1': case '2': case '3': case '4': case '5': case '6':
		if (k >= '5' && !profile__meta(t->prof)->memory)
			break;  /* MemOwn, MemTotal: only with --memory */
		topmodel__sort(t->m, (enum top_sort)(k - '1'));
		t->dirty = true;
		break;
	case 'L': case 'l':
		t->by_line = !t->by_line;
		update_now(t, st);
		break;
	case 't': case 'T':     /* next, previous (Shift) */
		t->sel = topmodel__step(t->m, t->prof, &t->sel, k == 't' ? 1 : -1);
		update_now(t, st);
		break;
	case 'a': case 'A':
		t->sel = (struct top_sel){ .kind = TOP_SEL_ALL };
		update_now(t, st);
		break;
	case 'R': case 'r':
		reset(t, st);
		take_status(t, st);
		update_now(t, st);
		if (t->c->locals)
			pane_clear(t);
		break;
	case ' ':
		t->paused = !t->paused;
		if (!t->paused)
			refresh(t, st);
		t->dirty = true;
		break;
	case '?': case 'h': case 'H':
		t->help = true;
		t->dirty = true;
		break;
	case 'q': case 'Q': case TERM_KEY_CTRL_C: case TERM_KEY_EOF:
		t->quit = true;
		break;
	default:
		break;
	}
}

/* The sampler's progress callback: keys, resizes, refreshes. */
static void tick(const struct sampler_status *st, void *arg)
{
	struct top *t = arg;
	t->last = *st;
	if (session_signal()) {
		sampler__request_stop(t->s);
		return;
	}
	if (t->term) {
		for (int k; !t->quit && (k = term__key(t->term, 0)) != TERM_KEY_NONE;)
			key(t, k, st);
		if (term__resized(t->term))
			t->dirty = true;
	}
	uint64_t now = clock_now_ns();
	if (!t->quit && now >= t->next_refresh) {
		t->next_refresh += (uint64_t)(t->c->delay * 1e9);
		if (t->next_refresh < now)
			t->next_refresh = now + (uint64_t)(t->c->delay * 1e9);
		refresh(t, st);
	}
	if (t->dirty && !t->quit)
		draw(t);
	if (t->quit)
		sampler__request_stop(t->s);
}

/* What to say when every target has exited. */
static void exit_message(struct top *t, pid_t child)
{
	int status;
	if (child > 0 && sampler__child_status(t->s, &status) == 1) {
		if (WIFSIGNALED(status))
			snprintf(t->msgbuf, sizeof(t->msgbuf), "The program was killed by signal %d (%s).",
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(t->msgbuf, sizeof(t->msgbuf), "The program exited with status %d.",
				 launch_exit_code(status));
	} else if (t->c->o.target.npids == 1) {
		snprintf(t->msgbuf, sizeof(t->msgbuf), "Process %d has exited.", (int)t->c->o.target.pids[0]);
	} else {
		snprintf(t->msgbuf, sizeof(t->msgbuf), "The processes have exited.");
	}
}

/* Keep the last view until a key (or a signal). */
static void wait_key(struct top *t)
{
	size_t len = strlen(t->msgbuf);
	snprintf(t->msgbuf + len, sizeof(t->msgbuf) - len, " Press any key to quit.");
	t->message = t->msgbuf;
	t->help = false;
	draw(t);
	while (!session_signal() && !t->quit) {
		int k = term__key(t->term, 200);
		if (term__resized(t->term))
			draw(t);
		if (k != TERM_KEY_NONE)
			break;
	}
}

/* --duration: the last table stays on the normal screen. */
static void print_last_table(struct top *t, int rows, int cols)
{
	struct top_header h;
	fill_header(t, &t->shown, t->shown_time, &h);
	h.paused = false;
	h.help = false;
	h.message = NULL;
	struct topview_opts o = { .width = cols, .height = rows > 2 ? rows - 1 : rows,
				  .full_filenames = t->c->o.full_filenames };
	topview__render(&t->view, &h, t->m, t->prof, &o);
	size_t n = t->view.n;
	while (n > 0 && !t->view.lines[n - 1].text[0])
		n--;
	for (size_t i = 0; i < n; i++)
		printf("%s\n", t->view.lines[i].text);
}

/* The key input: stdin when it is a terminal, else the controlling
 * terminal; -1 when there is none (then only signals end top). */
static int open_keys(bool *opened)
{
	*opened = false;
	if (isatty(STDIN_FILENO))
		return STDIN_FILENO;
	int fd = open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	*opened = fd >= 0;
	return fd;
}

int cmd_top(int argc, char **argv)
{
	struct top_config c = top_defaults;
	int err = opts_parse(argc, argv, &top_cmd, &c.o, &c);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;

	struct stack_filter *filter = NULL;
	if (opts_filter(&c.o, &filter))
		return EXIT_USAGE;
	/* Open the output now: an unwritable path must fail before sampling. */
	struct outfile *out = NULL;
	if (c.output && session_open_output(c.output, true, &out) != 0) {
		stack_filter__free(filter);
		opts_free(&c.o);
		return 1;
	}
	/* A terminal that cannot take ANSI escapes (TERM=dumb, unset, unknown)
	 * gets the plain text of a pipe. */
	bool tui = isatty(STDOUT_FILENO) && term_ansi_ok(getenv("TERM"));

	session_catch_signals();

	struct top t = {
		.c = &c, .prof = profile__new(), .m = topmodel__new(), .live = topmodel__new(),
		.out = out ? outfile__stream(out) : NULL, .by_line = !c.o.function_agg, .sel = { .kind = TOP_SEL_ALL },
	};
	struct sampler_config sc = { .gil_stats = true, .progress = tick, .progress_arg = &t };
	opts_sampler_config(&c.o, filter, &sc);
	profile__set_keep_runs(t.prof, false);     /* counts only: bounded memory */
	if (c.o.memory)         /* --memory: the stacks carry bytes (a memory column) */
		profile__set_meta(t.prof, &(struct prof_meta){ .rate_hz = c.o.rate, .memory = true });
	t.s = sampler__new(&sc, t.prof);
	t.cmdline = args_command_line(c.o.target.command, c.o.target.pids);
	int rc = 0, keys_fd = -1;
	bool keys_opened = false, exited = false;

	/* On the screen, the program's output would scribble over the table.
	 * A program that ended or a signal before sampling: nothing to show. */
	if (session_start(t.s, &c.o, tui, "top", &rc) != SESSION_READY || session_signal())
		goto out;

	if (tui) {
		keys_fd = open_keys(&keys_opened);
		err = term__open(keys_fd, STDOUT_FILENO, term_color_wanted(STDOUT_FILENO), &t.term);
		if (err) {
			cli_error("cannot use the terminal: %s", strerror(-err));
			rc = 1;
			goto out;
		}
	}
	set_thread_label(&t);
	stamp(&t);
	memcpy(t.shown_time, t.timestamp, sizeof(t.shown_time));
	t.next_refresh = clock_now_ns() + (uint64_t)(c.delay * 1e9);
	draw(&t);
	sampler__run(t.s);

	const struct sampler_status *st = sampler__status(t.s);
	t.last = *st;
	bool quit = t.quit || session_signal();
	exited = !quit && st->processes == 0 && !(c.o.duration > 0 && st->elapsed_s >= c.o.duration) &&
		 !st->gave_up[0];
	if (!quit && !t.paused)
		refresh(&t, st);
	else if (!quit && t.out && !t.out_err)
		t.out_err = write_snapshot(&t, t.out, t.m, st, true);
	if (exited) {
		exit_message(&t, session_child());
		if (t.term)
			wait_key(&t);
		else
			cli_note("%s", t.msgbuf);
	}
	if (t.term) {
		int rows, cols;
		term__size(t.term, &rows, &cols);
		term__close(t.term);
		t.term = NULL;
		if (!quit && !exited && !session_signal())
			print_last_table(&t, rows, cols);       /* --duration */
	}

	if (c.o.async_tasks && st->async_why[0])
		cli_note("--async: %s: its samples keep their thread stacks", st->async_why);
	else if (c.o.async_tasks && st->samples && !st->async_joined && !st->async_pending)
		cli_note("--async: no sample found an asyncio task (no event loop ran, or asyncio "
			 "was not imported): the stacks are the threads' own");
	if (st->gave_up[0]) {
		cli_error("%s", st->gave_up);
		rc = 1;
	}

out:;
	/* q, a signal, --duration or an error: the program still runs. The
	 * terminal is restored by now, so a Ctrl-C during the wait reaches the
	 * program and escalates (cli/session.h). */
	rc = session_end(t.s, rc);
	if (out) {
		t.out_err = outfile__close(out, t.out_err);
		if (t.out_err) {
			cli_error("writing '%s' failed: %s", c.output, strerror(-t.out_err));
			rc = rc ? rc : 1;
		}
	}
	term__close(t.term);
	if (keys_opened)
		close(keys_fd);
	pane_clear(&t);
	snapshot__release(&t.lsnap);
	topview__release(&t.view);
	free(t.thread_label);
	free(t.cmdline);
	sampler__free(t.s);
	topmodel__free(t.m);
	topmodel__free(t.live);
	profile__free(t.prof);
	stack_filter__free(filter);
	opts_free(&c.o);
	return rc;
}

void cmd_top_options(struct complete_cmd *out)
{
	*out = (struct complete_cmd){ .usage = usage, .launches = true };
	out->options = opts_table(&top_cmd, &out->shorts);
}
