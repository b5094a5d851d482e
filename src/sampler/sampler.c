/* SPDX-License-Identifier: MIT
 *
 * The sampling loop (see sampler.h). Each tick:
 *   1. every 10 ms, reap the launched child if it exited; every ~100 ms, with
 *      --subprocesses, look for new Python descendants;
 *   2. for each live target: one snapshot (sampler/snapshot.h): the running
 *      threads paused (unless nonblocking; all of them for --native --idle),
 *      their stacks read, resumed; -ESRCH means it exited;
 *   3. for each thread kept by --idle/--gil: build the frame ids root first
 *      (process and thread roots if asked, then "<truncated>" when the
 *      stack was deeper than PYPROC_MAX_DEPTH and its root frames were not
 *      read; cached by code uid and line),
 *      apply the regex filters, add the stack to the profile;
 *   4. sleep until the next absolute deadline, next += interval * U(0.5, 1.5).
 * Thread names cost a dict walk in the target, so they are refreshed once a
 * second or when an unknown thread shows up; the names kept are those of the
 * threads of the latest lookup (sorted by thread id), so a thread-per-request
 * server does not grow them. Every 10 ms, the profile's threads of a process
 * that its sample no longer lists have exited: they are folded into their
 * name pattern's lane (profile__thread_exit), unless --threads keeps each
 * thread's root frame apart.
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
#include "native/merge.h"
#include "native/unwind.h"
#include "proc/launch.h"
#include "proc/perm.h"
#include "proc/procfs.h"
#include "proc/threadstate.h"
#include "python/pyproc.h"
#include "sampler/snapshot.h"
#include "util/xalloc.h"
#include "util/clock.h"

#define MAX_TARGETS 1024
#define NAME_REFRESH_NS 1000000000ull
#define RETIRE_NS 10000000ull           /* exited threads folded this often */
#define CHILD_SCAN_NS 100000000ull
#define REAP_NS 10000000ull
#define PROGRESS_NS 100000000ull
#define GIL_WAIT_NS 2000000000ull       /* --gil: for a starting interpreter's GIL state */
#define GIL_REFRESH_NS 1000000000ull    /* a free-threaded target's GIL state read again */

struct tname {
	uint64_t thread_id;
	char name[64];
};

static int tname_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct tname *)a)->thread_id, y = ((const struct tname *)b)->thread_id;
	return x < y ? -1 : x > y;
}

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

struct target {
	struct snap_target snap;        /* its reader, task list and unwinder (--native;
					 * NULL: its samples are errors) */
	bool alive;
	uint32_t proc_frame;            /* synthetic root frame id */
	struct tname *names;            /* sorted by thread_id */
	size_t nnames;
	uint64_t names_at;              /* when names were last refreshed */
	uint64_t retired_at;            /* when exited threads were last folded */
	bool names_due;
	int gil;                        /* 1: has a GIL, 0: free-threaded without one, -1: unknown */
	uint64_t gil_at;                /* when gil was last read */
};

struct skipped {                        /* a descendant that is not (yet) Python */
	pid_t pid;
	char *exe;
	uint64_t seen_ns;               /* when first seen with this exe */
};

/* A descendant seen running the same executable for this long without being
 * a Python process is not one: it is not opened again until it execs. Before
 * that, it is: caught between its exec and the loading of libpython (a
 * shared build), it cannot be told yet. */
#define SKIP_SETTLE_NS 2000000000ull

