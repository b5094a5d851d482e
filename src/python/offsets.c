/* SPDX-License-Identifier: MIT
 *
 * The per-version layout tables (x86_64), and the _Py_DebugOffsets reader for
 * 3.13+. Every number mirrors a CPython struct member, size or constant; which
 * one, in which header and for which versions is listed in docs/offsets.md,
 * with the few read from CPython's source instead. tests/tools/probe prints
 * them from an interpreter's own headers, and check_tables.py (run by the
 * drift tier) fails when a table differs from an installed interpreter's.
 *
 * Each table starts from ABSENT (every offset -1) and names only what exists
 * in that version; the object/string/number parts shared by several versions
 * are macros. The debug-offsets reader is data-driven too: for each minor
 * version the layout of _Py_DebugOffsets is a list of "group.field" names in
 * declaration order (every field a uint64), and one mapping table says which
 * py_layout member each name feeds.
 */
#include "python/offsets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/bytes.h"

#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define ABSENT \
	.ob_type = -1, .ob_size = -1, .tp_name = -1, .tp_basicsize = -1, .tp_flags = -1, \
	.tp_dictoffset = -1, .ht_cached_keys = -1, .managed_dict_off = 0, .managed_values_off = 0, \
	.rt_interp_head = -1, .rt_tstate_current = -1, .rt_gil_locked = -1, .rt_gil_holder = -1, \
	.is_next = -1, .is_tstate_head = -1, .is_modules = -1, .is_id = -1, .is_gil_ptr = -1, \
	.gil_locked = -1, .gil_holder = -1, .gil_enabled = -1, \
	.ts_next = -1, .ts_interp = -1, .ts_frame = -1, .ts_cframe = -1, .cframe_current = -1, \
	.ts_current_frame = -1, .ts_thread_id = -1, .ts_native_thread_id = -1, \
	.ts_datastack_chunk = -1, .ts_dict = -1, .ts_state = -1, \
	.f_back = -1, .f_code = -1, .f_lasti = -1, .f_locals = -1, .f_localsplus = -1, .lasti_scale = 1, \
	.if_code = -1, .if_previous = -1, .if_instr = -1, .if_owner = -1, .if_localsplus = -1, \
	.if_tlbc_index = -1, .if_is_entry = -1, .if_size = -1, .owner_generator = 1, .owner_skip_min = 256, \
	.stackref_mask = ~(uint64_t)0, \
	.chunk_previous = -1, .chunk_size = -1, .chunk_top = -1, .chunk_data = -1, \
	.co_argcount = -1, .co_posonlyargcount = -1, .co_kwonlyargcount = -1, .co_nlocals = -1, \
	.co_flags = -1, .co_firstlineno = -1, .co_filename = -1, .co_name = -1, .co_qualname = -1, \
	.co_linetable = -1, .co_varnames = -1, .co_cellvars = -1, .co_freevars = -1, \
	.co_cell2arg = -1, .co_nlocalsplus = -1, .co_localsplusnames = -1, \
	.co_localspluskinds = -1, .co_firsttraceable = -1, .co_code_adaptive = -1, .co_tlbc = -1, \
	.co_code = -1, \
	.code_read_size = 0, \
	.bytes_size = -1, .bytes_sval = -1, .uni_length = -1, .uni_state = -1, \
	.uni_ascii_size = -1, .uni_compact_size = -1, .uni_data = -1, \
	.uni_kind_shift = 2, .uni_compact_bit = 5, .uni_ascii_bit = 6, \
	.py2_uni_length = -1, .py2_uni_str = -1, \
	.int_ival = -1, .long_size = -1, .long_tag = -1, .long_digit = -1, .float_fval = -1, \
	.tuple_item = -1, .list_item = -1, .list_size = -1, .cell_ref = -1, .md_dict = -1, \
	.ma_used = -1, .ma_keys = -1, .ma_values = -1, .ma_mask27 = -1, .ma_table27 = -1, \
	.dk_size = -1, .dk_log2_size = -1, .dk_log2_index_bytes = -1, .dk_kind = -1, \
	.dk_nentries = -1, .dk_indices = -1, .dict_values_prefix = 0, \
	.ts_curexc = -1, .ts_exc_type = -1, .ts_exc_info = -1, .es_exc = -1, .es_previous = -1, \
	.rt_gc_collecting = -1, .is_gc_collecting = -1

/* Object header and the simple objects of GIL builds (16-byte PyObject). */
#define OBJECTS_GIL \
	.ob_type = 8, .ob_size = 16, .tp_name = 24, .tp_basicsize = 32, .tp_flags = 168, \
	.tp_dictoffset = 288, .float_fval = 16, .tuple_item = 24, .list_item = 24, \
	.list_size = 16, .cell_ref = 16, .md_dict = 16, .bytes_size = 16, .bytes_sval = 32

/* Free-threaded builds: 32-byte PyObject, every object field +16. */
#define OBJECTS_FT \
	.ob_type = 24, .ob_size = 32, .tp_name = 40, .tp_basicsize = 48, .tp_flags = 184, \
	.tp_dictoffset = 304, .float_fval = 32, .tuple_item = 40, .list_item = 40, \
	.list_size = 32, .cell_ref = 32, .md_dict = 32, .bytes_size = 32, .bytes_sval = 48

#define UNICODE_36_311 \
	.str_kind = PY_STR_PEP393, .uni_length = 16, .uni_state = 32, .uni_ascii_size = 48, \
	.uni_compact_size = 72, .uni_data = 72
#define UNICODE_312 \
	.str_kind = PY_STR_PEP393, .uni_length = 16, .uni_state = 32, .uni_ascii_size = 40, \
	.uni_compact_size = 56, .uni_data = 56
#define UNICODE_FT \
	.str_kind = PY_STR_PEP393, .uni_length = 32, .uni_state = 48, .uni_ascii_size = 56, \
	.uni_compact_size = 72, .uni_data = 72

