/* SPDX-License-Identifier: MIT
 *
 * `cspy top`'s table and screen, without a terminal: own and total samples
 * (recursion counted once per sample), by line and by function, the sort
 * keys, the thread filter (one live thread by id, the exited threads' lanes),
 * the T key's cycle (live threads, the lanes as one entry only with samples
 * since the reset, back and forth, from a thread that exited), the baseline
 * of a reset, the busiest thread (never a lane), the time per sample,
 * synthetic roots left out; and the rendering: trimmed to small widths and
 * heights, wide characters, control characters made safe, the locals pane,
 * the help text, unbounded snapshots with a row cap; the python/native/system
 * split of own samples and --memory's bytes (own, total, sorted, after a
 * reset, in the header and the columns).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "harness.h"
#include "tui/topmodel.h"
#include "tui/topview.h"

struct fx {
	struct profile *p;
	uint32_t main_, f10, f12, g, h, t0, t1;
};

/* main -> f (line 10) -> f (line 10) -> f (line 12) -> g : 3 samples (recursion)
 * main -> f (line 12)                                   : 1
 * main -> h                                             : 2 (thread 1)     */
static void fixture(struct fx *x)
{
	x->p = profile__new();
	x->main_ = profile__frame(x->p, "main", "/app/m.py", "m.py", 3, PROF_FRAME_PYTHON);
	x->f10 = profile__frame(x->p, "f", "/app/m.py", "m.py", 10, PROF_FRAME_PYTHON);
	x->f12 = profile__frame(x->p, "f", "/app/m.py", "m.py", 12, PROF_FRAME_PYTHON);
	x->g = profile__frame(x->p, "g", "/app/g.py", "g.py", 5, PROF_FRAME_PYTHON);
	x->h = profile__frame(x->p, "h", "/app/m.py", "m.py", 20, PROF_FRAME_PYTHON);
	x->t0 = profile__thread(x->p, 100, 100, "MainThread", "python m.py");
	x->t1 = profile__thread(x->p, 100, 101, "worker", "python m.py");
	uint32_t s1[] = { x->main_, x->f10, x->f10, x->f12, x->g };
	uint32_t s2[] = { x->main_, x->f12 };
	uint32_t s3[] = { x->main_, x->h };
	profile__add(x->p, x->t0, s1, 5, 0, 3);
	profile__add(x->p, x->t0, s2, 2, 0, 1);
	profile__add(x->p, x->t1, s3, 2, 0, 2);
}

static const struct top_row *find(const struct topmodel *m, uint32_t frame)
{
	for (size_t i = 0; i < topmodel__nrows(m); i++)
		if (topmodel__rows(m)[i].frame == frame)
			return &topmodel__rows(m)[i];
	return NULL;
}

static void test_own_total_by_line(void)
{
	struct fx x;
	fixture(&x);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__samples(m), 6);
	CHECK_INT(topmodel__nrows(m), 5);
	const struct top_row *r = find(m, x.main_);
	CHECK(r && r->own == 0 && r->total == 6);
	r = find(m, x.f10);             /* twice in the 3-sample stack: counted once */
	CHECK(r && r->own == 0 && r->total == 3);
	r = find(m, x.f12);
	CHECK(r && r->own == 1 && r->total == 4);
	r = find(m, x.g);
	CHECK(r && r->own == 3 && r->total == 3);
	r = find(m, x.h);
	CHECK(r && r->own == 2 && r->total == 2);
	/* %Own order: g (3), h (2), f:12 (1), then by total: main (6), f:10 (3). */
	const struct top_row *rows = topmodel__rows(m);
	CHECK_INT(rows[0].frame, x.g);
	CHECK_INT(rows[1].frame, x.h);
	CHECK_INT(rows[2].frame, x.f12);
	CHECK_INT(rows[3].frame, x.main_);
	CHECK_INT(rows[4].frame, x.f10);
	topmodel__free(m);
	profile__free(x.p);
}

