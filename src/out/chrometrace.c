/* SPDX-License-Identifier: MIT
 *
 * Chrome trace-event writer (see chrometrace.h). Frame labels are built once
 * and numbered by their text (frames with equal labels share a number), so
 * a stack change is found by comparing small integers from the root. Each
 * thread's runs are replayed with a stack of open frames: at a run's start
 * the differing tail of the open stack is ended and the new frames are
 * begun; at a gap and after the last run everything still open is ended.
 * All JSON goes through the streaming writer.
 */
#include "out/chrometrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "out/json.h"
#include "util/xalloc.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

struct ct {
	struct json j;
	const struct profile *p;
	char **label;           /* per frame id */
	uint32_t *canon;        /* per frame id: number of its label text */
	uint32_t *open;         /* frame ids currently begun, root first */
	size_t nopen, open_cap;
	int pid, tid;
};

static const char *kind_name(enum prof_frame_kind k)
{
	switch (k) {
	case PROF_FRAME_PYTHON: return "python";
	case PROF_FRAME_NATIVE: return "native";
	case PROF_FRAME_PROCESS: return "process";
	case PROF_FRAME_THREAD: return "thread";
	case PROF_FRAME_OTHER: break;
	}
	return "other";
}

static int cmp_by_label(const void *a, const void *b, void *arg)
{
	char **label = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(label[x], label[y]);
	return c ? c : (x > y) - (x < y);
}

static void labels_build(struct ct *c, bool full)
{
	size_t n = profile__nframes(c->p);
	c->label = xcalloc(n ? n : 1, sizeof(*c->label));
	c->canon = xcalloc(n ? n : 1, sizeof(*c->canon));
	uint32_t *order = xcalloc(n ? n : 1, sizeof(*order));
	for (uint32_t i = 0; i < n; i++) {
		const struct prof_frame *f = profile__frame_at(c->p, i);
		const char *file = full ? f->filename : f->short_filename;
		size_t cap = strlen(f->name) + strlen(file) + 32;
		c->label[i] = xmalloc(cap);
		profile_frame_label(f, full, c->label[i], cap);
		order[i] = i;
	}
	qsort_r(order, n, sizeof(*order), cmp_by_label, c->label);
	uint32_t num = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(c->label[order[i]], c->label[order[i - 1]]) != 0)
			num++;
		c->canon[order[i]] = num;
	}
	free(order);
}

static void event(struct ct *c, const char *ph, uint32_t frame, uint64_t ts_us)
{
	struct json *j = &c->j;
	json__begin_object(j);
	json__key(j, "ph");
	json__string(j, ph);
	json__key(j, "name");
	json__string(j, c->label[frame]);
	json__key(j, "cat");
	json__string(j, kind_name(profile__frame_at(c->p, frame)->kind));
	json__key(j, "ts");
	json__uint(j, ts_us);
	json__key(j, "pid");
	json__int(j, c->pid);
	json__key(j, "tid");
	json__int(j, c->tid);
	json__end_object(j);
}

static void metadata(struct ct *c, const char *what, int pid, int tid, const char *name)
{
	struct json *j = &c->j;
	json__begin_object(j);
	json__key(j, "ph");
	json__string(j, "M");
	json__key(j, "name");
	json__string(j, what);
	json__key(j, "pid");
	json__int(j, pid);
	json__key(j, "tid");
	json__int(j, tid);
	json__key(j, "args");
	json__begin_object(j);
	json__key(j, "name");
	json__string(j, name);
	json__end_object(j);
	json__end_object(j);
}

/* End open frames down to depth keep, innermost first. */
static void end_to(struct ct *c, size_t keep, uint64_t ts_us)
{
	while (c->nopen > keep)
		event(c, "E", c->open[--c->nopen], ts_us);
}