#define DICT_36 \
	.dict_kind = PY_DICT_36, .ma_used = 16, .ma_keys = 32, .ma_values = 40, \
	.dk_size = 8, .dk_nentries = 32, .dk_indices = 40
#define DICT_311(base) \
	.dict_kind = PY_DICT_311, .ma_used = (base), .ma_keys = (base) + 16, .ma_values = (base) + 24, \
	.dk_log2_size = 8, .dk_log2_index_bytes = 9, .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32

#define FRAMEOBJ_FAMILY .family = PY_FAMILY_FRAMEOBJ, .f_back = 24, .f_code = 32, .f_locals = 56
#define IFRAME_FAMILY \
	.family = PY_FAMILY_IFRAME, .lt_kind = LT_LOCATIONS, .has_qualname = true, \
	.chunk_previous = 0, .chunk_size = 8, .chunk_top = 16, .chunk_data = 24

/* PyCodeObject of 3.8-3.10 */
#define CODE_38 \
	.co_argcount = 16, .co_posonlyargcount = 20, .co_kwonlyargcount = 24, .co_nlocals = 28, \
	.co_flags = 36, .co_firstlineno = 40, .co_code = 48, .co_varnames = 72, .co_freevars = 80, \
	.co_cellvars = 88, .co_cell2arg = 96, .cell2arg_size = 8, .co_filename = 104, .co_name = 112, \
	.co_linetable = 120, .code_read_size = 176

/* PyCodeObject of 3.12-3.14 up to co_qualname; `ft` adds the +16 of free-threaded builds. */
#define CODE_312(ft) \
	.co_flags = 48 + (ft), .co_argcount = 52 + (ft), .co_posonlyargcount = 56 + (ft), \
	.co_kwonlyargcount = 60 + (ft), .co_firstlineno = 68 + (ft), .co_nlocalsplus = 72 + (ft), \
	.co_nlocals = 80 + (ft), .co_localsplusnames = 96 + (ft), .co_localspluskinds = 104 + (ft), \
	.co_filename = 112 + (ft), .co_name = 120 + (ft), .co_qualname = 128 + (ft), \
	.co_linetable = 136 + (ft), .co_fast_hidden = 0x10

/* --qualname before 3.11: type dict and MRO, function code and qualname,
 * classmethod/staticmethod callable (GIL builds of 2.7-3.10). */
#define METHODS_27 .tp_dict = 264, .tp_mro = 344, .func_code = 16, .cm_callable = 16, \
	.prop_get = 16
#define METHODS_36 METHODS_27, .func_qualname = 104
#define METHODS_310 .tp_dict = 264, .tp_mro = 344, .func_code = 48, .func_qualname = 40, \
	.cm_callable = 16, .prop_get = 16

static const struct py_layout layout_27 = {
	METHODS_27,
	ABSENT, OBJECTS_GIL, FRAMEOBJ_FAMILY,
	.version = 0x020700f0, .lt_kind = LT_LNOTAB_U8, .dict_kind = PY_DICT_27,
	.str_kind = PY_STR_PY2, .gil_kind = PY_GIL_TSTATE_CURRENT, .py2_unicode_size = 4,
	.bytes_sval = 36, .py2_uni_length = 16, .py2_uni_str = 24,
	.is_next = 0, .is_tstate_head = 8, .is_modules = 16,
	.ts_next = 0, .ts_interp = 8, .ts_frame = 16, .ts_thread_id = 144, .ts_dict = 120,
	.f_lasti = 120, .f_localsplus = 376,
	.co_argcount = 16, .co_nlocals = 20, .co_flags = 28, .co_code = 32, .co_varnames = 56, .co_freevars = 64,
	.co_cellvars = 72, .co_filename = 80, .co_name = 88, .co_firstlineno = 96,
	.co_linetable = 104, .code_read_size = 128,
	.int_ival = 16, .long_size = 16, .long_digit = 24,
	.ma_used = 24, .ma_mask27 = 32, .ma_table27 = 40,
	.ts_curexc = 72, .ts_exc_type = 96,
};

static const struct py_layout layout_36 = {
	METHODS_36,
	ABSENT, OBJECTS_GIL, FRAMEOBJ_FAMILY, UNICODE_36_311, DICT_36,
	.version = 0x030600f0, .lt_kind = LT_LNOTAB_S8, .gil_kind = PY_GIL_TSTATE_CURRENT,
	.is_next = 0, .is_tstate_head = 8, .is_modules = 16,
	.ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 152, .ts_dict = 128,
	.f_lasti = 120, .f_localsplus = 376,
	.co_argcount = 16, .co_kwonlyargcount = 20, .co_nlocals = 24, .co_flags = 32,
	.co_firstlineno = 36, .co_code = 40, .co_varnames = 64, .co_freevars = 72, .co_cellvars = 80,
	.co_cell2arg = 88, .cell2arg_size = 1, .co_filename = 96, .co_name = 104, .co_linetable = 112,
	.code_read_size = 144,
	.long_size = 16, .long_digit = 24,
	.ts_curexc = 80, .ts_exc_type = 104,
};

static const struct py_layout layout_37 = {
	METHODS_36,
	ABSENT, OBJECTS_GIL, FRAMEOBJ_FAMILY, UNICODE_36_311, DICT_36,
	.version = 0x030700f0, .lt_kind = LT_LNOTAB_S8, .gil_kind = PY_GIL_RUNTIME,
	.rt_interp_head = 24, .rt_tstate_current = 1480, .rt_gil_locked = 1280, .rt_gil_holder = 1272,
	.is_id = 16, .is_next = 0, .is_tstate_head = 8, .is_modules = 40,
	.ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_dict = 152,
	.f_lasti = 104, .f_localsplus = 360,
	.co_argcount = 16, .co_kwonlyargcount = 20, .co_nlocals = 24, .co_flags = 32,
	.co_firstlineno = 36, .co_code = 40, .co_varnames = 64, .co_freevars = 72, .co_cellvars = 80,
	.co_cell2arg = 88, .cell2arg_size = 8, .co_filename = 96, .co_name = 104, .co_linetable = 112,
	.code_read_size = 144,
	.long_size = 16, .long_digit = 24,
	.ts_curexc = 88, .ts_exc_info = 144, .es_exc = 0, .es_previous = 24, .rt_gc_collecting = 632,
};

