/* SPDX-License-Identifier: MIT
 *
 * CPython layouts as data. struct py_layout holds every offset and constant
 * cspy reads, for one interpreter; offsets_for_version() fills it from the
 * built-in table of the minor version (with patch-level corrections, e.g.
 * 3.7.0-3.7.3), and offsets_apply_debug() overwrites what a 3.13+ target
 * publishes in its own _Py_DebugOffsets, so patch releases that move a field
 * keep working. A minor newer than every table gets the newest one, marked
 * untested (offsets_for_newer), for pyproc to check live before use.
 * Frame walking reads fields only through this struct. An offset of -1 means "this version has no such field".
 */
#ifndef CSPY_OFFSETS_H
#define CSPY_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/linetable.h"

#define PY_VER(maj, min) (((unsigned)(maj) << 24) | ((unsigned)(min) << 16))
#define PY_MINOR_OF(hex) ((hex) & 0xffff0000u)

enum py_family {
	PY_FAMILY_FRAMEOBJ,     /* <= 3.10: PyFrameObject chain via f_back */
	PY_FAMILY_IFRAME,       /* >= 3.11: _PyInterpreterFrame chain via previous */
};

enum py_dict_kind {
	PY_DICT_27,             /* ma_table of {hash,key,value} */
	PY_DICT_36,             /* 3.6-3.10 compact dict, dk_size */
	PY_DICT_311,            /* 3.11+ dk_log2_size, dk_kind */
};

enum py_str_kind {
	PY_STR_PY2,             /* PyStringObject / PyUnicodeObject (UCS2 or UCS4) */
	PY_STR_PEP393,
};

enum py_gil_kind {
	PY_GIL_TSTATE_CURRENT,  /* 2.7/3.6: *(_PyThreadState_Current symbol) */
	PY_GIL_RUNTIME,         /* 3.7-3.11: _PyRuntime.ceval.gil {locked,last_holder} */
	PY_GIL_INTERP,          /* 3.12+: *(interp + gil_ptr) -> {locked,last_holder} */
};

struct py_layout {
	unsigned version;               /* PY_VERSION_HEX of the target */
	unsigned table_minor;           /* PY_VER of the built-in table (and debug shape) used */
	bool untested;                  /* a newer minor than cspy knows, read with table_minor's */
	enum py_family family;
	enum lt_kind lt_kind;
	enum py_dict_kind dict_kind;
	enum py_str_kind str_kind;
	enum py_gil_kind gil_kind;
	bool free_threaded;
	bool has_qualname;
	int py2_unicode_size;           /* 2 or 4 (2.7 only) */

	/* objects */
	int ob_type, ob_size;
	int tp_name, tp_basicsize, tp_flags, tp_dictoffset, ht_cached_keys;
	unsigned long tpflags_managed_dict, tpflags_inline_values;
	int managed_dict_off;           /* dict pointer at obj + this (negative), 3.11+ */
	int managed_values_off;         /* 3.11 values pointer at obj + this (negative) */
	bool managed_dict_tagged;       /* 3.12: that dict word, bit 0 set, is values - 1 */

	/* _PyRuntime (3.7+) */
	int rt_interp_head;
	int rt_tstate_current;          /* 3.7-3.11 gilstate.tstate_current */
	int rt_gil_locked, rt_gil_holder;       /* 3.7-3.11 ceval.gil */

	/* PyInterpreterState */
	int is_next, is_tstate_head, is_modules;
	int is_id;                      /* int64 id (main: 0), 3.7+; -1: count from the list's tail */
	int is_gil_ptr;                 /* 3.12+: ceval.gil (pointer) */
	int gil_locked, gil_holder;     /* inside the gil struct */
	int gil_enabled;                /* free-threaded: inside the gil struct; -1 */

	/* PyThreadState */
	int ts_next, ts_interp, ts_frame, ts_cframe, cframe_current, ts_current_frame;
					/* ts_cframe: 3.10-3.12, on the C stack (3.10: only its
					 * address is read, to join subinterpreter states) */
	int ts_thread_id, ts_native_thread_id, ts_datastack_chunk, ts_dict;
	int ts_state;                   /* 3.13+ tstate->state (ATTACHED = 1) */

	/* PyFrameObject (<= 3.10) */
	int f_back, f_code, f_lasti, f_locals, f_localsplus;
	int lasti_scale;                /* bytes per f_lasti unit: 1 (<=3.9) or 2 (3.10) */

	/* _PyInterpreterFrame (3.11+) */
	int if_code, if_previous, if_instr, if_owner, if_localsplus, if_tlbc_index, if_size;
	int if_is_entry;                /* 3.11 is_entry (bool): first frame of an eval-loop call */
	int owner_generator;            /* FRAME_OWNED_BY_GENERATOR */
	int owner_skip_min;             /* owners >= this are C-stack/interpreter shims; 256 = none */
	uint64_t stackref_mask;         /* AND mask for f_executable and localsplus (~3 on 3.14) */

	/* _PyStackChunk (3.11+) */
	int chunk_previous, chunk_size, chunk_top, chunk_data;

