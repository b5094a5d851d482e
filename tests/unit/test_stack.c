/* SPDX-License-Identifier: MIT
 *
 * The stack builder (agg/stack.h): a code object's line is one profile
 * frame whatever the cache holds; root frames are never filtered, the
 * pushed ones are; --function, --include and --exclude decide as
 * stack_filter__keep does on the same frames, also for frames met again
 * (their matches cached) and for frames first met in a dropped stack; a
 * kept stack is added to the profile, with its roots. --qualname: frames
 * named by their qualified name, a method's class (py_frame.qualname, keyed
 * by qual_uid) part of the frame: one frame for the class defining it
 * whatever class it was called through, another when no class was found.
 * A thread's frames pushed at once (a recursion repeats a frame): the same
 * ids as pushed one by one, a frame that differs from the one before in
 * line or class its own.
 */
#include <stdlib.h>

#include "harness.h"
#include "agg/filter.h"
#include "agg/profile.h"
#include "agg/stack.h"
#include "python/pyproc.h"

static bool build(struct stack_builder *b, uint32_t root, const char *const *names, const int *lines,
		  size_t n)
{
	stack_builder__begin(b, n + 1);
	stack_builder__root(b, root);
	for (size_t i = 0; i < n; i++) {
		/* The code object's uid: a cache key from the name's first two bytes. */
		struct py_code code = { .uid = (uint64_t)names[i][0] << 8 | (uint8_t)names[i][1],
					.name = (char *)names[i], .filename = (char *)"/app/m.py",
					.short_filename = "m.py", .firstlineno = 1 };
		struct py_frame fr = { .code = &code, .line = lines[i] };
		stack_builder__push_frame(b, &fr, STACK_LINES_CURRENT);
	}
	return stack_builder__keep(b);
}

static void test_frames_and_filters(void)
{
	struct profile *p = profile__new();
	struct stack_filter *f = NULL;
	char err[128];
	CHECK_INT(stack_filter__new("^(inner|other)$", "m.py:7", "exc", &f, err, sizeof(err)), 0);
	struct stack_builder *b = stack_builder__new(p, f);
	uint32_t root = profile__frame(p, "exc m.py:7 inner", "", "", -1, PROF_FRAME_THREAD);
	const char *n1[] = { "outer", "inner" };
	const int l1[] = { 3, 7 };
	CHECK(build(b, root, n1, l1, 2));               /* function and label match */
	stack_builder__add(b, profile__thread(p, 1, 1, "", ""), 0);
	CHECK(build(b, root, n1, l1, 2));               /* again, from the cache */
	const int l2[] = { 3, 8 };
	CHECK(!build(b, root, n1, l2, 2));              /* no frame at m.py:7 (the root's is not looked at) */
	const char *n3[] = { "outer", "other" };
	CHECK(build(b, root, n3, l1, 2));
	const char *n4[] = { "exc", "inner" };
	CHECK(!build(b, root, n4, l1, 2));              /* excluded */
	const char *n5[] = { "outer" };
	CHECK(!build(b, root, n5, l1, 1));              /* no function matches */
	CHECK_INT(profile__total(p), 1);
	CHECK_INT(profile__nframes(p), 6);              /* root, outer:3, inner:7, inner:8, other:7, exc:3 */
	const struct prof_stack *st = profile__stack_at(p, 0);
	CHECK_INT(st->n, 3);
	stack_builder__free(b);
	stack_filter__free(f);
	profile__free(p);
}

static void test_no_filter(void)
{
	struct profile *p = profile__new();
	struct stack_builder *b = stack_builder__new(p, NULL);
	uint32_t root = profile__frame(p, "process 1", "", "", -1, PROF_FRAME_PROCESS);
	const char *n[] = { "a", "b" };
	const int l[] = { 1, 2 };
	for (int i = 0; i < 3; i++) {
		CHECK(build(b, root, n, l, 2));
		stack_builder__add(b, profile__thread(p, 1, 1, "", ""), (uint64_t)i);
	}
	CHECK_INT(profile__total(p), 3);
	CHECK_INT(profile__nframes(p), 3);
	stack_builder__free(b);
	profile__free(p);
}

/* A stack of one frame of code at line 5, added to thread 0. */
static void push_one(struct stack_builder *b, const struct py_code *code, const char *qualname,
		     uint64_t qual_uid)
{
	struct py_frame fr = { .code = code, .line = 5, .qualname = qualname, .qual_uid = qual_uid };
	stack_builder__begin(b, 1);
	stack_builder__push_frame(b, &fr, STACK_LINES_CURRENT);
	stack_builder__add(b, 0, 0);
}

