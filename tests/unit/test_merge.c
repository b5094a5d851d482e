/* SPDX-License-Identifier: MIT
 *
 * Unit tests for native/merge: merge_stacks() on made-up stacks shaped like
 * the real ones of each interpreter family: one Python frame per eval call
 * (<= 3.10, 2.7's PyEval_EvalFrameEx loop), several per eval call (3.11+
 * groups ending at entry frames), the 3.x PyEval_EvalFrameEx wrapper right
 * outside the loop, interpreter plumbing and start-up hidden, the builtin at
 * the innermost end kept, nameless interpreter frames hidden, extension and
 * libc frames kept, and every kind of count mismatch -> -EPROTO. Plus
 * merge_classify() on compiler-suffixed names.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "native/merge.h"
#include "python/pyproc.h"

#define LIBPY "/usr/lib/libpython3.11.so.1.0"
#define EXT "/tmp/cspy_native_test.so"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define EXE "/usr/bin/python3"

static struct native_frame nat(const char *fn, const char *path)
{
	static uint64_t pc = 0x1000;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	return (struct native_frame){ .pc = pc += 0x10, .function = fn, .module = base,
				      .module_path = path, .line = -1,
				      .in_python = strcmp(path, LIBPY) == 0 };
}

static struct py_code codes[16];

static struct py_frame pyf(const char *name, bool entry)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (!codes[i].name) {
			codes[i].name = (char *)name;
			return (struct py_frame){ .code = &codes[i], .line = 1, .entry = entry };
		}
		if (strcmp(codes[i].name, name) == 0)
			return (struct py_frame){ .code = &codes[i], .line = 1, .entry = entry };
	}
	return (struct py_frame){ 0 };
}

/* The merged stack as "a;b;c" (Python frames as py:NAME). */
static const char *render(const struct merged_frame *m, size_t n)
{
	static char buf[1024];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *s = m[i].py ? m[i].py->code->name : m[i].native.function;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s%s", i ? ";" : "",
					m[i].py ? "py:" : "", s ? s : "?");
	}
	return buf;
}

#define MERGE(nats, pys, out, nout) \
	merge_stacks(nats, sizeof(nats) / sizeof(nats[0]), pys, sizeof(pys) / sizeof(pys[0]), out, nout)

/* <= 3.10: each Python frame has its own eval call. */
static void test_one_frame_per_eval(void)
{
	struct native_frame n[] = {
		nat("spin", EXT), nat("cfunction_vectorcall_NOARGS", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("_PyFunction_Vectorcall", LIBPY),
		nat("PyObject_CallObject", LIBPY), nat("invoke_callback", EXT),
		nat("burn_then_call", EXT), nat("cfunction_call", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("function_code_fastcall", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("_PyEval_EvalCode", LIBPY),
		nat("run_eval_code_obj", LIBPY), nat("pymain_run_python", LIBPY),
		nat("Py_BytesMain", LIBPY), nat("main", EXE), nat("__libc_start_call_main", LIBC),
		nat("__libc_start_main", LIBC), nat("_start", EXE),
	};
	struct py_frame p[] = { pyf("middle", true), pyf("outer", true), pyf("<module>", true) };
	struct merged_frame out[32];
	size_t k = 99;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "spin;py:middle;invoke_callback;burn_then_call;py:outer;py:<module>");
	CHECK(out[1].py == &p[0] && out[4].py == &p[1] && out[5].py == &p[2]);
	CHECK(out[0].native.pc == n[0].pc);
}

/* 3.11+: one eval call runs several Python frames; groups end at entry frames. */
static void test_groups(void)
{
	struct native_frame n[] = {
		nat("spin", EXT), nat("_PyEval_EvalFrameDefault", LIBPY),
		nat("_PyEval_Vector", LIBPY), nat("burn_then_call", EXT),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("PyEval_EvalCode", LIBPY),
		nat("start_thread", LIBC), nat("clone3", LIBC),
	};
	struct py_frame p[] = {
		pyf("inner", false), pyf("middle", true),
		pyf("outer", false), pyf("run", false), pyf("<module>", true),
	};
	struct merged_frame out[32];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "spin;py:inner;py:middle;burn_then_call;py:outer;py:run;py:<module>");
}

/* A distribution's stripped static interpreter (Debian's 3.13-3.15): the
 * loop runs as a nameless clone, found by the shim frame on its C stack
 * (eval_call, set by the unwinder); the other nameless interpreter frames are
 * hidden, and so is the nameless libc start-up frame outside the outermost
 * Python frame. Without eval_call the stacks cannot be matched. */
static void test_nameless_loop(void)
{
	struct native_frame n[] = {
		nat("spin", EXT), nat(NULL, EXE), nat("invoke_callback", EXT),
		nat("burn_then_call", EXT), nat(NULL, EXE), nat("PyEval_EvalCode", EXE),
		nat(NULL, EXE), nat("Py_RunMain", EXE), nat(NULL, LIBC),
		nat("__libc_start_main", LIBC), nat("_start", EXE),
	};
	struct py_frame p[] = { pyf("middle", true), pyf("outer", false), pyf("<module>", true) };
	struct merged_frame out[32];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), -EPROTO);
	n[1].eval_call = n[4].eval_call = true;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "spin;py:middle;invoke_callback;burn_then_call;py:outer;py:<module>");
	CHECK_INT(merge_classify(&n[1]), NATIVE_EVAL);
	/* A nameless frame inside the Python stack (not outside it) is kept. */
	struct native_frame m[] = {
		nat(NULL, EXT), nat(NULL, EXE), nat("PyEval_EvalCode", EXE), nat(NULL, LIBC),
	};
	struct py_frame q[] = { pyf("f", true) };
	m[1].eval_call = true;
	CHECK_INT(MERGE(m, q, out, &k), 0);
	CHECK_STR(render(out, k), "?;py:f");
}

