/* SPDX-License-Identifier: MIT
 *
 * Unit tests for proc/threadstate on real processes forked by the test: a
 * child spinning on the CPU is running, a sleeping one is not (first through
 * its syscall file, then through its unchanged schedstat, then through the
 * process CPU clock that has not moved for 50 ms), a sleeper woken into a
 * spin is seen running at the next read, the task list holds the child's
 * TID, and a process that is gone gives -ENOENT. Quiet: a sleeping process
 * read twice is quiet at the second read and costs no per-thread file
 * read; a spinning one never is; one that has exited (a zombie, not
 * reaped) is not quiet any more within 100 ms. A changed innermost frame
 * (threadstate__ran) proves a sleeping thread running, with no file read,
 * for one read only, and only within 20 us of the older stack read; an
 * unchanged frame, an unknown instruction or an older read prove nothing.
 * GIL waiters: threads of a
 * child waiting on a condition variable given as the GIL's are found
 * waiting; while the given switch counter stays, none is read again; one
 * switch reads only its taker (the last holder given); two switches, or a
 * read without the GIL before, read them all (and then see them running,
 * once the child woke them into a spin); polls of the GIL between reads
 * name the takers of each switch, and one that saw two loses the track;
 * the polls back off after quiet tick gaps and come back after a busy one.
 * A listing due is left out only when no thread was created or ended (a
 * thread replaced by another, same count, is always listed).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "proc/threadstate.h"
#include "util/clock.h"

/* Burns CPU until killed. */
static void spin_forever(void)
{
	volatile uint64_t x = 0;
	for (;;)
		x++;
}

static pid_t spawn_spinner(void)
{
	pid_t pid = fork();
	if (pid == 0)
		spin_forever();
	return pid;
}

/* Sleeps until a byte arrives on fd, then spins. */
static pid_t spawn_sleeper(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		if (read(fd, &c, 1) == 1)
			spin_forever();
		_exit(0);
	}
	return pid;
}

static void end(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_spinner_runs(void)
{
	pid_t pid = spawn_spinner();
	usleep(50000);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), 1);
	CHECK_INT(tids[0], pid);
	int runs = 0;
	for (int i = 0; i < 20; i++) {
		threadstate__read(t);
		runs += threadstate__running(t, pid) == 1;
		usleep(2000);
	}
	CHECK_INT(runs, 20);            /* runnable (R) every time, even when preempted */
	CHECK_INT(threadstate__running(t, pid + 100000), -1);
	threadstate__free(t);
	end(pid);
}

static void test_sleeper_then_wakes(void)
{
	int p[2];
	CHECK_INT(pipe(p), 0);
	pid_t pid = spawn_sleeper(p[0]);
	close(p[0]);
	usleep(50000);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), 1);
	for (int i = 0; i < 5; i++) {   /* syscall file, then schedstat */
		threadstate__read(t);
		CHECK_INT(threadstate__running(t, pid), 0);
		usleep(2000);
	}
	usleep(60000);                  /* the CPU clock shortcut */
	threadstate__read(t);
	CHECK_INT(threadstate__running(t, pid), 0);
	CHECK_INT((int)write(p[1], "x", 1), 1);
	/* Seen running once it had a CPU (at once on an idle machine; a
	 * loaded one may take a few scheduler periods). */
	int running = 0;
	for (int i = 0; i < 400 && running != 1; i++) {
		usleep(5000);
		threadstate__read(t);
		running = threadstate__running(t, pid);
	}
	CHECK_INT(running, 1);
	threadstate__free(t);
	close(p[1]);
	end(pid);
}

