/* SPDX-License-Identifier: MIT
 *
 * Unit tests for proc/mem's cycles (the prefetch a sampler relies on): on a
 * snapshot reader, data read in a cycle comes from the moment the cycle
 * began, ranges unused for a cycle (or read while not carrying, mem__carry)
 * are no longer prefetched, reads inside a
 * larger prefetched range are served from it, and unreadable ranges stay
 * errors, and ranges on the same or adjacent pages are merged. On a live
 * process (a forked child of this test, whose memory layout is ours), a
 * steady cycle costs one process_vm_readv whatever the number of ranges,
 * and returns the child's current bytes; a sibling reader (mem__new_sibling)
 * keeps cycles of its own; a range wanted for the next cycle (mem__want)
 * joins its batch and stays readable after it (mem__borrow_last).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "proc/mem.h"

static void put_u64(struct mem *m, uint64_t addr, uint64_t v)
{
	mem__snapshot_add(m, addr, &v, sizeof(v));
}

static uint64_t get_u64(struct mem *m, uint64_t addr, int *err)
{
	uint64_t v = 0;
	*err = mem__read(m, addr, &v, sizeof(v));
	return v;
}

static void test_cycle_sees_its_start(void)
{
	struct mem *m = mem__new_snapshot();
	/* Two words on pages far apart: never merged into one range. */
	put_u64(m, 0x1000, 1);
	put_u64(m, 0x91010, 2);
	int err;

	mem__cycle_begin(m);                    /* nothing to prefetch yet */
	CHECK(get_u64(m, 0x1000, &err) == 1 && err == 0);
	CHECK(get_u64(m, 0x91010, &err) == 2 && err == 0);
	mem__cycle_end(m);

	put_u64(m, 0x1000, 10);                 /* changed between cycles */
	mem__cycle_begin(m);
	put_u64(m, 0x91010, 20);                 /* changed during the cycle */
	CHECK(get_u64(m, 0x1000, &err) == 10 && err == 0);
	/* Prefetched at the start: the value of that moment. */
	CHECK(get_u64(m, 0x91010, &err) == 2 && err == 0);
	mem__cycle_end(m);

	/* Outside a cycle, reads always go to the target. */
	CHECK(get_u64(m, 0x91010, &err) == 20 && err == 0);

	/* A cycle that reads only 0x91010 ... */
	mem__cycle_begin(m);
	CHECK(get_u64(m, 0x91010, &err) == 20 && err == 0);
	mem__cycle_end(m);
	/* ... so 0x1000 is no longer prefetched: read now, while 0x91010 still
	 * comes from the start of the cycle. */
	mem__cycle_begin(m);
	put_u64(m, 0x1000, 100);
	put_u64(m, 0x91010, 200);
	CHECK(get_u64(m, 0x1000, &err) == 100 && err == 0);
	CHECK(get_u64(m, 0x91010, &err) == 20 && err == 0);
	mem__cycle_end(m);
	mem__free(m);
}

/* mem__carry(m, false): what is read then (a miss, or served from the
 * prefetch) is not fetched at the next cycle's start; the rest is. */
static void test_carry(void)
{
	struct mem *m = mem__new_snapshot();
	put_u64(m, 0x1000, 1);
	put_u64(m, 0x91010, 2);
	int err;
	mem__cycle_begin(m);
	CHECK(get_u64(m, 0x1000, &err) == 1 && err == 0);
	mem__carry(m, false);
	CHECK(get_u64(m, 0x91010, &err) == 2 && err == 0);
	mem__carry(m, true);
	mem__cycle_end(m);

	mem__cycle_begin(m);
	put_u64(m, 0x1000, 10);
	put_u64(m, 0x91010, 20);
	CHECK(get_u64(m, 0x1000, &err) == 1 && err == 0);      /* prefetched */
	CHECK(get_u64(m, 0x91010, &err) == 20 && err == 0);    /* not: read now */
	mem__cycle_end(m);

	/* Served from the prefetch while not carrying: not fetched again. */
	mem__cycle_begin(m);
	mem__carry(m, false);
	CHECK(get_u64(m, 0x1000, &err) == 10 && err == 0);
	mem__carry(m, true);
	CHECK(get_u64(m, 0x91010, &err) == 20 && err == 0);
	mem__cycle_end(m);
	mem__cycle_begin(m);
	put_u64(m, 0x1000, 100);
	put_u64(m, 0x91010, 200);
	CHECK(get_u64(m, 0x1000, &err) == 100 && err == 0);    /* read now */
	CHECK(get_u64(m, 0x91010, &err) == 20 && err == 0);    /* prefetched */
	mem__cycle_end(m);
	mem__free(m);
}

