/* SPDX-License-Identifier: MIT
 *
 * Native unwinding in a build without libdw (make NO_LIBDW=1): the same API
 * as unwind_dwfl.c, where nothing is available and every command refuses
 * --native with one message.
 */
#include "native/unwind.h"

#include <errno.h>

#include "native/merge.h"

bool unwind_available(const char **why)
{
	if (why)
		*why = "--native is not available in this build of cspy (built without libdw)";
	return false;
}

const char *unwind_backend(void)
{
	return NULL;
}

int unwinder__new(pid_t pid, const char *python_binary, struct unwinder **out)
{
	(void)pid;
	(void)python_binary;
	*out = NULL;
	return -ENOTSUP;
}

void unwinder__free(struct unwinder *u)
{
	(void)u;
}

int unwinder__unwind(struct unwinder *u, const struct ptrace_pause *pause,
		     const struct py_sample *s, struct mem *cycle)
{
	(void)u;
	(void)pause;
	(void)s;
	(void)cycle;
	return -ENOTSUP;
}

void unwinder__want_stacks(struct unwinder *u, struct mem *cycle)
{
	(void)u;
	(void)cycle;
}

uint64_t unwinder__syscalls(const struct unwinder *u)
{
	(void)u;
	return 0;
}

int unwinder__new_core(struct core *core, const char *python_binary, struct unwinder **out)
{
	(void)core;
	(void)python_binary;
	*out = NULL;
	return -ENOTSUP;
}

int unwinder__unwind_core(struct unwinder *u, const struct py_sample *s, struct merged_sample *out)
{
	(void)u;
	(void)s;
	out->n = 0;
	return -ENOTSUP;
}

int unwinder__merge(struct unwinder *u, const struct py_sample *s, struct merged_sample *out)
{
	(void)u;
	(void)s;
	out->n = 0;
	return -ENOTSUP;
}
