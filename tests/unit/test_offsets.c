/* SPDX-License-Identifier: MIT
 *
 * Layout tables and _Py_DebugOffsets: every supported version has a table,
 * unknown ones are refused (a newer minor gets the newest table, marked
 * untested), and for every installed 3.13+ (pyenv, and the interpreters
 * tests/pythons.sh provisioned) the offsets the interpreter publishes in its
 * own binary (the .PyRuntime section is initialised data, readable from the
 * file) agree with cspy's table, while corrupted blocks are rejected. The
 * 3.15 shape is checked on synthetic blocks: moved fields win and the drift
 * report names them; a zero-filled block is refused.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/elffile.h"
#include "harness.h"
#include "python/detect.h"
#include "python/offsets.h"

static void test_tables(void)
{
	struct py_layout L;
	const unsigned ok[] = { 0x020712f0, 0x030600f0, 0x030710f0, 0x030812f0, 0x030912f0,
				0x030a0df0, 0x030b07f0, 0x030c01f0, 0x030d00f0, 0x030e07f0 };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_INT(offsets_for_version(ok[i], false, &L), 0);
		CHECK(L.co_name >= 0 && L.co_filename >= 0 && L.co_linetable >= 0);
		CHECK(L.family == (ok[i] >= 0x030b0000 ? PY_FAMILY_IFRAME : PY_FAMILY_FRAMEOBJ));
	}
	CHECK_INT(offsets_for_version(0x030d00f0, true, &L), 0);
	CHECK(L.free_threaded && L.ob_type == 24);
	CHECK_INT(offsets_for_version(0x030e07f0, true, &L), 0);
	CHECK(L.if_tlbc_index == 72 && L.uni_kind_shift == 8);
	/* 3.15 and 3.15t (probe of Debian's 3.15.2 and of 3.15.0rc1 --disable-gil). */
	CHECK_INT(offsets_for_version(0x030f02f0, false, &L), 0);
	CHECK(!L.free_threaded && !L.untested && L.table_minor == PY_VER(3, 15));
	CHECK_INT(L.rt_interp_head, 936);
	CHECK_INT(L.is_tstate_head, 7336);
	CHECK_INT(L.ts_thread_id, 176);
	CHECK_INT(L.ts_state, 48);
	CHECK_INT(L.ht_cached_keys, 888);
	CHECK_INT(L.co_firsttraceable, 192);
	CHECK_INT(offsets_for_version(0x030f00c1, true, &L), 0);
	CHECK(L.free_threaded && L.if_owner == 78 && L.if_tlbc_index == 72 && L.co_tlbc == 224);
	CHECK(L.uni_kind_shift == 8 && L.ht_cached_keys == 904 && L.ts_datastack_chunk == 256);
	CHECK_INT(offsets_newest_minor(), PY_VER(3, 15));
	CHECK_INT(offsets_for_version(0x030500f0, false, &L), -ENOTSUP);
	CHECK_INT(offsets_for_version(0x031000a1, false, &L), -ENOTSUP);
	CHECK_INT(offsets_for_version(0x020600f0, false, &L), -ENOTSUP);
	CHECK_INT(offsets_for_version(0x030c01f0, true, &L), -ENOTSUP);
	/* 3.7.0-3.7.3 moved the GIL state. */
	offsets_for_version(0x030703f0, false, &L);
	CHECK_INT(L.rt_tstate_current, 1392);
	offsets_for_version(0x030704f0, false, &L);
	CHECK_INT(L.rt_tstate_current, 1480);
}

/* A newer minor than cspy knows gets the newest table, marked untested;
 * known, older or other-major versions do not. */
static void test_newer(void)
{
	struct py_layout L;
	CHECK_INT(offsets_for_newer(0x031000a2, false, &L), 0);
	CHECK(L.untested && L.table_minor == PY_VER(3, 15) && L.version == 0x031000a2);
	CHECK_INT(L.rt_interp_head, 936);
	CHECK_INT(offsets_debug_size(L.table_minor), 888);
	CHECK_INT(offsets_for_newer(0x031100f0, true, &L), 0);
	CHECK(L.untested && L.free_threaded && L.if_tlbc_index == 72);
	CHECK_INT(offsets_for_newer(0x030f02f0, false, &L), -ENOTSUP);
	CHECK_INT(offsets_for_newer(0x030e07f0, false, &L), -ENOTSUP);
	CHECK_INT(offsets_for_newer(0x040000f0, false, &L), -ENOTSUP);
}

