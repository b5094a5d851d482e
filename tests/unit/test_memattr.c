/* SPDX-License-Identifier: MIT
 *
 * --memory's attribution (sampler/memattr.h): the first resident size is
 * the baseline; a change goes to the stacks of the tick's active threads,
 * split equally (the odd bytes to the first ones, nothing lost), growth to
 * mem_grow and shrink to mem_shrink; a thread given again at once counts once; a
 * tick without active threads keeps the change pending (net) for the next
 * one; a thread whose stack was not kept has its share dropped (counted);
 * statm's text parsed (procfs_parse_statm) and this process's read.
 */
#include <errno.h>
#include <unistd.h>

#include "harness.h"
#include "agg/profile.h"
#include "proc/procfs.h"
#include "sampler/memattr.h"

static uint32_t stack(struct profile *p, uint32_t th, const char *name)
{
	uint32_t f = profile__frame(p, name, "m.py", "m.py", 1, PROF_FRAME_PYTHON);
	return profile__add(p, th, &f, 1, 0, 1);
}

static void test_split(void)
{
	struct profile *p = profile__new();
	uint32_t t1 = profile__thread(p, 1, 1, "MainThread", "python m.py");
	uint32_t t2 = profile__thread(p, 1, 2, "worker", "python m.py");
	uint32_t a = stack(p, t1, "a"), b = stack(p, t2, "b");
	struct memattr *m = memattr__new_pure();
	struct memattr_totals tot = { 0 };

	memattr__resident(m, 1000000);          /* baseline: nobody's */
	memattr__thread(m, 1, a);
	memattr__attribute(m, p, &tot);
	CHECK_INT(profile__stack_at(p, a)->mem_grow, 0);

	memattr__resident(m, 1000101);          /* +101 between two threads */
	memattr__thread(m, 1, a);
	memattr__thread(m, 2, b);
	memattr__thread(m, 2, a);               /* the same thread again: ignored */
	memattr__attribute(m, p, &tot);
	CHECK_INT(profile__stack_at(p, a)->mem_grow, 51);
	CHECK_INT(profile__stack_at(p, b)->mem_grow, 50);
	CHECK_INT(tot.grown, 101);

	memattr__resident(m, 1000001);          /* -100 to b alone */
	memattr__thread(m, 2, b);
	memattr__attribute(m, p, &tot);
	CHECK_INT(profile__stack_at(p, b)->mem_shrink, 100);
	CHECK_INT(profile__stack_at(p, a)->mem_shrink, 0);
	CHECK_INT(tot.shrunk, 100);
	CHECK_INT(memattr__pending(m), 0);

	/* No thread ran: +300 then -100 pending, net +200 to the next tick's. */
	memattr__resident(m, 1000301);
	memattr__attribute(m, p, &tot);
	memattr__resident(m, 1000201);
	memattr__attribute(m, p, &tot);
	CHECK_INT(memattr__pending(m), 200);
	CHECK_INT(profile__stack_at(p, a)->mem_grow, 51);
	memattr__thread(m, 1, a);
	memattr__attribute(m, p, &tot);
	CHECK_INT(profile__stack_at(p, a)->mem_grow, 251);
	CHECK_INT(memattr__pending(m), 0);

	/* A thread whose stack was left out: its share dropped, not moved. */
	memattr__resident(m, 1000401);
	memattr__thread(m, 1, PROFILE_NO_STACK);
	memattr__thread(m, 2, b);
	memattr__attribute(m, p, &tot);
	CHECK_INT(tot.dropped_grow, 100);
	CHECK_INT(profile__stack_at(p, b)->mem_grow, 150);
	CHECK_INT(profile__stack_at(p, a)->mem_grow, 251);

	/* An unchanged tick changes nothing; the totals equal the profile's. */
	memattr__thread(m, 1, a);
	memattr__attribute(m, p, &tot);
	uint64_t g, s;
	profile__memory_total(p, &g, &s);
	CHECK_INT(g, tot.grown);
	CHECK_INT(s, tot.shrunk);
	CHECK_INT(g, 401);
	memattr__free(m);
	profile__free(p);
}

static void test_statm(void)
{
	struct procfs_statm sm;
	CHECK_INT(procfs_parse_statm("5000 1200 300 10 0 900 0\n", &sm), 0);
	CHECK_INT(sm.size, 5000);
	CHECK_INT(sm.resident, 1200);
	CHECK_INT(sm.data, 900);
	CHECK_INT(procfs_parse_statm("5000 1200\n", &sm), -EINVAL);
	CHECK_INT(procfs_parse_statm("", &sm), -EINVAL);
	CHECK_INT(procfs_parse_statm("-1 2 3 4 5 6 7", &sm), -EINVAL);
	/* This process: resident, and a read that sees a change. */
	int fd = procfs_statm_open(getpid());
	CHECK(fd >= 0);
	CHECK_INT(procfs_statm_read(fd, &sm), 0);
	CHECK(sm.resident > 0 && sm.resident <= sm.size);
	close(fd);
	CHECK(procfs_statm_open(-5) < 0);
	struct memattr *m = memattr__new(getpid());
	CHECK_INT(memattr__read(m), 0);
	CHECK_INT(memattr__read_fails(m), 0);
	memattr__free(m);
}

int main(void)
{
	TEST_RUN(test_split);
	TEST_RUN(test_statm);
	return TEST_REPORT();
}
