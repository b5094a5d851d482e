/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the core-file parser (proc/core.h): open the input
 * as a core (without opening the files it names), then walk what it gave:
 * the maps (sorted, well-formed), the threads, the command line, and reads
 * of the process's memory at addresses derived from the input and from the
 * maps, directly and through proc/mem.h. A hostile core must be refused or
 * read as missing memory, never crash or hang.
 *
 * The seeds (fuzz/corpus/fuzz_core/) are the cores tests/unit/test_core.c
 * builds (CSPY_CORE_SEEDS=fuzz/corpus/fuzz_core build/tests/test_core).
 *
 *   make fuzz && build-fuzz/fuzz_core fuzz/corpus/fuzz_core
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/core.h"
#include "proc/maps.h"
#include "proc/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct core *c = NULL;
	char why[256];
	if (core__open_buf(data, size, "", CORE_NO_FILES, &c, why, sizeof(why)) != 0) {
		if (c || !memchr(why, '\0', sizeof(why)))
			abort();
		return 0;
	}
	const struct maps *m = core__maps(c);
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].start >= m->v[i].end || !m->v[i].path)
			abort();
		if (i && m->v[i - 1].start > m->v[i].start)
			abort();
	}
	const struct core_thread *t;
	size_t n = core__threads(c, &t);
	for (size_t i = 0; i < n; i++)
		if (core__thread(c, t[i].tid) == NULL)
			abort();
	if (strlen(core__cmdline(c)) > (64u << 10) || !core__exe(c))
		abort();
	uint8_t buf[4096 + 64];
	struct mem *mem = core__mem(c);
	for (size_t i = 0; i < m->n && i < 64; i++) {
		core__read(c, m->v[i].start, buf, sizeof(buf));
		core__read(c, m->v[i].end - 8, buf, 16);
		mem__read_cstr(mem, m->v[i].start + 1, (char *)buf, 300);
	}
	for (size_t off = 0; off + 8 <= size && off < 512; off += 8) {
		uint64_t a;
		memcpy(&a, data + off, 8);
		core__read(c, a, buf, 64);
		mem__read(mem, a, buf, 8);
	}
	mem__free(mem);
	core__close(c);
	return 0;
}
