/* SPDX-License-Identifier: MIT
 *
 * The sampling loop (see sampler.h); the targets are sampler/target.h's,
 * a read is sampler/snapshot.h's, a stack is built by agg/stack.h. Each
 * tick:
 *   1. every 10 ms, reap the launched child if it exited; every ~100 ms, with
 *      --subprocesses or a launched child that is not Python, look for new
 *      Python descendants;
 *   2. for each live target: one snapshot (sampler/snapshot.h): the running
 *      threads paused (unless nonblocking; all of them for --native --idle),
 *      their stacks read, resumed; -ESRCH means it exited. With several
 *      targets (blocking) every target's take is begun first (snap_begun:
 *      its running threads seized), then all interrupted one after the
 *      other, then taken: first those already stopped, then the others in
 *      turn. The stops of a busy pool's processes, each waiting for a CPU,
 *      are awaited together, not one process after another;
 *   3. for each thread kept by --idle/--gil/--mode exception: build the frame ids root first
 *      (with --subprocesses the process frames of the target's ancestors and
 *      its own, then interpreter and thread roots if asked, then "<truncated>" when the
 *      stack was deeper than PYPROC_MAX_DEPTH and its root frames were not
 *      read; cached by code uid and line; a <GC> leaf on the thread running a
 *      garbage collection), apply the filters (their
 *      matches cached per frame), add the stack to the profile;
 *   4. sleep until the next absolute deadline, next += interval * U(0.5, 1.5)
 *      (reading meanwhile, every half switch interval, the GIL of the targets
 *      that have threads waiting for it: proc/threadstate.h's GIL waiters).
 * Thread names cost a dict walk in the target, so they are refreshed once a
 * second or when an unknown thread shows up; the names kept are those of the
 * threads of the latest lookup (sorted by thread id), so a thread-per-request
 * server does not grow them. Every 10 ms, the profile's threads of a process
 * that its sample no longer lists have exited: they are folded into their
 * name pattern's lane (profile__thread_exit), unless --threads keeps each
 * thread's root frame apart.
 *
 * --async: in the pause, right after the thread stacks were read
 * (snapshot's after_read), when a kept thread's stack holds asyncio frames
 * (a file under asyncio/: an event loop runs there; otherwise nothing more
 * is read), the kept threads' frames are made profile frame ids (the task
 * read may grow the code cache they point into) and the tasks are read
 * (python/pyasync.h: the running ones and their awaiters; with --idle every
 * task, read after the pause: thousands of them would hold the target). After the pause (and the native merge) each thread running a
 * task is added as the task's stack (agg/taskjoin.h), the others from their
 * ids; with --idle each pending task too, in the lane of the thread running
 * its loop. The frame address match checks the two reads against each
 * other: a task whose coroutine is not in its thread's stack leaves the
 * thread's own stack (async_unjoined), never a wrong one.
 *
 * --memory: around each target's read, its resident memory is read
 * (sampler/memattr.h: one pread of its statm) and, after the read, the
 * change since its previous tick is split among the stacks its active
 * threads were added with (add_thread tells memattr each one).
 */
#include "sampler/sampler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "agg/profile.h"
#include "agg/stack.h"
#include "agg/taskjoin.h"
#include "native/merge.h"
#include "native/unwind.h"
#include "proc/perm.h"
#include "proc/threadstate.h"
#include "python/pyasync.h"
#include "python/pyproc.h"
#include "sampler/classify.h"
#include "sampler/memattr.h"
#include "sampler/snapshot.h"
#include "sampler/target.h"
#include "util/xalloc.h"
#include "util/clock.h"

#define NAME_REFRESH_NS 1000000000ull
#define RETIRE_NS 10000000ull           /* exited threads folded this often */
#define CHILD_SCAN_NS 100000000ull
#define REAP_NS 10000000ull
#define PROGRESS_NS 100000000ull
#define GIL_REFRESH_NS 1000000000ull    /* a free-threaded target's GIL state read again */
#define LOOP_CACHE 1024                 /* --async: code uid -> "asyncio's" (a power of two) */

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

struct sampler {
	struct sampler_config c;
	volatile sig_atomic_t stop;     /* sampler__request_stop: end at the next tick */
	struct profile *prof;
	struct stack_builder *sb;       /* frame ids, filters */
	uint64_t last_reap_ns;
	struct targets *ts;
	struct sampler_status st;
	uint64_t start_ns, last_scan_ns, last_progress_ns;
	struct snapshot snap;           /* the latest read of a target (and its merged
					 * stacks with --native) */
	struct snap_stats pstats;       /* what the pauses cost */
	/* a tick's request per target, by index, and its begun pause (blocking
	 * mode with several targets: every take begun before the first) */
	struct tick_req { struct snap_req r; unsigned flags; struct snap_begun b; bool done; } *tick;
	size_t tick_cap;
	uint64_t rng;
	int tick_threads;               /* threads read during the current tick */
	pid_t *live_tids;               /* scratch of retire_exited */
	size_t live_cap;
	/* --async */
	struct taskjoin *tj;            /* the running tasks' read (in the pause) */
	struct taskjoin *tj_all;        /* --idle: every task's read (after the pause) */
	struct loop_code { uint64_t uid; bool loop; } loop_cache[LOOP_CACHE];
	struct target *aj_target;       /* the target being read (async_after_read's) */
	bool aj_ids_ok, aj_tasks_ok;    /* this read: frames as ids; tasks read */
	bool aj_loop, aj_read;          /* ... an event loop seen; the tasks' read done */
	bool aj_all_ok;                 /* --idle: every task read and indexed (tj_all) */
	uint32_t *aj_py;                /* the kept threads' Python frame ids, innermost
					 * first (as py_thread.frames), thread i's from aj_pyoff[i] */
	uint64_t *aj_pyaddr;            /* ... and their frame addresses */
	size_t aj_py_cap, aj_pyaddr_cap;
	size_t *aj_pyoff;               /* [thread + 1] */
	size_t aj_pyoff_cap;
	uint32_t *aj_ids;               /* one thread's frames (native ones merged) as ids, */
	uint64_t *aj_addrs;             /* ... and addresses (0: native), innermost first */
	size_t aj_cap, aj_addrs_cap;
	uint32_t *aj_stack;             /* a joined stack, root first */
	size_t aj_stack_cap;
	/* --memory */
	bool mem_told;                  /* the threads were told (--async --idle's pending tasks:
					 * added again in a thread's lane, not again to memattr) */
	struct memattr_totals mem;      /* what the attributions added up to */
	int64_t mem_gone_pending;       /* ... left pending by targets that ended */
	uint64_t mem_gone_fails;
};

static uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* xorshift64*: uniform in [0, 1). */
static double uniform(struct sampler *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

struct sampler *sampler__new(const struct sampler_config *c, struct profile *prof)
{
	struct sampler *s = xcalloc(1, sizeof(*s));
	s->c = *c;
	if (s->c.rate_hz <= 0)
		s->c.rate_hz = 100;
	s->prof = prof;
	s->sb = stack_builder__new(prof, c->filter);
	stack_builder__qualname(s->sb, c->qualname);
	struct targets_config tc = { .native = c->native, .gil_only = c->gil_only,
				     .subprocesses = c->subprocesses, .prof = prof, .stop = &s->stop };
	s->ts = targets__new(&tc);
	s->rng = clock_now_ns() | 1;
	s->start_ns = clock_now_ns();
	return s;
}

void sampler__request_stop(struct sampler *s)
{
	s->stop = 1;
}

void sampler__free(struct sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < targets__n(s->ts); i++) {
		struct target *t = targets__at(s->ts, i);
		memattr__free(t->mem);
		t->mem = NULL;
	}
	targets__free(s->ts);
	for (size_t i = 0; i < s->tick_cap; i++)
		snap_begun__release(&s->tick[i].b);
	free(s->tick);
	snapshot__release(&s->snap);
	stack_builder__free(s->sb);
	free(s->live_tids);
	taskjoin__free(s->tj);
	taskjoin__free(s->tj_all);
	free(s->aj_py);
	free(s->aj_pyaddr);
	free(s->aj_pyoff);
	free(s->aj_ids);
	free(s->aj_addrs);
	free(s->aj_stack);
	free(s);
}

int sampler__add_pid(struct sampler *s, pid_t pid, char *why, size_t whylen)
{
	return targets__add_pid(s->ts, pid, why, whylen);
}

void sampler__watch(struct sampler *s, pid_t pid)
{
	targets__watch(s->ts, pid);
}

int sampler__add_child(struct sampler *s, pid_t child, double timeout_s, char *why, size_t whylen)
{
	return targets__add_child(s->ts, child, timeout_s, why, whylen);
}

/* The profile's threads of t's process that this sample no longer lists
 * have exited: fold them into their lanes (see profile__thread_exit). */
static void retire_exited(struct sampler *s, struct target *t)
{
	const struct py_sample *sample = &s->snap.sample;
	s->live_tids = xgrow(s->live_tids, &s->live_cap, sample->n + 1, sizeof(*s->live_tids));
	size_t n = 0;
	for (size_t i = 0; i < sample->n; i++)
		s->live_tids[n++] = sample->threads[i].tid;
	qsort(s->live_tids, n, sizeof(*s->live_tids), tid_cmp);
	/* From the end: an exit moves the last thread into the freed index. */
	for (size_t i = profile__nthreads(s->prof); i-- > 0;) {
		const struct prof_thread *pt = profile__thread_at(s->prof, (uint32_t)i);
		if (pt->pid != t->snap.pid || pt->exited || !pt->tid)
			continue;
		if (!bsearch(&pt->tid, s->live_tids, n, sizeof(*s->live_tids), tid_cmp))
			profile__thread_exit(s->prof, (uint32_t)i);
	}
}

/* The profile frame of a native frame (--native). */
static uint32_t native_frame_id(struct sampler *s, const struct native_frame *nf)
{
	char addr[160];
	const char *name = native_frame_name(nf, addr, sizeof(addr));
	if (nf->file)
		return profile__frame(s->prof, name, nf->file, nf->short_file,
				      s->c.no_lineno || s->c.function_lines ? -1 : nf->line,
				      PROF_FRAME_NATIVE);
	return profile__frame(s->prof, name, nf->module_path, nf->module, -1, PROF_FRAME_NATIVE);
}

/* The python/native/system class of th's sample just added as stack
 * (sampler/classify.h): its registers if the pause stopped it. */
static void split_add(struct sampler *s, struct target *t, const struct py_thread *th,
		      uint32_t stack)	/* th: in s->snap.sample */
{
	if (!s->c.classify || !th->active || stack == PROFILE_NO_STACK)
		return;
	uint64_t t0 = clock_now_ns();
	if (!t->split)
		t->split = classify__new(t->snap.pid, pyproc__info(t->snap.pp), s->prof);
	uint64_t reads = classify__stat_reads(t->split);
	const struct py_sample *sm = &s->snap.sample;
	size_t i = (size_t)(th - sm->threads);
	const struct snap_regs *regs = i < s->snap.nregs ? &s->snap.regs[i] : NULL;
	classify__thread(t->split, th, regs, stack);        /* now, or once its times move */
	s->st.split_stat_reads += classify__stat_reads(t->split) - reads;
	s->st.split_samples++;
	s->st.split_ns += clock_now_ns() - t0;
}

/* ms: the thread's merged native stack with --native, else NULL. ids: the
 * frames to show instead (--async: made ids before the task read, or a
 * task's stack: joined), root first, else NULL. */
