/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the engine on hostile memory: the input becomes a
 * snapshot, and a full sample with thread names, --qualname's method names
 * (python/qualname.c, before 3.11), locals, exception states and the
 * collector's thread (--mode exception, <GC>), then the live
 * checks of a newer minor (pyproc__validate), must neither crash nor hang
 * (nor take long: the work is bounded), whatever the bytes say. Two input
 * forms:
 *   - raw: the first byte chooses a version's layout (bit 6: a code type
 *     at the fourth mapping, for the checks to get past it); the rest is mapped at
 *     8 fixed addresses 64 KiB apart that the fake runtime, interpreter,
 *     thread state, frames and code objects point into;
 *   - "CSPYFZ1\n": a real interpreter's sample recorded by
 *     tests/tools/pyproc_snapshot (header with the version and the
 *     interpreter's addresses, then regions of address, length, bytes); the
 *     seeds in fuzz/corpus/fuzz_pyproc/ are such (fuzz/make_corpus.sh).
 *   make fuzz && build-fuzz/fuzz_pyproc -timeout=2 -max_total_time=60 fuzz/corpus/fuzz_pyproc
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc/mem.h"
#include "python/detect.h"
#include "python/locals.h"
#include "python/offsets.h"
#include "python/pyproc.h"

#include "fzsnap.h"

static const unsigned versions[] = { 0x020712f0, 0x030612f0, 0x030910f0, 0x030a0df0,
				     0x030b07f0, 0x030c01f0, 0x030d00f0, 0x030e07f0,
				     0x030f02f0, 0x031000a1 /* newer than cspy: the newest table */ };

static void sample(struct pyproc *p)
{
	struct py_sample s = { 0 };
	if (pyproc__sample(p, NULL, &s, PYSAMPLE_NAMES | PYSAMPLE_QUALNAME | PYSAMPLE_EXCEPTION |
					     PYSAMPLE_GC) == 0) {
		for (size_t i = 0; i < s.n; i++) {
			for (size_t k = 0; k < s.threads[i].nframes && k < 4; k++) {
				struct py_local *lv;
				size_t n;
				if (locals_read(pyproc__ctx(p), s.threads[i].frames[k].frame_addr,
						s.threads[i].frames[k].code->addr, 2, &lv, &n) == 0)
					locals_free(lv, n);
			}
		}
	}
	py_sample__release(&s);
	char why[256];
	(void)pyproc__validate(p, why, sizeof(why));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 8 && memcmp(data, FZ_MAGIC, 8) == 0) {
		struct pyproc *p = fzsnap_open(data, size);
		if (p) {
			sample(p);
			pyproc__close(p);
		}
		return 0;
	}
	if (size < 2)
		return 0;
	struct py_layout L;
	unsigned v = versions[data[0] % (sizeof(versions) / sizeof(versions[0]))];
	bool ft = (data[0] & 0x80) && v >= 0x030d0000;
	if (offsets_for_version(v, ft, &L) != 0 && offsets_for_newer(v, ft, &L) != 0)
		return 0;
	bool typed = data[0] & 0x40;    /* a code type the input can point at */
	data++;
	size--;
	struct mem *m = mem__new_snapshot();
	/* The same bytes appear at 8 places, 64 KiB apart, so pointers of the
	 * form 0x1XXXX0000 + small offsets lead somewhere interesting. */
	for (uint64_t i = 0; i < 8; i++)
		mem__snapshot_add(m, 0x100000000ull + (i << 16), data, size);
	struct py_target t = { .version = v, .free_threaded = ft, .runtime = 0x100000000ull,
			       .interp_head = 0x100010000ull, .tstate_current = 0x100020000ull,
			       .code_type = typed ? 0x100030000ull : 0, .py2_unicode_size = 4 };
	if (L.rt_interp_head < 0)
		t.runtime = 0;
	struct pyproc *p = pyproc__new_mem(m, 0, &t, &L);
	sample(p);
	pyproc__close(p);
	return 0;
}
