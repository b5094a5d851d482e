/* SPDX-License-Identifier: MIT
 *
 * The speedscope, raw (collapsed), chrometrace and cspy JSON writers: exact
 * output on a small hand-built profile (two threads, a gap, a stack that
 * comes back), lanes of exited threads (merged, two tracks where their
 * threads overlapped), the empty profile, hostile names (markup, quotes, ']]>',
 * newline, ';', invalid UTF-8, control characters) checked by a strict JSON
 * parser, write errors on /dev/full, and the golden files: each
 * tests/golden/FORMAT/input.txt run through build/tools/writers_tool must
 * give tests/golden/FORMAT/expected.* byte for byte, with the version string
 * written as @VERSION@ (CSPY_UPDATE_GOLDEN=1 rewrites them). Run from the
 * repository root, as tests/run_all.sh does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "agg/profile.h"
#include "writers/chrometrace.h"
#include "writers/collapsed.h"
#include "writers/profjson.h"
#include "writers/speedscope.h"

#define MS 1000000ull

/* Two threads of process 10, rate 100 Hz (10 ms):
 *   MainThread: main;run;leaf at 0, 10 ms; main;run at 20 ms; main;run;leaf at 30 ms
 *   tid 11 (no name): main;run;leaf at 0; nothing until main;memcpy at 50, 60 ms */
static struct profile *small(void)
{
	struct profile *p = profile__new();
	uint32_t t1 = profile__thread(p, 10, 10, "MainThread", "python3 app.py");
	uint32_t t2 = profile__thread(p, 10, 11, "", "python3 app.py");
	uint32_t m = profile__frame(p, "main", "/src/app.py", "app.py", 10, PROF_FRAME_PYTHON);
	uint32_t r = profile__frame(p, "run", "/src/app.py", "app.py", 20, PROF_FRAME_PYTHON);
	uint32_t l = profile__frame(p, "leaf", "/src/calc.py", "calc.py", 5, PROF_FRAME_PYTHON);
	uint32_t c = profile__frame(p, "memcpy", "/lib/libc.so.6", "libc.so.6", -1, PROF_FRAME_NATIVE);
	uint32_t s1[] = { m, r, l }, s2[] = { m, r }, s3[] = { m, c };
	profile__add(p, t1, s1, 3, 0, 1);
	profile__add(p, t2, s1, 3, 0, 1);
	profile__add(p, t1, s1, 3, 10 * MS, 1);
	profile__add(p, t1, s2, 2, 20 * MS, 1);
	profile__add(p, t1, s1, 3, 30 * MS, 1);
	profile__add(p, t2, s3, 2, 50 * MS, 1);
	profile__add(p, t2, s3, 2, 60 * MS, 1);
	struct prof_meta meta = {
		.title = "demo", .command_line = "python3 app.py", .rate_hz = 100,
		.start_unix_ns = 1700000000123456789ull, .duration_ns = 70 * MS, .samples = 7,
		.errors = 1, .python_version = "3.12.1", .gil_only = true, .idle_included = false,
		.native = true,
	};
	profile__set_meta(p, &meta);
	return p;
}

/* Run a writer into a heap string (*len bytes); returns the writer's result. */
typedef int (*writer_fn)(FILE *f, const struct profile *p, const void *o);
static int render(writer_fn fn, const struct profile *p, const void *o, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = open_memstream(out, len);
	int rc = fn(f, p, o);
	fclose(f);
	return rc;
}

static int w_collapsed(FILE *f, const struct profile *p, const void *o) { return collapsed_write(f, p, o); }
static int w_speedscope(FILE *f, const struct profile *p, const void *o) { return speedscope_write(f, p, o); }
static int w_chrometrace(FILE *f, const struct profile *p, const void *o) { return chrometrace_write(f, p, o); }
static int w_profjson(FILE *f, const struct profile *p, const void *o) { return profjson_write(f, p, o); }

static const struct {
	const char *name;
	writer_fn fn;
	bool json;
} writers[] = {
	{ "raw", w_collapsed, false },
	{ "speedscope", w_speedscope, true },
	{ "chrometrace", w_chrometrace, true },
	{ "json", w_profjson, true },
};
#define NWRITERS (sizeof(writers) / sizeof(writers[0]))

/* ---- a strict JSON checker (RFC 8259; strings must be valid UTF-8) ---- */

struct jp {
	const unsigned char *s, *end;
	int depth;
};

static void jp_ws(struct jp *j)
{
	while (j->s < j->end && (*j->s == ' ' || *j->s == '\n' || *j->s == '\t' || *j->s == '\r'))
		j->s++;
}

static bool jp_lit(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->s) < n || memcmp(j->s, lit, n) != 0)
		return false;
	j->s += n;
	return true;
}

static bool jp_string(struct jp *j)
{
	if (j->s >= j->end || *j->s++ != '"')
		return false;
	while (j->s < j->end) {
		unsigned c = *j->s++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->s >= j->end)
				return false;
			c = *j->s++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++)
					if (j->s >= j->end || !strchr("0123456789abcdefABCDEF", *j->s++))
						return false;
			} else if (!strchr("\"\\/bfnrt", (int)c) || !c) {
				return false;
			}
		} else if (c >= 0x80) {
			int more = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 && c <= 0xdf ? 1 : -1;
			if (more < 0 || c > 0xf4)
				return false;
			for (int i = 0; i < more; i++)
				if (j->s >= j->end || (*j->s++ & 0xc0) != 0x80)
					return false;
		}
	}
	return false;
}