/* Fill a synthetic 3.15-shaped _Py_DebugOffsets (111 fields, 888 bytes)
 * from a layout, the way CPython initialises it. */
static void debug_315_from(const struct py_layout *T, uint64_t *d)
{
	memset(d, 0, 111 * 8);
	memcpy(d, "xdebugpy", 8);
	d[1] = T->version;
	d[2] = T->free_threaded;
	for (int i = 3; i < 111; i++)
		d[i] = 0;
	d[3] = 4096; d[5] = (uint64_t)T->rt_interp_head;                /* runtime */
	d[6] = 1 << 20; d[7] = (uint64_t)T->is_id; d[8] = (uint64_t)T->is_next;
	d[9] = (uint64_t)T->is_tstate_head;
	d[12] = (uint64_t)T->is_modules; d[15] = (uint64_t)T->is_gil_ptr;
	d[16] = 9000; d[17] = 9000 + 8; d[18] = 9000 + (uint64_t)T->gil_locked;
	d[19] = 9000 + (uint64_t)T->gil_holder;
	d[22] = 4096; d[24] = (uint64_t)T->ts_next; d[25] = (uint64_t)T->ts_interp;  /* thread */
	d[26] = (uint64_t)T->ts_current_frame; d[30] = (uint64_t)T->ts_thread_id;
	d[31] = (uint64_t)T->ts_native_thread_id; d[32] = (uint64_t)T->ts_datastack_chunk;
	d[39] = (uint64_t)T->if_size; d[40] = (uint64_t)T->if_previous;   /* frame */
	d[41] = (uint64_t)T->if_code; d[42] = (uint64_t)T->if_instr;
	d[43] = (uint64_t)T->if_localsplus; d[44] = (uint64_t)T->if_owner;
	d[47] = 4096; d[48] = (uint64_t)T->co_filename; d[49] = (uint64_t)T->co_name; /* code */
	d[50] = (uint64_t)T->co_qualname; d[51] = (uint64_t)T->co_linetable;
	d[52] = (uint64_t)T->co_firstlineno; d[53] = (uint64_t)T->co_argcount;
	d[54] = (uint64_t)T->co_localsplusnames; d[55] = (uint64_t)T->co_localspluskinds;
	d[56] = (uint64_t)T->co_code_adaptive;
	d[58] = 4096; d[59] = (uint64_t)T->ob_type;                      /* pyobject */
	d[60] = 4096; d[61] = (uint64_t)T->tp_name; d[63] = (uint64_t)T->tp_flags;
	d[64] = (uint64_t)T->tp_basicsize; d[65] = (uint64_t)T->tp_dictoffset;
	d[66] = 4096; d[67] = (uint64_t)T->ht_cached_keys;
	d[68] = 4096; d[69] = (uint64_t)T->tuple_item; d[70] = (uint64_t)T->ob_size;
	d[71] = 4096; d[72] = (uint64_t)T->list_item; d[73] = (uint64_t)T->list_size;
	d[74] = 4096;                                                   /* set */
	d[78] = 4096; d[79] = (uint64_t)T->ma_keys; d[80] = (uint64_t)T->ma_values;
	d[81] = 4096; d[82] = (uint64_t)T->float_fval;
	d[83] = 4096; d[84] = (uint64_t)T->long_tag; d[85] = (uint64_t)T->long_digit;
	d[86] = 4096; d[87] = (uint64_t)T->bytes_size; d[88] = (uint64_t)T->bytes_sval;
	d[89] = 4096; d[90] = (uint64_t)T->uni_state; d[91] = (uint64_t)T->uni_length;
	d[92] = (uint64_t)T->uni_ascii_size; d[93] = (uint64_t)T->uni_compact_size;
	d[94] = 4096; d[99] = 4096;                                     /* gc, gen */
	d[36] = (uint64_t)T->ts_curexc; d[38] = (uint64_t)T->es_exc;   /* exceptions */
	d[11] = (uint64_t)T->is_gc_collecting - 8; d[95] = 8;           /* is.gc + gc.collecting */
}

