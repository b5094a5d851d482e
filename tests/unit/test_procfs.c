/* SPDX-License-Identifier: MIT
 *
 * Unit tests for proc/procfs's NSpid: parsing (the ids of a thread from the
 * /proc namespace down to its own PID namespace) on texts as the kernel
 * writes them, malformed ones, and on this process: in the namespace of its
 * own /proc, so one id, its pid, and not nested. procfs_parents: this
 * process with its parent, sorted by pid, and a parent known from the
 * previous pass taken as it is (not read again).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "proc/procfs.h"

static void test_parse_nested(void)
{
	pid_t outer = 0, inner = 0;
	int levels = 0;
	const char *text = "Name:\tpython\nTgid:\t7898\nPid:\t7900\nNSpid:\t7900\t3\nNSpgid:\t7896\t0\n";
	CHECK_INT(procfs_parse_nspid(text, &outer, &inner, &levels), 0);
	CHECK_INT(outer, 7900);
	CHECK_INT(inner, 3);
	CHECK_INT(levels, 2);
	CHECK_INT(procfs_parse_nspid("NSpid:\t10\t20\t30\n", &outer, &inner, &levels), 0);
	CHECK_INT(outer, 10);
	CHECK_INT(inner, 30);
	CHECK_INT(levels, 3);
}

static void test_parse_flat_and_bad(void)
{
	pid_t outer = 0, inner = 0;
	int levels = 0;
	CHECK_INT(procfs_parse_nspid("Pid:\t42\nNSpid:\t42\n", &outer, &inner, &levels), 0);
	CHECK_INT(outer, 42);
	CHECK_INT(inner, 42);
	CHECK_INT(levels, 1);
	CHECK_INT(procfs_parse_nspid("Pid:\t42\nNSpgid:\t42\n", &outer, &inner, &levels), -EINVAL);
	CHECK_INT(procfs_parse_nspid("NSpid:\n", &outer, &inner, &levels), -EINVAL);
	CHECK_INT(procfs_parse_nspid("NSpid:\t12x\n", &outer, &inner, &levels), -EINVAL);
	CHECK_INT(procfs_parse_nspid("NSpid:\t0\n", &outer, &inner, &levels), -EINVAL);
	CHECK_INT(procfs_parse_nspid("NSpid:\t99999999999\n", &outer, &inner, &levels), -EINVAL);
	CHECK_INT(procfs_parse_nspid("", &outer, &inner, &levels), -EINVAL);
}

static void test_self(void)
{
	pid_t inner = 0;
	int levels = 0;
	CHECK_INT(procfs_thread_nspid(getpid(), getpid(), &inner, &levels), 0);
	CHECK_INT(inner, getpid());
	CHECK_INT(levels, 1);
	CHECK_INT(procfs_pid_nested(getpid()), 0);
	CHECK_INT(procfs_pid_nested(0x3fffffff), -ENOENT);
}

static void test_parents(void)
{
	int max = 1 << 15;
	struct procfs_parent *a = calloc((size_t)max, sizeof(*a)), *b = calloc((size_t)max, sizeof(*b));
	int n = procfs_parents(NULL, 0, a, max);
	CHECK(n > 0);
	int self = -1;
	for (int i = 0; i < n; i++) {
		if (i > 0)
			CHECK(a[i - 1].pid < a[i].pid);
		if (a[i].pid == getpid())
			self = i;
	}
	CHECK(self >= 0);
	if (self < 0)
		goto out;
	CHECK_INT(a[self].ppid, getppid());
	a[self].ppid = 123456;          /* as if the last pass had read that */
	int m = procfs_parents(a, n, b, max);
	CHECK(m > 0);
	bool reused = false;
	for (int i = 0; i < m; i++)
		if (b[i].pid == getpid())
			reused = b[i].ppid == 123456;
	CHECK(reused);
out:
	free(a);
	free(b);
}

int main(void)
{
	TEST_RUN(test_parse_nested);
	TEST_RUN(test_parse_flat_and_bad);
	TEST_RUN(test_self);
	TEST_RUN(test_parents);
	return TEST_REPORT();
}