static void test_qualname(void)
{
	struct profile *p = profile__new();
	struct stack_builder *b = stack_builder__new(p, NULL);
	profile__thread(p, 1, 1, "", "");
	/* 3.11+: co_qualname; before: co_name, the class from self. */
	struct py_code run = { .uid = 1, .name = (char *)"run", .qualname = (char *)"Base.run",
			       .filename = (char *)"/app/m.py", .short_filename = "m.py" };
	struct py_code meth = { .uid = 2, .name = (char *)"method", .qualname = (char *)"method",
				.filename = (char *)"/app/m.py", .short_filename = "m.py" };
	const char *names[5];
	const char *q1 = "Base.method";
	const char *q2 = "Other.method";
	uint64_t u = 1ull << 63;
	stack_builder__qualname(b, false);
	push_one(b, &run, NULL, 0);
	push_one(b, &meth, q1, u | 1);
	/* off: the code's names, the class ignored */
	stack_builder__qualname(b, true);
	push_one(b, &run, NULL, 0);                 /* co_qualname */
	push_one(b, &meth, q1, u | 1);              /* called through Sub1 */
	push_one(b, &meth, q1, u | 2);              /* through Sub2: the same defining class */
	push_one(b, &meth, q2, u | 3);              /* another class's (a code shared by two) */
	push_one(b, &meth, NULL, 0);                /* no class found: the name as is */
	push_one(b, &meth, q1, u | 1);              /* again, from the cache */
	size_t n = profile__nframes(p);
	CHECK_INT(n, 5);                            /* "method" (no class) is the first one's */
	for (size_t i = 0; i < n && i < 5; i++)
		names[i] = profile__frame_at(p, (uint32_t)i)->name;
	CHECK_STR(names[0], "run");
	CHECK_STR(names[1], "method");
	CHECK_STR(names[2], "Base.run");
	CHECK_STR(names[3], "Base.method");
	CHECK_STR(names[4], "Other.method");
	CHECK_INT(profile__total(p), 8);
	stack_builder__free(b);
	profile__free(p);
}

/* stack_builder__push_thread of a recursion (its frames repeated, then
 * one line differs, then one class) makes the ids push_frame makes one by
 * one. */
static void test_push_thread(void)
{
	struct profile *p = profile__new();
	struct stack_builder *b = stack_builder__new(p, NULL);
	profile__thread(p, 1, 1, "", "");
	stack_builder__qualname(b, true);
	struct py_code rec = { .uid = 1, .name = (char *)"rec", .qualname = (char *)"rec",
			       .filename = (char *)"/app/m.py", .short_filename = "m.py" };
	struct py_code top = { .uid = 2, .name = (char *)"<module>", .qualname = (char *)"<module>",
			       .filename = (char *)"/app/m.py", .short_filename = "m.py" };
	/* innermost first, as a sample holds them */
	struct py_frame fr[6] = {
		{ .code = &rec, .line = 7, .qualname = "A.rec", .qual_uid = 1ull << 63 | 1 },
		{ .code = &rec, .line = 7 },
		{ .code = &rec, .line = 5 },
		{ .code = &rec, .line = 5 },
		{ .code = &rec, .line = 5 },
		{ .code = &top, .line = 9 },
	};
	struct py_thread th = { .frames = fr, .nframes = 6 };
	stack_builder__begin(b, 6);
	stack_builder__push_thread(b, &th, STACK_LINES_CURRENT);
	uint32_t s1 = stack_builder__add(b, 0, 0);
	stack_builder__begin(b, 6);
	for (size_t k = 6; k-- > 0;)
		stack_builder__push_frame(b, &fr[k], STACK_LINES_CURRENT);
	uint32_t s2 = stack_builder__add(b, 0, 0);
	CHECK_INT(s1, s2);
	const struct prof_stack *st = profile__stack_at(p, s1);
	CHECK_INT(st->n, 6);
	if (st->n == 6) {
		const char *want[6] = { "<module>", "rec", "rec", "rec", "rec", "A.rec" };
		const int lines[6] = { 9, 5, 5, 5, 7, 7 };
		for (size_t i = 0; i < 6; i++) {
			const struct prof_frame *f = profile__frame_at(p, st->frames[i]);
			CHECK_STR(f->name, want[i]);
			CHECK_INT(f->line, lines[i]);
		}
		CHECK_INT(st->frames[1], st->frames[3]);
		CHECK(st->frames[3] != st->frames[4]);
		CHECK(st->frames[4] != st->frames[5]);
	}
	CHECK_INT(profile__nframes(p), 4);
	stack_builder__free(b);
	profile__free(p);
}

int main(void)
{
	TEST_RUN(test_frames_and_filters);
	TEST_RUN(test_no_filter);
	TEST_RUN(test_qualname);
	TEST_RUN(test_push_thread);
	return TEST_REPORT();
}