static uint32_t add_stack(struct sampler *s, struct target *t, const struct py_thread *th,
			  const struct merged_stack *ms, const uint32_t *ids, size_t nids, bool joined,
			  uint64_t t_ns)
{
	if (!s->c.include_idle && !th->active)
		return PROFILE_NO_STACK;
	if (s->c.gil_only && !th->owns_gil)
		return PROFILE_NO_STACK;
	if (s->c.exception_only && !th->in_exception)
		return PROFILE_NO_STACK;
	if (ids)
		ms = NULL;
	else if (ms && ms->err) {
		s->st.errors++;         /* not unwound, or not merged: never a wrong stack */
		s->st.native_fails[ms->fail < NATIVE_FAIL_N ? ms->fail : NATIVE_FAIL_OTHER]++;
		return PROFILE_NO_STACK;
	}
	size_t nf = ids ? nids : ms ? ms->n : th->nframes;
	struct stack_builder *sb = s->sb;
	stack_builder__begin(sb, nf + 5 + t->nchain);
	const char *tname = target__thread_name(t, th);
	for (unsigned k = 0; s->c.subprocesses && k < t->nchain; k++)
		stack_builder__root(sb, t->chain[k]);  /* its ancestors', then its own */
	if (s->c.interps_root) {       /* the interpreter the thread runs in now */
		char label[48];
		snprintf(label, sizeof(label), "interpreter (%lld)", (long long)th->interp_id);
		stack_builder__root(sb, profile__frame(s->prof, label, "", "", -1, PROF_FRAME_INTERP));
	}
	if (s->c.threads_root) {
		char ns[32] = "";
		if (th->ns_tid)
			snprintf(ns, sizeof(ns), ", ns %d", (int)th->ns_tid);
		char *label = tname[0] ? xasprintf("thread (%d%s): %s", (int)th->tid, ns, tname)
				       : xasprintf("thread (%d%s)", (int)th->tid, ns);
		stack_builder__root(sb, profile__frame(s->prof, label, "", "", -1, PROF_FRAME_THREAD));
		free(label);
	}
	if (th->truncated && !joined)   /* the root frames beyond PYPROC_MAX_DEPTH were not read */
		stack_builder__root(sb, profile__frame(s->prof, SAMPLER_TRUNCATED, "", "", -1,
						       PROF_FRAME_OTHER));
	enum stack_lines lines = s->c.no_lineno ? STACK_LINES_NONE
				 : s->c.function_lines ? STACK_LINES_FIRST : STACK_LINES_CURRENT;
	for (size_t k = 0; ids && k < nids; k++)
		stack_builder__push(sb, ids[k]);
	if (!ms && !ids)
		stack_builder__push_thread(sb, th, lines);
	for (size_t k = 0; ms && k < nf; k++) {
		const struct py_frame *fr = ms->frames[nf - 1 - k].py;    /* root first */
		if (fr) {
			stack_builder__push_frame(sb, fr, lines);
		} else {
			stack_builder__push(sb, native_frame_id(s, &ms->frames[nf - 1 - k].native));
		}
	}
	if (th->in_gc)          /* the collection, above the frame that triggered it */
		stack_builder__push(sb, profile__frame(s->prof, SAMPLER_GC, "", "", -1,
						       PROF_FRAME_OTHER));
	if (!stack_builder__keep(sb))
		return PROFILE_NO_STACK;
	uint32_t tid = profile__thread(s->prof, t->snap.pid, th->tid, tname, pyproc__info(t->snap.pp)->cmdline);
	if (th->ns_tid && profile__thread_at(s->prof, tid)->ns_tid != th->ns_tid)
		profile__thread_set_ns_tid(s->prof, tid, th->ns_tid);
	return stack_builder__add(sb, tid, t_ns);
}

/* A thread's sample (add_stack's), and with --memory, an active thread
 * told to its target's memattr with the stack it was added with. */
static void add_thread(struct sampler *s, struct target *t, const struct py_thread *th,
		       const struct merged_stack *ms, const uint32_t *ids, size_t nids, bool joined,
		       uint64_t t_ns)
{
	uint32_t stack = add_stack(s, t, th, ms, ids, nids, joined, t_ns);
	if (s->c.memory && t->mem && th->active && !s->mem_told)
		memattr__thread(t->mem, th->tid, stack);
	if (!ids)               /* th is one of the snapshot's threads */
		split_add(s, t, th, stack);
}

/* ---- --async ---- */

static enum stack_lines lines_of(const struct sampler *s)
{
	return s->c.no_lineno ? STACK_LINES_NONE
	       : s->c.function_lines ? STACK_LINES_FIRST : STACK_LINES_CURRENT;
}

/* Whether a thread runs an event loop: a frame of a file under asyncio/
 * (asyncio.run, run_forever, _run_once, Handle._run), cached per code uid.
 * From the root: the loop's frames are near it. */
static bool in_loop(struct sampler *s, const struct py_thread *th)
{
	for (size_t k = th->err ? 0 : th->nframes; k-- > 0;) {
		const struct py_code *c = th->frames[k].code;
		if (!c)
			continue;
		struct loop_code *e = &s->loop_cache[c->uid & (LOOP_CACHE - 1)];
		if (e->uid != c->uid) {
			e->uid = c->uid;
			e->loop = c->filename && strstr(c->filename, "asyncio/") != NULL;
		}
		if (e->loop)
			return true;
	}
	return false;
}

static void async_read(struct sampler *s, struct target *t);

static bool kept(const struct sampler *s, const struct py_thread *th)
{
	return (s->c.include_idle || th->active) && (!s->c.gil_only || th->owns_gil);
}

/* In the read (snapshot's after_read: in the pause, right after the thread
 * stacks, before native unwinding): when a kept thread runs an event loop
 * (or at a process's first sample, to learn whether its asyncio can be
 * read), every kept thread's Python frames made profile frame ids (the task
 * read may grow the code cache the frames point into), then the tasks read.
 * aj_ids_ok: the ids stand in for the frames this sample; aj_tasks_ok: the
 * tasks were read and indexed. */
