/* SPDX-License-Identifier: MIT
 *
 * Unit tests for proc/maps: maps_parse() over hand-written maps text (normal
 * lines, paths with spaces, " (deleted)", anonymous and [special] mappings,
 * malformed lines, unsorted input), maps__find() hits, misses and boundaries,
 * and maps__load() of this very process, which must contain the code of one
 * of our own functions.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "proc/maps.h"

static int parse_str(const char *s, struct maps *m)
{
	return maps_parse(s, strlen(s), m);
}

static void test_normal_lines(void)
{
	const char *text =
		"55a9a5639000-55a9a563b000 r--p 00000000 fe:00 247498                     /usr/bin/head\n"
		"55a9a563b000-55a9a5641000 r-xp 00002000 fe:00 247498                     /usr/bin/head\n"
		"7ffd1c3f0000-7ffd1c411000 rw-s 00000000 00:05 12 /dev/shm/x\n";
	struct maps m;

	CHECK_INT(parse_str(text, &m), 0);
	CHECK_INT(m.n, 3);
	if (m.n != 3)
		goto out;
	CHECK(m.v[0].start == 0x55a9a5639000ull);
	CHECK(m.v[0].end == 0x55a9a563b000ull);
	CHECK_INT(m.v[0].offset, 0);
	CHECK_INT(m.v[0].inode, 247498);
	CHECK_INT(m.v[0].perms, MAP_R | MAP_P);
	CHECK(!m.v[0].deleted);
	CHECK_STR(m.v[0].path, "/usr/bin/head");
	CHECK_INT(m.v[1].perms, MAP_R | MAP_X | MAP_P);
	CHECK(m.v[1].offset == 0x2000);
	CHECK_INT(m.v[2].perms, MAP_R | MAP_W);
	CHECK_STR(m.v[2].path, "/dev/shm/x");
	CHECK_STR(maps_basename(m.v[0].path), "head");
out:
	maps__release(&m);
	CHECK(m.v == NULL && m.n == 0);
}

static void test_spaces_and_deleted(void)
{
	const char *text =
		"1000-2000 r-xp 00000000 08:01 42   /opt/my dir/lib foo.so\n"
		"2000-3000 rw-p 00001000 08:01 43   /tmp/old lib.so (deleted)\n"
		"3000-4000 rw-s 00000000 00:01 44   /memfd:x (deleted)\n"
		"4000-5000 r--p 00000000 08:01 45   /path/ends/with/space \n";
	struct maps m;

	CHECK_INT(parse_str(text, &m), 0);
	CHECK_INT(m.n, 4);
	if (m.n != 4)
		goto out;
	CHECK_STR(m.v[0].path, "/opt/my dir/lib foo.so");
	CHECK(!m.v[0].deleted);
	CHECK_STR(maps_basename(m.v[0].path), "lib foo.so");
	CHECK_STR(m.v[1].path, "/tmp/old lib.so");
	CHECK(m.v[1].deleted);
	CHECK_STR(m.v[2].path, "/memfd:x");
	CHECK(m.v[2].deleted);
	CHECK_STR(m.v[3].path, "/path/ends/with/space ");
out:
	maps__release(&m);
}

static void test_anonymous_and_special(void)
{
	/* The last line has no trailing newline, the first a trailing space. */
	const char *text =
		"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
		"7f0000002000-7f0000003000 ---p 00000000 00:00 0\n"
		"55555555a000-55555557b000 rw-p 00000000 00:00 0                          [heap]\n"
		"7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0                          [vdso]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
	struct maps m;

	CHECK_INT(parse_str(text, &m), 0);
	CHECK_INT(m.n, 5);
	if (m.n != 5)
		goto out;
	/* Sorted by start. */
	CHECK_STR(m.v[0].path, "[heap]");
	CHECK_STR(m.v[1].path, "");
	CHECK_INT(m.v[1].perms, MAP_R | MAP_W | MAP_P);
	CHECK_STR(m.v[2].path, "");
	CHECK_INT(m.v[2].perms, MAP_P);
	CHECK_STR(m.v[3].path, "[vdso]");
	CHECK_STR(m.v[4].path, "[vsyscall]");
	CHECK(m.v[4].end == 0xffffffffff601000ull);
	CHECK_INT(m.v[4].perms, MAP_X | MAP_P);
	CHECK_STR(maps_basename("[heap]"), "[heap]");
	CHECK_STR(maps_basename(""), "");
	CHECK_STR(maps_basename("/a/b/"), "");
out:
	maps__release(&m);
}

