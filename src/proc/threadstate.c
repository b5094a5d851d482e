/* SPDX-License-Identifier: MIT
 *
 * Thread run states (see threadstate.h). Per TID: kept-open descriptors of
 * /proc/PID/task/TID/syscall and .../schedstat (and .../stat, read only for
 * a thread neither runnable nor in a system call), the last state and the
 * last schedstat text. A thread found asleep whose schedstat (CPU time, wait
 * time, times scheduled) has not changed since has not been on a CPU since:
 * it still sleeps, and its cheaper schedstat is all that is read. A
 * re-listing carries everything over by TID and closes the descriptors of
 * threads that are gone. In a nested PID namespace a thread's id there is
 * read from its status file when the list first shows it, and carried over
 * like the rest. The TIDs are kept sorted, so that the carry-over
 * and threadstate__running are binary searches (1,000 threads: no quadratic
 * walk). At most max_fds descriptors are kept (a quarter of the open-file
 * limit, whose soft value is first raised to the hard one, up to 65536):
 * threads past that are read with open/read/close, which costs a path
 * lookup each time.
 *
 * Before any of that, the process's CPU clock (one clock_gettime): when it
 * has not moved since the last read, at which no thread ran, no thread has
 * run since (threadstate__quiet): no per-thread file is read, and the task
 * list is not listed again either (starting or ending a thread takes CPU
 * time). A pool of mostly waiting worker processes costs one clock read
 * per worker per sample.
 *
 * At very high rates a thread can be proved running without any file
 * (threadstate__ran): its innermost frame or instruction changed between
 * the two stacks read before, the older read begun at most RAN_PROOF_NS
 * ago, so it ran Python code within that time; it is counted running, and
 * when every listed thread is so proved the CPU clock is not read either.
 * A proof is used once: the stack read after it makes the next one. A
 * thread that has just entered a blocking call is counted running at most
 * once for it (its frame is unchanged at the next read, which then reads
 * its file). At normal rates (intervals over RAN_PROOF_NS) nothing changes.
 *
 * GIL waiters (GIL builds, given by the caller with threadstate__set_gil):
 * a thread whose syscall file showed it in futex() on an address inside the
 * GIL's condition variable waits in take_gil(), whose loop it leaves only
 * by taking the GIL (or by exiting at finalization: the task list shows
 * that). Taking it stores the taker as last_holder and, the taker being
 * another thread than the last holder (a waiter never is: the GIL was held
 * by another when it began to wait), adds one to switch_number. The caller
 * reads the GIL before each read of the states, so that the counter's
 * change between two of its reads covers every take since the earlier
 * read's syscall files: no change, nobody took it; a change of one, the one
 * taker is last_holder now. Every other known waiter still waits and is not
 * read (gil_skips); it stays a known waiter. With two or more changes the
 * takers are not known and every waiter is read. Between two reads the
 * caller may read the GIL more often (threadstate__gil_poll, e.g. every
 * half switch interval): each poll's change of one names its taker, so the
 * takers since the last read are known as long as no two reads of the GIL
 * in a row saw two changes or more. Polls pay only where a tick gap holds
 * two switches or more: after GIL_QUIET_GAPS gaps in a row of at most one
 * (threadstate__gil_poll_us), their period doubles, and again after as
 * many more, up to 64 times; a gap of two or more brings it back to half
 * the interval. That moves only the cost: a gap with too few polls for its
 * switches loses the track, and its waiters are read. A waiter woken by its
 * wait's timeout (every switch interval, 5 ms) and caught outside the
 * futex is read as usual and is a waiter again once seen back in it.
 * Without the GIL read (g NULL), or after a read without one, nothing is
 * skipped.
 */
#include "proc/threadstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proc/procfs.h"
#include "util/xalloc.h"
#include "util/clock.h"

#define MAX_TASKS 4096
#define MIN_FDS 64
#define MAX_FDS (3 * MAX_TASKS)
#define NOFILE_WANTED 65536
#define SCHED_LEN 48            /* "sum_exec run_delay pcount\n" */
#define RELIST_NS 100000000ull
#define IDLE_PROOF_NS 50000000ull
#define GIL_TAKERS_MAX 16       /* takers tracked between two reads (more: all read) */
#define CHURN_READS 8           /* a thread found woken since: reads before the next check */
#define RAN_PROOF_NS 20000ull   /* a changed innermost frame proves a run this recent */
#define CLOCK_SPARE_THREADS 16  /* threads from which a busy process's clock is not read */
#define GIL_QUIET_MAX 1024u     /* quiet tick gaps counted at most */
#define GIL_BACKOFF_MAX 6       /* the poll period is doubled at most this many times */