static void async_after_read(void *arg, const struct py_sample *sample)
{
	struct sampler *s = arg;
	struct target *t = s->aj_target;
	s->aj_ids_ok = s->aj_tasks_ok = s->aj_read = false;
	if (t->async_err == -ENOTSUP)
		return;
	bool loop = false;
	for (size_t i = 0; i < sample->n && !loop; i++)
		loop = kept(s, &sample->threads[i]) && in_loop(s, &sample->threads[i]);
	if (!loop && t->async_checked)
		return;
	s->aj_pyoff = xgrow(s->aj_pyoff, &s->aj_pyoff_cap, sample->n + 1, sizeof(*s->aj_pyoff));
	enum stack_lines lines = lines_of(s);
	size_t n = 0;
	s->aj_pyoff[0] = 0;
	for (size_t i = 0; i < sample->n; i++) {
		const struct py_thread *th = &sample->threads[i];
		if (kept(s, th)) {
			size_t nf = th->nframes;
			s->aj_py = xgrow(s->aj_py, &s->aj_py_cap, n + nf, sizeof(*s->aj_py));
			s->aj_pyaddr = xgrow(s->aj_pyaddr, &s->aj_pyaddr_cap, n + nf, sizeof(*s->aj_pyaddr));
			for (size_t k = 0; k < nf; k++) {
				s->aj_py[n + k] = stack_builder__frame_id(s->sb, &th->frames[k], lines);
				s->aj_pyaddr[n + k] = th->frames[k].frame_addr;
			}
			n += nf;
		}
		s->aj_pyoff[i + 1] = n;
	}
	s->aj_ids_ok = true;
	s->aj_loop = loop;
	/* The running tasks (and their awaiters) here, with the stacks they
	 * are joined to; every task (--idle), which can be thousands, after
	 * the pause (async_read_all), not holding the target that long. */
	async_read(s, t);
}

/* The tasks read (after async_after_read), indexed: aj_tasks_ok. */
static void async_read(struct sampler *s, struct target *t)
{
	bool loop = s->aj_loop;
	s->aj_read = true;
	unsigned flags = PYASYNC_RUNNING;
	if (!loop)
		flags = PYASYNC_RUNNING | PYASYNC_NO_FRAMES;    /* the first sample: can it be read? */
	char why[sizeof(s->st.async_why)] = "";
	uint64_t t0 = clock_now_ns();
	int err = pyasync__read(t->snap.pp, &t->async_tasks, flags, why, sizeof(why));
	s->st.async_read_ns += clock_now_ns() - t0;
	s->st.async_reads++;
	t->async_checked = true;
	if (err == -ENOTSUP) {
		t->async_err = err;
		if (!s->st.async_why[0])
			snprintf(s->st.async_why, sizeof(s->st.async_why), "process %d: %s",
				 (int)t->snap.pid, why[0] ? why : "its asyncio cannot be read");
	}
	if (err && err != -ENOENT)
		s->st.async_fails++;
	if (err || !loop)
		return;
	if (!s->tj)
		s->tj = taskjoin__new();
	taskjoin__index(s->tj, &t->async_tasks);
	s->aj_tasks_ok = true;
}

/* --idle, after the pause and after the threads' stacks were added (this
 * read may move the code entries the running read's frames point to):
 * every task, indexed in tj_all: aj_all_ok. */
static void async_read_all(struct sampler *s, struct target *t)
{
	s->aj_all_ok = false;
	char why[sizeof(s->st.async_why)] = "";
	uint64_t t0 = clock_now_ns();
	int err = pyasync__read(t->snap.pp, &t->async_all, 0, why, sizeof(why));
	s->st.async_read_ns += clock_now_ns() - t0;
	s->st.async_reads++;
	if (err) {
		s->st.async_fails += err != -ENOENT;
		return;
	}
	if (!s->tj_all)
		s->tj_all = taskjoin__new();
	taskjoin__index(s->tj_all, &t->async_all);
	s->aj_all_ok = true;
}

/* A task's stack (taskjoin items) as frame ids, root first, into aj_stack;
 * thread frames from aj_ids (the thread's, innermost first). */
static size_t async_ids(struct sampler *s, const struct py_tasks *tasks, const struct tj_item *it,
			size_t n)
{
	s->aj_stack = xgrow(s->aj_stack, &s->aj_stack_cap, n ? n : 1, sizeof(*s->aj_stack));
	enum stack_lines lines = lines_of(s);
	char label[200];
	for (size_t k = 0; k < n; k++) {
		const struct py_task *task = &tasks->tasks[it[k].task];
		switch (it[k].kind) {
		case TJ_TASK:
			s->aj_stack[k] = profile__frame(s->prof, taskjoin_label(task, label, sizeof(label)),
							"", "", -1, PROF_FRAME_TASK);
			break;
		case TJ_TASK_FRAME:
			s->aj_stack[k] = task->frames[it[k].frame].code
					 ? stack_builder__frame_id(s->sb, &task->frames[it[k].frame], lines)
					 : profile__frame(s->prof, "?", "", "", -1, PROF_FRAME_OTHER);
			break;
		case TJ_THREAD_FRAME:
			s->aj_stack[k] = s->aj_ids[it[k].frame];
			break;
		}
	}
	return n;
}

/* After the read, when the frames were made ids (aj_ids_ok): every thread
 * added from them, a thread running a task (aj_tasks_ok) as the task's
 * stack; with --idle each pending task too, in its loop thread's lane. */
/* --thread: a thread left out is not counted at all (nor one renamed into
 * the selection since its read skipped it). */
static bool left_out(struct sampler *s, struct target *t, const struct py_thread *th,
		     unsigned flags)
{
	return s->c.threads && (!target__thread_selected(t, th, flags & PYSAMPLE_NAMES) ||
				(th->skipped && th->active));
}

