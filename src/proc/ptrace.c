/* SPDX-License-Identifier: MIT
 *
 * Thread pausing with PTRACE_SEIZE/INTERRUPT (see ptrace.h). The task list is
 * re-read until no new thread appears (bounded passes), so a thread created
 * during the pause is caught too. Each stop is awaited with waitpid(__WALL)
 * polled against a deadline, so a thread stuck in uninterruptible sleep
 * cannot hang cspy; such a thread is simply not counted as stopped.
 */
#include "proc/ptrace.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc/procfs.h"
#include "util/xalloc.h"

#define MAX_TASKS 16384
#define STOP_TIMEOUT_NS 500000000L
#define LATE_STOP_TIMEOUT_NS 5000000000L

struct traced {
	pid_t tid;
	bool stopped;
	int pending_sig;        /* signal to re-inject at detach */
};

struct ptrace_pause {
	pid_t pid;
	bool own_child;                 /* pid is cspy's child: leave its exit status alone */
	struct traced *t;
	size_t n, cap;
};

static bool known(const struct ptrace_pause *p, pid_t tid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->t[i].tid == tid)
			return true;
	return false;
}

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Wait until t is in a ptrace stop; 0 when stopped, -ESRCH when it exited.
 * The exit of our own child (cspy launched it) is only peeked at: its
 * status belongs to the launcher, which reaps it. */
static int wait_stop(struct traced *t, long deadline, bool own_child)
{
	for (;;) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, (id_t)t->tid, &si, WEXITED | WSTOPPED | __WALL | WNOHANG | WNOWAIT) < 0)
			return -errno;
		if (si.si_pid == 0) {
			if (now_ns() > deadline)
				return -ETIMEDOUT;
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
			continue;
		}
		bool exited = si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
			      si.si_code == CLD_DUMPED;
		if (exited && own_child)
			return -ESRCH;
		int status;
		if (waitpid(t->tid, &status, __WALL | WNOHANG) <= 0)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status);
		int event = status >> 16;
		if (event == PTRACE_EVENT_STOP) {
			t->stopped = true;
			return 0;
		}
		/* A signal-delivery stop arrived before our interrupt: keep the
		 * signal to give back at detach, the thread is stopped now. */
		if (sig != SIGTRAP)
			t->pending_sig = sig;
		t->stopped = true;
		return 0;
	}
}

/* The detach failed: the thread was killed out of its stop (exit_group of
 * another thread) and, still traced by us, turns into a zombie that only we
 * can reap. Unreaped, it would hold back its process's exit forever. */
static void reap_dying(pid_t tid)
{
	long deadline = now_ns() + STOP_TIMEOUT_NS;
	struct timespec ts = { 0, 50000 };
	for (;;) {
		pid_t r = waitpid(tid, NULL, __WALL | WNOHANG);
		if (r == tid || (r < 0 && errno != EINTR) || now_ns() > deadline)
			return;
		nanosleep(&ts, NULL);
	}
}

int ptrace_pause__stop(pid_t pid, struct ptrace_pause **out)
{
	struct ptrace_pause *p = xcalloc(1, sizeof(*p));
	pid_t *tids = xmalloc(MAX_TASKS * sizeof(*tids));
	int err = 0;
	p->pid = pid;

	for (int pass = 0; pass < 8; pass++) {
		int n = procfs_tasks(pid, tids, MAX_TASKS);
		if (n < 0) {
			err = n == -ENOENT ? -ESRCH : n;
			goto out;
		}
		size_t before = p->n;
		for (int i = 0; i < n; i++) {
			if (known(p, tids[i]))
				continue;
			if (ptrace(PTRACE_SEIZE, tids[i], NULL, NULL) < 0) {
				if (errno == ESRCH)
					continue;       /* thread exited */
				err = -errno;
				if (p->n == 0)
					goto out;
				err = 0;                /* partial: keep what we have */
				continue;
			}
			p->t = xgrow(p->t, &p->cap, p->n + 1, sizeof(*p->t));
			p->t[p->n++] = (struct traced){ .tid = tids[i] };
			ptrace(PTRACE_INTERRUPT, tids[i], NULL, NULL);
		}
		if (p->n == before)
			break;
	}
	if (p->n == 0) {
		err = -ESRCH;
		goto out;
	}
	long deadline = now_ns() + STOP_TIMEOUT_NS;
	struct procfs_stat st;
	p->own_child = procfs_stat(pid, 0, &st) == 0 && st.ppid == getpid();
	for (size_t i = 0; i < p->n; i++)
		wait_stop(&p->t[i], deadline, p->own_child && p->t[i].tid == pid);
out:
	free(tids);
	if (err) {
		ptrace_pause__resume(p);
		return err;
	}
	*out = p;
	return 0;
}

void ptrace_pause__resume(struct ptrace_pause *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		struct traced *t = &p->t[i];
		if (!t->stopped) {
			/* Not stopped yet (a loaded machine, or a thread deep in
			 * the kernel): a running tracee cannot be detached, and
			 * once it reaches its interrupt stop nobody would resume
			 * it. So wait for that stop (or its exit) before the
			 * detach, much longer than the sampling deadline. */
			if (wait_stop(t, now_ns() + LATE_STOP_TIMEOUT_NS,
				      p->own_child && t->tid == p->pid) == -ESRCH)
				continue;
		}
		if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)t->pending_sig) < 0 &&
		    errno == ESRCH && !(p->own_child && t->tid == p->pid))
			reap_dying(t->tid);
	}
	free(p->t);
	free(p);
}

int ptrace_pause__fs_base(const struct ptrace_pause *p, pid_t tid, uint64_t *fs_base)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->t[i].tid != tid || !p->t[i].stopped)
			continue;
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
			return -errno;
		*fs_base = regs.fs_base;
		return 0;
	}
	return -ESRCH;
}

int ptrace_pause__regs(const struct ptrace_pause *p, pid_t tid, struct user_regs_struct *regs)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->t[i].tid != tid || !p->t[i].stopped)
			continue;
		if (ptrace(PTRACE_GETREGS, tid, NULL, regs) < 0)
			return -errno;
		return 0;
	}
	return -ESRCH;
}
