/* SPDX-License-Identifier: MIT
 *
 * The stack builder (agg/stack.h): a code object's line is one profile
 * frame whatever the cache holds; root frames are never filtered, the
 * pushed ones are; --function, --include and --exclude decide as
 * stack_filter__keep does on the same frames, also for frames met again
 * (their matches cached) and for frames first met in a dropped stack; a
 * kept stack is added to the profile, with its roots.
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

int main(void)
{
	TEST_RUN(test_frames_and_filters);
	TEST_RUN(test_no_filter);
	return TEST_REPORT();
}
