/* SPDX-License-Identifier: MIT
 *
 * The SVG flame graph writer: profiles built with profile__* calls are
 * written to a memory stream and the text is checked: one <g> per merged
 * frame with exact titles, stacks of two threads merged, hostile names
 * escaped (and a scan that every tag in the frames section is one the writer
 * makes), pruning, the empty profile, determinism, the layouts, -EIO on
 * /dev/full, a 10k-stack timing, and the golden file
 * tests/golden/flamegraph/expected.svg, from input.txt through
 * tools/writers_tool (regenerate it with CSPY_UPDATE_GOLDEN=1 when the output
 * changes on purpose, run from the repository root).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg/profile.h"
#include "harness.h"
#include "writers/flamegraph.h"

static char *render(const struct profile *p, const struct flamegraph_opts *o, int *rc)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	*rc = flamegraph_write(f, p, o);
	fclose(f);
	return buf;
}

/* Occurrences of needle in hay (a plain scan: strstr in a loop is quadratic
 * under AddressSanitizer, which measures the haystack on every call). */
static size_t count(const char *hay, const char *needle)
{
	size_t c = 0, n = strlen(needle);
	for (const char *s = hay; *s; s++)
		if (*s == needle[0] && strncmp(s, needle, n) == 0)
			c++;
	return c;
}

/* The frames section: from <g id="frames"> to the script. */
static char *frames_section(const char *svg)
{
	const char *a = strstr(svg, "<g id=\"frames\">");
	const char *b = strstr(svg, "<script");
	if (!a || !b || b < a)
		return strdup("");
	return strndup(a, (size_t)(b - a));
}

/* The number of frames drawn. */
static size_t nframes(const char *svg)
{
	char *sec = frames_section(svg);
	size_t n = count(sec, "<g data-s=");
	free(sec);
	return n;
}

/* Every '<' in the frames section opens one of the writer's own tags, and
 * every '&' starts one of the writer's entities. */
static int only_known_markup(const char *sec)
{
	static const char *tags[] = { "<g ", "<g>", "</g>", "<title>", "</title>", "<rect ",
				      "<text ", "</text>" };
	static const char *ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
	for (const char *s = sec; *s; s++) {
		size_t i, n;
		if (*s == '<') {
			for (i = 0, n = sizeof(tags) / sizeof(*tags); i < n; i++)
				if (strncmp(s, tags[i], strlen(tags[i])) == 0)
					break;
			if (i == n)
				return 0;
		} else if (*s == '&') {
			for (i = 0, n = sizeof(ents) / sizeof(*ents); i < n; i++)
				if (strncmp(s, ents[i], strlen(ents[i])) == 0)
					break;
			if (i == n)
				return 0;
		}
	}
	return 1;
}

/* Valid UTF-8 with no control character but tab and newline. */
static int clean_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		size_t len;
		uint32_t min, cp;
		if (*u < 0x80) {
			if ((*u < 0x20 && *u != '\n' && *u != '\t') || *u == 0x7f)
				return 0;
			u++;
			continue;
		}
		if (*u >= 0xc2 && *u <= 0xdf)
			len = 2, min = 0x80, cp = *u & 0x1f;
		else if (*u >= 0xe0 && *u <= 0xef)
			len = 3, min = 0x800, cp = *u & 0x0f;
		else if (*u >= 0xf0 && *u <= 0xf4)
			len = 4, min = 0x10000, cp = *u & 0x07;
		else
			return 0;
		for (size_t i = 1; i < len; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp == 0xfffe || cp == 0xffff)
			return 0;
		u += len;
	}
	return 1;
}

static uint32_t py(struct profile *p, const char *name, const char *file, int line)
{
	char full[256];
	snprintf(full, sizeof(full), "/srv/app/%s", file);
	return profile__frame(p, name, full, file, line, PROF_FRAME_PYTHON);
}

/* Two threads with overlapping stacks: 3 + 1 samples in thread 1, 2 + 4 in
 * thread 2, merged by label into all -> main -> {run -> {a, b}, load}. */