struct thread {
	int fd, sched_fd, stat_fd;      /* -1: not open */
	bool running;
	bool read;              /* run state read since the thread was listed */
	unsigned char churn;    /* reads left without the schedstat check (see thread_running) */
	bool woke;              /* the last schedstat check found it changed */
	bool proved;            /* at this read: running by threadstate__ran's proof */
	bool gil_wait;          /* its last syscall read: futex on the GIL's cond */
	pid_t ns_tid;           /* id in the process's PID namespace (nested only), 0 unknown */
	char sched[SCHED_LEN];  /* the last schedstat text, "" if none */
	/* threadstate__ran: the innermost frame and instruction at the last
	 * stack read, begun at leaf_ns; proof_ns: when the read before it
	 * began, if the two differ (it ran since), else 0. */
	uint64_t leaf_frame, leaf_instr, leaf_ns, proof_ns;
};

struct threadstate {
	pid_t pid;
	pid_t *tids;            /* sorted */
	struct thread *th;
	int n, nfds, max_fds;
	uint64_t listed_ns;
	unsigned listings;
	clockid_t clock;        /* the process's CPU clock */
	bool have_clock;
	uint64_t cpu_ns;        /* process CPU time at the last read */
	uint64_t cpu_changed_ns;        /* when it last changed */
	bool have_cpu;
	bool quiet;             /* see threadstate__quiet */
	int nrunning;           /* threads found running by the last read */
	uint64_t listed_cpu_ns; /* process CPU time at the last listing */
	bool have_listed_cpu;
	/* The listing's proof of no change (see tasks_unchanged): the
	 * pid namespace's last PID and the task directory's link count (2 +
	 * the thread count) read before the last listing. */
	int lastpid_fd, taskdir_fd;     /* -1: not open; -2: not usable */
	long listed_last_pid;
	nlink_t listed_nlink;
	bool have_listed_ids;
	uint64_t relists_spared;
	uint64_t clock_spared;  /* CPU clock reads left out (threadstate__clock_spared) */
	uint64_t reads;         /* per-thread files read (threadstate__reads) */
	uint64_t proofs;        /* run states proved by a changed frame (threadstate__proofs) */
	int stat_fd;            /* /proc/PID/stat, kept open for the liveness check */
	uint64_t alive_ns;      /* when the process was last seen alive, not a zombie */
	bool nested;            /* in another PID namespace: ns_tid is read per thread */
	struct threadstate_gil gil;     /* the last given (its cond range is kept) */
	bool have_gil;
	uint64_t gil_prev;      /* switch counter given before the last read */
	bool have_gil_prev;
	bool gil_broken;        /* since the last read: a change of 2+ between two GIL reads */
	pid_t takers[GIL_TAKERS_MAX];   /* since the last read: the known takers */
	int ntakers;
	int gil_waiters;        /* threads with gil_wait after the last read */
	uint64_t gil_skips;
	uint64_t gil_read_switches;     /* the counter given at the last read */
	bool have_gil_read;
	unsigned gil_quiet;     /* quiet gaps in a row (threadstate__gil_poll_us) */
	uint64_t gil_read_ns;   /* when the last read with the GIL was */
	uint64_t gil_spared;    /* polls left out by the back-off (threadstate__gil_spared) */
};

