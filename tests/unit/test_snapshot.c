/* SPDX-License-Identifier: MIT
 *
 * The snapshot sequence (sampler/snapshot.h) around a reader that always
 * fails (an interpreter whose runtime is not in the memory: a torn or
 * starting one): a nonblocking take reads again up to `tries` times, a
 * paused one once; every pause is counted and undone, the paused process
 * (a forked child, spinning or asleep) runs on afterwards; pausing only the
 * running threads pauses nothing in a process that sleeps. Also: an unknown
 * pause mode is refused, and releasing an unused snapshot is harmless.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "proc/mem.h"
#include "proc/procfs.h"
#include "proc/threadstate.h"
#include "python/detect.h"
#include "python/offsets.h"
#include "python/pyproc.h"
#include "sampler/snapshot.h"

/* A 3.12 reader over empty memory: every sample fails at the runtime. */
static struct pyproc *empty_reader(struct mem **mem)
{
	struct py_layout L;
	offsets_for_version(0x030c01f0, false, &L);
	struct py_target t = { .version = 0x030c01f0, .runtime = 0x10000, .code_type = 0x60000 };
	*mem = mem__new_snapshot();
	return pyproc__new_mem(*mem, 0, &t, &L);
}

static pid_t child(bool spin)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			if (!spin)
				pause();
	}
	struct timespec warm = { 0, 60000000 };     /* started, and asleep for good */
	nanosleep(&warm, NULL);
	return pid;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Not stopped by a pause left behind (t), nor by anything else (T). */
static bool runs_on(pid_t pid)
{
	struct procfs_stat st;
	return procfs_stat(pid, 0, &st) == 0 && st.state != 't' && st.state != 'T';
}

static void test_nonblocking_tries(void)
{
	struct mem *mem;
	struct snap_target t = { .pp = empty_reader(&mem) };
	struct snapshot s = { 0 };
	struct snap_req r = { .pause = SNAP_NONBLOCKING, .tries = 1 };
	int err = snapshot__take(&t, &r, &s, NULL);
	CHECK(err == -EFAULT || err == -EAGAIN);
	uint64_t once = mem__reads(mem);
	CHECK(once > 0);
	r.tries = 3;
	CHECK_INT(snapshot__take(&t, &r, &s, NULL), err);
	CHECK_INT(mem__reads(mem), 4 * once);
	r.pause = (enum snap_pause)42;
	CHECK_INT(snapshot__take(&t, &r, &s, NULL), -EINVAL);
	snapshot__release(&s);
	snapshot__release(&s);          /* zeroed: again is harmless */
	pyproc__close(t.pp);
}

static void test_pause_resumes(void)
{
	pid_t pid = child(true);
	struct mem *mem;
	struct snap_target t = { .pid = pid, .pp = empty_reader(&mem), .tasks = threadstate__new(pid) };
	struct snapshot s = { 0 };
	struct snap_stats st = { 0 };
	struct snap_req r = { .pause = SNAP_PAUSE_ALL, .tries = 5 };
	int err = snapshot__take(&t, &r, &s, &st);
	CHECK(err == -EFAULT || err == -EAGAIN);
	uint64_t once = mem__reads(mem);
	CHECK_INT(st.pauses, 1);        /* tries are for nonblocking reads only */
	CHECK(st.paused_ns > 0);
	CHECK(runs_on(pid));
	r.pause = SNAP_PAUSE_TASKS;
	CHECK_INT(snapshot__take(&t, &r, &s, &st), err);
	CHECK_INT(st.pauses, 2);
	CHECK(runs_on(pid));
	r.pause = SNAP_PAUSE_RUNNING;   /* it spins: paused */
	CHECK_INT(snapshot__take(&t, &r, &s, &st), err);
	CHECK_INT(st.pauses, 3);
	CHECK_INT(mem__reads(mem), 3 * once);
	CHECK(runs_on(pid));
	/* prewarm: the first pause (none before) reads once without pausing too */
	r.prewarm = true;
	s.paused_at_ns = 0;
	CHECK_INT(snapshot__take(&t, &r, &s, &st), err);
	CHECK_INT(st.pauses, 4);
	CHECK_INT(mem__reads(mem), 5 * once);
	uint64_t counted = 0;
	for (unsigned i = 0; i < SNAP_HOLD_BUCKETS; i++)
		counted += st.hold_us[i];
	CHECK_INT(counted, 4);          /* every pause in the spread */
	CHECK(snap_stats__hold_us(&st, 1.0) >= snap_stats__hold_us(&st, 0.5));
	CHECK(snap_stats__hold_us(&st, 1.0) * 1000ull <= st.paused_ns);   /* the longest is in the total */
	CHECK(runs_on(pid));
	snapshot__release(&s);
	threadstate__free(t.tasks);
	pyproc__close(t.pp);
	end_child(pid);
}

static void test_running_only(void)
{
	pid_t pid = child(false);
	struct mem *mem;
	struct snap_target t = { .pid = pid, .pp = empty_reader(&mem), .tasks = threadstate__new(pid) };
	struct snapshot s = { 0 };
	struct snap_stats st = { 0 };
	struct snap_req r = { .pause = SNAP_PAUSE_RUNNING };
	int err = snapshot__take(&t, &r, &s, &st);
	CHECK(err == -EFAULT || err == -EAGAIN);
	CHECK_INT(st.pauses, 0);        /* asleep: its stack cannot change */
	CHECK(mem__reads(mem) > 0);     /* but it was read */
	CHECK(runs_on(pid));
	snapshot__release(&s);
	threadstate__free(t.tasks);
	pyproc__close(t.pp);
	end_child(pid);
}

int main(void)
{
	TEST_RUN(test_nonblocking_tries);
	TEST_RUN(test_pause_resumes);
	TEST_RUN(test_running_only);
	return TEST_REPORT();
}
