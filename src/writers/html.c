/* SPDX-License-Identifier: MIT
 *
 * The HTML report writer (see html.h). The profile's data is written with
 * the streaming JSON writer (writers/json.h: strict escaping, invalid UTF-8
 * replaced) into a memory stream, then copied into the page through a
 * filter that turns "<", ">", "&" and the line separators U+2028/U+2029
 * into \uXXXX escapes. They can occur only inside JSON strings (the
 * structure is ASCII punctuation, digits and keys), where the escapes mean
 * the same characters, so the data still parses to the same values while
 * the HTML parser never sees "</script" or "<!--" in it.
 *
 * The python/native/system split (meta.classified) and --memory's bytes
 * (meta.memory) go beside "stacks", in the same order, so that a stack's
 * array stays as it was: "classes" ([python, native, system] per stack)
 * and "memory" ([grown, shrunk] per stack), each only when the meta says so.
 */
#include "writers/html.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "writers/json.h"

#ifndef CSPY_VERSION
#define CSPY_VERSION "unknown"
#endif

/* Generated from src/writers/report.js and report.css by the Makefile. */
extern const char report_js[];
extern const size_t report_js_len;
extern const char report_css[];
extern const size_t report_css_len;

static void write_data(struct json *j, const struct profile *p, const struct html_opts *o)
{
	const struct prof_meta *m = profile__meta(p);
	json__begin_object(j);
	json__key(j, "meta");
	json__begin_object(j);
	json__key(j, "title");
	json__string(j, o->title ? o->title : m->title ? m->title : "");
	json__key(j, "command_line");
	json__string(j, m->command_line ? m->command_line : "");
	json__key(j, "python_version");
	json__string(j, m->python_version ? m->python_version : "");
	json__key(j, "rate_hz");
	json__double(j, m->rate_hz);
	json__key(j, "duration_ns");
	json__uint(j, m->duration_ns);
	json__key(j, "samples");
	json__uint(j, m->samples);
	json__key(j, "errors");
	json__uint(j, m->errors);
	json__key(j, "gil_only");
	json__bool(j, m->gil_only);
	json__key(j, "idle_included");
	json__bool(j, m->idle_included);
	json__key(j, "native");
	json__bool(j, m->native);
	json__key(j, "diff");
	json__bool(j, m->diff);
	json__key(j, "classified");
	json__bool(j, m->classified);
	json__key(j, "memory");
	json__bool(j, m->memory && !m->diff);
	json__key(j, "full_filenames");
	json__bool(j, o->full_filenames);
	json__key(j, "total");
	json__uint(j, profile__total(p));
	json__key(j, "base_total");
	json__uint(j, profile__base_total(p));
	json__end_object(j);

	json__key(j, "frames");
	json__begin_array(j);
	for (uint32_t i = 0; i < profile__nframes(p) && !j->err; i++) {
		const struct prof_frame *f = profile__frame_at(p, i);
		json__begin_array(j);
		json__string(j, f->name);
		json__string(j, f->filename);
		json__string(j, f->short_filename);
		json__int(j, f->line);
		json__uint(j, (uint64_t)f->kind);
		json__end_array(j);
	}
	json__end_array(j);

	json__key(j, "threads");
	json__begin_array(j);
	for (uint32_t i = 0; i < profile__nthreads(p) && !j->err; i++) {
		const struct prof_thread *t = profile__thread_at(p, i);
		json__begin_array(j);
		json__int(j, t->pid);
		json__int(j, t->tid);
		json__string(j, t->name ? t->name : "");
		json__string(j, t->process_cmdline ? t->process_cmdline : "");
		json__uint(j, t->samples);
		json__uint(j, t->exited);
		json__end_array(j);
	}
	json__end_array(j);

	json__key(j, "stacks");
	json__begin_array(j);
	for (uint32_t i = 0; i < profile__nstacks(p) && !j->err; i++) {
		const struct prof_stack *st = profile__stack_at(p, i);
		if (!st->count && !st->base)
			continue;
		json__begin_array(j);
		json__uint(j, st->thread);
		json__uint(j, st->count);
		json__uint(j, st->base);
		for (uint32_t k = 0; k < st->n; k++)
			json__uint(j, st->frames[k]);
		json__end_array(j);
	}
	json__end_array(j);
	/* beside "stacks", stack by stack (the same ones, in the same order) */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0 ? !m->classified : !(m->memory && !m->diff))
			continue;
		json__key(j, pass == 0 ? "classes" : "memory");
		json__begin_array(j);
		for (uint32_t i = 0; i < profile__nstacks(p) && !j->err; i++) {
			const struct prof_stack *st = profile__stack_at(p, i);
			if (!st->count && !st->base)
				continue;
			json__begin_array(j);
			if (pass == 0) {
				for (int c = 0; c < PROF_NCLASSES; c++)
					json__uint(j, st->cls[c]);
			} else {
				json__uint(j, st->mem_grow);
				json__uint(j, st->mem_shrink);
			}
			json__end_array(j);
		}
		json__end_array(j);
	}

	json__key(j, "sources");
	json__begin_array(j);
	for (size_t i = 0; i < profile__nsources(p) && !j->err; i++) {
		const struct prof_source *s = profile__source_at(p, i);
		json__begin_array(j);
		json__string(j, s->filename);
		if (s->text)
			json__stringn(j, s->text, s->len);
		else
			json__null(j);
		if (s->text)
			json__null(j);
		else
			json__string(j, s->error ? s->error : "not read");
		json__end_array(j);
	}
	json__end_array(j);
	json__end_object(j);
}

/* Copy the JSON text into f with the characters that mean something to an
 * HTML parser escaped (see the top of this file). */
static int put_escaped(FILE *f, const char *s, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const char *esc = NULL;
		size_t skip = 1;
		unsigned char c = (unsigned char)s[i];
		if (c == '<')
			esc = "\\u003c";
		else if (c == '>')
			esc = "\\u003e";
		else if (c == '&')
			esc = "\\u0026";
		else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			 ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			esc = (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			skip = 3;
		}
		if (!esc)
			continue;
		if (fwrite(s + from, 1, i - from, f) != i - from || fputs(esc, f) == EOF)
			return -EIO;
		i += skip - 1;
		from = i + 1;
	}
	return fwrite(s + from, 1, n - from, f) == n - from ? 0 : -EIO;
}

int html_write(FILE *f, const struct profile *p, const struct html_opts *o)
{
	struct html_opts def = HTML_OPTS_DEFAULT;
	if (!o)
		o = &def;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return -ENOMEM;
	struct json j;
	json__init(&j, mem, false);
	write_data(&j, p, o);
	int err = json__end(&j);
	if (fclose(mem) != 0 && !err)
		err = -ENOMEM;
	if (err) {
		free(buf);
		return err == -EIO ? -ENOMEM : err;     /* a memory stream fails only for memory */
	}
	static const char head[] =
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		"script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
		"<meta name=\"generator\" content=\"cspy " CSPY_VERSION "\">\n"
		"<title>cspy report</title>\n<style>\n";
	if (fputs(head, f) == EOF ||
	    fwrite(report_css, 1, report_css_len, f) != report_css_len ||
	    fputs("</style>\n</head>\n<body>\n<script id=\"cspy-data\" type=\"application/json\">", f) == EOF ||
	    put_escaped(f, buf, len) != 0 ||
	    fputs("</script>\n<script>\n", f) == EOF ||
	    fwrite(report_js, 1, report_js_len, f) != report_js_len ||
	    fputs("</script>\n</body>\n</html>\n", f) == EOF || fflush(f) == EOF)
		err = -EIO;
	free(buf);
	return err;
}