static void test_quiet(void)
{
	int p[2];
	CHECK_INT(pipe(p), 0);
	pid_t pid = spawn_sleeper(p[0]);
	close(p[0]);
	usleep(50000);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), 1);
	threadstate__read(t);
	CHECK(!threadstate__quiet(t));  /* the first read reads the thread */
	uint64_t reads = threadstate__reads(t);
	CHECK(reads > 0);
	for (int i = 0; i < 5; i++) {
		usleep(2000);
		threadstate__read(t);
		CHECK(threadstate__quiet(t));
		CHECK_INT(threadstate__running(t, pid), 0);
	}
	CHECK_INT((int)(threadstate__reads(t) - reads), 0);
	kill(pid, SIGKILL);             /* a zombie, not reaped yet */
	usleep(20000);
	bool quiet = true;
	for (int i = 0; i < 10; i++) {
		usleep(20000);
		threadstate__tasks(t, false, &tids);
		threadstate__read(t);
		quiet = threadstate__quiet(t);
	}
	CHECK(!quiet);
	threadstate__free(t);
	close(p[1]);
	end(pid);

	pid = spawn_spinner();
	usleep(20000);
	t = threadstate__new(pid);
	CHECK_INT(threadstate__tasks(t, false, &tids), 1);
	int q = 0;
	for (int i = 0; i < 10; i++) {
		threadstate__read(t);
		q += threadstate__quiet(t);
		usleep(2000);
	}
	CHECK_INT(q, 0);
	threadstate__free(t);
	end(pid);
}

/* Two stack reads (frames f0, f1; instructions i0, i1; the older begun
 * age_ns ago), then a read of the run states: running? (-1 if it took
 * longer than the proof lasts: a busy machine preempted the test.) */
static int after_two(struct threadstate *t, pid_t pid, uint64_t f0, uint64_t i0, uint64_t f1,
		     uint64_t i1, uint64_t age_ns)
{
	uint64_t now = clock_now_ns();
	threadstate__ran(t, pid, f0, i0, now - age_ns);
	threadstate__ran(t, pid, f1, i1, now - age_ns / 2);
	threadstate__read(t);
	if (clock_now_ns() - (now - age_ns) > 20000)
		return -1;
	return threadstate__running(t, pid);
}

static void test_frame_proof(void)
{
	int p[2];
	CHECK_INT(pipe(p), 0);
	pid_t pid = spawn_sleeper(p[0]);   /* asleep throughout: running only by proof */
	close(p[0]);
	usleep(50000);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), 1);
	threadstate__read(t);
	CHECK_INT(threadstate__running(t, pid), 0);
	/* A moved frame or instruction: running, no file read (a few tries:
	 * a preempted test outlives the proof). */
	for (int moved = 0; moved < 2; moved++) {
		uint64_t reads = threadstate__reads(t), proofs = threadstate__proofs(t);
		int r = -1;
		for (int i = 0; i < 20 && r == -1; i++)
			r = after_two(t, pid, 0x1000, 0x2000, moved ? 0x1000 : 0x1100, moved ? 0x2002 : 0x2000,
				      4000);
		CHECK_INT(r, 1);
		CHECK_INT((int)(threadstate__reads(t) - reads), 0);
		CHECK(threadstate__proofs(t) > proofs);
		/* The proof served once: the next read reads the state. */
		threadstate__read(t);
		CHECK_INT(threadstate__running(t, pid), 0);
	}
	/* Nothing moved, an unknown instruction, the older read too old. */
	CHECK_INT(after_two(t, pid, 0x1000, 0x2000, 0x1000, 0x2000, 4000) == 1, 0);
	CHECK_INT(after_two(t, pid, 0x1000, 0, 0x1100, 0, 4000) == 1, 0);
	uint64_t now = clock_now_ns();
	threadstate__ran(t, pid, 0x1000, 0x2000, now - 30000);
	threadstate__ran(t, pid, 0x1100, 0x2000, now - 10000);
	threadstate__read(t);
	CHECK_INT(threadstate__running(t, pid), 0);
	threadstate__free(t);
	close(p[1]);
	end(pid);
}

#define NWAITERS 4

/* A stand-in for the GIL: waiters block on cond until go, then spin. */
static struct {
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int go;
} fake_gil = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void *gil_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&fake_gil.mutex);
	while (!fake_gil.go)
		pthread_cond_wait(&fake_gil.cond, &fake_gil.mutex);
	pthread_mutex_unlock(&fake_gil.mutex);
	spin_forever();
	return NULL;
}

