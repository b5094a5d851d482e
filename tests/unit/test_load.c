/* SPDX-License-Identifier: MIT
 *
 * Unit tests of agg/load (reading a saved profile back): a profile written
 * by the JSON writer reads back to the same profile (frames, threads, lanes,
 * stacks, meta, sources, diff base counts), plain and gzip'd; and broken or
 * hostile files (truncated, not JSON, not cspy's, indexes out of range,
 * wrong types, huge numbers, a cut gzip stream) are refused with a message,
 * never read past an array.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"

#include "agg/load.h"
#include "agg/profile.h"
#include "writers/profjson.h"

static char dir[] = "/tmp/cspy-test-load-XXXXXX";

static char *path_of(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static void write_text(const char *name, const char *text, size_t n)
{
	FILE *f = fopen(path_of(name), "w");
	fwrite(text, 1, n, f);
	fclose(f);
}

static struct profile *sample_profile(void)
{
	struct profile *p = profile__new();
	struct prof_meta m = { .title = "python3 app.py", .command_line = "python3 app.py",
			       .python_version = "3.12.1", .rate_hz = 100, .start_unix_ns = 1,
			       .duration_ns = 2000000000, .samples = 200, .errors = 3, .ticks = 200,
			       .idle_included = true, .native = true, .classified = true,
			       .memory = true };
	profile__set_meta(p, &m);
	uint32_t a = profile__frame(p, "<module>", "/src/app.py", "app.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "work <\"&>", "/src/app.py", "app.py", 7, PROF_FRAME_PYTHON);
	uint32_t c = profile__frame(p, "memcpy", "/lib/libc.so.6", "libc.so.6", -1, PROF_FRAME_NATIVE);
	uint32_t t1 = profile__thread(p, 10, 10, "MainThread", "python3 app.py");
	uint32_t t2 = profile__thread(p, 10, 11, "Thread-1 (worker)", "python3 app.py");
	profile__thread_set_ns_tid(p, t2, 3);
	uint32_t s1[] = { a, b }, s2[] = { a, b, c };
	uint32_t sid = profile__add(p, t1, s1, 2, 0, 50);
	profile__add_class(p, sid, PROF_CLASS_PYTHON, 30);
	profile__add_class(p, sid, PROF_CLASS_SYSTEM, 20);
	profile__add_memory(p, sid, 1 << 20);
	profile__add_memory(p, sid, -4096);
	sid = profile__add(p, t2, s2, 3, 0, 7);
	profile__add_class(p, sid, PROF_CLASS_NATIVE, 7);
	profile__add(p, t2, s1, 2, 0, 1);
	profile__thread_exit(p, t2);    /* a lane of one exited thread */
	profile__set_source(p, "/src/app.py", "def work():\n    pass\n", 21, NULL);
	profile__set_source(p, "/gone.py", NULL, 0, "not found");
	return p;
}

static void save(const struct profile *p, const char *name)
{
	FILE *f = fopen(path_of(name), "w");
	CHECK(profjson_write(f, p, NULL) == 0);
	fclose(f);
}

/* The JSON of p, as a string to compare. */
static char *json_of(const struct profile *p)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	profjson_write(f, p, NULL);
	fclose(f);
	return buf;
}

static void test_round_trip(void)
{
	struct profile *p = sample_profile();
	save(p, "p.json");
	struct profile *q = NULL;
	char err[256] = "";
	CHECK_INT(profile_load(path_of("p.json"), &q, err, sizeof(err)), 0);
	if (!q) {
		fprintf(stderr, "  %s\n", err);
		profile__free(p);
		return;
	}
	char *a = json_of(p), *b = json_of(q);
	CHECK_STR(a, b);
	CHECK_INT(profile__total(q), 58);
	CHECK_INT(profile__nthreads(q), 2);
	CHECK_INT(profile__thread_at(q, 1)->exited, 1);
	CHECK_INT(profile__thread_at(q, 1)->tid, 0);
	free(a);
	free(b);
	profile__free(q);

	/* gzip'd */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "gzip -c %s > %s", path_of("p.json"), path_of("p.json.gz"));
	CHECK(system(cmd) == 0);
	q = NULL;
	CHECK_INT(profile_load(path_of("p.json.gz"), &q, err, sizeof(err)), 0);
	CHECK(q && profile__total(q) == 58);
	profile__free(q);
	profile__free(p);
}