static struct profile *two_threads(void)
{
	struct profile *p = profile__new();
	uint32_t t1 = profile__thread(p, 10, 10, "MainThread", "python app.py");
	uint32_t t2 = profile__thread(p, 10, 11, "worker", "python app.py");
	uint32_t main_ = py(p, "main", "app.py", 1);
	uint32_t run = py(p, "run", "app.py", 5);
	uint32_t a = py(p, "a", "mod.py", 7);
	uint32_t b = py(p, "b", "mod.py", 9);
	uint32_t load = py(p, "load", "io.py", 3);
	uint32_t s1[] = { main_, run, a }, s2[] = { main_, load }, s3[] = { main_, run, b };
	for (int i = 0; i < 3; i++)
		profile__add(p, t1, s1, 3, (uint64_t)i, 1);
	profile__add(p, t1, s2, 2, 3, 1);
	profile__add(p, t2, s1, 3, 0, 2);
	profile__add(p, t2, s3, 3, 1, 4);
	struct prof_meta m = { .title = "python app.py --fast", .command_line = "python app.py --fast" };
	profile__set_meta(p, &m);
	return p;
}

static void test_structure(void)
{
	struct profile *p = two_threads();
	int rc;
	char *svg = render(p, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"", 36) == 0);
	CHECK(strstr(svg, "</svg>\n") && strcmp(strstr(svg, "</svg>\n"), "</svg>\n") == 0);
	/* all, main, run, a, b, load */
	CHECK_INT(nframes(svg), 6);
	CHECK(strstr(svg, "<title>all (10 samples, 100.00%)</title>"));
	CHECK(strstr(svg, "<title>main (app.py:1) (10 samples, 100.00%)</title>"));
	CHECK(strstr(svg, "<title>run (app.py:5) (9 samples, 90.00%)</title>"));
	CHECK(strstr(svg, "<title>a (mod.py:7) (5 samples, 50.00%)</title>"));
	CHECK(strstr(svg, "<title>b (mod.py:9) (4 samples, 40.00%)</title>"));
	CHECK(strstr(svg, "<title>load (io.py:3) (1 sample, 10.00%)</title>"));
	/* The title defaults to the command line; the controls are there. */
	CHECK(strstr(svg, "<title>python app.py --fast</title>"));
	CHECK(strstr(svg, ">python app.py --fast</text>"));
	CHECK(strstr(svg, "id=\"reset\""));
	CHECK(strstr(svg, "id=\"search\""));
	CHECK(strstr(svg, "id=\"matched\""));
	CHECK(strstr(svg, "id=\"details\""));
	CHECK_INT(count(svg, "<script"), 1);
	/* Sibling order is by label: load before run; a before b; offsets add up. */
	CHECK(strstr(svg, "<g data-s=\"0\" data-n=\"1\"><title>load"));
	CHECK(strstr(svg, "<g data-s=\"1\" data-n=\"9\"><title>run"));
	CHECK(strstr(svg, "<g data-s=\"1\" data-n=\"5\"><title>a "));
	CHECK(strstr(svg, "<g data-s=\"6\" data-n=\"4\"><title>b "));
	/* Root on top, full width; "run" (9/10 of 1180 px) starts after load's 118 px. */
	CHECK(strstr(svg, "<rect x=\"10\" y=\"56\" width=\"1180\" height=\"15\""));
	CHECK(strstr(svg, "<rect x=\"128\" y=\"88\" width=\"1062\" height=\"15\""));
	CHECK(clean_utf8(svg));
	char *sec = frames_section(svg);
	CHECK(only_known_markup(sec));
	free(sec);
	free(svg);

	/* Full file names, an explicit title and width. */
	struct flamegraph_opts o = FLAMEGRAPH_OPTS_DEFAULT;
	o.full_filenames = true;
	o.title = "T & <t>";
	o.width = 600;
	svg = render(p, &o, &rc);
	CHECK_INT(rc, 0);
	CHECK(strstr(svg, "<title>a (/srv/app/mod.py:7) (5 samples, 50.00%)</title>"));
	CHECK(strstr(svg, "<title>T &amp; &lt;t&gt;</title>"));
	CHECK(strstr(svg, "width=\"600\""));
	CHECK(strstr(svg, "<rect x=\"10\" y=\"56\" width=\"580\" height=\"15\""));
	free(svg);

	o.width = 10;
	svg = render(p, &o, &rc);
	CHECK_INT(rc, -EINVAL);
	free(svg);
	profile__free(p);
}

