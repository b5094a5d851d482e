/* SPDX-License-Identifier: MIT
 *
 * The targets of a sampler (see target.h): a growing array of struct
 * target (a target that exits stays, not alive), the launched child's
 * status (reaped here only, through launch_poll), the watched roots, and
 * the processes seen that are not Python (struct skipped: descendants, the
 * watched roots, a launched child that is not Python), each with the parent
 * it was found under. A target's process frames are built once, when it is
 * adopted, by walking those parents up: a non-Python ancestor's frame is
 * interned the first time a chain needs it (its command line read then),
 * and an ancestor that is a target lends its own chain.
 */
#include "sampler/target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/profile.h"
#include "agg/threadsel.h"
#include "native/unwind.h"
#include "proc/launch.h"
#include "proc/procfs.h"
#include "proc/threadstate.h"
#include "python/pyproc.h"
#include "sampler/classify.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define MAX_TARGETS 1024
#define MAX_SCAN_PROCS 32768    /* the processes of /proc one scan looks at */
#define FULL_SCAN_EVERY 10      /* scans between two that read every process's parent */
/* --gil: how long a starting interpreter is given to tell whether it runs
 * without a GIL: it creates the GIL's state, then enables the GIL for each
 * extension module it imports (pyproc__gil_enabled: -EAGAIN until then);
 * seconds on a machine loaded beyond its cores */
#define GIL_WAIT_NS 10000000000ull

struct tname {
	uint64_t thread_id;
	char name[64];
	/* --thread: */
	pid_t tid;              /* the thread it was looked up for (thread ids are reused) */
	bool none;              /* looked up: no threading name (name is "") */
	int8_t keep;            /* the selection's verdict: 1, 0; -1 not decided */
	int8_t prev;            /* the verdict before this lookup (-1: none), for the
				 * sample that looked it up */
};

static int tname_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct tname *)a)->thread_id, y = ((const struct tname *)b)->thread_id;
	return x < y ? -1 : x > y;
}

struct skipped {                        /* a process that is not (yet) Python */
	pid_t pid;
	pid_t ppid;                     /* the process it was found under, 0 for a root */
	char *exe;
	uint64_t seen_ns;               /* when first seen with this exe */
	uint32_t frame;                 /* its process frame, NO_FRAME until a chain needs it */
};

#define NO_FRAME UINT32_MAX

/* A descendant seen running the same executable for this long without being
 * a Python process is not one: it is not opened again until it execs. Before
 * that, it is: caught between its exec and the loading of libpython (a
 * shared build), it cannot be told yet. */
#define SKIP_SETTLE_NS 2000000000ull

struct targets {
	struct targets_config c;
	struct target *t;
	size_t nt, t_cap;
	struct skipped *sk;
	size_t nsk, sk_cap;
	pid_t roots[64];                /* non-Python processes whose descendants we adopt */
	int nroots;
	pid_t child;
	bool child_not_python;          /* the child was opened and is not Python (now) */
	bool child_was_python;          /* ... or was opened as Python once */
	bool child_waited;              /* add_child returned: scans look at the child too */
	bool child_said;                /* add_child returned -EINPROGRESS once */
	bool child_done;
	bool child_lost;                /* reaped by someone else: status unknown */
	int child_status;
	struct py_sample probe;         /* add_child: has the interpreter started? */
	char pyver[32];
	/* The processes and their parents of the last two scans (the last one
	 * in procs[cur]); a scan reads the stat of the new ones only, and of
	 * every one each FULL_SCAN_EVERY scans. */
	struct procfs_parent *procs[2];
	int nprocs, cur;
	unsigned scans;
};

/* Alive and not a zombie (a killed process whose parent has not reaped it). */
bool target_process_alive(pid_t pid)
{
	struct procfs_stat st;
	return procfs_stat(pid, 0, &st) == 0 && st.state != 'Z' && st.state != 'X';
}

static bool has_target(const struct targets *s, pid_t pid)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].snap.pid == pid)
			return true;
	return false;
}

static struct target *target_find(struct targets *s, pid_t pid)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].snap.pid == pid)
			return &s->t[i];
	return NULL;
}

