/* SPDX-License-Identifier: MIT
 *
 * The python / native / system split (see classify.h). The pure rules
 * first (registers, instruction, stat text, dithering: unit-tested), then
 * the per-target state: a table of the active threads met lately, sorted
 * by TID, each with its kept-open /proc/PID/task/TID/stat descriptor and
 * its dithering, swept once a second.
 */
#include "sampler/classify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "python/opcodes.h"
#include "python/pyproc.h"
#include "sampler/snapshot.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define SWEEP_NS 1000000000ull          /* sweep the table once a second ... */
#define FORGET_NS 2000000000ull         /* ... of the threads not met for 2 s */
/* The kernel's times are in clock ticks (USER_HZ: 100 a second): a thread's
 * stat is read at most once per 10 ms, the samples between repeat the last
 * share (dithered on). */
#define STAT_MIN_NS 10000000ull
/* Samples that waited this long settle with the last share (a thread that
 * went to sleep right after them). */
#define WAIT_MAX_NS 250000000ull

enum prof_class classify_opcode(unsigned version, int opcode)
{
	return opcodes_is_call(version, opcode) ? PROF_CLASS_NATIVE : PROF_CLASS_PYTHON;
}

enum prof_class classify_regs(const struct classify_code *c, uint64_t pc, int64_t sysno,
			      bool running, int opcode)
{
	if (sysno >= 0 && running)
		return PROF_CLASS_SYSTEM;
	if (c->eval_start && pc >= c->eval_start && pc < c->eval_end)
		return PROF_CLASS_PYTHON;
	if (c->text_start && (pc < c->text_start || pc >= c->text_end))
		return PROF_CLASS_NATIVE;       /* another module: an extension, a library */
	return classify_opcode(c->version, opcode);
}

int classify_parse_stat(const char *buf, size_t len, uint64_t *utime, uint64_t *stime)
{
	/* "pid (comm) state ppid ..." : comm may hold spaces and ')', the last
	 * ')' ends it; utime and stime are fields 14 and 15, the 12th and
	 * 13th after it. */
	const char *end = buf + len, *p = NULL;
	for (const char *q = buf; q < end; q++)
		if (*q == ')')
			p = q;
	if (!p)
		return -EINVAL;
	p++;
	uint64_t v[13];
	for (int f = 0; f < 13; f++) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			return -EINVAL;
		uint64_t x = 0;
		bool digits = false;
		if (f == 0) {                   /* the state letter */
			p++;
		} else {
			if (*p == '-')          /* ppid etc. may be -1: not ours */
				p++;
			while (p < end && *p >= '0' && *p <= '9') {
				x = x * 10 + (uint64_t)(*p - '0');
				p++;
				digits = true;
			}
			if (!digits)
				return -EINVAL;
		}
		v[f] = x;
	}
	*utime = v[11];
	*stime = v[12];
	return 0;
}

bool classify_dither__read(struct classify_dither *d, uint64_t utime, uint64_t stime)
{
	bool moved = false;
	if (!d->primed) {
		d->primed = true;
		d->share = utime + stime ? (double)stime / (double)(utime + stime) : -1;
		moved = true;
	} else if (utime >= d->utime && stime >= d->stime &&
		   (utime - d->utime) + (stime - d->stime) > 0) {
		uint64_t du = utime - d->utime, ds = stime - d->stime;
		d->share = (double)ds / (double)(du + ds);
		moved = true;
	}
	d->utime = utime;
	d->stime = stime;
	return moved;
}

bool classify_dither__next(struct classify_dither *d)
{
	if (d->share < 0)
		return false;
	d->acc += d->share;
	if (d->acc >= 0.5) {
		d->acc -= 1;
		return true;
	}
	return false;
}

bool classify_dither__step(struct classify_dither *d, uint64_t utime, uint64_t stime)
{
	classify_dither__read(d, utime, stime);
	return classify_dither__next(d);
}

/* ---- per target ---------------------------------------------------------- */

struct cthread {
	pid_t tid;
	int fd;                         /* its stat, -1: not open */
	uint64_t seen_ns;
	uint64_t read_ns;               /* when its stat was last read, 0: never */
	struct classify_dither d;
	struct classify_pending *wait;  /* samples waiting, oldest first */
	size_t nwait, wait_cap;
	uint64_t wait_ns;               /* when the oldest of them was added */
	uint32_t stamp;                 /* classify__settle_absent: listed in the sample */
};