static void test_layouts(void)
{
	struct profile *p = two_threads();
	int rc;
	struct flamegraph_opts o = FLAMEGRAPH_OPTS_DEFAULT;
	o.icicle = false;
	char *svg = render(p, &o, &rc);
	CHECK_INT(rc, 0);
	/* Depth 3 (a, b) on the top row, the root at the bottom (row 3). */
	CHECK(strstr(svg, "<title>all (10 samples, 100.00%)</title><rect x=\"10\" y=\"104\""));
	CHECK(strstr(svg, "<title>a (mod.py:7) (5 samples, 50.00%)</title><rect x=\"128\" y=\"56\""));
	free(svg);

	o = FLAMEGRAPH_OPTS_DEFAULT;
	o.reverse = true;
	svg = render(p, &o, &rc);
	CHECK_INT(rc, 0);
	/* Leaf first: all -> {a, b, load} -> ... -> main. */
	CHECK(strstr(svg, "<g data-s=\"0\" data-n=\"5\"><title>a (mod.py:7) (5 samples, 50.00%)</title>"
			  "<rect x=\"10\" y=\"72\""));
	CHECK_INT(count(svg, "<title>main (app.py:1)"), 3);
	CHECK_INT(count(svg, "<title>run (app.py:5)"), 2);
	free(svg);
	profile__free(p);
}

static void test_merge_deterministic(void)
{
	/* The same samples added in another order, with frames interned in another
	 * order, and a second file with the same short name: identical bytes. */
	struct profile *p1 = two_threads();
	struct profile *p2 = profile__new();
	uint32_t t2 = profile__thread(p2, 10, 11, "worker", "python app.py");
	uint32_t t1 = profile__thread(p2, 10, 10, "MainThread", "python app.py");
	uint32_t load = py(p2, "load", "io.py", 3);
	uint32_t b = py(p2, "b", "mod.py", 9);
	uint32_t a = py(p2, "a", "mod.py", 7);
	uint32_t run = py(p2, "run", "app.py", 5);
	uint32_t main_ = py(p2, "main", "app.py", 1);
	uint32_t main2 = profile__frame(p2, "main", "/elsewhere/app.py", "app.py", 1, PROF_FRAME_PYTHON);
	uint32_t s1[] = { main_, run, a }, s2[] = { main_, load }, s3[] = { main2, run, b };
	profile__add(p2, t2, s3, 3, 0, 4);
	profile__add(p2, t1, s2, 2, 0, 1);
	profile__add(p2, t2, s1, 3, 1, 2);
	profile__add(p2, t1, s1, 3, 1, 3);
	struct prof_meta m = { .title = "python app.py --fast" };
	profile__set_meta(p2, &m);
	int rc1, rc2;
	char *x = render(p1, NULL, &rc1), *y = render(p2, NULL, &rc2);
	CHECK_INT(rc1, 0);
	CHECK_INT(rc2, 0);
	CHECK_STR(x, y);
	/* Same function name, same colour, wherever it is. */
	struct profile *p3 = profile__new();
	uint32_t t = profile__thread(p3, 1, 1, "", "");
	uint32_t f1 = py(p3, "compute", "x.py", 1), f2 = py(p3, "compute", "y.py", 2);
	uint32_t f3 = py(p3, "other", "x.py", 1);
	profile__add(p3, t, &f1, 1, 0, 1);
	profile__add(p3, t, &f2, 1, 0, 1);
	profile__add(p3, t, &f3, 1, 0, 1);
	char *z = render(p3, NULL, &rc1);
	const char *c1 = strstr(z, "compute (x.py:1) ("), *c2 = strstr(z, "compute (y.py:2) (");
	const char *c3 = strstr(z, "other (x.py:1) (");
	CHECK(c1 && c2 && c3);
	if (c1 && c2 && c3) {
		c1 = strstr(c1, "fill=");
		c2 = strstr(c2, "fill=");
		c3 = strstr(c3, "fill=");
		CHECK(strncmp(c1, c2, 22) == 0);
		CHECK(strncmp(c1, c3, 22) != 0);
	}
	free(x);
	free(y);
	free(z);
	profile__free(p1);
	profile__free(p2);
	profile__free(p3);
}