static void test_by_function(void)
{
	struct fx x;
	fixture(&x);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, x.p, false, NULL);
	CHECK(!topmodel__by_line(m));
	CHECK_INT(topmodel__nrows(m), 4);       /* main, f, g, h */
	const struct top_row *f = NULL;
	for (size_t i = 0; i < topmodel__nrows(m); i++) {
		uint32_t id = topmodel__rows(m)[i].frame;
		if (id == x.f10 || id == x.f12)
			f = &topmodel__rows(m)[i];
	}
	/* f:10 and f:12 are one function; three frames of it in one stack count once. */
	CHECK(f && f->total == 4 && f->own == 1);
	/* Back to lines: the function map does not leak into the line view. */
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__nrows(m), 5);
	/* A function of the same name in another file is another row. */
	uint32_t f2 = profile__frame(x.p, "f", "/app/other.py", "other.py", 10, PROF_FRAME_PYTHON);
	uint32_t s[] = { x.main_, f2 };
	profile__add(x.p, x.t0, s, 2, 0, 1);
	topmodel__update(m, x.p, false, NULL);
	CHECK_INT(topmodel__nrows(m), 5);
	const struct top_row *r = find(m, f2);
	CHECK(r && r->own == 1 && r->total == 1);
	topmodel__free(m);
	profile__free(x.p);
}

static void test_sort_keys(void)
{
	struct fx x;
	fixture(&x);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__sort_key(m), TOP_SORT_OWN);
	topmodel__sort(m, TOP_SORT_TOTAL);
	const struct top_row *rows = topmodel__rows(m);
	CHECK_INT(rows[0].frame, x.main_);      /* total 6 */
	CHECK_INT(rows[1].frame, x.f12);        /* total 4 */
	CHECK_INT(rows[2].frame, x.g);          /* total 3, own 3 before f:10 (own 0) */
	CHECK_INT(rows[3].frame, x.f10);
	CHECK_INT(rows[4].frame, x.h);
	topmodel__sort(m, TOP_SORT_TOTAL_TIME);         /* same order as %Total */
	CHECK_INT(topmodel__rows(m)[0].frame, x.main_);
	topmodel__sort(m, TOP_SORT_OWN_TIME);           /* same order as %Own */
	CHECK_INT(topmodel__rows(m)[0].frame, x.g);
	/* The key survives an update. */
	topmodel__sort(m, TOP_SORT_TOTAL);
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__rows(m)[0].frame, x.main_);
	topmodel__free(m);
	profile__free(x.p);
}

static void test_thread_filter(void)
{
	struct fx x;
	fixture(&x);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, x.p, true, &(struct top_sel){ TOP_SEL_THREAD, 100, 101 });
	CHECK_INT(topmodel__samples(m), 2);
	CHECK_INT(topmodel__nrows(m), 2);               /* main, h */
	CHECK(find(m, x.g) == NULL);
	const struct top_row *r = find(m, x.main_);
	CHECK(r && r->total == 2);
	topmodel__update(m, x.p, true, &(struct top_sel){ TOP_SEL_THREAD, 100, 100 });
	CHECK_INT(topmodel__samples(m), 4);
	CHECK(find(m, x.h) == NULL);
	CHECK_INT(topmodel__busiest_thread(m), x.t0);  /* whatever the filter */
	topmodel__free(m);
	profile__free(x.p);
}

static struct top_sel sel_thread(pid_t tid)
{
	return (struct top_sel){ TOP_SEL_THREAD, 100, tid };
}

/* A thread-per-request server: main (100) and a burner (101) live, 50
 * request threads exited (two name patterns: two lanes, one entry). */
