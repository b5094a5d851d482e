/* SPDX-License-Identifier: MIT
 *
 * Thread pausing with PTRACE_SEIZE/INTERRUPT (see ptrace.h). The task list is
 * re-read until no new thread appears (bounded passes), so a thread created
 * during the pause is caught too. Each stop is awaited with waitpid(__WALL)
 * (for the leader of cspy's own child, waitid without WEXITED: its exit
 * status is the launcher's, see proc/launch.h) polled against a deadline
 * (at once, then between sleeps that a SIGCHLD ends: chld_sleep),
 * so a thread stuck in uninterruptible sleep cannot hang cspy; such a
 * thread is simply not counted as stopped. The registers of each stopped
 * thread are taken once, at its stop (arch/arch.h: the machine's own way):
 * the thread pointer maps old Pythons' thread ids to TIDs, the system call
 * registers tell whether the thread was blocked in a system call (idle) or
 * running.
 */
#include "proc/ptrace.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/procfs.h"
#include "util/xalloc.h"
#include "util/clock.h"

#define MAX_TASKS 16384
#define STOP_TIMEOUT_NS 500000000L
#define LATE_STOP_TIMEOUT_NS 5000000000L
#define SPIN_NS 200000ull       /* poll without sleeping for a stop this long */
#define SLEEP_MAX_NS 5000000ull /* then sleep until a SIGCHLD, at most this long at once */
#define OWN_CACHE 64            /* is_own_child's answers, by pid (a power of two) */

struct traced {
	pid_t tid;
	bool stopped;
	bool gone;              /* exited while seized (seen by a wait): nothing to detach */
	bool have_regs;
	bool group_stop;        /* stopped by SIGSTOP & co., not by our interrupt */
	int pending_sig;        /* signal to re-inject at detach */
	struct arch_regs regs;          /* at the stop (when have_regs) */
};