struct sampler {
	struct sampler_config c;
	volatile sig_atomic_t stop;     /* sampler__request_stop: end at the next tick */
	struct profile *prof;
	struct stack_builder *sb;       /* frame ids, filters */
	uint64_t last_reap_ns;
	struct target *t;
	size_t nt, t_cap;
	struct skipped *sk;
	size_t nsk, sk_cap;
	pid_t roots[64];                /* non-Python processes whose descendants we adopt */
	int nroots;
	pid_t child;
	bool child_done;
	bool child_lost;                /* reaped by someone else: status unknown */
	int child_status;
	struct sampler_status st;
	uint64_t start_ns, last_scan_ns, last_progress_ns;
	struct snapshot snap;           /* the latest read of a target (and its merged
					 * stacks with --native) */
	struct snap_stats pstats;       /* what the pauses cost */
	uint64_t rng;
	char pyver[32];
	int tick_threads;               /* threads read during the current tick */
	pid_t *live_tids;               /* scratch of retire_exited */
	size_t live_cap;
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
	/* Intervals are U(0.5, 1.5) x 1/rate: more than 2.5 periods is a gap. */
	profile__set_run_gap(prof, (uint64_t)(2.5e9 / s->c.rate_hz));
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
	for (size_t i = 0; i < s->nt; i++) {
		pyproc__close(s->t[i].snap.pp);
		threadstate__free(s->t[i].snap.tasks);
		unwinder__free(s->t[i].snap.uw);
		free(s->t[i].names);
	}
	for (size_t i = 0; i < s->nsk; i++)
		free(s->sk[i].exe);
	free(s->t);
	free(s->sk);
	snapshot__release(&s->snap);
	stack_builder__free(s->sb);
	free(s->live_tids);
	free(s);
}

/* Alive and not a zombie (a killed process whose parent has not reaped it). */
static bool process_alive(pid_t pid)
{
	struct procfs_stat st;
	return procfs_stat(pid, 0, &st) == 0 && st.state != 'Z' && st.state != 'X';
}

static bool has_target(const struct sampler *s, pid_t pid)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].snap.pid == pid)
			return true;
	return false;
}

/* Takes ownership of pp and uw (NULL unless --native). */
static void add_target(struct sampler *s, struct pyproc *pp, struct unwinder *uw, pid_t pid)
{
	const struct pyproc_info *in = pyproc__info(pp);
	if (s->c.native && !uw)
		unwinder__new(pid, in->binary, &uw);
	s->t = xgrow(s->t, &s->t_cap, s->nt + 1, sizeof(*s->t));
	struct target *t = &s->t[s->nt++];
	memset(t, 0, sizeof(*t));
	t->snap = (struct snap_target){ .pid = pid, .pp = pp, .tasks = threadstate__new(pid), .uw = uw };
	t->alive = true;
	t->names_due = true;
	t->gil = in->free_threaded ? pyproc__gil_enabled(pp) : 1;
	if (t->gil < 0)
		t->gil = -1;
	t->gil_at = clock_now_ns();
	char *label = xasprintf("process %d:\"%s\"", (int)pid, in->cmdline);
	t->proc_frame = profile__frame(s->prof, label, "", "", -1, PROF_FRAME_PROCESS);
	free(label);
	if (!s->pyver[0])
		snprintf(s->pyver, sizeof(s->pyver), "%s", in->version_str);
}

/* --gil keeps the samples of the thread holding the GIL: a free-threaded
 * interpreter running without one would give none. Refused (-ENOTSUP, why
 * says so) before any sampling; a starting interpreter is given up to
 * GIL_WAIT_NS to create its GIL state. 0 when it has a GIL, or when that
 * could not be told (sampled as usual). */
static int gil_refused(const struct sampler *s, struct pyproc *pp, char *why, size_t whylen)
{
	if (!s->c.gil_only || !pyproc__info(pp)->free_threaded)
		return 0;
	struct timespec pause = { 0, 1000000 };
	uint64_t end = clock_now_ns() + GIL_WAIT_NS;
	int r;
	while ((r = pyproc__gil_enabled(pp)) == -EAGAIN && !s->stop && clock_now_ns() < end)
		nanosleep(&pause, NULL);
	if (r != 0)
		return 0;
	snprintf(why, whylen, "runs Python %s without a GIL (a free-threaded build): --gil would "
		 "keep no sample; leave out --gil, or start it with PYTHON_GIL=1 (python -X gil=1)",
		 pyproc__info(pp)->version_str);
	return -ENOTSUP;
}

int sampler__add_pid(struct sampler *s, pid_t pid, char *why, size_t whylen)
{
	if (has_target(s, pid))
		return 0;
	struct pyproc *pp;
	struct unwinder *uw = NULL;
	int err = pyproc__open(pid, &pp, why, whylen);
	if (err)
		return err;
	if ((err = gil_refused(s, pp, why, whylen)) != 0) {
		pyproc__close(pp);
		return err;
	}
	if (s->c.native && (err = unwinder__new(pid, pyproc__info(pp)->binary, &uw)) != 0) {
		snprintf(why, whylen, "cannot read the native stacks of process %d: %s", (int)pid,
			 strerror(-err));
		pyproc__close(pp);
		return err;
	}
	add_target(s, pp, uw, pid);
	return 0;
}