/* A child whose NWAITERS threads wait on fake_gil.cond (same address as
 * here: a fork) until a byte arrives on fd, which its main thread polls in
 * a spin. */
static pid_t spawn_gil_waiters(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t th[NWAITERS];
		for (int i = 0; i < NWAITERS; i++)
			pthread_create(&th[i], NULL, gil_waiter, NULL);
		char c;
		fcntl(fd, F_SETFL, O_NONBLOCK);
		while (read(fd, &c, 1) != 1)    /* the process uses CPU: never quiet */
			;
		{
			pthread_mutex_lock(&fake_gil.mutex);
			fake_gil.go = 1;
			pthread_cond_broadcast(&fake_gil.cond);
			pthread_mutex_unlock(&fake_gil.mutex);
		}
		pause();
		_exit(0);
	}
	return pid;
}

/* Read with the GIL given (switches; holder, 0: none) or not (switches < 0). */
static uint64_t read_gil(struct threadstate *t, long switches, pid_t holder)
{
	struct threadstate_gil g = {
		.cond_lo = (uint64_t)(uintptr_t)&fake_gil.cond,
		.cond_hi = (uint64_t)(uintptr_t)&fake_gil.cond + sizeof(fake_gil.cond),
		.switches = (uint64_t)switches, .last_holder = holder,
	};
	uint64_t before = threadstate__reads(t);
	threadstate__set_gil(t, switches >= 0 ? &g : NULL);
	threadstate__read(t);
	return threadstate__reads(t) - before;
}

static void test_gil_waiters(void)
{
	int p[2];
	CHECK_INT(pipe(p), 0);
	pid_t pid = spawn_gil_waiters(p[0]);
	close(p[0]);
	usleep(100000);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), NWAITERS + 1);
	pid_t w0 = tids[1];             /* a waiter (tids[0]: the main thread) */
	CHECK_INT(threadstate__gil_waiters(t), -1);
	CHECK(read_gil(t, 7, 0) >= NWAITERS + 1);       /* no counter before: all read */
	CHECK_INT(threadstate__gil_waiters(t), NWAITERS);
	CHECK_INT((int)threadstate__gil_skips(t), 0);
	/* Counter unchanged: only the main thread is read. */
	uint64_t n = read_gil(t, 7, 0);
	CHECK(n >= 1 && n <= 2);
	CHECK_INT((int)threadstate__gil_skips(t), NWAITERS);
	CHECK_INT(threadstate__gil_waiters(t), NWAITERS);
	for (int i = 1; i <= NWAITERS; i++)
		CHECK_INT(threadstate__running(t, tids[i]), 0);
	/* One switch, to w0: w0 and the main thread are read. */
	n = read_gil(t, 8, w0);
	CHECK(n >= 2 && n <= 4);
	CHECK_INT((int)threadstate__gil_skips(t), 2 * NWAITERS - 1);
	/* One switch, holder unknown: all read. */
	uint64_t skips = threadstate__gil_skips(t);
	CHECK(read_gil(t, 9, 0) >= NWAITERS + 1);
	CHECK_INT((int)(threadstate__gil_skips(t) - skips), 0);
	/* A read without the GIL, then one with it: the rule needs both. */
	CHECK(read_gil(t, -1, 0) >= NWAITERS + 1);
	CHECK_INT(threadstate__gil_waiters(t), NWAITERS);       /* the kept range finds them */
	CHECK(read_gil(t, 9, 0) >= NWAITERS + 1);
	CHECK(read_gil(t, 9, 0) <= 2);
	/* Polls between reads, one switch each: their takers are read, the
	 * other waiters not; a poll that saw two switches: all read. */
	struct threadstate_gil g = { .cond_lo = 1, .cond_hi = 2, .switches = 10, .last_holder = w0 };
	CHECK(threadstate__gil_polling(t) > 0);
	threadstate__gil_poll(t, &g);
	g.switches = 11;
	g.last_holder = tids[2];
	threadstate__gil_poll(t, &g);
	skips = threadstate__gil_skips(t);
	n = read_gil(t, 12, tids[0]);
	CHECK(n >= 3 && n <= 6);
	CHECK_INT((int)(threadstate__gil_skips(t) - skips), NWAITERS - 2);
	g.switches = 14;
	threadstate__gil_poll(t, &g);
	CHECK_INT((int)threadstate__gil_polling(t), 0);  /* the track is lost */
	skips = threadstate__gil_skips(t);
	CHECK(read_gil(t, 14, 0) >= NWAITERS + 1);
	CHECK_INT((int)(threadstate__gil_skips(t) - skips), 0);
	CHECK(read_gil(t, 14, 0) <= 2);
	/* The waiters leave the wait (they "took the GIL"): two switches read
	 * them all, and they run. */
	CHECK_INT((int)write(p[1], "g", 1), 1);
	usleep(50000);
	CHECK(read_gil(t, 11, w0) >= NWAITERS + 1);
	CHECK_INT(threadstate__gil_waiters(t), 0);
	int running = 0;
	for (int i = 1; i <= NWAITERS; i++)
		running += threadstate__running(t, tids[i]) == 1;
	CHECK_INT(running, NWAITERS);
	threadstate__free(t);
	close(p[1]);
	end(pid);
}

