/* SPDX-License-Identifier: MIT
 *
 * pyproc_snapshot: records what one sample of a live Python process reads,
 * as an input of the fuzz_pyproc fuzzer (a seed taken from a real
 * interpreter). It detects the interpreter, pauses every thread, takes one
 * sample with thread names and the locals of the innermost frames while
 * every successful read is copied into a snapshot (mem__record_into), and
 * resumes the process. The file written is:
 *
 *   "CSPYFZ1\n", then little-endian u32 version (PY_VERSION_HEX), u32 flags
 *   (1: free-threaded), u32 py2_unicode_size, u32 zero, and u64 runtime,
 *   interp_head, tstate_current, none, true, false, code_type (the
 *   interpreter's addresses), followed by the snapshot in mem__snapshot_save's
 *   format ("CSPYSNAP1\n", then per region u64 address, u64 length, bytes).
 *
 *   build/tools/pyproc_snapshot PID OUT [--async]
 *
 * --async: also a full read of the asyncio tasks and a PYASYNC_RUNNING one
 * (python/pyasync.h) in the same pause: a seed of the fuzz_pyasync fuzzer.
 *
 * Exit status 0, or 1 with one line on stderr. fuzz/make_corpus.sh runs it
 * on every installed interpreter.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/maps.h"
#include "proc/mem.h"
#include "proc/ptrace.h"
#include "proc/threadstate.h"
#include "python/detect.h"
#include "python/locals.h"
#include "python/offsets.h"
#include "python/pyasync.h"
#include "python/pyproc.h"

#define FZ_MAGIC "CSPYFZ1\n"

static int write_header(FILE *f, const struct py_target *t)
{
	uint32_t h32[4] = { t->version, t->free_threaded ? 1u : 0u, (uint32_t)t->py2_unicode_size, 0 };
	uint64_t h64[7] = { t->runtime, t->interp_head, t->tstate_current, t->none, t->true_,
			    t->false_, t->code_type };
	if (fwrite(FZ_MAGIC, 1, 8, f) != 8 || fwrite(h32, sizeof(h32), 1, f) != 1 ||
	    fwrite(h64, sizeof(h64), 1, f) != 1)
		return -EIO;
	return 0;
}

/* Append the file at path to f. */
static int append_file(FILE *f, const char *path)
{
	FILE *in = fopen(path, "rb");
	char buf[65536];
	size_t n;
	int err = 0;
	if (!in)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, f) != n)
			err = -EIO;
	fclose(in);
	return err;
}

int main(int argc, char **argv)
{
	bool with_async = argc == 4 && strcmp(argv[3], "--async") == 0;
	if (argc != 3 && !with_async) {
		fprintf(stderr, "usage: %s PID OUT [--async]\n", argv[0]);
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	const char *out = argv[2];
	char why[600] = "";
	struct maps maps = { 0 };
	struct py_target t;
	struct py_layout L;
	struct mem *probe = mem__new_pid(pid);
	int err = maps__load(pid, &maps);
	if (!err)
		err = detect_python(pid, probe, &maps, &t, why, sizeof(why));
	mem__free(probe);
	maps__release(&maps);
	if (!err)
		err = offsets_for_version(t.version, t.free_threaded, &L);
	if (err) {
		fprintf(stderr, "pyproc_snapshot: process %d: %s\n", (int)pid, why[0] ? why : strerror(-err));
		return 1;
	}
	L.py2_unicode_size = t.py2_unicode_size;

	struct mem *snap = mem__new_snapshot();
	struct mem *live = mem__new_pid(pid);
	mem__record_into(live, snap);
	struct pyproc *pp = pyproc__new_mem(live, pid, &t, &L);
	struct ptrace_pause *pause = NULL;
	struct py_sample s = { 0 };
	err = ptrace_pause__stop(pid, &pause);
	if (!err) {
		struct threadstate *tasks = threadstate__new(pid);
		struct py_view v = { .tasks = tasks, .pause = pause };
		err = pyproc__sample(pp, &v, &s, PYSAMPLE_NAMES);
		threadstate__free(tasks);
		/* The fuzzer reads the locals of the 4 innermost frames at level 2. */
		for (size_t i = 0; !err && i < s.n; i++) {
			for (size_t k = 0; k < s.threads[i].nframes && k < 4; k++) {
				struct py_local *lv;
				size_t n;
				if (locals_read(pyproc__ctx(pp), s.threads[i].frames[k].frame_addr,
						s.threads[i].frames[k].code->addr, 2, &lv, &n) == 0)
					locals_free(lv, n);
			}
		}
		if (!err && with_async) {
			struct py_tasks ts = { 0 };
			char awhy[256];
			err = pyasync__read(pp, &ts, 0, awhy, sizeof(awhy));
			if (!err)
				err = pyasync__read(pp, &ts, PYASYNC_RUNNING, awhy, sizeof(awhy));
			py_tasks__release(&ts);
		}
		ptrace_pause__resume(pause);
	}
	size_t nthreads = s.n;
	py_sample__release(&s);
	pyproc__close(pp);
	if (err) {
		fprintf(stderr, "pyproc_snapshot: process %d: the sample failed: %s\n", (int)pid,
			strerror(-err));
		mem__free(snap);
		return 1;
	}

	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.snap.tmp", out);
	FILE *f = fopen(out, "wb");
	err = f ? 0 : -errno;
	if (!err)
		err = mem__snapshot_save(snap, tmp);
	if (!err)
		err = write_header(f, &t);
	if (!err)
		err = append_file(f, tmp);
	if (f && fclose(f) != 0 && !err)
		err = -EIO;
	remove(tmp);
	mem__free(snap);
	if (err) {
		fprintf(stderr, "pyproc_snapshot: writing %s: %s\n", out, strerror(-err));
		return 1;
	}
	printf("%s: Python %x, %zu threads\n", out, t.version, nthreads);
	return 0;
}
