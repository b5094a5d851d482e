/* SPDX-License-Identifier: MIT
 *
 * The profile model and the record-side helpers: frame and stack interning
 * (memory grows with distinct stacks, not samples), per-thread runs that
 * merge consecutive identical samples, labels, regex filters, and the choice
 * of output format from --format or the file extension.
 */
#include <stdio.h>
#include <string.h>

#include "agg/filter.h"
#include "agg/profile.h"
#include "cli/output.h"
#include "harness.h"

static void test_interning(void)
{
	struct profile *p = profile__new();
	uint32_t a = profile__frame(p, "main", "/app/m.py", "m.py", 3, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "work", "/app/m.py", "m.py", 9, PROF_FRAME_PYTHON);
	CHECK_INT(profile__frame(p, "main", "/app/m.py", "m.py", 3, PROF_FRAME_PYTHON), a);
	CHECK(profile__frame(p, "main", "/app/m.py", "m.py", 4, PROF_FRAME_PYTHON) != a);
	uint32_t t1 = profile__thread(p, 10, 11, "MainThread", "python m.py");
	uint32_t t2 = profile__thread(p, 10, 12, "", "python m.py");
	CHECK_INT(profile__thread(p, 10, 12, "worker", "python m.py"), t2);
	CHECK_STR(profile__thread_at(p, t2)->name, "worker");
	uint32_t st[2] = { a, b };
	for (int i = 0; i < 100000; i++)
		profile__add(p, t1, st, 2, (uint64_t)i * 1000, 1);
	profile__add(p, t1, st, 1, 200000000, 1);
	profile__add(p, t1, st, 2, 300000000, 2);
	profile__add(p, t2, st, 2, 300000000, 1);
	CHECK_INT(profile__nstacks(p), 3);      /* (t1: a;b), (t1: a), (t2: a;b) */
	CHECK_INT(profile__total(p), 100004);
	size_t n;
	const struct prof_run *r = profile__runs(p, t1, &n);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_INT(r[0].count, 100000);
		CHECK_INT(r[0].t_last_ns, 99999000);
		CHECK_INT(r[1].count, 1);
		CHECK_INT(r[2].count, 2);
		CHECK_INT(r[0].stack, r[2].stack);
	}
	const struct prof_stack *s = profile__stack_at(p, r[0].stack);
	CHECK(s && s->n == 2 && s->frames[0] == a && s->frames[1] == b && s->count == 100002);
	/* Many distinct stacks: the pool moves, stacks stay right. */
	uint32_t deep[64];
	for (int i = 0; i < 64; i++)
		deep[i] = profile__frame(p, "f", "x.py", "x.py", i, PROF_FRAME_PYTHON);
	for (int i = 1; i <= 64; i++)
		profile__add(p, t2, deep, (size_t)i, 0, 1);
	s = profile__stack_at(p, r[0].stack);
	CHECK(s->frames[0] == a && s->frames[1] == b);
	CHECK_INT(profile__nstacks(p), 3 + 64);
	char buf[128];
	CHECK_STR(profile_frame_label(profile__frame_at(p, b), false, buf, sizeof(buf)), "work (m.py:9)");
	CHECK_STR(profile_frame_label(profile__frame_at(p, b), true, buf, sizeof(buf)), "work (/app/m.py:9)");
	uint32_t nl = profile__frame(p, "g", "/a/g.py", "g.py", -1, PROF_FRAME_PYTHON);
	CHECK_STR(profile_frame_label(profile__frame_at(p, nl), false, buf, sizeof(buf)), "g (g.py)");
	uint32_t pr = profile__frame(p, "process 1:\"python\"", "", "", -1, PROF_FRAME_PROCESS);
	CHECK_STR(profile_frame_label(profile__frame_at(p, pr), false, buf, sizeof(buf)), "process 1:\"python\"");
	profile__free(p);
}

static void test_run_gap(void)
{
	struct profile *p = profile__new();
	profile__set_run_gap(p, 25000000);     /* 25 ms */
	uint32_t a = profile__frame(p, "a", "a.py", "a.py", 1, PROF_FRAME_PYTHON);
	uint32_t t = profile__thread(p, 1, 1, "", "");
	profile__add(p, t, &a, 1, 0, 1);
	profile__add(p, t, &a, 1, 10000000, 1);         /* +10 ms: same run */
	profile__add(p, t, &a, 1, 100000000, 1);        /* +90 ms: a gap */
	size_t n;
	const struct prof_run *r = profile__runs(p, t, &n);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(r[0].count, 2);
		CHECK_INT(r[1].t_ns, 100000000);
		CHECK_INT(r[0].stack, r[1].stack);
	}
	CHECK_INT(profile__nstacks(p), 1);
	profile__free(p);
}

static void test_filter(void)
{
	struct stack_filter *f;
	char err[256];
	const char *names[] = { "main", "compute_hot" };
	const char *labels[] = { "main (m.py:3)", "compute_hot (lib/x.py:9)" };
	CHECK_INT(stack_filter__new("^compute", NULL, NULL, &f, err, sizeof(err)), 0);
	CHECK(stack_filter__keep(f, names, labels, 2));
	CHECK(!stack_filter__keep(f, names, labels, 1));
	stack_filter__free(f);
	CHECK_INT(stack_filter__new(NULL, "lib/", "m\\.py:3", &f, err, sizeof(err)), 0);
	CHECK(!stack_filter__keep(f, names, labels, 2));         /* excluded */
	stack_filter__free(f);
	CHECK_INT(stack_filter__new(NULL, "lib/", NULL, &f, err, sizeof(err)), 0);
	CHECK(stack_filter__keep(f, names, labels, 2));
	CHECK(!stack_filter__keep(f, names, labels, 1));
	stack_filter__free(f);
	CHECK_INT(stack_filter__new("(", NULL, NULL, &f, err, sizeof(err)), -22);
	CHECK(strstr(err, "--function") != NULL);
	CHECK(stack_filter__keep(NULL, names, labels, 2));
}

static void test_formats(void)
{
	enum output_format f;
	CHECK_INT(output_format_choose(NULL, NULL, &f), 0);
	CHECK_INT(f, OUT_FLAMEGRAPH);
	CHECK_INT(output_format_choose(NULL, "p.svg", &f), 0);
	CHECK_INT(f, OUT_FLAMEGRAPH);
	CHECK_INT(output_format_choose(NULL, "p.json", &f), 0);
	CHECK_INT(f, OUT_SPEEDSCOPE);
	CHECK_INT(output_format_choose(NULL, "p.trace.json", &f), 0);
	CHECK_INT(f, OUT_CHROMETRACE);
	CHECK_INT(output_format_choose(NULL, "p.txt", &f), 0);
	CHECK_INT(f, OUT_RAW);
	CHECK_INT(output_format_choose("json", "p.svg", &f), 0);
	CHECK_INT(f, OUT_JSON);
	CHECK_INT(output_format_choose("pdf", NULL, &f), -22);
	CHECK_STR(output_format_ext(OUT_RAW), "txt");
}

/* Needed by cli/output.c's error path. */
void cli_error(const char *fmt, ...)
{
	(void)fmt;
}

int main(void)
{
	TEST_RUN(test_interning);
	TEST_RUN(test_run_gap);
	TEST_RUN(test_filter);
	TEST_RUN(test_formats);
	return TEST_REPORT();
}