static const struct py_layout layout_38 = {
	METHODS_36,
	ABSENT, OBJECTS_GIL, FRAMEOBJ_FAMILY, UNICODE_36_311, DICT_36, CODE_38,
	.version = 0x030800f0, .lt_kind = LT_LNOTAB_S8, .gil_kind = PY_GIL_RUNTIME,
	.rt_interp_head = 32, .rt_tstate_current = 1368, .rt_gil_locked = 1168, .rt_gil_holder = 1160,
	.is_id = 16, .is_next = 0, .is_tstate_head = 8, .is_modules = 56,
	.ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_dict = 152,
	.f_lasti = 104, .f_localsplus = 360,
	.long_size = 16, .long_digit = 24,
	.ts_curexc = 88, .ts_exc_info = 144, .es_exc = 0, .es_previous = 24, .rt_gc_collecting = 544,
};

static const struct py_layout layout_39 = {
	METHODS_36,
	ABSENT, OBJECTS_GIL, FRAMEOBJ_FAMILY, UNICODE_36_311, DICT_36, CODE_38,
	.version = 0x030900f0, .lt_kind = LT_LNOTAB_S8, .gil_kind = PY_GIL_RUNTIME,
	.rt_interp_head = 32, .rt_tstate_current = 568, .rt_gil_locked = 368, .rt_gil_holder = 360,
	.is_id = 24, .is_next = 0, .is_tstate_head = 8, .is_modules = 856,
	.ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_dict = 152,
	.f_lasti = 104, .f_localsplus = 360,
	.long_size = 16, .long_digit = 24,
	.ts_curexc = 88, .ts_exc_info = 144, .es_exc = 0, .es_previous = 24, .is_gc_collecting = 816,
};

static const struct py_layout layout_310 = {
	METHODS_310,
	ABSENT, OBJECTS_GIL, FRAMEOBJ_FAMILY, UNICODE_36_311, DICT_36, CODE_38,
	.version = 0x030a00f0, .lt_kind = LT_LINETABLE, .gil_kind = PY_GIL_RUNTIME,
	.rt_interp_head = 32, .rt_tstate_current = 568, .rt_gil_locked = 368, .rt_gil_holder = 360,
	.is_id = 24, .is_next = 0, .is_tstate_head = 8, .is_modules = 856,
	.ts_cframe = 48, .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_thread_id = 176, .ts_dict = 152,
	.f_lasti = 96, .lasti_scale = 2, .f_localsplus = 352,
	.long_size = 16, .long_digit = 24,
	.ts_curexc = 88, .ts_exc_info = 144, .es_exc = 0, .es_previous = 24, .is_gc_collecting = 816,
};

static const struct py_layout layout_311 = {
	ABSENT, OBJECTS_GIL, IFRAME_FAMILY, UNICODE_36_311, DICT_311(16),
	.version = 0x030b00f0, .gil_kind = PY_GIL_RUNTIME,
	.ht_cached_keys = 872, .tpflags_managed_dict = 1ul << 4,
	.managed_dict_off = -24, .managed_values_off = -32,
	.rt_interp_head = 40, .rt_tstate_current = 576, .rt_gil_locked = 376, .rt_gil_holder = 368,
	.is_id = 48, .is_next = 0, .is_tstate_head = 16, .is_modules = 888,
	.ts_next = 8, .ts_interp = 16, .ts_cframe = 56, .cframe_current = 8, .ts_thread_id = 152,
	.ts_native_thread_id = 160, .ts_datastack_chunk = 296, .ts_dict = 128,
	.if_code = 32, .if_previous = 48, .if_instr = 56, .if_owner = 69, .if_localsplus = 72,
	.if_is_entry = 68, .if_size = 80,
	.co_flags = 48, .co_argcount = 56, .co_posonlyargcount = 60, .co_kwonlyargcount = 64,
	.co_firstlineno = 72, .co_nlocalsplus = 76, .co_nlocals = 80, .co_localsplusnames = 96,
	.co_localspluskinds = 104, .co_filename = 112, .co_name = 120, .co_qualname = 128,
	.co_linetable = 136, .co_firsttraceable = 168, .co_code_adaptive = 184,
	.code_read_size = 192,
	.long_size = 16, .long_digit = 24,
	.ts_curexc = 96, .ts_exc_info = 120, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 848,
};

static const struct py_layout layout_312 = {
	ABSENT, OBJECTS_GIL, IFRAME_FAMILY, UNICODE_312, DICT_311(16), CODE_312(0),
	.version = 0x030c00f0, .gil_kind = PY_GIL_INTERP,
	.ht_cached_keys = 880, .tpflags_managed_dict = 1ul << 4, .managed_dict_off = -24,
	.managed_dict_tagged = true,
	.rt_interp_head = 40,
	.is_id = 8, .is_next = 0, .is_tstate_head = 72, .is_modules = 944,
	.is_gil_ptr = 384, .gil_locked = 16, .gil_holder = 8,
	.ts_next = 8, .ts_interp = 16, .ts_cframe = 56, .cframe_current = 0, .ts_thread_id = 136,
	.ts_native_thread_id = 144, .ts_datastack_chunk = 232, .ts_dict = 112,
	.if_code = 0, .if_previous = 8, .if_instr = 56, .if_owner = 70, .if_localsplus = 72,
	.if_size = 80, .owner_skip_min = 3,
	.co_firsttraceable = 176, .co_code_adaptive = 192, .code_read_size = 200,
	.long_tag = 16, .long_digit = 24,
	.ts_curexc = 96, .ts_exc_info = 104, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 312,
};