struct threadstate *threadstate__new(pid_t pid)
{
	struct threadstate *t = xcalloc(1, sizeof(*t));
	t->pid = pid;
	t->stat_fd = -1;
	t->lastpid_fd = t->taskdir_fd = -1;
	/* The kernel's MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED). */
	t->clock = (clockid_t)(((unsigned)~pid << 3) | 2);
	struct timespec ts;
	t->have_clock = pid > 0 && clock_gettime(t->clock, &ts) == 0;
	t->nested = pid > 0 && procfs_pid_nested(pid) == 1;
	/* Three descriptors per thread at most; a quarter of the limit. */
	struct rlimit rl;
	t->max_fds = MIN_FDS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = rl.rlim_max < NOFILE_WANTED ? rl.rlim_max : NOFILE_WANTED;
		if (rl.rlim_cur < want) {
			rl.rlim_cur = want;
			if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
				getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 > MIN_FDS)
			t->max_fds = rl.rlim_cur / 4 < MAX_FDS ? (int)(rl.rlim_cur / 4) : MAX_FDS;
		else if (rl.rlim_cur == RLIM_INFINITY)
			t->max_fds = MAX_FDS;
	}
	return t;
}

/* The process's CPU time (all its threads, the running ones' current
 * slices included) into *ns: true, or false when it cannot be read. */
static bool process_cpu(const struct threadstate *t, uint64_t *ns)
{
	struct timespec ts;
	if (!t->have_clock || clock_gettime(t->clock, &ts) != 0)
		return false;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return true;
}

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

/* Index of tid in the sorted t->tids, -1 if absent. */
static int tid_index(const struct threadstate *t, pid_t tid)
{
	const pid_t *hit = t->n ? bsearch(&tid, t->tids, (size_t)t->n, sizeof(*t->tids), tid_cmp) : NULL;
	return hit ? (int)(hit - t->tids) : -1;
}

static void close_thread(struct threadstate *t, struct thread *th)
{
	if (th->fd >= 0) {
		close(th->fd);
		t->nfds--;
	}
	if (th->sched_fd >= 0) {
		close(th->sched_fd);
		t->nfds--;
	}
	if (th->stat_fd >= 0) {
		close(th->stat_fd);
		t->nfds--;
	}
	th->fd = th->sched_fd = th->stat_fd = -1;
}

void threadstate__free(struct threadstate *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		close_thread(t, &t->th[i]);
	if (t->stat_fd >= 0)
		close(t->stat_fd);
	if (t->lastpid_fd >= 0)
		close(t->lastpid_fd);
	if (t->taskdir_fd >= 0)
		close(t->taskdir_fd);
	free(t->tids);
	free(t->th);
	free(t);
}

/* A process of many threads one of which ran at the last read: its CPU
 * clock (a sum over every thread) is not read, it proves nothing then. */
static bool busy_many(const struct threadstate *t)
{
	return t->nrunning > 0 && t->n >= CLOCK_SPARE_THREADS;
}

/* The last PID allocated in cspy's PID namespace and the link count of
 * the process's task directory (2 + its thread count), read now: true, or
 * false when they cannot be (then never again for this process). Only
 * when /proc is the one of cspy's own PID namespace (/proc/self is
 * getpid()): the target's threads then take their PIDs in it too, every
 * thread created anywhere in that namespace or below moves its last PID. */
static bool task_ids(struct threadstate *t, long *last_pid, nlink_t *nlink)
{
	if (t->lastpid_fd == -2 || t->pid <= 0)
		return false;
	if (t->lastpid_fd < 0) {
		char self[32], path[48];
		ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
		snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
		if (n > 0)
			self[n] = '\0';
		if (n <= 0 || atol(self) != (long)getpid() ||
		    (t->lastpid_fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC)) < 0 ||
		    (t->taskdir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			if (t->lastpid_fd >= 0)
				close(t->lastpid_fd);
			t->lastpid_fd = t->taskdir_fd = -2;
			return false;
		}
	}
	char buf[24];
	struct stat st;
	ssize_t n = pread(t->lastpid_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0 || fstat(t->taskdir_fd, &st) != 0)
		return false;
	buf[n] = '\0';
	*last_pid = atol(buf);
	*nlink = st.st_nlink;
	return true;
}

/* Is the last listing still the process's task list? Yes when no PID was
 * allocated in the namespace since (no thread created) and the thread
 * count is the same (then none ended either), both read before that
 * listing and now. Exact but for a full wrap of the PID space between the
 * two reads. */
static bool tasks_unchanged(struct threadstate *t)
{
	long last_pid;
	nlink_t nlink;
	return t->have_listed_ids && task_ids(t, &last_pid, &nlink) &&
	       last_pid == t->listed_last_pid && nlink == t->listed_nlink;
}