/* A truncated Python stack (no entry at the bottom): the last group is the rest. */
static void test_last_group_without_entry(void)
{
	struct native_frame n[] = { nat("_PyEval_EvalFrameDefault", LIBPY) };
	struct py_frame p[] = { pyf("a", false), pyf("b", false) };
	struct merged_frame out[8];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "py:a;py:b");
}

/* 3.6-3.10: the PyEval_EvalFrameEx wrapper right outside the loop is the same
 * call; 2.7: PyEval_EvalFrameEx is the loop, also twice in a row. */
static void test_wrappers(void)
{
	struct native_frame n3[] = {
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("PyEval_EvalFrameEx", LIBPY),
		nat("PyEval_EvalFrame", LIBPY), nat("gen_send_ex", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY),
	};
	struct py_frame p3[] = { pyf("gen", true), pyf("user", true) };
	struct merged_frame out[16];
	size_t k;
	CHECK_INT(MERGE(n3, p3, out, &k), 0);
	CHECK_STR(render(out, k), "py:gen;py:user");

	struct native_frame n27[] = {
		nat("PyEval_EvalFrameEx", LIBPY), nat("PyEval_EvalFrameEx", LIBPY),
		nat("PyEval_EvalCodeEx", LIBPY), nat("PyEval_EvalFrameEx", LIBPY),
	};
	struct py_frame p27[] = { pyf("c", true), pyf("b", true), pyf("a", true) };
	CHECK_INT(MERGE(n27, p27, out, &k), 0);
	CHECK_STR(render(out, k), "py:c;py:b;py:a");
}

/* The interpreter's named frames are kept wherever they are (the builtin
 * at the innermost end, builtin_sorted between two eval calls), not its
 * plumbing, nor its nameless frames, nor any of it outside the outermost
 * Python frame (thread_run, pythread_wrapper). */
static void test_builtin_kept_plumbing_hidden(void)
{
	struct native_frame n[] = {
		nat("clock_nanosleep", LIBC), nat("pysleep", LIBPY), nat(NULL, LIBPY),
		nat("time_sleep", LIBPY), nat("cfunction_vectorcall_O", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("builtin_sorted", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("thread_run", LIBPY),
		nat("pythread_wrapper", LIBPY), nat("start_thread", LIBC), nat("__clone3", LIBC),
	};
	struct py_frame p[] = { pyf("<lambda>", true), pyf("sorter", true) };
	struct merged_frame out[32];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "clock_nanosleep;pysleep;time_sleep;py:<lambda>;builtin_sorted;py:sorter");
}

/* One rule for static and shared builds: zlib_compress built into the
 * interpreter's executable (Debian) or in an extension .so (pyenv), with
 * libpython or not, gives the same merged stack. */
static void test_static_shared_same(void)
{
	const char *zmods[] = { EXE, "/usr/lib/zlib.cpython-312-x86_64-linux-gnu.so" };
	const char *pymods[] = { EXE, LIBPY };
	for (int a = 0; a < 2; a++) {
		for (int b = 0; b < 2; b++) {
			struct native_frame n[] = {
				nat("deflate", "/usr/lib/libz.so.1"), nat("zlib_compress", zmods[a]),
				nat("cfunction_vectorcall_FASTCALL_KEYWORDS", pymods[b]),
				nat("_PyEval_EvalFrameDefault", pymods[b]),
				nat("list_sort_impl", pymods[b]), nat("_PyEval_EvalFrameDefault", pymods[b]),
				nat("Py_RunMain", pymods[b]), nat("run_eval_code_obj", pymods[b]),
				nat("main", EXE), nat("_start", EXE),
			};
			if (a == 0 && b == 1)
				continue;       /* built in, but libpython holds the interpreter */
			for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
				n[i].in_python = strcmp(n[i].module_path, pymods[b]) == 0;
			struct py_frame p[] = { pyf("comp", true), pyf("<module>", true) };
			struct merged_frame out[32];
			size_t k;
			CHECK_INT(MERGE(n, p, out, &k), 0);
			CHECK_STR(render(out, k), "deflate;zlib_compress;py:comp;list_sort_impl;py:<module>");
		}
	}
}

/* Nameless frames outside the interpreter stay (as addresses); the
 * interpreter is also recognised by the module of its eval frames. */
static void test_unknown_and_module_fallback(void)
{
	struct native_frame n[] = {
		nat(NULL, EXT), nat("spin", EXT), nat("_PyObject_MakeTpCall", EXE),
		nat("helper_in_exe", EXE), nat("_PyEval_EvalFrameDefault", EXE),
		nat("helper_in_exe", EXE),
	};
	n[2].in_python = n[3].in_python = false;        /* not flagged: found by module */
	struct py_frame p[] = { pyf("f", true) };
	struct merged_frame out[16];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "?;spin;helper_in_exe;py:f");
	CHECK(k == 4 && out[0].native.function == NULL && out[0].native.pc == n[0].pc);
}

