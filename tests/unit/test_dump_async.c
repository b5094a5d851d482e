/* SPDX-License-Identifier: MIT
 *
 * writers/dump: the asyncio part of dump --async, text and JSON, from
 * made-up tasks (no process): the header, one block per loop and task,
 * frames, "awaited by" lines, the await tree (a task under each of its
 * awaiters, a cycle shown once and marked, a root per unawaited task), a
 * task that could not be read, names from the target escaped in the text
 * and kept in the JSON, and the message without asyncio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "python/pyasync.h"
#include "python/pyproc.h"
#include "writers/dump.h"
#include "writers/json.h"

static struct py_code code_leaf = { 1, 0x1000, "leaf", "leaf", "/srv/app/m.py", "m.py", 1 };
static struct py_code code_main = { 2, 0x2000, "main", "App.main", "/srv/app/m.py", "m.py", 10 };

static char *render(const struct py_tasks *ts, const char *why, bool json, bool qualname)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pyproc_info in = { .pid = 42, .version = 0x030c01f0, .version_str = "3.12.1",
				  .exe = "/usr/bin/python3", .cmdline = "python3 m.py" };
	struct py_frame tf[1] = { { .code = &code_main, .line = 12, .frame_addr = 0x9000, .entry = true } };
	struct py_thread th = { .thread_id = 0xabc, .tid = 42, .name = "MainThread", .frames = tf,
				.nframes = 1 };
	struct py_sample s = { &th, 1, 1 };
	struct dump_proc p = { .info = &in, .sample = &s };
	struct dump_opts o = { .qualname = qualname };
	struct dump_async a = { ts, why, false };
	if (json) {
		struct json j;
		json__init(&j, f, false);
		json__begin_array(&j);
		dump_write_async_json_head(&j, &p, &o);
		dump_write_async_json_tail(&j, &p, &a, &o);
		json__end_array(&j);
		CHECK_INT(json__end(&j), 0);
	} else {
		dump_write_text(f, &p, &o);
		dump_write_async_text(f, &p, &a, &o);
	}
	fclose(f);
	return buf;
}

/* Four tasks on two loops: 0x100 awaited by 0x200 and 0x300 (a DAG),
 * 0x200 and 0x300 roots; 0x400 and 0x500 await each other (a cycle);
 * 0x600 could not be read. */
static void make_tasks(struct py_tasks *ts)
{
	static struct py_frame f1[2] = { { .code = &code_leaf, .line = 3, .frame_addr = 0xa000 },
					 { .code = &code_main, .line = 11, .frame_addr = 0xb000 } };
	static uint64_t by1[2] = { 0x200, 0x300 }, by4[1] = { 0x500 }, by5[1] = { 0x400 };
	static struct py_task t[6];
	memset(t, 0, sizeof(t));
	t[0] = (struct py_task){ .addr = 0x100, .loop = 0x10, .state = PY_TASK_PENDING,
				 .frames = f1, .nframes = 2, .awaited_by = by1, .nawaited_by = 2 };
	strcpy(t[0].name, "child\x1b[31m");
	t[1] = (struct py_task){ .addr = 0x200, .loop = 0x10, .loop_thread_id = 0xabc,
				 .thread_id = 0xabc, .state = PY_TASK_RUNNING };
	strcpy(t[1].name, "parent-a");
	t[2] = (struct py_task){ .addr = 0x300, .loop = 0x10, .state = PY_TASK_PENDING };
	strcpy(t[2].name, "parent-b");
	t[3] = (struct py_task){ .addr = 0x400, .loop = 0x20, .state = PY_TASK_DONE,
				 .awaited_by = by4, .nawaited_by = 1 };
	strcpy(t[3].name, "loop-x");
	t[4] = (struct py_task){ .addr = 0x500, .loop = 0x20, .state = PY_TASK_CANCELLED,
				 .awaited_by = by5, .nawaited_by = 1 };
	strcpy(t[4].name, "loop-y");
	t[5] = (struct py_task){ .addr = 0x600, .loop = 0x20, .err = -14 };
	ts->tasks = t;
	ts->n = ts->cap = 6;
}

