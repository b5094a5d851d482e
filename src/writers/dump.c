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
#include "python/pyasync.h"
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

/* "process_info" of both JSON dumps (threads and --async). */
static void process_info_json(struct json *j, const struct dump_proc *p,
			      const struct pyproc_info *in)
{
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
		process_info_json(j, p, in);
		json__end_object(j);
	}
	return j->err;
}

/* ---- dump --async ---------------------------------------------------------- */

#define TREE_MAX_DEPTH 64
#define TREE_MAX_LINES 100000           /* a task under many awaiters repeats its subtree */

static const struct py_thread *thread_by_ident(const struct dump_proc *p, uint64_t ident)
{
	for (size_t i = 0; ident && p->sample && i < p->sample->n; i++)
		if (p->sample->threads[i].thread_id == ident)
			return &p->sample->threads[i];
	return NULL;
}

/* The tasks by address (they are sorted by loop): an index built once per
 * write, so a lookup per awaited_by entry stays O(log n). */
struct task_index {
	const struct py_tasks *ts;
	size_t *order;
};

static const struct py_tasks *sort_ts;

static int cmp_by_addr(const void *a, const void *b)
{
	uint64_t x = sort_ts->tasks[*(const size_t *)a].addr, y = sort_ts->tasks[*(const size_t *)b].addr;
	return x < y ? -1 : x > y;
}

static void task_index_build(struct task_index *ix, const struct py_tasks *ts)
{
	ix->ts = ts;
	ix->order = xmalloc((ts->n ? ts->n : 1) * sizeof(*ix->order));
	for (size_t i = 0; i < ts->n; i++)
		ix->order[i] = i;
	sort_ts = ts;
	qsort(ix->order, ts->n, sizeof(*ix->order), cmp_by_addr);
}

/* The index in ts of the task at addr, SIZE_MAX if none. */
static size_t find_idx(const struct py_tasks *ts, const size_t *order, uint64_t addr)
{
	size_t lo = 0, hi = ts->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ts->tasks[order[mid]].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ts->n && ts->tasks[order[lo]].addr == addr ? order[lo] : SIZE_MAX;
}

static const struct py_task *task_by_addr(const struct task_index *ix, uint64_t addr)
{
	size_t i = find_idx(ix->ts, ix->order, addr);
	return i == SIZE_MAX ? NULL : &ix->ts->tasks[i];
}

/* The thread running the loop of task i, the first of its loop: the first
 * task of the loop that knows it. */
static uint64_t loop_thread_of(const struct py_tasks *ts, size_t i)
{
	for (size_t k = i; k < ts->n && ts->tasks[k].loop == ts->tasks[i].loop; k++)
		if (ts->tasks[k].loop_thread_id)
			return ts->tasks[k].loop_thread_id;
	return 0;
}

static size_t count_loops(const struct py_tasks *ts)
{
	size_t n = 0;
	for (size_t i = 0; i < ts->n; i++)      /* sorted by loop */
		n += i == 0 || ts->tasks[i].loop != ts->tasks[i - 1].loop;
	return n;
}

/* "thread 4567 "MainThread"" for a threading ident, into buf. */
static const char *thread_label(const struct dump_proc *p, uint64_t ident, char *buf, size_t n)
{
	const struct py_thread *t = thread_by_ident(p, ident);
	if (t)
		snprintf(buf, n, "thread %d%s%s%s", (int)t->tid, t->name[0] ? " \"" : "", t->name,
			 t->name[0] ? "\"" : "");
	else
		snprintf(buf, n, "thread ident %#llx", (unsigned long long)ident);
	return buf;
}

/* The tasks awaited by task i (its children in the await tree): an index
 * over awaited_by, child lists per awaiter. */
struct tree {
	const struct py_tasks *ts;
	size_t lines;                   /* printed so far (TREE_MAX_LINES) */
	bool *shown;                    /* per task: printed somewhere in the tree */
	size_t *first, *next;           /* per task: first child edge; per edge: the next */
	size_t *child;                  /* per edge: the child task */
	size_t nedges;
};

