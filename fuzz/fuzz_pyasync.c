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

#include "fzsnap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pyproc *p = fzsnap_open(data, size);
	if (!p)
		return 0;
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
