/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the /proc/PID/maps parser: parse the input, check the
 * result is sorted and well-formed, look up a few addresses derived from the
 * input and from the parsed mappings, and release everything.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -D_GNU_SOURCE \
 *       fuzz/fuzz_maps.c src/proc/maps.c src/util/xalloc.c -o /tmp/fuzz_maps
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maps m;
	uint64_t probe = 0;

	if (maps_parse((const char *)data, size, &m) != 0) {
		if (m.n != 0 || m.v != NULL)
			abort();
		return 0;
	}
	memcpy(&probe, data, size < sizeof(probe) ? size : sizeof(probe));
	maps__find(&m, probe);
	maps__find(&m, 0);
	maps__find(&m, UINT64_MAX);
	for (size_t i = 0; i < m.n; i++) {
		const struct map *f;

		if (m.v[i].start >= m.v[i].end || !m.v[i].path)
			abort();
		if (i && m.v[i - 1].start > m.v[i].start)
			abort();
		f = maps__find(&m, m.v[i].start);
		if (!f || f->start > m.v[i].start || m.v[i].start >= f->end)
			abort();
		f = maps__find(&m, m.v[i].end - 1);
		if (f && (f->start > m.v[i].end - 1 || m.v[i].end - 1 >= f->end))
			abort();
		(void)strlen(maps_basename(m.v[i].path));
	}
	maps__release(&m);
	return 0;
}
