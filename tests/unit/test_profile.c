/* SPDX-License-Identifier: MIT
 *
 * The profile model and the record-side helpers: frame and stack interning
 * (memory grows with distinct stacks, not samples), per-thread runs that
 * merge consecutive identical samples, labels, regex filters, and the choice
 * of output format from --format or the file extension; string interning and
 * the folding of exited threads into lanes by name pattern.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agg/filter.h"
#include "agg/intern.h"
#include "agg/profile.h"
#include "harness.h"
#include "writers/writer.h"

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
	uint32_t a = profile__frame(p, "a", "a.py", "a.py", 1, PROF_FRAME_PYTHON);
	uint32_t t = profile__thread(p, 1, 1, "", "");
	profile__tick(p, 0);
	profile__add(p, t, &a, 1, 0, 1);
	profile__tick(p, 10000000);
	profile__add(p, t, &a, 1, 10000000, 1);         /* the next tick: same run */
	profile__tick(p, 900000000);
	profile__add(p, t, &a, 1, 900000000, 1);        /* a late tick (fell behind): same run */
	profile__tick(p, 910000000);                    /* the thread left out (idle) */
	profile__tick(p, 920000000);
	profile__add(p, t, &a, 1, 920000000, 1);        /* after a tick without it: a new run */
	size_t n;
	const struct prof_run *r = profile__runs(p, t, &n);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(r[0].count, 3);
		CHECK_INT(r[0].t_last_ns, 900000000);
		CHECK_INT(r[1].t_ns, 920000000);
		CHECK_INT(r[0].stack, r[1].stack);
	}
	CHECK_INT(profile__nstacks(p), 1);
	profile__free(p);
}

static void test_intern(void)
{
	struct intern *in = intern__new();
	const char *a = intern__get(in, "python3 server.py");
	const char *b = intern__get(in, "python3 server.py");
	CHECK(a == b);
	CHECK_STR(a, "python3 server.py");
	CHECK_STR(intern__get(in, NULL), "");
	CHECK_INT(intern__count(in), 2);
	intern__put(in, a);
	CHECK_INT(intern__count(in), 2);         /* b still holds it */
	intern__put(in, b);
	CHECK_INT(intern__count(in), 1);
	/* Many distinct strings, all released: nothing left (the table grows). */
	char buf[32];
	const char *held[5000];
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "Thread-%d (handler)", i);
		held[i] = intern__get(in, buf);
	}
	CHECK_INT(intern__count(in), 5001);
	CHECK_STR(held[4321], "Thread-4321 (handler)");
	CHECK(intern__get(in, "Thread-17 (handler)") == held[17]);
	intern__put(in, held[17]);
	for (int i = 0; i < 5000; i++)
		intern__put(in, held[i]);
	CHECK_INT(intern__count(in), 1);
	intern__put(in, NULL);
	intern__free(in);
}

static void test_thread_pattern(void)
{
	char b[64];
	CHECK_STR(profile_thread_pattern("Thread-123 (process_request_thread)", b, sizeof(b)),
		  "Thread-N (process_request_thread)");
	CHECK_STR(profile_thread_pattern("Thread-7", b, sizeof(b)), "Thread-N");
	CHECK_STR(profile_thread_pattern("ThreadPoolExecutor-0_12", b, sizeof(b)), "ThreadPoolExecutor-N_N");
	CHECK_STR(profile_thread_pattern("worker 17", b, sizeof(b)), "worker N");
	CHECK_STR(profile_thread_pattern("42", b, sizeof(b)), "N");
	CHECK_STR(profile_thread_pattern("http2-conn-3", b, sizeof(b)), "http2-conn-N");
	CHECK_STR(profile_thread_pattern("MainThread", b, sizeof(b)), "MainThread");
	CHECK_STR(profile_thread_pattern("", b, sizeof(b)), "");
	CHECK_STR(profile_thread_pattern(NULL, b, sizeof(b)), "");
	CHECK_STR(profile_thread_pattern("Thread-12345", b, 6), "Threa");      /* truncated */
}

/* Sum of counts per thread index, and in all. */
static uint64_t stack_sum(const struct profile *p, int thread)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < profile__nstacks(p); i++) {
		const struct prof_stack *s = profile__stack_at(p, i);
		if (thread < 0 || s->thread == (uint32_t)thread)
			n += s->count;
	}
	return n;
}

