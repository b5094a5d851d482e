/* SPDX-License-Identifier: MIT
 *
 * Thread run states (see threadstate.h). The TIDs, their kept-open
 * /proc/PID/task/TID/syscall descriptors and their last states are parallel
 * arrays; a re-listing carries descriptors over by TID and closes the ones of
 * threads that are gone. At most MAX_FDS descriptors are kept: threads past
 * that are read with open/read/close.
 */
#include "proc/threadstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc/procfs.h"
#include "util/xalloc.h"

#define MAX_TASKS 4096
#define MAX_FDS 256
#define RELIST_NS 100000000ull
#define IDLE_PROOF_NS 50000000ull

struct threadstate {
	pid_t pid;
	pid_t *tids;
	int *fds;
	signed char *running;
	int n, nfds;
	uint64_t listed_ns;
	clockid_t clock;        /* the process's CPU clock */
	bool have_clock;
	uint64_t cpu_ns;        /* process CPU time at the last read */
	uint64_t cpu_changed_ns;        /* when it last changed */
	bool have_cpu;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct threadstate *threadstate__new(pid_t pid)
{
	struct threadstate *t = xcalloc(1, sizeof(*t));
	t->pid = pid;
	t->tids = xmalloc(MAX_TASKS * sizeof(*t->tids));
	t->fds = xmalloc(MAX_TASKS * sizeof(*t->fds));
	t->running = xmalloc(MAX_TASKS);
	/* The kernel's MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED). */
	t->clock = (clockid_t)(((unsigned)~pid << 3) | 2);
	struct timespec ts;
	t->have_clock = pid > 0 && clock_gettime(t->clock, &ts) == 0;
	return t;
}

void threadstate__free(struct threadstate *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		if (t->fds[i] >= 0)
			close(t->fds[i]);
	free(t->tids);
	free(t->fds);
	free(t->running);
	free(t);
}

int threadstate__tasks(struct threadstate *t, bool refresh, const pid_t **tids)
{
	uint64_t now = mono_ns();
	if (refresh || !t->listed_ns || now - t->listed_ns > RELIST_NS) {
		pid_t *fresh = xmalloc(MAX_TASKS * sizeof(*fresh));
		int n = procfs_tasks(t->pid, fresh, MAX_TASKS);
		if (n < 0) {
			free(fresh);
			return n;
		}
		int *fds = xmalloc(MAX_TASKS * sizeof(*fds));
		signed char *run = xmalloc(MAX_TASKS);
		t->nfds = 0;
		for (int i = 0; i < n; i++) {
			fds[i] = -1;
			run[i] = 0;
			for (int k = 0; k < t->n; k++) {
				if (t->tids[k] != fresh[i])
					continue;
				fds[i] = t->fds[k];
				run[i] = t->running[k];
				t->fds[k] = -1;
				break;
			}
			t->nfds += fds[i] >= 0;
		}
		for (int k = 0; k < t->n; k++)
			if (t->fds[k] >= 0)
				close(t->fds[k]);
		free(t->tids);
		free(t->fds);
		free(t->running);
		t->tids = fresh;
		t->fds = fds;
		t->running = run;
		t->n = n;
		t->listed_ns = now;
	}
	*tids = t->tids;
	return t->n;
}

/* 1 when the syscall file says "running", 0 otherwise, -errno. */
static int read_state(struct threadstate *t, int i)
{
	char buf[16];
	if (t->fds[i] < 0 && t->nfds < MAX_FDS) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)t->pid, (int)t->tids[i]);
		t->fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (t->fds[i] < 0)
			return -errno;
		t->nfds++;
	}
	ssize_t n;
	if (t->fds[i] >= 0) {
		n = pread(t->fds[i], buf, sizeof(buf), 0);
	} else {
		int fd;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)t->pid, (int)t->tids[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	if (n < 0)
		return -errno;
	return n >= 7 && memcmp(buf, "running", 7) == 0;
}

void threadstate__read(struct threadstate *t)
{
	/* No CPU used for a while: every thread sleeps. A thread on a CPU has
	 * its current slice counted in the clock, so it shows at once; one that
	 * is runnable but waits for a CPU gets one within a scheduler period
	 * (a few ms), far less than IDLE_PROOF_NS. */
	if (t->have_clock) {
		struct timespec ts;
		if (clock_gettime(t->clock, &ts) == 0) {
			uint64_t cpu = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			uint64_t now = mono_ns();
			if (!t->have_cpu || cpu != t->cpu_ns)
				t->cpu_changed_ns = now;
			t->cpu_ns = cpu;
			t->have_cpu = true;
			if (now - t->cpu_changed_ns >= IDLE_PROOF_NS) {
				memset(t->running, 0, (size_t)t->n);
				return;
			}
		}
	}
	for (int i = 0; i < t->n; i++) {
		int r = read_state(t, i);
		t->running[i] = r > 0;
	}
}

int threadstate__running(const struct threadstate *t, pid_t tid)
{
	for (int i = 0; i < t->n; i++)
		if (t->tids[i] == tid)
			return t->running[i];
	return -1;
}