struct ptrace_pause {
	pid_t pid;
	uint64_t interrupted_ns;        /* clock at the first PTRACE_INTERRUPT */
	uint64_t stopped_ns;            /* ... once every stop was seen */
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

static void take_regs(struct traced *t)
{
	struct arch_regs regs;
	if (arch_regs_ptrace(t->tid, &regs) != 0)
		return;
	t->have_regs = true;
	t->regs = regs;
}

/* Take a pending stop of t, never its exit: 1 and *status (as waitpid
 * gives it), 0 when there is none, -ESRCH once t has exited, -errno. Used
 * for the leader of cspy's own child, whose exit status belongs to the
 * launcher (proc/launch.h): a waitpid on its TID, even one that found no
 * exit a moment earlier, would reap the whole process if it exited in
 * between. waitid without WEXITED cannot; the exit is only peeked at
 * (WNOWAIT). Stop reports carry the same code as waitpid's status >> 8. */
static int take_stop_only(pid_t tid, int *status)
{
	siginfo_t si = { 0 };
	if (waitid(P_PID, (id_t)tid, &si, WSTOPPED | __WALL | WNOHANG) < 0)
		return errno == EINTR ? 0 : -errno;
	if (si.si_pid == tid) {
		*status = (si.si_status << 8) | 0x7f;
		return 1;
	}
	/* A ptrace stop is reported even without WSTOPPED: only an exit is one. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)tid, &si, WEXITED | __WALL | WNOHANG | WNOWAIT) < 0)
		return errno == EINTR ? 0 : -errno;
	return si.si_pid == tid && (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
				    si.si_code == CLD_DUMPED) ? -ESRCH : 0;
}

/* Between polls for a stop that is slow to come (the thread waits for a
 * CPU: a busy machine), sleep until the kernel tells cspy, its tracer, of a
 * tracee's stop or exit (SIGCHLD), not in fixed slices: on a pool of busy
 * processes the stops take milliseconds, and polling every 20 us for them
 * was most of cspy's CPU. SIGCHLD is blocked only while waiting (a launched
 * program inherits cspy's signal mask) and before the poll that precedes
 * each sleep, so a stop after that poll leaves it pending and ends the
 * sleep at once; one that belongs to another thread or process just ends a
 * sleep early. */
struct chld_wait {
	bool blocked;
	sigset_t chld, old;
};

/* Sleep (SIGCHLD blocked) until a SIGCHLD or until the deadline, at most
 * SLEEP_MAX_NS. The first call only blocks SIGCHLD: poll again before the
 * first sleep. */
static void chld_sleep(struct chld_wait *w, uint64_t now, uint64_t deadline)
{
	if (!w->blocked) {
		sigemptyset(&w->chld);
		sigaddset(&w->chld, SIGCHLD);
		w->blocked = sigprocmask(SIG_BLOCK, &w->chld, &w->old) == 0;
		if (w->blocked)
			return;
		struct timespec ts = { 0, 20000 };      /* no signal mask: slices */
		nanosleep(&ts, NULL);
		return;
	}
	uint64_t left = deadline > now ? deadline - now : 0;
	if (left > SLEEP_MAX_NS)
		left = SLEEP_MAX_NS;
	struct timespec ts = { (time_t)(left / 1000000000ull), (long)(left % 1000000000ull) };
	(void)sigtimedwait(&w->chld, NULL, &ts);
}

/* The signal mask as it was (a SIGCHLD left pending is then discarded:
 * cspy does not handle it). */
static void chld_done(struct chld_wait *w)
{
	if (w->blocked)
		sigprocmask(SIG_SETMASK, &w->old, NULL);
	w->blocked = false;
}

/* Wait until t is in a ptrace stop; 0 when stopped, -ESRCH when it exited.
 * The exit of our own child (cspy launched it) is only peeked at: its
 * status belongs to the launcher, which reaps it. SIGCHLD may be left
 * blocked in w (chld_done). */
static int wait_stop_sleeping(struct traced *t, uint64_t deadline, bool own_child,
			      struct chld_wait *w)
{
	/* A thread stops a few microseconds after the interrupt; every one of
	 * them the program is held up. Poll at once for SPIN_NS (yielding, in
	 * case the thread waits for this CPU), only then sleep until a
	 * SIGCHLD between polls (chld_sleep). */
	uint64_t spin_until = clock_now_ns() + SPIN_NS;
	for (;;) {
		int status;
		pid_t r;
		if (own_child) {
			int e = take_stop_only(t->tid, &status);
			if (e < 0)
				return e;
			r = e ? t->tid : 0;
		} else {
			r = waitpid(t->tid, &status, __WALL | WNOHANG);
			if (r < 0 && errno != EINTR)
				return -errno;
		}
		if (r <= 0) {
			uint64_t now = clock_now_ns();
			if (now > deadline)
				return -ETIMEDOUT;
			if (now < spin_until) {
				sched_yield();
				continue;
			}
			chld_sleep(w, now, deadline);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status);
		int event = status >> 16;
		/* A signal-delivery stop that arrived before our interrupt: keep
		 * the signal to give back at detach, the thread is stopped now. */
		if (event != PTRACE_EVENT_STOP && sig != SIGTRAP)
			t->pending_sig = sig;
		/* A seized thread in a group stop (the user's SIGSTOP) reports
		 * PTRACE_EVENT_STOP with the stopping signal; our interrupt
		 * reports it with SIGTRAP. */
		t->group_stop = event == PTRACE_EVENT_STOP && sig != SIGTRAP;
		t->stopped = true;
		take_regs(t);
		return 0;
	}
}

/* wait_stop_sleeping for one thread, the signal mask restored after. */
static int wait_stop(struct traced *t, uint64_t deadline, bool own_child)
{
	struct chld_wait w = { .blocked = false };
	int err = wait_stop_sleeping(t, deadline, own_child, &w);
	chld_done(&w);
	return err;
}

/* The detach failed: the thread was killed out of its stop (exit_group of
 * another thread) and, still traced by us, turns into a zombie that only we
 * can reap. Unreaped, it would hold back its process's exit forever. */
static void reap_dying(pid_t tid)
{
	uint64_t deadline = clock_now_ns() + STOP_TIMEOUT_NS;
	struct timespec ts = { 0, 50000 };
	for (;;) {
		pid_t r = waitpid(tid, NULL, __WALL | WNOHANG);
		if (r == tid || (r < 0 && errno != EINTR) || clock_now_ns() > deadline)
			return;
		nanosleep(&ts, NULL);
	}
}

/* Is pid cspy's child? Asked at every pause of the same process, and the
 * answer cannot change while it lives: remembered by pid (OWN_CACHE slots:
 * --subprocesses pauses many processes in turn, each asked once). */
static bool is_own_child(pid_t pid)
{
	static struct { pid_t pid; bool own; } cache[OWN_CACHE];
	unsigned k = (unsigned)pid & (OWN_CACHE - 1);
	if (cache[k].pid != pid) {
		struct procfs_stat st;
		if (procfs_stat(pid, 0, &st) != 0)
			return true;    /* unknown (gone?): never reap it then */
		cache[k].own = st.ppid == getpid();
		cache[k].pid = pid;
	}
	return cache[k].own;
}

/* Seize the threads of tids that p does not hold yet, then (interrupt)
 * interrupt them all: seizing first makes the first thread stop as late as
 * possible, so the pause is short. Returns how many were added, or -errno
 * when none could be and the first failure was not an exited thread. */
static int seize(struct ptrace_pause *p, const pid_t *tids, int n, bool check_known, bool interrupt)
{
	size_t before = p->n;
	int err = 0;
	for (int i = 0; i < n; i++) {
		if (check_known && known(p, tids[i]))
			continue;
		if (ptrace(PTRACE_SEIZE, tids[i], NULL, NULL) < 0) {
			if (errno != ESRCH && !err)
				err = -errno;   /* ESRCH: the thread exited */
			continue;
		}
		p->t = xgrow(p->t, &p->cap, p->n + 1, sizeof(*p->t));
		p->t[p->n++] = (struct traced){ .tid = tids[i] };
	}
	if (!p->interrupted_ns && p->n > before && interrupt)
		p->interrupted_ns = clock_now_ns();
	for (size_t i = before; i < p->n && interrupt; i++)
		ptrace(PTRACE_INTERRUPT, p->t[i].tid, NULL, NULL);
	if (p->n == 0 && err)
		return err;
	return (int)(p->n - before);
}

void ptrace_pause__wait(struct ptrace_pause *p)
{
	uint64_t deadline = clock_now_ns() + STOP_TIMEOUT_NS;
	struct chld_wait w = { .blocked = false };
	for (size_t i = 0; i < p->n; i++) {
		struct traced *t = &p->t[i];
		if (!t->stopped && !t->gone &&
		    wait_stop_sleeping(t, deadline, p->own_child && t->tid == p->pid, &w) == -ESRCH)
			t->gone = true;
	}
	chld_done(&w);
	p->stopped_ns = clock_now_ns();
}

bool ptrace_pause__stopped(struct ptrace_pause *p)
{
	bool all = true;
	for (size_t i = 0; i < p->n; i++) {
		struct traced *t = &p->t[i];
		if (t->stopped || t->gone)
			continue;
		/* A deadline already passed: one poll, never a sleep. */
		struct chld_wait w = { .blocked = false };
		int e = wait_stop_sleeping(t, 0, p->own_child && t->tid == p->pid, &w);
		t->gone = e == -ESRCH;
		all = all && (t->stopped || t->gone);
	}
	return all;
}

static int finish_stop(struct ptrace_pause *p, struct ptrace_pause **out)
{
	if (p->n == 0) {
		ptrace_pause__resume(p);
		return -ESRCH;
	}
	ptrace_pause__wait(p);
	*out = p;
	return 0;
}

int ptrace_pause__stop(pid_t pid, struct ptrace_pause **out)
{
	struct ptrace_pause *p = xcalloc(1, sizeof(*p));
	pid_t *tids = xmalloc(MAX_TASKS * sizeof(*tids));
	p->pid = pid;
	p->own_child = is_own_child(pid);       /* before any wait, also on early exits */
	for (int pass = 0; pass < 8; pass++) {
		int n = procfs_tasks(pid, tids, MAX_TASKS);
		if (n < 0) {
			free(tids);
			ptrace_pause__resume(p);
			return n == -ENOENT ? -ESRCH : n;
		}
		int added = seize(p, tids, n, true, true);
		if (added < 0) {
			free(tids);
			ptrace_pause__resume(p);
			return added;
		}
		if (added == 0)
			break;
	}
	free(tids);
	return finish_stop(p, out);
}

int ptrace_pause__seize_tids(pid_t pid, const pid_t *tids, int n, struct ptrace_pause **out)
{
	struct ptrace_pause *p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->own_child = is_own_child(pid);
	int added = seize(p, tids, n > MAX_TASKS ? MAX_TASKS : n, false, false);
	if (added <= 0) {
		ptrace_pause__resume(p);
		return added < 0 ? added : -ESRCH;
	}
	*out = p;
	return 0;
}

void ptrace_pause__interrupt(struct ptrace_pause *p)
{
	if (!p->n || p->interrupted_ns)
		return;                 /* once */
	p->interrupted_ns = clock_now_ns();
	for (size_t i = 0; i < p->n; i++)
		ptrace(PTRACE_INTERRUPT, p->t[i].tid, NULL, NULL);
}

int ptrace_pause__stop_tids(pid_t pid, const pid_t *tids, int n, struct ptrace_pause **out)
{
	int err = ptrace_pause__seize_tids(pid, tids, n, out);
	if (!err) {
		ptrace_pause__interrupt(*out);
		ptrace_pause__wait(*out);
		return 0;
	}
	/* Nobody from that list: it is stale (or empty), list now. */
	return err == -ESRCH ? ptrace_pause__stop(pid, out) : err;
}

void ptrace_pause__resume(struct ptrace_pause *p)
{
	ptrace_pause__release(p);
}

uint64_t ptrace_pause__release(struct ptrace_pause *p)
{
	uint64_t released_ns = 0;
	if (!p)
		return 0;
	/* Seized but never interrupted (ptrace_pause__seize_tids alone): a
	 * tracee is detached from a stop only. */
	ptrace_pause__interrupt(p);
	for (size_t i = 0; i < p->n; i++) {
		struct traced *t = &p->t[i];
		if (t->gone)
			continue;
		if (!t->stopped) {
			/* Not stopped yet (a loaded machine, or a thread deep in
			 * the kernel): a running tracee cannot be detached, and
			 * once it reaches its interrupt stop nobody would resume
			 * it. So wait for that stop (or its exit) before the
			 * detach, much longer than the sampling deadline. */
			if (wait_stop(t, clock_now_ns() + LATE_STOP_TIMEOUT_NS,
				      p->own_child && t->tid == p->pid) == -ESRCH)
				continue;
		}
		released_ns = clock_now_ns();
		if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)t->pending_sig) < 0 &&
		    errno == ESRCH && !(p->own_child && t->tid == p->pid))
			reap_dying(t->tid);
	}
	free(p->t);
	free(p);
	return released_ns;
}

