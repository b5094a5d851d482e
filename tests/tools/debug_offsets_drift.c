/* SPDX-License-Identifier: MIT
 *
 * debug_offsets_drift: for each Python ELF given (a libpython or a static
 * python executable, 3.13+), compares cspy's built-in layout table of its
 * minor version with the _Py_DebugOffsets the interpreter publishes (read
 * from the file: _PyRuntime is initialised data), field by field, and
 * names every field that differs:
 *
 *   build/tools/debug_offsets_drift ELF...
 *
 * Output, per file:  "<file> <version>: agree (N fields)"  or
 *   "<file> <version>: K fields differ, the debug offsets win:" followed by
 *   one "  <field> table=<n> debug=<m>" line each. The built-in table is only
 *   a fallback for 3.13+: cspy applies the target's own offsets over it
 *   (offsets_apply_debug), so a difference is drift the debug offsets absorb.
 * Exit status 0 when every file's debug offsets were read and applied (they
 * agree, or they win), 1 when one could not be (no _PyRuntime, no table for
 * its minor, a block cspy refuses), 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elffile.h"
#include "python/offsets.h"

static void print_diff(const char *field, long table, long debug, void *arg)
{
	(void)arg;
	printf("  %s table=%ld debug=%ld\n", field, table, debug);
}

static int check(const char *path)
{
	struct elffile *ef;
	uint64_t addr = 0, size = 0;
	uint8_t buf[2048];
	if (elffile__open(path, &ef) != 0) {
		printf("%s: cannot open as ELF\n", path);
		return 1;
	}
	if (elffile__symbol(ef, "_PyRuntime", &addr, &size) != 0 &&
	    elffile__section(ef, ".PyRuntime", &addr, &size) != 0) {
		printf("%s: no _PyRuntime\n", path);
		elffile__close(ef);
		return 1;
	}
	uint64_t version = 0, ft = 0;
	if (elffile__read_vaddr(ef, addr, buf, 24) != 0 || memcmp(buf, "xdebugpy", 8) != 0) {
		printf("%s: no _Py_DebugOffsets cookie\n", path);
		elffile__close(ef);
		return 1;
	}
	memcpy(&version, buf + 8, 8);
	memcpy(&ft, buf + 16, 8);
	char vs[32];
	offsets_version_str((unsigned)version, ft != 0, vs, sizeof(vs));
	struct py_layout table, L;
	size_t n = offsets_debug_size((unsigned)version);
	if (version >> 32 || offsets_for_version((unsigned)version, ft != 0, &table) != 0 || !n ||
	    n > sizeof(buf) || elffile__read_vaddr(ef, addr, buf, n) != 0) {
		printf("%s %s: no built-in table or debug offsets shape for this version\n", path, vs);
		elffile__close(ef);
		return 1;
	}
	elffile__close(ef);
	L = table;
	if (offsets_apply_debug(&L, buf, n) != 0) {
		printf("%s %s: its _Py_DebugOffsets are refused\n", path, vs);
		return 1;
	}
	int k = offsets_debug_diff(&table, &L, NULL, NULL);
	if (!k) {
		printf("%s %s: agree\n", path, vs);
		return 0;
	}
	printf("%s %s: %d field%s differ, the debug offsets win:\n", path, vs, k, k == 1 ? "" : "s");
	offsets_debug_diff(&table, &L, print_diff, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: debug_offsets_drift ELF...\n");
		return 2;
	}
	int rc = 0;
	for (int i = 1; i < argc; i++)
		rc |= check(argv[i]);
	return rc;
}
