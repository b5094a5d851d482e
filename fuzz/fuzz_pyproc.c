/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the engine on hostile memory: the input becomes a
 * snapshot (first byte: which version's layout; then 8-byte-aligned chunks
 * mapped at a few fixed addresses that the fake runtime, interpreter, thread
 * state, frames and code objects point into), and a full sample with thread
 * names and locals must neither crash nor hang, whatever the bytes say.
 *   make fuzz && build-fuzz/fuzz_pyproc -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc/mem.h"
#include "python/detect.h"
#include "python/locals.h"
#include "python/offsets.h"
#include "python/pyobj.h"
#include "python/pyproc.h"

static const unsigned versions[] = { 0x020712f0, 0x030612f0, 0x030910f0, 0x030a0df0,
				     0x030b07f0, 0x030c01f0, 0x030d00f0, 0x030e07f0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct py_layout L;
	unsigned v = versions[data[0] % (sizeof(versions) / sizeof(versions[0]))];
	bool ft = (data[0] & 0x80) && v >= 0x030d0000;
	if (offsets_for_version(v, ft, &L) != 0)
		return 0;
	data++;
	size--;
	struct mem *m = mem__new_snapshot();
	/* The same bytes appear at 8 places, 64 KiB apart, so pointers of the
	 * form 0x1XXXX0000 + small offsets lead somewhere interesting. */
	for (uint64_t i = 0; i < 8; i++)
		mem__snapshot_add(m, 0x100000000ull + (i << 16), data, size);
	struct py_target t = { .version = v, .free_threaded = ft, .runtime = 0x100000000ull,
			       .interp_head = 0x100010000ull, .tstate_current = 0x100020000ull,
			       .code_type = 0, .py2_unicode_size = 4 };
	if (L.rt_interp_head < 0)
		t.runtime = 0;
	struct pyproc *p = pyproc__new_mem(m, 0, &t, &L);
	struct py_sample s = { 0 };
	if (pyproc__sample(p, &s, PYSAMPLE_NAMES) == 0) {
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
	pyproc__close(p);
	return 0;
}