static const struct py_layout layout_313 = {
	ABSENT, OBJECTS_GIL, IFRAME_FAMILY, UNICODE_312, DICT_311(16), CODE_312(0),
	.version = 0x030d00f0, .gil_kind = PY_GIL_INTERP,
	.ht_cached_keys = 880, .tpflags_managed_dict = 1ul << 4, .tpflags_inline_values = 1ul << 2,
	.managed_dict_off = -24, .dict_values_prefix = 8,
	.rt_interp_head = 632,
	.is_id = 7272, .is_next = 7264, .is_tstate_head = 7344, .is_modules = 7656,
	.is_gil_ptr = 16, .gil_locked = 16, .gil_holder = 8,
	.ts_next = 8, .ts_interp = 16, .ts_current_frame = 72, .ts_thread_id = 152,
	.ts_native_thread_id = 160, .ts_datastack_chunk = 232, .ts_dict = 128, .ts_state = 40,
	.if_code = 0, .if_previous = 8, .if_instr = 56, .if_owner = 70, .if_localsplus = 72,
	.if_size = 80, .owner_skip_min = 3,
	.co_firsttraceable = 184, .co_code_adaptive = 200, .code_read_size = 208,
	.long_tag = 16, .long_digit = 24,
	.ts_curexc = 112, .ts_exc_info = 120, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 7600,
};

static const struct py_layout layout_313t = {
	ABSENT, OBJECTS_FT, IFRAME_FAMILY, UNICODE_FT, DICT_311(32), CODE_312(16),
	.version = 0x030d00f0, .free_threaded = true, .gil_kind = PY_GIL_INTERP,
	.ht_cached_keys = 896, .tpflags_managed_dict = 1ul << 4, .tpflags_inline_values = 1ul << 2,
	.managed_dict_off = -8, .dict_values_prefix = 8,
	.rt_interp_head = 632,
	.is_id = 7272, .is_next = 7264, .is_tstate_head = 7344, .is_modules = 7664,
	.is_gil_ptr = 16, .gil_enabled = 0, .gil_locked = 24, .gil_holder = 16,
	.ts_next = 8, .ts_interp = 16, .ts_current_frame = 72, .ts_thread_id = 152,
	.ts_native_thread_id = 160, .ts_datastack_chunk = 232, .ts_dict = 128, .ts_state = 40,
	.if_code = 0, .if_previous = 8, .if_instr = 56, .if_owner = 70, .if_localsplus = 72,
	.if_size = 80, .owner_skip_min = 3,
	.co_firsttraceable = 200, .co_code_adaptive = 216, .code_read_size = 224,
	.long_tag = 32, .long_digit = 40,
	.ts_curexc = 112, .ts_exc_info = 120, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 7600,
};

static const struct py_layout layout_314 = {
	ABSENT, OBJECTS_GIL, IFRAME_FAMILY, UNICODE_312, DICT_311(16), CODE_312(0),
	.version = 0x030e00f0, .gil_kind = PY_GIL_INTERP,
	.tuple_item = 32,
	.ht_cached_keys = 880, .tpflags_managed_dict = 1ul << 4, .tpflags_inline_values = 1ul << 2,
	.managed_dict_off = -24, .dict_values_prefix = 8,
	.rt_interp_head = 808,
	.is_id = 7280, .is_next = 7272, .is_tstate_head = 7344, .is_modules = 7688,
	.is_gil_ptr = 16, .gil_locked = 16, .gil_holder = 8,
	.ts_next = 8, .ts_interp = 16, .ts_current_frame = 72, .ts_thread_id = 152,
	.ts_native_thread_id = 160, .ts_datastack_chunk = 232, .ts_dict = 128, .ts_state = 44,
	.if_code = 0, .if_previous = 8, .if_instr = 56, .if_owner = 74, .if_localsplus = 80,
	.if_size = 88, .owner_skip_min = 3, .stackref_mask = ~(uint64_t)3,
	.co_firsttraceable = 192, .co_code_adaptive = 208, .code_read_size = 216,
	.long_tag = 16, .long_digit = 24,
	.ts_curexc = 112, .ts_exc_info = 120, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 7600,
};

static const struct py_layout layout_314t = {
	ABSENT, OBJECTS_FT, IFRAME_FAMILY, UNICODE_FT, DICT_311(32), CODE_312(16),
	.version = 0x030e00f0, .free_threaded = true, .gil_kind = PY_GIL_INTERP,
	.tuple_item = 48, .uni_kind_shift = 8, .uni_compact_bit = 11, .uni_ascii_bit = 12,
	.ht_cached_keys = 896, .tpflags_managed_dict = 1ul << 4, .tpflags_inline_values = 1ul << 2,
	.managed_dict_off = -8, .dict_values_prefix = 8,
	.rt_interp_head = 808,
	.is_id = 7280, .is_next = 7272, .is_tstate_head = 7344, .is_modules = 7712,
	.is_gil_ptr = 16, .gil_enabled = 0, .gil_locked = 24, .gil_holder = 16,
	.ts_next = 8, .ts_interp = 16, .ts_current_frame = 72, .ts_thread_id = 152,
	.ts_native_thread_id = 160, .ts_datastack_chunk = 232, .ts_dict = 128, .ts_state = 44,
	.if_code = 0, .if_previous = 8, .if_instr = 56, .if_owner = 78, .if_localsplus = 80,
	.if_tlbc_index = 72, .if_size = 88, .owner_skip_min = 3, .stackref_mask = ~(uint64_t)3,
	.co_firsttraceable = 208, .co_code_adaptive = 232, .co_tlbc = 224, .code_read_size = 240,
	.long_tag = 32, .long_digit = 40,
	.ts_curexc = 112, .ts_exc_info = 120, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 7600,
};

