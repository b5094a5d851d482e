/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for reading JSON Lines back (agg/load.c, the jsonl
 * part of profile_load): the input, after a valid head line unless it
 * brings its own, is handed to profile_load through a memfd (the loader
 * reads a path: /proc/self/fd/N); whatever it holds -- ids out of range or
 * undefined, cut lines, huge depths, wrong types -- must be refused with a
 * message or read into a profile whose every stack names frames and a
 * thread that exist.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agg/load.h"
#include "agg/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char head[] =
	"{\"cspy\":{\"version\":\"0\",\"format\":\"jsonl\",\"format_version\":1},\"meta\":{}}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz_jsonl", 0)) < 0)
		abort();
	bool own = size >= 8 && memcmp(data, "{\"cspy\":", 8) == 0;
	if (ftruncate(fd, 0) != 0)
		abort();
	size_t off = 0;
	if (!own) {
		if (pwrite(fd, head, sizeof(head) - 1, 0) != (ssize_t)(sizeof(head) - 1))
			abort();
		off = sizeof(head) - 1;
	}
	if (size && pwrite(fd, data, size, (off_t)off) != (ssize_t)size)
		abort();
	char path[64], err[256];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct profile *p = NULL;
	if (profile_load(path, &p, err, sizeof(err)) != 0) {
		if (p || !err[0])
			abort();
		return 0;
	}
	for (uint32_t i = 0; i < profile__nstacks(p); i++) {
		const struct prof_stack *s = profile__stack_at(p, i);
		if (s->count && !profile__thread_at(p, s->thread))
			abort();
		for (uint32_t k = 0; k < s->n; k++)
			if (!profile__frame_at(p, s->frames[k]))
				abort();
	}
	for (uint32_t i = 0; i < profile__nthreads(p); i++) {
		size_t n;
		const struct prof_run *r = profile__runs(p, i, &n);
		for (size_t k = 0; k < n; k++)
			if (!profile__stack_at(p, r[k].stack))
				abort();
	}
	profile__free(p);
	return 0;
}
