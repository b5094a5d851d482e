/* SPDX-License-Identifier: MIT
 *
 * An extension module whose import takes SLOW_IMPORT_S seconds (its init
 * function sleeps): the record tier's ft_gil builds it against a
 * free-threaded Python, whose import of an extension enables the GIL for
 * the time of the init (transiently) and disables it after, as the module
 * says it does not need one (multi-phase init, Py_mod_gil).
 */
#include <Python.h>
#include <unistd.h>

#define SLOW_IMPORT_S 4

static PyModuleDef_Slot slots[] = {
#ifdef Py_GIL_DISABLED
	{ Py_mod_gil, Py_MOD_GIL_NOT_USED },
#endif
	{ 0, NULL },
};

static struct PyModuleDef def = {
	PyModuleDef_HEAD_INIT, "cspy_slow_import", NULL, 0, NULL, slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_cspy_slow_import(void)
{
	sleep(SLOW_IMPORT_S);
	return PyModuleDef_Init(&def);
}
