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
 *
 *   build/tools/debug_offsets_drift --table X.Y[.Z][t]
 *
 * prints the built-in table of a version (micro 0 when not given; it
 * matters for 3.7) in the format of the layout
 * probe (tests/tools/probe: "member value" lines; " debug" after the value
 * when the target's _Py_DebugOffsets override that member), so that a table can be
 * compared with the headers of an installed interpreter, fields the debug
 * offsets do not carry included (tests/tools/probe/check_tables.py does, for
 * every version; tests/e2e/drift.py for 3.13+).
 */
#include <stdbool.h>
#include <stddef.h>
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

#define M(name) { #name, offsetof(struct py_layout, name) }
static const struct {
	const char *name;
	size_t off;
} members[] = {
	M(ob_type), M(ob_size), M(tp_name), M(tp_basicsize), M(tp_flags), M(tp_dictoffset),
	M(ht_cached_keys), M(managed_dict_off), M(rt_interp_head), M(is_next), M(is_tstate_head),
	M(is_modules), M(is_gil_ptr), M(gil_locked), M(gil_holder), M(gil_enabled), M(ts_next),
	M(ts_interp), M(ts_current_frame), M(ts_thread_id), M(ts_native_thread_id),
	M(ts_datastack_chunk), M(ts_dict), M(ts_state), M(if_code), M(if_previous), M(if_instr),
	M(if_owner), M(if_localsplus), M(if_tlbc_index), M(if_size), M(owner_generator),
	M(owner_skip_min), M(chunk_previous), M(chunk_size), M(chunk_top), M(chunk_data),
	M(co_flags), M(co_argcount), M(co_posonlyargcount), M(co_kwonlyargcount),
	M(co_firstlineno), M(co_nlocalsplus), M(co_nlocals), M(co_localsplusnames),
	M(co_localspluskinds), M(co_filename), M(co_name), M(co_qualname), M(co_linetable),
	M(co_firsttraceable), M(co_code_adaptive), M(co_tlbc), M(bytes_size), M(bytes_sval),
	M(uni_length), M(uni_state), M(uni_ascii_size), M(uni_compact_size), M(uni_kind_shift),
	M(uni_compact_bit), M(uni_ascii_bit), M(long_tag), M(long_digit), M(float_fval),
	M(tuple_item), M(list_item), M(list_size), M(cell_ref), M(md_dict), M(ma_used), M(ma_keys),
	M(ma_values), M(dk_log2_size), M(dk_log2_index_bytes), M(dk_kind), M(dk_nentries),
	M(dk_indices), M(dict_values_prefix),
	/* the members of the versions before 3.13 */
	M(managed_values_off), M(rt_tstate_current), M(rt_gil_locked), M(rt_gil_holder), M(is_id),
	M(ts_frame), M(ts_cframe), M(cframe_current), M(f_back), M(f_code), M(f_lasti), M(f_locals),
	M(f_localsplus), M(if_is_entry), M(co_varnames), M(co_freevars), M(co_cellvars),
	M(co_cell2arg), M(uni_data), M(py2_uni_length), M(py2_uni_str), M(py2_unicode_size),
	M(int_ival), M(long_size), M(ma_mask27), M(ma_table27), M(dk_size),
	/* exceptions and the collector (--mode exception, <GC>) */
	M(ts_curexc), M(ts_exc_type), M(ts_exc_info), M(es_exc), M(es_previous),
	M(rt_gc_collecting), M(is_gc_collecting),
};

static int print_table(const char *v)
{
	unsigned major, minor, micro = 0;
	char t = 0;
	struct py_layout L;
	if (sscanf(v, "%u.%u.%u%c", &major, &minor, &micro, &t) < 3 &&
	    sscanf(v, "%u.%u%c", &major, &minor, &t) < 2) {
		fprintf(stderr, "debug_offsets_drift: not a version: %s\n", v);
		return 1;
	}
	if ((t && t != 't') || micro > 255 ||
	    offsets_for_version(PY_VER(major, minor) | micro << 8 | 0xf0, t == 't', &L) != 0) {
		fprintf(stderr, "debug_offsets_drift: no table for %s\n", v);
		return 1;
	}
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		int x = *(const int *)((const char *)&L + members[i].off);
		/* Fed by the debug offsets: moving it makes a debug difference. */
		struct py_layout moved = L;
		*(int *)((char *)&moved + members[i].off) = x + 1000;
		bool fed = offsets_debug_diff(&L, &moved, NULL, NULL) > 0;
		printf("%s %d%s\n", members[i].name, x, fed ? " debug" : "");
	}
	printf("tpflags_managed_dict %lu\n", L.tpflags_managed_dict);
	printf("tpflags_inline_values %lu\n", L.tpflags_inline_values);
	printf("tag_bits %d\n", (int)(~L.stackref_mask & 0xff));
	printf("code_size %d\n", L.code_read_size);
	printf("debug_offsets_size %zu\n", offsets_debug_size(L.table_minor));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--table") == 0)
		return print_table(argv[2]);
	if (argc < 2) {
		fprintf(stderr, "usage: debug_offsets_drift ELF...\n");
		return 2;
	}
	int rc = 0;
	for (int i = 1; i < argc; i++)
		rc |= check(argv[i]);
	return rc;
}