static void test_thread_exit(void)
{
	struct profile *p = profile__new();
	uint32_t f[3] = { profile__frame(p, "main", "s.py", "s.py", 1, PROF_FRAME_PYTHON),
			  profile__frame(p, "handle", "s.py", "s.py", 5, PROF_FRAME_PYTHON),
			  profile__frame(p, "parse", "s.py", "s.py", 9, PROF_FRAME_PYTHON) };
	uint32_t main_t = profile__thread(p, 100, 100, "MainThread", "python3 s.py");
	profile__add(p, main_t, f, 1, 0, 5);
	/* 1,000 request threads, each with two stacks, named Thread-N (handle). */
	char name[64];
	uint64_t t_ns = 1000;
	for (int i = 1; i <= 1000; i++) {
		snprintf(name, sizeof(name), "Thread-%d (handle)", i);
		uint32_t t = profile__thread(p, 100, 1000 + i, name, "python3 s.py");
		CHECK(profile__thread_at(p, t)->process_cmdline == profile__thread_at(p, main_t)->process_cmdline);
		profile__add(p, t, f, 2, t_ns, 2);
		profile__add(p, t, f, 3, t_ns + 10, 1);
		t_ns += 100;
		profile__thread_exit(p, t);
		CHECK_INT(profile__nthreads(p), 2);     /* main + one lane */
	}
	CHECK_INT(profile__total(p), 5 + 3000);
	CHECK_INT(stack_sum(p, -1), 5 + 3000);
	/* Stack ids are reused: main's stack, the lane's two, two unused. */
	CHECK(profile__nstacks(p) <= 5);
	uint32_t lane = profile__thread_at(p, 0)->exited ? 0 : 1;
	const struct prof_thread *l = profile__thread_at(p, lane);
	CHECK_STR(l->name, "Thread-N (handle)");
	CHECK_INT(l->tid, 0);
	CHECK_INT(l->exited, 1000);
	CHECK_INT(l->samples, 3000);
	CHECK_INT(stack_sum(p, (int)lane), 3000);
	CHECK_STR(profile__thread_at(p, 1 - lane)->name, "MainThread");
	CHECK_INT(profile__thread_at(p, 1 - lane)->samples, 5);
	/* The lane's runs: every thread's, in exit order, with the lane's stacks. */
	size_t n;
	const struct prof_run *r = profile__runs(p, lane, &n);
	CHECK_INT(n, 2000);
	if (n == 2000) {
		const struct prof_stack *s0 = profile__stack_at(p, r[0].stack);
		const struct prof_stack *s1 = profile__stack_at(p, r[1].stack);
		CHECK(s0->thread == lane && s0->n == 2 && s0->count == 2000);
		CHECK(s1->thread == lane && s1->n == 3 && s1->frames[2] == f[2] && s1->count == 1000);
		CHECK_INT(r[1998].stack, r[0].stack);
		CHECK_INT(r[1999].t_ns, 1000 + 999 * 100 + 10);
	}
	/* A live thread and an exit of an unknown index change nothing. */
	profile__thread_exit(p, 99);
	profile__thread_exit(p, lane);          /* a lane is left alone */
	CHECK_INT(profile__nthreads(p), 2);
	/* A new thread after that gets a fresh entry (and stack ids reused). */
	uint32_t t = profile__thread(p, 100, 5000, "Thread-1001 (handle)", "python3 s.py");
	CHECK_INT(t, 2);
	profile__add(p, t, f, 3, t_ns, 1);
	CHECK_INT(profile__thread(p, 100, 5000, "", "python3 s.py"), t);
	CHECK(profile__nstacks(p) <= 5);
	profile__free(p);
}

