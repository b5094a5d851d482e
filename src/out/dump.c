/* SPDX-License-Identifier: MIT
 *
 * `cspy dump` output (see dump.h). The JSON array spans every process: a
 * static writer lives from dump_json_begin() to dump_json_end().
 */
#include "out/dump.h"

#include <errno.h>

#include "out/json.h"
#include "python/locals.h"
#include "python/pyproc.h"

static const char *frame_name(const struct py_frame *fr, const struct dump_opts *o)
{
	return o->qualname ? fr->code->qualname : fr->code->name;
}

static const char *frame_file(const struct py_frame *fr, const struct dump_opts *o)
{
	return o->full_filenames ? fr->code->filename : fr->code->short_filename;
}

static const char *thread_status(const struct py_thread *t)
{
	if (t->active)
		return t->owns_gil ? "active+gil" : "active";
	return t->owns_gil ? "idle+gil" : "idle";
}

int dump_write_text(FILE *f, const struct dump_proc *p, const struct dump_opts *o)
{
	const struct pyproc_info *in = p->info;
	fprintf(f, "Process %d: %s\n", (int)in->pid, in->cmdline);
	if (p->parent_pid)
		fprintf(f, "Parent process: %d\n", (int)p->parent_pid);
	fprintf(f, "Python v%s (%s)\n\n", in->version_str, in->exe);
	for (size_t i = 0; i < p->sample->n; i++) {
		const struct py_thread *t = &p->sample->threads[i];
		fprintf(f, "Thread %d (%s)", (int)t->tid, thread_status(t));
		if (t->name[0])
			fprintf(f, ": \"%s\"", t->name);
		fputc('\n', f);
		if (t->err)
			fprintf(f, "    <error reading this thread's stack>\n");
		for (size_t k = 0; k < t->nframes; k++) {
			const struct py_frame *fr = &t->frames[k];
			if (fr->line >= 0)
				fprintf(f, "    %s (%s:%d)\n", frame_name(fr, o), frame_file(fr, o), fr->line);
			else
				fprintf(f, "    %s (%s)\n", frame_name(fr, o), frame_file(fr, o));
			if (!o->locals || !p->locals)
				continue;
			const struct dump_locals *dl = &p->locals[i][k];
			for (int pass = 0; pass < 2; pass++) {
				bool header = false;
				for (size_t v = 0; v < dl->n; v++) {
					if (dl->v[v].is_arg != (pass == 0))
						continue;
					if (!header)
						fprintf(f, "        %s:\n", pass == 0 ? "Arguments" : "Locals");
					header = true;
					fprintf(f, "            %s: %s\n", dl->v[v].name, dl->v[v].repr);
				}
			}
		}
		if (t->truncated)
			fprintf(f, "    ... (stack truncated at %d frames)\n", PYPROC_MAX_DEPTH);
	}
	return ferror(f) ? -EIO : 0;
}

static struct json js;

void dump_json_begin(FILE *f)
{
	json__init(&js, f, true);
	json__begin_array(&js);
}

int dump_write_json(FILE *f, const struct dump_proc *p, const struct dump_opts *o)
{
	(void)f;
	const struct pyproc_info *in = p->info;
	for (size_t i = 0; i < p->sample->n; i++) {
		const struct py_thread *t = &p->sample->threads[i];
		json__begin_object(&js);
		json__key(&js, "pid");
		json__int(&js, in->pid);
		json__key(&js, "thread_id");
		json__uint(&js, t->thread_id);
		json__key(&js, "thread_name");
		if (t->name[0])
			json__string(&js, t->name);
		else
			json__null(&js);
		json__key(&js, "os_thread_id");
		json__int(&js, t->tid);
		json__key(&js, "active");
		json__bool(&js, t->active);
		json__key(&js, "owns_gil");
		json__bool(&js, t->owns_gil);
		json__key(&js, "frames");
		json__begin_array(&js);
		for (size_t k = 0; k < t->nframes; k++) {
			const struct py_frame *fr = &t->frames[k];
			json__begin_object(&js);
			json__key(&js, "name");
			json__string(&js, frame_name(fr, o));
			json__key(&js, "qualname");
			json__string(&js, fr->code->qualname);
			json__key(&js, "filename");
			json__string(&js, fr->code->filename);
			json__key(&js, "short_filename");
			json__string(&js, fr->code->short_filename);
			json__key(&js, "module");
			json__null(&js);
			json__key(&js, "line");
			json__int(&js, fr->line);
			json__key(&js, "locals");
			if (o->locals && p->locals) {
				const struct dump_locals *dl = &p->locals[i][k];
				json__begin_array(&js);
				for (size_t v = 0; v < dl->n; v++) {
					json__begin_object(&js);
					json__key(&js, "name");
					json__string(&js, dl->v[v].name);
					json__key(&js, "arg");
					json__bool(&js, dl->v[v].is_arg);
					json__key(&js, "repr");
					json__string(&js, dl->v[v].repr);
					json__key(&js, "addr");
					json__uint(&js, dl->v[v].addr);
					json__end_object(&js);
				}
				json__end_array(&js);
			} else {
				json__null(&js);
			}
			json__end_object(&js);
		}
		json__end_array(&js);
		json__key(&js, "truncated");
		json__bool(&js, t->truncated);
		json__key(&js, "process_info");
		json__begin_object(&js);
		json__key(&js, "pid");
		json__int(&js, in->pid);
		json__key(&js, "command_line");
		json__string(&js, in->cmdline);
		json__key(&js, "python_version");
		json__string(&js, in->version_str);
		json__key(&js, "executable");
		json__string(&js, in->exe);
		json__key(&js, "parent_pid");
		if (p->parent_pid)
			json__int(&js, p->parent_pid);
		else
			json__null(&js);
		json__end_object(&js);
		json__end_object(&js);
	}
	return js.err;
}

int dump_json_end(FILE *f)
{
	(void)f;
	json__end_array(&js);
	return json__end(&js);
}
