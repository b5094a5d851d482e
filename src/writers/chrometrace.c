/* SPDX-License-Identifier: MIT
 *
 * Chrome trace-event writer (see chrometrace.h). Frame labels are built once
 * and numbered by their text (frames with equal labels share a number), so
 * a stack change is found by comparing small integers from the root. An
 * event is named by the function alone, its file and line in "args" (as
 * py-spy writes them), so that tools grouping events by name agree. Each
 * thread's runs are replayed with a stack of open frames: at a run's start
 * the differing tail of the open stack is ended and the new frames are
 * begun; at a gap and after the last run everything still open is ended.
 *
 * A profile whose stack changes at every sample gives tens of events per
 * sample, so events are assembled from pieces rendered once: per frame
 * `,"name":"NAME","cat":"KIND","args":{...},"ts":` (strings escaped by the JSON writer,
 * writers/json.h, which every string of the file goes through) and per thread
 * `,"pid":P,"tid":T}`; an event is then three copies and a number into
 * the output buffer (writers/outbuf.h), written out in large blocks with
 * every fwrite checked.
 *
 * A lane of exited threads (profile__thread_exit) holds their runs one
 * thread after another, so its time can go back where two of them ran at the
 * same time. It is cut there into segments, and the segments, in order of
 * start, go to the first track that is free by then: as many tracks as
 * threads of that name ran at once, not one per thread ever seen. Tracks get
 * TIDs from LANE_TID0 up (above any real TID: the kernel's PID_MAX_LIMIT)
 * and the name "PATTERN (exited threads)".
 *
 * A --memory profile (prof_meta.memory, not a diff) adds a counter track
 * per live thread, "memory (thread TID)": at the end of each run the bytes
 * grown and shrunk so far. The profile keeps bytes per stack, not per
 * sample, so a run is given its stack's bytes in proportion to its samples
 * (exact totals at the end): the track shows when a stack ran, not when
 * each byte came. Lanes of exited threads have none.
 */
#include "writers/chrometrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "writers/json.h"
#include "writers/outbuf.h"
#include "util/xalloc.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

#define LANE_TID0 4194304        /* PID_MAX_LIMIT: no real TID is this high */

struct segment {
	size_t first, n;        /* runs of the lane */
	uint64_t start, end;    /* ns */
};

struct ct {
	struct outbuf ob;       /* first: the output */
	const struct profile *p;
	uint32_t *canon;        /* per frame id: number of its label text */
	char *part;             /* per frame: `,"name":"LABEL","cat":"KIND","ts":` */
	size_t *part_off;       /* nframes + 1 entries into part */
	char suffix[64];        /* `,"pid":P,"tid":T}` of the current thread */
	size_t suffix_len;
	bool first_event;
	uint32_t *open;         /* frame ids currently begun, root first */
	size_t nopen, open_cap;
	int next_lane_tid;
	uint64_t *seen;         /* --memory: per stack, its samples replayed so far; NULL: none */
};

static int cmp_by_label(const void *a, const void *b, void *arg)
{
	char **label = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(label[x], label[y]);
	return c ? c : (x > y) - (x < y);
}

/* Labels, their numbers, and each frame's rendered event part. */
static void frames_build(struct ct *c, bool full)
{
	size_t n = profile__nframes(c->p);
	char **label = xcalloc(n ? n : 1, sizeof(*label));
	uint32_t *order = xcalloc(n ? n : 1, sizeof(*order));
	c->canon = xcalloc(n ? n : 1, sizeof(*c->canon));
	c->part_off = xcalloc(n + 1, sizeof(*c->part_off));
	for (uint32_t i = 0; i < n; i++) {
		const struct prof_frame *f = profile__frame_at(c->p, i);
		const char *file = full ? f->filename : f->short_filename;
		size_t cap = strlen(f->name) + strlen(file) + 32;
		label[i] = xmalloc(cap);
		profile_frame_label(f, full, label[i], cap);
		order[i] = i;
	}
	qsort_r(order, n, sizeof(*order), cmp_by_label, label);
	uint32_t num = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(label[order[i]], label[order[i - 1]]) != 0)
			num++;
		c->canon[order[i]] = num;
	}

	size_t len = 0;
	FILE *ms = open_memstream(&c->part, &len);
	if (!ms)
		abort();        /* out of memory */
	for (uint32_t i = 0; i < n; i++) {
		const struct prof_frame *f = profile__frame_at(c->p, i);
		struct json j;
		fputs(",\"name\":", ms);
		json__init(&j, ms, false);
		json__string(&j, f->name);
		fprintf(ms, ",\"cat\":\"%s\"", profile_frame_kind_name(f->kind));
		if (f->filename[0]) {
			/* py-spy's fields: the full file name, the line or null. */
			fputs(",\"args\":{\"filename\":", ms);
			json__init(&j, ms, false);
			json__string(&j, f->filename);
			if (f->line >= 0)
				fprintf(ms, ",\"line\":%d}", f->line);
			else
				fputs(",\"line\":null}", ms);
		}
		fputs(",\"ts\":", ms);
		fflush(ms);
		c->part_off[i + 1] = len;
	}
	if (fclose(ms) != 0)
		abort();        /* a memory stream fails only when out of memory */
	for (size_t i = 0; i < n; i++)
		free(label[i]);
	free(label);
	free(order);
}

