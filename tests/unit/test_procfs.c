/* SPDX-License-Identifier: MIT
 *
 * Unit tests for proc/procfs's NSpid: parsing (the ids of a thread from the
 * /proc namespace down to its own PID namespace) on texts as the kernel
 * writes them, malformed ones, and on this process: in the namespace of its
 * own /proc, so one id, its pid, and not nested.
 */
#include <errno.h>
#include <stdbool.h>
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

int main(void)
{
	TEST_RUN(test_parse_nested);
	TEST_RUN(test_parse_flat_and_bad);
	TEST_RUN(test_self);
	return TEST_REPORT();
}