static bool jp_number(struct jp *j)
{
	const unsigned char *start = j->s;
	if (j->s < j->end && *j->s == '-')
		j->s++;
	if (j->s >= j->end || *j->s < '0' || *j->s > '9')
		return false;
	if (*j->s == '0')
		j->s++;
	else
		while (j->s < j->end && *j->s >= '0' && *j->s <= '9')
			j->s++;
	if (j->s < j->end && *j->s == '.') {
		j->s++;
		if (j->s >= j->end || *j->s < '0' || *j->s > '9')
			return false;
		while (j->s < j->end && *j->s >= '0' && *j->s <= '9')
			j->s++;
	}
	if (j->s < j->end && (*j->s == 'e' || *j->s == 'E')) {
		j->s++;
		if (j->s < j->end && (*j->s == '+' || *j->s == '-'))
			j->s++;
		if (j->s >= j->end || *j->s < '0' || *j->s > '9')
			return false;
		while (j->s < j->end && *j->s >= '0' && *j->s <= '9')
			j->s++;
	}
	return j->s > start;
}

static bool jp_value(struct jp *j)
{
	jp_ws(j);
	if (j->s >= j->end || ++j->depth > 200)
		return false;
	bool ok;
	unsigned char c = *j->s;
	if (c == '{' || c == '[') {
		unsigned char close = c == '{' ? '}' : ']';
		j->s++;
		jp_ws(j);
		ok = true;
		if (j->s < j->end && *j->s == close) {
			j->s++;
		} else {
			for (;;) {
				if (c == '{') {
					jp_ws(j);
					if (!jp_string(j))
						return false;
					jp_ws(j);
					if (j->s >= j->end || *j->s++ != ':')
						return false;
				}
				if (!jp_value(j))
					return false;
				jp_ws(j);
				if (j->s < j->end && *j->s == ',') {
					j->s++;
					continue;
				}
				if (j->s >= j->end || *j->s++ != close)
					return false;
				break;
			}
		}
	} else if (c == '"') {
		ok = jp_string(j);
	} else if (c == 't') {
		ok = jp_lit(j, "true");
	} else if (c == 'f') {
		ok = jp_lit(j, "false");
	} else if (c == 'n') {
		ok = jp_lit(j, "null");
	} else {
		ok = jp_number(j);
	}
	j->depth--;
	return ok;
}

static bool json_valid(const char *s, size_t n)
{
	struct jp j = { (const unsigned char *)s, (const unsigned char *)s + n, 0 };
	if (!jp_value(&j))
		return false;
	jp_ws(&j);
	return j.s == j.end;
}

