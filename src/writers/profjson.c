/* SPDX-License-Identifier: MIT
 *
 * cspy JSON writer (see profjson.h): a straight walk over the profile's
 * metadata, frames, threads and stacks through the streaming JSON writer.
 * A differential profile adds "diff" to the meta and "base" to each stack;
 * a profile with the python/native/system split adds "classified" and each
 * stack's "classes", one with --memory "memory" and each stack's bytes.
 */
#include "writers/profjson.h"

#include <errno.h>

#include "agg/profile.h"
#include "writers/json.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

static void kv_str(struct json *j, const char *k, const char *v)
{
	json__key(j, k);
	json__string(j, v ? v : "");
}

static void kv_uint(struct json *j, const char *k, uint64_t v)
{
	json__key(j, k);
	json__uint(j, v);
}

static void kv_bool(struct json *j, const char *k, bool v)
{
	json__key(j, k);
	json__bool(j, v);
}

static void write_meta(struct json *j, const struct prof_meta *m)
{
	json__begin_object(j);
	kv_str(j, "title", m->title);
	kv_str(j, "command_line", m->command_line);
	kv_str(j, "python_version", m->python_version);
	json__key(j, "rate_hz");
	json__double(j, m->rate_hz);
	kv_uint(j, "start_unix_ns", m->start_unix_ns);
	kv_uint(j, "duration_ns", m->duration_ns);
	kv_uint(j, "samples", m->samples);
	kv_uint(j, "errors", m->errors);
	kv_uint(j, "ticks", m->ticks);
	kv_bool(j, "gil_only", m->gil_only);
	kv_bool(j, "idle_included", m->idle_included);
	kv_bool(j, "native", m->native);
	kv_str(j, "mode", prof_meta_mode(m));
	kv_bool(j, "exception_only", m->exception_only);
	kv_bool(j, "gc_frames", m->gc_frames);
	if (m->classified)      /* stacks carry "classes" */
		kv_bool(j, "classified", true);
	if (m->memory)          /* stacks carry "memory" */
		kv_bool(j, "memory", true);
	if (m->diff)    /* only in a diff: other profiles stay as they were */
		kv_bool(j, "diff", true);
	json__end_object(j);
}

int profjson_write(FILE *f, const struct profile *p, const struct profjson_opts *o)
{
	struct profjson_opts def = PROFJSON_OPTS_DEFAULT;
	if (!o)
		o = &def;
	struct json j;
	json__init(&j, f, o->pretty);
	json__begin_object(&j);
	json__key(&j, "cspy");
	json__begin_object(&j);
	kv_str(&j, "version", CSPY_VERSION);
	kv_uint(&j, "format_version", PROFJSON_FORMAT_VERSION);
	json__end_object(&j);
	json__key(&j, "meta");
	write_meta(&j, profile__meta(p));

	json__key(&j, "frames");
	json__begin_array(&j);
	for (uint32_t i = 0; i < profile__nframes(p) && !j.err; i++) {
		const struct prof_frame *fr = profile__frame_at(p, i);
		json__begin_object(&j);
		kv_str(&j, "name", fr->name);
		kv_str(&j, "filename", fr->filename);
		kv_str(&j, "short_filename", fr->short_filename);
		json__key(&j, "line");
		json__int(&j, fr->line);
		kv_str(&j, "kind", profile_frame_kind_name(fr->kind));
		json__end_object(&j);
	}
	json__end_array(&j);

	json__key(&j, "threads");
	json__begin_array(&j);
	for (uint32_t i = 0; i < profile__nthreads(p) && !j.err; i++) {
		const struct prof_thread *t = profile__thread_at(p, i);
		json__begin_object(&j);
		json__key(&j, "pid");
		json__int(&j, t->pid);
		json__key(&j, "tid");
		json__int(&j, t->tid);
		if (t->ns_tid) {
			json__key(&j, "ns_tid");
			json__int(&j, t->ns_tid);
		}
		kv_str(&j, "name", t->name);
		kv_str(&j, "command_line", t->process_cmdline);
		kv_uint(&j, "samples", t->samples);
		if (t->exited)  /* a lane of exited threads (tid 0) */
			kv_uint(&j, "exited", t->exited);
		json__end_object(&j);
	}
	json__end_array(&j);

	json__key(&j, "stacks");
	json__begin_array(&j);
	bool diff = profile__meta(p)->diff;
	for (uint32_t i = 0; i < profile__nstacks(p) && !j.err; i++) {
		const struct prof_stack *st = profile__stack_at(p, i);
		if (!st->count && !(diff && st->base))
			continue;       /* an unused id (see profile.h) */
		json__begin_object(&j);
		kv_uint(&j, "thread", st->thread);
		json__key(&j, "frames");
		json__begin_array(&j);
		for (uint32_t k = 0; k < st->n; k++)
			json__uint(&j, st->frames[k]);
		json__end_array(&j);
		kv_uint(&j, "count", st->count);
		if (diff)
			kv_uint(&j, "base", st->base);
		if (profile__meta(p)->classified) {     /* the split of count */
			json__key(&j, "classes");
			json__begin_object(&j);
			for (int c = 0; c < PROF_NCLASSES; c++)
				kv_uint(&j, profile_class_name((enum prof_class)c), st->cls[c]);
			json__end_object(&j);
		}
		if (profile__meta(p)->memory) {         /* bytes of resident memory */
			json__key(&j, "memory");
			json__begin_object(&j);
			kv_uint(&j, "grow", st->mem_grow);
			kv_uint(&j, "shrink", st->mem_shrink);
			json__end_object(&j);
		}
		json__end_object(&j);
	}
	json__end_array(&j);

	/* The sources read while recording (agg/profile.h), when there are any. */
	if (profile__nsources(p)) {
		json__key(&j, "sources");
		json__begin_array(&j);
		for (size_t i = 0; i < profile__nsources(p) && !j.err; i++) {
			const struct prof_source *src = profile__source_at(p, i);
			json__begin_object(&j);
			kv_str(&j, "filename", src->filename);
			if (src->text) {
				json__key(&j, "text");
				json__stringn(&j, src->text, src->len);
			} else {
				kv_str(&j, "error", src->error);
			}
			json__end_object(&j);
		}
		json__end_array(&j);
	}
	json__end_object(&j);
	if (!o->pretty && fputc('\n', f) == EOF)   /* pretty mode ends with a newline itself */
		j.err = -EIO;
	return json__end(&j);
}