/* No Python frames and no eval frames: the native stack alone. */
static void test_native_only(void)
{
	struct native_frame n[] = { nat("epoll_wait", LIBC), nat("worker", EXT), nat("start_thread", LIBC) };
	struct merged_frame out[8];
	size_t k;
	CHECK_INT(merge_stacks(n, 3, NULL, 0, out, &k), 0);
	CHECK_STR(render(out, k), "epoll_wait;worker");
}

static void test_mismatch(void)
{
	struct merged_frame out[32];
	size_t k = 7;
	/* more eval calls than groups (one more: see test_entering_loop) */
	struct native_frame n1[] = { nat("_PyEval_EvalFrameDefault", LIBPY), nat("x", EXT),
				     nat("_PyEval_EvalFrameDefault", LIBPY), nat("x", EXT),
				     nat("_PyEval_EvalFrameDefault", LIBPY) };
	struct py_frame p1[] = { pyf("a", false), pyf("b", true) };
	CHECK_INT(MERGE(n1, p1, out, &k), -EPROTO);
	CHECK_INT(k, 0);
	CHECK_INT(merge_mismatch(n1, 5, p1, 2), NATIVE_FAIL_MORE_EVAL);
	/* more groups than eval calls (an unwind that stopped early) */
	struct native_frame n2[] = { nat("spin", EXT), nat("_PyEval_EvalFrameDefault", LIBPY) };
	struct py_frame p2[] = { pyf("a", true), pyf("b", true) };
	k = 7;
	CHECK_INT(MERGE(n2, p2, out, &k), -EPROTO);
	CHECK_INT(k, 0);
	CHECK_INT(merge_mismatch(n2, 2, p2, 2), NATIVE_FAIL_FEWER_EVAL);
	/* Python frames but no native eval frame at all */
	struct native_frame n3[] = { nat("spin", EXT) };
	CHECK_INT(MERGE(n3, p2, out, &k), -EPROTO);
	/* eval frames but no Python frames */
	CHECK_INT(merge_stacks(n1, 3, NULL, 0, out, &k), -EPROTO);
}

/* A thread sampled while a call of the eval loop starts or ends: one eval
 * frame more than groups, innermost, with only interpreter frames inside
 * it. It is left out; with an extension frame inside it, it is not (that
 * stack does not match). */
static void test_entering_loop(void)
{
	struct native_frame n[] = {
		nat("_PyObject_Malloc", LIBPY), nat("_PyEval_EvalFrameDefault", LIBPY),
		nat("_PyFunction_Vectorcall", LIBPY), nat("call_it", EXT),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("PyEval_EvalCode", LIBPY),
	};
	struct py_frame p[] = { pyf("outer", false), pyf("<module>", true) };
	struct merged_frame out[32];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "call_it;py:outer;py:<module>");
	n[0] = nat("spin", EXT);
	CHECK_INT(MERGE(n, p, out, &k), -EPROTO);
}

/* 3.12+: a call of the eval loop that pops its last frame (the frame's
 * clearing frees an extension's object: extension frames inside it) holds
 * no shim frame, while the call outside it does: it stands for no Python
 * frame. Without the marks the stack does not match (test_entering_loop). */
