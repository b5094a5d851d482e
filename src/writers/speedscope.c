/* SPDX-License-Identifier: MIT
 *
 * speedscope writer (see speedscope.h). The fixed structure, the numbers and
 * every string go into the output buffer (writers/outbuf.h), written out in
 * large blocks with every fwrite checked; strings are escaped on the way by
 * the JSON writer's json_outbuf_string() (invalid UTF-8 becomes U+FFFD).
 *
 * A profile whose stack changes at every sample has about as many runs as
 * samples, and each run is written as its whole stack, so the samples array
 * is the hot part: each stack's array text ("[0,1,2]") is rendered once, and
 * the weight text of small counts is cached, so a run costs two copies.
 * Doubles are printed as the JSON writer prints them ("%.17g", exact round
 * trip), and endValue is their sum in file order, as a reader adds them.
 * A sample weighs 1 / profile_sample_rate() seconds: the measured mean
 * interval between the sampler's ticks, so that a thread sampled at every
 * tick spans the recording's real duration even when sampling fell behind
 * the requested rate.
 *
 * A --memory profile (prof_meta.memory, not a diff) first gets two profiles
 * per thread with bytes, unit "bytes": "... memory growth" (a sample per
 * stack that grew the resident memory, weighing its bytes) and "... memory
 * shrink"; the busiest growth profile is the active one. The time profiles
 * follow as before.
 */
#include "writers/speedscope.h"

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

#define WEIGHT_CACHE 256        /* counts below this have their weight text cached */

/* As json__double prints it: "%.17g", an exact round trip. */
static size_t fmt_double(char *b, size_t cap, double v)
{
	return (size_t)snprintf(b, cap, "%.17g", v);
}

static void write_frames(struct outbuf *o, const struct profile *p, bool full)
{
	outbuf__str(o, "[");
	for (uint32_t i = 0; i < profile__nframes(p); i++) {
		const struct prof_frame *fr = profile__frame_at(p, i);
		const char *file = full ? fr->filename : fr->short_filename;
		outbuf__str(o, i ? ",{\"name\":" : "{\"name\":");
		json_outbuf_string(o, fr->name);
		if (file[0]) {
			outbuf__str(o, ",\"file\":");
			json_outbuf_string(o, file);
		}
		if (fr->line >= 0) {
			char b[24];
			outbuf__str(o, ",\"line\":");
			int n = snprintf(b, sizeof(b), "%d", fr->line);
			outbuf__mem(o, b, (size_t)n);
		}
		outbuf__str(o, "}");
	}
	outbuf__str(o, "]");
}

/* "[id,id,...]" of every stack, in one arena: stack i is at text + off[i]. */
struct stack_texts {
	char *text;
	size_t *off;            /* nstacks + 1 entries */
};

static void stack_texts_build(struct stack_texts *st, const struct profile *p)
{
	size_t n = profile__nstacks(p), len = 0, cap = 0;
	st->off = xmalloc((n + 1) * sizeof(*st->off));
	st->text = NULL;
	for (uint32_t i = 0; i < n; i++) {
		const struct prof_stack *s = profile__stack_at(p, i);
		st->off[i] = len;
		st->text = xgrow(st->text, &cap, len + 2 + (size_t)s->n * 11, 1);
		st->text[len++] = '[';
		for (uint32_t k = 0; k < s->n; k++) {
			if (k)
				st->text[len++] = ',';
			len += outbuf_fmt_u64(st->text + len, s->frames[k]);
		}
		st->text[len++] = ']';
	}
	st->off[n] = len;
}

struct weights {
	double rate;
	bool seconds;
	char text[WEIGHT_CACHE][32];
	unsigned char len[WEIGHT_CACHE];        /* 0: not rendered yet */
};

static size_t weight_text(struct weights *w, uint64_t count, char *tmp, const char **out)
{
	if (count < WEIGHT_CACHE && w->len[count]) {
		*out = w->text[count];
		return w->len[count];
	}
	size_t n = w->seconds ? fmt_double(tmp, 32, (double)count / w->rate) : outbuf_fmt_u64(tmp, count);
	if (count < WEIGHT_CACHE) {
		memcpy(w->text[count], tmp, n);
		w->len[count] = (unsigned char)n;
	}
	*out = tmp;
	return n;
}

/* Runs r.. with the same stack as run r, which speedscope, without gaps in
 * its timeline, shows as one sample: the index after them, and (if count)
 * their samples. The profile splits a run where a tick left the thread out
 * (idle, or unreadable then: profile__tick). */
static size_t next_group(const struct prof_run *runs, size_t nruns, size_t r, uint64_t *count)
{
	uint64_t n = 0;
	size_t e = r;
	while (e < nruns && runs[e].stack == runs[r].stack)
		n += runs[e++].count;
	if (count)
		*count = n;
	return e;
}