/* The newest minor's tables are unused in a CSPY_OMIT_NEWEST build. */
#define OMITTABLE __attribute__((unused))

/* 3.15: from the layout probe (tests/tools/probe) on Debian's 3.15.2 and on
 * 3.15.0rc1 configured with --disable-gil. Thread state and interpreter
 * fields moved; frames and code objects are as in 3.14. */
static const struct py_layout layout_315 OMITTABLE = {
	ABSENT, OBJECTS_GIL, IFRAME_FAMILY, UNICODE_312, DICT_311(16), CODE_312(0),
	.version = 0x030f00f0, .gil_kind = PY_GIL_INTERP,
	.tuple_item = 32,
	.ht_cached_keys = 888, .tpflags_managed_dict = 1ul << 4, .tpflags_inline_values = 1ul << 2,
	.managed_dict_off = -24, .dict_values_prefix = 8,
	.rt_interp_head = 936,
	.is_id = 7272, .is_next = 7264, .is_tstate_head = 7336, .is_modules = 7592,
	.is_gil_ptr = 16, .gil_locked = 16, .gil_holder = 8,
	.ts_next = 8, .ts_interp = 16, .ts_current_frame = 72, .ts_thread_id = 176,
	.ts_native_thread_id = 184, .ts_datastack_chunk = 256, .ts_dict = 152, .ts_state = 48,
	.if_code = 0, .if_previous = 8, .if_instr = 56, .if_owner = 74, .if_localsplus = 80,
	.if_size = 88, .owner_skip_min = 3, .stackref_mask = ~(uint64_t)3,
	.co_firsttraceable = 192, .co_code_adaptive = 208, .code_read_size = 216,
	.long_tag = 16, .long_digit = 24,
	.ts_curexc = 136, .ts_exc_info = 144, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 7512,
};

static const struct py_layout layout_315t OMITTABLE = {
	ABSENT, OBJECTS_FT, IFRAME_FAMILY, UNICODE_FT, DICT_311(32), CODE_312(16),
	.version = 0x030f00f0, .free_threaded = true, .gil_kind = PY_GIL_INTERP,
	.tuple_item = 48, .uni_kind_shift = 8, .uni_compact_bit = 11, .uni_ascii_bit = 12,
	.ht_cached_keys = 904, .tpflags_managed_dict = 1ul << 4, .tpflags_inline_values = 1ul << 2,
	.managed_dict_off = -8, .dict_values_prefix = 8,
	.rt_interp_head = 936,
	.is_id = 7272, .is_next = 7264, .is_tstate_head = 7336, .is_modules = 7592,
	.is_gil_ptr = 16, .gil_enabled = 0, .gil_locked = 24, .gil_holder = 16,
	.ts_next = 8, .ts_interp = 16, .ts_current_frame = 72, .ts_thread_id = 176,
	.ts_native_thread_id = 184, .ts_datastack_chunk = 256, .ts_dict = 152, .ts_state = 48,
	.if_code = 0, .if_previous = 8, .if_instr = 56, .if_owner = 78, .if_localsplus = 80,
	.if_tlbc_index = 72, .if_size = 88, .owner_skip_min = 3, .stackref_mask = ~(uint64_t)3,
	.co_firsttraceable = 208, .co_code_adaptive = 232, .co_tlbc = 224, .code_read_size = 240,
	.long_tag = 32, .long_digit = 40,
	.ts_curexc = 136, .ts_exc_info = 144, .es_exc = 0, .es_previous = 8, .is_gc_collecting = 7512,
};

/* _Py_DebugOffsets, as the ordered list of its uint64 fields per minor version:
 * struct _Py_DebugOffsets of Include/internal/pycore_runtime.h (3.13) and
 * pycore_debug_offsets.h (3.14+), groups abbreviated ("ts" thread_state; the
 * names are listed in docs/offsets.md); check_tables.py compares the order
 * with the headers. */
static const char debug_fields_313[] =
	"hdr.cookie hdr.version hdr.free_threaded "
	"rt.size rt.finalizing rt.interpreters_head "
	"is.size is.id is.next is.threads_head is.gc is.imports_modules is.sysdict is.builtins "
	"is.ceval_gil is.gil_runtime_state is.gil_enabled is.gil_locked is.gil_holder "
	"ts.size ts.prev ts.next ts.interp ts.current_frame ts.thread_id ts.native_thread_id "
	"ts.datastack_chunk ts.status "
	"if.size if.previous if.executable if.instr_ptr if.localsplus if.owner "
	"co.size co.filename co.name co.qualname co.linetable co.firstlineno co.argcount "
	"co.localsplusnames co.localspluskinds co.co_code_adaptive "
	"ob.size ob.ob_type tp.size tp.tp_name tp.tp_repr tp.tp_flags "
	"tu.size tu.ob_item tu.ob_size li.size li.ob_item li.ob_size "
	"di.size di.ma_keys di.ma_values fl.size fl.ob_fval lo.size lo.lv_tag lo.ob_digit "
	"by.size by.ob_size by.ob_sval un.size un.state un.length un.asciiobject_size "
	"gc.size gc.collecting";