static void test_thread_cycle(void)
{
	struct fx x;
	fixture(&x);
	struct profile *p = x.p;
	uint32_t req = profile__frame(p, "handle", "/app/m.py", "m.py", 30, PROF_FRAME_PYTHON);
	uint32_t st[] = { x.main_, req };
	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof(name), i < 10 ? "setup-%d" : "Thread-%d", i);
		uint32_t t = profile__thread(p, 100, 200 + i, name, "python m.py");
		profile__add(p, t, st, 2, 0, 1);
		profile__thread_exit(p, t);
	}
	CHECK_INT(profile__nthreads(p), 4);             /* two live, two lanes */
	struct topmodel *m = topmodel__new();
	struct top_sel all = { .kind = TOP_SEL_ALL }, s = all;
	struct top_cycle c;
	topmodel_cycle(p, &s, &c);
	CHECK_INT(c.threads, 2);
	CHECK(c.exited);
	CHECK_INT(c.nexited, 50);
	/* Forwards: all, 100, 101, exited, all. */
	s = topmodel__step(m, p, &s, 1);
	CHECK(s.kind == TOP_SEL_THREAD && s.tid == 100);
	topmodel_cycle(p, &s, &c);
	CHECK_INT(c.pos, 1);
	s = topmodel__step(m, p, &s, 1);
	CHECK(s.kind == TOP_SEL_THREAD && s.tid == 101);
	s = topmodel__step(m, p, &s, 1);
	CHECK(s.kind == TOP_SEL_EXITED);
	topmodel_cycle(p, &s, &c);
	CHECK_INT(c.pos, 3);
	topmodel__update(m, p, true, &s);               /* both lanes, nothing live */
	CHECK_INT(topmodel__samples(m), 50);
	CHECK(find(m, req) && find(m, req)->own == 50);
	CHECK(find(m, x.h) == NULL);
	CHECK(topmodel__busiest_thread(m) >= 0 &&
	      !profile__thread_at(p, (uint32_t)topmodel__busiest_thread(m))->exited);
	s = topmodel__step(m, p, &s, 1);
	CHECK(s.kind == TOP_SEL_ALL);
	/* Backwards: all, exited, 101, 100, all. */
	s = topmodel__step(m, p, &s, -1);
	CHECK(s.kind == TOP_SEL_EXITED);
	s = topmodel__step(m, p, &s, -1);
	CHECK(s.kind == TOP_SEL_THREAD && s.tid == 101);
	s = topmodel__step(m, p, &s, -1);
	CHECK(s.kind == TOP_SEL_THREAD && s.tid == 100);
	s = topmodel__step(m, p, &s, -1);
	CHECK(s.kind == TOP_SEL_ALL);

	/* After a reset the lanes have no samples: no exited entry. */
	topmodel__reset(m, p);
	s = topmodel__step(m, p, &all, -1);
	CHECK(s.kind == TOP_SEL_THREAD && s.tid == 101);
	s = topmodel__step(m, p, &s, 1);
	CHECK(s.kind == TOP_SEL_ALL);
	topmodel_cycle(p, &all, &c);
	CHECK(!c.exited);

	/* A thread shown that exits: no rows; forwards to the exited entry
	 * (its samples are there), backwards to the live thread before it. */
	uint32_t t = profile__thread(p, 100, 150, "Thread-99", "python m.py");
	profile__add(p, t, st, 2, 0, 3);
	s = sel_thread(150);
	topmodel__update(m, p, true, &s);
	CHECK_INT(topmodel__samples(m), 3);
	profile__thread_exit(p, t);
	topmodel__update(m, p, true, &s);
	CHECK_INT(topmodel__samples(m), 0);
	topmodel_cycle(p, &s, &c);
	CHECK_INT(c.index, -1);
	CHECK_INT(c.pos, 0);
	struct top_sel n = topmodel__step(m, p, &s, 1);
	CHECK(n.kind == TOP_SEL_EXITED);
	n = topmodel__step(m, p, &s, -1);
	CHECK(n.kind == TOP_SEL_THREAD && n.tid == 101);
	/* ... and with no exited samples in the window, forwards to all. */
	topmodel__reset(m, p);
	n = topmodel__step(m, p, &s, 1);
	CHECK(n.kind == TOP_SEL_ALL);

	/* A thread sampled before its TID was known (TID 0): after the live
	 * threads, and only while it has samples since the reset. */
	uint32_t t0 = profile__thread(p, 100, 0, "Thread-7", "python m.py");
	profile__add(p, t0, st, 2, 0, 1);
	n = topmodel__step(m, p, &(struct top_sel){ TOP_SEL_THREAD, 100, 101 }, 1);
	CHECK(n.kind == TOP_SEL_THREAD && n.tid == 0);
	topmodel_cycle(p, &n, &c);
	CHECK_INT(c.threads, 3);
	CHECK_INT(c.pos, 3);
	topmodel__reset(m, p);
	n = topmodel__step(m, p, &(struct top_sel){ TOP_SEL_THREAD, 100, 101 }, 1);
	CHECK(n.kind == TOP_SEL_ALL);
	topmodel_cycle(p, &all, &c);
	CHECK_INT(c.threads, 2);
	topmodel__free(m);
	profile__free(p);
}

/* Requests come and go between two key presses, their TIDs wrapped around
 * below the long-lived threads': a step from a request that has exited
 * goes on from where it stood in the last step's list, and new requests
 * do not keep the cycle from main, the burner and the exited threads. */