static void write_thread(struct ct *c, uint32_t t, const struct prof_run *runs, size_t nruns,
			 uint64_t period_ns)
{
	const struct prof_thread *th = profile__thread_at(c->p, t);
	c->pid = th->pid;
	c->tid = th->tid;
	c->nopen = 0;
	uint64_t tail_ns = period_ns ? period_ns : 1000, now = 0;
	for (size_t r = 0; r < nruns && !c->j.err; r++) {
		const struct prof_stack *st = profile__stack_at(c->p, runs[r].stack);
		/* When this run's frames end: at the next run, or after a gap/at the end. */
		uint64_t end_ns = runs[r].t_last_ns + tail_ns;
		bool close_all = true;
		if (r + 1 < nruns && !(period_ns && runs[r + 1].t_ns > runs[r].t_last_ns + 2 * period_ns + period_ns / 2)) {
			end_ns = runs[r + 1].t_ns;
			close_all = false;
		}
		/* Time never goes back, even if the samples' timestamps did. */
		uint64_t ts = runs[r].t_ns / 1000, end_ts = end_ns / 1000;
		if (ts < now)
			ts = now;
		if (end_ts < ts)
			end_ts = ts;

		size_t k = 0;
		while (k < c->nopen && k < st->n && c->canon[c->open[k]] == c->canon[st->frames[k]])
			k++;
		uint64_t begin_ts = ts;
		if (k < st->n && end_ts > ts + 1) {
			for (size_t i = k + 1; i < c->nopen; i++)
				if (c->canon[c->open[i]] == c->canon[st->frames[k]]) {
					begin_ts = ts + 1;
					break;
				}
		}
		end_to(c, k, ts);
		c->open = xgrow(c->open, &c->open_cap, st->n, sizeof(*c->open));
		for (; c->nopen < st->n; c->nopen++) {
			c->open[c->nopen] = st->frames[c->nopen];
			event(c, "B", c->open[c->nopen], begin_ts);
		}
		if (close_all)
			end_to(c, 0, end_ts);
		now = close_all ? end_ts : begin_ts;
	}
}

/* The name of process pid: a thread's command line, the profile's for the
 * first process, or "Process PID" (heap string). */
static char *process_name(const struct profile *p, int pid, bool first)
{
	for (uint32_t t = 0; t < profile__nthreads(p); t++) {
		const struct prof_thread *th = profile__thread_at(p, t);
		if (th->pid == pid && th->process_cmdline && th->process_cmdline[0])
			return xstrdup(th->process_cmdline);
	}
	const char *cmd = profile__meta(p)->command_line;
	if (first && cmd && cmd[0])
		return xstrdup(cmd);
	return xasprintf("Process %d", pid);
}

static void write_metadata(struct ct *c)
{
	const struct profile *p = c->p;
	size_t n = profile__nthreads(p);
	bool first = true;
	for (uint32_t t = 0; t < n; t++) {
		const struct prof_thread *th = profile__thread_at(p, t);
		size_t nruns;
		profile__runs(p, t, &nruns);
		if (!nruns)
			continue;
		bool seen = false;      /* a process is named at its first thread with samples */
		for (uint32_t u = 0; u < t && !seen; u++) {
			size_t nu;
			profile__runs(p, u, &nu);
			seen = nu && profile__thread_at(p, u)->pid == th->pid;
		}
		if (!seen) {
			char *name = process_name(p, th->pid, first);
			metadata(c, "process_name", th->pid, th->pid, name);
			free(name);
			first = false;
		}
		char *tname = th->name[0] ? xstrdup(th->name) : xasprintf("Thread %d", (int)th->tid);
		metadata(c, "thread_name", th->pid, th->tid, tname);
		free(tname);
	}
}

int chrometrace_write(FILE *f, const struct profile *p, const struct chrometrace_opts *o)
{
	struct chrometrace_opts def = CHROMETRACE_OPTS_DEFAULT;
	if (!o)
		o = &def;
	struct ct c = { .p = p };
	const struct prof_meta *m = profile__meta(p);
	uint64_t period_ns = m->rate_hz > 0 && 1e9 / m->rate_hz >= 1 ? (uint64_t)(1e9 / m->rate_hz) : 0;
	labels_build(&c, o->full_filenames);

	json__init(&c.j, f, false);
	json__begin_object(&c.j);
	json__key(&c.j, "traceEvents");
	json__begin_array(&c.j);
	write_metadata(&c);
	for (uint32_t t = 0; t < profile__nthreads(p) && !c.j.err; t++) {
		size_t nruns;
		const struct prof_run *runs = profile__runs(p, t, &nruns);
		write_thread(&c, t, runs, nruns, period_ns);
	}
	json__end_array(&c.j);
	json__key(&c.j, "displayTimeUnit");
	json__string(&c.j, "ms");
	json__key(&c.j, "otherData");
	json__begin_object(&c.j);
	json__key(&c.j, "exporter");
	json__string(&c.j, "cspy " CSPY_VERSION);
	json__key(&c.j, "title");
	json__string(&c.j, m->title ? m->title : "");
	json__key(&c.j, "command_line");
	json__string(&c.j, m->command_line ? m->command_line : "");
	json__end_object(&c.j);
	json__end_object(&c.j);
	if (fputc('\n', f) == EOF)
		c.j.err = -EIO;
	int err = json__end(&c.j);

	for (size_t i = 0; i < profile__nframes(p); i++)
		free(c.label[i]);
	free(c.label);
	free(c.canon);
	free(c.open);
	return err;
}