static void event(struct ct *c, bool begin, uint32_t frame, uint64_t ts_us)
{
	char b[24];
	if (!c->first_event)
		outbuf__mem(&c->ob, ",", 1);
	c->first_event = false;
	outbuf__str(&c->ob, begin ? "{\"ph\":\"B\"" : "{\"ph\":\"E\"");
	outbuf__mem(&c->ob, c->part + c->part_off[frame], c->part_off[frame + 1] - c->part_off[frame]);
	outbuf__mem(&c->ob, b, outbuf_fmt_u64(b, ts_us));
	outbuf__mem(&c->ob, c->suffix, c->suffix_len);
}

static void metadata(struct ct *c, const char *what, int pid, int tid, const char *name)
{
	char b[96];
	if (!c->first_event)
		outbuf__mem(&c->ob, ",", 1);
	c->first_event = false;
	int n = snprintf(b, sizeof(b), "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":",
			 what, pid, tid);
	outbuf__mem(&c->ob, b, (size_t)n);
	json_outbuf_string(&c->ob, name);
	outbuf__str(&c->ob, "}}");
}

/* End open frames down to depth keep, innermost first. */
static void end_to(struct ct *c, size_t keep, uint64_t ts_us)
{
	while (c->nopen > keep)
		event(c, false, c->open[--c->nopen], ts_us);
}

/* --memory: the bytes of stack st after `seen` of its samples (in
 * proportion; all of them at the last). */
static uint64_t share(uint64_t bytes, uint64_t seen, uint64_t count)
{
	if (!count || seen >= count)
		return bytes;
	return (uint64_t)((double)bytes * (double)seen / (double)count);
}

/* --memory: thread tid's counter track, each run's stack's share of bytes
 * added at the run's end. */
static void write_memory_track(struct ct *c, int pid, int tid, const struct prof_run *runs, size_t nruns,
			       uint64_t tail_ns)
{
	uint64_t grown = 0, shrunk = 0, now = 0;
	char b[160];
	for (size_t r = 0; r < nruns && !c->ob.err; r++) {
		const struct prof_stack *st = profile__stack_at(c->p, runs[r].stack);
		uint64_t before = c->seen[runs[r].stack], after = before + runs[r].count;
		c->seen[runs[r].stack] = after;
		grown += share(st->mem_grow, after, st->count) - share(st->mem_grow, before, st->count);
		shrunk += share(st->mem_shrink, after, st->count) - share(st->mem_shrink, before, st->count);
		uint64_t ts = (runs[r].t_last_ns + tail_ns) / 1000;
		if (ts < now)
			ts = now;
		now = ts;
		if (!c->first_event)
			outbuf__mem(&c->ob, ",", 1);
		c->first_event = false;
		int n = snprintf(b, sizeof(b), "{\"ph\":\"C\",\"name\":\"memory (thread %d)\",\"pid\":%d,"
				 "\"tid\":%d,\"ts\":%llu,\"args\":{\"grown\":%llu,\"shrunk\":%llu}}", tid, pid,
				 tid, (unsigned long long)ts, (unsigned long long)grown,
				 (unsigned long long)shrunk);
		outbuf__mem(&c->ob, b, (size_t)n);
	}
}