static void test_inside_larger_range_and_readv(void)
{
	struct mem *m = mem__new_snapshot();
	uint8_t buf[4096];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	mem__snapshot_add(m, 0x20000, buf, sizeof(buf));

	uint8_t big[4096], small[16];
	mem__cycle_begin(m);
	CHECK_INT(mem__read(m, 0x20000, big, sizeof(big)), 0);
	mem__cycle_end(m);

	memset(buf, 0xee, sizeof(buf));
	mem__cycle_begin(m);                    /* prefetches the 4 KiB */
	mem__snapshot_add(m, 0x20000, buf, sizeof(buf));
	CHECK_INT(mem__read(m, 0x20100, small, sizeof(small)), 0);
	CHECK(small[0] == 0x00 && small[15] == 0x0f);   /* from the prefetch */
	struct mem_iov iov[3] = {
		{ .addr = 0x20010, .buf = small, .len = 4 },
		{ .addr = 0x90000, .buf = big, .len = 8 },      /* unmapped */
		{ .addr = 0x20ff0, .buf = big + 8, .len = 16 },
	};
	CHECK_INT(mem__readv(m, iov, 3), 1);
	CHECK_INT(iov[0].err, 0);
	CHECK(small[0] == 0x10);
	CHECK_INT(iov[1].err, -EFAULT);
	CHECK_INT(iov[2].err, 0);
	CHECK(big[8] == 0xf0);
	/* Straddling the end of the region: an error, never a short copy. */
	CHECK_INT(mem__read(m, 0x20ffc, small, 8), -EFAULT);
	mem__cycle_end(m);
	mem__free(m);
}

/* A range another reader needs after the cycle (--native's stack pages):
 * wanted (mem__want), it is fetched by the next cycle's batch and taken
 * from that cycle's copy after its end (mem__borrow_last: the bytes of the
 * cycle's start, not the target's current ones); carried while borrowed,
 * dropped after a cycle that did not use it; never served inside a cycle
 * nor before any cycle fetched it. */
static void test_want_and_borrow_last(void)
{
	struct mem *m = mem__new_snapshot();
	static uint8_t page[4096];
	memset(page, 0xab, sizeof(page));
	put_u64(m, 0x1000, 1);
	mem__snapshot_add(m, 0x70000, page, sizeof(page));
	put_u64(m, 0x70000, 10);
	int err;
	mem__cycle_begin(m);
	CHECK(get_u64(m, 0x1000, &err) == 1 && err == 0);
	CHECK(mem__borrow_last(m, 0x70000, 4096) == NULL);      /* inside a cycle */
	mem__cycle_end(m);
	CHECK(mem__borrow_last(m, 0x70000, 4096) == NULL);      /* not fetched */
	mem__want(m, 0x70000, 4096);

	put_u64(m, 0x70000, 20);                /* before the next cycle */
	mem__cycle_begin(m);
	CHECK(get_u64(m, 0x1000, &err) == 1 && err == 0);
	mem__cycle_end(m);
	put_u64(m, 0x70000, 30);                /* after it: not seen */
	uint64_t reads = mem__reads(m);
	const uint8_t *p = mem__borrow_last(m, 0x70000, 4096);
	CHECK(p != NULL);
	uint64_t v = 0;
	if (p) {
		memcpy(&v, p, sizeof(v));
		CHECK(p[4095] == 0xab);
	}
	CHECK(v == 20);
	CHECK_INT((int)(mem__reads(m) - reads), 1);
	CHECK(mem__borrow_last(m, 0x70000, 4097) == NULL);      /* not all of it */

	/* Borrowed: carried to the next cycle, which sees 30. */
	mem__cycle_begin(m);
	mem__cycle_end(m);
	p = mem__borrow_last(m, 0x70008 - 8, 8);
	v = 0;
	if (p)
		memcpy(&v, p, sizeof(v));
	CHECK(v == 30);
	/* Not borrowed after this cycle: the one after does not fetch it. */
	mem__cycle_begin(m);
	mem__cycle_end(m);
	mem__cycle_begin(m);
	mem__cycle_end(m);
	CHECK(mem__borrow_last(m, 0x70000, 8) == NULL);
	mem__free(m);
}

static volatile uint64_t shared[64];
static volatile uint64_t far[1 << 17];          /* 1 MiB: its middle is pages away */

