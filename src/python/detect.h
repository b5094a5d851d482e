/* SPDX-License-Identifier: MIT
 *
 * Finding the interpreter inside a process: which mapped ELF (a libpython or
 * the executable itself, static builds included) holds the runtime, its load
 * bias, the Python version (Py_Version, _Py_DebugOffsets, the runtime version
 * string in memory, and only last the file name), and the addresses of the
 * symbols cspy needs. Binaries are opened through /proc/PID/map_files (which
 * works for replaced or deleted files) or /proc/PID/root (containers).
 */
#ifndef CSPY_DETECT_H
#define CSPY_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mem;
struct maps;

struct py_target {
	unsigned version;               /* PY_VERSION_HEX */
	bool version_guessed;           /* from the file name: micro unknown */
	bool free_threaded;
	char binary[512];               /* path of the ELF holding the runtime, as mapped */
	uint64_t runtime;               /* &_PyRuntime (3.7+), else 0 */
	uint64_t interp_head;           /* 2.7/3.6: &interp_head, 0 if unknown */
	uint64_t tstate_current;        /* 2.7/3.6: &_PyThreadState_Current */
	uint64_t none, true_, false_, code_type;
	int py2_unicode_size;
	uint64_t gc_collecting;         /* 2.7/3.6: &collecting (gcmodule.c's static, in
					 * .symtab only), 0 if unknown */
	uint64_t eval_start, eval_end;  /* the eval loop's code [start, end):
					 * _PyEval_EvalFrameDefault (3.6+; .dynsym, also in
					 * stripped builds), 2.7 PyEval_EvalFrameEx; 0: unknown */
};

/* Detect Python in pid. Returns 0, -ENOEXEC (not a Python process), -ENOTSUP
 * (a Python version cspy does not know: *out->version says which), or -errno.
 * On failure a one-line reason is written to why (may be empty). */
int detect_python(pid_t pid, struct mem *mem, const struct maps *maps, struct py_target *out,
		  char *why, size_t whylen);

/* Parse "X.Y.Z" (as in "3.7.16 (main, ...") from a memory buffer: the first
 * match of DIGIT '.' DIGITS '.' DIGITS followed by optional non-space
 * characters and " (". Returns PY_VERSION_HEX (release level final) or 0. */
unsigned detect_version_in_text(const char *buf, size_t len, unsigned want_major_minor);

#endif