/* The polls back off while switches are rare: half the interval, doubled
 * per GIL_QUIET_GAPS quiet tick gaps in a row (at most one switch over the
 * gap); a gap of two switches, or a read without the GIL, ends the run. */
static void test_gil_backoff(void)
{
	CHECK_INT((int)threadstate__gil_poll_us(5000, 0), 2500);
	CHECK_INT((int)threadstate__gil_poll_us(5000, GIL_QUIET_GAPS - 1), 2500);
	CHECK_INT((int)threadstate__gil_poll_us(5000, GIL_QUIET_GAPS), 5000);
	CHECK_INT((int)threadstate__gil_poll_us(5000, 2 * GIL_QUIET_GAPS + 1), 10000);
	CHECK_INT((int)threadstate__gil_poll_us(5000, 1000 * GIL_QUIET_GAPS), 2500 << 6);
	CHECK_INT((int)threadstate__gil_poll_us(0, 0), 1);
	CHECK_INT((int)threadstate__gil_poll_us(1, 0), 1);

	int p[2];
	CHECK_INT(pipe(p), 0);
	pid_t pid = spawn_gil_waiters(p[0]);
	close(p[0]);
	usleep(100000);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), NWAITERS + 1);
	long sw = 100;
	read_gil(t, sw, 0);             /* first read: no gap yet */
	CHECK_INT(threadstate__gil_waiters(t), NWAITERS);
	CHECK_INT((int)threadstate__gil_polling(t), 1);         /* interval 0: 1 µs / 2, at least 1 */
	for (unsigned i = 0; i < GIL_QUIET_GAPS - 1; i++)
		read_gil(t, i % 2 ? ++sw : sw, tids[0]);        /* 0 or 1 switch a gap */
	CHECK_INT((int)threadstate__gil_polling(t), 1);
	read_gil(t, sw, tids[0]);
	CHECK_INT((int)threadstate__gil_polling(t), 2);         /* 8 quiet gaps: doubled */
	for (unsigned i = 0; i < GIL_QUIET_GAPS; i++)
		read_gil(t, ++sw, tids[0]);
	CHECK_INT((int)threadstate__gil_polling(t), 4);
	/* Polls inside a gap do not count: the gap's switches in all do. */
	struct threadstate_gil g = { .cond_lo = 1, .cond_hi = 2, .switches = (uint64_t)++sw,
				     .last_holder = tids[1] };
	threadstate__gil_poll(t, &g);
	read_gil(t, ++sw, tids[0]);     /* two in the gap, one per poll window: track kept */
	CHECK_INT((int)threadstate__gil_polling(t), 1);         /* not quiet: back to half */
	for (unsigned i = 0; i < GIL_QUIET_GAPS; i++)
		read_gil(t, sw, tids[0]);
	CHECK_INT((int)threadstate__gil_polling(t), 2);
	read_gil(t, -1, 0);             /* no GIL: the run ends */
	read_gil(t, sw, tids[0]);       /* the track starts again, no gap yet */
	CHECK_INT((int)threadstate__gil_polling(t), 1);
	for (unsigned i = 0; i < GIL_QUIET_GAPS - 1; i++)
		read_gil(t, sw, tids[0]);
	CHECK_INT((int)threadstate__gil_polling(t), 1);
	CHECK(threadstate__gil_spared(t) > 0);  /* the gaps while doubled (1 µs polls) */
	threadstate__free(t);
	close(p[1]);
	end(pid);
}

