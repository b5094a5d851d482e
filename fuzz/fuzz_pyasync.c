/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the asyncio reader (python/pyasync.h) on hostile
 * memory: the input is a real interpreter's memory as one full read of its
 * asyncio tasks and one PYASYNC_RUNNING read saw it, recorded by
 * `build/tools/pyproc_snapshot PID OUT --async` ("CSPYFZ1\n", the header
 * of fuzz_pyproc.c's recorded form, then the snapshot's regions); libFuzzer
 * mutates the bytes (task sets, tasks, coroutines, frames, callbacks). Both
 * reads, and a third with PYASYNC_NO_FRAMES, must neither crash nor hang:
 * every set, list, chain, callback walk and name is bounded. Inputs that
 * are not of that form are mapped as fuzz_pyproc.c's raw form is not:
 * they are ignored (reaching asyncio.tasks through sys.modules from random
 * bytes is hopeless). Seeds: fuzz/corpus/fuzz_pyasync/ (fuzz/make_corpus.py).
 *   make fuzz && build-fuzz/fuzz_pyasync -timeout=2 -max_total_time=60 fuzz/corpus/fuzz_pyasync
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc/mem.h"
#include "python/detect.h"
#include "python/offsets.h"
#include "python/pyasync.h"
#include "python/pyproc.h"

#define FZ_MAGIC "CSPYFZ1\n"
#define FZ_HEADER (8 + 4 * 4 + 7 * 8)
#define SNAP_MAGIC_LEN 10       /* "CSPYSNAP1\n" */
#define FZ_MAX_REGIONS 4096

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < FZ_HEADER + SNAP_MAGIC_LEN || memcmp(data, FZ_MAGIC, 8) != 0)
		return 0;
	struct py_target t;
	memset(&t, 0, sizeof(t));
	t.version = get32(data + 8);
	t.free_threaded = get32(data + 12) & 1;
	t.py2_unicode_size = get32(data + 16) == 2 ? 2 : 4;
	const uint8_t *a = data + 24;
	t.runtime = get64(a);
	t.interp_head = get64(a + 8);
	t.tstate_current = get64(a + 16);
	t.none = get64(a + 24);
	t.true_ = get64(a + 32);
	t.false_ = get64(a + 40);
	t.code_type = get64(a + 48);
	struct py_layout L;
	if (offsets_for_version(t.version, t.free_threaded, &L) != 0)
		return 0;
	L.py2_unicode_size = t.py2_unicode_size;
	struct mem *m = mem__new_snapshot();
	size_t off = FZ_HEADER + SNAP_MAGIC_LEN;
	for (int i = 0; i < FZ_MAX_REGIONS && size - off >= 16; i++) {
		uint64_t addr = get64(data + off), len = get64(data + off + 8);
		off += 16;
		if (len > size - off)
			len = size - off;
		mem__snapshot_add(m, addr, data + off, (size_t)len);
		off += (size_t)len;
	}
	struct pyproc *p = pyproc__new_mem(m, 0, &t, &L);
	struct py_tasks ts = { 0 };
	char why[256];
	static const unsigned flags[] = { 0, PYASYNC_RUNNING, PYASYNC_NO_FRAMES };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (pyasync__read(p, &ts, flags[i], why, sizeof(why)) != 0)
			continue;
		/* What the writers touch: every frame's code and each name. */
		size_t n = 0;
		for (size_t k = 0; k < ts.n; k++)
			for (size_t f = 0; f < ts.tasks[k].nframes; f++)
				n += strlen(ts.tasks[k].frames[f].code->name) + strlen(ts.tasks[k].name);
		(void)n;
	}
	py_tasks__release(&ts);
	pyproc__close(p);
	return 0;
}