static const char debug_fields_314[] =
	"hdr.cookie hdr.version hdr.free_threaded "
	"rt.size rt.finalizing rt.interpreters_head "
	"is.size is.id is.next is.threads_head is.threads_main is.gc is.imports_modules "
	"is.sysdict is.builtins is.ceval_gil is.gil_runtime_state is.gil_enabled is.gil_locked "
	"is.gil_holder is.code_object_generation is.tlbc_generation "
	"ts.size ts.prev ts.next ts.interp ts.current_frame ts.thread_id ts.native_thread_id "
	"ts.datastack_chunk ts.status "
	"if.size if.previous if.executable if.instr_ptr if.localsplus if.owner if.stackpointer "
	"if.tlbc_index "
	"co.size co.filename co.name co.qualname co.linetable co.firstlineno co.argcount "
	"co.localsplusnames co.localspluskinds co.co_code_adaptive co.co_tlbc "
	"ob.size ob.ob_type tp.size tp.tp_name tp.tp_repr tp.tp_flags "
	"tu.size tu.ob_item tu.ob_size li.size li.ob_item li.ob_size "
	"se.size se.used se.table se.mask "
	"di.size di.ma_keys di.ma_values fl.size fl.ob_fval lo.size lo.lv_tag lo.ob_digit "
	"by.size by.ob_size by.ob_sval un.size un.state un.length un.asciiobject_size "
	"gc.size gc.collecting ge.size ge.gi_name ge.gi_iframe ge.gi_frame_state "
	"ll.next ll.prev "
	"db.eval_breaker db.remote_debugger_support db.remote_debugging_enabled "
	"db.debugger_pending_call db.debugger_script_path db.debugger_script_path_size";

static const char debug_fields_315[] OMITTABLE =
	"hdr.cookie hdr.version hdr.free_threaded "
	"rt.size rt.finalizing rt.interpreters_head "
	"is.size is.id is.next is.threads_head is.threads_main is.gc is.imports_modules "
	"is.sysdict is.builtins is.ceval_gil is.gil_runtime_state is.gil_enabled is.gil_locked "
	"is.gil_holder is.code_object_generation is.tlbc_generation "
	"ts.size ts.prev ts.next ts.interp ts.current_frame ts.base_frame ts.last_profiled_frame "
	"ts.last_profiled_frame_seq ts.thread_id ts.native_thread_id ts.datastack_chunk ts.status "
	"ts.holds_gil ts.gil_requested ts.current_exception ts.exc_state "
	"es.exc_value "
	"if.size if.previous if.executable if.instr_ptr if.localsplus if.owner if.stackpointer "
	"if.tlbc_index "
	"co.size co.filename co.name co.qualname co.linetable co.firstlineno co.argcount "
	"co.localsplusnames co.localspluskinds co.co_code_adaptive co.co_tlbc "
	"ob.size ob.ob_type tp.size tp.tp_name tp.tp_repr tp.tp_flags tp.tp_basicsize "
	"tp.tp_dictoffset ht.size ht.ht_cached_keys "
	"tu.size tu.ob_item tu.ob_size li.size li.ob_item li.ob_size "
	"se.size se.used se.table se.mask "
	"di.size di.ma_keys di.ma_values fl.size fl.ob_fval lo.size lo.lv_tag lo.ob_digit "
	"by.size by.ob_size by.ob_sval "
	"un.size un.state un.length un.asciiobject_size un.compactunicodeobject_size "
	"gc.size gc.collecting gc.frame gc.generation_stats_size gc.generation_stats "
	"ge.size ge.gi_name ge.gi_iframe ge.gi_frame_state "
	"ll.next ll.prev "
	"db.eval_breaker db.remote_debugger_support db.remote_debugging_enabled "
	"db.debugger_pending_call db.debugger_script_path db.debugger_script_path_size";

/* Every minor version cspy knows, oldest first: its tables (GIL and
 * free-threaded builds) and the shape of its _Py_DebugOffsets. The last row
 * is the newest, which a newer, unknown minor is tried with (see
 * offsets_for_newer). Building with CSPY_OMIT_NEWEST (make OMIT_NEWEST=1)
 * leaves the newest row out, so that path can be tested on a real
 * interpreter. */
static const struct minor_row {
	unsigned minor;
	const struct py_layout *gil, *ft;
	const char *debug;
} minors[] = {
	{ PY_VER(2, 7), &layout_27, NULL, NULL },
	{ PY_VER(3, 6), &layout_36, NULL, NULL },
	{ PY_VER(3, 7), &layout_37, NULL, NULL },
	{ PY_VER(3, 8), &layout_38, NULL, NULL },
	{ PY_VER(3, 9), &layout_39, NULL, NULL },
	{ PY_VER(3, 10), &layout_310, NULL, NULL },
	{ PY_VER(3, 11), &layout_311, NULL, NULL },
	{ PY_VER(3, 12), &layout_312, NULL, NULL },
	{ PY_VER(3, 13), &layout_313, &layout_313t, debug_fields_313 },
	{ PY_VER(3, 14), &layout_314, &layout_314t, debug_fields_314 },
#ifndef CSPY_OMIT_NEWEST
	{ PY_VER(3, 15), &layout_315, &layout_315t, debug_fields_315 },
#endif
};
#define NMINORS (sizeof(minors) / sizeof(minors[0]))

static const struct minor_row *minor_row(unsigned version)
{
	for (size_t i = 0; i < NMINORS; i++)
		if (minors[i].minor == PY_MINOR_OF(version))
			return &minors[i];
	return NULL;
}

unsigned offsets_newest_minor(void)
{
	return minors[NMINORS - 1].minor;
}

int offsets_for_version(unsigned version, bool free_threaded, struct py_layout *out)
{
	const struct minor_row *r = minor_row(version);
	const struct py_layout *t = r ? (free_threaded ? r->ft : r->gil) : NULL;
	unsigned major = version >> 24, minor = (version >> 16) & 0xff, micro = (version >> 8) & 0xff;

	if (!t)
		return -ENOTSUP;
	*out = *t;
	out->version = version;
	out->table_minor = r->minor;
	out->untested = false;
	if (major == 3 && minor == 7 && micro <= 3) {
		/* 3.7.0-3.7.3: _PyRuntime.gilstate/ceval sit 88 bytes lower. */
		out->rt_tstate_current = 1392;
		out->rt_gil_locked = 1192;
		out->rt_gil_holder = 1184;
	}
	return 0;
}