static void test_malformed_skipped(void)
{
	const char *text =
		"garbage\n"
		"1000-2000 r-xp 00000000 08:01 42 /ok/one\n"
		"1000 r-xp 00000000 08:01 42 /no/dash\n"
		"3000-2000 r-xp 00000000 08:01 42 /end/before/start\n"
		"2000-2000 r-xp 00000000 08:01 42 /empty/range\n"
		"2000-3000 rwxq 00000000 08:01 42 /bad/perms\n"
		"2000-3000 r-x 00000000 08:01 42 /short/perms\n"
		"2000-3000 r-xp 0000zz00 08:01 42 /bad/offset\n"
		"2000-3000 r-xp 00000000 0801 42 /bad/dev\n"
		"2000-3000 r-xp 00000000 08:01 x42 /bad/inode\n"
		"2000-3000 r-xp 00000000 08:01 42/no/space\n"
		"2000-3000 r-xp 00000000 08:01\n"
		"2000-3000 r-xp\n"
		"10000000000000000-10000000000000001 r-xp 00000000 08:01 42 /hex/overflow\n"
		"2000-3000 r-xp 00000000 08:01 99999999999999999999999 /dec/overflow\n"
		"-\n"
		"\n"
		"5000-6000 r--p 00000000 08:01 42 /ok/two\n"
		"6000-7000 r--p 00000000 08:01 42 /ok/three\n";
	struct maps m;

	CHECK_INT(parse_str(text, &m), 0);
	CHECK_INT(m.n, 3);
	if (m.n == 3) {
		CHECK_STR(m.v[0].path, "/ok/one");
		CHECK_STR(m.v[1].path, "/ok/two");
		CHECK_STR(m.v[2].path, "/ok/three");
	}
	maps__release(&m);

	/* Maximal 64-bit values parse. */
	CHECK_INT(parse_str("fffffffffffffffe-ffffffffffffffff r--p ffffffffffffffff ff:ff "
			    "18446744073709551615 /max\n", &m), 0);
	CHECK_INT(m.n, 1);
	if (m.n == 1) {
		CHECK(m.v[0].end == UINT64_MAX);
		CHECK(m.v[0].offset == UINT64_MAX);
		CHECK(m.v[0].inode == UINT64_MAX);
	}
	maps__release(&m);

	/* An embedded NUL makes the line malformed, and parsing stops at len. */
	static const char nul[] = "1000-2000 r-xp 00000000 08:01 42 /a\0b\n"
				  "2000-3000 r-xp 00000000 08:01 42 /c\n";
	CHECK_INT(maps_parse(nul, sizeof(nul) - 1, &m), 0);
	CHECK_INT(m.n, 1);
	if (m.n == 1)
		CHECK_STR(m.v[0].path, "/c");
	maps__release(&m);
	CHECK_INT(maps_parse(nul, 20, &m), -EINVAL);
	CHECK(m.n == 0 && m.v == NULL);
	maps__release(&m);

	/* Only garbage: -EINVAL and an empty result. */
	CHECK_INT(parse_str("not a maps file\nat all\n", &m), -EINVAL);
	CHECK(m.n == 0 && m.v == NULL);
	maps__release(&m);
}

static void test_empty_input(void)
{
	struct maps m;

	CHECK_INT(maps_parse("", 0, &m), 0);
	CHECK_INT(m.n, 0);
	CHECK(maps__find(&m, 0x1000) == NULL);
	maps__release(&m);
	CHECK_INT(maps_parse(NULL, 0, &m), 0);
	CHECK_INT(m.n, 0);
	maps__release(&m);
	CHECK_INT(parse_str("\n\n  \n", &m), 0);
	CHECK_INT(m.n, 0);
	maps__release(&m);
	maps__release(NULL);
}

static void test_very_long_line(void)
{
	size_t plen = 1 << 20;
	const char *prefix = "1000-2000 r-xp 00000000 08:01 42 /";
	size_t n = strlen(prefix);
	char *text = malloc(n + plen + 2);
	struct maps m;

	memcpy(text, prefix, n);
	memset(text + n, 'a', plen);
	text[n + plen] = '\n';
	CHECK_INT(maps_parse(text, n + plen + 1, &m), 0);
	CHECK_INT(m.n, 1);
	if (m.n == 1)
		CHECK_INT(strlen(m.v[0].path), plen + 1);
	maps__release(&m);
	free(text);
}

static void test_line_limit(void)
{
	static const char line[] = "1000-2000 ---p 0 0:0 0\n";
	size_t ll = sizeof(line) - 1, lines = 1000001;
	char *text = malloc(ll * lines);
	struct maps m;

	for (size_t i = 0; i < lines; i++)
		memcpy(text + i * ll, line, ll);
	CHECK_INT(maps_parse(text, ll * lines, &m), 0);
	CHECK_INT(m.n, 1000000);
	maps__release(&m);
	free(text);
}