static void test_thread_cycle_churn(void)
{
	struct profile *p = profile__new();
	uint32_t f = profile__frame(p, "f", "/app/m.py", "m.py", 1, PROF_FRAME_PYTHON);
	uint32_t main_ = profile__thread(p, 100, 30000, "MainThread", "python m.py");
	uint32_t burner = profile__thread(p, 100, 30050, "burner", "python m.py");
	profile__add(p, main_, &f, 1, 0, 1);
	profile__add(p, burner, &f, 1, 0, 1);
	pid_t req_tid = 400;
	uint32_t req = profile__thread(p, 100, req_tid, "Thread-1", "python m.py");
	profile__add(p, req, &f, 1, 0, 1);
	struct topmodel *m = topmodel__new();
	struct top_sel all = { .kind = TOP_SEL_ALL };
	struct top_sel s = topmodel__step(m, p, &all, 1);
	CHECK(s.kind == TOP_SEL_THREAD && s.tid == 400);        /* the lowest TID */
	pid_t seen[8];
	int n = 0;
	for (; n < 8 && s.kind != TOP_SEL_ALL; n++) {
		seen[n] = s.kind == TOP_SEL_THREAD ? s.tid : -1;
		/* The live request exits, the next one starts. */
		profile__thread_exit(p, req);
		req = profile__thread(p, 100, ++req_tid, "Thread-N", "python m.py");
		profile__add(p, req, &f, 1, 0, 1);
		s = topmodel__step(m, p, &s, 1);
	}
	CHECK_INT(n, 4);                /* 400, main, burner, exited; then all */
	CHECK_INT(seen[1], 30000);
	CHECK_INT(seen[2], 30050);
	CHECK_INT(seen[3], -1);
	topmodel__free(m);
	profile__free(p);
}

static void test_reset_baseline(void)
{
	struct fx x;
	fixture(&x);
	struct topmodel *m = topmodel__new();
	topmodel__reset(m, x.p);
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__samples(m), 0);
	CHECK_INT(topmodel__nrows(m), 0);
	CHECK_INT(topmodel__busiest_thread(m), -1);
	/* New samples of an old stack and of a new one. */
	uint32_t s3[] = { x.main_, x.h };
	profile__add(x.p, x.t1, s3, 2, 0, 5);
	uint32_t s4[] = { x.main_, x.g };
	profile__add(x.p, x.t0, s4, 2, 0, 1);
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__samples(m), 6);
	CHECK_INT(topmodel__nrows(m), 3);
	const struct top_row *r = find(m, x.h);
	CHECK(r && r->own == 5 && r->total == 5);
	r = find(m, x.g);
	CHECK(r && r->own == 1);
	CHECK_INT(topmodel__busiest_thread(m), x.t1);
	CHECK_INT(topmodel__rows(m)[0].frame, x.h);
	topmodel__free(m);
	profile__free(x.p);
}

static void test_synthetic_roots(void)
{
	struct profile *p = profile__new();
	uint32_t proc = profile__frame(p, "process 7:\"python a.py\"", "", "", -1, PROF_FRAME_PROCESS);
	uint32_t a = profile__frame(p, "a", "/a.py", "a.py", 1, PROF_FRAME_PYTHON);
	uint32_t t = profile__thread(p, 7, 7, "", "python a.py");
	uint32_t s1[] = { proc, a };
	uint32_t s2[] = { proc };               /* a thread without Python frames */
	profile__add(p, t, s1, 2, 0, 2);
	profile__add(p, t, s2, 1, 0, 1);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, p, false, NULL);
	CHECK_INT(topmodel__nrows(m), 1);
	CHECK_INT(topmodel__rows(m)[0].frame, a);
	CHECK_INT(topmodel__rows(m)[0].own, 2);
	CHECK_INT(topmodel__samples(m), 3);
	topmodel__free(m);
	profile__free(p);
}

/* Many functions with falling counts, for the rendering tests. */
static struct profile *many(int n)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "MainThread", "python big.py");
	uint32_t root = profile__frame(p, "main", "/app/big.py", "big.py", 1, PROF_FRAME_PYTHON);
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "func_%02d", i);
		uint32_t s[] = { root, profile__frame(p, name, "/app/big.py", "big.py", 10 + i,
						      PROF_FRAME_PYTHON) };
		profile__add(p, t, s, 2, 0, (uint32_t)(n - i) * 10);
	}
	return p;
}

static const struct top_header base_header = {
	.cmdline = "python big.py", .python_version = "3.12.1", .samples = 100, .errors = 0,
	.thread_samples = 100, .active_samples = 100, .gil_samples = 100, .threads = 1,
	.processes = 1, .thread_label = "all (1)", .sample_s = 0.01,
};

static bool all_fit(const struct topview *v, int width)
{
	for (size_t i = 0; i < v->n; i++)
		if (topview_width(v->lines[i].text) > (size_t)width)
			return false;
	return true;
}