static void test_thread_exit_moves_last(void)
{
	struct profile *p = profile__new();
	uint32_t f[2] = { profile__frame(p, "a", "a.py", "a.py", 1, PROF_FRAME_PYTHON),
			  profile__frame(p, "b", "a.py", "a.py", 2, PROF_FRAME_PYTHON) };
	uint32_t t0 = profile__thread(p, 7, 70, "worker 1", "cmd");
	uint32_t t1 = profile__thread(p, 7, 71, "worker 2", "cmd");
	uint32_t t2 = profile__thread(p, 7, 72, "pool-3", "cmd");
	profile__add(p, t0, f, 2, 0, 1);
	profile__add(p, t1, f, 1, 0, 4);
	profile__add(p, t2, f, 2, 0, 8);
	profile__mark(p);
	profile__add(p, t0, f, 2, 1, 2);
	profile__thread_exit(p, t0);            /* the lane "worker N" is appended, then moves to 0 */
	CHECK_INT(profile__nthreads(p), 3);
	/* The live threads are still found by (pid, tid), with their stacks. */
	uint32_t a = profile__thread(p, 7, 71, "", "cmd"), b = profile__thread(p, 7, 72, "", "cmd");
	CHECK_INT(profile__nthreads(p), 3);
	CHECK_STR(profile__thread_at(p, a)->name, "worker 2");
	CHECK_INT(stack_sum(p, (int)a), 4);
	CHECK_INT(stack_sum(p, (int)b), 8);
	profile__add(p, b, f, 2, 2, 1);         /* the same stack as before the move */
	CHECK_INT(stack_sum(p, (int)b), 9);
	size_t nb = 0;
	for (uint32_t i = 0; i < profile__nstacks(p); i++)
		nb += profile__stack_at(p, i)->count && profile__stack_at(p, i)->thread == b;
	CHECK_INT(nb, 1);
	profile__thread_exit(p, a);             /* into the same lane */
	profile__thread_exit(p, profile__thread(p, 7, 72, "", "cmd"));    /* "pool-N": a second lane */
	CHECK_INT(profile__nthreads(p), 2);
	uint64_t marked = 0;
	for (uint32_t i = 0; i < profile__nthreads(p); i++) {
		const struct prof_thread *th = profile__thread_at(p, i);
		CHECK(th->exited > 0 && th->tid == 0);
		if (strcmp(th->name, "worker N") == 0)
			CHECK(th->exited == 2 && th->samples == 7 && stack_sum(p, (int)i) == 7);
		else
			CHECK(strcmp(th->name, "pool-N") == 0 && th->samples == 9);
	}
	/* Marks follow the counts: 1 + 4 + 8 marked, 2 + 1 after. */
	for (uint32_t i = 0; i < profile__nstacks(p); i++)
		marked += profile__stack_at(p, i)->marked;
	CHECK_INT(marked, 13);
	CHECK_INT(stack_sum(p, -1), 16);
	profile__free(p);
}

/* The last stack of each thread is compared before hashing: a stack one
 * frame shorter or with another leaf, another thread's same frames, and a
 * stack id that a thread's exit freed and another stack took, are each
 * their own stack. */
static void test_last_stack(void)
{
	struct profile *p = profile__new();
	uint32_t f[3] = { profile__frame(p, "a", "a.py", "a.py", 1, PROF_FRAME_PYTHON),
			  profile__frame(p, "b", "a.py", "a.py", 2, PROF_FRAME_PYTHON),
			  profile__frame(p, "c", "a.py", "a.py", 3, PROF_FRAME_PYTHON) };
	uint32_t other[2] = { f[0], f[2] };
	uint32_t t0 = profile__thread(p, 7, 70, "worker 1", "cmd");
	uint32_t t1 = profile__thread(p, 7, 71, "worker 2", "cmd");
	uint32_t s0 = profile__add(p, t0, f, 2, 0, 1);
	CHECK_INT(profile__add(p, t0, f, 2, 1, 1), s0);
	uint32_t s1 = profile__add(p, t0, f, 1, 2, 1);
	uint32_t s2 = profile__add(p, t0, other, 2, 3, 1);
	uint32_t s3 = profile__add(p, t1, f, 2, 4, 1);
	CHECK(s1 != s0 && s2 != s0 && s2 != s1 && s3 != s0);
	CHECK_INT(profile__add(p, t0, f, 2, 5, 1), s0);
	CHECK_INT(profile__stack_at(p, s0)->count, 3);
	CHECK_INT(profile__stack_at(p, s3)->count, 1);
	/* t1's exit merges nothing (a new lane): t0 then leaves (a, b) in
	 * the lane too, and its stack ids are freed and taken again. */
	profile__thread_exit(p, t1);
	uint32_t t2 = profile__thread(p, 7, 72, "worker 3", "cmd");
	uint32_t s4 = profile__add(p, t2, f, 3, 6, 1);
	profile__thread_exit(p, profile__thread(p, 7, 70, "", "cmd"));
	t2 = profile__thread(p, 7, 72, "", "cmd");
	uint32_t s5 = profile__add(p, t2, f, 2, 7, 1);
	CHECK(s5 != s4);
	const struct prof_stack *st = profile__stack_at(p, s5);
	CHECK(st && st->thread == t2 && st->n == 2 && st->count == 1);
	CHECK_INT(profile__add(p, t2, f, 3, 8, 1), s4);
	CHECK_INT(profile__stack_at(p, s4)->count, 2);
	CHECK_INT(stack_sum(p, (int)t2), 3);
	CHECK_INT(stack_sum(p, -1), 9);
	profile__free(p);
}