static void test_json_checker(void)
{
	static const char *good[] = { "{}", "[]", "{\"a\":[1,-2.5e+3,true,false,null,\"\\u00e9\\n\"]}",
				      "\"\xc3\xa9\"", " 0 " };
	static const char *bad[] = { "{", "[1,]", "{\"a\" 1}", "\"\x01\"", "\"\xff\"", "01", "1.",
				     "\"\\x\"", "[1] 2", "{'a':1}", "\"\xc3\"" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(json_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!json_valid(bad[i], strlen(bad[i])));
}

/* ---- exact output on the small profile ---- */

static void test_collapsed_small(void)
{
	struct profile *p = small();
	char *out;
	size_t n;
	CHECK_INT(render(w_collapsed, p, NULL, &out, &n), 0);
	/* Thread 11's main;run;leaf merges with the MainThread's three. */
	CHECK_STR(out,
		  "main (app.py:10);memcpy (libc.so.6) 2\n"
		  "main (app.py:10);run (app.py:20) 1\n"
		  "main (app.py:10);run (app.py:20);leaf (calc.py:5) 4\n");
	free(out);
	struct collapsed_opts o = COLLAPSED_OPTS_DEFAULT;
	o.full_filenames = true;
	CHECK_INT(render(w_collapsed, p, &o, &out, &n), 0);
	CHECK_STR(out,
		  "main (/src/app.py:10);memcpy (/lib/libc.so.6) 2\n"
		  "main (/src/app.py:10);run (/src/app.py:20) 1\n"
		  "main (/src/app.py:10);run (/src/app.py:20);leaf (/src/calc.py:5) 4\n");
	free(out);
	profile__free(p);
}

static void test_collapsed_labels(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "T", "");
	uint32_t a = profile__frame(p, "a;b", "x;y.py", "x;y.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "two\nlines\r", "", "", -1, PROF_FRAME_PYTHON);
	uint32_t c = profile__frame(p, "Thread 1 \"T\"", "", "", -1, PROF_FRAME_THREAD);
	uint32_t d = profile__frame(p, "bad\xff", "f.py", "f.py", -1, PROF_FRAME_NATIVE);
	uint32_t s1[] = { c, a, b }, s2[] = { c, d }, s3[] = { c, a };
	profile__add(p, t, s1, 3, 0, 2);
	profile__add(p, t, s2, 2, 1, 1);
	profile__add(p, t, s3, 2, 2, 5);
	profile__add(p, t, s1, 0, 3, 7);         /* no frames: left out */
	char *out;
	size_t n;
	CHECK_INT(render(w_collapsed, p, NULL, &out, &n), 0);
	CHECK_STR(out,
		  "Thread 1 \"T\";a:b (x:y.py:1) 5\n"
		  "Thread 1 \"T\";a:b (x:y.py:1);two lines  2\n"
		  "Thread 1 \"T\";bad\xff (f.py) 1\n");
	free(out);
	profile__free(p);
}

#define V "cspy " CSPY_VERSION

static void test_speedscope_small(void)
{
	struct profile *p = small();
	char *out;
	size_t n;
	CHECK_INT(render(w_speedscope, p, NULL, &out, &n), 0);
	CHECK_STR(out,
		  "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"name\":\"demo\","
		  "\"exporter\":\"" V "\",\"activeProfileIndex\":0,\"shared\":{\"frames\":["
		  "{\"name\":\"main\",\"file\":\"app.py\",\"line\":10},"
		  "{\"name\":\"run\",\"file\":\"app.py\",\"line\":20},"
		  "{\"name\":\"leaf\",\"file\":\"calc.py\",\"line\":5},"
		  "{\"name\":\"memcpy\",\"file\":\"libc.so.6\"}]},\"profiles\":["
		  "{\"type\":\"sampled\",\"name\":\"Process 10 Thread 10 \\\"MainThread\\\"\",\"unit\":\"seconds\","
		  "\"startValue\":0,\"endValue\":0.040000000000000001,"
		  "\"samples\":[[0,1,2],[0,1],[0,1,2]],\"weights\":[0.02,0.01,0.01]},"
		  "{\"type\":\"sampled\",\"name\":\"Process 10 Thread 11\",\"unit\":\"seconds\","
		  "\"startValue\":0,\"endValue\":0.029999999999999999,"
		  "\"samples\":[[0,1,2],[0,3]],\"weights\":[0.01,0.02]}]}\n");
	free(out);

	struct speedscope_opts o = SPEEDSCOPE_OPTS_DEFAULT;
	o.unit_samples = true;
	o.full_filenames = true;
	o.title = "other title";
	CHECK_INT(render(w_speedscope, p, &o, &out, &n), 0);
	CHECK(strstr(out, "\"name\":\"other title\","));
	CHECK(strstr(out, "{\"name\":\"memcpy\",\"file\":\"/lib/libc.so.6\"}"));
	CHECK(strstr(out, "\"unit\":\"none\",\"startValue\":0,\"endValue\":4,"
			  "\"samples\":[[0,1,2],[0,1],[0,1,2]],\"weights\":[2,1,1]}"));
	CHECK(strstr(out, "\"endValue\":3,\"samples\":[[0,1,2],[0,3]],\"weights\":[1,2]}"));
	free(out);

	/* Without a known rate, weights are counts. (A fresh meta: passing
	 * profile__meta()'s own strings back to profile__set_meta() would use
	 * them after freeing them.) */
	struct prof_meta m = { .title = "demo", .rate_hz = 0 };
	profile__set_meta(p, &m);
	CHECK_INT(render(w_speedscope, p, NULL, &out, &n), 0);
	CHECK(strstr(out, "\"unit\":\"none\",\"startValue\":0,\"endValue\":4,"));
	CHECK(!strstr(out, "seconds"));
	free(out);
	profile__free(p);
}

static void test_chrometrace_small(void)
{
	struct profile *p = small();
	char *out;
	size_t n;
	CHECK_INT(render(w_chrometrace, p, NULL, &out, &n), 0);
#define EV(ph, name, file, line, cat, ts, tid) "{\"ph\":\"" ph "\",\"name\":\"" name \
	"\",\"cat\":\"" cat "\",\"args\":{\"filename\":\"" file "\",\"line\":" line "}" \
	",\"ts\":" #ts ",\"pid\":10,\"tid\":" #tid "}"
	CHECK_STR(out,
		  "{\"traceEvents\":["
		  "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":10,\"tid\":10,\"args\":{\"name\":\"python3 app.py\"}},"
		  "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":10,\"tid\":10,\"args\":{\"name\":\"MainThread\"}},"
		  "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":10,\"tid\":11,\"args\":{\"name\":\"Thread 11\"}},"
		  /* MainThread: leaf ends at 20 ms, begins again at 30 ms, all end at 40 ms */
		  EV("B", "main", "/src/app.py", "10", "python", 0, 10) ","
		  EV("B", "run", "/src/app.py", "20", "python", 0, 10) ","
		  EV("B", "leaf", "/src/calc.py", "5", "python", 0, 10) ","
		  EV("E", "leaf", "/src/calc.py", "5", "python", 20000, 10) ","
		  EV("B", "leaf", "/src/calc.py", "5", "python", 30000, 10) ","
		  EV("E", "leaf", "/src/calc.py", "5", "python", 40000, 10) ","
		  EV("E", "run", "/src/app.py", "20", "python", 40000, 10) ","
		  EV("E", "main", "/src/app.py", "10", "python", 40000, 10) ","
		  /* tid 11: a gap of 5 periods closes everything at 10 ms */
		  EV("B", "main", "/src/app.py", "10", "python", 0, 11) ","
		  EV("B", "run", "/src/app.py", "20", "python", 0, 11) ","
		  EV("B", "leaf", "/src/calc.py", "5", "python", 0, 11) ","
		  EV("E", "leaf", "/src/calc.py", "5", "python", 10000, 11) ","
		  EV("E", "run", "/src/app.py", "20", "python", 10000, 11) ","
		  EV("E", "main", "/src/app.py", "10", "python", 10000, 11) ","
		  EV("B", "main", "/src/app.py", "10", "python", 50000, 11) ","
		  EV("B", "memcpy", "/lib/libc.so.6", "null", "native", 50000, 11) ","
		  EV("E", "memcpy", "/lib/libc.so.6", "null", "native", 70000, 11) ","
		  EV("E", "main", "/src/app.py", "10", "python", 70000, 11)
		  "],\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"" V "\",\"title\":\"demo\","
		  "\"command_line\":\"python3 app.py\"}}\n");
	free(out);

	struct chrometrace_opts o = CHROMETRACE_OPTS_DEFAULT;
	o.full_filenames = true;
	CHECK_INT(render(w_chrometrace, p, &o, &out, &n), 0);
	/* Event names are the function's; args hold the full file name either way. */
	CHECK(strstr(out, "\"name\":\"memcpy\",\"cat\":\"native\",\"args\":{\"filename\":\"/lib/libc.so.6\",\"line\":null}"));
	free(out);
	profile__free(p);
}

/* Recursion changing depth: the begins move 1 us later; one missing sample
 * is bridged, two are a gap; time going back is clamped. */
static void test_chrometrace_timeline(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "T", "");
	uint32_t f = profile__frame(p, "f", "", "", -1, PROF_FRAME_PYTHON);
	uint32_t g = profile__frame(p, "g", "", "", -1, PROF_FRAME_PYTHON);
	uint32_t fgfg[] = { f, g, f, g }, fgg[] = { f, g, g }, ff[] = { f, f }, fx[] = { f };
	profile__add(p, t, fgfg, 4, 0, 1);
	profile__add(p, t, fgg, 3, 10 * MS, 1);         /* ends g,f at 10 ms; g begins at 10.001 */
	profile__add(p, t, ff, 2, 30 * MS, 1);          /* one sample missing: bridged */
	profile__add(p, t, fx, 1, 60 * MS, 1);          /* two missing: gap after 40 ms */
	profile__add(p, t, fgfg, 4, 55 * MS, 1);        /* back in time: clamped to 60 ms */
	struct prof_meta m = { .rate_hz = 100 };
	profile__set_meta(p, &m);
	char *out;
	size_t n;
	CHECK_INT(render(w_chrometrace, p, NULL, &out, &n), 0);
#undef EV
#define EV(ph, name, ts) "{\"ph\":\"" ph "\",\"name\":\"" name "\",\"cat\":\"python\",\"ts\":" #ts \
	",\"pid\":1,\"tid\":1}"
	CHECK_STR(out,
		  "{\"traceEvents\":["
		  "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"Process 1\"}},"
		  "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"T\"}},"
		  EV("B", "f", 0) "," EV("B", "g", 0) "," EV("B", "f", 0) "," EV("B", "g", 0) ","
		  EV("E", "g", 10000) "," EV("E", "f", 10000) "," EV("B", "g", 10001) ","
		  EV("E", "g", 30000) "," EV("E", "g", 30000) "," EV("B", "f", 30000) ","
		  EV("E", "f", 40000) "," EV("E", "f", 40000) ","
		  EV("B", "f", 60000) ","
		  EV("B", "g", 60000) "," EV("B", "f", 60000) "," EV("B", "g", 60000) ","
		  EV("E", "g", 65000) "," EV("E", "f", 65000) "," EV("E", "g", 65000) "," EV("E", "f", 65000)
		  "],\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"" V "\",\"title\":\"\","
		  "\"command_line\":\"\"}}\n");
	free(out);
	profile__free(p);
}