static void test_render_screen(void)
{
	struct profile *p = many(30);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, p, true, NULL);
	struct top_header h = base_header;
	struct topview v = { 0 };
	struct topview_opts o = { .width = 120, .height = 20, .hints = true };
	topview__render(&v, &h, m, p, &o);
	CHECK_INT(v.n, 20);
	CHECK(all_fit(&v, 120));
	CHECK_STR(v.lines[0].text, "Collecting samples from 'python big.py' (python v3.12.1)");
	CHECK_STR(v.lines[1].text, "Total Samples 100");
	CHECK_STR(v.lines[2].text, "GIL: 100.00%, Active: 100.00%, Threads: 1");
	CHECK(strstr(v.lines[3].text, "Sort: %Own") && strstr(v.lines[3].text, "by line"));
	CHECK(strstr(v.lines[5].text, "%Own   %Total   OwnTime  TotalTime  Function (filename:line)"));
	CHECK_INT(v.lines[5].style, TERM_TITLE);
	CHECK_INT(topview_width(v.lines[5].text), 120);         /* the title bar spans the width */
	/* 30 functions of 4650 samples in all; func_00 has 300: 6.45%, 3.00 s. */
	CHECK_STR(v.lines[6].text, "  6.45%    6.45%     3.00s      3.00s  func_00 (big.py:10)");
	/* Sampling behind the rate: a sample stands for more wall time. */
	struct top_header slow = base_header;
	slow.sample_s = 0.05;
	topview__render(&v, &slow, m, p, &o);
	CHECK_STR(v.lines[6].text, "  6.45%    6.45%    15.00s     15.00s  func_00 (big.py:10)");
	CHECK(strstr(v.lines[19].text, "q quit") != NULL);
	/* 20 lines - 5 header - title - footer = 13 rows: func_00 .. func_11 and main (100%) last?
	 * main has own 0, so it sorts after every function with own > 0. */
	CHECK(strstr(v.lines[18].text, "func_12 (big.py:22)") != NULL);

	/* Small widths and heights. */
	int sizes[][2] = { { 40, 10 }, { 20, 5 }, { 10, 3 }, { 5, 1 }, { 80, 7 }, { 1, 2 } };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		o.width = sizes[i][0];
		o.height = sizes[i][1];
		topview__render(&v, &h, m, p, &o);
		CHECK(v.n <= (size_t)o.height);
		CHECK(all_fit(&v, o.width));
		if (v.n != (size_t)o.height || !all_fit(&v, o.width))
			fprintf(stderr, "  at %dx%d: %zu lines\n", o.width, o.height, v.n);
	}
	/* A message on a tiny screen is kept as the last line. */
	h.message = "The program exited with status 3. Press any key to quit.";
	o.width = 200;
	o.height = 2;
	topview__render(&v, &h, m, p, &o);
	CHECK_INT(v.n, 2);
	CHECK_STR(v.lines[1].text, h.message);
	CHECK_INT(v.lines[1].style, TERM_NOTE);
	/* Error rate above 1 %, processes, paused. */
	h = base_header;
	h.errors = 5;
	h.show_processes = true;
	h.processes = 3;
	h.paused = true;
	h.gil_samples = 25;
	h.active_samples = 50;
	o.width = 120;
	o.height = 30;
	topview__render(&v, &h, m, p, &o);
	CHECK_STR(v.lines[1].text, "Total Samples 100, Errors: 4.8%");
	CHECK_STR(v.lines[2].text, "GIL: 25.00%, Active: 50.00%, Threads: 1, Processes: 3");
	/* Free-threaded targets without a GIL: no percentage of a GIL that
	 * does not exist; one such among several is counted. */
	h.nogil_processes = 3;
	topview__render(&v, &h, m, p, &o);
	CHECK_STR(v.lines[2].text, "GIL: none (free-threaded), Active: 50.00%, Threads: 1, Processes: 3");
	h.nogil_processes = 1;
	topview__render(&v, &h, m, p, &o);
	CHECK_STR(v.lines[2].text,
		  "GIL: 25.00% (1 process without one), Active: 50.00%, Threads: 1, Processes: 3");
	h.nogil_processes = 0;
	topview__render(&v, &h, m, p, &o);
	CHECK(strstr(v.lines[3].text, "PAUSED") != NULL);
	CHECK_INT(v.lines[3].style, TERM_NOTE);
	h.errors = 1;                           /* 1 of 101: not notable */
	topview__render(&v, &h, m, p, &o);
	CHECK_STR(v.lines[1].text, "Total Samples 100");
	/* A long command line is shortened in the middle; the version stays. */
	h.cmdline = "/usr/local/bin/python3.12 /srv/app/manage.py runserver --settings=app.prod 0.0.0.0:8000";
	o.width = 70;
	topview__render(&v, &h, m, p, &o);
	CHECK_STR(v.lines[0].text, "Collecting samples from '/usr/local/b...0.0.0.0:8000' (python v3.12.1)");
	CHECK_INT(topview_width(v.lines[0].text), 70);
	o.width = 0;                            /* unbounded: all of it */
	o.height = 0;
	topview__render(&v, &h, m, p, &o);
	CHECK(strstr(v.lines[0].text, "--settings=app.prod 0.0.0.0:8000' (python v3.12.1)") != NULL);
	topview__release(&v);
	topmodel__free(m);
	profile__free(p);
}