int threadstate__tasks(struct threadstate *t, bool refresh, const pid_t **tids)
{
	uint64_t now = clock_now_ns();
	uint64_t cpu;
	bool due = refresh || !t->listed_ns || now - t->listed_ns > RELIST_NS;
	if (due && !refresh && t->listed_ns) {
		if (tasks_unchanged(t)) {
			due = false;    /* no thread created, none ended */
			t->relists_spared++;
		} else if (t->have_listed_cpu && process_cpu(t, &cpu) && cpu == t->listed_cpu_ns) {
			due = false;    /* no CPU used since: no thread started or ended */
		}
		if (!due)
			t->listed_ns = now;
	}
	if (due) {
		/* before the listing; not for a busy process of many threads
		 * (see read_states: its clock moves, and costs a sum over them) */
		t->have_listed_cpu = !busy_many(t) && process_cpu(t, &t->listed_cpu_ns);
		t->have_listed_ids = task_ids(t, &t->listed_last_pid, &t->listed_nlink);
		pid_t *fresh = xmalloc(MAX_TASKS * sizeof(*fresh));
		int n = procfs_tasks(t->pid, fresh, MAX_TASKS);
		if (n < 0) {
			free(fresh);
			return n;
		}
		qsort(fresh, (size_t)n, sizeof(*fresh), tid_cmp);
		struct thread *th = xmalloc((size_t)(n ? n : 1) * sizeof(*th));
		for (int i = 0; i < n; i++) {
			th[i] = (struct thread){ .fd = -1, .sched_fd = -1, .stat_fd = -1 };
			int k = tid_index(t, fresh[i]);
			if (k >= 0) {
				th[i] = t->th[k];
				t->th[k].fd = t->th[k].sched_fd = t->th[k].stat_fd = -1;   /* moved */
			}
			if (t->nested && !th[i].ns_tid) {
				pid_t inner;
				int levels;
				if (procfs_thread_nspid(t->pid, fresh[i], &inner, &levels) == 0 &&
				    levels > 1)
					th[i].ns_tid = inner;
			}
		}
		for (int k = 0; k < t->n; k++)
			close_thread(t, &t->th[k]);
		free(t->tids);
		free(t->th);
		t->tids = fresh;
		t->th = th;
		t->n = n;
		t->listed_ns = now;
		t->listings++;
	}
	*tids = t->tids;
	return t->n;
}

/* Read /proc/PID/task/TID/<file> through the kept descriptor *fd (opened on
 * first use while under MAX_FDS). Returns the byte count or -errno. */
static ssize_t read_proc(struct threadstate *t, pid_t tid, const char *file, int *fd,
			 char *buf, size_t cap)
{
	char path[64];
	t->reads++;
	if (*fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)t->pid, (int)tid, file);
		int f = open(path, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			return -errno;
		if (t->nfds >= t->max_fds) {
			ssize_t n = read(f, buf, cap);
			int e = errno;
			close(f);
			return n < 0 ? -e : n;
		}
		*fd = f;
		t->nfds++;
	}
	ssize_t n = pread(*fd, buf, cap, 0);
	return n < 0 ? -errno : n;
}