/* The name of thread t's profile; heap string. */
static char *thread_title(const struct profile *p, uint32_t t)
{
	const struct prof_thread *th = profile__thread_at(p, t);
	char ns[32] = "";
	if (th->ns_tid)
		snprintf(ns, sizeof(ns), " (ns %d)", (int)th->ns_tid);
	char *name = th->exited ? xasprintf("Process %d \"%s\" (%u exited threads)", (int)th->pid, th->name,
					    (unsigned)th->exited)
		   : th->name[0] ? xasprintf("Process %d Thread %d%s \"%s\"", (int)th->pid, (int)th->tid, ns,
					     th->name)
				 : xasprintf("Process %d Thread %d%s", (int)th->pid, (int)th->tid, ns);
	return name;
}

/* A --memory profile's bytes of thread t: the stacks ids[0..n) (all of
 * thread t), each one sample weighing its growth (or shrink), unit bytes;
 * nothing when none has any. Returns whether it wrote a profile. */
static bool write_memory(struct outbuf *o, const struct profile *p, uint32_t t, const uint32_t *ids,
			 size_t n, bool shrink, const struct stack_texts *st, bool first)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		const struct prof_stack *s = profile__stack_at(p, ids[i]);
		total += shrink ? s->mem_shrink : s->mem_grow;
	}
	if (!total)
		return false;
	char *title = thread_title(p, t);
	char *name = xasprintf("%s memory %s", title, shrink ? "shrink" : "growth");
	free(title);
	if (!first)
		outbuf__mem(o, ",", 1);
	outbuf__str(o, "{\"type\":\"sampled\",\"name\":");
	json_outbuf_string(o, name);
	outbuf__str(o, ",\"unit\":\"bytes\",\"startValue\":0,\"endValue\":");
	outbuf__u64(o, total);
	outbuf__str(o, ",\"samples\":[");
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		const struct prof_stack *s = profile__stack_at(p, ids[i]);
		if (!(shrink ? s->mem_shrink : s->mem_grow))
			continue;
		if (any)
			outbuf__mem(o, ",", 1);
		any = true;
		outbuf__mem(o, st->text + st->off[ids[i]], st->off[ids[i] + 1] - st->off[ids[i]]);
	}
	outbuf__str(o, "],\"weights\":[");
	any = false;
	for (size_t i = 0; i < n; i++) {
		const struct prof_stack *s = profile__stack_at(p, ids[i]);
		uint64_t v = shrink ? s->mem_shrink : s->mem_grow;
		if (!v)
			continue;
		if (any)
			outbuf__mem(o, ",", 1);
		any = true;
		outbuf__u64(o, v);
	}
	outbuf__str(o, "]}");
	free(name);
	return true;
}

/* The memory profiles of every thread, growth then shrink per thread;
 * *active: the index of the growth profile with the most bytes. Returns
 * how many profiles were written. */
static size_t write_memory_all(struct outbuf *o, const struct profile *p, const struct stack_texts *st,
			       uint64_t *active)
{
	size_t nt = profile__nthreads(p), ns = profile__nstacks(p), written = 0;
	/* stack ids bucketed by thread (counting sort) */
	size_t *start = xcalloc(nt + 1, sizeof(*start));
	uint32_t *ids = xmalloc((ns ? ns : 1) * sizeof(*ids));
	for (uint32_t i = 0; i < ns; i++)
		if (profile__stack_at(p, i)->thread < nt)
			start[profile__stack_at(p, i)->thread + 1]++;
	for (size_t t = 0; t < nt; t++)
		start[t + 1] += start[t];
	size_t *fill = xmalloc((nt + 1) * sizeof(*fill));
	memcpy(fill, start, (nt + 1) * sizeof(*fill));
	for (uint32_t i = 0; i < ns; i++)
		if (profile__stack_at(p, i)->thread < nt)
			ids[fill[profile__stack_at(p, i)->thread]++] = i;
	uint64_t best = 0;
	for (uint32_t t = 0; t < nt && !o->err; t++) {
		size_t n = start[t + 1] - start[t];
		uint64_t grow = 0;
		for (size_t i = 0; i < n; i++)
			grow += profile__stack_at(p, ids[start[t] + i])->mem_grow;
		if (grow > best) {
			best = grow;
			*active = written;
		}
		written += write_memory(o, p, t, ids + start[t], n, false, st, !written);
		written += write_memory(o, p, t, ids + start[t], n, true, st, !written);
	}
	free(start);
	free(fill);
	free(ids);
	return written;
}