static void async_add(struct sampler *s, struct target *t, bool native, unsigned flags,
		      uint64_t t_ns)
{
	const struct py_sample *sample = &s->snap.sample;
	for (size_t i = 0; i < sample->n; i++) {
		const struct py_thread *th = &sample->threads[i];
		if (left_out(s, t, th, flags))
			continue;
		const struct merged_stack *ms = NULL, no_unwinder = {
			.err = -ENOTSUP, .fail = NATIVE_FAIL_NO_UNWINDER };
		if (native)
			ms = i < s->snap.native.n ? &s->snap.native.threads[i] : &no_unwinder;
		if (!kept(s, th) || (ms && ms->err)) {
			add_thread(s, t, th, ms, NULL, 0, false, t_ns);        /* dropped, counted */
			continue;
		}
		/* The thread's frames as ids and addresses, innermost first. */
		size_t off = s->aj_pyoff[i], nf = ms ? ms->n : th->nframes;
		s->aj_ids = xgrow(s->aj_ids, &s->aj_cap, nf ? nf : 1, sizeof(*s->aj_ids));
		s->aj_addrs = xgrow(s->aj_addrs, &s->aj_addrs_cap, nf ? nf : 1, sizeof(*s->aj_addrs));
		for (size_t k = 0; k < nf; k++) {
			const struct py_frame *fr = ms ? ms->frames[k].py : &th->frames[k];
			size_t pk = fr ? (size_t)(fr - th->frames) : 0;
			if (fr && pk >= th->nframes) {          /* not this thread's: never */
				s->aj_ids[k] = profile__frame(s->prof, "?", "", "", -1, PROF_FRAME_OTHER);
				s->aj_addrs[k] = 0;
				continue;
			}
			s->aj_ids[k] = fr ? s->aj_py[off + pk] : native_frame_id(s, &ms->frames[k].native);
			s->aj_addrs[k] = fr ? s->aj_pyaddr[off + pk] : 0;
		}
		long ti = s->aj_tasks_ok ? taskjoin__running(s->tj, th->thread_id) : -1;
		size_t n = 0;
		const struct tj_item *it = ti >= 0 ? taskjoin__stack(s->tj, (size_t)ti, s->aj_addrs, nf, &n)
					   : NULL;
		if (it) {
			s->st.async_joined++;
			add_thread(s, t, th, NULL, s->aj_stack, async_ids(s, &t->async_tasks, it, n), true, t_ns);
			continue;
		}
		s->st.async_unjoined += ti >= 0;
		/* No task runs there (the loop itself, or no loop): its own frames. */
		s->aj_stack = xgrow(s->aj_stack, &s->aj_stack_cap, nf ? nf : 1, sizeof(*s->aj_stack));
		for (size_t k = 0; k < nf; k++)
			s->aj_stack[k] = s->aj_ids[nf - 1 - k];
		add_thread(s, t, th, NULL, s->aj_stack, nf, false, t_ns);
	}
}

/* --idle: each pending task of the read of every task, where it waits,
 * in its loop thread's lane. */
static void async_add_pending(struct sampler *s, struct target *t, unsigned flags, uint64_t t_ns)
{
	const struct py_sample *sample = &s->snap.sample;
	for (size_t ti = 0; ti < t->async_all.n; ti++) {
		const struct py_task *task = &t->async_all.tasks[ti];
		if (task->state != PY_TASK_PENDING || !task->loop_thread_id)
			continue;
		const struct py_thread *th = NULL;
		for (size_t i = 0; i < sample->n && !th; i++)
			if (sample->threads[i].thread_id == task->loop_thread_id)
				th = &sample->threads[i];
		if (!th || left_out(s, t, th, flags))
			continue;
		size_t n;
		const struct tj_item *it = taskjoin__stack(s->tj_all, ti, NULL, 0, &n);
		if (!it)
			continue;
		s->st.async_pending++;
		add_thread(s, t, th, NULL, s->aj_stack, async_ids(s, &t->async_all, it, n), true, t_ns);
	}
}

/* A failed read of a process's stacks: counted, and by -errno (the last
 * slot, err 0, takes the kinds beyond the first few). */
static void count_read_fail(struct sampler_status *st, int err)
{
	size_t n = sizeof(st->read_fails) / sizeof(st->read_fails[0]), i = 0;
	st->errors++;
	while (i + 1 < n && st->read_fails[i].n && st->read_fails[i].err != err)
		i++;
	if (i + 1 == n && st->read_fails[i].err != err)
		err = 0;
	st->read_fails[i].err = err;
	st->read_fails[i].n++;
}

/* t's request for this tick into *q (its flags: the thread names due, a
 * free-threaded target's GIL state refreshed). */
static void target_req(struct sampler *s, struct target *t, uint64_t now, struct tick_req *q)
{
	unsigned flags = 0;
	if ((t->names_due && now - t->names_at > NAME_REFRESH_NS / 10) ||
	    now - t->names_at > NAME_REFRESH_NS) {
		flags |= PYSAMPLE_NAMES;
		t->names_due = false;
		t->names_at = now;
	}
	if (t->gil != 1 && (t->gil < 0 || now - t->gil_at >= GIL_REFRESH_NS)) {
		/* Free-threaded: an extension module may enable the GIL; a
		 * starting interpreter (no GIL state yet) is asked every tick. */
		int g = pyproc__gil_enabled(t->snap.pp);
		t->gil = g >= 0 ? g : t->gil;
		t->gil_at = now;
	}
	if (!s->c.include_idle)
		flags |= PYSAMPLE_SKIP_IDLE;    /* dropped anyway: not even read */
	if (!s->c.gil_only && !s->c.gil_stats)
		flags |= PYSAMPLE_NO_GIL;       /* one page fewer to read */
	if (s->c.qualname)
		flags |= PYSAMPLE_QUALNAME;
	pyproc__set_skip(t->snap.pp, s->c.threads ? target__skip_thread : NULL, t);
	if (s->c.exception_only)
		flags |= PYSAMPLE_EXCEPTION;
	if (s->c.gc_frames)
		flags |= PYSAMPLE_GC;
	if (s->c.classify)
		flags |= PYSAMPLE_OPCODE;
	/* Pause only the threads that run: one asleep in the kernel cannot
	 * change its stack, and waking it costs the program. Native unwinding
	 * needs the registers of every thread shown: with --native --idle,
	 * all of them. */
	bool native = s->c.native && !s->c.nonblocking;
	struct snap_req r = { .flags = flags, .native = native, .regs = s->c.classify,
		.prewarm = true };
	if (s->c.async_tasks) {
		r.after_read = async_after_read;
		r.after_read_arg = s;
	}
	r.pause = s->c.nonblocking ? SNAP_NONBLOCKING
		: t->snap.uw && s->c.include_idle ? SNAP_PAUSE_TASKS : SNAP_PAUSE_RUNNING;
	q->r = r;
	q->flags = flags;
}