void sampler__watch(struct sampler *s, pid_t pid)
{
	if (s->nroots < (int)(sizeof(s->roots) / sizeof(s->roots[0])))
		s->roots[s->nroots++] = pid;
}

static bool roots_alive(const struct sampler *s)
{
	for (int r = 0; r < s->nroots; r++)
		if (process_alive(s->roots[r]))
			return true;
	return s->child > 0 && !s->child_done;
}

/* The launched child is reaped here only (through launch_poll): nothing
 * else in cspy waits on its PID. Should it ever be gone without its status
 * (ECHILD), that ends the wait too, the status unknown. */
static void reap_child(struct sampler *s)
{
	if (s->child <= 0 || s->child_done)
		return;
	int r = launch_poll(s->child, &s->child_status);
	if (r == 1 || r == -ECHILD) {
		s->child_done = true;
		s->child_lost = r < 0;
	}
}

/* With --subprocesses: adopt Python descendants of every target and of the
 * launched child. A non-Python one is remembered with its executable and
 * looked at again only after it execs something else. */
static void scan_children(struct sampler *s)
{
	pid_t *queue = xmalloc(MAX_TARGETS * sizeof(*queue));
	pid_t *kids = xmalloc(MAX_TARGETS * sizeof(*kids));
	size_t nq = 0;
	for (size_t i = 0; i < s->nt && nq < MAX_TARGETS; i++)
		if (s->t[i].alive)
			queue[nq++] = s->t[i].snap.pid;
	if (s->child > 0 && !s->child_done && !has_target(s, s->child) && nq < MAX_TARGETS)
		queue[nq++] = s->child;
	for (int r = 0; r < s->nroots && nq < MAX_TARGETS; r++)
		if (!has_target(s, s->roots[r]) && process_alive(s->roots[r]))
			queue[nq++] = s->roots[r];
	for (size_t qi = 0; qi < nq; qi++) {
		int n = procfs_children(queue[qi], kids, MAX_TARGETS);
		for (int k = 0; k < n; k++) {
			pid_t pid = kids[k];
			bool queued = false;
			for (size_t j = 0; j < nq && !queued; j++)
				queued = queue[j] == pid;
			if (queued)
				continue;
			if (nq < MAX_TARGETS)
				queue[nq++] = pid;
			if (has_target(s, pid) || s->nt >= MAX_TARGETS)
				continue;
			char *exe = procfs_exe(pid);
			struct skipped *known = NULL;
			for (size_t j = 0; j < s->nsk; j++)
				if (s->sk[j].pid == pid)
					known = &s->sk[j];
			uint64_t now = clock_now_ns();
			if (known && exe && known->exe && strcmp(known->exe, exe) == 0 &&
			    now - known->seen_ns >= SKIP_SETTLE_NS) {
				free(exe);
				continue;
			}
			struct pyproc *pp;
			char why[256];
			if (pyproc__open(pid, &pp, why, sizeof(why)) == 0) {
				add_target(s, pp, NULL, pid);
				free(exe);
			} else if (known) {
				if (!exe || !known->exe || strcmp(known->exe, exe) != 0)
					known->seen_ns = now;   /* it exec'd: settles anew */
				free(known->exe);
				known->exe = exe;
			} else {
				s->sk = xgrow(s->sk, &s->sk_cap, s->nsk + 1, sizeof(*s->sk));
				s->sk[s->nsk++] = (struct skipped){ pid, exe, now };
			}
		}
	}
	free(queue);
	free(kids);
}

/* Caught this early, a Python 2.7-3.10 interpreter may not have written its
 * version string yet, so only the file name said "3.7": the micro version,
 * which some layouts depend on (3.7.0-3.7.3), is unknown. It is written
 * during start-up, within milliseconds: open the process again until it is
 * there (bounded), and keep the exact one. */
