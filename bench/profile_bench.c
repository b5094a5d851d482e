/* SPDX-License-Identifier: MIT
 *
 * `make bench`'s output-format benchmark: how long each writer of
 * `cspy record` takes for a large profile, and the memory the profile uses.
 *
 *     profile_bench [SAMPLES [STACKS [DIR]]]   (default 1000000 10000 /tmp)
 *
 * Builds a synthetic profile through the same API the sampler uses
 * (profile__frame, profile__thread, profile__add): STACKS distinct stacks
 * (18 to 22 frames, shaped like a tree so that stacks share prefixes, as
 * real ones do), spread over 4 threads, and SAMPLES samples with increasing
 * timestamps (1 ms apart per thread); each thread repeats a stack for a
 * pseudo-random run of 1 to 16 samples, so the time-ordered runs kept for
 * speedscope and Chrome traces are realistic, not one per sample. Then
 * every writer of the table (writers/writer.h) writes its format to a file
 * in DIR (removed afterwards), timed with fflush and fclose included. Prints a markdown table: format,
 * write time, file size; then `cspy diff`'s rows: a second profile of the
 * same stacks in another mix, the time agg/diff takes to line the two up,
 * and each writer that shows a diff writing it ("diff: NAME"); then the
 * time to build the profile and the peak RSS of the whole program
 * (getrusage). Deterministic: fixed seeds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agg/diff.h"
#include "agg/profile.h"
#include "writers/writer.h"

#define NTHREADS 4
#define MAX_DEPTH 22

/* The benchmark's profile, and the other mix of the same stacks that the
 * diff rows compare it with. */
#define SEED 0x9e3779b97f4a7c15ull
#define SEED2 0x2545f4914f6cdd1dull
static uint64_t rng = SEED;

static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Frame ids of stack i (root first) into out; returns the depth. Level j
 * has min(stacks, 2^(j/2+1)) distinct frames and stack i takes frame
 * i * width / stacks there: neighbouring stacks share their roots, and the
 * leaf level has one frame per stack, so all stacks are distinct. */
static uint32_t build_stack(struct profile *p, uint32_t i, uint32_t nstacks, uint32_t *out)
{
	uint32_t depth = 18 + i % 5;
	char name[64], file[96], shortf[64];
	for (uint32_t j = 0; j < depth; j++) {
		uint64_t width = j + 1 == depth ? nstacks : (uint64_t)1 << (j / 2 + 1);
		if (width > nstacks)
			width = nstacks;
		uint64_t k = (uint64_t)i * width / nstacks;
		snprintf(name, sizeof(name), "%s_%u_%llu", j + 1 == depth ? "leaf" : "func", j,
			 (unsigned long long)k);
		snprintf(shortf, sizeof(shortf), "pkg/mod_%llu.py", (unsigned long long)(k % 97));
		snprintf(file, sizeof(file), "/srv/app/%s", shortf);
		out[j] = profile__frame(p, name, file, shortf, (int)(10 + j * 7 + k % 50),
					PROF_FRAME_PYTHON);
	}
	return depth;
}

static double fill(struct profile *p, uint64_t nsamples, uint32_t nstacks, uint32_t *frames,
		   uint32_t *depth, uint64_t seed);
static int bench_writer(const struct writer *wr, const char *name, const struct profile *p,
			const char *dir);