static void test_lane_cap(void)
{
	struct profile *p = profile__new();
	uint32_t f = profile__frame(p, "a", "a.py", "a.py", 1, PROF_FRAME_PYTHON);
	char name[32];
	/* Names without digits after a non-letter: every one its own pattern. */
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "req%c%c%c", 'a' + i % 26, 'a' + i / 26 % 26, 'a' + i / 676);
		uint32_t t = profile__thread(p, 1, 10 + i, name, "cmd");
		profile__add(p, t, &f, 1, 0, 1);
		profile__thread_exit(p, t);
	}
	CHECK_INT(profile__nthreads(p), PROFILE_MAX_LANES);
	uint64_t other = 0;
	for (uint32_t i = 0; i < profile__nthreads(p); i++)
		if (strcmp(profile__thread_at(p, i)->name, PROFILE_OTHER_LANE) == 0)
			other = profile__thread_at(p, i)->exited;
	CHECK_INT(other, 1000 - (PROFILE_MAX_LANES - 1));
	CHECK_INT(stack_sum(p, -1), 1000);
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
	CHECK(strstr(err, "--match-function") != NULL);
	CHECK(stack_filter__keep(NULL, names, labels, 2));
}

static void test_formats(void)
{
	const struct writer *w;
	CHECK_INT(writer_choose(NULL, NULL, &w), 0);
	CHECK_STR(w->name, "flamegraph");
	CHECK_INT(writer_choose(NULL, "p.svg", &w), 0);
	CHECK_STR(w->name, "flamegraph");
	CHECK_INT(writer_choose(NULL, "p.json", &w), 0);
	CHECK_STR(w->name, "speedscope");
	CHECK_INT(writer_choose(NULL, "p.trace.json", &w), 0);
	CHECK_STR(w->name, "chrometrace");
	CHECK_INT(writer_choose(NULL, "p.txt", &w), 0);
	CHECK_STR(w->name, "raw");
	CHECK_INT(writer_choose("json", "p.svg", &w), 0);
	CHECK_STR(w->name, "json");
	CHECK_INT(writer_choose("pdf", NULL, &w), -22);
	CHECK_STR(writer_find("raw")->ext, "txt");
	CHECK_INT(writer_choose(NULL, "p.speedscope.json", &w), 0);
	CHECK_STR(w->name, "speedscope");
	CHECK_INT(writer_choose(NULL, "p.chrometrace.json", &w), 0);
	CHECK_STR(w->name, "chrometrace");
	CHECK_INT(writer_choose(NULL, "p.folded", &w), 0);
	CHECK_STR(w->name, "raw");
	CHECK_INT(writer_choose(NULL, "p.collapsed", &w), 0);
	CHECK_STR(w->name, "raw");
	CHECK_INT(writer_choose(NULL, "json", &w), 0);  /* no dot: not an ending */
	CHECK_STR(w->name, "flamegraph");
	CHECK(!writer_find("pdf"));
	/* Compressed: the ending before .gz chooses; .svgz is a flame graph. */
	CHECK_INT(writer_choose(NULL, "p.svgz", &w), 0);
	CHECK_STR(w->name, "flamegraph");
	CHECK_INT(writer_choose(NULL, "p.trace.json.gz", &w), 0);
	CHECK_STR(w->name, "chrometrace");
	CHECK_INT(writer_choose(NULL, "p.txt.gz", &w), 0);
	CHECK_STR(w->name, "raw");
	CHECK(writer_path_gzip("p.svgz") && writer_path_gzip("p.json.gz") && !writer_path_gzip("p.svg"));
	CHECK(!writer_path_gzip(NULL));
	/* An unknown extension is an error, unless --format says; none at all
	 * (a dot only in a directory, a hidden file) is the flame graph. */
	CHECK_INT(writer_choose(NULL, "p.pdf", &w), -ENOENT);
	CHECK_INT(writer_choose(NULL, "p.pdf.gz", &w), -ENOENT);
	CHECK_INT(writer_choose("raw", "p.pdf", &w), 0);
	CHECK_STR(w->name, "raw");
	CHECK_INT(writer_choose(NULL, "/dev/stdout", &w), 0);
	CHECK_INT(writer_choose(NULL, "a.d/profile", &w), 0);
	CHECK_INT(writer_choose(NULL, ".profile", &w), 0);
	CHECK_STR(w->name, "flamegraph");
	/* The error message names every writer, in table order. */
	const char *names = writer_names(), *at = names;
	for (size_t i = 0; writer_at(i); i++) {
		const char *hit = strstr(at, writer_at(i)->name);
		CHECK(hit != NULL);
		at = hit ? hit + strlen(writer_at(i)->name) : at;
	}
	CHECK(writer_at(0)->timeline == false && writer_find("speedscope")->timeline &&
	      writer_find("chrometrace")->timeline && !writer_find("json")->timeline);
}

