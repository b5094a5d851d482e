/* SPDX-License-Identifier: MIT
 *
 * agg/diff: differential profiles built from two profiles made here in C.
 * Frames of two "runs" with different ids, PIDs, TIDs, full file names and
 * native ASLR must line up by their stable identities; counts and bases
 * land on the same stacks; a profile diffed with itself changes nothing;
 * the table of largest changes ranks by the change of the own share,
 * normalised by each profile's total; hostile names stay apart. And the
 * three writers that show a diff: raw's two counts, json's base counts,
 * the flame graph's colours and tooltips; plain profiles as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/diff.h"
#include "agg/profile.h"
#include "harness.h"
#include "writers/collapsed.h"
#include "writers/flamegraph.h"
#include "writers/profjson.h"

static double absd(double v)
{
	return v < 0 ? -v : v;
}

/* A run of "app.py": main -> a (weight wa) and main -> b (weight wb), with
 * process and thread roots that carry this run's pid and tid, a native
 * frame under b (named by module+offset), and the full file name prefix. */
static struct profile *run(pid_t pid, pid_t tid, const char *prefix, uint32_t wa, uint32_t wb,
			   int line_shift)
{
	struct profile *p = profile__new();
	char file[128], proc[64], thr[64];
	snprintf(file, sizeof(file), "%s/app.py", prefix);
	snprintf(proc, sizeof(proc), "process %d:\"python app.py\"", (int)pid);
	snprintf(thr, sizeof(thr), "thread (%d): MainThread", (int)tid);
	/* interned in a different order per run, so ids differ */
	uint32_t junk = profile__frame(p, prefix, "", "", -1, PROF_FRAME_OTHER);
	(void)junk;
	uint32_t fb = profile__frame(p, "b", file, "app.py", 20 + line_shift, PROF_FRAME_PYTHON);
	uint32_t fa = profile__frame(p, "a", file, "app.py", 10 + line_shift, PROF_FRAME_PYTHON);
	uint32_t fm = profile__frame(p, "main", file, "app.py", 30 + line_shift, PROF_FRAME_PYTHON);
	uint32_t fp = profile__frame(p, proc, "", "", -1, PROF_FRAME_PROCESS);
	uint32_t ft = profile__frame(p, thr, "", "", -1, PROF_FRAME_THREAD);
	/* a native frame without a symbol: module+offset, with the module's path
	 * (which may differ) and a line that is the sampled PC's */
	uint32_t fn = profile__frame(p, "libx.so+0x1a2b", prefix, "libx.so", -1, PROF_FRAME_NATIVE);
	uint32_t fc = profile__frame(p, "compute", "/src/x.c", "x.c", 40 + line_shift,
				     PROF_FRAME_NATIVE);
	uint32_t th = profile__thread(p, pid, tid, "MainThread", "python app.py");
	uint32_t sa[] = { fp, ft, fm, fa };
	uint32_t sb[] = { fp, ft, fm, fb, fc, fn };
	profile__add(p, th, sa, 4, 0, wa);
	profile__add(p, th, sb, 6, 0, wb);
	struct prof_meta m = { .title = "python app.py", .command_line = "python app.py",
			       .samples = wa + wb };
	profile__set_meta(p, &m);
	return p;
}

/* The stack of d whose leaf frame is named leaf, or NULL. */
static const struct prof_stack *stack_by_leaf(const struct profile *d, const char *leaf)
{
	for (uint32_t i = 0; i < profile__nstacks(d); i++) {
		const struct prof_stack *st = profile__stack_at(d, i);
		if (st->n && !strcmp(profile__frame_at(d, st->frames[st->n - 1])->name, leaf))
			return st;
	}
	return NULL;
}

static const struct diff_row *row_of(const struct diff_row *r, size_t n, const char *label)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].label, label))
			return &r[i];
	return NULL;
}