int offsets_for_newer(unsigned version, bool free_threaded, struct py_layout *out)
{
	const struct minor_row *newest = &minors[NMINORS - 1];
	const struct py_layout *t = free_threaded ? newest->ft : newest->gil;
	if ((version >> 24) != (newest->minor >> 24) || PY_MINOR_OF(version) <= newest->minor ||
	    !t || !newest->debug)
		return -ENOTSUP;
	*out = *t;
	out->version = version;
	out->table_minor = newest->minor;
	out->untested = true;
	return 0;
}

/* Which py_layout member each debug field feeds. Fields of the interpreter's
 * embedded GIL are rebased onto the GIL struct after reading (see below). */
static const struct debug_map {
	const char *name;
	size_t member;
} debug_map[] = {
	{ "rt.interpreters_head", offsetof(struct py_layout, rt_interp_head) },
	{ "is.id", offsetof(struct py_layout, is_id) },
	{ "is.next", offsetof(struct py_layout, is_next) },
	{ "is.threads_head", offsetof(struct py_layout, is_tstate_head) },
	{ "is.imports_modules", offsetof(struct py_layout, is_modules) },
	{ "is.ceval_gil", offsetof(struct py_layout, is_gil_ptr) },
	{ "ts.next", offsetof(struct py_layout, ts_next) },
	{ "ts.interp", offsetof(struct py_layout, ts_interp) },
	{ "ts.current_frame", offsetof(struct py_layout, ts_current_frame) },
	{ "ts.thread_id", offsetof(struct py_layout, ts_thread_id) },
	{ "ts.native_thread_id", offsetof(struct py_layout, ts_native_thread_id) },
	{ "ts.datastack_chunk", offsetof(struct py_layout, ts_datastack_chunk) },
	{ "if.size", offsetof(struct py_layout, if_size) },
	{ "if.previous", offsetof(struct py_layout, if_previous) },
	{ "if.executable", offsetof(struct py_layout, if_code) },
	{ "if.instr_ptr", offsetof(struct py_layout, if_instr) },
	{ "if.localsplus", offsetof(struct py_layout, if_localsplus) },
	{ "if.owner", offsetof(struct py_layout, if_owner) },
	{ "co.filename", offsetof(struct py_layout, co_filename) },
	{ "co.name", offsetof(struct py_layout, co_name) },
	{ "co.qualname", offsetof(struct py_layout, co_qualname) },
	{ "co.linetable", offsetof(struct py_layout, co_linetable) },
	{ "co.firstlineno", offsetof(struct py_layout, co_firstlineno) },
	{ "co.argcount", offsetof(struct py_layout, co_argcount) },
	{ "co.localsplusnames", offsetof(struct py_layout, co_localsplusnames) },
	{ "co.localspluskinds", offsetof(struct py_layout, co_localspluskinds) },
	{ "co.co_code_adaptive", offsetof(struct py_layout, co_code_adaptive) },
	{ "ob.ob_type", offsetof(struct py_layout, ob_type) },
	{ "tp.tp_name", offsetof(struct py_layout, tp_name) },
	{ "tp.tp_flags", offsetof(struct py_layout, tp_flags) },
	{ "tp.tp_basicsize", offsetof(struct py_layout, tp_basicsize) },
	{ "tp.tp_dictoffset", offsetof(struct py_layout, tp_dictoffset) },
	{ "ht.ht_cached_keys", offsetof(struct py_layout, ht_cached_keys) },
	{ "tu.ob_item", offsetof(struct py_layout, tuple_item) },
	{ "tu.ob_size", offsetof(struct py_layout, ob_size) },
	{ "li.ob_item", offsetof(struct py_layout, list_item) },
	{ "li.ob_size", offsetof(struct py_layout, list_size) },
	{ "di.ma_keys", offsetof(struct py_layout, ma_keys) },
	{ "di.ma_values", offsetof(struct py_layout, ma_values) },
	{ "fl.ob_fval", offsetof(struct py_layout, float_fval) },
	{ "lo.lv_tag", offsetof(struct py_layout, long_tag) },
	{ "lo.ob_digit", offsetof(struct py_layout, long_digit) },
	{ "by.ob_size", offsetof(struct py_layout, bytes_size) },
	{ "by.ob_sval", offsetof(struct py_layout, bytes_sval) },
	{ "un.state", offsetof(struct py_layout, uni_state) },
	{ "un.length", offsetof(struct py_layout, uni_length) },
	{ "un.asciiobject_size", offsetof(struct py_layout, uni_ascii_size) },
	{ "un.compactunicodeobject_size", offsetof(struct py_layout, uni_compact_size) },
	{ "ts.current_exception", offsetof(struct py_layout, ts_curexc) },
	{ "es.exc_value", offsetof(struct py_layout, es_exc) },
};

static const char *debug_fields(unsigned version)
{
	const struct minor_row *r = minor_row(version);
	return r ? r->debug : NULL;
}

static size_t count_fields(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		if (*p == ' ')
			n++;
	return n + 1;
}

size_t offsets_debug_size(unsigned version)
{
	const char *f = debug_fields(version);
	return f ? 8 * count_fields(f) : 0;
}

/* Index of "group.field" in the field list, or -1. */
static long field_index(const char *fields, const char *name)
{
	size_t len = strlen(name);
	long i = 0;
	for (const char *p = fields; *p; i++) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == len && memcmp(p, name, n) == 0)
			return i;
		if (!e)
			break;
		p = e + 1;
	}
	return -1;
}

static uint64_t field_u64(const uint8_t *buf, long idx)
{
	return bytes_u64(buf + 8 * idx);
}

/* The value of "group.field" into *v: 0, or -EINVAL when the minor's list
 * has no such field. */
static int field_get(const char *fields, const uint8_t *buf, const char *name, uint64_t *v)
{
	long i = field_index(fields, name);
	if (i < 0)
		return -EINVAL;
	*v = field_u64(buf, i);
	return 0;
}

