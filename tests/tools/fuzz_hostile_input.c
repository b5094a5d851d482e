/* SPDX-License-Identifier: MIT
 *
 * fuzz_hostile_input: writes a raw-form fuzz_pyproc input (see
 * fuzz/fuzz_pyproc.c: byte 0 picks the layout, the rest is mapped 8 times,
 * 64 KiB apart, from 0x100000000) for Python 3.10 whose interpreter state is
 * hostile in one of these ways:
 *
 *   thread_loop   two thread states pointing at each other, each thread's
 *                 frame chain a loop of two frames: before the thread list's
 *                 loops were detected, one sample walked 4,096 threads of
 *                 8,192 frames (33.5 million reads, seconds of CPU);
 *   thread_loop3  the same with a loop of three thread states.
 *
 *   build/tools/fuzz_hostile_input KIND > FILE
 *
 * fuzz/make_corpus.py writes them into fuzz/corpus/fuzz_pyproc/.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "python/offsets.h"

#define BASE 0x100000000ull
#define COPY(i) (BASE + ((uint64_t)(i) << 16))
#define SIZE 65536
#define VERSION_INDEX 3                 /* 3.10 in fuzz_pyproc's table */
#define INTERP 0x100                    /* offsets in the data */
#define TSTATES 0x1000
#define TS_STRIDE 0x200
#define FRAMES 0x8000

static uint8_t data[SIZE];

static void put64(size_t off, uint64_t v)
{
	if (off + 8 <= SIZE)
		memcpy(data + off, &v, 8);
}

int main(int argc, char **argv)
{
	struct py_layout L;
	if (argc != 2 || offsets_for_version(0x030a0df0, false, &L) != 0) {
		fprintf(stderr, "usage: %s thread_loop|thread_loop3 > FILE\n", argv[0]);
		return 2;
	}
	const char *kind = argv[1];
	int nthreads;
	if (strcmp(kind, "thread_loop") == 0) {
		nthreads = 2;
	} else if (strcmp(kind, "thread_loop3") == 0) {
		nthreads = 3;
	} else {
		fprintf(stderr, "unknown kind %s\n", kind);
		return 2;
	}
	/* runtime (copy 0, offset 0) -> interpreter -> first thread state */
	put64((size_t)L.rt_interp_head, COPY(1) + INTERP);
	put64(INTERP + (size_t)L.is_tstate_head, COPY(2) + TSTATES);
	for (int i = 0; i < nthreads; i++) {
		size_t ts = TSTATES + (size_t)i * TS_STRIDE;
		uint64_t next = i + 1 < nthreads ? COPY(2) + TSTATES + (uint64_t)(i + 1) * TS_STRIDE
			      : COPY(2) + TSTATES;
		put64(ts + (size_t)L.ts_next, next);
		put64(ts + (size_t)L.ts_thread_id, 0x1000 + (uint64_t)i);
		put64(ts + (size_t)L.ts_frame, COPY(3) + FRAMES);
	}
	/* Two frames 256 bytes apart, each the other's f_back. */
	put64(FRAMES + (size_t)L.f_back, COPY(3) + FRAMES + 256);
	put64(FRAMES + 256 + (size_t)L.f_back, COPY(3) + FRAMES);
	putchar(VERSION_INDEX);
	if (fwrite(data, 1, SIZE, stdout) != SIZE)
		return 1;
	return 0;
}