static void test_live_one_syscall(void)
{
	for (int i = 0; i < 64; i++)
		shared[i] = 1000 + (uint64_t)i;
	far[1 << 16] = 77;
	int pfd[2];
	CHECK_INT(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		/* Change one word on request, then wait to be killed. */
		char c;
		while (read(pfd[0], &c, 1) == 1)
			shared[5] = 5555;
		_exit(0);
	}
	close(pfd[0]);
	struct mem *m = mem__new_pid(pid);
	uint64_t v;
	/* Eight separate ranges read one by one: eight syscalls at first. */
	mem__cycle_begin(m);
	for (int i = 0; i < 64; i += 8)
		CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&shared[i], &v, sizeof(v)), 0);
	mem__cycle_end(m);
	CHECK_INT((int)mem__syscalls(m), 8);

	CHECK_INT((int)write(pfd[1], "x", 1), 1);
	usleep(20000);
	uint64_t before = mem__syscalls(m);
	mem__cycle_begin(m);
	uint64_t got[8];
	for (int i = 0; i < 8; i++)
		CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&shared[i * 8], &got[i], 8), 0);
	/* Between two ranges of the last cycle, on their pages: the merged
	 * batch holds it. */
	CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&shared[5], &v, 8), 0);
	uint64_t w;
	CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&far[1 << 16], &w, 8), 0);  /* a miss */
	mem__cycle_end(m);
	CHECK_INT((int)(mem__syscalls(m) - before), 2);         /* the batch + the miss */
	CHECK(got[0] == 1000 && got[7] == 1056);
	CHECK(v == 5555);                       /* the child's current value */
	CHECK(w == 77);

	before = mem__syscalls(m);
	mem__cycle_begin(m);
	for (int i = 0; i < 8; i++)
		CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&shared[i * 8], &got[i], 8), 0);
	CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&shared[5], &v, 8), 0);
	CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&far[1 << 16], &w, 8), 0);
	mem__cycle_end(m);
	CHECK_INT((int)(mem__syscalls(m) - before), 1);         /* one batch, two ranges */
	CHECK(w == 77);

	/* A sibling's cycles are its own: its reads do not change what m
	 * fetches, and its next cycle is one batch of what it read. */
	struct mem *sib = mem__new_sibling(m);
	CHECK(sib != NULL);
	for (int k = 0; sib && k < 2; k++) {
		before = mem__syscalls(sib);
		mem__cycle_begin(sib);
		CHECK_INT(mem__read(sib, (uint64_t)(uintptr_t)&shared[0], &v, 8), 0);
		CHECK_INT(mem__read(sib, (uint64_t)(uintptr_t)&far[1 << 16], &w, 8), 0);
		mem__cycle_end(sib);
		CHECK_INT((int)(mem__syscalls(sib) - before), k ? 1 : 2);
		CHECK(v == 1000 && w == 77);
	}
	before = mem__syscalls(m);
	mem__cycle_begin(m);
	for (int i = 0; i < 8; i++)
		CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&shared[i * 8], &got[i], 8), 0);
	CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&far[1 << 16], &w, 8), 0);
	mem__cycle_end(m);
	CHECK_INT((int)(mem__syscalls(m) - before), 1);
	/* A wanted range joins the next cycle's one batch, and is there after
	 * the cycle (mem__borrow_last) without a syscall of its own. */
	mem__want(m, (uint64_t)(uintptr_t)&far[1 << 10], 64);
	before = mem__syscalls(m);
	mem__cycle_begin(m);
	CHECK_INT(mem__read(m, (uint64_t)(uintptr_t)&shared[0], &v, 8), 0);
	mem__cycle_end(m);
	const void *fp = mem__borrow_last(m, (uint64_t)(uintptr_t)&far[1 << 10], 64);
	CHECK(fp != NULL);
	CHECK_INT((int)(mem__syscalls(m) - before), 1);
	mem__free(sib);
	struct mem *snap = mem__new_snapshot();
	CHECK(mem__new_sibling(snap) == NULL);  /* no cycles to keep apart */
	mem__free(snap);
	mem__free(m);
	close(pfd[1]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	TEST_RUN(test_cycle_sees_its_start);
	TEST_RUN(test_want_and_borrow_last);
	TEST_RUN(test_carry);
	TEST_RUN(test_inside_larger_range_and_readv);
	TEST_RUN(test_live_one_syscall);
	return TEST_REPORT();
}
