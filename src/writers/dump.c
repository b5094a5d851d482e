/* SPDX-License-Identifier: MIT
 *
 * `cspy dump` output (see dump.h).
 */
#include "writers/dump.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native/merge.h"
#include "writers/json.h"
#include "python/locals.h"
#include "python/pyproc.h"
#include "util/termsafe.h"
#include "util/xalloc.h"

static const char *frame_name(const struct py_frame *fr, const struct dump_opts *o)
{
	/* before 3.11, with --qualname: the method's class found from self/cls */
	if (o->qualname)
		return fr->qualname ? fr->qualname : fr->code->qualname;
	return fr->code->name;
}

static const char *frame_file(const struct py_frame *fr, const struct dump_opts *o)
{
	return o->full_filenames ? fr->code->filename : fr->code->short_filename;
}

/* The name of a native frame: its function, else module+0xOFFSET. */
static const char *native_name(const struct native_frame *nf, char *buf, size_t n)
{
	return native_frame_name(nf, buf, n);
}

/* One line of the text layout: formatted, then every control character in
 * it escaped (names come from the target), then the layout's newline. */
static void line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *raw = xvasprintf(fmt, ap);
	va_end(ap);
	char *safe = termsafe_escape(raw);
	fputs(safe, f);
	fputc('\n', f);
	free(safe);
	free(raw);
}

static void native_text(FILE *f, const struct native_frame *nf, const struct dump_opts *o)
{
	char addr[160];
	const char *name = native_name(nf, addr, sizeof(addr));
	if (nf->file)
		line(f, "    %s (%s:%d)", name, o->full_filenames ? nf->file : nf->short_file, nf->line);
	else if (nf->module[0])
		line(f, "    %s (%s)", name, o->full_filenames ? nf->module_path : nf->module);
	else
		line(f, "    %s", name);
}

/* The frames to print for thread i: the merged stack with --native (when
 * the merge worked), else the Python frames. */
static const struct merged_stack *merged_of(const struct dump_proc *p, size_t i)
{
	if (!p->native || i >= p->native->n || p->native->threads[i].err)
		return NULL;
	return &p->native->threads[i];
}

static const char *native_error(const struct dump_proc *p, size_t i)
{
	const struct py_thread *t = &p->sample->threads[i];
	if (!p->native || t->err)
		return NULL;
	int err = i < p->native->n ? p->native->threads[i].err : -ENOENT;
	if (!err)
		return NULL;
	return err == -EPROTO ? "the native and Python stacks did not match" : strerror(-err);
}

static void python_text(FILE *f, const struct dump_proc *p, size_t i, size_t k,
			const struct dump_opts *o)
{
	const struct py_frame *fr = &p->sample->threads[i].frames[k];
	if (fr->line >= 0)
		line(f, "    %s (%s:%d)", frame_name(fr, o), frame_file(fr, o), fr->line);
	else
		line(f, "    %s (%s)", frame_name(fr, o), frame_file(fr, o));
	if (!o->locals || !p->locals)
		return;
	const struct dump_locals *dl = &p->locals[i][k];
	for (int pass = 0; pass < 2; pass++) {
		bool header = false;
		for (size_t v = 0; v < dl->n; v++) {
			if (dl->v[v].is_arg != (pass == 0))
				continue;
			if (!header)
				line(f, "        %s:", pass == 0 ? "Arguments" : "Locals");
			header = true;
			line(f, "            %s: %s", dl->v[v].name, dl->v[v].repr);
		}
	}
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
	if (p->core)
		line(f, "Process %d: %s (core file %s)", (int)in->pid, in->cmdline, p->core);
	else
		line(f, "Process %d: %s", (int)in->pid, in->cmdline);
	line(f, "Python v%s (%s)", in->version_str, in->exe);
	if (p->parent_pid)      /* py-spy's label of a --subprocesses child */
		line(f, "Parent Process %d: %s", (int)p->parent_pid,
		     p->parent_cmdline ? p->parent_cmdline : "");
	fputc('\n', f);
	for (size_t i = 0; i < p->sample->n; i++) {
		const struct py_thread *t = &p->sample->threads[i];
		if (p->shown && !p->shown[i])
			continue;       /* --thread */
		char ns[24] = "", interp[48] = "";
		if (t->ns_tid)
			snprintf(ns, sizeof(ns), " (ns %d)", (int)t->ns_tid);
		if (t->interp_id)
			snprintf(interp, sizeof(interp), " [interpreter %lld]", (long long)t->interp_id);
		line(f, "Thread %d%s (%s)%s%s%s%s", (int)t->tid, ns, thread_status(t),
		     t->name[0] ? ": \"" : "", t->name, t->name[0] ? "\"" : "", interp);
		if (t->err)
			line(f, "    <error reading this thread's stack>");
		const char *nerr = native_error(p, i);
		if (nerr)
			line(f, "    <no native stack: %s>", nerr);
		const struct merged_stack *ms = merged_of(p, i);
		for (size_t k = 0; k < (ms ? ms->n : t->nframes); k++) {
			if (ms && !ms->frames[k].py)
				native_text(f, &ms->frames[k].native, o);
			else
				python_text(f, p, i, ms ? (size_t)(ms->frames[k].py - t->frames) : k, o);
		}
		if (t->truncated)
			line(f, "    ... (stack truncated at %d frames)", PYPROC_MAX_DEPTH);
	}
	return ferror(f) ? -EIO : 0;
}

