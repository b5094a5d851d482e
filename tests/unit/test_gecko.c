/* SPDX-License-Identifier: MIT
 *
 * The Firefox Profiler (gecko) and pstats writers on hand-built profiles:
 * which native functions wait for the GIL; gecko's sample times (a run
 * spread over its span), the "(idle)" sample of a gap with weight 0, the
 * GIL category of frames below take_gil, a lane of exited threads whose
 * overlapping runs come out merged by time, the empty profile; pstats'
 * exact marshal bytes for a small profile (the expected bytes are what
 * Python's marshal.dumps(stats, 2) gives for the same dict), an int past
 * 2^31 as TYPE_LONG, invalid UTF-8 as U+FFFD, recursion counted once per
 * sample; write errors on /dev/full for both. The structure and the real
 * readers (every Python's pstats, CPython 3.15's gecko files) are the gecko
 * tier's (tests/e2e/gecko.py).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "agg/profile.h"
#include "writers/gecko.h"
#include "writers/pstats.h"

#define MS 1000000ull

/* The writer's output for p as a heap buffer (*len bytes, NUL-terminated). */
static char *render(int (*w)(FILE *, const struct profile *), const struct profile *p, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	CHECK(f != NULL);
	if (!f)
		return NULL;
	CHECK_INT(w(f, p), 0);
	fclose(f);
	*len = n;
	return buf;
}

static int gecko(FILE *f, const struct profile *p)
{
	return gecko_write(f, p, NULL);
}

static int pstats(FILE *f, const struct profile *p)
{
	return pstats_write(f, p, NULL);
}

static void set_meta(struct profile *p, uint64_t duration_ns)
{
	struct prof_meta m = { .title = "t", .command_line = "python3 t.py", .rate_hz = 100,
			       .start_unix_ns = 1700000000000000000ull, .duration_ns = duration_ns,
			       .python_version = "3.12.1" };
	profile__set_meta(p, &m);
}

static void test_gil_functions(void)
{
	CHECK(gecko_gil_function("take_gil"));
	CHECK(gecko_gil_function("take_gil.lto_priv.0"));
	CHECK(gecko_gil_function("drop_gil.constprop.0"));
	CHECK(gecko_gil_function("PyCOND_TIMEDWAIT"));
	CHECK(!gecko_gil_function("take_gil_x"));
	CHECK(!gecko_gil_function("PyEval_RestoreThread"));
	CHECK(!gecko_gil_function(""));
}

static void test_gecko_times_idle_gil(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 5, 5, "MainThread", "python3 t.py");
	uint32_t m = profile__frame(p, "main", "/t.py", "t.py", 1, PROF_FRAME_PYTHON);
	uint32_t tg = profile__frame(p, "take_gil", "/ceval_gil.c", "ceval_gil.c", 9, PROF_FRAME_NATIVE);
	uint32_t cw = profile__frame(p, "pthread_cond_wait", "/libc.so.6", "libc.so.6", -1, PROF_FRAME_NATIVE);
	uint32_t s1[] = { m }, s2[] = { m, tg, cw };
	/* one run of 3 samples at 0, 10, 20 ms; a gap; 2 samples at 60, 70 ms */
	profile__add(p, t, s1, 1, 0, 1);
	profile__add(p, t, s1, 1, 10 * MS, 1);
	profile__add(p, t, s1, 1, 20 * MS, 1);
	profile__add(p, t, s2, 3, 60 * MS, 1);
	profile__add(p, t, s2, 3, 70 * MS, 1);
	set_meta(p, 80 * MS);
	size_t n;
	char *out = render(gecko, p, &n);
	CHECK(out && strstr(out, "\"time\":[0,10,20,30,60,70]"));
	CHECK(out && strstr(out, "\"weight\":[1,1,1,0,1,1]"));
	/* frames: main (Python), take_gil and the wait below it (GIL), (idle) */
	CHECK(out && strstr(out, "\"category\":[1,3,3,4]"));
	CHECK(out && strstr(out, "\"isMainThread\":true"));
	CHECK(out && strstr(out, "\"preprocessedProfileVersion\":57"));
	CHECK(out && strstr(out, "\"interval\":10.000000"));
	CHECK(out && strstr(out, "\"stringArray\":[\"main\",\"t.py\",\"take_gil\",\"ceval_gil.c\","
				 "\"pthread_cond_wait\",\"libc.so.6\",\"(idle)\"]"));
	free(out);
	profile__free(p);
}

