/* SPDX-License-Identifier: MIT
 *
 * Native + Python stack merging (see merge.h). Function names are classified
 * by tables of exact names and prefixes/substrings, compared on the name
 * without a compiler suffix (".cold", ".isra.0", ".part.1", ".constprop.0").
 * The walk is one pass over the native frames with an index into the Python
 * frames; it never reads past either array.
 */
#include "native/merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyproc.h"

/* The eval loop of every supported version: 2.7's PyEval_EvalFrameEx, 3.6+'s
 * _PyEval_EvalFrameDefault. */
static const char *const eval_loops[] = { "_PyEval_EvalFrameDefault", NULL };
/* Calls into the loop: PyEval_EvalFrameEx (3.x, the loop itself in 2.7),
 * PyEval_EvalFrame, _PyEval_EvalFrame (when not inlined). */
static const char *const eval_wrappers[] = {
	"PyEval_EvalFrameEx", "PyEval_EvalFrame", "_PyEval_EvalFrame", NULL
};
/* The interpreter's caller of a perf trampoline (-X perf): like the
 * trampoline, part of the eval call it makes. */
static const char *const trampoline_callers[] = { "py_trampoline_evaluator", NULL };
static const char *const startup[] = {
	"_start", "__libc_start_main", "__libc_start_call_main", "main", "start_thread",
	"clone", "clone3", "__clone", "__clone3", "__clone_internal", NULL
};
/* Call machinery inside the interpreter, besides the Py and _Py prefixes. */
static const char *const plumbing_substr[] = {
	"vectorcall", "cfunction_call", "call_function", "do_call_core", "fast_function",
	"function_call", "method_call", "slot_tp_", "wrapper_call", "call_trampoline",
	"object_vacall", "ext_do_call", "call_object", "method_vectorcall", "meth_call",
	"trampoline", "pymain_", "fastcall", "gen_send", "gen_iternext", "gen_throw",
	"slot_", "call_method", "partial_call", NULL
};

/* Length of name without a compiler suffix. */
static size_t base_len(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

static bool in_list(const char *name, size_t len, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == len && memcmp(list[i], name, len) == 0)
			return true;
	return false;
}

static bool has_substr(const char *name, size_t len, const char *const *list)
{
	for (size_t i = 0; list[i]; i++) {
		size_t k = strlen(list[i]);
		for (size_t at = 0; at + k <= len; at++)
			if (memcmp(name + at, list[i], k) == 0)
				return true;
	}
	return false;
}

enum native_role merge_classify(const struct native_frame *f)
{
	if (f->trampoline)
		return NATIVE_TRAMPOLINE;
	if (f->eval_call)
		return NATIVE_EVAL;
	if (f->name_role)
		return (enum native_role)(f->name_role - 1);
	return merge_classify_name(f->function);
}

enum native_role merge_classify_name(const char *n)
{
	if (!n || !n[0])
		return NATIVE_OTHER;
	size_t len = base_len(n);
	if (in_list(n, len, eval_loops))
		return NATIVE_EVAL;
	if (in_list(n, len, trampoline_callers))
		return NATIVE_TRAMPOLINE;
	if (in_list(n, len, eval_wrappers))
		return NATIVE_EVAL_WRAPPER;
	if (in_list(n, len, startup))
		return NATIVE_STARTUP;
	if ((len >= 2 && memcmp(n, "Py", 2) == 0) || (len >= 3 && memcmp(n, "_Py", 3) == 0) ||
	    has_substr(n, len, plumbing_substr))
		return NATIVE_PLUMBING;
	return NATIVE_OTHER;
}

static bool same_module(const struct native_frame *a, const char *module_path)
{
	return module_path && module_path[0] && a->module_path &&
	       strcmp(a->module_path, module_path) == 0;
}

/* Calls of the eval loop in a native stack (the walk of merge_stacks). */
static size_t eval_calls(const struct native_frame *nat, size_t nn)
{
	size_t calls = 0;
	bool in_loop = false;
	for (size_t i = 0; i < nn; i++) {
		enum native_role role = merge_classify(&nat[i]);
		if (role == NATIVE_TRAMPOLINE)
			continue;
		calls += role == NATIVE_EVAL || (role == NATIVE_EVAL_WRAPPER && !in_loop);
		in_loop = role == NATIVE_EVAL || (role == NATIVE_EVAL_WRAPPER && in_loop);
	}
	return calls;
}

/* Groups of Python frames (each ends at an entry frame, or the bottom). */
static size_t py_groups(const struct py_frame *py, size_t np)
{
	size_t groups = 0;
	for (size_t i = 0; i < np; i++)
		groups += py[i].entry || i + 1 == np;
	return groups;
}

int merge_stacks(const struct native_frame *nat, size_t nn, const struct py_frame *py, size_t np,
		 struct merged_frame *out, size_t *nout)
{
	size_t n = 0, pi = 0;
	bool seen_eval = false;
	bool in_loop = false;           /* the frames just inside are the loop and its wrappers */
	const char *py_module = NULL;   /* the interpreter's ELF, as seen in this stack */
	*nout = 0;