static void tree_build(struct tree *tr, const struct py_tasks *ts, const size_t *order)
{
	size_t n = ts->n, ne = 0;
	for (size_t i = 0; i < n; i++)
		ne += ts->tasks[i].nawaited_by;
	tr->ts = ts;
	tr->lines = 0;
	tr->shown = xcalloc(n ? n : 1, sizeof(*tr->shown));
	tr->first = xmalloc((n ? n : 1) * sizeof(size_t));
	tr->next = xmalloc((ne ? ne : 1) * sizeof(size_t));
	tr->child = xmalloc((ne ? ne : 1) * sizeof(size_t));
	tr->nedges = 0;
	for (size_t i = 0; i < n; i++)
		tr->first[i] = SIZE_MAX;
	/* Children in task order: add them last to first. */
	for (size_t i = n; i-- > 0;) {
		const struct py_task *t = &ts->tasks[i];
		for (size_t k = t->nawaited_by; k-- > 0;) {
			size_t a = find_idx(ts, order, t->awaited_by[k]);
			if (a == SIZE_MAX)
				continue;
			tr->child[tr->nedges] = i;
			tr->next[tr->nedges] = tr->first[a];
			tr->first[a] = tr->nedges++;
		}
	}
}

static void tree_free(struct tree *tr)
{
	free(tr->shown);
	free(tr->first);
	free(tr->next);
	free(tr->child);
}

static bool awaited_by_listed(const struct task_index *ix, const struct py_task *t)
{
	for (size_t k = 0; k < t->nawaited_by; k++)
		if (task_by_addr(ix, t->awaited_by[k]))
			return true;
	return false;
}

static const char *task_frame_name(const struct py_task *t, const struct dump_opts *o)
{
	if (!t->nframes)
		return "";
	return o->qualname ? t->frames[0].code->qualname : t->frames[0].code->name;
}

static void tree_print(FILE *f, struct tree *tr, size_t i, char *prefix, size_t plen,
		       bool last, int depth, size_t *path, const struct dump_opts *o)
{
	const struct py_task *t = &tr->ts->tasks[i];
	tr->shown[i] = true;
	if (tr->lines++ == TREE_MAX_LINES)
		line(f, "... (await tree cut at %d lines)", TREE_MAX_LINES);
	if (tr->lines > TREE_MAX_LINES)
		return;
	bool cycle = false;
	for (int d = 0; d < depth; d++)
		cycle |= path[d] == i;
	if (depth == 0)
		line(f, "%s%s [%#llx] %s%s%s", "", t->name[0] ? t->name : "<unnamed>",
		     (unsigned long long)t->addr, py_task_state_name(t->state),
		     t->nframes ? " in " : "", task_frame_name(t, o));
	else
		line(f, "%s%s %s [%#llx] %s%s%s%s", prefix, last ? "\u2514\u2500\u2500" : "\u251c\u2500\u2500",
		     t->name[0] ? t->name : "<unnamed>", (unsigned long long)t->addr,
		     py_task_state_name(t->state), t->nframes ? " in " : "", task_frame_name(t, o),
		     cycle ? " (cycle)" : "");
	if (cycle)
		return;
	if (depth >= TREE_MAX_DEPTH) {
		line(f, "%s    ...", prefix);
		return;
	}
	path[depth] = i;
	size_t nlen = plen;
	if (depth > 0) {
		const char *add = last ? "    " : "\u2502   ";
		size_t al = strlen(add);
		memcpy(prefix + plen, add, al + 1);
		nlen = plen + al;
	}
	for (size_t e = tr->first[i]; e != SIZE_MAX; e = tr->next[e])
		tree_print(f, tr, tr->child[e], prefix, nlen, tr->next[e] == SIZE_MAX, depth + 1,
			   path, o);
	prefix[plen] = '\0';
}