/* Two threads of one name pattern, overlapping in time, both exited: one
 * lane whose samples come out in time order. */
static void test_gecko_lane_sorted(void)
{
	struct profile *p = profile__new();
	uint32_t a = profile__thread(p, 5, 6, "Thread-1 (h)", "python3 t.py");
	uint32_t b = profile__thread(p, 5, 7, "Thread-2 (h)", "python3 t.py");
	uint32_t f = profile__frame(p, "h", "/t.py", "t.py", 3, PROF_FRAME_PYTHON);
	profile__add(p, a, &f, 1, 0, 1);
	profile__add(p, b, &f, 1, 5 * MS, 1);
	profile__add(p, a, &f, 1, 10 * MS, 1);
	profile__add(p, b, &f, 1, 15 * MS, 1);
	(void)a;
	(void)b;
	for (pid_t tid = 6; tid <= 7; tid++)
		for (uint32_t i = 0; i < profile__nthreads(p); i++)
			if (profile__thread_at(p, i)->tid == tid)
				profile__thread_exit(p, i);
	set_meta(p, 20 * MS);
	size_t n;
	char *out = render(gecko, p, &n);
	CHECK(out && strstr(out, "\"name\":\"Thread-N (h) (2 exited threads)\""));
	CHECK(out && strstr(out, "\"time\":[0,5,10,15]"));
	CHECK(out && strstr(out, "\"tid\":4194304"));
	CHECK(out && strstr(out, "\"weight\":null"));
	free(out);
	profile__free(p);
}

/* A profile without time order (what cspy report reads from cspy's JSON):
 * one sample per stack, weighing its count, the stacks one after another. */