static void test_render_function_view_and_help(void)
{
	struct fx x;
	fixture(&x);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, x.p, false, NULL);
	struct top_header h = base_header;
	struct topview v = { 0 };
	struct topview_opts o = { .width = 100, .height = 20, .hints = true };
	topview__render(&v, &h, m, x.p, &o);
	CHECK(strstr(v.lines[5].text, "Function (filename)") != NULL);
	bool any_line = false;
	for (size_t i = 6; i < v.n; i++)
		any_line |= strstr(v.lines[i].text, ".py:") != NULL;
	CHECK(!any_line);
	CHECK(strstr(v.lines[6].text, "g (g.py)") != NULL);
	o.full_filenames = true;
	topview__render(&v, &h, m, x.p, &o);
	CHECK(strstr(v.lines[6].text, "g (/app/g.py)") != NULL);
	h.help = true;
	topview__render(&v, &h, m, x.p, &o);
	bool found = false;
	for (size_t i = 0; i < v.n; i++)
		found |= strstr(v.lines[i].text, "sort by %Own, %Total, OwnTime, TotalTime") != NULL;
	CHECK(found);
	CHECK_INT(v.n, 20);
	topview__release(&v);
	topmodel__free(m);
	profile__free(x.p);
}

static void test_render_unsafe_and_wide(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "", "x");
	uint32_t a = profile__frame(p, "evil\033[2J\x07name", "/a/\xff.py", "\xff.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "蛇蛇蛇蛇蛇蛇蛇蛇蛇蛇", "/a/uni_🐍.py", "uni_🐍.py", 2, PROF_FRAME_PYTHON);
	uint32_t s1[] = { a }, s2[] = { b };
	profile__add(p, t, s1, 1, 0, 2);
	profile__add(p, t, s2, 1, 0, 1);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, p, true, NULL);
	struct top_header h = base_header;
	h.cmdline = "python\n\033]0;title\007 x.py";
	struct topview v = { 0 };
	struct topview_opts o = { .width = 200, .height = 12 };
	topview__render(&v, &h, m, p, &o);
	for (size_t i = 0; i < v.n; i++)
		for (const char *c = v.lines[i].text; *c; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	CHECK(strstr(v.lines[0].text, "'python??]0;title? x.py'") != NULL);
	CHECK(strstr(v.lines[6].text, "evil?[2J?name (?.py:1)") != NULL);
	CHECK(strstr(v.lines[7].text, "蛇蛇蛇蛇蛇蛇蛇蛇蛇蛇 (uni_🐍.py:2)") != NULL);
	CHECK_INT(topview_width("蛇🐍a"), 5);
	/* Cut between wide characters: never half of one, never past the width. */
	for (int w = 39; w <= 60; w++) {
		o.width = w;
		topview__render(&v, &h, m, p, &o);
		CHECK(all_fit(&v, w));
	}
	o.width = 48;           /* 39 columns of numbers, then 9 for the name: 4 wide chars */
	topview__render(&v, &h, m, p, &o);
	CHECK(strstr(v.lines[7].text, "  蛇蛇蛇蛇") != NULL && strstr(v.lines[7].text, "蛇蛇蛇蛇蛇") == NULL);
	topview__release(&v);
	topmodel__free(m);
	profile__free(p);
}