static void write_thread(struct outbuf *o, const struct profile *p, uint32_t t,
			 const struct prof_run *runs, size_t nruns,
			 const struct stack_texts *st, struct weights *w)
{
	char *name = thread_title(p, t);
	char b[32];
	const char *txt;
	double end_s = 0;
	uint64_t end_n = 0;
	for (size_t r = 0, e; r < nruns; r = e) {
		uint64_t n;
		e = next_group(runs, nruns, r, &n);
		end_s += (double)n / w->rate;
		end_n += n;
	}

	outbuf__str(o, "{\"type\":\"sampled\",\"name\":");
	json_outbuf_string(o, name);
	outbuf__str(o, w->seconds ? ",\"unit\":\"seconds\"" : ",\"unit\":\"none\"");
	outbuf__str(o, ",\"startValue\":0,\"endValue\":");
	if (w->seconds)
		outbuf__mem(o, b, fmt_double(b, sizeof(b), end_s));
	else
		outbuf__u64(o, end_n);
	outbuf__str(o, ",\"samples\":[");
	for (size_t r = 0; r < nruns && !o->err; r = next_group(runs, nruns, r, NULL)) {
		if (r)
			outbuf__mem(o, ",", 1);
		uint32_t s = runs[r].stack;
		outbuf__mem(o, st->text + st->off[s], st->off[s + 1] - st->off[s]);
	}
	outbuf__str(o, "],\"weights\":[");
	uint64_t count;
	for (size_t r = 0, e; r < nruns && !o->err; r = e) {
		e = next_group(runs, nruns, r, &count);
		if (r)
			outbuf__mem(o, ",", 1);
		size_t n = weight_text(w, count, b, &txt);
		outbuf__mem(o, txt, n);
	}
	outbuf__str(o, "]}");
	free(name);
}

/* The index among the written profiles (threads with runs) of the one with
 * the most samples, the first of equals: where speedscope opens. */
static uint64_t busiest(const struct profile *p)
{
	uint64_t best = 0, best_n = 0, i = 0;
	for (uint32_t t = 0; t < profile__nthreads(p); t++) {
		size_t nruns;
		const struct prof_run *runs = profile__runs(p, t, &nruns);
		if (!nruns)
			continue;
		uint64_t n = 0;
		for (size_t r = 0; r < nruns; r++)
			n += runs[r].count;
		if (n > best_n) {
			best_n = n;
			best = i;
		}
		i++;
	}
	return best;
}

int speedscope_write(FILE *f, const struct profile *p, const struct speedscope_opts *o)
{
	struct speedscope_opts def = SPEEDSCOPE_OPTS_DEFAULT;
	if (!o)
		o = &def;
	const struct prof_meta *m = profile__meta(p);
	const char *title = o->title ? o->title : m->title;
	struct outbuf *out = xmalloc(sizeof(*out));
	outbuf__init(out, f);
	struct weights *w = xcalloc(1, sizeof(*w));
	w->rate = profile_sample_rate(m);
	w->seconds = !o->unit_samples && w->rate > 0;
	struct stack_texts st;
	stack_texts_build(&st, p);

	outbuf__str(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"");
	if (title && title[0]) {
		outbuf__str(out, ",\"name\":");
		json_outbuf_string(out, title);
	}
	bool memory = m->memory && !m->diff;
	/* A memory profile's active profile is known once they are written:
	 * then "profiles" comes first and activeProfileIndex after it. */
	outbuf__str(out, ",\"exporter\":\"cspy " CSPY_VERSION "\"");
	if (!memory) {
		outbuf__str(out, ",\"activeProfileIndex\":");
		outbuf__u64(out, busiest(p));
	}
	outbuf__str(out, ",\"shared\":{\"frames\":");
	write_frames(out, p, o->full_filenames);
	outbuf__str(out, "},\"profiles\":[");
	bool first = true;
	uint64_t active = 0;
	if (memory && write_memory_all(out, p, &st, &active))
		first = false;
	for (uint32_t t = 0; t < profile__nthreads(p) && !out->err; t++) {
		size_t nruns;
		const struct prof_run *runs = profile__runs(p, t, &nruns);
		if (!nruns)
			continue;
		if (!first)
			outbuf__mem(out, ",", 1);
		first = false;
		write_thread(out, p, t, runs, nruns, &st, w);
	}
	outbuf__str(out, "]");
	if (memory) {
		outbuf__str(out, ",\"activeProfileIndex\":");
		outbuf__u64(out, active);
	}
	outbuf__str(out, "}\n");
	outbuf__flush(out);
	if (fflush(f) != 0 || ferror(f))
		out->err = -EIO;
	int err = out->err;
	free(st.text);
	free(st.off);
	free(w);
	free(out);
	return err;
}