/* Stopped (state T or t in /proc/PID/task/TID/stat)? */
static bool thread_stopped(struct threadstate *t, int i)
{
	char buf[512];
	ssize_t n = read_proc(t, t->tids[i], "stat", &t->th[i].stat_fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');     /* the name may hold anything */
	return p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}

/* Does a syscall file's text (n bytes in buf, which has room for one more)
 * show a futex wait on the GIL's condition variable? "NR 0xARG1 ...". */
static bool gil_wait(const struct threadstate_gil *g, char *buf, size_t n)
{
	buf[n] = '\0';
	char *end;
	long nr = strtol(buf, &end, 10);
	if (end == buf || nr != SYS_futex || strncmp(end, " 0x", 3) != 0)
		return false;
	const char *hex = end + 3;
	unsigned long long addr = strtoull(hex, &end, 16);
	return end != hex && (*end == ' ' || *end == '\n') &&
	       addr >= g->cond_lo && addr < g->cond_hi;
}

/* Running now? A thread seen asleep whose schedstat has not changed since
 * has not been on a CPU since; otherwise its syscall file says. The
 * schedstat snapshot is taken whenever the thread is found asleep. A
 * thread found woken since at two checks in a row (a changed schedstat:
 * one waiting with a short timeout, e.g. for the GIL, wakes every few
 * milliseconds) is read without that check for the next CHURN_READS
 * reads: the check would only add a read to each. (One that sleeps for
 * longer than a sample interval, woken now and then, keeps the check.) */
static bool thread_running(struct threadstate *t, int i)
{
	struct thread *th = &t->th[i];
	char sched[SCHED_LEN];
	ssize_t n = 0;
	bool check = !th->running && th->churn == 0;
	if (th->churn)
		th->churn--;
	/* Asleep last time: read schedstat first (before the state, so that a
	 * run after this moment changes it). */
	if (check) {
		n = read_proc(t, t->tids[i], "schedstat", &th->sched_fd, sched, sizeof(sched) - 1);
		if (n > 0) {
			sched[n] = '\0';
			if (th->sched[0] && strcmp(sched, th->sched) == 0) {
				th->woke = false;
				return false;   /* asleep, and not on a CPU since */
			}
			if (th->sched[0] && th->woke)
				th->churn = CHURN_READS;
			th->woke = th->sched[0] != '\0';
		}
	}
	char buf[40];
	ssize_t m = read_proc(t, t->tids[i], "syscall", &th->fd, buf, sizeof(buf) - 1);
	th->gil_wait = m > 0 && t->gil.cond_hi && gil_wait(&t->gil, buf, (size_t)m);
	/* "running": on a CPU or runnable. "-1 SP PC": not in a system call,
	 * yet not runnable: stopped (SIGSTOP, a debugger), or in the middle of
	 * a state change: woken, e.g. by the detach of the previous pause,
	 * with the wake-up not yet done (on a VM that takes up to a few
	 * hundred microseconds), or held at a page fault. Only the stopped
	 * one is not running; its stat says which (read only then), and a
	 * pause's registers say what a running one does. */
	bool running = m >= 7 && memcmp(buf, "running", 7) == 0;
	if (!running && m >= 2 && buf[0] == '-' && buf[1] == '1')
		running = !thread_stopped(t, i);
	th->sched[0] = '\0';
	if (!running && th->churn == 0) {
		/* Running last time, so not read above: now (a run between
		 * the two reads shows within a scheduler tick). */
		if (n <= 0)
			n = read_proc(t, t->tids[i], "schedstat", &th->sched_fd, sched,
				      sizeof(sched) - 1);
		if (n > 0) {
			sched[n] = '\0';
			memcpy(th->sched, sched, (size_t)n + 1);
		}
	}
	return running;
}

/* Alive and not a zombie, by /proc/PID/stat (kept open)? A zombie keeps
 * its CPU clock, unchanged: quiet would hide its end from the caller,
 * whose failed read of the stacks tells it. Checked once per RELIST_NS. */
static bool process_live(struct threadstate *t, uint64_t now)
{
	if (now - t->alive_ns < RELIST_NS)
		return true;
	char buf[512];
	if (t->stat_fd < 0) {
		char path[32];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)t->pid);
		t->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	ssize_t n = t->stat_fd >= 0 ? pread(t->stat_fd, buf, sizeof(buf) - 1, 0) : -1;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return false;
	t->alive_ns = now;
	return true;
}

void threadstate__ran(struct threadstate *t, pid_t tid, uint64_t frame, uint64_t instr,
		      uint64_t read_ns)
{
	int i = tid_index(t, tid);
	if (i < 0)
		return;
	struct thread *th = &t->th[i];
	bool moved = th->leaf_ns && frame && instr && th->leaf_ns < read_ns &&
		     (frame != th->leaf_frame || instr != th->leaf_instr);
	th->proof_ns = moved ? th->leaf_ns : 0;
	th->leaf_frame = frame;
	th->leaf_instr = instr;
	th->leaf_ns = read_ns;
}

/* Threads proved running (threadstate__ran) marked so, their proofs used
 * up; how many were. */