static void test_unsorted_input_is_sorted(void)
{
	const char *text =
		"3000-4000 r--p 00000000 08:01 1 /c\n"
		"1000-2000 r--p 00000000 08:01 1 /a\n"
		"2000-3000 r--p 00000000 08:01 1 /b\n";
	struct maps m;

	CHECK_INT(parse_str(text, &m), 0);
	CHECK_INT(m.n, 3);
	if (m.n == 3) {
		CHECK_STR(m.v[0].path, "/a");
		CHECK_STR(m.v[1].path, "/b");
		CHECK_STR(m.v[2].path, "/c");
	}
	maps__release(&m);
}

static void test_find(void)
{
	const char *text =
		"1000-2000 r--p 00000000 08:01 1 /a\n"
		"2000-3000 r-xp 00001000 08:01 1 /a\n"
		"5000-6000 rw-p 00000000 00:00 0\n"
		"fffffffffffff000-ffffffffffffffff r--p 00000000 00:00 0 [top]\n";
	struct maps m;
	const struct map *f;

	CHECK_INT(parse_str(text, &m), 0);
	CHECK_INT(m.n, 4);
	CHECK(maps__find(&m, 0) == NULL);
	CHECK(maps__find(&m, 0xfff) == NULL);
	f = maps__find(&m, 0x1000);
	CHECK(f == &m.v[0]);
	CHECK(maps__find(&m, 0x1fff) == &m.v[0]);
	CHECK(maps__find(&m, 0x2000) == &m.v[1]);
	CHECK(maps__find(&m, 0x2abc) == &m.v[1]);
	CHECK(maps__find(&m, 0x3000) == NULL); /* end is exclusive */
	CHECK(maps__find(&m, 0x4fff) == NULL);
	CHECK(maps__find(&m, 0x5000) == &m.v[2]);
	CHECK(maps__find(&m, 0x6000) == NULL);
	CHECK(maps__find(&m, 0x7fffffffffffull) == NULL);
	CHECK(maps__find(&m, 0xfffffffffffffffeull) == &m.v[3]);
	CHECK(maps__find(&m, UINT64_MAX) == NULL);
	CHECK(maps__find(NULL, 0x1000) == NULL);
	maps__release(&m);
}

/* A function whose code must lie in an executable mapping of our binary. */
__attribute__((noinline)) int maps_test_marker_function(int x)
{
	return x * 3 + 1;
}

static void test_load_self(void)
{
	struct maps m;
	char exe[PATH_MAX];
	ssize_t n;
	int (*volatile fn)(int) = maps_test_marker_function;
	const struct map *f;

	CHECK_INT(maps__load(getpid(), &m), 0);
	CHECK(m.n > 3);
	for (size_t i = 1; i < m.n; i++)
		CHECK(m.v[i - 1].start <= m.v[i].start);
	f = maps__find(&m, (uint64_t)(uintptr_t)fn);
	CHECK(f != NULL);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	if (f && n > 0) {
		exe[n] = '\0';
		CHECK_STR(f->path, exe);
		CHECK(f->perms & MAP_X);
		CHECK(f->perms & MAP_R);
		CHECK(!f->deleted);
		CHECK(f->inode != 0);
	}
	/* A stack variable lives in an anonymous or [stack] mapping. */
	f = maps__find(&m, (uint64_t)(uintptr_t)&n);
	CHECK(f != NULL && (f->perms & MAP_W));
	CHECK(fn(1) == 4);
	maps__release(&m);
}

static void test_load_errors(void)
{
	struct maps m;

	/* pid_max is at most 2^22, so this pid cannot exist. */
	CHECK_INT(maps__load(INT_MAX, &m), -ENOENT);
	CHECK(m.n == 0 && m.v == NULL);
	CHECK_INT(maps__load(0, &m), -ENOENT);
	CHECK_INT(maps__load(-5, &m), -ENOENT);
}

int main(void)
{
	TEST_RUN(test_normal_lines);
	TEST_RUN(test_spaces_and_deleted);
	TEST_RUN(test_anonymous_and_special);
	TEST_RUN(test_malformed_skipped);
	TEST_RUN(test_empty_input);
	TEST_RUN(test_very_long_line);
	TEST_RUN(test_line_limit);
	TEST_RUN(test_unsorted_input_is_sorted);
	TEST_RUN(test_find);
	TEST_RUN(test_load_self);
	TEST_RUN(test_load_errors);
	return TEST_REPORT();
}