static pthread_mutex_t swap_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t swap_cond = PTHREAD_COND_INITIALIZER;
static int swap_quit;

static void *swap_helper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&swap_mutex);
	while (!swap_quit)
		pthread_cond_wait(&swap_cond, &swap_mutex);
	pthread_mutex_unlock(&swap_mutex);
	return NULL;
}

/* Spins (never quiet: the CPU clock skip of a listing does not apply) with
 * one helper thread; each byte on fd ends the helper and starts another:
 * the thread count stays the same, the TIDs do not. */
static pid_t spawn_swapper(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t th;
		pthread_create(&th, NULL, swap_helper, NULL);
		fcntl(fd, F_SETFL, O_NONBLOCK);
		for (;;) {
			char c;
			if (read(fd, &c, 1) != 1)
				continue;
			pthread_mutex_lock(&swap_mutex);
			swap_quit = 1;
			pthread_cond_broadcast(&swap_cond);
			pthread_mutex_unlock(&swap_mutex);
			pthread_join(th, NULL);
			swap_quit = 0;
			pthread_create(&th, NULL, swap_helper, NULL);
		}
	}
	return pid;
}

/* A listing due is left out only when no thread was created or ended since
 * the last one: a thread replaced by another (same count) is listed. */
static void test_relist(void)
{
	int p[2];
	CHECK_INT(pipe(p), 0);
	pid_t pid = spawn_swapper(p[0]);
	close(p[0]);
	usleep(50000);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), 2);
	pid_t old = tids[0] == pid ? tids[1] : tids[0];
	for (int round = 0; round < 5; round++) {
		unsigned listings = threadstate__listings(t);
		uint64_t spared = threadstate__relists_spared(t);
		usleep(110000);         /* due */
		CHECK_INT(threadstate__tasks(t, false, &tids), 2);
		/* nothing changed: listed again or spared, one of the two */
		CHECK_INT((int)(threadstate__listings(t) - listings + threadstate__relists_spared(t) - spared), 1);
		CHECK(tids[0] == old || tids[1] == old);
		CHECK_INT((int)write(p[1], "r", 1), 1);
		usleep(110000);
		listings = threadstate__listings(t);
		CHECK_INT(threadstate__tasks(t, false, &tids), 2);
		CHECK_INT((int)(threadstate__listings(t) - listings), 1);     /* never spared */
		CHECK(tids[0] != old && tids[1] != old);
		CHECK(tids[0] == pid || tids[1] == pid);
		old = tids[0] == pid ? tids[1] : tids[0];
	}
	threadstate__free(t);
	close(p[1]);
	end(pid);
}

static void test_gone(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	struct threadstate *t = threadstate__new(pid);
	const pid_t *tids;
	CHECK_INT(threadstate__tasks(t, false, &tids), -ENOENT);
	threadstate__read(t);           /* nothing listed: nothing to do, no crash */
	CHECK_INT(threadstate__running(t, pid), -1);
	threadstate__free(t);
}

int main(void)
{
	TEST_RUN(test_spinner_runs);
	TEST_RUN(test_sleeper_then_wakes);
	TEST_RUN(test_quiet);
	TEST_RUN(test_frame_proof);
	TEST_RUN(test_gil_waiters);
	TEST_RUN(test_gil_backoff);
	TEST_RUN(test_relist);
	TEST_RUN(test_gone);
	return TEST_REPORT();
}