struct classify {
	struct profile *prof;
	pid_t pid;
	struct classify_code code;
	struct cthread *th;             /* sorted by tid */
	size_t n, cap;
	uint32_t stamp;                 /* of the last classify__settle_absent */
	size_t nfds;
	uint64_t swept_ns;
	uint64_t stat_reads;
};

struct classify *classify__new(pid_t pid, const struct pyproc_info *info, struct profile *prof)
{
	struct classify *c = xcalloc(1, sizeof(*c));
	c->prof = prof;
	c->pid = pid;
	c->code = (struct classify_code){ .version = info->version,
		.eval_start = info->eval_start, .eval_end = info->eval_end,
		.text_start = info->text_start, .text_end = info->text_end };
	c->swept_ns = clock_now_ns();
	return c;
}

double classify_candidate_share(double share, size_t n, size_t k)
{
	if (share < 0 || !k)
		return 0;
	double p = share * (double)n / (double)k;
	return p > 1 ? 1 : p;
}

double classify_other_share(double share, size_t n, size_t k)
{
	if (share < 0 || k >= n || share * (double)n <= (double)k)
		return 0;
	double p = (share * (double)n - (double)k) / (double)(n - k);
	return p > 1 ? 1 : p;
}

/* Error diffusion: true when the accumulated chance reaches a half. */
static bool dither(double *acc, double p)
{
	*acc += p;
	if (*acc >= 0.5) {
		*acc -= 1;
		return true;
	}
	return false;
}

/* Of the n, share x n (plus what is owed) are system, taken among the
 * candidates (dithered), never more than the candidates when registers
 * told which they are (a sample whose registers show it out of the kernel
 * keeps its own class: a pure-Python line beside a line of system calls or
 * page faults is never shown as system); what they cannot take is owed. */
void classify_settle(struct classify_dither *d, struct classify_pending *w, size_t n)
{
	size_t k = 0, others = 0;
	for (size_t i = 0; i < n; i++) {
		k += w[i].cand;
		others += !w[i].cand && !w[i].regs;
	}
	if (d->share < 0) {             /* no share known yet: the registers' word */
		for (size_t i = 0; i < n; i++)
			if (w[i].cand && w[i].regs)
				w[i].cls = PROF_CLASS_SYSTEM;
		return;
	}
	double want = d->share * (double)n + d->owed;
	double share = n ? want / (double)n : 0;
	double p = classify_candidate_share(share, n, k);
	double q = classify_other_share(share, n, k);
	for (size_t i = 0; i < n; i++) {
		bool sys;
		if (w[i].cand)
			sys = dither(&d->acc, p);
		else    /* not in a system call by its registers: the kernel's
			 * time it had (page faults: memory touched first) is
			 * left to the code that ran, never to another line */
			sys = !w[i].regs && dither(&d->acc_other, q);
		if (sys)
			w[i].cls = PROF_CLASS_SYSTEM;
	}
	double left = want - (double)k - q * (double)others;
	d->owed = left <= 0 ? 0 : left > CLASSIFY_OWED_MAX ? CLASSIFY_OWED_MAX : left;
}

/* The first n waiting samples of t by its current share (classify_settle). */
static void settle(struct classify *c, struct cthread *t, size_t n)
{
	if (n > t->nwait)
		n = t->nwait;
	classify_settle(&t->d, t->wait, n);
	for (size_t i = 0; i < n; i++)
		profile__add_class(c->prof, t->wait[i].stack, (enum prof_class)t->wait[i].cls, 1);
	memmove(t->wait, t->wait + n, (t->nwait - n) * sizeof(*t->wait));
	t->nwait -= n;
}

static void drop(struct classify *c, struct cthread *t)
{
	if (t->fd >= 0) {
		close(t->fd);
		c->nfds--;
	}
	free(t->wait);
}

void classify__free(struct classify *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		drop(c, &c->th[i]);
	free(c->th);
	free(c);
}

uint64_t classify__stat_reads(const struct classify *c)
{
	return c ? c->stat_reads : 0;
}

static void sweep(struct classify *c, uint64_t now)
{
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (now - c->th[i].seen_ns > FORGET_NS && !c->th[i].nwait)
			drop(c, &c->th[i]);
		else
			c->th[k++] = c->th[i];
	}
	c->n = k;
	c->swept_ns = now;
}