static void write_thread(struct ct *c, int pid, int tid, const struct prof_run *runs, size_t nruns,
			 uint64_t period_ns)
{
	if (c->seen && nruns)
		write_memory_track(c, pid, tid, runs, nruns, period_ns ? period_ns : 1000);
	c->suffix_len = (size_t)snprintf(c->suffix, sizeof(c->suffix), ",\"pid\":%d,\"tid\":%d}",
					 pid, tid);
	c->nopen = 0;
	uint64_t tail_ns = period_ns ? period_ns : 1000, now = 0;
	for (size_t r = 0; r < nruns && !c->ob.err; r++) {
		const struct prof_stack *st = profile__stack_at(c->p, runs[r].stack);
		/* When this run's frames end: at the next run, or after a gap/at the end. */
		uint64_t end_ns = runs[r].t_last_ns + tail_ns;
		bool close_all = true;
		if (r + 1 < nruns &&
		    !(period_ns && runs[r + 1].t_ns > runs[r].t_last_ns + 2 * period_ns + period_ns / 2)) {
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
		/* A frame ending here with the label of the first one beginning:
		 * move the begins 1 us later (see chrometrace.h). */
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
			event(c, true, c->open[c->nopen], begin_ts);
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

static bool has_runs(const struct profile *p, uint32_t t)
{
	size_t n;
	profile__runs(p, t, &n);
	return n > 0;
}

static void write_metadata(struct ct *c)
{
	const struct profile *p = c->p;
	size_t n = profile__nthreads(p);
	bool first = true;
	for (uint32_t t = 0; t < n; t++) {
		const struct prof_thread *th = profile__thread_at(p, t);
		if (!has_runs(p, t))
			continue;
		bool seen = false;      /* a process is named at its first thread with samples */
		for (uint32_t u = 0; u < t && !seen; u++)
			seen = profile__thread_at(p, u)->pid == th->pid && has_runs(p, u);
		if (!seen) {
			char *name = process_name(p, th->pid, first);
			metadata(c, "process_name", th->pid, th->pid, name);
			free(name);
			first = false;
		}
		if (th->exited)
			continue;       /* named per track by write_lane */
		char *tname = th->name[0] ? xstrdup(th->name)
			      : th->ns_tid ? xasprintf("Thread %d (ns %d)", (int)th->tid, (int)th->ns_tid)
			      : xasprintf("Thread %d", (int)th->tid);
		metadata(c, "thread_name", th->pid, th->tid, tname);
		free(tname);
	}
}

static int seg_by_start(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : x->first < y->first ? -1 : x->first > y->first;
}

/* A lane of exited threads: its segments on as few tracks as can hold them. */
static void write_lane(struct ct *c, const struct prof_thread *th, const struct prof_run *runs,
		       size_t nruns, uint64_t period_ns)
{
	uint64_t tail_ns = period_ns ? period_ns : 1000;
	struct segment *seg = xmalloc(nruns * sizeof(*seg));
	size_t nseg = 0;
	for (size_t r = 0; r < nruns; r++) {
		/* One thread's runs only go forward: back in time is the next thread. */
		if (!nseg || runs[r].t_ns <= runs[r - 1].t_last_ns)
			seg[nseg++] = (struct segment){ r, 0, runs[r].t_ns, 0 };
		seg[nseg - 1].n++;
		seg[nseg - 1].end = runs[r].t_last_ns + tail_ns;
	}
	qsort(seg, nseg, sizeof(*seg), seg_by_start);
	uint64_t *track_end = xmalloc(nseg * sizeof(*track_end));
	int *track_tid = xmalloc(nseg * sizeof(*track_tid));
	size_t ntracks = 0;
	char *name = th->name[0] ? xasprintf("%s (exited threads)", th->name) : xstrdup("(exited threads)");
	for (size_t i = 0; i < nseg && !c->ob.err; i++) {
		size_t k = 0;
		while (k < ntracks && track_end[k] > seg[i].start)
			k++;
		if (k == ntracks) {
			track_tid[ntracks++] = LANE_TID0 + c->next_lane_tid++;
			metadata(c, "thread_name", th->pid, track_tid[k], name);
		}
		track_end[k] = seg[i].end;
		write_thread(c, th->pid, track_tid[k], runs + seg[i].first, seg[i].n, period_ns);
	}
	free(name);
	free(track_tid);
	free(track_end);
	free(seg);
}

int chrometrace_write(FILE *f, const struct profile *p, const struct chrometrace_opts *o)
{
	struct chrometrace_opts def = CHROMETRACE_OPTS_DEFAULT;
	if (!o)
		o = &def;
	struct ct *c = xcalloc(1, sizeof(*c));
	outbuf__init(&c->ob, f);
	c->p = p;
	c->first_event = true;
	const struct prof_meta *m = profile__meta(p);
	double rate = profile_sample_rate(m);   /* measured: see agg/profile.h */
	uint64_t period_ns = rate > 0 && 1e9 / rate >= 1 ? (uint64_t)(1e9 / rate) : 0;
	frames_build(c, o->full_filenames);
	if (m->memory && !m->diff)
		c->seen = xcalloc(profile__nstacks(p) + 1, sizeof(*c->seen));

	outbuf__str(&c->ob, "{\"traceEvents\":[");
	write_metadata(c);
	for (uint32_t t = 0; t < profile__nthreads(p) && !c->ob.err; t++) {
		size_t nruns;
		const struct prof_run *runs = profile__runs(p, t, &nruns);
		const struct prof_thread *th = profile__thread_at(p, t);
		if (th->exited && nruns)
			write_lane(c, th, runs, nruns, period_ns);
		else
			write_thread(c, th->pid, th->tid, runs, nruns, period_ns);
	}
	outbuf__str(&c->ob, "],\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"cspy " CSPY_VERSION
		"\",\"title\":");
	json_outbuf_string(&c->ob, m->title ? m->title : "");
	outbuf__str(&c->ob, ",\"command_line\":");
	json_outbuf_string(&c->ob, m->command_line ? m->command_line : "");
	outbuf__str(&c->ob, "}}\n");
	outbuf__flush(&c->ob);
	if (fflush(f) != 0 || ferror(f))
		c->ob.err = -EIO;
	int err = c->ob.err;
	free(c->canon);
	free(c->part);
	free(c->part_off);
	free(c->open);
	free(c->seen);
	free(c);
	return err;
}