struct diffs {
	char names[512];
	int n;
};

static void note_diff(const char *field, long table, long debug, void *arg)
{
	struct diffs *d = arg;
	size_t len = strlen(d->names);
	snprintf(d->names + len, sizeof(d->names) - len, "%s%s:%ld->%ld", d->n ? " " : "", field,
		 table, debug);
	d->n++;
}

/* The 3.15 shape: a block made from the table agrees with it field for
 * field; one with moved fields (a patch release's drift) wins, and the drift
 * report names exactly those fields; the same block read as a newer minor
 * (3.16, untested) is applied in the 3.15 shape. */
static void test_debug_offsets_315(void)
{
	uint64_t d[111];
	struct py_layout T, L;
	CHECK_INT(offsets_for_version(0x030f02f0, false, &T), 0);
	CHECK_INT(offsets_debug_size(0x030f02f0), 888);
	debug_315_from(&T, d);
	L = T;
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)d, sizeof(d)), 0);
	CHECK_INT(offsets_debug_diff(&T, &L, NULL, NULL), 0);
	d[30] = 184; d[31] = 192;                       /* ts.thread_id, ts.native_thread_id */
	d[67] = 896;                                    /* ht.ht_cached_keys */
	d[93] = 64;                                     /* un.compactunicodeobject_size */
	L = T;
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)d, sizeof(d)), 0);
	CHECK_INT(L.ts_thread_id, 184);
	CHECK_INT(L.ht_cached_keys, 896);
	CHECK_INT(L.uni_compact_size, 64);
	struct diffs df = { "", 0 };
	CHECK_INT(offsets_debug_diff(&T, &L, note_diff, &df), 4);
	CHECK_STR(df.names, "ts.thread_id:176->184 ts.native_thread_id:184->192 "
		  "ht.ht_cached_keys:888->896 un.compactunicodeobject_size:56->64");
	/* A block of zeros behind a valid header (a fake, or foreign memory) is refused. */
	uint64_t z[111] = { 0 };
	memcpy(z, "xdebugpy", 8);
	z[1] = 0x030f02f0;
	L = T;
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)z, sizeof(z)), -EINVAL);
	CHECK_INT(L.rt_interp_head, T.rt_interp_head);
	/* An offset beyond its group's published size is refused. */
	d[67] = 5000;
	L = T;
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)d, sizeof(d)), -EINVAL);
	d[67] = 888;
	/* A "3.16" block in the 3.15 shape, on the untested newer layout. */
	d[1] = 0x031000a1;
	CHECK_INT(offsets_for_newer(0x031000a1, false, &L), 0);
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)d, sizeof(d)), 0);
	CHECK(L.untested && L.version == 0x031000a1 && L.ts_thread_id == 184);
	/* ... but not on the 3.15 table (the block's minor must be the target's). */
	L = T;
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)d, sizeof(d)), -EINVAL);
}

static void test_version_str(void)
{
	char b[32];
	offsets_version_str(0x030b07f0, false, b, sizeof(b));
	CHECK_STR(b, "3.11.7");
	offsets_version_str(0x030e00c1, true, b, sizeof(b));
	CHECK_STR(b, "3.14.0rc1t");
	offsets_version_str(0x030d00a2, false, b, sizeof(b));
	CHECK_STR(b, "3.13.0a2");
}

static void test_version_text(void)
{
	const char t[] = "\x01\x02garbage 1.2 3.7.16 (main, Jan 1 2024) [GCC 12]";
	CHECK_INT(detect_version_in_text(t, sizeof(t) - 1, 0), 0x030710f0);
	CHECK_INT(detect_version_in_text(t, sizeof(t) - 1, PY_VER(3, 7)), 0x030710f0);
	CHECK_INT(detect_version_in_text(t, sizeof(t) - 1, PY_VER(3, 8)), 0);
	const char u[] = "2.7.18+ (default, ...";
	CHECK_INT(detect_version_in_text(u, sizeof(u) - 1, 0), 0x020712f0);
	CHECK_INT(detect_version_in_text("13.7.1 (x", 9, 0), 0);
	CHECK_INT(detect_version_in_text("3.7.1", 5, 0), 0);
}

