/* SPDX-License-Identifier: MIT
 *
 * Rendering of `cspy dump`: py-spy's text layout (process header, with
 * "(core file FILE)" after the command line for dump --core, one block
 * per thread, frames innermost first, optional Arguments/Locals) and its JSON
 * form (an array of thread objects with py-spy's field names). With
 * --native, a thread's frames are its merged native + Python stack; native
 * frames read "function (file.c:line)", "function (library.so)" or
 * "0x7f... (library.so)"; a thread whose merge failed says so in one line and
 * shows its Python frames. In the text every line is passed through
 * termsafe_escape() (util/termsafe.h): names from the target cannot send
 * control characters to the terminal; the JSON keeps them exact. Both write
 * to a FILE and return 0 or -EIO.
 *
 * dump --async: after the threads, the asyncio tasks (python/pyasync.h) of
 * each event loop: per loop a header with the thread running it, per task
 * its id (hex, as hex(id(task))), name, state, coroutine stack (innermost
 * first, the frame format of the threads) and the tasks awaiting it; then
 * an await tree (each task under the tasks awaiting it). Its JSON: one
 * object per process with the thread objects and an "asyncio" object (the
 * schema: docs/formats.md, "dump --async JSON").
 */
#ifndef CSPY_DUMP_H
#define CSPY_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct pyproc_info;
struct py_sample;
struct py_local;
struct merged_sample;

struct dump_locals {
	struct py_local *v;
	size_t n;
	int err;
};

struct dump_proc {
	const struct pyproc_info *info;
	pid_t parent_pid;                       /* 0 for the process asked for */
	const char *parent_cmdline;             /* the parent's command line, or NULL */
	const struct py_sample *sample;
	struct dump_locals **locals;            /* [thread][frame], NULL without --locals */
	const struct merged_sample *native;     /* --native: merged stacks per thread, else NULL */
	const char *core;                       /* dump --core: the core file, else NULL */
};

struct dump_opts {
	bool full_filenames;
	bool qualname;
	bool locals;
};

int dump_write_text(FILE *f, const struct dump_proc *p, const struct dump_opts *o);
struct json;
/* JSON: the threads of every process go into one array: begin it with
 * json__begin_array(), call dump_write_json() per process, end it with
 * json__end_array() and json__end(). */
int dump_write_json(struct json *j, const struct dump_proc *p, const struct dump_opts *o);

struct py_tasks;
/* The asyncio part of dump --async. tasks: the read (NULL when it failed
 * or asyncio is not imported: then why says so, in one line; failed: it
 * could not be read). */
struct dump_async {
	const struct py_tasks *tasks;
	const char *why;
	bool failed;
};
/* After dump_write_text() of the same process. */
int dump_write_async_text(FILE *f, const struct dump_proc *p, const struct dump_async *a,
			  const struct dump_opts *o);
/* JSON: the process object ({"pid", "python_version", "threads", "asyncio",
 * "process_info"}) as one element of the caller's array, in two calls: the
 * head (up to the threads) while the sample's frames are valid, the tail
 * once the tasks are read (reading them may move the code objects the
 * sample's frames point to: python/pyasync.h). */
int dump_write_async_json_head(struct json *j, const struct dump_proc *p, const struct dump_opts *o);
int dump_write_async_json_tail(struct json *j, const struct dump_proc *p, const struct dump_async *a,
			       const struct dump_opts *o);

#endif