/* Three request threads of process 5 (rate 100 Hz) fold into the lane
 * "Thread-N (h)": A (0-10 ms) and B (5-15 ms) ran at the same time, C
 * (60 ms) after both; main stays a thread of its own. */
static struct profile *lanes(void)
{
	struct profile *p = profile__new();
	uint32_t m = profile__frame(p, "main", "s.py", "s.py", 1, PROF_FRAME_PYTHON);
	uint32_t h = profile__frame(p, "h", "s.py", "s.py", 2, PROF_FRAME_PYTHON);
	uint32_t mh[] = { m, h };
	uint32_t t0 = profile__thread(p, 5, 5, "MainThread", "python3 s.py");
	profile__add(p, t0, mh, 1, 0, 1);
	uint32_t a = profile__thread(p, 5, 6, "Thread-1 (h)", "python3 s.py");
	uint32_t b = profile__thread(p, 5, 7, "Thread-2 (h)", "python3 s.py");
	profile__add(p, a, mh, 2, 0, 1);
	profile__add(p, b, mh, 2, 5 * MS, 1);
	profile__add(p, a, mh, 2, 10 * MS, 1);
	profile__add(p, b, mh, 2, 15 * MS, 1);
	profile__thread_exit(p, a);
	profile__thread_exit(p, profile__thread(p, 5, 7, "", ""));
	uint32_t c = profile__thread(p, 5, 8, "Thread-3 (h)", "python3 s.py");
	profile__add(p, c, mh, 2, 60 * MS, 1);
	profile__thread_exit(p, c);
	struct prof_meta meta = { .rate_hz = 100 };
	profile__set_meta(p, &meta);
	return p;
}

static void test_lanes(void)
{
	struct profile *p = lanes();
	CHECK_INT(profile__nthreads(p), 2);
	char *out;
	size_t n;
	CHECK_INT(render(w_collapsed, p, NULL, &out, &n), 0);
	CHECK_STR(out, "main (s.py:1) 1\nmain (s.py:1);h (s.py:2) 5\n");
	free(out);
	CHECK_INT(render(w_speedscope, p, NULL, &out, &n), 0);
	CHECK(json_valid(out, n));
	CHECK(strstr(out, "\"name\":\"Process 5 \\\"Thread-N (h)\\\" (3 exited threads)\"") != NULL);
	free(out);
	CHECK_INT(render(w_profjson, p, NULL, &out, &n), 0);
	CHECK(json_valid(out, n));
	CHECK(strstr(out, "{\"pid\":5,\"tid\":0,\"name\":\"Thread-N (h)\",\"command_line\":\"python3 s.py\","
			  "\"samples\":5,\"exited\":3}") != NULL);
	CHECK(strstr(out, "\"count\":0") == NULL);       /* unused stack ids are not listed */
	free(out);
	/* Chrome: A's and B's runs overlap: two tracks; C, later, goes on with
	 * B (the lane is cut only where its time goes back). */
	CHECK_INT(render(w_chrometrace, p, NULL, &out, &n), 0);
	CHECK(json_valid(out, n));
	CHECK(strstr(out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":5,\"tid\":4194304,"
			  "\"args\":{\"name\":\"Thread-N (h) (exited threads)\"}}") != NULL);
	CHECK(strstr(out, "\"tid\":4194305,\"args\":{\"name\":\"Thread-N (h) (exited threads)\"}") != NULL);
	CHECK(strstr(out, "\"tid\":4194306") == NULL);
	CHECK(strstr(out, "\"ph\":\"B\",\"name\":\"h\",\"cat\":\"python\",\"args\":{\"filename\":\"s.py\",\"line\":2},\"ts\":60000,\"pid\":5,"
			  "\"tid\":4194305}") != NULL);
	CHECK(strstr(out, "\"ph\":\"E\",\"name\":\"h\",\"cat\":\"python\",\"args\":{\"filename\":\"s.py\",\"line\":2},\"ts\":20000,\"pid\":5,"
			  "\"tid\":4194304}") != NULL);
	CHECK(strstr(out, "\"ph\":\"B\",\"name\":\"h\",\"cat\":\"python\",\"args\":{\"filename\":\"s.py\",\"line\":2},\"ts\":5000,\"pid\":5,"
			  "\"tid\":4194305}") != NULL);
	free(out);
	profile__free(p);
}

