/* SPDX-License-Identifier: MIT
 *
 * One snapshot of a process's stacks (see snapshot.h). snapshot__take:
 *   1. what to pause: nothing (the run states read now), every thread
 *      (listed now, or the task list's), or the running ones (their run
 *      states read now; none running: no pause at all; the GIL holder
 *      alone when several run and it is known); a quiet process (nothing
 *      ran since the last read) is not read at all when the request keeps
 *      only running threads' stacks (take_quiet);
 *   2. in the pause: pyproc__sample with the pause and the task list in its
 *      py_view, the native unwinding, the locals;
 *   3. resume, then merge the native stacks.
 * The pause is a local of one call: it is never kept, never left behind.
 */
#include "sampler/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/arch.h"
#include "native/unwind.h"
#include "proc/procfs.h"
#include "proc/ptrace.h"
#include "proc/threadstate.h"
#include "python/locals.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* A pause this long after the last one first reads without pausing. */
#define PREWARM_NS 2000000ull
#define PREWARM_THREADS_MAX 16  /* thread states from which no warm read is made */
/* A pause that stopped a thread in the middle of making a frame current is
 * taken again this many times at most (stopped_mid_update). */
#define PAUSE_RETRIES 1
#define RETRY_WAIT_NS 2000000ull
/* Known GIL waiters from which the GIL is read before the run states. */
#define GIL_WAITERS_MIN 2
/* Polls of the GIL between snapshots: every half switch interval, not more
 * often than this. */
#define GIL_POLL_MIN_NS 500000ull
#define GIL_POLL_MAX_US 10000000ull     /* a switch interval read as more: 10 s */

int snap_target__open(pid_t pid, struct snap_target *t, char *why, size_t whylen)
{
	memset(t, 0, sizeof(*t));
	int err = pyproc__open(pid, &t->pp, why, whylen);
	if (err)
		return err;
	t->pid = pid;
	t->tasks = threadstate__new(pid);
	return 0;
}

void snap_target__close(struct snap_target *t)
{
	pyproc__close(t->pp);
	threadstate__free(t->tasks);
	unwinder__free(t->uw);
	memset(t, 0, sizeof(*t));
}

const struct pyproc_info *snap_target__info(const struct snap_target *t)
{
	return pyproc__info(t->pp);
}

static void locals_release(struct snapshot *s)
{
	if (!s->locals)
		return;
	for (size_t i = 0; i < s->nlocals; i++) {
		if (!s->locals[i])
			continue;
		size_t nf = i < s->sample.n ? s->sample.threads[i].nframes : 0;
		for (size_t k = 0; k < nf; k++)
			locals_free(s->locals[i][k].v, s->locals[i][k].n);
		free(s->locals[i]);
	}
	free(s->locals);
	s->locals = NULL;
	s->nlocals = 0;
}

/* The locals of every frame of the threads asked for (locals_tid). */
static void read_locals(const struct snap_target *t, const struct snap_req *r, struct snapshot *s)
{
	const struct py_sample *sm = &s->sample;
	s->locals = xcalloc(sm->n ? sm->n : 1, sizeof(*s->locals));
	s->nlocals = sm->n;
	for (size_t i = 0; i < sm->n; i++) {
		const struct py_thread *th = &sm->threads[i];
		if (r->locals_tid && (th->tid != r->locals_tid || th->err))
			continue;
		s->locals[i] = xcalloc(th->nframes ? th->nframes : 1, sizeof(**s->locals));
		for (size_t k = 0; k < th->nframes; k++) {
			struct snap_locals *l = &s->locals[i][k];
			l->err = locals_read(pyproc__ctx(t->pp), th->frames[k].frame_addr,
					     th->frames[k].code->addr, r->locals, &l->v, &l->n);
		}
	}
}