static struct pyproc *recheck_version(const struct sampler *s, pid_t pid, struct pyproc *pp)
{
	struct timespec pause = { 0, 1000000 };
	char why[256];
	uint64_t end = clock_now_ns() + 500000000ull;
	while (pyproc__info(pp)->version_guessed && !s->stop && clock_now_ns() < end) {
		struct pyproc *again = NULL;
		if (pyproc__open(pid, &again, why, sizeof(why)) != 0)
			break;
		if (!pyproc__info(again)->version_guessed) {
			pyproc__close(pp);
			return again;
		}
		pyproc__close(again);
		nanosleep(&pause, NULL);
	}
	return pp;
}

int sampler__add_child(struct sampler *s, pid_t child, double timeout_s, char *why, size_t whylen)
{
	s->child = child;
	uint64_t deadline = clock_now_ns() + (uint64_t)(timeout_s * 1e9);
	struct timespec pause = { 0, 1000000 };
	struct pyproc *pp = NULL;
	int err = -EINTR;
	why[0] = '\0';
	while (!s->stop) {
		reap_child(s);
		if (s->child_done && !s->c.subprocesses) {
			snprintf(why, whylen, "the command exited before its Python interpreter started");
			err = -ESRCH;
			break;
		}
		/* Opening is costly (ELF files); once the child is Python, only
		 * wait for its interpreter to have a thread state. */
		if (!s->child_done && !pp && pyproc__open(child, &pp, why, whylen) != 0)
			pp = NULL;
		if (pp) {
			int e = pyproc__sample(pp, NULL, &s->snap.sample, 0);
			if (e == 0) {
				pp = recheck_version(s, child, pp);
				if ((err = gil_refused(s, pp, why, whylen)) != 0)
					break;
				add_target(s, pp, NULL, child);
				return 0;
			}
			if (e == -ESRCH) {
				pyproc__close(pp);
				pp = NULL;
			}
		}
		if (s->c.subprocesses) {
			scan_children(s);
			if (s->nt > 0) {
				err = 0;
				break;
			}
			if (s->child_done) {
				snprintf(why, whylen, "the command exited and no Python process was found under it");
				err = -ESRCH;
				break;
			}
		}
		if (clock_now_ns() > deadline) {
			if (!why[0])
				snprintf(why, whylen, "no Python interpreter started within %.0f seconds", timeout_s);
			err = -ENOEXEC;
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (err == -EINTR)
		snprintf(why, whylen, "interrupted");
	pyproc__close(pp);
	return err;
}

static const struct tname *name_find(const struct target *t, uint64_t thread_id)
{
	struct tname key = { .thread_id = thread_id };
	return t->nnames ? bsearch(&key, t->names, t->nnames, sizeof(*t->names), tname_cmp) : NULL;
}

static const char *thread_name(struct target *t, const struct py_thread *th)
{
	if (th->name[0])
		return th->name;
	const struct tname *n = name_find(t, th->thread_id);
	if (n)
		return n->name;
	t->names_due = true;    /* a thread we have no name for yet */
	return "";
}

/* After a name lookup: keep the names of the threads of this sample (also
 * of those idle now, so that they have it once they run), and only those. */
static void names_refresh(struct target *t, const struct py_sample *sample)
{
	struct tname *fresh = xmalloc((sample->n ? sample->n : 1) * sizeof(*fresh));
	size_t n = 0;
	for (size_t i = 0; i < sample->n; i++) {
		const struct py_thread *th = &sample->threads[i];
		const struct tname *old = th->name[0] ? NULL : name_find(t, th->thread_id);
		if (!th->name[0] && !old)
			continue;
		fresh[n].thread_id = th->thread_id;
		snprintf(fresh[n].name, sizeof(fresh[n].name), "%s", th->name[0] ? th->name : old->name);
		n++;
	}
	qsort(fresh, n, sizeof(*fresh), tname_cmp);
	free(t->names);
	t->names = fresh;
	t->nnames = n;
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
	char addr[32];
	const char *name = nf->function;
	if (!name) {
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)nf->pc);
		name = addr;
	}
	if (nf->file)
		return profile__frame(s->prof, name, nf->file, nf->short_file,
				      s->c.no_lineno || s->c.function_lines ? -1 : nf->line,
				      PROF_FRAME_NATIVE);
	return profile__frame(s->prof, name, nf->module_path, nf->module, -1, PROF_FRAME_NATIVE);
}