static void test_render_plain_and_pane(void)
{
	struct profile *p = many(30);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, p, true, NULL);
	struct top_header h = base_header;
	h.timestamp = "2024-05-01 12:00:03";
	const char *pane[] = { "func_00 (big.py:10)", "    x: 1", "main (big.py:1)" };
	h.pane_title = "Thread 1 \"MainThread\" (busiest): stack and locals";
	h.pane = pane;
	h.npane = 3;
	struct topview v = { 0 };
	struct topview_opts o = { .max_rows = 10 };     /* unbounded, as --output */
	topview__render(&v, &h, m, p, &o);
	CHECK_STR(v.lines[1].text, "Time: 2024-05-01 12:00:03");
	/* 6 header lines, title, 10 rows, "... 21 more rows", blank, pane title, 3 pane lines */
	CHECK_INT(v.n, 6 + 1 + 10 + 1 + 1 + 1 + 3);
	CHECK_STR(v.lines[17].text, "... 21 more rows");
	CHECK_STR(v.lines[19].text, h.pane_title);
	CHECK_STR(v.lines[22].text, "main (big.py:1)");
	for (size_t i = 0; i < v.n; i++)
		CHECK(strchr(v.lines[i].text, '\033') == NULL);
	FILE *f = tmpfile();
	CHECK(f && topview__write(&v, f) == 0);
	if (f) {
		long size = ftell(f);
		CHECK(size > 500);
		fclose(f);
	}
	/* On a screen the pane takes at most half of what is below the header. */
	o = (struct topview_opts){ .width = 80, .height = 24, .hints = true };
	topview__render(&v, &h, m, p, &o);
	CHECK_INT(v.n, 24);
	bool title = false;
	for (size_t i = 0; i < v.n; i++)
		title |= strcmp(v.lines[i].text, h.pane_title) == 0;
	CHECK(title);
	CHECK_STR(v.lines[22].text, "main (big.py:1)");
	topview__release(&v);
	topmodel__free(m);
	profile__free(p);
}

/* The fixture's stacks with a split and bytes: s1 (g, 3 samples) 2 python
 * 1 system, grew 3 MiB; s2 (f:12, 1) native, grew 1 KiB and shrank 4 KiB;
 * s3 (h, 2, thread 1) 1 native (1 idle), grew 10 MiB. */
static void split_memory(struct fx *x)
{
	fixture(x);
	profile__set_meta(x->p, &(struct prof_meta){ .classified = true, .memory = true });
	uint32_t s1[] = { x->main_, x->f10, x->f10, x->f12, x->g };
	uint32_t s2[] = { x->main_, x->f12 };
	uint32_t s3[] = { x->main_, x->h };
	uint32_t a = profile__stack_find(x->p, x->t0, s1, 5), b = profile__stack_find(x->p, x->t0, s2, 2);
	uint32_t c = profile__stack_find(x->p, x->t1, s3, 2);
	CHECK(a != PROFILE_NO_STACK && b != PROFILE_NO_STACK && c != PROFILE_NO_STACK);
	profile__add_class(x->p, a, PROF_CLASS_PYTHON, 2);
	profile__add_class(x->p, a, PROF_CLASS_SYSTEM, 1);
	profile__add_class(x->p, b, PROF_CLASS_NATIVE, 1);
	profile__add_class(x->p, c, PROF_CLASS_NATIVE, 1);
	profile__add_memory(x->p, a, 3 << 20);
	profile__add_memory(x->p, b, 1024);
	profile__add_memory(x->p, b, -4096);
	profile__add_memory(x->p, c, 10 << 20);
}

