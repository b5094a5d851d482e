/* SPDX-License-Identifier: MIT
 *
 * The processes a sampler reads (its targets) and their lifecycle: attached
 * PIDs, the child cspy launched (reaped here, and waited for until its
 * interpreter starts), and with --subprocesses every Python descendant of
 * them, also ones started later (a descendant that is not Python is
 * remembered, and looked at again only once it execs something else). A
 * launched child that is not Python (a shell, `uv run`) is *followed*: the
 * Python processes it starts are adopted as if --subprocesses were given,
 * but without it not their own Python descendants. Each target owns what a
 * snapshot of it needs (sampler/snapshot.h: its reader, its task list and
 * run states, its unwinder with --native), its root frames in the profile
 * (`process PID:"CMDLINE"` of each ancestor up to the root of its tree, then
 * its own: built once when it is adopted), the names of its threads, and
 * whether it runs with a GIL.
 */
#ifndef CSPY_TARGET_H
#define CSPY_TARGET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/pyasync.h"
#include "sampler/snapshot.h"

struct profile;
struct py_thread;
struct py_sample;

struct tname;
struct memattr;

/* At most this many process frames above a target's stacks (its own and
 * the nearest ancestors'). */
#define TARGET_CHAIN_MAX 16

struct target {
	struct snap_target snap;        /* its reader, task list and unwinder (--native;
					 * NULL: its samples are errors) */
	bool alive;
	pid_t ppid;                     /* the parent it was found under, 0 for a root */
	uint32_t proc_frame;            /* its own process frame id */
	uint32_t chain[TARGET_CHAIN_MAX];       /* process frames root first, the last
						 * its own proc_frame */
	unsigned nchain;
	struct tname *names;            /* sorted by thread_id */
	size_t nnames;
	uint64_t names_at;              /* when names were last refreshed */
	uint64_t retired_at;            /* when exited threads were last folded */
	bool names_due;
	int gil;                        /* 1: has a GIL, 0: free-threaded without one, -1: unknown */
	uint64_t gil_at;                /* when gil was last read */
	bool async_checked;             /* --async: its asyncio asked once at the first sample */
	int async_err;                  /* ... -ENOTSUP: it cannot be read (not asked again) */
	struct py_tasks async_tasks;    /* ... the latest read of its running tasks (the
					 * reader keeps a cache per process in it) */
	struct py_tasks async_all;      /* ... --idle: the latest read of every task */
	struct classify *split;         /* the python/native/system split (sampler/classify.h),
					 * made at its first classified sample; NULL: none */
	struct memattr *mem;            /* --memory: its resident memory (the sampler's) */
};

struct targets_config {
	bool native;                    /* each target gets an unwinder */
	bool gil_only;                  /* --gil: a target running without a GIL is refused */
	bool subprocesses;
	struct profile *prof;           /* the targets' root frames are interned in it */
	const volatile sig_atomic_t *stop;      /* set: the waits below end early */
};

struct targets;

struct targets *targets__new(const struct targets_config *c);
void targets__free(struct targets *ts);

/* See sampler__add_pid, sampler__watch and sampler__add_child. */
int targets__add_pid(struct targets *ts, pid_t pid, char *why, size_t whylen);
void targets__watch(struct targets *ts, pid_t pid);
int targets__add_child(struct targets *ts, pid_t child, double timeout_s, char *why, size_t whylen);
/* The launched child is not Python (at least not yet): its Python
 * descendants are adopted (sampler__child_followed). */
bool targets__following(const struct targets *ts);
/* Following: the live targets whose parent is not one (the Python processes
 * the child and its non-Python descendants started), at most max. */
size_t targets__followed_pids(const struct targets *ts, pid_t *out, size_t max);

/* Reap the launched child if it exited (never blocks). */
void targets__reap(struct targets *ts);
/* --subprocesses, or following a child that is not Python: adopt new
 * Python descendants. */
void targets__scan(struct targets *ts);
/* Is a process whose descendants are adopted (a watched one, the launched
 * child) still there? */
bool targets__roots_alive(const struct targets *ts);
/* The launched child, 0 if none; whether it is still running (not reaped),
 * and whether its target is alive (or it lives without being one). */
pid_t targets__child(const struct targets *ts);
bool targets__child_running(const struct targets *ts);
bool targets__child_alive(const struct targets *ts);
/* See sampler__child_status. */
int targets__child_status(const struct targets *ts, int *status);

/* Every target so far, alive or not: count and index (stable until the
 * next add or scan). */
size_t targets__n(const struct targets *ts);
struct target *targets__at(struct targets *ts, size_t i);
int targets__alive(const struct targets *ts);
/* Python version of the first target, "" if none. */
const char *targets__python_version(const struct targets *ts);

/* Alive and not a zombie (a killed process whose parent has not reaped it). */
bool target_process_alive(pid_t pid);
/* The thread's name: read in this sample, else the latest lookup's, else
 * "" (and a lookup is then due). */
const char *target__thread_name(struct target *t, const struct py_thread *th);
/* After a sample that looked names up: keep those of its threads only. */
void target__names_refresh(struct target *t, const struct py_sample *sample);

/* --thread REGEX (agg/threadsel.h). After target__names_refresh: decide on
 * each thread whose name was looked up (its threading name, else its OS
 * name, read from /proc/PID/task/TID/comm now). */
struct threadsel;
void target__names_select(struct target *t, const struct threadsel *sel);
/* A thread of sample has no verdict (its name was never looked up, or its
 * thread id now belongs to another TID): a lookup is due. */
bool target__names_missing(const struct target *t, const struct py_sample *sample);
/* The thread was selected (false: left out, or no verdict yet); looked_up:
 * in the sample whose names were just looked up (a thread renamed since
 * the previous lookup is decided by its old name, which its stack, read
 * before, had: a rename counts from the next sample on). */
bool target__thread_selected(const struct target *t, const struct py_thread *th, bool looked_up);
/* pyproc__set_skip's callback (arg: the target): true for a thread known
 * to be left out, so its stack is not read. */
bool target__skip_thread(void *arg, uint64_t thread_id, pid_t tid);

#endif