/* ms: the thread's merged native stack with --native, else NULL. */
static void add_thread(struct sampler *s, struct target *t, const struct py_thread *th,
		       const struct merged_stack *ms, uint64_t t_ns)
{
	if (!s->c.include_idle && !th->active)
		return;
	if (s->c.gil_only && !th->owns_gil)
		return;
	if (ms && ms->err) {
		s->st.errors++;         /* not unwound, or not merged: never a wrong stack */
		return;
	}
	size_t nf = ms ? ms->n : th->nframes;
	struct stack_builder *sb = s->sb;
	stack_builder__begin(sb, nf + 4);
	const char *tname = thread_name(t, th);
	if (s->c.subprocesses)
		stack_builder__root(sb, t->proc_frame);
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
	if (th->truncated)      /* the root frames beyond PYPROC_MAX_DEPTH were not read */
		stack_builder__root(sb, profile__frame(s->prof, SAMPLER_TRUNCATED, "", "", -1,
						       PROF_FRAME_OTHER));
	for (size_t k = 0; k < nf; k++) {
		const struct py_frame *fr = ms ? ms->frames[nf - 1 - k].py
					       : &th->frames[nf - 1 - k];    /* root first */
		if (fr) {
			int line = s->c.no_lineno ? -1 : s->c.function_lines ? fr->code->firstlineno
									      : fr->line;
			const struct py_code *code = fr->code;
			stack_builder__push_code(sb, code->uid, line, code->name, code->filename,
						 code->short_filename);
		} else {
			stack_builder__push(sb, native_frame_id(s, &ms->frames[nf - 1 - k].native));
		}
	}
	if (!stack_builder__keep(sb))
		return;
	uint32_t tid = profile__thread(s->prof, t->snap.pid, th->tid, tname, pyproc__info(t->snap.pp)->cmdline);
	if (th->ns_tid && profile__thread_at(s->prof, tid)->ns_tid != th->ns_tid)
		profile__thread_set_ns_tid(s->prof, tid, th->ns_tid);
	stack_builder__add(sb, tid, t_ns);
}

static void sample_target(struct sampler *s, struct target *t, uint64_t now, uint64_t t_ns)
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
	/* Pause only the threads that run: one asleep in the kernel cannot
	 * change its stack, and waking it costs the program. Native unwinding
	 * needs the registers of every thread shown: with --native --idle,
	 * all of them. */
	bool native = s->c.native && !s->c.nonblocking;
	struct snap_req r = { .flags = flags, .native = native };
	r.pause = s->c.nonblocking ? SNAP_NONBLOCKING
		: t->snap.uw && s->c.include_idle ? SNAP_PAUSE_TASKS : SNAP_PAUSE_RUNNING;
	int err = snapshot__take(&t->snap, &r, &s->snap, &s->pstats);
	s->st.pauses = s->pstats.pauses;
	s->st.paused_ns = s->pstats.paused_ns;
	s->st.gil_retries = s->pstats.gil_retries;
	if (err == -EPERM && !s->c.nonblocking &&
	    perm_traced(t->snap.pid, s->st.gave_up, sizeof(s->st.gave_up)) > 0) {
		/* Traced by another process since the start: every pause would
		 * fail. Stop sampling it, and say why. */
		t->alive = false;
		s->st.errors++;
		return;
	}
	if (err == -ESRCH || err == -ENOENT || (err && !process_alive(t->snap.pid))) {
		t->alive = false;
		return;
	}
	if (err == -EAGAIN)
		return;         /* interpreter starting or finalising: not a sample */
	if (err) {
		s->st.errors++;
		return;
	}
	if (!s->st.samples++) {
		s->st.first_sample_ns = clock_now_ns();
		s->st.first_sample_cpu_ns = cpu_ns();
	}
	if (flags & PYSAMPLE_NAMES)
		names_refresh(t, &s->snap.sample);
	if (!s->c.threads_root && now - t->retired_at >= RETIRE_NS) {
		retire_exited(s, t);
		t->retired_at = now;
	}
	const struct py_sample *sample = &s->snap.sample;
	s->tick_threads += (int)sample->n;
	for (size_t i = 0; i < sample->n; i++) {
		const struct py_thread *th = &sample->threads[i];
		s->st.thread_samples++;
		s->st.active_samples += th->active;
		s->st.gil_samples += th->owns_gil;
		const struct merged_stack *ms = NULL, no_unwinder = { .err = -ENOTSUP };
		if (native)
			ms = i < s->snap.native.n ? &s->snap.native.threads[i] : &no_unwinder;
		add_thread(s, t, th, ms, t_ns);
	}
}