static void test_lines_up(void)
{
	struct profile *base = run(100, 101, "/srv/venv1", 80, 20, 0);
	struct profile *new = run(200, 233, "/opt/venv2", 20, 80, 0);
	struct profile *d = diff_build(base, new, NULL);
	CHECK(profile__meta(d)->diff);
	CHECK_INT(profile__total(d), 100);
	CHECK_INT(profile__base_total(d), 100);
	/* two real stacks plus the two "other" roots' nothing: a and b lined up */
	const struct prof_stack *a = stack_by_leaf(d, "a");
	const struct prof_stack *b = stack_by_leaf(d, "libx.so+0x1a2b");
	CHECK(a && b);
	if (a && b) {
		CHECK_INT(a->count, 20);
		CHECK_INT(a->base, 80);
		CHECK_INT(b->count, 80);
		CHECK_INT(b->base, 20);
		CHECK_STR(profile__frame_at(d, a->frames[0])->name, "process N:\"python app.py\"");
		CHECK_STR(profile__frame_at(d, a->frames[1])->name, "thread (N): MainThread");
		/* NEW's full file name is kept */
		CHECK_STR(profile__frame_at(d, a->frames[3])->filename, "/opt/venv2/app.py");
		CHECK_INT(profile__frame_at(d, a->frames[3])->line, 10);
		/* native frames without their line */
		CHECK_INT(profile__frame_at(d, b->frames[4])->line, -1);
	}
	CHECK_INT(profile__nthreads(d), 1);
	CHECK_INT(profile__nstacks(d), 2);
	profile__free(d);

	/* the lines moved: apart by default, together with no_lines */
	struct profile *moved = run(300, 301, "/opt/venv2", 20, 80, 5);
	d = diff_build(base, moved, NULL);
	CHECK_INT(profile__nstacks(d), 4);
	profile__free(d);
	struct diff_opts o = DIFF_OPTS_DEFAULT;
	o.no_lines = true;
	o.title = "cspy diff";
	d = diff_build(base, moved, &o);
	CHECK_INT(profile__nstacks(d), 2);
	CHECK_STR(profile__meta(d)->title, "cspy diff");
	a = stack_by_leaf(d, "a");
	CHECK(a && a->count == 20 && a->base == 80);
	profile__free(d);
	profile__free(moved);
	profile__free(base);
	profile__free(new);
}

static void test_self_diff(void)
{
	struct profile *p = run(100, 101, "/x", 30, 70, 0);
	struct profile *d = diff_build(p, p, NULL);
	for (uint32_t i = 0; i < profile__nstacks(d); i++) {
		const struct prof_stack *st = profile__stack_at(d, i);
		CHECK_INT(st->count, st->base);
	}
	struct diff_row *r;
	size_t n = diff_top(d, 100, false, &r);
	CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		CHECK(r[i].self_new_share == r[i].self_base_share);
		CHECK(r[i].total_new_share == r[i].total_base_share);
	}
	diff_rows_free(r, n);
	profile__free(d);
	/* profiles with the split and --memory bytes: the diff compares
	 * samples and carries neither */
	profile__set_meta(p, &(struct prof_meta){ .title = "x", .classified = true, .memory = true });
	d = diff_build(p, p, NULL);
	CHECK(profile__meta(d)->diff && !profile__meta(d)->classified && !profile__meta(d)->memory);
	profile__free(d);
	profile__free(p);
}

static void test_top(void)
{
	/* base: 80 a / 20 b of 100; new: 40 a / 160 b of 200 (twice as long) */
	struct profile *base = run(1, 2, "/x", 80, 20, 0);
	struct profile *new = run(3, 4, "/y", 40, 160, 0);
	struct profile *d = diff_build(base, new, NULL);
	struct diff_row *r;
	size_t n = diff_top(d, 2, false, &r);
	CHECK_INT(n, 2);
	/* a: 0.8 -> 0.2 (-0.6); the leaf of b's stack is the native frame: 0.2 -> 0.8 */
	const struct diff_row *ra = row_of(r, n, "a (app.py)");
	const struct diff_row *rn = row_of(r, n, "libx.so+0x1a2b (libx.so)");
	CHECK(ra && rn);
	if (ra && rn) {
		CHECK(absd(ra->self_base_share - 0.8) < 1e-9);
		CHECK(absd(ra->self_new_share - 0.2) < 1e-9);
		CHECK(absd(rn->self_new_share - 0.8) < 1e-9);
		CHECK_INT(rn->self_new, 160);
		CHECK_INT(rn->self_base, 20);
	}
	diff_rows_free(r, n);
	n = diff_top(d, 100, false, &r);
	const struct diff_row *rm = row_of(r, n, "main (app.py)");
	const struct diff_row *rb = row_of(r, n, "b (app.py)");
	CHECK(rm && rb);
	if (rm && rb) {
		CHECK_INT(rm->total_new, 200);
		CHECK(rm->total_new_share == 1.0 && rm->total_base_share == 1.0);
		CHECK_INT(rm->self_new, 0);
		CHECK(absd(rb->total_new_share - 0.8) < 1e-9);
	}
	/* largest change first, ties by label */
	for (size_t i = 1; i < n; i++)
		CHECK(absd(r[i - 1].self_new_share - r[i - 1].self_base_share) >=
		      absd(r[i].self_new_share - r[i].self_base_share));
	diff_rows_free(r, n);
	profile__free(d);
	profile__free(base);
	profile__free(new);
}

