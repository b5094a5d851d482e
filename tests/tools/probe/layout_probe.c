/* SPDX-License-Identifier: MIT
 *
 * Layout probe for CPython 3.13+: compiled against an interpreter's own
 * headers (internal ones included), it prints, one "member value" a line,
 * what cspy's struct py_layout holds for that build, named as its members
 * are. Used to write the built-in tables (src/python/offsets.c) and by the
 * drift check (tests/tools/probe/probe.sh). Not part of the cspy build.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_object.h"
#include "internal/pycore_runtime.h"
#if PY_VERSION_HEX >= 0x030e0000
#include "internal/pycore_stackref.h"
#endif
#include "internal/pycore_tstate.h"

#define P(name, v) printf("%s %ld\n", name, (long)(v))
#define O(name, type, field) P(name, offsetof(type, field))

/* Bit position of a one-bit field: set it in a zeroed struct and find the bit. */
static int bitpos(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 8; k++)
			if (b[i] & (1u << k))
				return (int)(i * 8 + k);
	return -1;
}

int main(void)
{
	P("version", PY_VERSION_HEX);
#ifdef Py_GIL_DISABLED
	P("free_threaded", 1);
#else
	P("free_threaded", 0);
#endif
	O("ob_type", PyObject, ob_type);
	O("ob_size", PyVarObject, ob_size);
	O("tp_name", PyTypeObject, tp_name);
	O("tp_basicsize", PyTypeObject, tp_basicsize);
	O("tp_flags", PyTypeObject, tp_flags);
	O("tp_dictoffset", PyTypeObject, tp_dictoffset);
	O("ht_cached_keys", PyHeapTypeObject, ht_cached_keys);
	P("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
	P("tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES);
	P("managed_dict_off", MANAGED_DICT_OFFSET);
	O("rt_interp_head", _PyRuntimeState, interpreters.head);
	O("is_next", PyInterpreterState, next);
	O("is_tstate_head", PyInterpreterState, threads.head);
	O("is_modules", PyInterpreterState, imports.modules);
	O("is_gil_ptr", PyInterpreterState, ceval.gil);
	O("gil_locked", struct _gil_runtime_state, locked);
	O("gil_holder", struct _gil_runtime_state, last_holder);
#ifdef Py_GIL_DISABLED
	O("gil_enabled", struct _gil_runtime_state, enabled);
#endif
	O("ts_next", PyThreadState, next);
	O("ts_interp", PyThreadState, interp);
	O("ts_current_frame", PyThreadState, current_frame);
	O("ts_thread_id", PyThreadState, thread_id);
	O("ts_native_thread_id", PyThreadState, native_thread_id);
	O("ts_datastack_chunk", PyThreadState, datastack_chunk);
	O("ts_dict", PyThreadState, dict);
	O("ts_state", PyThreadState, state);
#if PY_VERSION_HEX >= 0x030e0000
	O("ts_holds_gil", PyThreadState, holds_gil);
#endif
	O("if_code", _PyInterpreterFrame, f_executable);
	O("if_previous", _PyInterpreterFrame, previous);
	O("if_instr", _PyInterpreterFrame, instr_ptr);
	O("if_owner", _PyInterpreterFrame, owner);
	O("if_localsplus", _PyInterpreterFrame, localsplus);
#ifdef Py_GIL_DISABLED
	O("if_tlbc_index", _PyInterpreterFrame, tlbc_index);
#endif
	P("if_size", sizeof(_PyInterpreterFrame));
	P("owner_generator", FRAME_OWNED_BY_GENERATOR);
#if PY_VERSION_HEX >= 0x030e0000
	/* 3.14+: INTERPRETER (3) and up are not Python frames; tagged _PyStackRef. */
	P("owner_skip_min", FRAME_OWNED_BY_INTERPRETER);
	P("tag_bits", Py_TAG_BITS);
#else
	/* 3.13: CSTACK (3) is the first owner that is not a Python frame. */
	P("owner_skip_min", FRAME_OWNED_BY_CSTACK);
	P("tag_bits", 0);
#endif
	O("chunk_previous", _PyStackChunk, previous);
	O("chunk_size", _PyStackChunk, size);
	O("chunk_top", _PyStackChunk, top);
	O("chunk_data", _PyStackChunk, data);
	O("co_flags", PyCodeObject, co_flags);
	O("co_argcount", PyCodeObject, co_argcount);
	O("co_posonlyargcount", PyCodeObject, co_posonlyargcount);
	O("co_kwonlyargcount", PyCodeObject, co_kwonlyargcount);
	O("co_firstlineno", PyCodeObject, co_firstlineno);
	O("co_nlocalsplus", PyCodeObject, co_nlocalsplus);
	O("co_nlocals", PyCodeObject, co_nlocals);
	O("co_localsplusnames", PyCodeObject, co_localsplusnames);
	O("co_localspluskinds", PyCodeObject, co_localspluskinds);
	O("co_filename", PyCodeObject, co_filename);
	O("co_name", PyCodeObject, co_name);
	O("co_qualname", PyCodeObject, co_qualname);
	O("co_linetable", PyCodeObject, co_linetable);
	O("co_firsttraceable", PyCodeObject, _co_firsttraceable);
	O("co_code_adaptive", PyCodeObject, co_code_adaptive);
#ifdef Py_GIL_DISABLED
	O("co_tlbc", PyCodeObject, co_tlbc);
#endif
	P("code_size", sizeof(PyCodeObject));
	O("bytes_size", PyVarObject, ob_size);
	O("bytes_sval", PyBytesObject, ob_sval);
	O("uni_length", PyASCIIObject, length);
	O("uni_state", PyASCIIObject, state);
	P("uni_ascii_size", sizeof(PyASCIIObject));
	P("uni_compact_size", sizeof(PyCompactUnicodeObject));
	{
		PyASCIIObject a;
		memset(&a, 0, sizeof(a));
		a.state.kind = 1;
		P("uni_kind_shift", bitpos(&a.state, sizeof(a.state)));
		memset(&a, 0, sizeof(a));
		a.state.compact = 1;
		P("uni_compact_bit", bitpos(&a.state, sizeof(a.state)));
		memset(&a, 0, sizeof(a));
		a.state.ascii = 1;
		P("uni_ascii_bit", bitpos(&a.state, sizeof(a.state)));
	}
	O("long_tag", PyLongObject, long_value.lv_tag);
	O("long_digit", PyLongObject, long_value.ob_digit);
	O("float_fval", PyFloatObject, ob_fval);
	O("tuple_item", PyTupleObject, ob_item);
	O("list_item", PyListObject, ob_item);
	O("list_size", PyVarObject, ob_size);
	O("cell_ref", PyCellObject, ob_ref);
	O("md_dict", PyModuleObject, md_dict);
	O("ma_used", PyDictObject, ma_used);
	O("ma_keys", PyDictObject, ma_keys);
	O("ma_values", PyDictObject, ma_values);
	O("dk_log2_size", PyDictKeysObject, dk_log2_size);
	O("dk_log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes);
	O("dk_kind", PyDictKeysObject, dk_kind);
	O("dk_nentries", PyDictKeysObject, dk_nentries);
	O("dk_indices", PyDictKeysObject, dk_indices);
	O("dict_values_prefix", PyDictValues, values);
	P("debug_offsets_size", sizeof(_Py_DebugOffsets));
	return 0;
}
