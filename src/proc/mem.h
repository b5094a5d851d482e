/* SPDX-License-Identifier: MIT
 *
 * The one interface through which cspy reads a target's memory. Two
 * implementations sit behind it:
 *   - live:     process_vm_readv on a PID; mem__readv batches many ranges into
 *               one syscall (up to IOV_MAX per call);
 *   - snapshot: a set of (address, bytes) regions held in memory, used by unit
 *               tests and fuzzers to run the decoders without a process;
 *   - source:   a read function of the caller's: a core file (proc/core.h)
 *               serves a process that is gone.
 * A live reader can also record every successful read into a snapshot
 * (mem__record_into), which is how tests capture a real process's memory.
 * Reads never write the target. A read that is not entirely readable fails
 * with -EFAULT; a process that is gone gives -ESRCH.
 *
 * Cycles (a sampler's steady state): between mem__cycle_begin() and
 * mem__cycle_end(), every range read is remembered. The next cycle begins by
 * fetching all the ranges the previous one used in one batch, and reads that
 * fall inside them are served from that copy: a stack that changes little
 * between samples costs one syscall. The copy is taken at the start of the
 * cycle, so a cycle must not expect memory to change while it runs (a
 * sample is one moment). Reads outside a cycle always go to the target.
 */
#ifndef CSPY_MEM_H
#define CSPY_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mem;

struct mem_iov {
	uint64_t addr;
	void *buf;
	size_t len;
	int err;        /* out: 0 or -errno for this range */
};

/* Reader over a live process. Never fails (errors show on reads). */
struct mem *mem__new_pid(pid_t pid);
/* Empty snapshot reader; fill it with mem__snapshot_add(). */
struct mem *mem__new_snapshot(void);
/* Reader over the caller's read function (0 or -EFAULT per range); ctx is
 * borrowed and must outlive the reader. Never fails. */
struct mem *mem__new_source(int (*read)(void *ctx, uint64_t addr, void *buf, size_t len),
			    void *ctx);
void mem__free(struct mem *m);
/* A second live reader on m's process, recording where m records, with
 * cycles of its own (a read done now and then, e.g. the thread names, is
 * fetched at once the next time without disturbing m's cycle), owned by
 * the caller (mem__free); NULL when m is not live (snapshot and source
 * readers have no cycles to keep apart). */
struct mem *mem__new_sibling(const struct mem *m);

/* Add (copy) a region to a snapshot reader. Later regions win on overlap. */
void mem__snapshot_add(struct mem *m, uint64_t addr, const void *buf, size_t len);
/* Record every successful read of m (live) into snap (snapshot). snap is
 * borrowed and must outlive m's use; NULL stops recording. */
void mem__record_into(struct mem *m, struct mem *snap);
/* Write a snapshot to a file (format: see mem.c; read back by
 * fuzz/fuzz_pyproc.c). 0 or -errno. */
int mem__snapshot_save(const struct mem *snap, const char *path);

/* Read len bytes at addr into buf: 0, -EFAULT, -ESRCH, -EPERM. */
int mem__read(struct mem *m, uint64_t addr, void *buf, size_t len);
/* Read several ranges, as few syscalls as possible. Returns the number of
 * ranges that failed (each one's err says why), or -ESRCH/-EPERM when the
 * process cannot be read at all. */
int mem__readv(struct mem *m, struct mem_iov *iov, size_t n);

/* Read at least min and at most max bytes at addr: as many as stay on its
 * page (so the read cannot run into an unmapped next page), and only min if
 * that fails. Returns the number of bytes read, or -errno. */
long mem__read_upto(struct mem *m, uint64_t addr, void *buf, size_t min, size_t max);
/* Read the C string at addr into buf (n bytes, always NUL-terminated, cut
 * when longer). 0 or -errno. */
int mem__read_cstr(struct mem *m, uint64_t addr, char *buf, size_t n);

/* Convenience: read one pointer / u64 / i32 (little-endian). 0 or -errno. */
int mem__read_ptr(struct mem *m, uint64_t addr, uint64_t *out);
int mem__read_i32(struct mem *m, uint64_t addr, int32_t *out);

/* Inside a cycle: [addr, addr+len) in the cycle's prefetched copy, without
 * copying it (a 300-deep datastack is 24 KiB); NULL when the prefetch does
 * not hold all of it (then mem__read it). Counts as a read, and the range is
 * fetched again by the next cycle as a mem__read's would be. Borrowed until
 * mem__cycle_end. */
const void *mem__borrow(struct mem *m, uint64_t addr, size_t len);

/* Carry (the default) or not: reads made while carrying is off are served
 * as any, but are not fetched again at the next cycle's start (what the
 * next read will take from its own caches, not from the target). */
void mem__carry(struct mem *m, bool on);

/* Start / end a cycle (see above). Cheap when nothing was read before. */
void mem__cycle_begin(struct mem *m);
void mem__cycle_end(struct mem *m);

/* After mem__cycle_end and until the next mem__cycle_begin: as mem__borrow,
 * from the ended cycle's copy (taken at its start). For a reader of the
 * same moment that reads after the cycle: the native unwinder's stack
 * pages, in the pause the cycle ran in. NULL inside a cycle, or when the
 * copy does not hold all of [addr, addr+len). */
const void *mem__borrow_last(struct mem *m, uint64_t addr, size_t len);
/* Have the next cycle fetch [addr, addr+len) in its one batch, as if the
 * current (or the last) cycle had read it: a range another reader needs
 * then (the stack pages the last unwind used). */
void mem__want(struct mem *m, uint64_t addr, size_t len);

/* Number of read syscalls issued so far (for benchmarks and tests). */
uint64_t mem__syscalls(const struct mem *m);
/* Number of reads asked so far: each mem__read and each range of a
 * mem__readv, served by a syscall, a cycle's copy or a snapshot alike (how
 * tests bound the work of a decoder). */
uint64_t mem__reads(const struct mem *m);
pid_t mem__pid(const struct mem *m);

#endif
