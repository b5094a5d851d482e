/* SPDX-License-Identifier: MIT
 *
 * pyasync_probe: what the asyncio reader (python/pyasync.h) gives the
 * per-sample users (record/top --async), on a live process:
 *
 *   build/tools/pyasync_probe PID [N]
 *
 * First, with every thread paused (ptrace), one pyproc__sample() and one
 * full pyasync__read(): for each running task, whether its outermost
 * coroutine frame (frames[nframes - 1]) has the frame_addr of a frame of
 * the stack of the thread running it (the join record --async relies on).
 * Then N (default 200) pyasync__read(PYASYNC_RUNNING) calls without a
 * pause, timed; the first one's tasks must be those of the full read that
 * are running or await one (transitively), with the same awaited_by
 * ("running_consistent"). Prints one JSON object: {"tasks", "running":
 * [{"addr", "thread_id", "outer_frame_addr", "in_thread_stack"}],
 * "running_consistent", "running_reads", "running_failed",
 * "running_tasks", "running_us"}. Exit status 0, 1 when a read failed, 2
 * on usage or when the process cannot be opened. tests/e2e/asyncio_tasks.py
 * runs it (checks running and cost).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/ptrace.h"
#include "python/pyasync.h"
#include "python/pyproc.h"
#include "util/clock.h"

int main(int argc, char **argv)
{
	char why[512] = "";
	struct pyproc *p = NULL;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: pyasync_probe PID [N]\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	int n = argc > 2 ? atoi(argv[2]) : 200;
	int err = pyproc__open(pid, &p, why, sizeof(why));
	if (err) {
		fprintf(stderr, "pyasync_probe: %d: %s\n", (int)pid, why[0] ? why : strerror(-err));
		return 2;
	}
	struct py_sample s = { 0 };
	struct py_tasks ts = { 0 };
	struct ptrace_pause *pz = NULL;
	int rc = 0;
	err = ptrace_pause__stop(pid, &pz);
	if (!err) {
		err = pyproc__sample(p, NULL, &s, 0);
		if (!err)
			err = pyasync__read(p, &ts, 0, why, sizeof(why));
		ptrace_pause__resume(pz);
	}
	if (err) {
		fprintf(stderr, "pyasync_probe: read: %s\n", why[0] ? why : strerror(-err));
		rc = 1;
		goto out;
	}
	printf("{\"tasks\": %zu, \"running\": [", ts.n);
	int first = 1;
	for (size_t i = 0; i < ts.n; i++) {
		const struct py_task *t = &ts.tasks[i];
		if (t->state != PY_TASK_RUNNING)
			continue;
		uint64_t outer = t->nframes ? t->frames[t->nframes - 1].frame_addr : 0;
		int found = 0;
		for (size_t k = 0; k < s.n; k++) {
			if (s.threads[k].thread_id != t->thread_id)
				continue;
			for (size_t f = 0; f < s.threads[k].nframes; f++)
				found |= outer && s.threads[k].frames[f].frame_addr == outer;
		}
		printf("%s{\"addr\": %llu, \"thread_id\": %llu, \"outer_frame_addr\": %llu, "
		       "\"in_thread_stack\": %s}", first ? "" : ", ", (unsigned long long)t->addr,
		       (unsigned long long)t->thread_id, (unsigned long long)outer,
		       found ? "true" : "false");
		first = 0;
	}
	/* The full read's running tasks and their awaiters, transitively. */
	bool *want = calloc(ts.n ? ts.n : 1, sizeof(*want));
	for (size_t i = 0; i < ts.n; i++)
		want[i] = ts.tasks[i].state == PY_TASK_RUNNING;
	for (bool grew = true; grew;) {
		grew = false;
		for (size_t i = 0; i < ts.n; i++)
			for (size_t k = 0; want[i] && k < ts.tasks[i].nawaited_by; k++)
				for (size_t j = 0; j < ts.n; j++)
					if (!want[j] && ts.tasks[j].addr == ts.tasks[i].awaited_by[k])
						want[j] = grew = true;
	}
	size_t nwant = 0;
	uint64_t *wa = malloc((ts.n ? ts.n : 1) * sizeof(*wa));
	size_t *wby = malloc((ts.n ? ts.n : 1) * sizeof(*wby));
	for (size_t i = 0; i < ts.n; i++)
		if (want[i]) {
			wby[nwant] = ts.tasks[i].nawaited_by;
			wa[nwant++] = ts.tasks[i].addr;
		}
	free(want);
	struct py_tasks rt = { 0 };
	bool consistent = pyasync__read(p, &rt, PYASYNC_RUNNING, why, sizeof(why)) == 0 &&
			  rt.n == nwant;
	for (size_t i = 0; consistent && i < rt.n; i++) {
		bool found = false;
		for (size_t j = 0; j < nwant && !found; j++)
			found = wa[j] == rt.tasks[i].addr && wby[j] == rt.tasks[i].nawaited_by;
		consistent = found;
	}
	py_tasks__release(&rt);
	free(wa);
	free(wby);
	printf("], \"running_consistent\": %s", consistent ? "true" : "false");
	uint64_t t0 = clock_now_ns();
	size_t got = 0;
	int fails = 0;
	for (int i = 0; i < n; i++) {
		if (pyasync__read(p, &ts, PYASYNC_RUNNING, why, sizeof(why)) != 0)
			fails++;
		got += ts.n;
	}
	uint64_t dt = clock_now_ns() - t0;
	printf(", \"running_reads\": %d, \"running_failed\": %d, \"running_tasks\": %.2f, "
	       "\"running_us\": %.1f}\n", n, fails, n ? (double)got / n : 0.0,
	       n ? (double)dt / 1000.0 / n : 0.0);
out:
	py_tasks__release(&ts);
	py_sample__release(&s);
	pyproc__close(p);
	return rc;
}