static void test_threads(void)
{
	/* base: two workers "Thread-1 (work)", "Thread-2 (work)" and the main
	 * thread; new: one "Thread-7 (work)". Merged: one thread; matched:
	 * MainThread and "Thread-N (work)", each with its own stacks. */
	struct profile *base = profile__new(), *new = profile__new();
	uint32_t fw = profile__frame(base, "work", "/a/w.py", "w.py", 1, PROF_FRAME_PYTHON);
	uint32_t t1 = profile__thread(base, 10, 11, "Thread-1 (work)", "python w.py");
	uint32_t t2 = profile__thread(base, 10, 12, "Thread-2 (work)", "python w.py");
	uint32_t t3 = profile__thread(base, 10, 10, "MainThread", "python w.py");
	profile__add(base, t1, &fw, 1, 0, 5);
	profile__add(base, t2, &fw, 1, 0, 7);
	profile__add(base, t3, &fw, 1, 0, 1);
	uint32_t gw = profile__frame(new, "work", "/b/w.py", "w.py", 1, PROF_FRAME_PYTHON);
	uint32_t u1 = profile__thread(new, 99, 77, "Thread-7 (work)", "python w.py");
	profile__add(new, u1, &gw, 1, 0, 3);

	struct profile *d = diff_build(base, new, NULL);
	CHECK_INT(profile__nthreads(d), 1);
	CHECK_INT(profile__nstacks(d), 1);
	CHECK_INT(profile__stack_at(d, 0)->count, 3);
	CHECK_INT(profile__stack_at(d, 0)->base, 13);
	profile__free(d);

	struct diff_opts o = DIFF_OPTS_DEFAULT;
	o.threads = true;
	d = diff_build(base, new, &o);
	CHECK_INT(profile__nthreads(d), 2);
	CHECK_STR(profile__thread_at(d, 0)->name, "Thread-N (work)");
	CHECK_INT(profile__thread_at(d, 0)->pid, 1);
	CHECK_INT(profile__thread_at(d, 0)->tid, 1);
	CHECK_STR(profile__thread_at(d, 1)->name, "MainThread");
	CHECK_INT(profile__nstacks(d), 2);
	for (uint32_t i = 0; i < profile__nstacks(d); i++) {
		const struct prof_stack *st = profile__stack_at(d, i);
		if (st->thread == 0)
			CHECK(st->count == 3 && st->base == 12);
		else
			CHECK(st->count == 0 && st->base == 1);
	}
	profile__free(d);
	profile__free(base);
	profile__free(new);
}

static void test_hostile(void)
{
	/* names that would fake a key separator, or differ only after a NUL
	 * byte's place, and an empty profile on either side */
	struct profile *base = profile__new(), *new = profile__new();
	uint32_t th = profile__thread(new, 1, 1, "", "");
	uint32_t x = profile__frame(new, "f\x1f" "app.py", "", "", 1, PROF_FRAME_PYTHON);
	uint32_t y = profile__frame(new, "f", "", "\x1f" "app.py", 1, PROF_FRAME_PYTHON);
	uint32_t z = profile__frame(new, "<script>\"'&", "/\xff\xfe.py", "\xff\xfe.py", 2,
				    PROF_FRAME_PYTHON);
	profile__add(new, th, &x, 1, 0, 1);
	profile__add(new, th, &y, 1, 0, 1);
	profile__add(new, th, &z, 1, 0, 1);
	struct profile *d = diff_build(base, new, NULL);
	CHECK_INT(profile__nstacks(d), 3);
	CHECK_INT(profile__base_total(d), 0);
	struct diff_row *r;
	size_t n = diff_top(d, 10, true, &r);
	CHECK_INT(n, 3);
	diff_rows_free(r, n);
	profile__free(d);
	d = diff_build(new, base, NULL);
	CHECK_INT(profile__total(d), 0);
	CHECK_INT(profile__base_total(d), 3);
	n = diff_top(d, 10, false, &r);
	CHECK_INT(n, 3);
	for (size_t i = 0; i < n; i++)
		CHECK(r[i].self_new_share == 0);
	diff_rows_free(r, n);
	profile__free(d);
	profile__free(base);
	profile__free(new);
}


