/* SPDX-License-Identifier: MIT
 *
 * Layout probe: compiled against one CPython's own headers (2.7, 3.6-3.15,
 * GIL, free-threaded and debug builds; internal headers included), it
 * prints, one line each, what cspy's struct py_layout holds for that build:
 *
 *   <py_layout member> <value> <what it is in CPython>
 *
 * e.g. "ts_frame 16 PyThreadState.frame" or "uni_ascii_size 48
 * sizeof(PyASCIIObject)". The sections below, each under the version range
 * in which CPython has that struct member, are the record of where every
 * number of the built-in tables (src/python/offsets.c) comes from; the
 * headers that declare each struct are listed in docs/offsets.md. A member
 * a version's headers do not declare (a struct private to a .c file, an
 * offset that is a convention of the code) is not printed: the tables take
 * it from reading CPython's source, as docs/offsets.md says.
 *
 * Run through probe.sh (finds pyconfig.h); check_tables.py compares the
 * output with the tables for every interpreter with headers installed.
 * Not part of the cspy build.
 */
#define Py_BUILD_CORE 1
#define NDEBUG 1        /* the inline helpers below assert on a real object */
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define AT_LEAST(maj, min) (PY_VERSION_HEX >= (((maj) << 24) | ((min) << 16)))

#if !AT_LEAST(3, 11)
#include <code.h>               /* 3.11+: in Python.h */
#include <frameobject.h>
#include <longintrepr.h>
#endif
#if AT_LEAST(3, 7) && !AT_LEAST(3, 8)
#include "internal/pystate.h"           /* _PyRuntimeState, struct _is */
#elif AT_LEAST(3, 8) && !AT_LEAST(3, 9)
#include "internal/pycore_pystate.h"
#elif AT_LEAST(3, 9)
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#endif
#if AT_LEAST(3, 10)
#include "internal/pycore_moduleobject.h"
#endif
#if AT_LEAST(3, 11)
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_object.h"
#endif
#if AT_LEAST(3, 13)
#include "internal/pycore_tstate.h"
#endif
#if AT_LEAST(3, 14)
#include "internal/pycore_stackref.h"
#endif

/* value, with how it was found */
#define P(name, v, what) printf("%s %ld %s\n", name, (long)(v), what)
/* offsetof(type, field), named "type.field" */
#define O(name, type, field) P(name, offsetof(type, field), #type "." #field)
/* sizeof(type) */
#define S(name, type) P(name, sizeof(type), "sizeof(" #type ")")
/* a constant of the headers, named as they spell it */
#define K(name, c) P(name, c, #c)

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