/* One target's read and its stacks added; q: its request (target_req),
 * its take begun or not. */
static void sample_target(struct sampler *s, struct target *t, uint64_t now, uint64_t t_ns,
			  struct tick_req *q)
{
	unsigned flags = q->flags;
	bool native = q->r.native;
	struct snap_req r = q->r;
	r.begun = &q->b;
	if (s->c.async_tasks) {
		s->aj_target = t;
		s->aj_ids_ok = s->aj_tasks_ok = false;
	}
	int err = snapshot__take(&t->snap, &r, &s->snap, &s->pstats);
	snap_begun__release(&q->b);     /* not begun, or ended by the take: nothing to let go */
	s->st.pauses = s->pstats.pauses;
	s->st.paused_ns = s->pstats.paused_ns;
	s->st.pause_stop_ns = s->pstats.stop_ns;
	s->st.pause_read_ns = s->pstats.read_ns;
	s->st.gil_retries = s->pstats.gil_retries;
	s->st.pause_retries = s->pstats.retries;
	s->st.quiet_samples = s->pstats.quiet;
	s->st.pauses_begun = s->pstats.begun;
	if (err == -EPERM && !s->c.nonblocking &&
	    perm_traced(t->snap.pid, s->st.gave_up, sizeof(s->st.gave_up)) > 0) {
		/* Traced by another process since the start: every pause would
		 * fail. Stop sampling it, and say why. */
		t->alive = false;
		count_read_fail(&s->st, err);
		return;
	}
	if (err == -ESRCH || err == -ENOENT || (err && !target_process_alive(t->snap.pid))) {
		t->alive = false;
		return;
	}
	if (err == -EAGAIN)
		return;         /* interpreter starting or finalising: not a sample */
	if (err) {
		count_read_fail(&s->st, err);
		return;
	}
	if (!s->st.samples++) {
		s->st.first_sample_ns = clock_now_ns();
		s->st.first_sample_cpu_ns = cpu_ns();
	}
	if (s->c.threads && !(flags & PYSAMPLE_NAMES) && target__names_missing(t, &s->snap.sample)) {
		/* --thread: a thread without a verdict (new) is decided now */
		pyproc__thread_names(t->snap.pp, &s->snap.sample);
		flags |= PYSAMPLE_NAMES;
	}
	if (flags & PYSAMPLE_NAMES) {
		target__names_refresh(t, &s->snap.sample);
		if (s->c.threads)
			target__names_select(t, s->c.threads);
	}
	/* A quiet snapshot lists no threads: none of them has exited. */
	if (!s->c.threads_root && !s->snap.quiet && now - t->retired_at >= RETIRE_NS) {
		classify__settle_absent(t->split, &s->snap.sample);   /* before their ids go */
		retire_exited(s, t);
		t->retired_at = now;
	}
	const struct py_sample *sample = &s->snap.sample;
	bool async = s->c.async_tasks && s->aj_ids_ok;
	for (size_t i = 0; i < sample->n; i++) {
		const struct py_thread *th = &sample->threads[i];
		if (left_out(s, t, th, flags))
			continue;
		s->tick_threads++;
		s->st.thread_samples++;
		s->st.active_samples += th->active;
		s->st.gil_samples += th->owns_gil;
		const struct merged_stack *ms = NULL, no_unwinder = {
			.err = -ENOTSUP, .fail = NATIVE_FAIL_NO_UNWINDER };
		if (native)
			ms = i < s->snap.native.n ? &s->snap.native.threads[i] : &no_unwinder;
		if (!async)
			add_thread(s, t, th, ms, NULL, 0, false, t_ns);
	}
	if (async) {
		uint64_t t0 = clock_now_ns();
		async_add(s, t, native, flags, t_ns);
		s->st.async_join_ns += clock_now_ns() - t0;
		if (s->c.include_idle && s->aj_tasks_ok) {
			async_read_all(s, t);
			t0 = clock_now_ns();
			s->mem_told = true;
			if (s->aj_all_ok)
				async_add_pending(s, t, flags, t_ns);
			s->mem_told = false;
			s->st.async_join_ns += clock_now_ns() - t0;
		}
	}
}

/* ---- --memory ---- */

/* Before a target's read: its resident memory now. */
static void memory_begin(struct target *t)
{
	if (!t->mem)
		t->mem = memattr__new(t->snap.pid);
	memattr__read(t->mem);
}

/* After it: the change attributed to the stacks of its active threads; a
 * target that ended closes its statm, what it left pending counted. */
static void memory_end(struct sampler *s, struct target *t)
{
	memattr__attribute(t->mem, s->prof, &s->mem);
	if (!t->alive) {
		s->mem_gone_pending += memattr__pending(t->mem);
		s->mem_gone_fails += memattr__read_fails(t->mem);
		memattr__free(t->mem);
		t->mem = NULL;
	}
}