static void test_hostile_names(void)
{
	static const char *names[] = {
		"<script>alert(1)</script>", "&amp;", "\"'", "]]>", "line1\nline2",
		"bad\xff" "byte", "ctl\x01" "x", "trunc\xe2\x82", "surr\xed\xa0\x80", "</g><g>",
		"nonchar\xef\xbf\xbe", "ok \xe2\x82\xac \xf0\x9f\x94\xa5",
	};
	size_t n = sizeof(names) / sizeof(*names);
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "", "");
	for (size_t i = 0; i < n; i++) {
		uint32_t fr[2];
		fr[0] = profile__frame(p, "root", "", "", -1, PROF_FRAME_THREAD);
		fr[1] = profile__frame(p, names[i], "<f&>.py", "<f&>.py", (int)i, PROF_FRAME_PYTHON);
		profile__add(p, t, fr, 2, 0, 10);
	}
	struct prof_meta m = { .title = "python -c '</title><script>x()</script>' ]]> \x02\xff" };
	profile__set_meta(p, &m);
	int rc;
	char *svg = render(p, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(nframes(svg), (long long)n + 2);
	CHECK_INT(count(svg, "<script"), 1);
	CHECK(count(svg, "alert(1)") >= 1);      /* in the title; the text is trimmed */
	CHECK(strstr(svg, "<title>&lt;script&gt;alert(1)&lt;/script&gt; (&lt;f&amp;&gt;.py:0) (10 samples,"));
	CHECK(strstr(svg, "<title>&amp;amp; (&lt;f&amp;&gt;.py:1)"));
	CHECK(strstr(svg, "<title>&quot;&#39; (&lt;f&amp;&gt;.py:2)"));
	CHECK(strstr(svg, "<title>]]&gt; (&lt;f&amp;&gt;.py:3)"));
	CHECK(strstr(svg, "<title>line1\xef\xbf\xbdline2 ("));
	CHECK(strstr(svg, "<title>bad\xef\xbf\xbd" "byte ("));
	CHECK(strstr(svg, "<title>ctl\xef\xbf\xbdx ("));
	CHECK(strstr(svg, "<title>trunc\xef\xbf\xbd\xef\xbf\xbd ("));
	CHECK(strstr(svg, "<title>surr\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ("));
	CHECK(strstr(svg, "<title>&lt;/g&gt;&lt;g&gt; ("));
	CHECK(strstr(svg, "<title>nonchar\xef\xbf\xbd ("));
	CHECK(strstr(svg, "<title>ok \xe2\x82\xac \xf0\x9f\x94\xa5 ("));
	CHECK(strstr(svg, "<title>python -c &#39;&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;&#39; ]]&gt; "
			  "\xef\xbf\xbd\xef\xbf\xbd</title>"));
	CHECK(!strstr(svg, "<script>"));
	CHECK(!strstr(svg, "</title><script"));
	CHECK(clean_utf8(svg));
	char *sec = frames_section(svg);
	CHECK(only_known_markup(sec));
	/* The only "]]>" outside the script are the ends of the two CDATA sections. */
	CHECK_INT(count(sec, "]]>"), 0);
	free(sec);
	/* Trimmed text never cuts a UTF-8 sequence: a narrow graph. */
	struct flamegraph_opts o = FLAMEGRAPH_OPTS_DEFAULT;
	o.width = 300;
	free(svg);
	svg = render(p, &o, &rc);
	CHECK_INT(rc, 0);
	CHECK(clean_utf8(svg));
	sec = frames_section(svg);
	CHECK(only_known_markup(sec));
	free(sec);
	free(svg);
	profile__free(p);
}