/* Sampling that fell behind: 4 ticks in 2 s at a requested 1000 Hz. A
 * sample weighs the measured 0.5 s, not 1 ms; runs of one stack split by
 * ticks that left the thread out are one speedscope sample; speedscope
 * opens on the thread with the most samples (the second one written). */
static void test_measured_rate(void)
{
	struct profile *p = profile__new();
	uint32_t f = profile__frame(p, "f", "/a.py", "a.py", 1, PROF_FRAME_PYTHON);
	uint32_t t1 = profile__thread(p, 1, 1, "one", "x");
	uint32_t t2 = profile__thread(p, 1, 2, "two", "x");
	profile__tick(p, 0);
	profile__add(p, t1, &f, 1, 0, 1);
	for (int i = 0; i < 4; i++) {
		profile__tick(p, (uint64_t)i * 500 * MS + 1);   /* a tick without t2: a split */
		profile__tick(p, (uint64_t)i * 500 * MS + 2);
		profile__add(p, t2, &f, 1, (uint64_t)i * 500 * MS + 2, 1);
	}
	struct prof_meta meta = { .title = "t", .command_line = "x", .python_version = "",
				  .rate_hz = 1000, .duration_ns = 2000 * MS, .samples = 4, .ticks = 4 };
	profile__set_meta(p, &meta);
	CHECK(profile_sample_rate(profile__meta(p)) == 2.0);
	char *out;
	size_t n;
	CHECK_INT(render(w_speedscope, p, NULL, &out, &n), 0);
	CHECK(strstr(out, "\"activeProfileIndex\":1,") != NULL);
	CHECK(strstr(out, "\"endValue\":2,\"samples\":[[0]],\"weights\":[2]}") != NULL);
	CHECK_INT(profile__nthreads(p), 2);
	size_t nruns;
	profile__runs(p, 1, &nruns);
	CHECK_INT(nruns, 4);
	CHECK(strstr(out, "\"endValue\":0.5,") != NULL);
	free(out);
	meta.ticks = 0;         /* unknown: the requested rate */
	profile__set_meta(p, &meta);
	CHECK(profile_sample_rate(profile__meta(p)) == 1000.0);
	profile__free(p);
}

static void test_profjson_small(void)
{
	struct profile *p = small();
	char *out;
	size_t n;
	CHECK_INT(render(w_profjson, p, NULL, &out, &n), 0);
	CHECK_STR(out,
		  "{\"cspy\":{\"version\":\"" CSPY_VERSION "\",\"format_version\":1},"
		  "\"meta\":{\"title\":\"demo\",\"command_line\":\"python3 app.py\",\"python_version\":\"3.12.1\","
		  "\"rate_hz\":100,\"start_unix_ns\":1700000000123456789,\"duration_ns\":70000000,"
		  "\"samples\":7,\"errors\":1,\"ticks\":0,\"gil_only\":true,\"idle_included\":false,\"native\":true," "\"mode\":\"gil\",\"exception_only\":false,\"gc_frames\":false},"
		  "\"frames\":["
		  "{\"name\":\"main\",\"filename\":\"/src/app.py\",\"short_filename\":\"app.py\",\"line\":10,\"kind\":\"python\"},"
		  "{\"name\":\"run\",\"filename\":\"/src/app.py\",\"short_filename\":\"app.py\",\"line\":20,\"kind\":\"python\"},"
		  "{\"name\":\"leaf\",\"filename\":\"/src/calc.py\",\"short_filename\":\"calc.py\",\"line\":5,\"kind\":\"python\"},"
		  "{\"name\":\"memcpy\",\"filename\":\"/lib/libc.so.6\",\"short_filename\":\"libc.so.6\",\"line\":-1,\"kind\":\"native\"}],"
		  "\"threads\":["
		  "{\"pid\":10,\"tid\":10,\"name\":\"MainThread\",\"command_line\":\"python3 app.py\",\"samples\":4},"
		  "{\"pid\":10,\"tid\":11,\"name\":\"\",\"command_line\":\"python3 app.py\",\"samples\":3}],"
		  "\"stacks\":["
		  "{\"thread\":0,\"frames\":[0,1,2],\"count\":3},"
		  "{\"thread\":1,\"frames\":[0,1,2],\"count\":1},"
		  "{\"thread\":0,\"frames\":[0,1],\"count\":1},"
		  "{\"thread\":1,\"frames\":[0,3],\"count\":2}]}\n");
	free(out);

	struct profjson_opts o = PROFJSON_OPTS_DEFAULT;
	o.pretty = true;
	CHECK_INT(render(w_profjson, p, &o, &out, &n), 0);
	CHECK(json_valid(out, n));
	CHECK(strstr(out, "\n  \"meta\": {\n    \"title\": \"demo\",\n"));
	CHECK(n && out[n - 1] == '\n' && out[n - 2] == '}');
	free(out);
	profile__free(p);
}