	/* PyCodeObject */
	int co_argcount, co_posonlyargcount, co_kwonlyargcount, co_nlocals, co_flags;
	int co_firstlineno, co_filename, co_name, co_qualname, co_linetable;
	int co_varnames, co_cellvars, co_freevars, co_cell2arg;
	int co_nlocalsplus, co_localsplusnames, co_localspluskinds;
	int co_firsttraceable, co_code_adaptive, co_tlbc;
	int co_code;                    /* <= 3.10: the bytecode (a bytes object); -1 */
	int code_read_size;             /* bytes to read to cover every code field above */
	int cell2arg_size;              /* bytes per co_cell2arg entry: 1 (3.6, 255 = none), 8 */
	unsigned co_fast_hidden;        /* localspluskinds bit of hidden locals (3.12+); 0 = none */

	/* strings */
	int bytes_size, bytes_sval;             /* PyBytesObject (3.x) / PyStringObject (2.7) */
	int uni_length, uni_state, uni_ascii_size, uni_compact_size, uni_data;
	int uni_kind_shift, uni_compact_bit, uni_ascii_bit;
	int py2_uni_length, py2_uni_str;

	/* numbers and containers */
	int int_ival;                   /* 2.7 PyIntObject */
	int long_size;                  /* <= 3.11: signed digit count (ob_size) */
	int long_tag;                   /* 3.12+: lv_tag */
	int long_digit;
	int float_fval;
	int tuple_item, list_item, list_size;
	int cell_ref;
	int md_dict;

	/* dicts */
	int ma_used, ma_keys, ma_values, ma_mask27, ma_table27;
	int dk_size, dk_log2_size, dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices;
	int dict_values_prefix;         /* 3.13+: values[] at +8 in PyDictValues */

	/* --qualname before 3.11 (python/qualname.c: the class defining a
	 * method; 3.11+ have co_qualname). 0: not read. */
	int tp_dict, tp_mro;            /* PyTypeObject */
	int func_code, func_qualname;   /* PyFunctionObject (2.7: no qualname) */
	int cm_callable;                /* classmethod / staticmethod: the function */
	int prop_get;                   /* property: fget, then fset and fdel */
	/* A thread's exceptions (--mode exception) and the collector's state
	 * (<GC> frames); -1 where the version has no such field. */
	int ts_curexc;                  /* the one being raised: tstate->curexc_type
					 * (<= 3.11), tstate->current_exception (3.12+) */
	int ts_exc_type;                /* 2.7/3.6: tstate->exc_type, the one handled */
	int ts_exc_info;                /* 3.7+: tstate->exc_info, the _PyErr_StackItem
					 * chain of the ones handled (sys.exc_info()) */
	int es_exc;                     /* in an item: exc_type (3.7-3.10), exc_value (3.11+) */
	int es_previous;                /* ... previous_item */
	int rt_gc_collecting;           /* 3.7-3.8: _PyRuntime.gc.collecting (int) */
	int is_gc_collecting;           /* 3.9+: interp->gc.collecting (int); 2.7/3.6: the
					 * static `collecting` of gcmodule.c, by its symbol */
};

/* Fill *out for the version PY_VERSION_HEX `version` (micro level matters for
 * 3.7). free_threaded selects the 't' layouts of 3.13/3.14. Returns 0, or
 * -ENOTSUP for a version with no table (the caller names it to the user). */
int offsets_for_version(unsigned version, bool free_threaded, struct py_layout *out);

/* A minor version newer than every table (3.x, x > the newest known):
 * fill *out with the newest table, marked untested, for a target whose own
 * _Py_DebugOffsets must then be applied (in the newest known shape) and
 * what is read validated live (pyproc). Returns 0, or -ENOTSUP when the
 * version is not newer, or the newest minor has no debug offsets or no
 * table for this build kind. */
int offsets_for_newer(unsigned version, bool free_threaded, struct py_layout *out);

/* PY_VER of the newest minor version with a built-in table. */
unsigned offsets_newest_minor(void);

/* Overwrite *out with the values of a 3.13+ _Py_DebugOffsets block (buf, len
 * bytes, starting with the "xdebugpy" cookie), read in the shape of
 * out->table_minor. Checks the cookie, that the block's minor version
 * matches out->version, that every group's published size is neither 0 nor
 * above 16 MiB, and that each offset lies inside its struct's size.
 * Returns 0 or -EINVAL (then *out is unchanged). */
int offsets_apply_debug(struct py_layout *out, const uint8_t *buf, size_t len);

/* Bytes of _Py_DebugOffsets to read for a minor version (0 if none); for
 * a layout, pass its table_minor (the shape its debug block is read with). */
size_t offsets_debug_size(unsigned version);

/* Compare the members that _Py_DebugOffsets feeds in two layouts (the
 * built-in table, and the same after offsets_apply_debug): calls fn for
 * each that differs, with the debug field's name ("ts.thread_id"; the GIL
 * fields as "is.gil_locked" etc., relative to the GIL struct). Returns the
 * number of differing fields. */
int offsets_debug_diff(const struct py_layout *table, const struct py_layout *debug,
		       void (*fn)(const char *field, long table, long debug, void *arg), void *arg);

/* "3.11.7", "3.13.0t", "3.14.0rc1" into buf. */
void offsets_version_str(unsigned version, bool free_threaded, char *buf, size_t n);

#endif