static void test_prune(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "", "");
	uint32_t big[] = { py(p, "main", "m.py", 1), py(p, "big", "m.py", 2) };
	uint32_t tiny[] = { big[0], py(p, "tiny", "m.py", 3), py(p, "tinier", "m.py", 4) };
	profile__add(p, t, big, 2, 0, 100000);
	profile__add(p, t, tiny, 3, 0, 1);
	int rc;
	/* tiny: 1180 px / 100001 = 0.0118 px < 0.1 px: left out with its callee. */
	char *svg = render(p, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(nframes(svg), 3);
	CHECK(!strstr(svg, "tiny"));
	CHECK(!strstr(svg, "tinier"));
	CHECK(strstr(svg, "<title>main (m.py:1) (100001 samples, 100.00%)</title>"));
	free(svg);
	struct flamegraph_opts o = FLAMEGRAPH_OPTS_DEFAULT;
	o.min_width = 0;
	svg = render(p, &o, &rc);
	CHECK_INT(nframes(svg), 5);
	CHECK(strstr(svg, "<title>tinier (m.py:4) (1 sample, 0.00%)</title>"));
	free(svg);
	o.min_width = 0.01;
	svg = render(p, &o, &rc);
	CHECK_INT(nframes(svg), 5);
	free(svg);
	o.min_width = 2000;     /* wider than the graph: nothing left, still valid */
	svg = render(p, &o, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(nframes(svg), 0);
	CHECK(strstr(svg, "</svg>\n"));
	free(svg);
	profile__free(p);
}

static void test_empty(void)
{
	struct profile *p = profile__new();
	int rc;
	char *svg = render(p, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(strncmp(svg, "<?xml", 5) == 0);
	CHECK(strstr(svg, "No samples were collected."));
	CHECK(strstr(svg, "<title>Flame Graph</title>"));
	CHECK_INT(nframes(svg), 0);
	CHECK(strstr(svg, "</svg>\n"));
	free(svg);
	/* A thread with no samples is still empty. */
	profile__thread(p, 1, 1, "x", "");
	svg = render(p, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK(strstr(svg, "No samples were collected."));
	free(svg);
	profile__free(p);
}

static void test_io_error(void)
{
	struct profile *p = two_threads();
	FILE *f = fopen("/dev/full", "w");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(flamegraph_write(f, p, NULL), -EIO);
		fclose(f);
	}
	/* Unbuffered, so every write fails at once. */
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		CHECK_INT(flamegraph_write(f, p, NULL), -EIO);
		fclose(f);
	}
	profile__free(p);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write p to memory, print the time and size, return the seconds taken. */
static double timed(const char *what, const struct profile *p, size_t *bytes)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	double t0 = now();
	int rc = flamegraph_write(f, p, NULL);
	double t1 = now();
	fclose(f);
	CHECK_INT(rc, 0);
	printf("     %s: %zu stacks, %.1f ms, %zu bytes, %zu frames drawn\n", what,
	       profile__nstacks(p), (t1 - t0) * 1e3, n, nframes(buf));
	free(buf);
	*bytes = n;
	return t1 - t0;
}

static uint64_t rnd(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return *seed >> 33;
}

static void test_big_and_deep(void)
{
	uint32_t fns[400], st[40];
	struct profile *p = profile__new();
	uint32_t t[4];
	for (int i = 0; i < 4; i++)
		t[i] = profile__thread(p, 1, 100 + i, "", "");
	for (int i = 0; i < 400; i++) {
		char name[32], file[32];
		snprintf(name, sizeof(name), "function_%d", i);
		snprintf(file, sizeof(file), "pkg/module_%d.py", i % 37);
		fns[i] = py(p, name, file, i);
	}
	/* A program's shape: 10 000 distinct stacks 10 to 40 deep from a call
	 * graph where each function calls one of 3 others (shared prefixes), with
	 * skewed sample counts. */
	uint64_t seed = 42;
	while (profile__nstacks(p) < 10000) {
		size_t depth = 10 + rnd(&seed) % 31;
		uint32_t fn = 0;
		for (size_t k = 0; k < depth; k++) {
			st[k] = fns[fn];
			fn = (fn * 7 + 1 + (uint32_t)(rnd(&seed) % 3) * 131) % 400;
		}
		uint32_t w = rnd(&seed) % 10 == 0 ? 1 + (uint32_t)(rnd(&seed) % 1000) : 1;
		profile__add(p, t[rnd(&seed) % 4], st, depth, 0, w);
	}
	size_t bytes;
	/* The time is printed, not asserted: speed is measured by `make bench`
	 * (bench/results/), a loaded machine must not fail a unit test. */
	timed("program-like", p, &bytes);
	CHECK(bytes < 4 << 20);
	profile__free(p);

	/* The worst case: random stacks 20 to 40 deep over 400 functions, so
	 * almost nothing is shared below depth 3. */
	p = profile__new();
	uint32_t th = profile__thread(p, 1, 1, "", "");
	for (int i = 0; i < 400; i++) {
		char name[32];
		snprintf(name, sizeof(name), "function_%d", i);
		fns[i] = py(p, name, "pkg/module.py", i);
	}
	while (profile__nstacks(p) < 10000) {
		size_t depth = 20 + rnd(&seed) % 21;
		for (size_t k = 0; k < depth; k++)
			st[k] = fns[k < 3 ? k : rnd(&seed) % 400];
		profile__add(p, th, st, depth, 0, 1 + (uint32_t)(rnd(&seed) % 50));
	}
	timed("random", p, &bytes);
	CHECK(bytes < 48 << 20);
	profile__free(p);

	/* One stack 20 000 frames deep: no recursion in the writer. */
	p = profile__new();
	th = profile__thread(p, 1, 1, "", "");
	uint32_t *deep = malloc(20000 * sizeof(*deep));
	for (int i = 0; i < 20000; i++)
		deep[i] = py(p, i % 2 ? "odd" : "even", "r.py", i % 2);
	profile__add(p, th, deep, 20000, 0, 3);
	int rc;
	char *buf = render(p, NULL, &rc);
	CHECK_INT(rc, 0);
	CHECK_INT(nframes(buf), 20001);
	free(buf);
	free(deep);
	profile__free(p);
}

/* The golden file: tests/golden/flamegraph/input.txt (or $CSPY_GOLDEN_DIR's)
 * read by the writers' test tool (tools/writers_tool next to this binary's
 * directory, --plain: every frame a Python frame named by its text) and
 * written as a flame graph must equal expected.svg byte for byte. */
static void test_golden(void)
{
	const char *dir = getenv("CSPY_GOLDEN_DIR") ? getenv("CSPY_GOLDEN_DIR") : "tests/golden/flamegraph";
	char in[512], exp[512], exe[4096], cmd[8192];
	snprintf(in, sizeof(in), "%s/input.txt", dir);
	snprintf(exp, sizeof(exp), "%s/expected.svg", dir);
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(len > 0);
	if (len <= 0)
		return;
	exe[len] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "%s/../tools/writers_tool", exe);
	if (access(cmd, X_OK) != 0 || access(in, R_OK) != 0) {
		fprintf(stderr, "  golden: need %s and %s (run from the repository root)\n", cmd, in);
		CHECK(!"golden setup");
		return;
	}
	snprintf(cmd, sizeof(cmd), "'%s/../tools/writers_tool' --plain -f flamegraph -t golden '%s'",
		 exe, in);
	char *svg = NULL, *want = NULL;
	size_t n = 0, wn = 0;
	FILE *pp = popen(cmd, "r"), *m = open_memstream(&svg, &n);
	CHECK(pp != NULL);
	int c;
	while (pp && (c = getc(pp)) != EOF)
		putc(c, m);
	fclose(m);
	if (pp)
		CHECK_INT(pclose(pp), 0);
	if (getenv("CSPY_UPDATE_GOLDEN")) {
		FILE *f = fopen(exp, "w");
		CHECK(f && fputs(svg, f) >= 0 && fclose(f) == 0);
	}
	FILE *f = fopen(exp, "r");
	CHECK(f != NULL);
	if (f) {
		m = open_memstream(&want, &wn);
		while ((c = getc(f)) != EOF)
			putc(c, m);
		fclose(m);
		fclose(f);
		CHECK(n == wn && memcmp(svg, want, n) == 0);
		if (n != wn || memcmp(svg, want, n) != 0)
			fprintf(stderr, "  output differs from %s (CSPY_UPDATE_GOLDEN=1 rewrites it)\n", exp);
		free(want);
	}
	free(svg);
}