/* Every installed libpython3.13+ (pyenv, tests/pythons.sh): its debug offsets
 * match the table. Skipped (said so, not passed) when none is installed. */
static void test_debug_offsets_installed(void)
{
	const char *root = getenv("PYENV_ROOT");
	char pat[1024];
	char buf[256] = "";
	if (!root) {
		FILE *f = popen("pyenv root 2>/dev/null", "r");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			pclose(f);
		}
		buf[strcspn(buf, "\n")] = '\0';
		root = buf;
	}
	snprintf(pat, sizeof(pat), "%s/versions/3.1[3-9]*/lib/libpython3.*.so.1.0", root);
	glob_t g = { 0 };
	int checked = 0;
	int flags = 0;      /* GLOB_APPEND once a pattern matched */
	if (root[0] && glob(pat, flags, NULL, &g) == 0)
		flags = GLOB_APPEND;
	/* ... and the interpreters tests/pythons.sh provisioned: shared builds'
	 * libpython, the Debian root's static executables. */
	char cache[900], cpat[1024];
	const char *cp = getenv("CSPY_PYTHONS"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (cp)
		snprintf(cache, sizeof(cache), "%s", cp);
	else if (xdg)
		snprintf(cache, sizeof(cache), "%s/cspy-pythons", xdg);
	else
		snprintf(cache, sizeof(cache), "%s/.cache/cspy-pythons", home ? home : "");
	snprintf(cpat, sizeof(cpat), "%s/*/lib/libpython3.1[3-9]*.so.1.0", cache);
	if (glob(cpat, flags, NULL, &g) == 0)
		flags = GLOB_APPEND;
	snprintf(cpat, sizeof(cpat), "%s/sid/usr/bin/python3.1[3-9]", cache);
	if (glob(cpat, flags, NULL, &g) == 0)
		flags = GLOB_APPEND;
	if (flags) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct elffile *ef;
			uint64_t addr, size, pv;
			if (elffile__open(g.gl_pathv[i], &ef) != 0)
				continue;
			CHECK_INT(elffile__symbol(ef, "_PyRuntime", &addr, &size), 0);
			CHECK_INT(elffile__symbol(ef, "Py_Version", &pv, NULL), 0);
			uint32_t version = 0;
			elffile__read_vaddr(ef, pv, &version, 4);
			uint8_t dbg[1024];
			size_t n = offsets_debug_size(version);
			CHECK(n > 0 && n <= sizeof(dbg));
			if (n == 0 || n > sizeof(dbg)) {
				elffile__close(ef);
				continue;
			}
			CHECK_INT(elffile__read_vaddr(ef, addr, dbg, n), 0);
			uint64_t ft = 0;
			memcpy(&ft, dbg + 16, 8);
			struct py_layout table, L;
			CHECK_INT(offsets_for_version(version, ft != 0, &table), 0);
			L = table;
			CHECK_INT(offsets_apply_debug(&L, dbg, n), 0);
			/* The table and the interpreter agree on what cspy reads. */
			CHECK_INT(L.rt_interp_head, table.rt_interp_head);
			CHECK_INT(L.is_tstate_head, table.is_tstate_head);
			CHECK_INT(L.is_modules, table.is_modules);
			CHECK_INT(L.ts_current_frame, table.ts_current_frame);
			CHECK_INT(L.ts_native_thread_id, table.ts_native_thread_id);
			CHECK_INT(L.if_instr, table.if_instr);
			CHECK_INT(L.if_owner, table.if_owner);
			CHECK_INT(L.co_code_adaptive, table.co_code_adaptive);
			CHECK_INT(L.co_qualname, table.co_qualname);
			CHECK_INT(L.gil_locked, table.gil_locked);
			CHECK_INT(L.gil_holder, table.gil_holder);
			CHECK_INT(L.uni_ascii_size, table.uni_ascii_size);
			/* A corrupted block is refused and leaves the layout alone. */
			L = table;
			dbg[0] = 'X';
			CHECK_INT(offsets_apply_debug(&L, dbg, n), -EINVAL);
			dbg[0] = 'x';
			uint64_t bad = 1u << 30;
			memcpy(dbg + 8 * 5, &bad, 8);   /* runtime_state.interpreters_head */
			CHECK_INT(offsets_apply_debug(&L, dbg, n), -EINVAL);
			CHECK_INT(L.rt_interp_head, table.rt_interp_head);
			checked++;
			printf("    %s: agrees with the %s table\n", g.gl_pathv[i],
			       ft ? "free-threaded" : "GIL");
			elffile__close(ef);
		}
		globfree(&g);
	}
	if (!checked)
		TEST_SKIP("no installed Python 3.13+ under pyenv (%s) or in %s", pat, cache);
}

