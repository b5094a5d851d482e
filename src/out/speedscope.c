/* SPDX-License-Identifier: MIT
 *
 * speedscope writer (see speedscope.h). Everything goes through the
 * streaming JSON writer, which escapes names and turns invalid UTF-8 into
 * U+FFFD. Frames are written once, indexed by their profile frame id; each
 * thread's runs are walked twice, once for the "samples" array and once for
 * the "weights" array (the endValue, the sum of the weights, comes first in
 * the object, so it is summed before anything of the profile is written).
 */
#include "out/speedscope.h"

#include <errno.h>
#include <stdlib.h>

#include "agg/profile.h"
#include "out/json.h"
#include "util/xalloc.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

static void write_frames(struct json *j, const struct profile *p, bool full)
{
	json__begin_array(j);
	for (uint32_t i = 0; i < profile__nframes(p); i++) {
		const struct prof_frame *fr = profile__frame_at(p, i);
		const char *file = full ? fr->filename : fr->short_filename;
		json__begin_object(j);
		json__key(j, "name");
		json__string(j, fr->name);
		if (file[0]) {
			json__key(j, "file");
			json__string(j, file);
		}
		if (fr->line >= 0) {
			json__key(j, "line");
			json__int(j, fr->line);
		}
		json__end_object(j);
	}
	json__end_array(j);
}

static void write_thread(struct json *j, const struct profile *p, uint32_t tid_idx,
			 const struct prof_run *runs, size_t nruns, double rate, bool seconds)
{
	const struct prof_thread *t = profile__thread_at(p, tid_idx);
	char *name = t->name[0] ? xasprintf("Process %d Thread %d \"%s\"", (int)t->pid, (int)t->tid, t->name)
				: xasprintf("Process %d Thread %d", (int)t->pid, (int)t->tid);
	double end_s = 0;
	uint64_t end_n = 0;
	for (size_t r = 0; r < nruns; r++) {
		end_s += runs[r].count / rate;
		end_n += runs[r].count;
	}

	json__begin_object(j);
	json__key(j, "type");
	json__string(j, "sampled");
	json__key(j, "name");
	json__string(j, name);
	json__key(j, "unit");
	json__string(j, seconds ? "seconds" : "none");
	json__key(j, "startValue");
	json__int(j, 0);
	json__key(j, "endValue");
	if (seconds)
		json__double(j, end_s);
	else
		json__uint(j, end_n);
	json__key(j, "samples");
	json__begin_array(j);
	for (size_t r = 0; r < nruns; r++) {
		const struct prof_stack *st = profile__stack_at(p, runs[r].stack);
		json__begin_array(j);
		for (uint32_t k = 0; k < st->n; k++)
			json__uint(j, st->frames[k]);
		json__end_array(j);
	}
	json__end_array(j);
	json__key(j, "weights");
	json__begin_array(j);
	for (size_t r = 0; r < nruns; r++) {
		if (seconds)
			json__double(j, runs[r].count / rate);
		else
			json__uint(j, runs[r].count);
	}
	json__end_array(j);
	json__end_object(j);
	free(name);
}

int speedscope_write(FILE *f, const struct profile *p, const struct speedscope_opts *o)
{
	struct speedscope_opts def = SPEEDSCOPE_OPTS_DEFAULT;
	if (!o)
		o = &def;
	const struct prof_meta *m = profile__meta(p);
	const char *title = o->title ? o->title : m->title;
	double rate = m->rate_hz;
	bool seconds = !o->unit_samples && rate > 0;

	struct json j;
	json__init(&j, f, false);
	json__begin_object(&j);
	json__key(&j, "$schema");
	json__string(&j, "https://www.speedscope.app/file-format-schema.json");
	if (title && title[0]) {
		json__key(&j, "name");
		json__string(&j, title);
	}
	json__key(&j, "exporter");
	json__string(&j, "cspy " CSPY_VERSION);
	json__key(&j, "activeProfileIndex");
	json__int(&j, 0);
	json__key(&j, "shared");
	json__begin_object(&j);
	json__key(&j, "frames");
	write_frames(&j, p, o->full_filenames);
	json__end_object(&j);
	json__key(&j, "profiles");
	json__begin_array(&j);
	for (uint32_t t = 0; t < profile__nthreads(p) && !j.err; t++) {
		size_t nruns;
		const struct prof_run *runs = profile__runs(p, t, &nruns);
		if (nruns)
			write_thread(&j, p, t, runs, nruns, rate, seconds);
	}
	json__end_array(&j);
	json__end_object(&j);
	if (fputc('\n', f) == EOF)
		j.err = -EIO;
	return json__end(&j);
}
