/* SPDX-License-Identifier: MIT
 *
 * The floor under any sampler's CPU cost per sample on this machine:
 *   floor PID RATE SECONDS
 * runs three loops of SECONDS each at RATE samples per second (0: no
 * sleeping, as fast as possible), on absolute deadlines like cspy's, and
 * prints one JSON object with the CPU time (user + system, from rusage) per
 * iteration of each:
 *   sleep_us   the bare timer wake-up (nothing read);
 *   read1_us   + one process_vm_readv of one page of PID's [heap];
 *   read10_us  + one process_vm_readv of 10 iovecs on 10 distinct pages of it
 *              (a steady 22-deep sample on 3.11 is one call of about 10);
 *   deep_us    the same read with one more iovec of 32 KiB (8 pages) after
 *              them: what a 300-deep stack adds (its frames fill about 41 KB
 *              of the thread's data stack, against 9 KB at 22 deep).
 * Nothing is written to the target; it is read only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>

#define PAGE 4096
#define NPAGES 10
#define DEEP_BYTES (32 * 1024)   /* the deep read's one more range */

static double cpu_s(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* The first NPAGES pages of pid's [heap]: 0 if it has none that large. */
static uint64_t heap_start(int pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	uint64_t found = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (strstr(line, "[heap]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    hi - lo >= NPAGES * PAGE + DEEP_BYTES) {
			found = lo;
			break;
		}
	}
	fclose(f);
	return found;
}

/* CPU seconds per iteration of `iters` iterations: sleep until each
 * deadline (interval_ns apart; 0: never), then read 64 bytes of each of
 * npages pages, and with deep DEEP_BYTES after them. */
static double loop(int pid, uint64_t base, int npages, bool deep, long interval_ns, long iters,
		   char *buf)
{
	struct iovec local[NPAGES + 1], remote[NPAGES + 1];
	for (int i = 0; i < npages; i++) {
		local[i] = (struct iovec){ buf + (size_t)i * PAGE, 64 };
		remote[i] = (struct iovec){ (void *)(uintptr_t)(base + (uint64_t)i * PAGE), 64 };
	}
	if (deep) {
		local[npages] = (struct iovec){ buf + NPAGES * PAGE, DEEP_BYTES };
		remote[npages] = (struct iovec){ (void *)(uintptr_t)(base + NPAGES * PAGE), DEEP_BYTES };
		npages++;
	}
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	double c0 = cpu_s();
	for (long k = 0; k < iters; k++) {
		if (interval_ns) {
			next.tv_nsec += interval_ns;
			while (next.tv_nsec >= 1000000000L) {
				next.tv_nsec -= 1000000000L;
				next.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		}
		if (npages && process_vm_readv(pid, local, (unsigned long)npages, remote,
					       (unsigned long)npages, 0) < 0) {
			perror("floor: process_vm_readv");
			exit(1);
		}
	}
	return (cpu_s() - c0) / (double)iters;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: floor PID RATE SECONDS\n");
		return 2;
	}
	int pid = atoi(argv[1]);
	double rate = atof(argv[2]), seconds = atof(argv[3]);
	uint64_t base = heap_start(pid);
	if (!base) {
		fprintf(stderr, "floor: process %d has no [heap] of %d pages\n", pid,
			NPAGES + DEEP_BYTES / PAGE);
		return 1;
	}
	long interval = rate > 0 ? (long)(1e9 / rate) : 0;
	long iters = rate > 0 ? (long)(rate * seconds) : (long)(200000 * seconds);
	if (iters < 10)
		iters = 10;
	char *buf = malloc(NPAGES * PAGE + DEEP_BYTES);
	if (!buf)
		return 1;
	double s = interval ? loop(pid, base, 0, false, interval, iters, buf) : 0;
	double r1 = loop(pid, base, 1, false, interval, iters, buf);
	double r10 = loop(pid, base, NPAGES, false, interval, iters, buf);
	double rd = loop(pid, base, NPAGES, true, interval, iters, buf);
	printf("{\"rate\": %g, \"iterations\": %ld, \"sleep_us\": %.3f, \"read1_us\": %.3f, "
	       "\"read10_us\": %.3f, \"deep_us\": %.3f}\n", rate, iters, s * 1e6, r1 * 1e6,
	       r10 * 1e6, rd * 1e6);
	free(buf);
	return 0;
}
