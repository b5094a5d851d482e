/* SPDX-License-Identifier: MIT
 *
 * A tiny C extension for the --native end-to-end tests (tests/e2e/native.py),
 * built during the tests against each interpreter's headers (-O2 -g, and a
 * stripped copy). Python 2.7 and 3.x.
 *
 *   burn_then_call(cb)  burns CPU, then calls cb() through the static helper
 *                       invoke_callback (so a stripped build has a frame
 *                       without a name), returns cb's result;
 *   spin()              burns CPU forever (the test kills the process);
 *   spin_nounwind()     the same where unwinding stops (a merge failure);
 *   spin_for(seconds)   burns CPU for about that long (CPU time), returns.
 *
 * spin and burn_then_call are exported (in .dynsym even when stripped);
 * invoke_callback is static (only in .symtab, gone when stripped). The tests
 * find the lines of the innermost loop and of the call by the CSPY_* marker
 * comments, so keep each marked statement on one line.
 */
#include <Python.h>
#include <time.h>

static volatile unsigned long sink;

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void burn(unsigned long n)
{
	unsigned long x = sink;
	for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005ul + 1442695040888963407ul; /* CSPY_BURN_LINE */
	sink = x;
}

/* Not a tail call: the result is checked after the call returns. */
static __attribute__((noinline)) PyObject *invoke_callback(PyObject *cb)
{
	PyObject *r = PyObject_CallObject(cb, NULL); /* CSPY_INVOKE_LINE */
	if (!r)
		return NULL;
	sink++;
	return r;
}

__attribute__((noinline)) PyObject *burn_then_call(PyObject *self, PyObject *cb)
{
	(void)self;
	burn(20000000ul);
	PyObject *r = invoke_callback(cb); /* CSPY_CALL_LINE */
	if (!r)
		return NULL;
	sink++;
	return r;
}

__attribute__((noinline)) PyObject *spin(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	unsigned long x = sink;
	for (;;) { x = x * 6364136223846793005ul + 1442695040888963407ul; sink = x; } /* CSPY_SPIN_LINE */
	return NULL;
}

/* Spins where the CFI says the return address is undefined (as at the
 * outermost frame of a thread): an unwinder stops here, so the native stack
 * has no eval-loop frame while Python frames exist, a merge failure that cspy
 * must count as an error. */
__attribute__((noinline)) PyObject *spin_nounwind(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	__asm__ volatile(".cfi_undefined rip\n1: jmp 1b");
	return NULL;
}

__attribute__((noinline)) PyObject *spin_for(PyObject *self, PyObject *arg)
{
	(void)self;
	double seconds = PyFloat_AsDouble(arg);
	if (seconds == -1.0 && PyErr_Occurred())
		return NULL;
	double end = cpu_seconds() + seconds;
	while (cpu_seconds() < end)
		burn(100000ul);
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
	{ "burn_then_call", burn_then_call, METH_O, "burn CPU, then call the argument" },
	{ "spin", spin, METH_NOARGS, "burn CPU forever" },
	{ "spin_nounwind", spin_nounwind, METH_NOARGS, "burn CPU forever, not unwindable" },
	{ "spin_for", spin_for, METH_O, "burn CPU for that many seconds" },
	{ NULL, NULL, 0, NULL }
};

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "cspy_native_test", NULL, -1, methods, NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit_cspy_native_test(void)
{
	return PyModule_Create(&module);
}
#else
PyMODINIT_FUNC initcspy_native_test(void)
{
	Py_InitModule("cspy_native_test", methods);
}
#endif