static int proved_running(struct threadstate *t, uint64_t now)
{
	int proved = 0;
	for (int i = 0; i < t->n; i++) {
		struct thread *th = &t->th[i];
		th->proved = th->proof_ns && now - th->proof_ns <= RAN_PROOF_NS;
		th->proof_ns = 0;
		proved += th->proved;
	}
	t->proofs += (uint64_t)proved;
	return proved;
}

void threadstate__set_gil(struct threadstate *t, const struct threadstate_gil *g)
{
	t->have_gil = g != NULL;
	if (g)
		t->gil = *g;            /* without: the last cond range still finds waiters */
}

/* One more read of the GIL g: the takers since the previous one. */
static void gil_track(struct threadstate *t, const struct threadstate_gil *g)
{
	uint64_t d = g->switches - t->gil_prev;
	if (!t->have_gil_prev)
		t->gil_broken = true;
	else if (d == 1 && g->last_holder > 0 && t->ntakers < GIL_TAKERS_MAX)
		t->takers[t->ntakers++] = g->last_holder;
	else if (d != 0)
		t->gil_broken = true;
	t->gil_prev = g->switches;
	t->have_gil_prev = true;
}

void threadstate__gil_poll(struct threadstate *t, const struct threadstate_gil *g)
{
	if (!g) {
		t->gil_broken = true;
	} else if (t->have_gil_prev && !t->gil_broken) {
		gil_track(t, g);
		t->gil = *g;
	}
}

const struct threadstate_gil *threadstate__gil_last(const struct threadstate *t)
{
	return t->gil.cond_hi ? &t->gil : NULL;
}

uint64_t threadstate__gil_poll_us(uint64_t interval_us, unsigned quiet)
{
	unsigned shift = quiet / GIL_QUIET_GAPS;
	uint64_t us = (interval_us ? interval_us : 1) / 2;
	if (shift > GIL_BACKOFF_MAX)
		shift = GIL_BACKOFF_MAX;
	return (us ? us : 1) << shift;
}

uint64_t threadstate__gil_polling(const struct threadstate *t)
{
	if (!t->have_gil_prev || t->gil_broken || t->gil_waiters < 2)
		return 0;
	return threadstate__gil_poll_us(t->gil.interval_us, t->gil_quiet);
}

uint64_t threadstate__gil_spared(const struct threadstate *t)
{
	return t->gil_spared;
}

/* At a read with the GIL: the tick gap since the last one was quiet (at
 * most one switch in all: no poll in it was of use) or not; the polls the
 * back-off left out of it, counted. */
static void gil_gap(struct threadstate *t, const struct threadstate_gil *g)
{
	uint64_t now = clock_now_ns();
	if (t->have_gil_read) {
		uint64_t base = threadstate__gil_poll_us(g->interval_us, 0) * 1000;
		uint64_t used = threadstate__gil_poll_us(g->interval_us, t->gil_quiet) * 1000;
		uint64_t gap = now - t->gil_read_ns;
		if (used > base && t->gil_waiters >= 2)
			t->gil_spared += gap / base - gap / used;
		if (g->switches - t->gil_read_switches <= 1)
			t->gil_quiet += t->gil_quiet < GIL_QUIET_MAX;
		else
			t->gil_quiet = 0;
	}
	t->gil_read_switches = g->switches;
	t->gil_read_ns = now;
	t->have_gil_read = true;
}

/* May the known GIL waiters be left unread in this read, but for the
 * takers (see above)? */
static bool gil_rule(struct threadstate *t)
{
	if (!t->have_gil) {
		t->have_gil_prev = false;
		t->have_gil_read = false;
		t->gil_quiet = 0;
		return false;
	}
	gil_gap(t, &t->gil);
	gil_track(t, &t->gil);
	return !t->gil_broken;
}

static bool gil_taker(const struct threadstate *t, pid_t tid)
{
	for (int i = 0; i < t->ntakers; i++)
		if (t->takers[i] == tid)
			return true;
	return tid == t->gil.last_holder;
}

