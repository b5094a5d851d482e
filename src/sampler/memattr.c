/* SPDX-License-Identifier: MIT
 *
 * --memory's attribution of resident-memory changes to stacks (see
 * memattr.h for the rule). Per target: the statm fd, the last resident
 * size, the net change not attributed yet, and this tick's active threads
 * (TID and stack id; a growing array, each thread once: the caller's
 * order, a thread given again right away ignored).
 */
#include "sampler/memattr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "agg/profile.h"
#include "proc/procfs.h"
#include "util/xalloc.h"

struct memattr_thread {
	pid_t tid;
	uint32_t stack;
};

struct memattr {
	int fd;                         /* /proc/PID/statm, -1 if none */
	uint64_t page;                  /* bytes per page */
	bool have;                      /* a baseline was read */
	uint64_t resident;              /* bytes, at the latest read */
	int64_t pending;                /* net change since the last attribution */
	uint64_t read_fails;
	struct memattr_thread *th;      /* this tick's active threads */
	size_t n, cap;
};

struct memattr *memattr__new_pure(void)
{
	struct memattr *m = xcalloc(1, sizeof(*m));
	m->fd = -1;
	long pg = sysconf(_SC_PAGESIZE);
	m->page = pg > 0 ? (uint64_t)pg : 4096;
	return m;
}

struct memattr *memattr__new(pid_t pid)
{
	struct memattr *m = memattr__new_pure();
	int fd = procfs_statm_open(pid);
	m->fd = fd >= 0 ? fd : -1;
	return m;
}

void memattr__free(struct memattr *m)
{
	if (!m)
		return;
	if (m->fd >= 0)
		close(m->fd);
	free(m->th);
	free(m);
}

int memattr__read(struct memattr *m)
{
	struct procfs_statm sm;
	int err = m->fd >= 0 ? procfs_statm_read(m->fd, &sm) : -EBADF;
	if (!err && !sm.size)
		err = -ESRCH;   /* no memory at all: exiting (a zombie), not a shrink */
	if (err) {
		m->read_fails++;
		return err;
	}
	memattr__resident(m, sm.resident * m->page);
	return 0;
}

void memattr__resident(struct memattr *m, uint64_t bytes)
{
	if (m->have)
		m->pending += (int64_t)(bytes - m->resident);   /* two's complement: a shrink is < 0 */
	m->have = true;
	m->resident = bytes;
}

void memattr__thread(struct memattr *m, pid_t tid, uint32_t stack)
{
	if (m->n && m->th[m->n - 1].tid == tid)
		return;         /* the same thread again (its stack given twice) */
	m->th = xgrow(m->th, &m->cap, m->n + 1, sizeof(*m->th));
	m->th[m->n++] = (struct memattr_thread){ .tid = tid, .stack = stack };
}

void memattr__attribute(struct memattr *m, struct profile *p, struct memattr_totals *tot)
{
	size_t n = m->n;
	m->n = 0;
	if (!n || !m->pending)
		return;
	bool grow = m->pending > 0;
	uint64_t bytes = grow ? (uint64_t)m->pending : (uint64_t)0 - (uint64_t)m->pending;
	m->pending = 0;
	uint64_t share = bytes / n, rest = bytes % n;
	for (size_t i = 0; i < n; i++) {
		uint64_t b = share + (i < rest);
		if (!b)
			continue;
		if (m->th[i].stack == PROFILE_NO_STACK) {
			*(grow ? &tot->dropped_grow : &tot->dropped_shrink) += b;
			continue;
		}
		profile__add_memory(p, m->th[i].stack, grow ? (int64_t)b : -(int64_t)b);
		*(grow ? &tot->grown : &tot->shrunk) += b;
	}
}

int64_t memattr__pending(const struct memattr *m)
{
	return m->pending;
}

uint64_t memattr__read_fails(const struct memattr *m)
{
	return m->read_fails;
}