/* ---- every writer: empty profile, hostile names, write errors ---- */

static void test_empty(void)
{
	struct profile *p = profile__new();
	char *out;
	size_t n;
	CHECK_INT(render(w_collapsed, p, NULL, &out, &n), 0);
	CHECK_INT(n, 0);
	free(out);
	CHECK_INT(render(w_speedscope, p, NULL, &out, &n), 0);
	CHECK_STR(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
		  "\"exporter\":\"" V "\",\"activeProfileIndex\":0,\"shared\":{\"frames\":[]},\"profiles\":[]}\n");
	free(out);
	CHECK_INT(render(w_chrometrace, p, NULL, &out, &n), 0);
	CHECK_STR(out, "{\"traceEvents\":[],\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"" V
		  "\",\"title\":\"\",\"command_line\":\"\"}}\n");
	free(out);
	CHECK_INT(render(w_profjson, p, NULL, &out, &n), 0);
	CHECK_STR(out, "{\"cspy\":{\"version\":\"" CSPY_VERSION "\",\"format_version\":1},"
		  "\"meta\":{\"title\":\"\",\"command_line\":\"\",\"python_version\":\"\",\"rate_hz\":0,"
		  "\"start_unix_ns\":0,\"duration_ns\":0,\"samples\":0,\"errors\":0,\"ticks\":0,\"gil_only\":false,"
		  "\"idle_included\":false,\"native\":false,\"mode\":\"cpu\",\"exception_only\":false," "\"gc_frames\":false},\"frames\":[],\"threads\":[],\"stacks\":[]}\n");
	free(out);

	/* A thread without samples gives no speedscope profile and no trace events. */
	profile__thread(p, 1, 1, "idle", "");
	CHECK_INT(render(w_speedscope, p, NULL, &out, &n), 0);
	CHECK(strstr(out, "\"profiles\":[]"));
	free(out);
	CHECK_INT(render(w_chrometrace, p, NULL, &out, &n), 0);
	CHECK(strstr(out, "\"traceEvents\":[]"));
	free(out);
	profile__free(p);
}

static const char *const hostile_names[] = {
	"<script>alert(1)</script>", "a & b &amp;", "\"quoted\" 'single'", "]]>", "new\nline",
	"semi;colon", "bad\xff\xfe utf8", "ctl\x01\x1b\x7f\t\r", "\xc3\xa9\xe6\xbc\xa2 \xf0\x9f\x98\x80",
	"back\\slash", "\xed\xa0\x80 surrogate", "trunc\xe2\x82",
};
#define NHOSTILE (sizeof(hostile_names) / sizeof(hostile_names[0]))

static struct profile *hostile(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 2, "Wo\"rk<er>\n\xff]]>", "python3 <x>&\"y\".py");
	uint32_t root = profile__frame(p, "<module>", "/src/ev\"il.py", "ev\"il.py", 1, PROF_FRAME_PYTHON);
	for (size_t i = 0; i < NHOSTILE; i++) {
		uint32_t fr = profile__frame(p, hostile_names[i], "/src/f;i\nle\xff.py", "f;i\nle\xff.py",
					     (int)i, PROF_FRAME_PYTHON);
		uint32_t s[] = { root, fr };
		profile__add(p, t, s, 2, i * 10 * MS, 1);
	}
	struct prof_meta m = { .title = "<t>&\"\xff\x01]]>", .command_line = "a\nb", .rate_hz = 100,
			       .python_version = "3.\xff" };
	profile__set_meta(p, &m);
	return p;
}

static void test_hostile_json(void)
{
	struct profile *p = hostile();
	for (size_t w = 0; w < NWRITERS; w++) {
		if (!writers[w].json)
			continue;
		char *out;
		size_t n;
		CHECK_INT(render(writers[w].fn, p, NULL, &out, &n), 0);
		if (!json_valid(out, n)) {
			fprintf(stderr, "  %s: invalid JSON: %s\n", writers[w].name, out);
			CHECK(!"valid JSON");
		}
		CHECK(strlen(out) == n);                         /* no NUL */
		CHECK(strstr(out, "<script>alert(1)</script>"));  /* JSON needs no HTML escaping */
		CHECK(strstr(out, "\\\"quoted\\\" 'single'"));
		CHECK(strstr(out, "new\\nline"));
		CHECK(strstr(out, "semi;colon"));
		CHECK(strstr(out, "bad\\ufffd\\ufffd utf8"));
		CHECK(strstr(out, "ctl\\u0001\\u001b\\u007f\\t\\r"));
		CHECK(strstr(out, "\xc3\xa9\xe6\xbc\xa2 \xf0\x9f\x98\x80"));
		CHECK(strstr(out, "back\\\\slash"));
		CHECK(strstr(out, "\\ufffd\\ufffd\\ufffd surrogate"));
		CHECK(strstr(out, "trunc\\ufffd\\ufffd"));
		free(out);
	}
	profile__free(p);
}

