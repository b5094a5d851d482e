/* SPDX-License-Identifier: MIT
 *
 * Unit tests of the HTML report writer (writers/html.h) on profiles built
 * here: hostile frame names, thread names and source text (markup,
 * "</script>", "<!--", "&", U+2028/U+2029, invalid UTF-8) never appear raw
 * in the data element, whose escapes the test undoes to find them again;
 * exactly two "</script>" in the file; a diff profile carries its base
 * counts; a full disk (/dev/full) is -EIO; the writer table's entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "harness.h"
#include "writers/html.h"
#include "writers/writer.h"

static char *render(const struct profile *p, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*err = html_write(f, p, NULL);
	fclose(f);
	return buf;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *c = s; (c = strstr(c, what)) != NULL; c++)
		n++;
	return n;
}

/* The data element's text, or NULL. */
static char *data_of(const char *html)
{
	const char *open = "<script id=\"cspy-data\" type=\"application/json\">";
	const char *a = strstr(html, open);
	if (!a)
		return NULL;
	a += strlen(open);
	const char *b = strstr(a, "</script>");
	return b ? strndup(a, (size_t)(b - a)) : NULL;
}

static struct profile *hostile(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "</script><script>alert(1)</script>", "cmd & <b>");
	uint32_t f[] = {
		profile__frame(p, "<img src=x onerror=alert(2)>", "/a/<x>.py", "<x>.py", 3, PROF_FRAME_PYTHON),
		profile__frame(p, "<!-- \xe2\x80\xa8 \xe2\x80\xa9 bad \xff & end", "/a/b.py", "b.py", 4,
			       PROF_FRAME_PYTHON),
	};
	profile__add(p, t, f, 2, 0, 5);
	const char text[] = "x = '</script><script>alert(3)</script>'\n<!--\n\xff\xfe\0nul\n";
	profile__set_source(p, "/a/b.py", text, sizeof(text) - 1, NULL);
	profile__set_source(p, "/a/<x>.py", NULL, 0, "not found <here>");
	struct prof_meta m = { .title = "</title><script>alert(4)</script>", .command_line = "" };
	profile__set_meta(p, &m);
	return p;
}

static void test_hostile(void)
{
	struct profile *p = hostile();
	int err;
	char *html = render(p, &err);
	CHECK_INT(err, 0);
	CHECK_INT(count(html, "</script>"), 2);
	CHECK_INT(count(html, "<script"), 2);
	CHECK_INT(count(html, "<!--"), 0);     /* nor in the page's own script and style */
	char *data = data_of(html);
	CHECK(data != NULL);
	if (data) {
		CHECK(!strchr(data, '<') && !strchr(data, '>') && !strchr(data, '&'));
		CHECK(!strstr(data, "\xe2\x80\xa8") && !strstr(data, "\xe2\x80\xa9"));
		CHECK(!strstr(data, "\xff"));
		CHECK(strstr(data, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)") != NULL);
		CHECK(strstr(data, "\\u003cimg src=x onerror=alert(2)\\u003e") != NULL);
		CHECK(strstr(data, "\\u003c!-- \\u2028 \\u2029 bad \\ufffd \\u0026 end") != NULL);
		CHECK(strstr(data, "x = '\\u003c/script\\u003e") != NULL);
		CHECK(strstr(data, "\\u0000nul") != NULL);
		CHECK(strstr(data, "\"not found \\u003chere\\u003e\"") != NULL);
		CHECK(strstr(data, "\"diff\":false") != NULL);
	}
	free(data);
	free(html);
	profile__free(p);
}

static void test_diff(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "MainThread", "");
	uint32_t a = profile__frame(p, "a", "/a.py", "a.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "b", "/a.py", "a.py", 2, PROF_FRAME_PYTHON);
	profile__add(p, t, &a, 1, 0, 3);
	profile__add_base(p, t, &a, 1, 1);
	profile__add_base(p, t, &b, 1, 7);     /* only the base had it */
	struct prof_meta m = { .title = "d", .diff = true };
	profile__set_meta(p, &m);
	int err;
	char *html = render(p, &err);
	CHECK_INT(err, 0);
	char *data = data_of(html);
	CHECK(data && strstr(data, "\"diff\":true") && strstr(data, "\"base_total\":8"));
	CHECK(data && strstr(data, "[0,3,1,0]") && strstr(data, "[0,0,7,1]"));
	free(data);
	free(html);
	profile__free(p);
}

static void test_full_disk(void)
{
	struct profile *p = hostile();
	FILE *f = fopen("/dev/full", "w");
	if (!f) {
		TEST_SKIP("no /dev/full");
		profile__free(p);
		return;
	}
	CHECK_INT(html_write(f, p, NULL), -EIO);
	fclose(f);
	profile__free(p);
}

/* The writer table: -f html, .html and .htm (also gzip'd) choose it; it
 * shows sources and diffs, and so does json's sources. */
static void test_table(void)
{
	const struct writer *w = NULL;
	CHECK_INT(writer_choose(NULL, "p.html", &w), 0);
	CHECK_STR(w->name, "html");
	CHECK_INT(writer_choose(NULL, "p.htm", &w), 0);
	CHECK_STR(w->name, "html");
	CHECK_INT(writer_choose(NULL, "p.html.gz", &w), 0);
	CHECK_STR(w->name, "html");
	CHECK_INT(writer_choose("HTML", NULL, &w), 0);
	CHECK(w->sources && w->diff && !w->timeline);
	CHECK(writer_find("json")->sources && !writer_find("flamegraph")->sources);
	CHECK(strstr(writer_names(), "html") && strstr(writer_endings(), ".htm,"));
}


/* The split and --memory: "classes" and "memory" beside "stacks", one entry
 * per stack in the same order; neither without the meta's flags. */
static void test_split_memory(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "MainThread", "");
	uint32_t a = profile__frame(p, "a", "/t.py", "t.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "b", "/t.py", "t.py", 2, PROF_FRAME_PYTHON);
	uint32_t s2[] = { a, b };
	uint32_t i1 = profile__add(p, t, &a, 1, 0, 3), i2 = profile__add(p, t, s2, 2, 0, 2);
	profile__add_class(p, i1, PROF_CLASS_NATIVE, 3);
	profile__add_class(p, i2, PROF_CLASS_PYTHON, 1);
	profile__add_memory(p, i2, 4096);
	profile__add_memory(p, i1, -10);
	int err;
	char *html = render(p, &err), *data = html ? data_of(html) : NULL;
	CHECK(err == 0 && data && strstr(data, "\"classified\":false,\"memory\":false") &&
	      !strstr(data, "\"classes\":") && !strstr(data, "\"memory\":["));
	free(data);
	free(html);
	profile__set_meta(p, &(struct prof_meta){ .title = "t", .classified = true, .memory = true });
	html = render(p, &err);
	data = html ? data_of(html) : NULL;
	CHECK(err == 0 && data);
	if (data) {
		CHECK(strstr(data, "\"classified\":true,\"memory\":true"));
		CHECK(strstr(data, "\"stacks\":[[0,3,0,0],[0,2,0,0,1]],\"classes\":[[0,3,0],[1,0,0]],"
			      "\"memory\":[[0,10],[4096,0]]"));
	}
	free(data);
	free(html);
	profile__free(p);
}

int main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_hostile);
	TEST_RUN(test_split_memory);
	TEST_RUN(test_diff);
	TEST_RUN(test_full_disk);
	return TEST_REPORT();
}