/* Size published for the group of `name` ("is.next" -> "is.size"); 0 if none. */
static uint64_t group_size(const char *fields, const uint8_t *buf, const char *name)
{
	char g[16];
	const char *dot = strchr(name, '.');
	size_t n = (size_t)(dot - name);
	if (n + 6 > sizeof(g))
		return 0;
	memcpy(g, name, n);
	memcpy(g + n, ".size", 6);
	long i = field_index(fields, g);
	return i < 0 ? 0 : field_u64(buf, i);
}

int offsets_apply_debug(struct py_layout *out, const uint8_t *buf, size_t len)
{
	const char *fields = debug_fields(out->table_minor);
	if (!fields || len < offsets_debug_size(out->table_minor) || memcmp(buf, "xdebugpy", 8) != 0)
		return -EINVAL;
	uint64_t version = field_u64(buf, 1);
	if (PY_MINOR_OF((unsigned)version) != PY_MINOR_OF(out->version) || version >> 32)
		return -EINVAL;

	/* Every group's published size is a real struct's: not 0 (an empty or
	 * foreign block), not huge. */
	long k = 0;
	for (const char *p = fields; *p; k++) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > 5 && memcmp(p + n - 5, ".size", 5) == 0) {
			uint64_t size = field_u64(buf, k);
			if (size == 0 || size > (1u << 24))
				return -EINVAL;
		}
		if (!e)
			break;
		p = e + 1;
	}
	struct py_layout L = *out;
	L.free_threaded = field_u64(buf, 2) != 0;
	for (size_t i = 0; i < sizeof(debug_map) / sizeof(debug_map[0]); i++) {
		long idx = field_index(fields, debug_map[i].name);
		if (idx < 0)
			continue;
		uint64_t v = field_u64(buf, idx);
		uint64_t size = group_size(fields, buf, debug_map[i].name);
		bool is_size = strcmp(strchr(debug_map[i].name, '.'), ".size") == 0;
		if (size > (1u << 24) || (size && !is_size && v >= size) || v > INT32_MAX)
			return -EINVAL;
		*(int *)((char *)&L + debug_map[i].member) = (int)v;
	}
	/* The embedded GIL: locked/holder are offsets in the interpreter state;
	 * cspy reads them relative to the GIL struct that ceval.gil points at. */
	uint64_t gil, locked, holder, enabled = 0;
	if (field_get(fields, buf, "is.gil_runtime_state", &gil) ||
	    field_get(fields, buf, "is.gil_locked", &locked) ||
	    field_get(fields, buf, "is.gil_holder", &holder) ||
	    (L.free_threaded && field_get(fields, buf, "is.gil_enabled", &enabled)))
		return -EINVAL;
	if (locked < gil || holder < gil || locked - gil > 4096 || holder - gil > 4096)
		return -EINVAL;
	L.gil_locked = (int)(locked - gil);
	L.gil_holder = (int)(holder - gil);
	L.gil_enabled = L.free_threaded ? (int)enabled : -1;
	if (L.free_threaded) {
		long t = field_index(fields, "if.tlbc_index");
		long c = field_index(fields, "co.co_tlbc");
		if (t >= 0 && c >= 0) {
			L.if_tlbc_index = (int)field_u64(buf, t);
			L.co_tlbc = (int)field_u64(buf, c);
		}
	}
	/* The collector's flag: the gc state's offset in the interpreter
	 * state plus collecting's in it (a bad pair keeps the table's). */
	uint64_t is_gc, collecting, is_size = group_size(fields, buf, "is.gc");
	if (!field_get(fields, buf, "is.gc", &is_gc) &&
	    !field_get(fields, buf, "gc.collecting", &collecting) &&
	    collecting < group_size(fields, buf, "gc.collecting") && is_gc + collecting + 4 <= is_size)
		L.is_gc_collecting = (int)(is_gc + collecting);
	if (L.free_threaded != out->free_threaded)
		return -EINVAL;     /* the caller picked the wrong base table */
	L.version = (unsigned)version;
	*out = L;
	return 0;
}

int offsets_debug_diff(const struct py_layout *table, const struct py_layout *debug,
		       void (*fn)(const char *field, long table, long debug, void *arg), void *arg)
{
	static const struct debug_map extra[] = {
		{ "is.gil_locked", offsetof(struct py_layout, gil_locked) },
		{ "is.gil_holder", offsetof(struct py_layout, gil_holder) },
		{ "is.gil_enabled", offsetof(struct py_layout, gil_enabled) },
		{ "if.tlbc_index", offsetof(struct py_layout, if_tlbc_index) },
		{ "co.co_tlbc", offsetof(struct py_layout, co_tlbc) },
		{ "gc.collecting", offsetof(struct py_layout, is_gc_collecting) },
	};
	const size_t nmap = sizeof(debug_map) / sizeof(debug_map[0]);
	const size_t nextra = sizeof(extra) / sizeof(extra[0]);
	const char *fields = debug_fields(table->table_minor);
	int n = 0;
	for (size_t i = 0; i < nmap + nextra; i++) {
		const struct debug_map *m = i < nmap ? &debug_map[i] : &extra[i - nmap];
		if (fields && field_index(fields, m->name) < 0)
			continue;       /* not published by this minor version */
		int a = *(const int *)((const char *)table + m->member);
		int b = *(const int *)((const char *)debug + m->member);
		if (a != b) {
			n++;
			if (fn)
				fn(m->name, a, b, arg);
		}
	}
	return n;
}

void offsets_version_str(unsigned version, bool free_threaded, char *buf, size_t n)
{
	unsigned major = version >> 24, minor = (version >> 16) & 0xff, micro = (version >> 8) & 0xff;
	unsigned level = (version >> 4) & 0xf, serial = version & 0xf;
	const char *lv = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";
	if (*lv)
		snprintf(buf, n, "%u.%u.%u%s%u%s", major, minor, micro, lv, serial,
			 free_threaded ? "t" : "");
	else
		snprintf(buf, n, "%u.%u.%u%s", major, minor, micro, free_threaded ? "t" : "");
}