static void test_split_and_memory(void)
{
	struct fx x;
	split_memory(&x);
	struct topmodel *m = topmodel__new();
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__class_samples(m, PROF_CLASS_PYTHON), 2);
	CHECK_INT(topmodel__class_samples(m, PROF_CLASS_NATIVE), 2);
	CHECK_INT(topmodel__class_samples(m, PROF_CLASS_SYSTEM), 1);
	uint64_t grow, shrink;
	topmodel__memory(m, &grow, &shrink);
	CHECK_INT(grow, (3 << 20) + 1024 + (10 << 20));
	CHECK_INT(shrink, 4096);
	const struct top_row *r = find(m, x.g);
	CHECK(r && r->cls[0] == 2 && r->cls[1] == 0 && r->cls[2] == 1);
	CHECK(r && r->mem_own == 3 << 20 && r->mem_total == 3 << 20);
	r = find(m, x.f12);             /* own: s2; total: s1 and s2 */
	CHECK(r && r->cls[1] == 1 && r->mem_own == 1024 && r->mem_total == (3 << 20) + 1024);
	r = find(m, x.main_);
	CHECK(r && r->mem_own == 0 && r->mem_total == grow);
	topmodel__sort(m, TOP_SORT_MEM_OWN);
	CHECK_INT(topmodel__rows(m)[0].frame, x.h);     /* 10 MiB */
	CHECK_INT(topmodel__rows(m)[1].frame, x.g);     /* 3 MiB */
	topmodel__sort(m, TOP_SORT_MEM_TOTAL);
	CHECK_INT(topmodel__rows(m)[0].frame, x.main_);
	/* the screen: the split in the header, the columns */
	struct top_header h = base_header;
	struct topview v = { 0 };
	struct topview_opts o = { .width = 0 };
	topmodel__sort(m, TOP_SORT_OWN);
	topview__render(&v, &h, m, x.p, &o);
	bool split = false, mem = false, title = false, row = false;
	for (size_t i = 0; i < v.n; i++) {
		split |= strcmp(v.lines[i].text, "Split: python 33.33%, native 33.33%, system 16.67% "
				"(of 6 samples)") == 0;
		mem |= strstr(v.lines[i].text, "Memory: grown 13.0M (13632512 bytes), shrunk 4.0K") != NULL;
		title |= strstr(v.lines[i].text, "TotalTime   %Py  %Nat  %Sys  MemOwn MemTotal  Function") != NULL;
		/* g: 3 own samples, 67 % python, 0 native, 33 % system, 3 MiB */
		row |= strstr(v.lines[i].text, "s   67%    0%   33%    3.0M     3.0M  g (g.py:5)") != NULL;
	}
	bool dash = false;      /* main: no own samples, no split */
	for (size_t i = 0; i < v.n; i++)
		dash |= strstr(v.lines[i].text, "s     -     -     -      0B") != NULL &&
			strstr(v.lines[i].text, "main (m.py:3)") != NULL;
	CHECK(dash);
	CHECK(split);
	CHECK(mem);
	CHECK(title);
	CHECK(row);
	/* a reset: only what comes after counts, bytes too */
	topmodel__reset(m, x.p);
	uint32_t s3[] = { x.main_, x.h };
	uint32_t c = profile__add(x.p, x.t1, s3, 2, 0, 1);
	profile__add_class(x.p, c, PROF_CLASS_SYSTEM, 1);
	profile__add_memory(x.p, c, 4096);
	topmodel__update(m, x.p, true, NULL);
	CHECK_INT(topmodel__samples(m), 1);
	CHECK_INT(topmodel__class_samples(m, PROF_CLASS_SYSTEM), 1);
	CHECK_INT(topmodel__class_samples(m, PROF_CLASS_NATIVE), 0);
	topmodel__memory(m, &grow, &shrink);
	CHECK_INT(grow, 4096);
	CHECK_INT(shrink, 0);
	r = find(m, x.h);
	CHECK(r && r->mem_own == 4096 && r->cls[2] == 1 && topmodel__nrows(m) == 2);
	/* the split's columns stay after a reset, before any new classified
	 * sample, also when the meta does not say classified */
	profile__set_meta(x.p, &(struct prof_meta){ .memory = true });
	topmodel__reset(m, x.p);
	topmodel__update(m, x.p, true, NULL);
	CHECK(topmodel__classified(m) && topmodel__samples(m) == 0);
	topview__render(&v, &h, m, x.p, &o);
	bool cols = false;
	for (size_t i = 0; i < v.n; i++)
		cols |= strstr(v.lines[i].text, "%Py  %Nat  %Sys") != NULL;
	CHECK(cols);
	struct topmodel *fresh = topmodel__new();
	struct fx y;
	fixture(&y);
	topmodel__update(fresh, y.p, true, NULL);
	CHECK(!topmodel__classified(fresh));
	topmodel__free(fresh);
	profile__free(y.p);
	topview__release(&v);
	topmodel__free(m);
	profile__free(x.p);
}

int main(void)
{
	TEST_RUN(test_own_total_by_line);
	TEST_RUN(test_by_function);
	TEST_RUN(test_sort_keys);
	TEST_RUN(test_thread_filter);
	TEST_RUN(test_thread_cycle);
	TEST_RUN(test_thread_cycle_churn);
	TEST_RUN(test_reset_baseline);
	TEST_RUN(test_synthetic_roots);
	TEST_RUN(test_render_screen);
	TEST_RUN(test_render_function_view_and_help);
	TEST_RUN(test_render_unsafe_and_wide);
	TEST_RUN(test_render_plain_and_pane);
	TEST_RUN(test_split_and_memory);
	return TEST_REPORT();
}