void ptrace_pause__times(const struct ptrace_pause *p, uint64_t *interrupted_ns, uint64_t *stopped_ns)
{
	*interrupted_ns = p->interrupted_ns;
	*stopped_ns = p->stopped_ns;
}

static const struct traced *find(const struct ptrace_pause *p, pid_t tid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->t[i].tid == tid)
			return &p->t[i];
	return NULL;
}

int ptrace_pause__tp(const struct ptrace_pause *p, pid_t tid, uint64_t *tp)
{
	const struct traced *t = find(p, tid);
	if (!t || !t->stopped || !t->have_regs)
		return -ESRCH;
	*tp = t->regs.tp;
	return 0;
}

/* arch_read_fn over PTRACE_PEEKTEXT of a stopped thread (whole words). */
static int peek_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	pid_t tid = *(const pid_t *)ctx;
	for (size_t done = 0; done < len; done += sizeof(long)) {
		errno = 0;
		long word = ptrace(PTRACE_PEEKTEXT, tid, (void *)(uintptr_t)(addr + done), NULL);
		if (errno)
			return -errno;
		size_t n = len - done < sizeof(word) ? len - done : sizeof(word);
		memcpy((char *)buf + done, &word, n);
	}
	return 0;
}

int ptrace_pause__running(const struct ptrace_pause *p, pid_t tid)
{
	const struct traced *t = find(p, tid);
	if (!t)
		return -ESRCH;
	if (!t->stopped || !t->have_regs || t->group_stop)
		return 0;
	pid_t peek_tid = t->tid;
	return arch_regs_running(&t->regs, peek_code, &peek_tid) ? 1 : 0;
}

int ptrace_pause__regs(const struct ptrace_pause *p, pid_t tid, struct arch_regs *regs)
{
	const struct traced *t = find(p, tid);
	if (!t || !t->stopped || !t->have_regs)
		return -ESRCH;
	*regs = t->regs;        /* taken at the stop */
	return 0;
}