static bool has_alive_child_target(const struct sampler *s)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].snap.pid == s->child)
			return s->t[i].alive;
	return process_alive(s->child);
}

static int alive_targets(const struct sampler *s)
{
	int n = 0;
	for (size_t i = 0; i < s->nt; i++)
		n += s->t[i].alive;
	return n;
}

static void update_status(struct sampler *s, uint64_t now)
{
	s->st.elapsed_s = (double)(now - s->start_ns) / 1e9;
	s->st.processes = alive_targets(s);
	s->st.cpu_ns = cpu_ns();
	uint64_t reads = 0, tlbc = 0;
	int nogil = 0;
	for (size_t i = 0; i < s->nt; i++) {
		reads += pyproc__syscalls(s->t[i].snap.pp);
		tlbc += pyproc__tlbc_frames(s->t[i].snap.pp);
		nogil += s->t[i].alive && s->t[i].gil == 0;
	}
	s->st.vm_reads = reads;
	s->st.tlbc_frames = tlbc;
	s->st.nogil_processes = nogil;
	if (nogil > s->st.max_nogil_processes)
		s->st.max_nogil_processes = nogil;
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
			reap_child(s);
			s->last_reap_ns = now;
		}
		if (s->c.subprocesses && now - s->last_scan_ns >= CHILD_SCAN_NS) {
			scan_children(s);
			s->last_scan_ns = now;
		}
		if (alive_targets(s) == 0 && (!s->c.subprocesses || !roots_alive(s)))
			break;
		s->st.ticks++;
		s->st.lag_s = (double)now > next ? ((double)now - next) / 1e9 : 0;
		if (s->st.lag_s > s->st.max_lag_s)
			s->st.max_lag_s = s->st.lag_s;
		if (s->st.lag_s > 1.0 && s->st.lag_s > 20 * interval / 1e9)
			s->st.behind = true;
		s->tick_threads = 0;
		for (size_t i = 0; i < s->nt; i++)
			if (s->t[i].alive)
				sample_target(s, &s->t[i], now, now - start);
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
		while ((double)now < next && now < end && !s->stop) {
			double until = next;
			if (s->c.progress && until > (double)(now + PROGRESS_NS))
				until = (double)(now + PROGRESS_NS);
			if (until > (double)end)
				until = (double)end;
			struct timespec ts = { (time_t)(until / 1e9), (long)((uint64_t)until % 1000000000ull) };
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !s->stop)
				;
			now = clock_now_ns();
			if ((double)now < next)
				report(s, now, false);
		}
	}
	/* A launched child whose interpreter is gone is exiting: wait for its
	 * status (briefly) rather than let the caller kill it. */
	if (s->child > 0 && !s->child_done && !has_alive_child_target(s)) {
		struct timespec ts = { 0, 1000000 };
		for (int i = 0; i < 10000 && !s->child_done; i++) {
			reap_child(s);
			if (!s->child_done)
				nanosleep(&ts, NULL);
		}
	}
	reap_child(s);
	report(s, clock_now_ns(), true);
}

const struct sampler_status *sampler__status(const struct sampler *s)
{
	return &s->st;
}

int sampler__child_status(const struct sampler *s, int *status)
{
	if (!s->child_done)
		return 0;
	if (s->child_lost)
		return -ECHILD;
	*status = s->child_status;
	return 1;
}

const struct snap_target *sampler__target(const struct sampler *s, pid_t pid)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].snap.pid == pid && s->t[i].alive)
			return &s->t[i].snap;
	return NULL;
}

const char *sampler__python_version(const struct sampler *s)
{
	return s->pyver;
}
