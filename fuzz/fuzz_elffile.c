/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the ELF reader: open the input as an in-memory ELF
 * image through elffile__open_mem() and exercise every query: the symbols and
 * sections cspy looks for, prefix search, and reads by virtual address at
 * symbol values, section addresses and input-derived addresses.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -D_GNU_SOURCE \
 *       fuzz/fuzz_elffile.c src/elf/elffile.c src/util/xalloc.c -lelf \
 *       -o /tmp/fuzz_elffile
 */
#include <stdint.h>
#include <string.h>

#include "elf/elffile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const symbols[] = {
	"_PyRuntime", "Py_Version", "_PyThreadState_Current", "PyVersion",
	"main", "Py_Initialize", "", "x",
};

static const char *const sections[] = {
	".PyRuntime", ".text", ".data", ".bss", ".dynsym", ".symtab", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elffile *ef = NULL;
	unsigned char buf[64];
	uint64_t value, sz, probe = 0;

	if (elffile__open_mem(data, size, &ef) != 0)
		return 0;
	(void)elffile__type(ef);
	(void)elffile__nsymbols(ef);
	(void)elffile__first_load_vaddr(ef);
	(void)elffile__has_symbol_prefix(ef, "Py");
	(void)elffile__has_symbol_prefix(ef, "");
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (elffile__symbol(ef, symbols[i], &value, &sz) == 0) {
			(void)elffile__read_vaddr(ef, value, buf, sizeof(buf));
			(void)elffile__read_vaddr(ef, value, buf, sz < sizeof(buf) ? sz : sizeof(buf));
		}
	}
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (elffile__section(ef, sections[i], &value, &sz) == 0) {
			(void)elffile__read_vaddr(ef, value, buf, 8);
			(void)elffile__read_vaddr(ef, value + sz - 1, buf, 1);
		}
	}
	memcpy(&probe, data + size - (size < 8 ? size : 8), size < 8 ? size : 8);
	(void)elffile__read_vaddr(ef, probe, buf, sizeof(buf));
	(void)elffile__read_vaddr(ef, elffile__first_load_vaddr(ef), buf, sizeof(buf));
	(void)elffile__read_vaddr(ef, UINT64_MAX - 3, buf, 8);
	elffile__close(ef);
	return 0;
}