static void test_gecko_counts_only(void)
{
	struct profile *p = profile__new();
	profile__set_keep_runs(p, false);
	uint32_t t = profile__thread(p, 5, 5, "MainThread", "");
	uint32_t a = profile__frame(p, "a", "/t.py", "t.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "b", "/t.py", "t.py", 2, PROF_FRAME_PYTHON);
	uint32_t s2[] = { a, b };
	profile__add(p, t, &a, 1, 0, 3);
	profile__add(p, t, s2, 2, 0, 1);
	set_meta(p, 40 * MS);
	size_t n;
	char *out = render(gecko, p, &n);
	CHECK(out && strstr(out, "\"stack\":[0,1],\"time\":[0,30],\"weight\":[3,1]"));
	free(out);
	profile__free(p);
}

static void test_gecko_empty(void)
{
	struct profile *p = profile__new();
	set_meta(p, 0);
	size_t n;
	char *out = render(gecko, p, &n);
	CHECK(out && strstr(out, "\"threads\":[],\"shared\":{\"stringArray\":[\"(idle)\"]}}\n"));
	free(out);
	char *ps = render(pstats, p, &n);
	CHECK(ps && n == 2 && memcmp(ps, "{0", 2) == 0);
	free(ps);
	profile__free(p);
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

static void test_pstats_bytes(void)
{
	/* marshal.dumps({('/src/app.py', 10, 'main'): (1, 3, 0.01, 0.03, {}),
	 *   ('/src/calc.py', 5, 'leaf'): (2, 2, 0.02, 0.02, {main: (2, 2, 0.02, 0.02)})}, 2) */
	static const char hex[] =
		"7b2803000000750b0000002f7372632f6170702e7079690a00000075040000006d61696e28050000"
		"0069010000006903000000677b14ae47e17a843f67b81e85eb51b89e3f7b302803000000750c0000"
		"002f7372632f63616c632e7079690500000075040000006c656166280500000069020000006902000000"
		"677b14ae47e17a943f677b14ae47e17a943f7b2803000000750b0000002f7372632f6170702e707969"
		"0a00000075040000006d61696e280400000069020000006902000000677b14ae47e17a943f677b14ae"
		"47e17a943f3030";
	size_t want_n = strlen(hex) / 2;
	unsigned char *want = malloc(want_n);
	for (size_t i = 0; i < want_n; i++)
		want[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 5, 5, "MainThread", "python3 t.py");
	uint32_t m = profile__frame(p, "main", "/src/app.py", "app.py", 10, PROF_FRAME_PYTHON);
	uint32_t l = profile__frame(p, "leaf", "/src/calc.py", "calc.py", 5, PROF_FRAME_PYTHON);
	uint32_t s1[] = { m, l }, s2[] = { m };
	profile__add(p, t, s1, 2, 0, 1);
	profile__add(p, t, s2, 1, 10 * MS, 1);
	profile__add(p, t, s1, 2, 20 * MS, 1);
	set_meta(p, 30 * MS);
	size_t n;
	char *out = render(pstats, p, &n);
	CHECK_INT(n, want_n);
	CHECK(out && n == want_n && memcmp(out, want, n) == 0);
	free(out);
	free(want);
	profile__free(p);
}

static void test_pstats_long_utf8_recursion(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 5, 5, "MainThread", "");
	uint32_t r = profile__frame(p, "r\xff", "/x.py", "x.py", 2, PROF_FRAME_PYTHON);
	uint32_t s[] = { r, r, r };
	profile__add(p, t, s, 3, 0, 3000000000u);
	set_meta(p, 10 * MS);
	size_t n;
	char *out = render(pstats, p, &n);
	/* the name: 'u', length 4, "r" U+FFFD */
	CHECK(out && memmem(out, n, "u\x04\x00\x00\x00r\xef\xbf\xbd", 9) != NULL);
	/* cc = nc = 3e9 (recursion counted once): TYPE_LONG, 3 digits of 15 bits */
	static const char big[] = "(\x05\x00\x00\x00l\x03\x00\x00\x00\x00\x5e\xa0\x65\x02\x00"
				  "l\x03\x00\x00\x00\x00\x5e\xa0\x65\x02\x00";
	CHECK(out && memmem(out, n, big, sizeof(big) - 1) != NULL);
	free(out);
	profile__free(p);
}

static void test_write_errors(void)
{
	FILE *f = fopen("/dev/full", "w");
	if (!f) {
		TEST_SKIP("no /dev/full");
		return;
	}
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 5, 5, "MainThread", "");
	uint32_t m = profile__frame(p, "main", "/t.py", "t.py", 1, PROF_FRAME_PYTHON);
	profile__add(p, t, &m, 1, 0, 1);
	set_meta(p, 10 * MS);
	CHECK_INT(gecko_write(f, p, NULL), -EIO);
	fclose(f);
	f = fopen("/dev/full", "w");
	CHECK_INT(pstats_write(f, p, NULL), -EIO);
	fclose(f);
	profile__free(p);
}


/* --memory: weightType bytes, one sample per stack that grew, weighing its
 * bytes (runs not used). */
static void test_gecko_memory(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 5, 5, "MainThread", "");
	uint32_t a = profile__frame(p, "a", "/t.py", "t.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "b", "/t.py", "t.py", 2, PROF_FRAME_PYTHON);
	uint32_t s2[] = { a, b };
	uint32_t i1 = profile__add(p, t, &a, 1, 0, 3);
	uint32_t i2 = profile__add(p, t, s2, 2, 10 * MS, 1);
	profile__add(p, t, s2, 2, 20 * MS, 1);
	profile__add_memory(p, i1, 5000000000ll);      /* more than 32 bits */
	profile__add_memory(p, i2, 7);
	struct prof_meta m = { .title = "t", .rate_hz = 100, .duration_ns = 40 * MS, .memory = true };
	profile__set_meta(p, &m);
	size_t n;
	char *out = render(gecko, p, &n);
	CHECK(out && strstr(out, "\"weightType\":\"bytes\",\"stack\":[0,1],\"time\":[0,10],"
			    "\"weight\":[5000000000,7]"));
	free(out);
	profile__free(p);
}

int main(void)
{
	TEST_RUN(test_gil_functions);
	TEST_RUN(test_gecko_times_idle_gil);
	TEST_RUN(test_gecko_lane_sorted);
	TEST_RUN(test_gecko_counts_only);
	TEST_RUN(test_gecko_memory);
	TEST_RUN(test_gecko_empty);
	TEST_RUN(test_pstats_bytes);
	TEST_RUN(test_pstats_long_utf8_recursion);
	TEST_RUN(test_write_errors);
	return TEST_REPORT();
}