/* The split of a stack's samples and its memory deltas follow it through
 * a mark and into its lane when its thread exits. */
static void test_class_memory(void)
{
	struct profile *p = profile__new();
	uint32_t a = profile__frame(p, "grow", "/app/m.py", "m.py", 3, PROF_FRAME_PYTHON);
	uint32_t t1 = profile__thread(p, 10, 11, "Thread-1", "python m.py");
	uint32_t t2 = profile__thread(p, 10, 12, "Thread-2", "python m.py");
	uint32_t s1 = profile__add(p, t1, &a, 1, 0, 1);
	uint32_t s2 = profile__add(p, t2, &a, 1, 0, 1);
	CHECK(s1 != PROFILE_NO_STACK && s2 != PROFILE_NO_STACK && s1 != s2);
	CHECK_INT(profile__add(p, t1, &a, 1, 0, 0), PROFILE_NO_STACK);
	profile__add_class(p, s1, PROF_CLASS_NATIVE, 1);
	profile__add_class(p, s2, PROF_CLASS_SYSTEM, 1);
	profile__add_class(p, PROFILE_NO_STACK, PROF_CLASS_SYSTEM, 1);   /* ignored */
	profile__add_memory(p, s1, 4096);
	profile__add_memory(p, s2, 8192);
	profile__add_memory(p, s2, -1000);
	profile__mark(p);
	CHECK_INT(profile__stack_at(p, s2)->mem_grow_marked, 8192);
	CHECK_INT(profile__stack_at(p, s1)->cls_marked[PROF_CLASS_NATIVE], 1);
	profile__thread_exit(p, t1);
	for (uint32_t i = 0; i < profile__nthreads(p); i++)
		if (profile__thread_at(p, i)->tid == 12) {
			profile__thread_exit(p, i);
			break;
		}
	CHECK_INT(profile__nthreads(p), 1);
	const struct prof_stack *l = NULL;
	for (size_t i = 0; i < profile__nstacks(p); i++)
		if (profile__stack_at(p, (uint32_t)i)->count)
			l = profile__stack_at(p, (uint32_t)i);
	CHECK(l && l->count == 2 && l->mem_grow == 12288 && l->mem_shrink == 1000 &&
	      l->cls[PROF_CLASS_NATIVE] == 1 && l->cls[PROF_CLASS_SYSTEM] == 1 &&
	      l->cls[PROF_CLASS_PYTHON] == 0 && l->mem_grow_marked == 12288);
	uint64_t g, sh;
	profile__memory_total(p, &g, &sh);
	CHECK_INT(g, 12288);
	CHECK_INT(sh, 1000);
	CHECK_INT(profile__class_total(p, PROF_CLASS_SYSTEM), 1);
	CHECK_STR(profile_class_name(PROF_CLASS_SYSTEM), "system");
	profile__free(p);
}

int main(void)
{
	TEST_RUN(test_class_memory);
	TEST_RUN(test_interning);
	TEST_RUN(test_run_gap);
	TEST_RUN(test_intern);
	TEST_RUN(test_thread_pattern);
	TEST_RUN(test_thread_exit);
	TEST_RUN(test_thread_exit_moves_last);
	TEST_RUN(test_last_stack);
	TEST_RUN(test_lane_cap);
	TEST_RUN(test_filter);
	TEST_RUN(test_formats);
	return TEST_REPORT();
}
