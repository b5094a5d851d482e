/* SPDX-License-Identifier: MIT
 *
 * Reading the sources of a recording (see srcread.h). A byte per frame id
 * says whether the frame was looked at; a file is read at most once, since
 * profile__source() then finds it (text or error). New stacks are those
 * with ids at or above the count of the last scan: a reused id (a stack of
 * an exited thread's lane) is not looked at again, its frames were seen
 * when they were first sampled.
 */
#include "sampler/srcread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "proc/procfs.h"
#include "util/xalloc.h"

struct srcread {
	struct profile *p;
	size_t file_max, total_max, total;
	size_t next_stack;              /* stacks below this id were scanned */
	unsigned char *seen;            /* frame id -> looked at */
	size_t seen_cap;
	size_t ok, failed;
};

struct srcread *srcread__new(struct profile *p, size_t file_max, size_t total_max)
{
	struct srcread *r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->file_max = file_max;
	r->total_max = total_max;
	return r;
}

void srcread__free(struct srcread *r)
{
	if (!r)
		return;
	free(r->seen);
	free(r);
}

size_t srcread__files(const struct srcread *r, size_t *failed)
{
	if (failed)
		*failed = r->failed;
	return r->ok;
}

static void fail(struct srcread *r, const char *filename, const char *why)
{
	profile__set_source(r->p, filename, NULL, 0, why);
	r->failed++;
}

/* "1 MiB", or "1000 bytes" for a size that is not whole MiB. */
static void size_text(char *b, size_t n, size_t v)
{
	if (v >= (1u << 20) && v % (1u << 20) == 0)
		snprintf(b, n, "%zu MiB", v >> 20);
	else
		snprintf(b, n, "%zu bytes", v);
}

static void over_budget(struct srcread *r, const char *filename)
{
	char sz[32], why[96];
	size_text(sz, sizeof(sz), r->total_max);
	snprintf(why, sizeof(why), "not read: over the %s budget of sources", sz);
	fail(r, filename, why);
}

static void read_one(struct srcread *r, pid_t pid, const char *filename)
{
	if (filename[0] == '<') {       /* <frozen ...>, <string>, <stdin> */
		fail(r, filename, "not a file");
		return;
	}
	if (r->total >= r->total_max) {
		over_budget(r, filename);
		return;
	}
	char *buf = NULL;
	size_t len = 0;
	int err = procfs_read_root_file(pid, filename, r->file_max, &buf, &len);
	if (err == 0 && r->total + len > r->total_max) {
		free(buf);
		over_budget(r, filename);
		return;
	}
	if (err == 0) {
		profile__set_source(r->p, filename, buf, len, NULL);
		r->total += len;
		r->ok++;
		free(buf);
		return;
	}
	char why[96], sz[32];
	switch (err) {
	case -ENOENT: case -ENOTDIR: snprintf(why, sizeof(why), "not found"); break;
	case -EACCES: case -EPERM: snprintf(why, sizeof(why), "permission denied"); break;
	case -EFBIG:
		size_text(sz, sizeof(sz), r->file_max);
		snprintf(why, sizeof(why), "larger than %s", sz);
		break;
	case -EINVAL: snprintf(why, sizeof(why), "not a regular file"); break;
	case -ESRCH: snprintf(why, sizeof(why), "not read: the process had exited"); break;
	default: snprintf(why, sizeof(why), "not read: %s", strerror(-err)); break;
	}
	fail(r, filename, why);
}

void srcread__scan(struct srcread *r, size_t max_files)
{
	size_t reads = 0;
	size_t nframes = profile__nframes(r->p), nstacks = profile__nstacks(r->p);
	if (nframes > r->seen_cap) {
		size_t cap = r->seen_cap ? r->seen_cap : 256;
		while (cap < nframes)
			cap *= 2;
		r->seen = xrealloc(r->seen, cap);
		memset(r->seen + r->seen_cap, 0, cap - r->seen_cap);
		r->seen_cap = cap;
	}
	for (size_t i = r->next_stack; i < nstacks; i++) {
		const struct prof_stack *st = profile__stack_at(r->p, (uint32_t)i);
		if (!st->count)
			continue;
		pid_t pid = profile__thread_at(r->p, st->thread)->pid;
		for (uint32_t k = 0; k < st->n; k++) {
			uint32_t id = st->frames[k];
			if (id >= nframes || r->seen[id])
				continue;
			r->seen[id] = 1;
			const struct prof_frame *f = profile__frame_at(r->p, id);
			if (f->kind != PROF_FRAME_PYTHON || !f->filename[0] ||
			    profile__source(r->p, f->filename))
				continue;
			if (max_files && reads == max_files) {
				r->seen[id] = 0;        /* next time, from this stack on */
				r->next_stack = i;
				return;
			}
			read_one(r, pid, f->filename);
			reads++;
		}
	}
	r->next_stack = nstacks;
}