static void test_sources(void)
{
	const char doc[] = "{\"cspy\":{\"format_version\":1},\"meta\":{},\"frames\":[],"
		"\"threads\":[],\"stacks\":[],\"sources\":[{\"filename\":\"/src/app.py\","
		"\"text\":\"def work():\\n\\u0000x\"},{\"filename\":\"/gone.py\",\"error\":\"not found\"}]}";
	write_text("s.json", doc, sizeof(doc) - 1);
	struct profile *q = NULL;
	char err[256] = "";
	CHECK_INT(profile_load(path_of("s.json"), &q, err, sizeof(err)), 0);
	if (!q) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	const struct prof_source *s = profile__source(q, "/src/app.py");
	CHECK(s && s->len == 14 && memcmp(s->text, "def work():\n\0x", 14) == 0);
	s = profile__source(q, "/gone.py");
	CHECK(s && !s->text && s->error && strcmp(s->error, "not found") == 0);
	CHECK_INT(profile__nsources(q), 2);
	CHECK_INT(profile__source_bytes(q), 14);
	profile__free(q);
}

static void test_diff_base(void)
{
	struct profile *p = profile__new();
	struct prof_meta m = { .diff = true };
	profile__set_meta(p, &m);
	uint32_t a = profile__frame(p, "a", "a.py", "a.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "b", "a.py", "a.py", 2, PROF_FRAME_PYTHON);
	uint32_t t = profile__thread(p, 0, 1, "all", "");
	uint32_t sa[] = { a }, sb[] = { a, b };
	profile__add(p, t, sa, 1, 0, 5);
	profile__add_base(p, t, sa, 1, 9);
	profile__add_base(p, t, sb, 2, 4);     /* only the base had it */
	char *buf = json_of(p);
	/* The writer does not write base counts yet (the diff writer's job):
	 * put them in by hand, as the diff JSON carries them. */
	const char *doc = "{\"cspy\":{\"version\":\"x\",\"format_version\":1},\"meta\":{\"diff\":true},"
		"\"frames\":[{\"name\":\"a\",\"filename\":\"a.py\",\"short_filename\":\"a.py\",\"line\":1,"
		"\"kind\":\"python\"},{\"name\":\"b\",\"filename\":\"a.py\",\"short_filename\":\"a.py\","
		"\"line\":2,\"kind\":\"python\"}],\"threads\":[{\"pid\":0,\"tid\":1,\"name\":\"all\"}],"
		"\"stacks\":[{\"thread\":0,\"frames\":[0],\"count\":5,\"base\":9},"
		"{\"thread\":0,\"frames\":[0,1],\"count\":0,\"base\":4}]}";
	write_text("d.json", doc, strlen(doc));
	struct profile *q = NULL;
	char err[256] = "";
	CHECK_INT(profile_load(path_of("d.json"), &q, err, sizeof(err)), 0);
	if (q) {
		CHECK(profile__meta(q)->diff);
		CHECK_INT(profile__total(q), 5);
		CHECK_INT(profile__base_total(q), 13);
		uint64_t base0 = 0;
		for (size_t i = 0; i < profile__nstacks(q); i++)
			if (profile__stack_at(q, i)->n == 2)
				base0 = profile__stack_at(q, i)->base;
		CHECK_INT(base0, 4);
	}
	free(buf);
	profile__free(q);
	profile__free(p);
}

/* Each must be refused with -EINVAL and a message containing want. */
static void refused(const char *what, const char *text, size_t n, const char *want)
{
	write_text("bad.json", text, n);
	struct profile *q = NULL;
	char err[256] = "";
	int r = profile_load(path_of("bad.json"), &q, err, sizeof(err));
	if (r != -EINVAL || q || !strstr(err, want)) {
		fprintf(stderr, "  FAIL %s: %d, \"%s\" (want \"%s\")\n", what, r, err, want);
		harness_cur_failed = 1;
	}
	profile__free(q);
}

#define HDR "{\"cspy\":{\"format_version\":1},\"meta\":{},"
#define FRAME "{\"name\":\"a\",\"kind\":\"python\"}"

static void test_refused(void)
{
	refused("empty", "", 0, "empty");
	refused("not JSON", "hello", 5, "not JSON");
	refused("speedscope", "{\"$schema\":\"x\"}", 15, "not a cspy profile");
	refused("version 2", "{\"cspy\":{\"format_version\":2}}", 29, "format_version 2");
	const char *trunc = HDR "\"frames\":[" FRAME;
	refused("truncated", trunc, strlen(trunc), "not JSON");
	const char *s;
	s = HDR "\"frames\":[" FRAME "],\"threads\":[{\"pid\":1,\"tid\":1}],"
		"\"stacks\":[{\"thread\":0,\"frames\":[1],\"count\":1}]}";
	refused("frame index", s, strlen(s), "frame 0 is not one of the 1 frames");
	s = HDR "\"frames\":[" FRAME "],\"threads\":[{\"pid\":1,\"tid\":1}],"
		"\"stacks\":[{\"thread\":1,\"frames\":[0],\"count\":1}]}";
	refused("thread index", s, strlen(s), "thread 1 is not one of the 1 threads");
	s = HDR "\"frames\":[" FRAME "],\"threads\":[{\"pid\":1,\"tid\":1}],"
		"\"stacks\":[{\"thread\":0,\"frames\":[-1],\"count\":1}]}";
	refused("negative frame", s, strlen(s), "is not one of");
	s = HDR "\"frames\":[" FRAME "],\"threads\":[{\"pid\":1,\"tid\":1}],"
		"\"stacks\":[{\"thread\":0,\"frames\":[\"0\"],\"count\":1}]}";
	refused("string frame", s, strlen(s), "is not one of");
	s = HDR "\"frames\":[" FRAME "],\"threads\":[{\"pid\":1,\"tid\":1}],"
		"\"stacks\":[{\"thread\":0,\"frames\":[0],\"count\":-5}]}";
	refused("negative count", s, strlen(s), "stack 0");
	s = HDR "\"frames\":[" FRAME "],\"threads\":[{\"pid\":1,\"tid\":1}],"
		"\"stacks\":[{\"thread\":0,\"frames\":[0],\"count\":1,"
		"\"classes\":{\"python\":1,\"native\":1}}]}";
	refused("classes past count", s, strlen(s), "\"classes\"");
	s = HDR "\"frames\":[" FRAME "],\"threads\":[{\"pid\":1,\"tid\":1}],"
		"\"stacks\":[{\"thread\":0,\"frames\":[0],\"count\":1,\"memory\":{\"grow\":-1}}]}";
	refused("negative memory", s, strlen(s), "\"memory\"");
	s = HDR "\"frames\":[{\"name\":\"a\",\"kind\":\"martian\"}]}";
	refused("kind", s, strlen(s), "unknown \"kind\"");
	s = HDR "\"frames\":[{\"name\":\"a\",\"kind\":\"python\",\"line\":99999999999}]}";
	refused("line", s, strlen(s), "line");
	s = HDR "\"frames\":[],\"threads\":[{\"pid\":1,\"tid\":1},{\"pid\":1,\"tid\":1}]}";
	refused("thread twice", s, strlen(s), "appears twice");
	s = HDR "\"frames\":[],\"threads\":[{\"pid\":\"x\",\"tid\":1}]}";
	refused("pid", s, strlen(s), "thread 0");
	s = "{\"cspy\":{\"format_version\":1},\"meta\":[]}";
	refused("meta", s, strlen(s), "meta");
	s = HDR "\"frames\":[],\"threads\":[],\"stacks\":[],\"sources\":[{\"text\":\"x\"}]}";
	refused("source without name", s, strlen(s), "source 0");
	/* A gzip stream cut in the middle. */
	struct profile *p = sample_profile();
	save(p, "p.json");
	profile__free(p);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "gzip -c %s | head -c 60 > %s", path_of("p.json"), path_of("cut.gz"));
	CHECK(system(cmd) == 0);
	struct profile *q = NULL;
	char err[256] = "";
	CHECK(profile_load(path_of("cut.gz"), &q, err, sizeof(err)) < 0 && !q);
	CHECK(err[0] != '\0');
	q = NULL;
	CHECK_INT(profile_load(path_of("no-such-file.json"), &q, err, sizeof(err)), -ENOENT);
	CHECK(!q);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_round_trip);
	TEST_RUN(test_sources);
	TEST_RUN(test_diff_base);
	TEST_RUN(test_refused);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return TEST_REPORT();
}