/* --memory: widths in bytes grown (data-n), the title and subtitle say so,
 * tooltips in bytes and MiB; the split: data-c per frame, its shares in the
 * tooltip, the "By class" control; neither: none of that. */
static void test_memory_and_classes(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, 1, 1, "MainThread", "");
	uint32_t m = py(p, "main", "m.py", 1), a = py(p, "alloc", "m.py", 5), f = py(p, "free", "m.py", 9);
	uint32_t s1[] = { m, a }, s2[] = { m, f };
	uint32_t i1 = profile__add(p, t, s1, 2, 0, 3), i2 = profile__add(p, t, s2, 2, 0, 1);
	int rc;
	char *svg = render(p, NULL, &rc);
	char *sec = svg ? frames_section(svg) : NULL;
	CHECK(rc == 0 && sec && !strstr(sec, "data-c=") && !strstr(svg, "<text id=\"classes\"") &&
	      !strstr(svg, "<title>Memory growth"));
	free(sec);
	free(svg);
	profile__add_class(p, i1, PROF_CLASS_PYTHON, 1);
	profile__add_class(p, i1, PROF_CLASS_NATIVE, 2);
	profile__add_class(p, i2, PROF_CLASS_SYSTEM, 1);
	profile__add_memory(p, i1, 3 << 20);
	profile__add_memory(p, i2, -(1 << 20));
	profile__set_meta(p, &(struct prof_meta){ .title = "job", .classified = true, .memory = true });
	svg = render(p, NULL, &rc);
	CHECK(rc == 0 && svg);
	if (svg) {
		CHECK(strstr(svg, "<title>Memory growth: job</title>"));
		CHECK(strstr(svg, ">Memory grown: 3.00 MiB, shrunk: 1.00 MiB (not drawn), 3 thread samples</text>"));
		/* free grew nothing: not drawn; the root is alloc's bytes */
		CHECK(!strstr(svg, "free (m.py:9)"));
		CHECK(strstr(svg, "<g data-s=\"0\" data-n=\"3145728\" data-k=\"3\" data-c=\"1,2,0\"><title>"
			      "alloc (m.py:5) (3145728 bytes = 3.00 MiB, 100.00%; python 33.33% native 66.67% "
			      "system 0.00%)</title>"));
		CHECK(strstr(svg, "<text id=\"classes\"") && strstr(svg, ">[ ] By class</text>"));
	}
	free(svg);
	/* the split without --memory: widths are samples */
	profile__set_meta(p, &(struct prof_meta){ .title = "job", .classified = true });
	svg = render(p, NULL, &rc);
	CHECK(rc == 0 && svg && strstr(svg, "<g data-s=\"3\" data-n=\"1\" data-c=\"0,0,1\"><title>free (m.py:9) "
					"(1 sample, 25.00%; python 0.00% native 0.00% system 100.00%)</title>"));
	CHECK(svg && !strstr(svg, "data-k="));
	free(svg);
	profile__free(p);
}

int main(void)
{
	TEST_RUN(test_structure);
	TEST_RUN(test_layouts);
	TEST_RUN(test_merge_deterministic);
	TEST_RUN(test_hostile_names);
	TEST_RUN(test_prune);
	TEST_RUN(test_empty);
	TEST_RUN(test_memory_and_classes);
	TEST_RUN(test_io_error);
	TEST_RUN(test_big_and_deep);
	TEST_RUN(test_golden);
	return TEST_REPORT();
}
