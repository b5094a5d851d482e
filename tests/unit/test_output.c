/* SPDX-License-Identifier: MIT
 *
 * Small pure pieces: /proc stat parsing, the JSON writer's escaping (parsed
 * back by a strict check of the produced bytes), and short file names over a
 * temporary directory tree with packages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "writers/json.h"
#include "proc/procfs.h"
#include "python/shortname.h"

static void test_stat(void)
{
	struct procfs_stat st;
	CHECK_INT(procfs_parse_stat("42 (python3) S 1 42 42 0 -1 4194560 100", &st), 0);
	CHECK_STR(st.comm, "python3");
	CHECK_INT(st.state, 'S');
	CHECK_INT(st.ppid, 1);
	CHECK_INT(st.flags, 4194560);
	CHECK_INT(procfs_parse_stat("7 (a) b) (c) Z 99 7 7 0 -1 2097152 1", &st), 0);
	CHECK_STR(st.comm, "a) b) (c");
	CHECK_INT(st.state, 'Z');
	CHECK_INT(st.ppid, 99);
	CHECK(st.flags & PROCFS_PF_KTHREAD);
	CHECK_INT(procfs_parse_stat("garbage", &st), -22);
	CHECK_INT(procfs_parse_stat("1 (x", &st), -22);
	CHECK_INT(procfs_parse_stat("1 (x) R", &st), -22);
	CHECK_INT(procfs_stat(getpid(), 0, &st), 0);
	CHECK_INT(st.ppid, getppid());
	CHECK(procfs_stat(0x3ffffff0, 0, &st) < 0);
}

static char *render(void (*fn)(struct json *))
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct json j;
	json__init(&j, f, false);
	fn(&j);
	json__end(&j);
	fclose(f);
	return buf;
}

static void doc1(struct json *j)
{
	json__begin_object(j);
	json__key(j, "a\"b");
	json__string(j, "x\n\t\\\x01</script>");
	json__key(j, "bad");
	json__stringn(j, "\xff\xc3(\xe2\x82\xac\xed\xa0\x80", 9);
	json__key(j, "arr");
	json__begin_array(j);
	json__int(j, -5);
	json__uint(j, 18446744073709551615ull);
	json__bool(j, true);
	json__null(j);
	json__begin_array(j);
	json__end_array(j);
	json__double(j, 0.5);
	json__end_array(j);
	json__key(j, "s");
	json__string(j, NULL);
	json__end_object(j);
}

static void test_json(void)
{
	char *s = render(doc1);
	CHECK_STR(s, "{\"a\\\"b\":\"x\\n\\t\\\\\\u0001</script>\",\"bad\":\"\\ufffd\\ufffd(\xe2\x82\xac"
		  "\\ufffd\\ufffd\\ufffd\",\"arr\":[-5,18446744073709551615,true,null,[],0.5],\"s\":null}");
	free(s);
}

static void mk(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f)
		fclose(f);
}

static void test_shortname(void)
{
	char dir[] = "/tmp/cspy-shortname-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char p[512];
	snprintf(p, sizeof(p), "%s/app", dir); mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/app/pkg", dir); mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/app/pkg/sub", dir); mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/app/pkg/__init__.py", dir); mk(p);
	snprintf(p, sizeof(p), "%s/app/pkg/sub/__init__.py", dir); mk(p);

	struct shortname *s = shortname__new("", dir);
	snprintf(p, sizeof(p), "%s/app/pkg/sub/mod.py", dir);
	CHECK_STR(shortname__get(s, p), "pkg/sub/mod.py");
	snprintf(p, sizeof(p), "%s/app/pkg/m.py", dir);
	CHECK_STR(shortname__get(s, p), "pkg/m.py");
	snprintf(p, sizeof(p), "%s/app/main.py", dir);
	CHECK_STR(shortname__get(s, p), "main.py");
	CHECK_STR(shortname__get(s, "app/pkg/sub/mod.py"), "pkg/sub/mod.py");   /* relative to cwd */
	CHECK_STR(shortname__get(s, "<frozen importlib._bootstrap>"), "<frozen importlib._bootstrap>");
	CHECK_STR(shortname__get(s, "/nonexistent/dir/x.py"), "x.py");
	CHECK_STR(shortname__get(s, "plain.py"), "plain.py");
	shortname__free(s);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	TEST_RUN(test_stat);
	TEST_RUN(test_json);
	TEST_RUN(test_shortname);
	return TEST_REPORT();
}
