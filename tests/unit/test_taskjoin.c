/* SPDX-License-Identifier: MIT
 *
 * The task stack join (agg/taskjoin.h) on hand-made task reads: a running
 * task under two ancestors (gather) becomes ancestors, task, then the
 * thread's frames from the task's outermost coroutine up (the event loop
 * below it dropped); a shared task follows its first awaiter; a pending
 * task shows its own coroutine frames; an awaiter chain that loops or names
 * an unknown task is cut; a running task whose coroutine is not in the
 * thread's frames is not joined; labels fold automatic names.
 */
#include <stdlib.h>

#include "harness.h"
#include "agg/taskjoin.h"
#include "python/pyasync.h"
#include "python/pyproc.h"

static struct py_code c_main = { .uid = 1, .name = (char *)"main" };
static struct py_code c_alpha = { .uid = 2, .name = (char *)"alpha" };
static struct py_code c_helper = { .uid = 3, .name = (char *)"helper" };
static struct py_code c_beta = { .uid = 4, .name = (char *)"beta" };

/* Task frames, innermost first: main awaits gather at 0xa1; alpha runs
 * (0xb1 its coroutine, 0xb2 helper it awaits); beta waits at 0xc1. */
static struct py_frame f_main[] = { { .code = &c_main, .line = 10, .frame_addr = 0xa1 } };
static struct py_frame f_alpha[] = { { .code = &c_helper, .line = 5, .frame_addr = 0xb2 },
				     { .code = &c_alpha, .line = 20, .frame_addr = 0xb1 } };
static struct py_frame f_beta[] = { { .code = &c_beta, .line = 30, .frame_addr = 0xc1 } };

static void tasks_init(struct py_task *t, uint64_t *alpha_by, uint64_t *beta_by)
{
	memset(t, 0, 3 * sizeof(*t));
	t[0] = (struct py_task){ .addr = 0x100, .state = PY_TASK_PENDING, .frames = f_main, .nframes = 1 };
	strcpy(t[0].name, "Task-1");
	t[1] = (struct py_task){ .addr = 0x200, .state = PY_TASK_RUNNING, .thread_id = 77,
				 .frames = f_alpha, .nframes = 2, .awaited_by = alpha_by, .nawaited_by = 1 };
	strcpy(t[1].name, "Task-2");
	t[2] = (struct py_task){ .addr = 0x300, .state = PY_TASK_PENDING, .frames = f_beta, .nframes = 1,
				 .awaited_by = beta_by, .nawaited_by = 2 };
	strcpy(t[2].name, "fetch-users");
}

static void test_running(void)
{
	uint64_t alpha_by[] = { 0x100 }, beta_by[] = { 0x100, 0x200 };
	struct py_task t[3];
	tasks_init(t, alpha_by, beta_by);
	struct py_tasks ts = { .tasks = t, .n = 3 };
	struct taskjoin *j = taskjoin__new();
	taskjoin__index(j, &ts);
	CHECK_INT(taskjoin__running(j, 77), 1);
	CHECK_INT(taskjoin__running(j, 78), -1);
	/* The thread, innermost first: helper, alpha, task_step (C: no
	 * address), Handle._run, _run_once, run_forever, main. */
	uint64_t th[] = { 0xb2, 0xb1, 0, 0xe1, 0xe2, 0xe3, 0xe4 };
	size_t n;
	const struct tj_item *it = taskjoin__stack(j, 1, th, 7, &n);
	CHECK(it != NULL);
	CHECK_INT(n, 5);
	if (it && n == 5) {
		CHECK(it[0].kind == TJ_TASK && it[0].task == 0);
		CHECK(it[1].kind == TJ_TASK_FRAME && it[1].task == 0 && it[1].frame == 0);
		CHECK(it[2].kind == TJ_TASK && it[2].task == 1);
		CHECK(it[3].kind == TJ_THREAD_FRAME && it[3].frame == 1);     /* alpha */
		CHECK(it[4].kind == TJ_THREAD_FRAME && it[4].frame == 0);     /* helper, the leaf */
	}
	/* Pending beta: its first awaiter (main), then its own frames. */
	it = taskjoin__stack(j, 2, NULL, 0, &n);
	CHECK_INT(n, 4);
	if (it && n == 4) {
		CHECK(it[0].kind == TJ_TASK && it[0].task == 0);
		CHECK(it[2].kind == TJ_TASK && it[2].task == 2);
		CHECK(it[3].kind == TJ_TASK_FRAME && it[3].task == 2 && it[3].frame == 0);
	}
	/* Not in the thread's frames: not joined. */
	uint64_t other[] = { 0xd1, 0xd2 };
	CHECK(taskjoin__stack(j, 1, other, 2, &n) == NULL);
	CHECK_INT(n, 0);
	taskjoin__free(j);
}

static void test_cut_chains(void)
{
	uint64_t alpha_by[] = { 0x300 }, beta_by[] = { 0x200 }, main_by[] = { 0x999 };
	struct py_task t[3];
	tasks_init(t, alpha_by, beta_by);
	t[0].awaited_by = main_by;      /* an awaiter not in the read */
	t[0].nawaited_by = 1;
	struct py_tasks ts = { .tasks = t, .n = 3 };
	struct taskjoin *j = taskjoin__new();
	taskjoin__index(j, &ts);
	size_t n;
	/* alpha <- beta <- alpha ...: a loop, cut at beta. */
	uint64_t th[] = { 0xb2, 0xb1 };
	const struct tj_item *it = taskjoin__stack(j, 1, th, 2, &n);
	CHECK_INT(n, 5);
	if (it && n == 5) {
		CHECK(it[0].kind == TJ_TASK && it[0].task == 2);
		CHECK(it[2].kind == TJ_TASK && it[2].task == 1);
	}
	it = taskjoin__stack(j, 0, NULL, 0, &n);      /* unknown awaiter: main alone */
	CHECK_INT(n, 2);
	/* No frames read: a running task cannot be matched. */
	t[1].nframes = 0;
	CHECK(taskjoin__stack(j, 1, th, 2, &n) == NULL);
	CHECK(taskjoin__stack(j, 5, NULL, 0, &n) == NULL);
	taskjoin__free(j);
}

static void test_labels(void)
{
	uint64_t alpha_by[] = { 0x100 }, beta_by[] = { 0x100 };
	struct py_task t[3];
	tasks_init(t, alpha_by, beta_by);
	char b[200];
	CHECK_STR(taskjoin_label(&t[0], b, sizeof(b)), "<task Task-N: main>");
	CHECK_STR(taskjoin_label(&t[1], b, sizeof(b)), "<task Task-N: alpha>");
	CHECK_STR(taskjoin_label(&t[2], b, sizeof(b)), "<task fetch-users>");
	strcpy(t[2].name, "Task-12x");
	CHECK_STR(taskjoin_label(&t[2], b, sizeof(b)), "<task Task-12x>");
	t[2].name[0] = 0;       /* 3.7: no names */
	CHECK_STR(taskjoin_label(&t[2], b, sizeof(b)), "<task beta>");
	t[2].nframes = 0;
	CHECK_STR(taskjoin_label(&t[2], b, sizeof(b)), "<task ?>");
	t[0].nframes = 0;
	CHECK_STR(taskjoin_label(&t[0], b, sizeof(b)), "<task Task-N>");
}

int main(void)
{
	TEST_RUN(test_running);
	TEST_RUN(test_cut_chains);
	TEST_RUN(test_labels);
	return TEST_REPORT();
}