static struct skipped *skipped_find(struct targets *s, pid_t pid)
{
	for (size_t i = 0; i < s->nsk; i++)
		if (s->sk[i].pid == pid)
			return &s->sk[i];
	return NULL;
}

/* pid is not Python now: remember it with its executable (takes ownership
 * of exe); one that exec'd settles anew. */
static void skip_note(struct targets *s, pid_t pid, pid_t ppid, char *exe, uint64_t now)
{
	struct skipped *k = skipped_find(s, pid);
	if (!k) {
		s->sk = xgrow(s->sk, &s->sk_cap, s->nsk + 1, sizeof(*s->sk));
		s->sk[s->nsk++] = (struct skipped){ pid, ppid, exe, now, NO_FRAME };
		return;
	}
	if (!exe || !k->exe || strcmp(k->exe, exe) != 0) {
		k->seen_ns = now;       /* it exec'd: settles anew, and has a new command line */
		k->frame = NO_FRAME;
	}
	free(k->exe);
	k->exe = exe;
}

/* Seen running exe for SKIP_SETTLE_NS without being Python: not opened again
 * until it execs. */
static bool skip_settled(struct targets *s, pid_t pid, const char *exe, uint64_t now)
{
	const struct skipped *k = skipped_find(s, pid);
	return k && exe && k->exe && strcmp(k->exe, exe) == 0 && now - k->seen_ns >= SKIP_SETTLE_NS;
}

static uint32_t skipped_frame(struct targets *s, struct skipped *k)
{
	if (k->frame == NO_FRAME) {
		char *cmd = procfs_cmdline(k->pid);
		char *label = xasprintf("process %d:\"%s\"", (int)k->pid, cmd ? cmd : "");
		k->frame = profile__frame(s->c.prof, label, "", "", -1, PROF_FRAME_PROCESS);
		free(label);
		free(cmd);
	}
	return k->frame;
}

/* t's process frames, root first: up its parents (at most TARGET_CHAIN_MAX
 * frames, the nearest kept) until a root, a target (whose chain goes above)
 * or a process not seen. */
static void build_chain(struct targets *s, struct target *t)
{
	uint32_t up[TARGET_CHAIN_MAX];
	unsigned n = 0;
	up[n++] = t->proc_frame;
	const struct target *from = NULL;
	pid_t cur = t->ppid;
	for (unsigned hops = 0; cur > 0 && n < TARGET_CHAIN_MAX && hops < 4 * TARGET_CHAIN_MAX; hops++) {
		if ((from = target_find(s, cur)) != NULL && from != t)
			break;
		from = NULL;
		struct skipped *k = skipped_find(s, cur);
		if (!k)
			break;
		up[n++] = skipped_frame(s, k);
		cur = k->ppid;
	}
	t->nchain = 0;
	if (from) {
		unsigned keep = from->nchain < TARGET_CHAIN_MAX - n ? from->nchain : TARGET_CHAIN_MAX - n;
		for (unsigned i = from->nchain - keep; i < from->nchain; i++)
			t->chain[t->nchain++] = from->chain[i];
	}
	while (n > 0)
		t->chain[t->nchain++] = up[--n];
}

/* Takes ownership of pp and uw (NULL unless --native). ppid: the process
 * it was found under (0: a root). */
static void add_target(struct targets *s, struct pyproc *pp, struct unwinder *uw, pid_t pid,
		       pid_t ppid)
{
	const struct pyproc_info *in = pyproc__info(pp);
	if (s->c.native && !uw)
		unwinder__new(pid, in->binary, &uw);
	s->t = xgrow(s->t, &s->t_cap, s->nt + 1, sizeof(*s->t));
	struct target *t = &s->t[s->nt++];
	memset(t, 0, sizeof(*t));
	t->snap = (struct snap_target){ .pid = pid, .pp = pp, .tasks = threadstate__new(pid), .uw = uw };
	t->alive = true;
	t->ppid = ppid;
	t->names_due = true;
	t->gil = in->free_threaded ? pyproc__gil_enabled(pp) : 1;
	if (t->gil < 0)
		t->gil = -1;
	t->gil_at = clock_now_ns();
	char *label = xasprintf("process %d:\"%s\"", (int)pid, in->cmdline);
	t->proc_frame = profile__frame(s->c.prof, label, "", "", -1, PROF_FRAME_PROCESS);
	free(label);
	build_chain(s, t);
	if (!s->pyver[0])
		snprintf(s->pyver, sizeof(s->pyver), "%s", in->version_str);
}

