/* SPDX-License-Identifier: MIT
 *
 * `cspy dump` output (see dump.h).
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

int dump_write_json(struct json *j, const struct dump_proc *p, const struct dump_opts *o)
{
	const struct pyproc_info *in = p->info;
	for (size_t i = 0; i < p->sample->n; i++) {
		const struct py_thread *t = &p->sample->threads[i];
		json__begin_object(j);
		json__key(j, "pid");
		json__int(j, in->pid);
		json__key(j, "thread_id");
		json__uint(j, t->thread_id);
		json__key(j, "thread_name");
		if (t->name[0])
			json__string(j, t->name);
		else
			json__null(j);
		json__key(j, "os_thread_id");
		json__int(j, t->tid);
		json__key(j, "active");
		json__bool(j, t->active);
		json__key(j, "owns_gil");
		json__bool(j, t->owns_gil);
		json__key(j, "frames");
		json__begin_array(j);
		for (size_t k = 0; k < t->nframes; k++) {
			const struct py_frame *fr = &t->frames[k];
			json__begin_object(j);
			json__key(j, "name");
			json__string(j, frame_name(fr, o));
			json__key(j, "qualname");
			json__string(j, fr->code->qualname);
			json__key(j, "filename");
			json__string(j, fr->code->filename);
			json__key(j, "short_filename");
			json__string(j, fr->code->short_filename);
			json__key(j, "module");
			json__null(j);
			json__key(j, "line");
			json__int(j, fr->line);
			json__key(j, "locals");
			if (o->locals && p->locals) {
				const struct dump_locals *dl = &p->locals[i][k];
				json__begin_array(j);
				for (size_t v = 0; v < dl->n; v++) {
					json__begin_object(j);
					json__key(j, "name");
					json__string(j, dl->v[v].name);
					json__key(j, "arg");
					json__bool(j, dl->v[v].is_arg);
					json__key(j, "repr");
					json__string(j, dl->v[v].repr);
					json__key(j, "addr");
					json__uint(j, dl->v[v].addr);
					json__end_object(j);
				}
				json__end_array(j);
			} else {
				json__null(j);
			}
			json__end_object(j);
		}
		json__end_array(j);
		json__key(j, "truncated");
		json__bool(j, t->truncated);
		json__key(j, "process_info");
		json__begin_object(j);
		json__key(j, "pid");
		json__int(j, in->pid);
		json__key(j, "command_line");
		json__string(j, in->cmdline);
		json__key(j, "python_version");
		json__string(j, in->version_str);
		json__key(j, "executable");
		json__string(j, in->exe);
		json__key(j, "parent_pid");
		if (p->parent_pid)
			json__int(j, p->parent_pid);
		else
			json__null(j);
		json__end_object(j);
		json__end_object(j);
	}
	return j->err;
}
