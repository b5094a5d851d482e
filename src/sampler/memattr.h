/* SPDX-License-Identifier: MIT
 *
 * --memory: one target's resident memory, read at every tick from
 * /proc/PID/statm (kept open: one pread), and each change since the
 * previous tick attributed to the stacks of the threads that ran. The rule
 * (docs/formats.md, "Memory profiles"):
 *   - the change between two ticks goes to the threads sampled ACTIVE at
 *     the second (running on a CPU; in blocking mode: in user space or in a
 *     system call that does not wait), split equally among them (the bytes
 *     that do not divide go one each to the first ones), each share to the
 *     stack the thread was added with: growth to mem_grow, shrink to
 *     mem_shrink (profile__add_memory);
 *   - an idle thread gets nothing; an active thread whose stack was not
 *     kept (--gil, --mode exception, a filter, a native stack that could
 *     not be merged) keeps its share out of the profile (counted: dropped);
 *   - a tick with no active thread (all asleep, or the read failed) keeps
 *     the change pending: it is added to the next tick's and attributed
 *     with it, so the bytes are never lost, only (at worst) given to what
 *     ran next; what is still pending when the target exits or the
 *     recording ends is counted (pending), never guessed.
 * The first read is the baseline: memory the process had before it is
 * nobody's. The attribution itself (memattr__resident, memattr__thread,
 * memattr__attribute) is pure and unit-tested.
 */
#ifndef CSPY_MEMATTR_H
#define CSPY_MEMATTR_H

#include <stdint.h>
#include <sys/types.h>

struct profile;
struct memattr;

/* What the attributions added up to (memattr__attribute adds to it). */
struct memattr_totals {
	uint64_t grown, shrunk;         /* bytes given to stacks */
	uint64_t dropped_grow, dropped_shrink;  /* shares of active threads whose stack
						 * was not kept */
};

/* For pid, its statm opened now (a failed open makes every read fail).
 * Never NULL. */
struct memattr *memattr__new(pid_t pid);
/* Without a file: fed by memattr__resident only (tests). */
struct memattr *memattr__new_pure(void);
void memattr__free(struct memattr *m);

/* Read the target's resident set now and memattr__resident it. 0 or
 * -errno (nothing changes; counted in memattr__read_fails); -ESRCH also
 * for a process without memory (exiting: its drop to 0 is no shrink of
 * a stack). */
int memattr__read(struct memattr *m);
/* The resident set is bytes now: the change since the previous value is
 * added to what is pending (the first value is the baseline). */
void memattr__resident(struct memattr *m, uint64_t bytes);
/* Thread tid was active in this tick and its sample was added as stack
 * (PROFILE_NO_STACK: not kept). Each thread once per tick (the caller
 * sees to it; given again right after itself, it is ignored). */
void memattr__thread(struct memattr *m, pid_t tid, uint32_t stack);
/* End of the tick: the pending change split among this tick's threads
 * (nothing when there are none: it stays pending), their list emptied. */
void memattr__attribute(struct memattr *m, struct profile *p, struct memattr_totals *tot);
/* The change not attributed yet (bytes, net), and failed reads so far. */
int64_t memattr__pending(const struct memattr *m);
uint64_t memattr__read_fails(const struct memattr *m);

#endif