static void test_leaving_loop_marked(void)
{
	struct native_frame n[] = {
		nat("encoder_dealloc", EXT), nat("_Py_Dealloc", LIBPY),
		nat("clear_thread_frame", LIBPY), nat("_PyEval_EvalFrameDefault", LIBPY),
		nat(NULL, ""), nat("_PyEval_Vector", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("call_it", EXT),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("PyEval_EvalCode", LIBPY),
	};
	n[4].trampoline = true;
	struct py_frame p[] = { pyf("encode", true), pyf("<module>", true) };
	struct merged_frame out[32];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), -EPROTO);       /* no marks (3.11): not told */
	p[0].cstack = 0x7000;
	p[1].cstack = 0x8000;
	n[6].eval_call = n[8].eval_call = true;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "encoder_dealloc;clear_thread_frame;py:encode;call_it;py:<module>");
	n[3].eval_call = true;                  /* every call holds a frame: one too many */
	CHECK_INT(MERGE(n, p, out, &k), -EPROTO);
	/* -X perf: stopped in the trampoline on its way into the loop; the
	 * loop's wrapper outside it is the call that holds no frame yet */
	struct native_frame e[] = {
		nat(NULL, ""), nat("py_trampoline_evaluator", LIBPY), nat("_PyEval_EvalFrame", LIBPY),
		nat("_PyEval_Vector", LIBPY), nat("_PyEval_EvalFrameDefault", LIBPY),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat("PyEval_EvalCode", LIBPY),
	};
	e[0].trampoline = true;
	e[4].eval_call = e[5].eval_call = true;
	CHECK_INT(MERGE(e, p, out, &k), 0);
	CHECK_STR(render(out, k), "py:encode;py:<module>");
}

/* python -X perf: a trampoline frame between each eval call and its
 * caller is part of that call, never shown. */
static void test_trampoline(void)
{
	struct native_frame n[] = {
		nat("spin", EXT), nat("_PyEval_EvalFrameDefault", LIBPY), nat(NULL, ""),
		nat("_PyEval_Vector", LIBPY), nat("call_it", EXT),
		nat("_PyEval_EvalFrameDefault", LIBPY), nat(NULL, ""), nat("PyEval_EvalCode", LIBPY),
	};
	n[2].trampoline = n[6].trampoline = true;
	struct py_frame p[] = { pyf("inner", true), pyf("outer", false), pyf("<module>", true) };
	struct merged_frame out[32];
	size_t k;
	CHECK_INT(MERGE(n, p, out, &k), 0);
	CHECK_STR(render(out, k), "spin;py:inner;call_it;py:outer;py:<module>");
	CHECK_INT(merge_classify(&n[2]), NATIVE_TRAMPOLINE);
	/* A build that does not inline (a debug build): the trampoline's
	 * caller and the loop's wrapper outside it are the same call. */
	struct native_frame d[] = {
		nat("_PyEval_EvalFrameDefault", LIBPY), nat(NULL, ""),
		nat("py_trampoline_evaluator", LIBPY), nat("_PyEval_EvalFrame", LIBPY),
		nat("_PyEval_Vector", LIBPY), nat("PyEval_EvalCode", LIBPY),
	};
	d[1].trampoline = true;
	struct py_frame q[] = { pyf("f", true) };
	CHECK_INT(MERGE(d, q, out, &k), 0);
	CHECK_STR(render(out, k), "py:f");
}

static void test_classify(void)
{
	struct native_frame f = nat("_PyEval_EvalFrameDefault.cold", LIBPY);
	CHECK_INT(merge_classify(&f), NATIVE_EVAL);
	f.function = "PyEval_EvalFrameEx";
	CHECK_INT(merge_classify(&f), NATIVE_EVAL_WRAPPER);
	f.function = "_PyEval_EvalFrameDefaultX";
	CHECK_INT(merge_classify(&f), NATIVE_PLUMBING);
	f.function = "method_vectorcall_O.isra.0";
	CHECK_INT(merge_classify(&f), NATIVE_PLUMBING);
	f.function = "__libc_start_call_main";
	CHECK_INT(merge_classify(&f), NATIVE_STARTUP);
	f.function = "time_sleep";
	CHECK_INT(merge_classify(&f), NATIVE_OTHER);
	f.function = NULL;
	CHECK_INT(merge_classify(&f), NATIVE_OTHER);
	f.function = "";
	CHECK_INT(merge_classify(&f), NATIVE_OTHER);
}

int main(void)
{
	TEST_RUN(test_one_frame_per_eval);
	TEST_RUN(test_groups);
	TEST_RUN(test_last_group_without_entry);
	TEST_RUN(test_nameless_loop);
	TEST_RUN(test_wrappers);
	TEST_RUN(test_builtin_kept_plumbing_hidden);
	TEST_RUN(test_unknown_and_module_fallback);
	TEST_RUN(test_native_only);
	TEST_RUN(test_mismatch);
	TEST_RUN(test_entering_loop);
	TEST_RUN(test_leaving_loop_marked);
	TEST_RUN(test_trampoline);
	TEST_RUN(test_classify);
	TEST_RUN(test_static_shared_same);
	return TEST_REPORT();
}
