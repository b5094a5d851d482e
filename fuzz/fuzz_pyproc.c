/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the engine on hostile memory: the input becomes a
 * snapshot, and a full sample with thread names, --qualname's method names
 * (python/qualname.c, before 3.11) and locals, then the live
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

static const unsigned versions[] = { 0x020712f0, 0x030612f0, 0x030910f0, 0x030a0df0,
				     0x030b07f0, 0x030c01f0, 0x030d00f0, 0x030e07f0,
				     0x030f02f0, 0x031000a1 /* newer than cspy: the newest table */ };

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

/* A recorded sample (see pyproc_snapshot.c): 0 and the target and snapshot,
 * or -1 when the header is not valid. Regions cut short end the list. */
static int parse_recorded(const uint8_t *data, size_t size, struct py_target *t, struct mem **out)
{
	if (size < FZ_HEADER + SNAP_MAGIC_LEN || memcmp(data, FZ_MAGIC, 8) != 0)
		return -1;
	memset(t, 0, sizeof(*t));
	t->version = get32(data + 8);
	t->free_threaded = get32(data + 12) & 1;
	t->py2_unicode_size = get32(data + 16) == 2 ? 2 : 4;
	const uint8_t *a = data + 24;
	t->runtime = get64(a);
	t->interp_head = get64(a + 8);
	t->tstate_current = get64(a + 16);
	t->none = get64(a + 24);
	t->true_ = get64(a + 32);
	t->false_ = get64(a + 40);
	t->code_type = get64(a + 48);
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
	*out = m;
	return 0;
}

static void sample(struct pyproc *p)
{
	struct py_sample s = { 0 };
	if (pyproc__sample(p, NULL, &s, PYSAMPLE_NAMES | PYSAMPLE_QUALNAME) == 0) {
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
	struct py_target rt;
	struct mem *rm;
	if (parse_recorded(data, size, &rt, &rm) == 0) {
		struct py_layout RL;
		if (offsets_for_version(rt.version, rt.free_threaded, &RL) != 0) {
			mem__free(rm);
			return 0;
		}
		RL.py2_unicode_size = rt.py2_unicode_size;
		struct pyproc *p = pyproc__new_mem(rm, 0, &rt, &RL);
		sample(p);
		pyproc__close(p);
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