	for (size_t i = 0; i < nn && !py_module; i++)
		if (merge_classify(&nat[i]) == NATIVE_EVAL)
			py_module = nat[i].module_path;
	/* One eval call more than groups, and nothing but the interpreter
	 * inside the innermost one: that call is entering or leaving the
	 * loop, its frame not yet (or no longer) in the thread's frame list.
	 * It stands for no Python frame. 3.12+ tells it by the shim frames
	 * (py_frame.cstack, native_frame.eval_call): an innermost call that
	 * holds none stands for no Python frame whatever runs inside it (the
	 * frame it pops may free an extension's object; a thread entering a
	 * perf trampoline has the loop's wrapper and the trampoline inside). */
	bool marks = false;
	for (size_t i = 0; i < np && !marks; i++)
		marks = py[i].cstack != 0;
	bool skip = eval_calls(nat, nn) == py_groups(py, np) + 1, only_python = true;
	for (size_t i = 0; i < nn && skip; i++) {
		enum native_role role = merge_classify(&nat[i]);
		if (role == NATIVE_EVAL || role == NATIVE_EVAL_WRAPPER) {
			skip = only_python || (marks && !nat[i].eval_call);
			break;
		}
		only_python = only_python && (nat[i].in_python || same_module(&nat[i], py_module));
	}

	for (size_t i = 0; i < nn; i++) {
		const struct native_frame *f = &nat[i];
		enum native_role role = merge_classify(f);
		if (role == NATIVE_TRAMPOLINE)
			continue;       /* part of the eval-loop call around it */
		/* A wrapper right outside the loop (through other wrappers) is
		 * the same call; elsewhere (2.7) it is the loop itself. */
		bool call = role == NATIVE_EVAL || (role == NATIVE_EVAL_WRAPPER && !in_loop);
		in_loop = role == NATIVE_EVAL || (role == NATIVE_EVAL_WRAPPER && in_loop);
		if (call && skip) {
			skip = false;
			continue;
		}
		if (call) {
			/* One group of Python frames, innermost first. */
			if (pi >= np)
				return -EPROTO;
			do
				out[n++] = (struct merged_frame){ .py = &py[pi] };
			while (!py[pi++].entry && pi < np);
			seen_eval = true;
			continue;
		}
		if (role == NATIVE_EVAL_WRAPPER || role == NATIVE_STARTUP)
			continue;
		/* Outside the outermost Python frame, a nameless frame is start-up
		 * code whose symbol was stripped (a distribution's libc keeps no
		 * __libc_start_call_main or start_thread). */
		if (seen_eval && pi == np && !f->function)
			continue;
		/* The interpreter itself: its call machinery (by name) and its
		 * nameless frames (they may as well be machinery) are hidden,
		 * and all of it outside the outermost Python frame (start-up,
		 * a thread's bootstrap). Its other named frames are shown
		 * wherever they are, as an extension's would be: a builtin
		 * module's functions look the same whether the build links
		 * them into the interpreter or loads them as a .so. */
		if ((f->in_python || same_module(f, py_module)) &&
		    (role == NATIVE_PLUMBING || !f->function || (seen_eval && pi == np)))
			continue;
		out[n++] = (struct merged_frame){ .py = NULL, .native = *f };
	}
	if (pi != np)
		return -EPROTO;
	*nout = n;
	return 0;
}

enum native_fail merge_mismatch(const struct native_frame *nat, size_t nn, const struct py_frame *py,
				size_t np)
{
	return eval_calls(nat, nn) > py_groups(py, np) + 1 ? NATIVE_FAIL_MORE_EVAL
		: NATIVE_FAIL_FEWER_EVAL;
}

const char *native_fail_text(enum native_fail f)
{
	switch (f) {
	case NATIVE_FAIL_NONE: return "no error";
	case NATIVE_FAIL_PYTHON: return "the Python stack could not be read";
	case NATIVE_FAIL_NO_UNWINDER: return "no native unwinder for the process";
	case NATIVE_FAIL_GONE: return "the thread ended during the pause";
	case NATIVE_FAIL_REGS: return "the thread's registers could not be read";
	case NATIVE_FAIL_UNWIND: return "no native frame could be unwound";
	case NATIVE_FAIL_FEWER_EVAL: return "the unwind stopped before the outermost eval loop";
	case NATIVE_FAIL_MORE_EVAL: return "more eval-loop frames than Python calls";
	default: return "other";
	}
}

const char *native_frame_name(const struct native_frame *f, char *buf, size_t n)
{
	if (f->function)
		return f->function;
	if (f->has_offset && f->module && f->module[0])
		snprintf(buf, n, "%s+0x%llx", f->module, (unsigned long long)f->offset);
	else
		snprintf(buf, n, "0x%llx", (unsigned long long)f->pc);
	return buf;
}

void merged_sample__release(struct merged_sample *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->threads[i].frames);
	free(s->threads);
	memset(s, 0, sizeof(*s));
}