static void test_hostile_collapsed(void)
{
	struct profile *p = hostile();
	char *out;
	size_t n;
	CHECK_INT(render(w_collapsed, p, NULL, &out, &n), 0);
	/* One line per stack, each "A;B COUNT" with exactly one ';'. */
	size_t lines = 0;
	for (char *l = out; l < out + n; lines++) {
		char *nl = memchr(l, '\n', (size_t)(out + n - l));
		CHECK(nl != NULL);
		if (!nl)
			break;
		size_t semis = 0;
		for (char *c = l; c < nl; c++)
			semis += *c == ';';
		CHECK_INT(semis, 1);
		CHECK(nl - l > 2 && nl[-1] == '1' && nl[-2] == ' ');
		l = nl + 1;
	}
	CHECK_INT(lines, NHOSTILE);
	CHECK(strstr(out, "<module> (ev\"il.py:1);semi:colon (f:i le\xff.py:5) 1\n"));
	CHECK(strstr(out, ";new line (f:i le\xff.py:4) 1\n"));
	CHECK(strstr(out, ";ctl\x01\x1b\x7f\t  (f:i le\xff.py:7) 1\n"));
	free(out);
	profile__free(p);
}

static void test_dev_full(void)
{
	struct profile *p = small();
	for (size_t w = 0; w < NWRITERS; w++) {
		FILE *f = fopen("/dev/full", "w");
		CHECK(f != NULL);
		if (!f)
			continue;
		int rc = writers[w].fn(f, p, NULL);
		if (rc != -EIO)
			fprintf(stderr, "  %s on /dev/full: %d\n", writers[w].name, rc);
		CHECK_INT(rc, -EIO);
		fclose(f);
	}
	profile__free(p);
}

/* A profile with many stacks writes the same bytes twice (no hidden state)
 * and stays valid. */
static void test_many_stacks(void)
{
	struct profile *p = profile__new();
	uint32_t t[3];
	for (int i = 0; i < 3; i++)
		t[i] = profile__thread(p, 5, 5 + i, "w", "");
	uint32_t ids[8];
	char name[32];
	for (uint32_t s = 0; s < 3000; s++) {
		uint32_t v = s;
		for (int k = 0; k < 8; k++, v /= 4) {
			snprintf(name, sizeof(name), "f%d_%u", k, v % 4);
			ids[k] = profile__frame(p, name, "m.py", "m.py", k, PROF_FRAME_PYTHON);
		}
		profile__add(p, t[s % 3], ids, 3 + s % 6, s * 10 * MS, 1 + s % 5);
	}
	struct prof_meta m = { .rate_hz = 100 };
	profile__set_meta(p, &m);
	for (size_t w = 0; w < NWRITERS; w++) {
		char *a, *b;
		size_t na, nb;
		CHECK_INT(render(writers[w].fn, p, NULL, &a, &na), 0);
		CHECK_INT(render(writers[w].fn, p, NULL, &b, &nb), 0);
		CHECK(na == nb && memcmp(a, b, na) == 0);
		if (writers[w].json)
			CHECK(json_valid(a, na));
		free(a);
		free(b);
	}
	profile__free(p);
}

/* ---- golden files ---- */

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	*n = 0;
	for (;;) {
		if (*n + 65536 > cap) {
			cap = cap * 2 + 65536;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		size_t got = fread(buf + *n, 1, cap - *n, f);
		*n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[*n] = '\0';
	return buf;
}

/* Replace every "VERSION" of the output by "@VERSION@" (in a new string). */
static char *versionless(const char *s, size_t *n)
{
	const char *ver = CSPY_VERSION, *mark = "@VERSION@";
	size_t vl = strlen(ver), ml = strlen(mark), cap = *n * 2 + 16, o = 0;
	char *out = malloc(cap);
	if (!out)
		abort();
	for (size_t i = 0; i < *n;) {
		if (i + vl <= *n && memcmp(s + i, ver, vl) == 0) {
			memcpy(out + o, mark, ml);
			o += ml;
			i += vl;
		} else {
			out[o++] = s[i++];
		}
	}
	out[o] = '\0';
	*n = o;
	return out;
}

static void test_golden(void)
{
	static const struct { const char *format, *expected; } cases[] = {
		{ "speedscope", "expected.json" },
		{ "raw", "expected.txt" },
		{ "chrometrace", "expected.json" },
		{ "json", "expected.json" },
	};
	char exe[4096], tool[4200];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(len > 0);
	if (len <= 0)
		return;
	exe[len] = '\0';
	char *slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(tool, sizeof(tool), "%s/../tools/writers_tool", exe);
	if (access(tool, X_OK) != 0 || access("tests/golden", F_OK) != 0) {
		fprintf(stderr, "  golden: need %s and tests/golden/ (run from the repository root)\n", tool);
		CHECK(!"golden setup");
		return;
	}
	bool update = getenv("CSPY_UPDATE_GOLDEN") && strcmp(getenv("CSPY_UPDATE_GOLDEN"), "1") == 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[8600], path[256];
		snprintf(path, sizeof(path), "tests/golden/%s/%s", cases[i].format, cases[i].expected);
		snprintf(cmd, sizeof(cmd), "'%s' -f %s -o /dev/stdout tests/golden/%s/input.txt",
			 tool, cases[i].format, cases[i].format);
		FILE *pp = popen(cmd, "r");
		CHECK(pp != NULL);
		if (!pp)
			continue;
		char *got = NULL;
		size_t n = 0, cap = 0;
		for (;;) {
			if (n + 65536 > cap) {
				cap = cap * 2 + 65536;
				got = realloc(got, cap);
				if (!got)
					abort();
			}
			size_t r = fread(got + n, 1, cap - n, pp);
			n += r;
			if (!r)
				break;
		}
		CHECK_INT(pclose(pp), 0);
		char *norm = versionless(got, &n);
		free(got);
		if (update) {
			FILE *f = fopen(path, "wb");
			CHECK(f && fwrite(norm, 1, n, f) == n && fclose(f) == 0);
			printf("  updated %s\n", path);
		} else {
			size_t en;
			char *want = slurp(path, &en);
			bool same = want && en == n && memcmp(want, norm, n) == 0;
			if (!same) {
				fprintf(stderr, "  golden %s differs from %s (CSPY_UPDATE_GOLDEN=1 rewrites it)\n",
					cases[i].format, path);
				CHECK(!"golden output");
			}
			free(want);
		}
		free(norm);
	}
}