/* Where tid is, or goes, in the table (sorted by tid). */
static size_t tid_pos(const struct classify *c, pid_t tid)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->th[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct cthread *thread_of(struct classify *c, pid_t tid)
{
	size_t lo = tid_pos(c, tid);
	if (lo < c->n && c->th[lo].tid == tid)
		return &c->th[lo];
	if (c->n >= PYPROC_MAX_THREADS)
		return NULL;
	c->th = xgrow(c->th, &c->cap, c->n + 1, sizeof(*c->th));
	memmove(&c->th[lo + 1], &c->th[lo], (c->n - lo) * sizeof(*c->th));
	c->n++;
	c->th[lo] = (struct cthread){ .tid = tid, .fd = -1, .d = { .share = -1 } };
	return &c->th[lo];
}

/* The thread's times now: 0, or -errno. */
static int read_times(struct classify *c, struct cthread *t, uint64_t *ut, uint64_t *st)
{
	char buf[1024];
	int fd = t->fd;
	if (fd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)c->pid, (int)t->tid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (c->nfds < CLASSIFY_MAX_FDS) {
			t->fd = fd;
			c->nfds++;
		}
	}
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	int err = n < 0 ? -errno : 0;
	if (fd != t->fd)
		close(fd);
	c->stat_reads++;
	if (err)
		return err;
	return classify_parse_stat(buf, (size_t)n, ut, st);
}

void classify__thread(struct classify *c, const struct py_thread *th,
		      const struct snap_regs *regs, uint32_t stack)
{
	bool have = regs && regs->have;
	/* Not in the kernel, its class: by the PC with registers, else the
	 * instruction. In the kernel: a candidate for system. */
	enum prof_class user = have ? classify_regs(&c->code, regs->pc, -1, regs->running, th->opcode)
				    : classify_opcode(c->code.version, th->opcode);
	bool cand = !have || classify_regs(&c->code, regs->pc, regs->sysno, regs->running,
					   th->opcode) == PROF_CLASS_SYSTEM;
	uint64_t now = clock_now_ns();
	if (now - c->swept_ns > SWEEP_NS)
		sweep(c, now);
	struct cthread *t = th->tid ? thread_of(c, th->tid) : NULL;
	uint64_t ut, st;
	if (!t) {
		profile__add_class(c->prof, stack, have && cand ? PROF_CLASS_SYSTEM : user, 1);
		return;
	}
	t->seen_ns = now;
	if (t->nwait >= CLASSIFY_MAX_PENDING)
		settle(c, t, 1);
	if (!t->nwait)
		t->wait_ns = now;
	t->wait = xgrow(t->wait, &t->wait_cap, t->nwait + 1, sizeof(*t->wait));
	t->wait[t->nwait++] = (struct classify_pending){ .stack = stack, .cls = (uint8_t)user,
		.cand = cand, .regs = have };
	if (t->read_ns && now - t->read_ns < STAT_MIN_NS)
		return;                 /* the times cannot have moved yet */
	if (read_times(c, t, &ut, &st) != 0) {
		if (have)               /* no times: the registers' word */
			settle(c, t, t->nwait);
		return;
	}
	t->read_ns = now;
	if (classify_dither__read(&t->d, ut, st))
		settle(c, t, t->nwait);
}

void classify__settle_absent(struct classify *c, const struct py_sample *s)
{
	if (!c)
		return;
	if (++c->stamp == 0)
		c->stamp = 1;
	for (size_t i = 0; i < s->n; i++) {
		pid_t tid = s->threads[i].tid;
		size_t lo = tid_pos(c, tid);
		if (lo < c->n && c->th[lo].tid == tid)
			c->th[lo].stamp = c->stamp;
	}
	uint64_t now = clock_now_ns();
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct cthread *t = &c->th[i];
		bool gone = t->stamp != c->stamp;
		if (t->nwait && (gone || now - t->wait_ns > WAIT_MAX_NS))
			settle(c, t, t->nwait);
		if (gone)               /* exited: its entry goes now (a thread-per-
					 * request server meets thousands a minute) */
			drop(c, t);
		else
			c->th[k++] = *t;
	}
	c->n = k;
}

void classify__settle_all(struct classify *c)
{
	for (size_t i = 0; c && i < c->n; i++)
		settle(c, &c->th[i], c->th[i].nwait);
}