static void test_text(void)
{
	struct py_tasks ts = { 0 };
	make_tasks(&ts);
	char *out = render(&ts, NULL, false, false);
	CHECK(strstr(out, "Thread 42 (idle): \"MainThread\"\n    main (m.py:12)\n") != NULL);
	CHECK(strstr(out, "\nasyncio: 6 tasks in 2 event loops\n") != NULL);
	CHECK(strstr(out, "Event loop 0x10 (thread 42 \"MainThread\"):\n") != NULL);
	CHECK(strstr(out, "Event loop 0x20 (not running):\n") != NULL);
	CHECK(strstr(out, "Task 0x100 \"child\\x1b[31m\" (pending)\n    leaf (m.py:3)\n"
			  "    main (m.py:11)\n    awaited by task 0x200 \"parent-a\"\n"
			  "    awaited by task 0x300 \"parent-b\"\n") != NULL);
	CHECK(strstr(out, "Task 0x200 \"parent-a\" (running in thread 42 \"MainThread\")\n") != NULL);
	CHECK(strstr(out, "Task 0x400 \"loop-x\" (done)\n") != NULL);
	CHECK(strstr(out, "Task 0x500 \"loop-y\" (cancelled)\n") != NULL);
	CHECK(strstr(out, "Task 0x600 (pending)\n    <error reading this task: Bad address>\n") != NULL);
	CHECK(strchr(out, '\x1b') == NULL);
	/* The tree: the child under both parents; the cycle once, marked. */
	const char *tree = strstr(out, "Await tree");
	CHECK(tree != NULL);
	if (tree) {
		CHECK(strstr(tree, "parent-a [0x200] running\n\u2514\u2500\u2500 child\\x1b[31m [0x100] "
				   "pending in leaf\n") != NULL);
		CHECK(strstr(tree, "parent-b [0x300] pending\n\u2514\u2500\u2500 child\\x1b[31m [0x100]") != NULL);
		CHECK(strstr(tree, "loop-x [0x400] done\n\u2514\u2500\u2500 loop-y [0x500] cancelled\n"
				   "    \u2514\u2500\u2500 loop-x [0x400] done (cycle)\n") != NULL);
		CHECK(strstr(tree, "<unnamed> [0x600] pending\n") != NULL);
	}
	free(out);
	out = render(&ts, NULL, false, true);
	CHECK(strstr(out, "    App.main (m.py:11)\n") != NULL);    /* --qualname */
	free(out);
}

static void test_json(void)
{
	struct py_tasks ts = { 0 };
	make_tasks(&ts);
	char *out = render(&ts, NULL, true, false);
	CHECK(strncmp(out, "[{\"pid\":42,\"python_version\":\"3.12.1\",\"threads\":[{", 49) == 0);
	CHECK(strstr(out, "\"asyncio\":{\"imported\":true,\"message\":null,\"error\":null,"
			  "\"truncated\":false,\"loops\":[{\"id\":\"0x10\",\"thread\":{\"thread_id\":2748,"
			  "\"os_thread_id\":42,\"thread_name\":\"MainThread\"}},{\"id\":\"0x20\","
			  "\"thread\":null}]") != NULL);
	CHECK(strstr(out, "{\"id\":\"0x100\",\"addr\":256,\"name\":\"child\\u001b[31m\","
			  "\"state\":\"pending\",\"loop\":\"0x10\",\"thread\":null,\"error\":null,"
			  "\"frames\":[{\"name\":\"leaf\",\"qualname\":\"leaf\",\"filename\":"
			  "\"/srv/app/m.py\",\"short_filename\":\"m.py\",\"line\":3,\"frame_addr\":40960}") != NULL);
	CHECK(strstr(out, "\"awaited_by\":[{\"id\":\"0x200\",\"name\":\"parent-a\"},"
			  "{\"id\":\"0x300\",\"name\":\"parent-b\"}]") != NULL);
	CHECK(strstr(out, "\"state\":\"running\",\"loop\":\"0x10\",\"thread\":{\"thread_id\":2748") != NULL);
	CHECK(strstr(out, "\"id\":\"0x600\",\"addr\":1536,\"name\":\"\",\"state\":\"pending\","
			  "\"loop\":\"0x20\",\"thread\":null,\"error\":\"Bad address\"") != NULL);
	free(out);
}

static void test_no_asyncio(void)
{
	const char *why = "asyncio is not imported in this process (no event loop, no tasks)";
	char *out = render(NULL, why, false, false);
	CHECK(strstr(out, "\n\nasyncio: asyncio is not imported in this process") != NULL);
	CHECK(strstr(out, "Await tree") == NULL);
	free(out);
	out = render(NULL, why, true, false);
	CHECK(strstr(out, "\"asyncio\":{\"imported\":false,\"message\":\"asyncio is not imported in "
			  "this process (no event loop, no tasks)\",\"error\":null,\"truncated\":false,"
			  "\"loops\":[],\"tasks\":[]}") != NULL);
	free(out);
	CHECK_STR(py_task_state_name(PY_TASK_CANCELLED), "cancelled");
}

int main(void)
{
	TEST_RUN(test_text);
	TEST_RUN(test_json);
	TEST_RUN(test_no_asyncio);
	return TEST_REPORT();
}