static void memory_status(struct sampler *s)
{
	s->st.mem_grown = s->mem.grown;
	s->st.mem_shrunk = s->mem.shrunk;
	s->st.mem_dropped = s->mem.dropped_grow + s->mem.dropped_shrink;
	s->st.mem_pending = s->mem_gone_pending;
	s->st.mem_read_fails = s->mem_gone_fails;
	for (size_t i = 0; i < targets__n(s->ts); i++) {
		const struct target *t = targets__at(s->ts, i);
		if (t->mem) {
			s->st.mem_pending += memattr__pending(t->mem);
			s->st.mem_read_fails += memattr__read_fails(t->mem);
		}
	}
}

static void update_status(struct sampler *s, uint64_t now)
{
	s->st.elapsed_s = (double)(now - s->start_ns) / 1e9;
	s->st.processes = targets__alive(s->ts);
	s->st.cpu_ns = cpu_ns();
	uint64_t reads = 0, tlbc = 0, state_reads = 0, proofs = 0, gil_skips = 0;
	uint64_t ts_batched = 0, ts_serial = 0, code_reads = 0, code_trusted = 0;
	uint64_t frames_reused = 0, frames_walked = 0;
	uint64_t gil_spared = 0, relists_spared = 0, clock_spared = 0;
	int nogil = 0;
	for (size_t i = 0; i < targets__n(s->ts); i++) {
		const struct target *t = targets__at(s->ts, i);
		reads += pyproc__syscalls(t->snap.pp);
		reads += t->snap.uw ? unwinder__syscalls(t->snap.uw) : 0;     /* --native's stack pages */
		state_reads += t->snap.tasks ? threadstate__reads(t->snap.tasks) : 0;
		proofs += t->snap.tasks ? threadstate__proofs(t->snap.tasks) : 0;
		gil_skips += t->snap.tasks ? threadstate__gil_skips(t->snap.tasks) : 0;
		gil_spared += t->snap.tasks ? threadstate__gil_spared(t->snap.tasks) : 0;
		relists_spared += t->snap.tasks ? threadstate__relists_spared(t->snap.tasks) : 0;
		clock_spared += t->snap.tasks ? threadstate__clock_spared(t->snap.tasks) : 0;
		tlbc += pyproc__tlbc_frames(t->snap.pp);
		uint64_t wb, ws;
		pyproc__walk_stats(t->snap.pp, &wb, &ws);
		ts_batched += wb;
		ts_serial += ws;
		pyproc__code_stats(t->snap.pp, &wb, &ws);
		code_reads += wb;
		code_trusted += ws;
		frames_reused += pyproc__frames_reused(t->snap.pp);
		frames_walked += pyproc__frames_walked(t->snap.pp);
		nogil += t->alive && t->gil == 0;
	}
	s->st.vm_reads = reads;
	s->st.pause_p50_us = snap_stats__hold_us(&s->pstats, 0.5);
	s->st.pause_p90_us = snap_stats__hold_us(&s->pstats, 0.9);
	s->st.pause_p99_us = snap_stats__hold_us(&s->pstats, 0.99);
	s->st.pause_max_us = snap_stats__hold_us(&s->pstats, 1.0);
	s->st.state_reads = state_reads;
	s->st.state_proofs = proofs;
	s->st.gil_waiter_skips = gil_skips;
	s->st.gil_polls_spared = gil_spared;
	s->st.relists_spared = relists_spared;
	s->st.clock_spared = clock_spared;
	s->st.prewarm_spared = s->snap.prewarm_spared;
	if (s->c.memory)
		memory_status(s);
	s->st.tlbc_frames = tlbc;
	s->st.ts_batched = ts_batched;
	s->st.ts_serial = ts_serial;
	s->st.code_reads = code_reads;
	s->st.code_trusted = code_trusted;
	s->st.frames_reused = frames_reused;
	s->st.frames_walked = frames_walked;
	s->st.nogil_processes = nogil;
	if (nogil > s->st.max_nogil_processes)
		s->st.max_nogil_processes = nogil;
}

/* Between ticks: the GIL of each target with GIL waiters is read every
 * half switch interval, less often while switches are rare
 * (threadstate__gil_poll_us; snap_target__gil_poll), so that the next tick
 * knows which waiters can have taken it (proc/threadstate.h). When due
 * (poll), read them; returns when the next poll is due, 0: none. */
static uint64_t gil_polls(struct sampler *s, uint64_t now, bool poll)
{
	uint64_t period = 0;
	for (size_t i = 0; i < targets__n(s->ts); i++) {
		const struct target *t = targets__at(s->ts, i);
		uint64_t ns = t->alive ? snap_target__gil_poll_ns(&t->snap) : 0;
		if (!ns)
			continue;
		if (poll) {
			snap_target__gil_poll(&t->snap);
			s->st.gil_polls++;
			ns = snap_target__gil_poll_ns(&t->snap);
		}
		if (ns && (!period || ns < period))
			period = ns;
	}
	return period ? now + period : 0;
}

static void report(struct sampler *s, uint64_t now, bool force)
{
	if (force)
		update_status(s, now);
	if (!s->c.progress || (!force && now - s->last_progress_ns < PROGRESS_NS))
		return;
	s->last_progress_ns = now;
	if (!force)
		update_status(s, now);
	s->c.progress(&s->st, s->c.progress_arg);
}