/* --gil keeps the samples of the thread holding the GIL: a free-threaded
 * interpreter running without one would give none. Refused (-ENOTSUP, why
 * says so) before any sampling; a starting interpreter is given up to
 * GIL_WAIT_NS to create its GIL state and end its imports of extension
 * modules. 0 when it has a GIL, or when that could not be told (sampled as
 * usual). */
static int gil_refused(const struct targets *s, struct pyproc *pp, char *why, size_t whylen)
{
	if (!s->c.gil_only || !pyproc__info(pp)->free_threaded)
		return 0;
	struct timespec pause = { 0, 1000000 };
	uint64_t end = clock_now_ns() + GIL_WAIT_NS;
	int r;
	while ((r = pyproc__gil_enabled(pp)) == -EAGAIN && !*s->c.stop && clock_now_ns() < end)
		nanosleep(&pause, NULL);
	if (r != 0)
		return 0;
	snprintf(why, whylen, "runs Python %s without a GIL (a free-threaded build): --gil would "
		 "keep no sample; leave out --gil, or start it with PYTHON_GIL=1 (python -X gil=1)",
		 pyproc__info(pp)->version_str);
	return -ENOTSUP;
}

int targets__add_pid(struct targets *s, pid_t pid, char *why, size_t whylen)
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
	add_target(s, pp, uw, pid, 0);
	return 0;
}

void targets__watch(struct targets *s, pid_t pid)
{
	if (s->nroots < (int)(sizeof(s->roots) / sizeof(s->roots[0]))) {
		s->roots[s->nroots++] = pid;
		skip_note(s, pid, 0, procfs_exe(pid), clock_now_ns());    /* its frame, for chains */
	}
}

bool targets__following(const struct targets *s)
{
	return s->child > 0 && s->child_not_python && !has_target(s, s->child);
}

size_t targets__followed_pids(const struct targets *s, pid_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; targets__following(s) && i < s->nt && n < max; i++)
		if (target_process_alive(s->t[i].snap.pid) && !has_target(s, s->t[i].ppid))
			out[n++] = s->t[i].snap.pid;
	return n;
}

bool targets__roots_alive(const struct targets *s)
{
	for (int r = 0; r < s->nroots; r++)
		if (target_process_alive(s->roots[r]))
			return true;
	return s->child > 0 && !s->child_done;
}

/* The launched child is reaped here only (through launch_poll): nothing
 * else in cspy waits on its PID. Should it ever be gone without its status
 * (ECHILD), that ends the wait too, the status unknown. */
void targets__reap(struct targets *s)
{
	if (s->child <= 0 || s->child_done)
		return;
	int r = launch_poll(s->child, &s->child_status);
	if (r == 1 || r == -ECHILD) {
		s->child_done = true;
		s->child_lost = r < 0;
	}
}

/* Is pid a target, or has it just become one? A process not Python is
 * remembered with its executable and its parent and looked at again only
 * after it execs something else (or while it is young, see
 * SKIP_SETTLE_NS). */
static bool consider(struct targets *s, pid_t pid, pid_t ppid, uint64_t now)
{
	if (has_target(s, pid))
		return true;
	if (s->nt >= MAX_TARGETS)
		return false;
	char *exe = procfs_exe(pid);
	if (skip_settled(s, pid, exe, now)) {
		free(exe);
		return false;
	}
	struct pyproc *pp;
	char why[256];
	if (pyproc__open(pid, &pp, why, sizeof(why)) == 0) {
		add_target(s, pp, NULL, pid, ppid);
		free(exe);
		return true;
	}
	skip_note(s, pid, ppid, exe, now);
	return false;
}

/* Adopt Python descendants: with --subprocesses of every target, of the
 * watched roots and of the launched child; when following a child that is
 * not Python, of the child and of its descendants that are not Python (not
 * of the Python processes adopted: their children need --subprocesses). */