static void task_frame_text(FILE *f, const struct py_frame *fr, const struct dump_opts *o)
{
	if (fr->line >= 0)
		line(f, "    %s (%s:%d)", frame_name(fr, o), frame_file(fr, o), fr->line);
	else
		line(f, "    %s (%s)", frame_name(fr, o), frame_file(fr, o));
}

int dump_write_async_text(FILE *f, const struct dump_proc *p, const struct dump_async *a,
			  const struct dump_opts *o)
{
	const struct py_tasks *ts = a->tasks;
	char tl[128];
	fputc('\n', f);
	if (!ts) {
		line(f, "asyncio: %s", a->why && a->why[0] ? a->why : "no tasks");
		return ferror(f) ? -EIO : 0;
	}
	size_t nloops = count_loops(ts);
	struct task_index ix;
	task_index_build(&ix, ts);
	line(f, "asyncio: %zu task%s in %zu event loop%s%s", ts->n, ts->n == 1 ? "" : "s", nloops,
	     nloops == 1 ? "" : "s", ts->truncated ? " (more not read)" : "");
	for (size_t i = 0; i < ts->n; i++) {
		const struct py_task *t = &ts->tasks[i];
		if (i == 0 || t->loop != ts->tasks[i - 1].loop) {
			fputc('\n', f);
			uint64_t lt = loop_thread_of(ts, i);
			if (lt)
				line(f, "Event loop %#llx (%s):", (unsigned long long)t->loop,
				     thread_label(p, lt, tl, sizeof(tl)));
			else
				line(f, "Event loop %#llx (not running):", (unsigned long long)t->loop);
		}
		char state[160];
		if (t->state == PY_TASK_RUNNING && t->thread_id)
			snprintf(state, sizeof(state), "running in %s",
				 thread_label(p, t->thread_id, tl, sizeof(tl)));
		else
			snprintf(state, sizeof(state), "%s", py_task_state_name(t->state));
		line(f, "Task %#llx%s%s%s (%s)", (unsigned long long)t->addr, t->name[0] ? " \"" : "",
		     t->name, t->name[0] ? "\"" : "", state);
		if (t->err)
			line(f, "    <error reading this task: %s>", strerror(-t->err));
		for (size_t k = 0; k < t->nframes; k++)
			task_frame_text(f, &t->frames[k], o);
		if (t->chain_truncated)
			line(f, "    ... (coroutine chain truncated at %d)", PYASYNC_MAX_CHAIN);
		for (size_t k = 0; k < t->nawaited_by; k++) {
			const struct py_task *w = task_by_addr(&ix, t->awaited_by[k]);
			line(f, "    awaited by task %#llx%s%s%s", (unsigned long long)t->awaited_by[k],
			     w && w->name[0] ? " \"" : "", w ? w->name : "", w && w->name[0] ? "\"" : "");
		}
	}
	if (ts->n) {
		struct tree tr;
		tree_build(&tr, ts, ix.order);
		char *prefix = xmalloc(TREE_MAX_DEPTH * 8 + 8);
		size_t *path = xmalloc((TREE_MAX_DEPTH + 1) * sizeof(*path));
		prefix[0] = '\0';
		fputc('\n', f);
		line(f, "Await tree (each task under the tasks awaiting it):");
		for (size_t i = 0; i < ts->n; i++)
			if (!awaited_by_listed(&ix, &ts->tasks[i]))
				tree_print(f, &tr, i, prefix, 0, true, 0, path, o);
		/* Tasks that only await each other (a cycle, never a root). */
		for (size_t i = 0; i < ts->n; i++)
			if (!tr.shown[i])
				tree_print(f, &tr, i, prefix, 0, true, 0, path, o);
		free(path);
		free(prefix);
		tree_free(&tr);
	}
	free(ix.order);
	return ferror(f) ? -EIO : 0;
}

static void hex_id(struct json *j, uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%#llx", (unsigned long long)v);
	json__string(j, b);
}