void sampler__run(struct sampler *s)
{
	double interval = 1e9 / s->c.rate_hz;
	uint64_t start = clock_now_ns();
	s->start_ns = start;
	uint64_t end = s->c.duration_s > 0 ? start + (uint64_t)(s->c.duration_s * 1e9) : UINT64_MAX;
	double next = (double)start;
	while (!s->stop) {
		uint64_t now = clock_now_ns();
		if (now >= end)
			break;
		/* The launched child's exit also shows as its target's failed
		 * read: polling it every 10 ms is plenty. */
		if (now - s->last_reap_ns >= REAP_NS) {
			targets__reap(s->ts);
			s->last_reap_ns = now;
		}
		bool follow = s->c.subprocesses || targets__following(s->ts);
		if (follow && now - s->last_scan_ns >= CHILD_SCAN_NS) {
			targets__scan(s->ts);
			s->last_scan_ns = now;
		}
		if (targets__alive(s->ts) == 0 && (!follow || !targets__roots_alive(s->ts)))
			break;
		s->st.ticks++;
		s->st.lag_s = (double)now > next ? ((double)now - next) / 1e9 : 0;
		if (s->st.lag_s > s->st.max_lag_s)
			s->st.max_lag_s = s->st.lag_s;
		if (s->st.lag_s > 1.0 && s->st.lag_s > 20 * interval / 1e9)
			s->st.behind = true;
		s->tick_threads = 0;
		profile__tick(s->prof, now - start);    /* a thread left out of it ends its run */
		size_t nt = targets__n(s->ts), cap = s->tick_cap;
		s->tick = xgrow(s->tick, &s->tick_cap, nt ? nt : 1, sizeof(*s->tick));
		memset(s->tick + cap, 0, (s->tick_cap - cap) * sizeof(*s->tick));
		for (size_t i = 0; i < nt; i++) {
			struct target *t = targets__at(s->ts, i);
			if (t->alive)
				target_req(s, t, now, &s->tick[i]);
		}
		/* Blocking, several processes: every take begun (the running
		 * threads interrupted) before the first, so that their stops are
		 * awaited together (see snap_begun). */
		if (!s->c.nonblocking && targets__alive(s->ts) > 1)
			for (size_t i = 0; i < nt; i++) {
				struct target *t = targets__at(s->ts, i);
				if (t->alive)
					(void)snapshot__begin(&t->snap, &s->tick[i].r, &s->snap, &s->tick[i].b);
			}
		for (size_t i = 0; i < nt; i++)         /* the interrupts close together */
			snap_begun__interrupt(&s->tick[i].b);
		/* First every target with nothing to wait for (no pause begun,
		 * or every stop of it seen), then the others in turn: a process
		 * stopped early is not held while another's thread waits for a
		 * CPU. */
		for (size_t k = 0; k < 2 * nt; k++) {
			size_t i = k % nt;
			struct target *t = targets__at(s->ts, i);
			if (k < nt)
				s->tick[i].done = false;
			if (s->tick[i].done)
				continue;
			if (!t->alive) {
				classify__settle_all(t->split);
				s->tick[i].done = true;
				continue;
			}
			if (k < nt && !snap_begun__ready(&s->tick[i].b))
				continue;
			s->tick[i].done = true;
			uint64_t m0 = s->c.memory ? clock_now_ns() : 0;
			if (s->c.memory)
				memory_begin(t);
			uint64_t m1 = s->c.memory ? clock_now_ns() : 0;
			sample_target(s, t, now, now - start, &s->tick[i]);
			if (s->c.memory) {
				uint64_t m2 = clock_now_ns();
				memory_end(s, t);
				s->st.mem_ns += m1 - m0 + clock_now_ns() - m2;
			}
		}
		s->st.threads = s->tick_threads;
		now = clock_now_ns();
		report(s, now, false);

		next += interval * (0.5 + uniform(s));
		if ((double)now > next + 1e9) {
			/* More than a second behind: say so, and skip ahead
			 * instead of bursting. */
			s->st.behind = true;
			if (((double)now - next) / 1e9 > s->st.max_lag_s)
				s->st.max_lag_s = ((double)now - next) / 1e9;
			next = (double)now;
		}
		/* Sleep until the next deadline; at low rates in slices, so that
		 * the progress callback still runs about 10 times a second. */
		uint64_t poll_at = gil_polls(s, now, false);
		while ((double)now < next && now < end && !s->stop) {
			double until = next;
			if (poll_at && until > (double)poll_at)
				until = (double)poll_at;
			if (s->c.progress && until > (double)(now + PROGRESS_NS))
				until = (double)(now + PROGRESS_NS);
			if (until > (double)end)
				until = (double)end;
			struct timespec ts = { (time_t)(until / 1e9), (long)((uint64_t)until % 1000000000ull) };
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !s->stop)
				;
			now = clock_now_ns();
			if (poll_at && now >= poll_at && (double)now < next)
				poll_at = gil_polls(s, now, true);
			if ((double)now < next)
				report(s, now, false);
		}
	}
	/* A launched child whose interpreter is gone is exiting: wait for its
	 * status (briefly) rather than let the caller kill it. */
	if (targets__child_running(s->ts) && !targets__child_alive(s->ts)) {
		struct timespec ts = { 0, 1000000 };
		for (int i = 0; i < 10000 && targets__child_running(s->ts); i++) {
			targets__reap(s->ts);
			if (targets__child_running(s->ts))
				nanosleep(&ts, NULL);
		}
	}
	targets__reap(s->ts);
	sampler__settle(s);     /* the split's waiting samples */
	report(s, clock_now_ns(), true);
}

void sampler__settle(struct sampler *s)
{
	for (size_t i = 0; i < targets__n(s->ts); i++)
		classify__settle_all(targets__at(s->ts, i)->split);
}

const struct sampler_status *sampler__status(const struct sampler *s)
{
	return &s->st;
}

bool sampler__child_followed(const struct sampler *s)
{
	return targets__following(s->ts);
}

size_t sampler__followed_pids(const struct sampler *s, pid_t *out, size_t max)
{
	return targets__followed_pids(s->ts, out, max);
}

int sampler__child_status(const struct sampler *s, int *status)
{
	return targets__child_status(s->ts, status);
}

const struct snap_target *sampler__target(const struct sampler *s, pid_t pid)
{
	for (size_t i = 0; i < targets__n(s->ts); i++) {
		const struct target *t = targets__at(s->ts, i);
		if (t->snap.pid == pid && t->alive)
			return &t->snap;
	}
	return NULL;
}

const char *sampler__python_version(const struct sampler *s)
{
	return targets__python_version(s->ts);
}