/* The registers of the threads the pause stopped (req.regs). */
static void read_regs(const struct ptrace_pause *pause, struct snapshot *s)
{
	const struct py_sample *sm = &s->sample;
	s->regs = xgrow(s->regs, &s->regs_cap, sm->n ? sm->n : 1, sizeof(*s->regs));
	s->nregs = sm->n;
	for (size_t i = 0; i < sm->n; i++) {
		struct arch_regs ar;
		struct snap_regs *r = &s->regs[i];
		*r = (struct snap_regs){ .sysno = -1 };
		pid_t tid = sm->threads[i].tid;
		if (!tid || ptrace_pause__regs(pause, tid, &ar) != 0)
			continue;
		r->have = true;
		r->pc = ar.pc;
		r->sysno = ar.sysno;
		r->running = ptrace_pause__running(pause, tid) == 1;
	}
}

/* Read the stacks (and what is read with them) while the view holds. */
static int read_in(const struct snap_target *t, const struct snap_req *r, const struct py_view *v,
		   unsigned flags, struct snapshot *s)
{
	if (r->stall_ms) {
		struct timespec ts = { r->stall_ms / 1000, (long)(r->stall_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	int err = pyproc__sample(t->pp, v, &s->sample, flags);
	if (!err && r->regs && v->pause)
		read_regs(v->pause, s);
	if (!err && r->after_read)
		r->after_read(r->after_read_arg, &s->sample);
	if (!err && r->native && t->uw && v->pause)
		err = unwinder__unwind(t->uw, v->pause, &s->sample, pyproc__mem(t->pp));
	if (!err && r->locals)
		read_locals(t, r, s);
	return err;
}

/* Did the pause stop a thread where its own stack cannot be read (no frame
 * at all: -EFAULT)? A thread is stopped at any instruction, also inside
 * the few between an interpreter's making a new frame current and filling
 * it in (3.12: _PyEval_EvalFrameDefault sets tstate->cframe to a C-stack
 * cframe whose current_frame is not set yet; a C function calling a Python
 * key 20,000 times per sorted() sits there about 1 % of the time). A
 * moment later it is past them: such a pause is taken again, at most
 * PAUSE_RETRIES times. */
static pid_t stopped_mid_update(const struct snapshot *s, const struct ptrace_pause *pause)
{
	for (size_t i = 0; i < s->sample.n; i++) {
		const struct py_thread *th = &s->sample.threads[i];
		if (th->err == -EFAULT && !th->nframes && !th->skipped && th->tid &&
		    ptrace_pause__running(pause, th->tid) == 1)
			return th->tid;
	}
	return 0;
}

/* Wait (up to RETRY_WAIT_NS) until tid, let go, has run: paused again at
 * once, or on a busy machine within 50 us, it had often not run a single
 * instruction since (it waits for a CPU), and was met in the same place. */
static void wait_ran(pid_t pid, pid_t tid, uint64_t before)
{
	uint64_t end = clock_now_ns() + RETRY_WAIT_NS, now;
	struct timespec ts = { 0, 20000 };
	do {
		nanosleep(&ts, NULL);
		if (procfs_thread_runtime(pid, tid, &now) != 0 || now != before)
			return;
	} while (clock_now_ns() < end);
}

/* Before a pause: caches gone cold since the last pause (100 Hz: every
 * cache, page walk and branch of this read is cold) are warmed by a read
 * without pausing, so that the read in the pause is a warm one. Not for a
 * process whose last sample walked PREWARM_THREADS_MAX thread states or
 * more: the warm read would be a second walk of them all (their pages read
 * twice a tick), for a pause that stops only the running threads; it holds
 * them longer instead (100 threads: ~60 us more, see docs/design.md). */
static void prewarm(const struct snap_target *t, const struct snap_req *r, bool states,
		    unsigned flags, struct snapshot *s)
{
	uint64_t now = clock_now_ns();
	if (r->prewarm && now - s->paused_at_ns > PREWARM_NS) {
		if (pyproc__chain_len(t->pp) >= PREWARM_THREADS_MAX) {
			s->prewarm_spared++;
		} else {
			struct py_view v = { .tasks = t->tasks, .states = states };
			(void)pyproc__sample(t->pp, &v, &s->sample, flags | PYSAMPLE_PREWARM);
			if (r->native && t->uw)         /* that cycle dropped them: unused */
				unwinder__want_stacks(t->uw, pyproc__mem(t->pp));
		}
	}
	s->paused_at_ns = now;
}

/* Pause tids (NULL: every thread of the process, listed now), read, resume.
 * begun: tids interrupted already (snapshot__begin, prewarm done), ended
 * here. */
static int paused_read(const struct snap_target *t, const struct snap_req *r, const pid_t *tids,
		       int ntids, bool states, unsigned flags, struct snapshot *s,
		       struct snap_stats *st, struct ptrace_pause *begun)
{
	struct ptrace_pause *pause = NULL;
	if (!begun)
		prewarm(t, r, states, flags, s);
	int err;
	for (int attempt = 0;; attempt++) {
		if (begun) {
			pause = begun;
			begun = NULL;
			ptrace_pause__interrupt(pause);         /* if not done yet */
			ptrace_pause__wait(pause);
			if (st)
				st->begun++;
			err = 0;
		} else {
			err = tids ? ptrace_pause__stop_tids(t->pid, tids, ntids, &pause)
				   : ptrace_pause__stop(t->pid, &pause);
		}
		if (err)
			return err;
		struct py_view v = { .tasks = t->tasks, .states = states, .pause = pause };
		err = read_in(t, r, &v, flags, s);
		uint64_t read_ns = clock_now_ns(), interrupted_ns, stopped_ns;
		ptrace_pause__times(pause, &interrupted_ns, &stopped_ns);
		pid_t torn = err ? 0 : stopped_mid_update(s, pause);
		bool again = torn && attempt < PAUSE_RETRIES;
		uint64_t ran = 0;
		if (again && procfs_thread_runtime(t->pid, torn, &ran) != 0)
			ran = UINT64_MAX;
		uint64_t released_ns = ptrace_pause__release(pause);
		if (st && interrupted_ns && released_ns) {
			st->pauses++;
			st->paused_ns += released_ns - interrupted_ns;
			st->stop_ns += stopped_ns - interrupted_ns;
			st->read_ns += read_ns - stopped_ns;
			uint64_t us = (released_ns - interrupted_ns) / 1000;
			st->hold_us[us < SNAP_HOLD_BUCKETS ? us : SNAP_HOLD_BUCKETS - 1]++;
			st->retries += again;
		}
		if (!again)
			return err;
		locals_release(s);
		if (ran != UINT64_MAX)
			wait_ran(t->pid, torn, ran);
	}
}

unsigned snap_stats__hold_us(const struct snap_stats *st, double q)
{
	if (!st->pauses)
		return 0;
	uint64_t want = (uint64_t)(q * (double)st->pauses + 0.5), seen = 0;
	for (unsigned i = 0; i < SNAP_HOLD_BUCKETS; i++) {
		seen += st->hold_us[i];
		if (seen >= want && seen)
			return i;
	}
	return SNAP_HOLD_BUCKETS - 1;
}

/* The TID of the thread owning the GIL in a sample, 0 if none. */
static pid_t gil_owner(const struct py_sample *sample)
{
	for (size_t i = 0; i < sample->n; i++)
		if (sample->threads[i].owns_gil)
			return sample->threads[i].tid;
	return 0;
}

/* Before reading the run states: give them the GIL (threadstate__set_gil)
 * when it can spare reads: some threads wait for it, or its address is not
 * known yet and the process has threads enough for waiters. Once found, the
 * GIL is read at its known address (it does not move while the interpreter
 * lives): one read, two after a switch; none for a process of one or two
 * threads. */
static void give_gil(const struct snap_target *t, int ntasks)
{
	struct threadstate_gil g;
	int w = threadstate__gil_waiters(t->tasks);
	if ((w >= GIL_WAITERS_MIN || (w < 0 && ntasks > GIL_WAITERS_MIN)) &&
	    pyproc__gil_state(t->pp, t->tasks, threadstate__gil_last(t->tasks), &g) == 1)
		threadstate__set_gil(t->tasks, &g);
}

uint64_t snap_target__gil_poll_ns(const struct snap_target *t)
{
	uint64_t us = t->tasks && t->pp ? threadstate__gil_polling(t->tasks) : 0;
	if (!us)
		return 0;
	uint64_t ns = (us < GIL_POLL_MAX_US ? us : GIL_POLL_MAX_US) * 1000;
	return ns < GIL_POLL_MIN_NS ? GIL_POLL_MIN_NS : ns;
}

void snap_target__gil_poll(const struct snap_target *t)
{
	struct threadstate_gil g;
	bool ok = pyproc__gil_state(t->pp, t->tasks, threadstate__gil_last(t->tasks), &g) == 1;
	threadstate__gil_poll(t->tasks, ok ? &g : NULL);
}

/* The threads running now (their run states read), into *run: the count,
 * or -ENOENT when the task list is unknown. */
static int running_tasks(const struct snap_target *t, pid_t **run, size_t *cap)
{
	struct threadstate *ts = t->tasks;
	const pid_t *tids;
	int n = ts ? threadstate__tasks(ts, false, &tids) : -ENOENT;
	if (n <= 0)
		return -ENOENT;
	give_gil(t, n);
	/* The GIL's holder is found by its thread id, which may have
	 * listed the tasks again: the borrowed list is the new one. */
	n = threadstate__tasks(ts, false, &tids);
	if (n <= 0)
		return -ENOENT;
	threadstate__read(ts);
	*run = xgrow(*run, cap, (size_t)n, sizeof(**run));
	int k = 0;
	for (int i = 0; i < n; i++)
		if (threadstate__running(ts, tids[i]) == 1)
			(*run)[k++] = tids[i];
	return k;
}

/* Nothing ran since the last read and r keeps only running threads' stacks:
 * the snapshot is quiet, nothing to read (see snapshot.h). */
static bool take_quiet(const struct snap_target *t, const struct snap_req *r, struct snapshot *s,
		       struct snap_stats *st)
{
	unsigned need = PYSAMPLE_SKIP_IDLE | PYSAMPLE_NO_GIL;
	if (!t->tasks || !threadstate__quiet(t->tasks) || (r->flags & need) != need ||
	    (r->flags & PYSAMPLE_NAMES) || r->locals || r->native || r->after_read)
		return false;
	s->quiet = true;
	s->sample.n = 0;
	if (st)
		st->quiet++;
	return true;
}

/* Of n > 1 running threads, pause the GIL holder alone (see snapshot.h)?
 * 1 and *holder, or 0. */
static int holder_alone(const struct snap_target *t, const struct snap_req *r, int n, pid_t *holder)
{
	*holder = 0;
	return n > 1 && !(r->native && t->uw) && pyproc__gil_tid(t->pp, t->tasks, holder) == 1;
}

/* SNAP_PAUSE_RUNNING (see snapshot.h); begun by snapshot__begin or not. */
static int take_running(const struct snap_target *t, const struct snap_req *r, struct snapshot *s,
			struct snap_stats *st)
{
	struct snap_begun *b = r->begun && r->begun->valid ? r->begun : NULL;
	struct ptrace_pause *begun = NULL;
	const pid_t *run = s->run;
	int n;
	pid_t holder = 0;
	if (b) {
		b->valid = false;
		begun = b->pause;
		b->pause = NULL;
		n = b->nrun;
		run = b->run;
		holder = b->holder;
	} else {
		n = running_tasks(t, &s->run, &s->run_cap);
		run = s->run;
	}
	if (n == 0 && take_quiet(t, r, s, st))
		return 0;
	if (n == 0) {                   /* nothing runs: nothing can change */
		struct py_view v = { .tasks = t->tasks, .states = true };
		return read_in(t, r, &v, r->flags, s);
	}
	if (n < 0)                      /* the tasks are unknown: pause them all */
		return paused_read(t, r, NULL, 0, false, r->flags, s, st, NULL);
	if (b ? holder != 0 : holder_alone(t, r, n, &holder)) {
		int err = paused_read(t, r, &holder, 1, true, r->flags & ~(unsigned)PYSAMPLE_NO_GIL,
				      s, st, begun);
		if (err || gil_owner(&s->sample) == holder)
			return err;
		if (st)
			st->gil_retries++;
		locals_release(s);
		begun = NULL;
	}
	return paused_read(t, r, run, n, true, r->flags, s, st, begun);
}

/* A begun pause no take ended: let go. */
static void begun_end(struct snap_begun *b)
{
	ptrace_pause__resume(b->pause);
	b->pause = NULL;
	b->valid = false;
}

int snapshot__begin(const struct snap_target *t, const struct snap_req *r, struct snapshot *s,
		    struct snap_begun *b)
{
	begun_end(b);
	b->holder = 0;
	if (r->pause != SNAP_PAUSE_RUNNING)
		return 0;
	int n = running_tasks(t, &b->run, &b->run_cap);
	if (n < 0)
		return 0;               /* unknown: the take pauses every thread */
	b->nrun = n;
	b->valid = true;
	if (n == 0)
		return 0;               /* no pause (take_running) */
	const pid_t *tids = b->run;
	int ntids = n;
	unsigned flags = r->flags;
	if (holder_alone(t, r, n, &b->holder)) {
		tids = &b->holder;
		ntids = 1;
		flags &= ~(unsigned)PYSAMPLE_NO_GIL;
	}
	prewarm(t, r, true, flags, s);
	int err = ptrace_pause__seize_tids(t->pid, tids, ntids, &b->pause);
	if (err) {
		b->pause = NULL;
		b->valid = false;
	}
	return err;
}

void snap_begun__interrupt(struct snap_begun *b)
{
	if (b->valid && b->pause)
		ptrace_pause__interrupt(b->pause);
}

bool snap_begun__ready(struct snap_begun *b)
{
	return !b->valid || !b->pause || ptrace_pause__stopped(b->pause);
}

void snap_begun__release(struct snap_begun *b)
{
	begun_end(b);
	free(b->run);
	memset(b, 0, sizeof(*b));
}

/* Each read thread's innermost frame to its run state's proof (see
 * threadstate__ran): a thread found there since the read before ran. */
static void note_leaves(struct threadstate *ts, const struct py_sample *sm, uint64_t begun)
{
	for (size_t i = 0; i < sm->n; i++) {
		const struct py_thread *th = &sm->threads[i];
		if (th->tid && !th->err && !th->skipped && th->nframes)
			threadstate__ran(ts, th->tid, th->frames[0].frame_addr, th->leaf_instr,
					 begun);
	}
}

int snapshot__take(const struct snap_target *t, const struct snap_req *r, struct snapshot *out,
		   struct snap_stats *st)
{
	locals_release(out);
	out->native.n = 0;
	out->nregs = 0;
	out->quiet = false;
	int err;
	switch (r->pause) {
	case SNAP_NONBLOCKING: {
		int tries = r->tries > 1 ? r->tries : 1;
		do {
			const pid_t *tids;
			uint64_t begun = clock_now_ns();
			int ntasks = t->tasks ? threadstate__tasks(t->tasks, false, &tids) : -ENOENT;
			bool states = ntasks >= 0;
			if (states) {
				give_gil(t, ntasks);
				threadstate__read(t->tasks);
			}
			if (states && take_quiet(t, r, out, st))
				return 0;
			struct py_view v = { .tasks = t->tasks, .states = states };
			err = pyproc__sample(t->pp, &v, &out->sample, r->flags);
			if (!err && states)
				note_leaves(t->tasks, &out->sample, begun);
		} while (--tries > 0 && (err == -EFAULT || err == -EAGAIN));
		if (!err && r->after_read)
			r->after_read(r->after_read_arg, &out->sample);
		if (!err && r->locals)
			read_locals(t, r, out);
		return err;
	}
	case SNAP_PAUSE_ALL:
		err = paused_read(t, r, NULL, 0, false, r->flags, out, st, NULL);
		break;
	case SNAP_PAUSE_TASKS: {
		const pid_t *tids = NULL;
		int n = t->tasks ? threadstate__tasks(t->tasks, false, &tids) : 0;
		err = paused_read(t, r, n > 0 ? tids : NULL, n, false, r->flags, out, st, NULL);
		break;
	}
	case SNAP_PAUSE_RUNNING:
		err = take_running(t, r, out, st);
		break;
	default:
		return -EINVAL;
	}
	/* Symbols and the merge once the target runs again. */
	if (!err && r->native && t->uw)
		err = unwinder__merge(t->uw, &out->sample, &out->native);
	return err;
}

void snapshot__release(struct snapshot *s)
{
	locals_release(s);
	py_sample__release(&s->sample);
	merged_sample__release(&s->native);
	free(s->run);
	free(s->regs);
	memset(s, 0, sizeof(*s));
}