void targets__scan(struct targets *s)
{
	pid_t *queue = xmalloc(MAX_TARGETS * sizeof(*queue));
	pid_t *kids = xmalloc(MAX_TARGETS * sizeof(*kids));
	size_t nq = 0;
	uint64_t now = clock_now_ns();
	bool expand_targets = s->c.subprocesses;
	for (size_t i = 0; expand_targets && i < s->nt && nq < MAX_TARGETS; i++)
		if (s->t[i].alive)
			queue[nq++] = s->t[i].snap.pid;
	if (s->child > 0 && !s->child_done && !has_target(s, s->child) && nq < MAX_TARGETS) {
		/* Once started, a child that is not Python may still exec it. */
		if (!(s->child_waited && s->child_not_python && consider(s, s->child, 0, now)) ||
		    expand_targets)
			queue[nq++] = s->child;
	}
	for (int r = 0; r < s->nroots && nq < MAX_TARGETS; r++)
		if (!has_target(s, s->roots[r]) && target_process_alive(s->roots[r]))
			queue[nq++] = s->roots[r];
	/* One pass over /proc for the whole tree (a pool of 32 workers: not
	 * 33 passes every scan). */
	if (!s->procs[0]) {
		s->procs[0] = xmalloc(MAX_SCAN_PROCS * sizeof(*s->procs[0]));
		s->procs[1] = xmalloc(MAX_SCAN_PROCS * sizeof(*s->procs[1]));
	}
	const struct procfs_parent *procs = NULL;
	int nprocs = 0;
	if (nq) {
		int next = !s->cur;
		int nprev = s->scans++ % FULL_SCAN_EVERY ? s->nprocs : 0;
		nprocs = procfs_parents(s->procs[s->cur], nprev, s->procs[next], MAX_SCAN_PROCS);
		s->cur = next;
		s->nprocs = nprocs > 0 ? nprocs : 0;
		procs = s->procs[next];
	}
	for (size_t qi = 0; qi < nq; qi++) {
		int n = 0;
		for (int k = 0; k < nprocs && n < MAX_TARGETS; k++)
			if (procs[k].ppid == queue[qi])
				kids[n++] = procs[k].pid;
		for (int k = 0; k < n; k++) {
			pid_t pid = kids[k];
			bool queued = false;
			for (size_t j = 0; j < nq && !queued; j++)
				queued = queue[j] == pid;
			if (queued)
				continue;
			if (consider(s, pid, queue[qi], now) && !expand_targets)
				continue;
			if (nq < MAX_TARGETS)
				queue[nq++] = pid;
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
static struct pyproc *recheck_version(const struct targets *s, pid_t pid, struct pyproc *pp)
{
	struct timespec pause = { 0, 1000000 };
	char why[256];
	uint64_t end = clock_now_ns() + 500000000ull;
	while (pyproc__info(pp)->version_guessed && !*s->c.stop && clock_now_ns() < end) {
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

/* The child is not Python now (-ENOEXEC): its descendants are looked at,
 * and it is opened again only while young or after an exec. */
static int open_child(struct targets *s, pid_t child, struct pyproc **pp, char *why, size_t whylen,
		      uint64_t now)
{
	char *exe = procfs_exe(child);
	if (skip_settled(s, child, exe, now)) {
		free(exe);
		return -ENOEXEC;
	}
	int e = pyproc__open(child, pp, why, whylen);
	if (e == -ENOEXEC) {
		s->child_not_python = true;
		skip_note(s, child, 0, exe, now);
		return e;
	}
	free(exe);
	if (e == 0) {
		s->child_not_python = false;
		s->child_was_python = true;
	}
	return e;
}

/* Has a live target's interpreter a thread state yet? */
static bool any_ready(struct targets *s)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].alive && target_process_alive(s->t[i].snap.pid) &&
		    pyproc__sample(s->t[i].snap.pp, NULL, &s->probe, 0) == 0)
			return true;
	return false;
}

int targets__add_child(struct targets *s, pid_t child, double timeout_s, char *why, size_t whylen)
{
	s->child = child;
	uint64_t deadline = clock_now_ns() + (uint64_t)(timeout_s * 1e9);
	struct timespec pause = { 0, 1000000 };
	struct pyproc *pp = NULL;
	uint64_t found_ns = 0;          /* when a descendant was first adopted */
	uint64_t denied_ns = 0;         /* since when reading the child is refused */
	int err = -EINTR;
	why[0] = '\0';
	while (!*s->c.stop) {
		uint64_t now = clock_now_ns();
		int e = 0;
		targets__reap(s);
		/* Opening is costly (ELF files); once the child is Python, only
		 * wait for its interpreter to have a thread state. */
		if (!s->child_done && !pp && (e = open_child(s, child, &pp, why, whylen, now)) != 0)
			pp = NULL;
		if (pp)
			e = pyproc__sample(pp, NULL, &s->probe, 0);
		/* Refused for a second (not a moment of its exec): no permission
		 * to read even our own child (a container's seccomp filter
		 * without CAP_SYS_PTRACE); the caller explains. */
		if (e == -EPERM || e == -EACCES) {
			if (!denied_ns)
				denied_ns = now;
			if (now - denied_ns > 1000000000ull) {
				snprintf(why, whylen, "cannot be read (permission denied)");
				err = -EPERM;
				break;
			}
		} else {
			denied_ns = 0;
		}
		if (pp) {
			if (e == 0) {
				pp = recheck_version(s, child, pp);
				if ((err = gil_refused(s, pp, why, whylen)) != 0)
					break;
				add_target(s, pp, NULL, child, 0);
				s->child_waited = true;
				return 0;
			}
			if (e == -ESRCH) {
				pyproc__close(pp);
				pp = NULL;
			}
		}
		/* Not Python (a shell, `uv run`): follow the Python processes
		 * it starts; with --subprocesses, those of a Python child too. */
		bool following = !pp && s->child_not_python;
		if (s->c.subprocesses || following) {
			targets__scan(s);
			if (s->nt > 0 && !found_ns)
				found_ns = now;
			/* As for the child: sampling (and --duration) starts once
			 * an interpreter found has a thread state. */
			if (s->nt > 0 && (any_ready(s) || now - found_ns > (uint64_t)(timeout_s * 1e9))) {
				err = 0;
				break;
			}
		}
		if (s->child_done) {
			if (s->child_was_python) {
				snprintf(why, whylen, "the command exited before its Python interpreter started");
				err = -ESRCH;
			} else {
				snprintf(why, whylen, "is not Python and ended without starting a Python process");
				err = -ENOEXEC;
			}
			break;
		}
		const struct skipped *k = following ? skipped_find(s, child) : NULL;
		if (k && !s->child_said && now - k->seen_ns >= SKIP_SETTLE_NS) {
			s->child_said = true;   /* the caller says so, and calls again */
			err = -EINPROGRESS;
			break;
		}
		/* A child that is not Python may take its time (a wrapper setting
		 * up an environment): no deadline while following it. */
		if (!following && now > deadline) {
			if (!why[0])
				snprintf(why, whylen, "no Python interpreter started within %.0f seconds", timeout_s);
			err = -ENOEXEC;
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (err == -EINTR)
		snprintf(why, whylen, "interrupted");
	if (err != -EINPROGRESS)
		s->child_waited = true;
	pyproc__close(pp);
	return err;
}

static const struct tname *name_find(const struct target *t, uint64_t thread_id)
{
	struct tname key = { .thread_id = thread_id };
	return t->nnames ? bsearch(&key, t->names, t->nnames, sizeof(*t->names), tname_cmp) : NULL;
}

const char *target__thread_name(struct target *t, const struct py_thread *th)
{
	if (th->name[0])
		return th->name;
	const struct tname *n = name_find(t, th->thread_id);
	if (n && !n->none)
		return n->name;
	t->names_due = true;    /* a thread we have no name for yet */
	return "";
}

/* After a name lookup: keep the names of the threads of this sample (also
 * of those idle now, so that they have it once they run), and only those. */
void target__names_refresh(struct target *t, const struct py_sample *sample)
{
	struct tname *fresh = xmalloc((sample->n ? sample->n : 1) * sizeof(*fresh));
	size_t n = 0;
	for (size_t i = 0; i < sample->n; i++) {
		const struct py_thread *th = &sample->threads[i];
		const struct tname *old = th->name[0] ? NULL : name_find(t, th->thread_id);
		if (old && (old->none || (old->tid && th->tid && old->tid != th->tid)))
			old = NULL;     /* none, or another thread's (a thread id reused) */
		/* A thread without a name is kept too (none): --thread then
		 * matches its OS name (target__names_select). */
		const struct tname *was = name_find(t, th->thread_id);
		fresh[n] = (struct tname){ .thread_id = th->thread_id, .tid = th->tid,
					   .none = !th->name[0] && !old, .keep = -1,
					   .prev = was && was->tid == th->tid ? was->keep : -1 };
		snprintf(fresh[n].name, sizeof(fresh[n].name), "%s",
			 th->name[0] ? th->name : old ? old->name : "");
		n++;
	}
	qsort(fresh, n, sizeof(*fresh), tname_cmp);
	free(t->names);
	t->names = fresh;
	t->nnames = n;
}

/* ---- --thread ------------------------------------------------------------ */

void target__names_select(struct target *t, const struct threadsel *sel)
{
	for (size_t i = 0; i < t->nnames; i++) {
		struct tname *n = &t->names[i];
		struct procfs_stat st;
		const char *name = n->name;
		if (n->none)    /* no threading name: the OS one (comm), "" if gone */
			name = n->tid && !procfs_stat(t->snap.pid, n->tid, &st) ? st.comm : "";
		n->keep = threadsel__match(sel, name);
	}
}

/* The names entry of th, when it was looked up for this very thread. */
static const struct tname *name_of(const struct target *t, uint64_t thread_id, pid_t tid)
{
	const struct tname *n = name_find(t, thread_id);
	return n && n->tid == tid && n->keep >= 0 ? n : NULL;
}

bool target__names_missing(const struct target *t, const struct py_sample *sample)
{
	for (size_t i = 0; i < sample->n; i++)
		if (!name_of(t, sample->threads[i].thread_id, sample->threads[i].tid))
			return true;
	return false;
}

bool target__thread_selected(const struct target *t, const struct py_thread *th, bool looked_up)
{
	/* The sample that looked names up was read before its names: a
	 * thread renamed in between keeps its old verdict for that sample. */
	const struct tname *n = name_of(t, th->thread_id, th->tid);
	return n && (looked_up && n->prev >= 0 ? n->prev : n->keep) == 1;
}

bool target__skip_thread(void *arg, uint64_t thread_id, pid_t tid)
{
	const struct tname *n = tid ? name_of(arg, thread_id, tid) : NULL;
	return n && n->keep == 0;
}


struct targets *targets__new(const struct targets_config *c)
{
	struct targets *ts = xcalloc(1, sizeof(*ts));
	ts->c = *c;
	return ts;
}

void targets__free(struct targets *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->nt; i++) {
		snap_target__close(&ts->t[i].snap);
		free(ts->t[i].names);
		py_tasks__release(&ts->t[i].async_tasks);
		py_tasks__release(&ts->t[i].async_all);
		classify__free(ts->t[i].split);
	}
	for (size_t i = 0; i < ts->nsk; i++)
		free(ts->sk[i].exe);
	free(ts->t);
	free(ts->sk);
	free(ts->procs[0]);
	free(ts->procs[1]);
	py_sample__release(&ts->probe);
	free(ts);
}

pid_t targets__child(const struct targets *ts)
{
	return ts->child;
}

bool targets__child_running(const struct targets *ts)
{
	return ts->child > 0 && !ts->child_done;
}

bool targets__child_alive(const struct targets *ts)
{
	for (size_t i = 0; i < ts->nt; i++)
		if (ts->t[i].snap.pid == ts->child)
			return ts->t[i].alive;
	return target_process_alive(ts->child);
}

int targets__child_status(const struct targets *ts, int *status)
{
	if (!ts->child_done)
		return 0;
	if (ts->child_lost)
		return -ECHILD;
	*status = ts->child_status;
	return 1;
}

size_t targets__n(const struct targets *ts)
{
	return ts->nt;
}

struct target *targets__at(struct targets *ts, size_t i)
{
	return &ts->t[i];
}

int targets__alive(const struct targets *ts)
{
	int n = 0;
	for (size_t i = 0; i < ts->nt; i++)
		n += ts->t[i].alive;
	return n;
}

const char *targets__python_version(const struct targets *ts)
{
	return ts->pyver;
}