/* A --memory profile (meta.memory): small() with bytes on three stacks. */
static struct profile *with_memory(void)
{
	struct profile *p = small();
	struct prof_meta m = { .title = "demo", .rate_hz = 100, .memory = true };
	profile__set_meta(p, &m);
	for (uint32_t i = 0; i < profile__nstacks(p); i++) {
		const struct prof_stack *st = profile__stack_at(p, i);
		uint32_t tid = (uint32_t)profile__thread_at(p, st->thread)->tid;
		/* t10 main;run;leaf 1000, t11 main;run;leaf 24, t10 main;run: shrink 7 only,
		 * t11 main;memcpy 500 grown, 9 shrunk */
		if (st->n == 3)
			profile__add_memory(p, i, tid == 10 ? 1000 : 24);
		else if (profile__frame_at(p, st->frames[1])->kind == PROF_FRAME_NATIVE)
			profile__add_memory(p, i, 500), profile__add_memory(p, i, -9);
		else
			profile__add_memory(p, i, -7);
	}
	return p;
}

/* Collapsed stacks count bytes grown (a stack that grew nothing has no
 * line); speedscope has a growth and a shrink profile per thread in bytes
 * before the time profiles, the busiest growth one active. */
static void test_memory(void)
{
	struct profile *p = with_memory();
	char *out;
	size_t n;
	CHECK_INT(render(w_collapsed, p, NULL, &out, &n), 0);
	CHECK_STR(out,
		  "main (app.py:10);memcpy (libc.so.6) 500\n"
		  "main (app.py:10);run (app.py:20);leaf (calc.py:5) 1024\n");
	free(out);
	CHECK_INT(render(w_speedscope, p, NULL, &out, &n), 0);
	CHECK(json_valid(out, n));
	CHECK(strstr(out, "\"profiles\":[{\"type\":\"sampled\",\"name\":\"Process 10 Thread 10 "
		      "\\\"MainThread\\\" memory growth\",\"unit\":\"bytes\",\"startValue\":0,"
		      "\"endValue\":1000,\"samples\":[[0,1,2]],\"weights\":[1000]},"
		      "{\"type\":\"sampled\",\"name\":\"Process 10 Thread 10 \\\"MainThread\\\" memory shrink\","
		      "\"unit\":\"bytes\",\"startValue\":0,\"endValue\":7,\"samples\":[[0,1]],\"weights\":[7]},"
		      "{\"type\":\"sampled\",\"name\":\"Process 10 Thread 11 memory growth\",\"unit\":\"bytes\","
		      "\"startValue\":0,\"endValue\":524,\"samples\":[[0,1,2],[0,3]],\"weights\":[24,500]},"
		      "{\"type\":\"sampled\",\"name\":\"Process 10 Thread 11 memory shrink\",\"unit\":\"bytes\","
		      "\"startValue\":0,\"endValue\":9,\"samples\":[[0,3]],\"weights\":[9]},"));
	CHECK(strstr(out, "\"unit\":\"seconds\""));     /* the time profiles follow */
	CHECK(strstr(out, "]}]},\"activeProfileIndex\":0}\n") || strstr(out, ",\"activeProfileIndex\":0}\n"));
	free(out);
	/* chrometrace: a counter track per thread, its stacks' bytes shared
	 * among their runs in proportion (exact at the end). */
	CHECK_INT(render(w_chrometrace, p, NULL, &out, &n), 0);
	CHECK(json_valid(out, n));
	CHECK(strstr(out, "{\"ph\":\"C\",\"name\":\"memory (thread 10)\",\"pid\":10,\"tid\":10,\"ts\":20000,"
		      "\"args\":{\"grown\":666,\"shrunk\":0}},{\"ph\":\"C\",\"name\":\"memory (thread 10)\","
		      "\"pid\":10,\"tid\":10,\"ts\":30000,\"args\":{\"grown\":666,\"shrunk\":7}},{\"ph\":\"C\","
		      "\"name\":\"memory (thread 10)\",\"pid\":10,\"tid\":10,\"ts\":40000,"
		      "\"args\":{\"grown\":1000,\"shrunk\":7}}"));
	CHECK(strstr(out, "\"ts\":70000,\"args\":{\"grown\":524,\"shrunk\":9}}"));
	free(out);
	/* A diff of memory profiles compares samples: counts, not bytes. */
	struct prof_meta m = { .title = "demo", .rate_hz = 100, .memory = true, .diff = true };
	profile__set_meta(p, &m);
	CHECK_INT(render(w_collapsed, p, NULL, &out, &n), 0);
	CHECK(strstr(out, "main (app.py:10);run (app.py:20);leaf (calc.py:5) 0 4\n"));
	free(out);
	profile__free(p);
}

int main(void)
{
	TEST_RUN(test_json_checker);
	TEST_RUN(test_collapsed_small);
	TEST_RUN(test_collapsed_labels);
	TEST_RUN(test_speedscope_small);
	TEST_RUN(test_chrometrace_small);
	TEST_RUN(test_chrometrace_timeline);
	TEST_RUN(test_profjson_small);
	TEST_RUN(test_measured_rate);
	TEST_RUN(test_lanes);
	TEST_RUN(test_empty);
	TEST_RUN(test_hostile_json);
	TEST_RUN(test_hostile_collapsed);
	TEST_RUN(test_dev_full);
	TEST_RUN(test_many_stacks);
	TEST_RUN(test_memory);
	TEST_RUN(test_golden);
	return TEST_REPORT();
}