static void read_states(struct threadstate *t)
{
	bool skip_waiters = gil_rule(t);
	/* No CPU used for a while: every thread sleeps. A thread on a CPU has
	 * its current slice counted in the clock, so it shows at once; one that
	 * is runnable but waits for a CPU gets one within a scheduler period
	 * (a few ms), far less than IDLE_PROOF_NS. */
	uint64_t cpu;
	t->quiet = false;
	uint64_t now = clock_now_ns();
	int proved = proved_running(t, now);
	if (proved && proved == t->n) {
		for (int i = 0; i < t->n; i++) {
			t->th[i].running = true;
			t->th[i].read = true;
		}
		t->nrunning = t->n;
		t->have_cpu = false;    /* not read: the next read compares nothing */
		t->cpu_changed_ns = now;
		return;
	}
	if (busy_many(t)) {
		/* A thread ran at the last read: the clock could prove
		 * nothing now (quiet needs none running then), and the
		 * idle proof counts from now, as if it had moved. Only for
		 * processes of many threads, whose clock is a sum over all
		 * of them: for a few, the clock read now lets the next read
		 * be quiet (a worker of a pool just done). */
		t->have_cpu = false;
		t->cpu_changed_ns = now;
		t->clock_spared++;
	} else if (process_cpu(t, &cpu)) {
		bool same = t->have_cpu && cpu == t->cpu_ns;
		if (!same)
			t->cpu_changed_ns = now;
		t->cpu_ns = cpu;
		t->have_cpu = true;
		if (same && t->nrunning == 0 && !proved) {
			/* Quiet when the last read covered every listed thread
			 * (a relisting may have added some since). */
			int i = 0;
			while (i < t->n && t->th[i].read)
				i++;
			if (i == t->n && process_live(t, now)) {
				t->quiet = true;
				return;
			}
		}
		if (now - t->cpu_changed_ns >= IDLE_PROOF_NS) {
			int nr = 0;
			for (int i = 0; i < t->n; i++) {
				t->th[i].running = t->th[i].proved;
				t->th[i].read = true;
				nr += t->th[i].proved;
			}
			t->nrunning = nr;
			return;
		}
	}
	int nr = 0, nw = 0;
	for (int i = 0; i < t->n; i++) {
		struct thread *th = &t->th[i];
		if (skip_waiters && th->gil_wait && th->read && !th->running && !th->proved &&
		    !gil_taker(t, t->tids[i])) {
			t->gil_skips++;         /* still waits for the GIL */
			nw++;
			continue;
		}
		th->running = th->proved || thread_running(t, i);
		th->read = true;
		nr += th->running;
		nw += th->gil_wait;
	}
	t->nrunning = nr;
	t->gil_waiters = nw;
}

void threadstate__read(struct threadstate *t)
{
	read_states(t);
	t->have_gil = false;    /* given again before each read */
	t->gil_broken = false;
	t->ntakers = 0;
}

bool threadstate__quiet(const struct threadstate *t)
{
	return t->quiet;
}

int threadstate__gil_waiters(const struct threadstate *t)
{
	return t->gil.cond_hi ? t->gil_waiters : -1;
}

uint64_t threadstate__gil_skips(const struct threadstate *t)
{
	return t->gil_skips;
}

uint64_t threadstate__reads(const struct threadstate *t)
{
	return t->reads;
}

uint64_t threadstate__proofs(const struct threadstate *t)
{
	return t->proofs;
}

int threadstate__running(const struct threadstate *t, pid_t tid)
{
	int i = tid_index(t, tid);
	return i < 0 || !t->th[i].read ? -1 : t->th[i].running;
}

uint64_t threadstate__clock_spared(const struct threadstate *t)
{
	return t->clock_spared;
}

uint64_t threadstate__relists_spared(const struct threadstate *t)
{
	return t->relists_spared;
}

unsigned threadstate__listings(const struct threadstate *t)
{
	return t->listings;
}

bool threadstate__nested(const struct threadstate *t)
{
	return t->nested;
}

pid_t threadstate__host_tid(const struct threadstate *t, pid_t ns_tid)
{
	if (ns_tid <= 0)
		return 0;
	if (!t->nested)
		return tid_index(t, ns_tid) >= 0 ? ns_tid : 0;
	for (int i = 0; i < t->n; i++)      /* ids inside are not sorted */
		if (t->th[i].ns_tid == ns_tid)
			return t->tids[i];
	return 0;
}

pid_t threadstate__ns_tid(const struct threadstate *t, pid_t tid)
{
	int i;
	if (!t->nested || (i = tid_index(t, tid)) < 0)
		return 0;
	return t->th[i].ns_tid;
}