/* Run a writer into a heap string. */
static char *written(int (*w)(FILE *, const struct profile *, const void *), const struct profile *p)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	CHECK(w(f, p, NULL) == 0);
	fclose(f);
	return buf;
}

static int w_raw(FILE *f, const struct profile *p, const void *o)
{
	(void)o;
	return collapsed_write(f, p, NULL);
}

static int w_json(FILE *f, const struct profile *p, const void *o)
{
	(void)o;
	return profjson_write(f, p, NULL);
}

static int w_svg(FILE *f, const struct profile *p, const void *o)
{
	(void)o;
	return flamegraph_write(f, p, NULL);
}

static void test_writers(void)
{
	/* base 80 a / 20 b; new 20 a / 80 b, and a stack only the base has */
	struct profile *base = run(1, 2, "/x", 80, 20, 0);
	struct profile *new = run(3, 4, "/y", 20, 80, 0);
	uint32_t only = profile__frame(base, "gone", "/x/app.py", "app.py", 50, PROF_FRAME_PYTHON);
	profile__add(base, 0, &only, 1, 0, 5);
	struct profile *d = diff_build(base, new, NULL);

	char *raw = written(w_raw, d);
	CHECK(strstr(raw, "process N:\"python app.py\";thread (N): MainThread;main (app.py:30);"
		      "a (app.py:10) 80 20\n") != NULL);
	CHECK(strstr(raw, ";compute (x.c);libx.so+0x1a2b (libx.so) 20 80\n") != NULL);
	CHECK(strstr(raw, "gone (app.py:50) 5 0\n") != NULL);
	free(raw);

	char *js = written(w_json, d);
	CHECK(strstr(js, "\"native\":false,\"mode\":\"cpu\",\"exception_only\":false,\"gc_frames\":false,"
		      "\"diff\":true}") != NULL);
	CHECK(strstr(js, "\"count\":20,\"base\":80}") != NULL);
	CHECK(strstr(js, "\"count\":0,\"base\":5}") != NULL);
	free(js);

	char *svg = written(w_svg, d);
	CHECK(strstr(svg, "data-b=\"105\"") != NULL);     /* the root: BASE's total */
	CHECK(strstr(svg, "Differential: base 105, new 100") != NULL);
	/* a: 80/105 -> 20/100, the largest shrink: full blue */
	const char *a = strstr(svg, "<title>a (app.py:10) (20 samples, 20.00%; base 80 samples, 76.19%; "
			      "change -56.19%)</title>");
	CHECK(a != NULL);
	unsigned r, g, bl;
	CHECK(a && sscanf(strstr(a, "fill=\"rgb("), "fill=\"rgb(%u,%u,%u)", &r, &g, &bl) == 3 && bl > r + 100);
	const char *b = strstr(svg, "<title>b (app.py:20) (80 samples, 80.00%; base 20 samples, 19.05%; "
			      "change +60.95%)</title>");
	CHECK(b && strstr(b, "fill=\"rgb(215,48,39)\"") < strstr(b, "</g>"));
	CHECK(strstr(svg, "gone") == NULL);        /* 0 wide: not drawn */
	free(svg);

	/* a plain profile: none of it */
	svg = written(w_svg, new);
	CHECK(strstr(svg, "data-b") == NULL && strstr(svg, "Differential") == NULL);
	free(svg);
	js = written(w_json, new);
	CHECK(strstr(js, "\"diff\"") == NULL && strstr(js, "\"base\"") == NULL);
	free(js);
	raw = written(w_raw, new);
	CHECK(strstr(raw, "a (app.py:10) 20\n") != NULL);
	free(raw);

	/* a diff of a profile with itself: every frame grey */
	profile__free(d);
	d = diff_build(new, new, NULL);
	svg = written(w_svg, d);
	size_t frames = 0, grey = 0;
	*strstr(svg, "<script") = '\0';        /* the frames only, not the script's comments */
	for (const char *s = svg; (s = strstr(s, "<g data-s=")) != NULL; s++, frames++)
		grey += strstr(s, "fill=\"rgb(230,230,230)\"") < strstr(s, "</g>");
	CHECK(frames > 3);
	CHECK_INT(grey, frames - 1);    /* all but the root */
	free(svg);
	profile__free(d);
	profile__free(base);
	profile__free(new);
}

int main(void)
{
	TEST_RUN(test_lines_up);
	TEST_RUN(test_self_diff);
	TEST_RUN(test_top);
	TEST_RUN(test_threads);
	TEST_RUN(test_hostile);
	TEST_RUN(test_writers);
	return TEST_REPORT();
}