/* A synthetic 3.14 block (its shape: 95 fields, 760 bytes) moves fields as published. */
static void test_debug_offsets_314(void)
{
	CHECK_INT(offsets_debug_size(0x030d00f0), 584);
	CHECK_INT(offsets_debug_size(0x030e07f0), 760);
	CHECK_INT(offsets_debug_size(0x030c01f0), 0);
	uint64_t d[95] = { 0 };
	struct py_layout L, base;
	CHECK_INT(offsets_for_version(0x030e05f0, false, &L), 0);
	base = L;
	memcpy(d, "xdebugpy", 8);
	d[1] = 0x030e05f0;
	d[3] = 400000; d[5] = 820;                      /* runtime_state: size, interpreters_head */
	d[6] = 300000; d[9] = 7400;                     /* interpreter_state: size, threads_head */
	d[12] = 7700;                                   /* imports_modules */
	d[15] = 16; d[16] = 7790; d[18] = 7806; d[19] = 7798;   /* ceval_gil, _gil, locked, holder */
	d[22] = 900; d[26] = 80;                        /* thread_state: size, current_frame */
	d[27] = 152; d[28] = 160;                       /* thread_id, native_thread_id */
	d[31] = 96; d[32] = 8; d[33] = 0; d[34] = 56; d[35] = 88; d[36] = 82;  /* frame */
	d[39] = 220; d[40] = 112; d[41] = 120; d[42] = 128; d[43] = 144; d[44] = 68;  /* code */
	d[48] = 216;                                    /* co_code_adaptive */
	d[50] = 16; d[51] = 8;                          /* pyobject */
	const int sizes[] = { 52, 56, 59, 62, 66, 69, 71, 74, 77, 81, 83 };  /* later groups' sizes */
	for (int i = 52; i < 95; i++)
		d[i] = 8;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		d[sizes[i]] = 4096;
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)d, sizeof(d)), 0);
	CHECK_INT(L.rt_interp_head, 820);
	CHECK_INT(L.is_tstate_head, 7400);
	CHECK_INT(L.is_modules, 7700);
	CHECK_INT(L.gil_locked, 16);
	CHECK_INT(L.gil_holder, 8);
	CHECK_INT(L.ts_current_frame, 80);
	CHECK_INT(L.if_owner, 82);
	CHECK_INT(L.if_localsplus, 88);
	CHECK_INT(L.if_size, 96);
	CHECK_INT(L.co_linetable, 144);
	CHECK_INT(L.co_code_adaptive, 216);
	CHECK_INT(L.owner_skip_min, base.owner_skip_min);
	CHECK(L.stackref_mask == ~(uint64_t)3);
	/* The same block claiming 3.13 does not fit a 3.14 interpreter. */
	d[1] = 0x030d00f0;
	L = base;
	CHECK_INT(offsets_apply_debug(&L, (const uint8_t *)d, sizeof(d)), -EINVAL);
}

int main(void)
{
	TEST_RUN(test_debug_offsets_314);
	TEST_RUN(test_tables);
	TEST_RUN(test_newer);
	TEST_RUN(test_debug_offsets_315);
	TEST_RUN(test_version_str);
	TEST_RUN(test_version_text);
	TEST_RUN(test_debug_offsets_installed);
	return TEST_REPORT();
}