static void thread_json(struct json *j, const struct dump_proc *p, uint64_t ident)
{
	const struct py_thread *t = thread_by_ident(p, ident);
	if (!ident) {
		json__null(j);
		return;
	}
	json__begin_object(j);
	json__key(j, "thread_id");
	json__uint(j, ident);
	json__key(j, "os_thread_id");
	if (t)
		json__int(j, t->tid);
	else
		json__null(j);
	json__key(j, "thread_name");
	if (t && t->name[0])
		json__string(j, t->name);
	else
		json__null(j);
	json__end_object(j);
}

int dump_write_async_json_head(struct json *j, const struct dump_proc *p, const struct dump_opts *o)
{
	const struct pyproc_info *in = p->info;
	json__begin_object(j);
	json__key(j, "pid");
	json__int(j, in->pid);
	json__key(j, "python_version");
	json__string(j, in->version_str);
	json__key(j, "threads");
	json__begin_array(j);
	dump_write_json(j, p, o);
	json__end_array(j);
	return j->err;
}

int dump_write_async_json_tail(struct json *j, const struct dump_proc *p, const struct dump_async *a,
			       const struct dump_opts *o)
{
	const struct pyproc_info *in = p->info;
	const struct py_tasks *ts = a->tasks;
	json__key(j, "asyncio");
	json__begin_object(j);
	json__key(j, "imported");
	json__bool(j, ts != NULL || a->failed);
	json__key(j, "message");
	if (!ts && !a->failed && a->why)
		json__string(j, a->why);
	else
		json__null(j);
	json__key(j, "error");
	if (a->failed)
		json__string(j, a->why && a->why[0] ? a->why : "unreadable");
	else
		json__null(j);
	json__key(j, "truncated");
	json__bool(j, ts && ts->truncated);
	json__key(j, "loops");
	json__begin_array(j);
	for (size_t i = 0; ts && i < ts->n; i++) {
		const struct py_task *t = &ts->tasks[i];
		if (i && t->loop == ts->tasks[i - 1].loop)
			continue;
		json__begin_object(j);
		json__key(j, "id");
		hex_id(j, t->loop);
		json__key(j, "thread");
		thread_json(j, p, loop_thread_of(ts, i));
		json__end_object(j);
	}
	json__end_array(j);
	json__key(j, "tasks");
	json__begin_array(j);
	struct task_index ix = { ts, NULL };
	if (ts)
		task_index_build(&ix, ts);
	for (size_t i = 0; ts && i < ts->n; i++) {
		const struct py_task *t = &ts->tasks[i];
		json__begin_object(j);
		json__key(j, "id");
		hex_id(j, t->addr);
		json__key(j, "addr");
		json__uint(j, t->addr);
		json__key(j, "name");
		json__string(j, t->name);
		json__key(j, "state");
		json__string(j, py_task_state_name(t->state));
		json__key(j, "loop");
		if (t->loop)
			hex_id(j, t->loop);
		else
			json__null(j);
		json__key(j, "thread");
		thread_json(j, p, t->state == PY_TASK_RUNNING ? t->thread_id : 0);
		json__key(j, "error");
		if (t->err)
			json__string(j, strerror(-t->err));
		else
			json__null(j);
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
			json__key(j, "line");
			json__int(j, fr->line);
			json__key(j, "frame_addr");
			json__uint(j, fr->frame_addr);
			json__end_object(j);
		}
		json__end_array(j);
		json__key(j, "chain_truncated");
		json__bool(j, t->chain_truncated);
		json__key(j, "awaited_by");
		json__begin_array(j);
		for (size_t k = 0; k < t->nawaited_by; k++) {
			const struct py_task *w = task_by_addr(&ix, t->awaited_by[k]);
			json__begin_object(j);
			json__key(j, "id");
			hex_id(j, t->awaited_by[k]);
			json__key(j, "name");
			if (w)
				json__string(j, w->name);
			else
				json__null(j);
			json__end_object(j);
		}
		json__end_array(j);
		json__end_object(j);
	}
	free(ix.order);
	json__end_array(j);
	json__end_object(j);
	process_info_json(j, p, in);
	json__end_object(j);
	return j->err;
}