int main(int argc, char **argv)
{
	uint64_t nsamples = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	uint32_t nstacks = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10000;
	const char *dir = argc > 3 ? argv[3] : "/tmp";
	if (nsamples == 0 || nstacks < NTHREADS) {
		fprintf(stderr, "usage: profile_bench [SAMPLES [STACKS [DIR]]]\n");
		return 2;
	}

	uint32_t *frames = malloc(sizeof(uint32_t) * MAX_DEPTH * (size_t)nstacks);
	uint32_t *depth = malloc(sizeof(uint32_t) * nstacks);
	if (!frames || !depth)
		return 1;
	struct profile *p = profile__new();
	double build_s = fill(p, nsamples, nstacks, frames, depth, SEED);

	int rc = 0;
	printf("| format | write time (ms) | file size (MB) |\n|---|---|---|\n");
	for (size_t i = 0; writer_at(i); i++) {
		const struct writer *wr = writer_at(i);
		if (bench_writer(wr, wr->name, p, dir)) {
			rc = 1;
			continue;
		}
		if (!wr->stream)
			continue;
		/* A format written while recording: the same samples again,
		 * into a new profile that the stream listens to; its time is
		 * what the samples cost beyond building the profile. */
		char path[4096];
		snprintf(path, sizeof(path), "%s/cspy-profile-bench-%d.stream.%s", dir, (int)getpid(),
			 wr->ext);
		FILE *f = fopen(path, "w");
		if (!f) {
			rc = 1;
			continue;
		}
		struct profile *q = profile__new();
		double w0 = now_s();
		void *st = wr->stream->begin(f, q);
		fill(q, nsamples, nstacks, frames, depth, SEED);
		int err = wr->stream->end(st);
		if (fclose(f) != 0 && !err)
			err = -EIO;
		double w = now_s() - w0 - build_s;
		struct stat sb;
		double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : -1;
		unlink(path);
		profile__free(q);
		if (err) {
			fprintf(stderr, "profile_bench: streaming %s failed: %s\n", wr->name, strerror(-err));
			rc = 1;
			continue;
		}
		printf("| %s (streamed while recording: time beyond building the profile) | %.1f | %.1f |\n",
		       wr->name, w * 1e3, mb);
	}
	/* cspy diff: a second profile of the same stacks, mixed otherwise, and
	 * the diff of the two in every writer that shows one. */
	struct profile *p2 = profile__new();
	fill(p2, nsamples, nstacks, frames, depth, SEED2);
	double d0 = now_s();
	struct profile *d = diff_build(p, p2, NULL);
	printf("| diff: agg/diff of two | %.1f | - |\n", (now_s() - d0) * 1e3);
	for (size_t i = 0; writer_at(i); i++) {
		if (!writer_at(i)->diff)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "diff: %s", writer_at(i)->name);
		rc |= bench_writer(writer_at(i), name, d, dir);
	}
	profile__free(d);
	profile__free(p2);
	/* record --period writes the profile so far in a child process: what
	 * sampling waits for is the fork of a process holding this profile. */
	double f0 = now_s();
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	double fork_ms = (now_s() - f0) * 1e3;
	if (child > 0)
		waitpid(child, NULL, 0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	if (child > 0)
		printf("\nfork() of this process (what `record --period` pauses sampling for): %.2f ms\n",
		       fork_ms);
	printf("\n%llu samples, %zu distinct stacks (%zu frames) over %d threads; building the "
	       "profile took %.0f ms; peak RSS of this program %.1f MiB.\n",
	       (unsigned long long)profile__total(p), profile__nstacks(p), profile__nframes(p),
	       NTHREADS, build_s * 1e3, (double)ru.ru_maxrss / 1024.0);
	free(frames);
	free(depth);
	profile__free(p);
	return rc;
}

/* Build the benchmark's profile into p (see the top of the file): the
 * stacks, threads and samples, the same every time. Seconds it took. */
static double fill(struct profile *p, uint64_t nsamples, uint32_t nstacks, uint32_t *frames,
		   uint32_t *depth, uint64_t seed)
{
	double t0 = now_s();
	rng = seed;
	for (uint32_t i = 0; i < nstacks; i++)
		depth[i] = build_stack(p, i, nstacks, frames + (size_t)i * MAX_DEPTH);
	uint32_t tids[NTHREADS];
	for (int t = 0; t < NTHREADS; t++) {
		char tname[32];
		snprintf(tname, sizeof(tname), t ? "worker-%d" : "MainThread", t);
		tids[t] = profile__thread(p, 4242, 4242 + t, tname, "python app.py");
	}
	/* Thread t owns the stacks i with i % NTHREADS == t: every stack is
	 * used by one thread, so there are exactly nstacks (thread, stack) pairs. */
	uint32_t per = nstacks / NTHREADS;
	uint64_t t_ns[NTHREADS] = { 0 };
	uint64_t done = 0;
	uint32_t first_pass[NTHREADS] = { 0 };
	while (done < nsamples) {
		int t = (int)(next_rand() % NTHREADS);
		/* Visit every stack once first (all distinct stacks present),
		 * then pick at random. */
		uint32_t k = first_pass[t] < per ? first_pass[t]++ : (uint32_t)(next_rand() % per);
		uint32_t i = k * NTHREADS + (uint32_t)t;
		uint32_t run = 1 + (uint32_t)(next_rand() % 16);
		for (uint32_t r = 0; r < run && done < nsamples; r++, done++) {
			profile__add(p, tids[t], frames + (size_t)i * MAX_DEPTH, depth[i], t_ns[t], 1);
			t_ns[t] += 1000000;
		}
	}
	struct prof_meta meta = {
		.title = "python app.py", .command_line = "python app.py", .rate_hz = 1000,
		.start_unix_ns = 1700000000ull * 1000000000ull, .duration_ns = t_ns[0],
		.samples = nsamples, .errors = 0, .python_version = "3.12.1",
	};
	profile__set_meta(p, &meta);
	return now_s() - t0;
}

/* Write p with wr into DIR and print its table row (name: the row's);
 * 0 or 1 (reported). */
static int bench_writer(const struct writer *wr, const char *name, const struct profile *p,
			const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/cspy-profile-bench-%d.%s", dir, (int)getpid(), wr->ext);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "profile_bench: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct writer_opts oo = { .full_filenames = false };
	double w0 = now_s();
	int err = wr->write(f, p, &oo);
	if (fclose(f) != 0 && !err)
		err = -EIO;
	double w = now_s() - w0;
	struct stat sb;
	double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : -1;
	unlink(path);
	if (err) {
		fprintf(stderr, "profile_bench: writing %s failed: %s\n", name, strerror(-err));
		return 1;
	}
	printf("| %s | %.1f | %.1f |\n", name, w * 1e3, mb);
	return 0;
}