static void native_json(struct json *j, const struct native_frame *nf)
{
	char addr[160];
	const char *name = native_name(nf, addr, sizeof(addr));
	json__begin_object(j);
	json__key(j, "name");
	json__string(j, name);
	json__key(j, "qualname");
	json__string(j, name);
	json__key(j, "filename");
	json__string(j, nf->file ? nf->file : nf->module_path);
	json__key(j, "short_filename");
	json__string(j, nf->file ? nf->short_file : nf->module);
	json__key(j, "module");
	json__string(j, nf->module);
	json__key(j, "line");
	json__int(j, nf->file ? nf->line : -1);
	json__key(j, "native");
	json__bool(j, true);
	json__key(j, "address");
	json__uint(j, nf->pc);
	json__key(j, "locals");
	json__null(j);
	json__end_object(j);
}

int dump_write_json(struct json *j, const struct dump_proc *p, const struct dump_opts *o)
{
	const struct pyproc_info *in = p->info;
	for (size_t i = 0; i < p->sample->n; i++) {
		const struct py_thread *t = &p->sample->threads[i];
		if (p->shown && !p->shown[i])
			continue;       /* --thread */
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
		if (t->ns_tid) {
			json__key(j, "ns_tid");
			json__int(j, t->ns_tid);
		}
		json__key(j, "interpreter_id");
		json__int(j, t->interp_id);
		json__key(j, "active");
		json__bool(j, t->active);
		json__key(j, "owns_gil");
		json__bool(j, t->owns_gil);
		if (p->native) {
			const char *nerr = native_error(p, i);
			json__key(j, "native_error");
			if (nerr)
				json__string(j, nerr);
			else
				json__null(j);
		}
		json__key(j, "frames");
		json__begin_array(j);
		const struct merged_stack *ms = merged_of(p, i);
		for (size_t m = 0; m < (ms ? ms->n : t->nframes); m++) {
			if (ms && !ms->frames[m].py) {
				native_json(j, &ms->frames[m].native);
				continue;
			}
			size_t k = ms ? (size_t)(ms->frames[m].py - t->frames) : m;
			const struct py_frame *fr = &t->frames[k];
			json__begin_object(j);
			json__key(j, "name");
			json__string(j, frame_name(fr, o));
			json__key(j, "qualname");
			json__string(j, fr->qualname ? fr->qualname : fr->code->qualname);
			json__key(j, "filename");
			json__string(j, fr->code->filename);
			json__key(j, "short_filename");
			json__string(j, fr->code->short_filename);
			json__key(j, "module");
			json__null(j);
			json__key(j, "line");
			json__int(j, fr->line);
			if (p->native) {
				json__key(j, "native");
				json__bool(j, false);
			}
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
		if (p->core) {
			json__key(j, "core_file");
			json__string(j, p->core);
		}
		json__end_object(j);
		json__end_object(j);
	}
	return j->err;
}