static void objects(void)
{
	O("ob_type", PyObject, ob_type);
	O("ob_size", PyVarObject, ob_size);
	O("tp_name", PyTypeObject, tp_name);
	O("tp_basicsize", PyTypeObject, tp_basicsize);
	O("tp_flags", PyTypeObject, tp_flags);
	O("tp_dictoffset", PyTypeObject, tp_dictoffset);
	O("float_fval", PyFloatObject, ob_fval);
	O("tuple_item", PyTupleObject, ob_item);
	O("list_item", PyListObject, ob_item);
	O("list_size", PyVarObject, ob_size);
	O("cell_ref", PyCellObject, ob_ref);
#if AT_LEAST(3, 10)
	O("md_dict", PyModuleObject, md_dict);
#endif
#if AT_LEAST(3, 0)
	O("bytes_size", PyVarObject, ob_size);
	O("bytes_sval", PyBytesObject, ob_sval);
#else
	O("bytes_size", PyVarObject, ob_size);
	O("bytes_sval", PyStringObject, ob_sval);
#endif
#if AT_LEAST(3, 11)
	O("ht_cached_keys", PyHeapTypeObject, ht_cached_keys);
	K("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
	{
		/* where the inline helpers of pycore_object.h find the dict */
		PyObject *words[8] = { 0 };
		PyObject *o = (PyObject *)&words[6];
#if AT_LEAST(3, 13)
		K("managed_dict_off", MANAGED_DICT_OFFSET);
#elif AT_LEAST(3, 12)
		P("managed_dict_off", (char *)_PyObject_DictOrValuesPointer(o) - (char *)o,
		  "_PyObject_DictOrValuesPointer(obj) - obj");
#else
		K("managed_dict_off", MANAGED_DICT_OFFSET);
		P("managed_values_off", (char *)_PyObject_ValuesPointer(o) - (char *)o,
		  "_PyObject_ValuesPointer(obj) - obj");
#endif
		(void)o;
	}
#endif
#if AT_LEAST(3, 13)
	K("tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES);
#endif
}

static void runtime_and_interpreter(void)
{
#if AT_LEAST(3, 7)
	O("rt_interp_head", _PyRuntimeState, interpreters.head);
#endif
#if AT_LEAST(3, 7) && !AT_LEAST(3, 12)
	O("rt_tstate_current", _PyRuntimeState, gilstate.tstate_current);
	O("rt_gil_locked", _PyRuntimeState, ceval.gil.locked);
	O("rt_gil_holder", _PyRuntimeState, ceval.gil.last_holder);
#endif
	O("is_next", PyInterpreterState, next);
#if AT_LEAST(3, 11)
	O("is_tstate_head", PyInterpreterState, threads.head);
#else
	O("is_tstate_head", PyInterpreterState, tstate_head);
#endif
#if AT_LEAST(3, 12)
	O("is_modules", PyInterpreterState, imports.modules);
#else
	O("is_modules", PyInterpreterState, modules);
#endif
#if AT_LEAST(3, 7)
	O("is_id", PyInterpreterState, id);
#endif
#if AT_LEAST(3, 12)
	O("is_gil_ptr", PyInterpreterState, ceval.gil);
	O("gil_locked", struct _gil_runtime_state, locked);
	O("gil_holder", struct _gil_runtime_state, last_holder);
#endif
#ifdef Py_GIL_DISABLED
	O("gil_enabled", struct _gil_runtime_state, enabled);
#endif
}

static void thread_state(void)
{
	O("ts_next", PyThreadState, next);
	O("ts_interp", PyThreadState, interp);
	O("ts_thread_id", PyThreadState, thread_id);
	O("ts_dict", PyThreadState, dict);
#if !AT_LEAST(3, 11)
	O("ts_frame", PyThreadState, frame);
#endif
#if AT_LEAST(3, 10) && !AT_LEAST(3, 13)
	O("ts_cframe", PyThreadState, cframe);
#endif
#if AT_LEAST(3, 11) && !AT_LEAST(3, 13)
	O("cframe_current", _PyCFrame, current_frame);
#endif
#if AT_LEAST(3, 11)
	O("ts_native_thread_id", PyThreadState, native_thread_id);
	O("ts_datastack_chunk", PyThreadState, datastack_chunk);
	O("chunk_previous", _PyStackChunk, previous);
	O("chunk_size", _PyStackChunk, size);
	O("chunk_top", _PyStackChunk, top);
	O("chunk_data", _PyStackChunk, data);
#endif
#if AT_LEAST(3, 13)
	O("ts_current_frame", PyThreadState, current_frame);
	O("ts_state", PyThreadState, state);
#endif
#if AT_LEAST(3, 14)
	O("ts_holds_gil", PyThreadState, holds_gil);
#endif
}

/* The exception state of a thread (--mode exception): the one being raised
 * and the one being handled (sys.exc_info()). */
static void exception_state(void)
{
#if !AT_LEAST(3, 12)
	O("ts_curexc", PyThreadState, curexc_type);
#else
	O("ts_curexc", PyThreadState, current_exception);
#endif
#if !AT_LEAST(3, 7)
	O("ts_exc_type", PyThreadState, exc_type);
#else
	O("ts_exc_info", PyThreadState, exc_info);
	O("es_previous", _PyErr_StackItem, previous_item);
#endif
#if AT_LEAST(3, 7) && !AT_LEAST(3, 11)
	O("es_exc", _PyErr_StackItem, exc_type);
#elif AT_LEAST(3, 11)
	O("es_exc", _PyErr_StackItem, exc_value);
#endif
}

/* Whether a garbage collection runs (<GC> frames); 2.7/3.6 keep it in a
 * static of Modules/gcmodule.c, found by its symbol instead. */
static void gc_state(void)
{
#if AT_LEAST(3, 7) && !AT_LEAST(3, 9)
	O("rt_gc_collecting", _PyRuntimeState, gc.collecting);
#elif AT_LEAST(3, 9)
	O("is_gc_collecting", PyInterpreterState, gc.collecting);
#endif
}

static void frames(void)
{
#if !AT_LEAST(3, 11)
	O("f_back", PyFrameObject, f_back);
	O("f_code", PyFrameObject, f_code);
	O("f_lasti", PyFrameObject, f_lasti);
	O("f_locals", PyFrameObject, f_locals);
	O("f_localsplus", PyFrameObject, f_localsplus);
#else
#if AT_LEAST(3, 13)
	O("if_code", _PyInterpreterFrame, f_executable);
	O("if_instr", _PyInterpreterFrame, instr_ptr);
#else
	O("if_code", _PyInterpreterFrame, f_code);
	O("if_instr", _PyInterpreterFrame, prev_instr);
#endif
	O("if_previous", _PyInterpreterFrame, previous);
	O("if_owner", _PyInterpreterFrame, owner);
	O("if_localsplus", _PyInterpreterFrame, localsplus);
	S("if_size", _PyInterpreterFrame);
	K("owner_generator", FRAME_OWNED_BY_GENERATOR);
#if !AT_LEAST(3, 12)
	O("if_is_entry", _PyInterpreterFrame, is_entry);
#elif !AT_LEAST(3, 14)
	/* the first owner that is not a Python frame */
	K("owner_skip_min", FRAME_OWNED_BY_CSTACK);
#else
	K("owner_skip_min", FRAME_OWNED_BY_INTERPRETER);
#endif
#if AT_LEAST(3, 14)
	K("tag_bits", Py_TAG_BITS);     /* tagged _PyStackRef */
#if defined(Py_GIL_DISABLED)
	O("if_tlbc_index", _PyInterpreterFrame, tlbc_index);
#endif
#endif
#endif
}

static void code(void)
{
	O("co_argcount", PyCodeObject, co_argcount);
	O("co_nlocals", PyCodeObject, co_nlocals);
	O("co_flags", PyCodeObject, co_flags);
	O("co_firstlineno", PyCodeObject, co_firstlineno);
	O("co_filename", PyCodeObject, co_filename);
	O("co_name", PyCodeObject, co_name);
	S("code_size", PyCodeObject);
#if AT_LEAST(3, 0)
	O("co_kwonlyargcount", PyCodeObject, co_kwonlyargcount);
#endif
#if AT_LEAST(3, 8)
	O("co_posonlyargcount", PyCodeObject, co_posonlyargcount);
#endif
#if !AT_LEAST(3, 11)
	O("co_varnames", PyCodeObject, co_varnames);
	O("co_freevars", PyCodeObject, co_freevars);
	O("co_cellvars", PyCodeObject, co_cellvars);
#endif
#if AT_LEAST(3, 0) && !AT_LEAST(3, 11)
	O("co_cell2arg", PyCodeObject, co_cell2arg);
#endif
#if AT_LEAST(3, 10)
	O("co_linetable", PyCodeObject, co_linetable);
#else
	O("co_linetable", PyCodeObject, co_lnotab);
#endif
#if AT_LEAST(3, 11)
	O("co_nlocalsplus", PyCodeObject, co_nlocalsplus);
	O("co_localsplusnames", PyCodeObject, co_localsplusnames);
	O("co_localspluskinds", PyCodeObject, co_localspluskinds);
	O("co_qualname", PyCodeObject, co_qualname);
	O("co_firsttraceable", PyCodeObject, _co_firsttraceable);
	O("co_code_adaptive", PyCodeObject, co_code_adaptive);
#endif
#if AT_LEAST(3, 14) && defined(Py_GIL_DISABLED)
	O("co_tlbc", PyCodeObject, co_tlbc);
#endif
}

static void strings_and_numbers(void)
{
#if AT_LEAST(3, 0)
	O("uni_length", PyASCIIObject, length);
	O("uni_state", PyASCIIObject, state);
	S("uni_ascii_size", PyASCIIObject);
	S("uni_compact_size", PyCompactUnicodeObject);
	S("uni_data", PyCompactUnicodeObject);
	{
		PyASCIIObject a;
		memset(&a, 0, sizeof(a));
		a.state.kind = 1;
		P("uni_kind_shift", bitpos(&a.state, sizeof(a.state)), "PyASCIIObject.state.kind (bit)");
		memset(&a, 0, sizeof(a));
		a.state.compact = 1;
		P("uni_compact_bit", bitpos(&a.state, sizeof(a.state)), "PyASCIIObject.state.compact (bit)");
		memset(&a, 0, sizeof(a));
		a.state.ascii = 1;
		P("uni_ascii_bit", bitpos(&a.state, sizeof(a.state)), "PyASCIIObject.state.ascii (bit)");
	}
#else
	O("py2_uni_length", PyUnicodeObject, length);
	O("py2_uni_str", PyUnicodeObject, str);
	K("py2_unicode_size", Py_UNICODE_SIZE);
	O("int_ival", PyIntObject, ob_ival);
#endif
#if AT_LEAST(3, 12)
	O("long_tag", PyLongObject, long_value.lv_tag);
	O("long_digit", PyLongObject, long_value.ob_digit);
#else
	O("long_size", PyVarObject, ob_size);
	O("long_digit", PyLongObject, ob_digit);
#endif
}

static void dicts(void)
{
	O("ma_used", PyDictObject, ma_used);
#if !AT_LEAST(3, 0)
	O("ma_mask27", PyDictObject, ma_mask);
	O("ma_table27", PyDictObject, ma_table);
#else
	O("ma_keys", PyDictObject, ma_keys);
	O("ma_values", PyDictObject, ma_values);
#endif
#if AT_LEAST(3, 11)
	O("dk_log2_size", PyDictKeysObject, dk_log2_size);
	O("dk_log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes);
	O("dk_kind", PyDictKeysObject, dk_kind);
	O("dk_nentries", PyDictKeysObject, dk_nentries);
	O("dk_indices", PyDictKeysObject, dk_indices);
#endif
#if AT_LEAST(3, 13)
	O("dict_values_prefix", PyDictValues, values);
#endif
}

int main(void)
{
	P("version", PY_VERSION_HEX, "PY_VERSION_HEX");
#ifdef Py_GIL_DISABLED
	P("free_threaded", 1, "Py_GIL_DISABLED");
#else
	P("free_threaded", 0, "Py_GIL_DISABLED");
#endif
	objects();
	runtime_and_interpreter();
	thread_state();
	exception_state();
	gc_state();
	frames();
	code();
	strings_and_numbers();
	dicts();
#if AT_LEAST(3, 13)
	S("debug_offsets_size", _Py_DebugOffsets);
#endif
	return 0;
}
