/* SPDX-License-Identifier: MIT
 *
 * The asyncio reader (see pyasync.h). Skeleton: every interpreter reports
 * -ENOTSUP until the per-version readers land.
 */
#include "python/pyasync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyproc.h"

int pyasync__read(struct pyproc *p, struct py_tasks *out, unsigned flags, char *why,
		  size_t whylen)
{
	(void)p;
	(void)flags;
	for (size_t i = 0; i < out->n; i++) {
		out->tasks[i].nframes = 0;
		out->tasks[i].nawaited_by = 0;
	}
	out->n = 0;
	out->truncated = false;
	if (why && whylen)
		snprintf(why, whylen, "the asyncio reader is not implemented yet");
	return -ENOTSUP;
}

void py_tasks__release(struct py_tasks *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		free(t->tasks[i].frames);
		free(t->tasks[i].awaited_by);
	}
	free(t->tasks);
	memset(t, 0, sizeof(*t));
}

const char *py_task_state_name(enum py_task_state s)
{
	switch (s) {
	case PY_TASK_PENDING: return "pending";
	case PY_TASK_RUNNING: return "running";
	case PY_TASK_DONE: return "done";
	case PY_TASK_CANCELLED: return "cancelled";
	}
	return "?";
}
