/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the native/Python stack merge: the input is decoded
 * into a native stack (each byte picks a function name from a table of
 * eval-loop, wrapper, plumbing, start-up and ordinary names, a module, and
 * whether it is in the interpreter's ELF) and a Python stack (one entry bit
 * per frame). merge_stacks() must never write past nn + np frames, and on
 * success every Python frame appears exactly once, in order.
 *
 *   make fuzz && build-fuzz/fuzz_merge -max_total_time=60
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "native/merge.h"
#include "python/pyproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"_PyEval_EvalFrameDefault", "PyEval_EvalFrameEx", "PyEval_EvalFrame", "_PyEval_EvalFrame",
	"_PyEval_EvalFrameDefault.cold", "cfunction_vectorcall_O", "_PyObject_MakeTpCall",
	"time_sleep", "main", "_start", "start_thread", "clone3", "spin", "Py", "", NULL,
};
static const char *const modules[] = { "/lib/libpython3.12.so.1.0", "/ext.so", "/libc.so.6", "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t np = data[0] % 64, nn = size - 1;
	if (nn > 256)
		nn = 256;
	struct native_frame *nat = calloc(nn + 1, sizeof(*nat));
	struct py_frame *py = calloc(np + 1, sizeof(*py));
	struct merged_frame *out = calloc(nn + np + 1, sizeof(*out));
	for (size_t i = 0; i < nn; i++) {
		uint8_t b = data[1 + i];
		const char *m = modules[(b >> 4) & 3];
		nat[i] = (struct native_frame){ .pc = i, .function = names[b & 15], .module = m,
						.module_path = m, .line = -1, .in_python = b & 0x40 };
	}
	for (size_t i = 0; i < np; i++)
		py[i].entry = (data[(i % size)] >> (i % 8)) & 1;
	size_t n = (size_t)-1;
	int err = merge_stacks(nat, nn, py, np, out, &n);
	if (err == 0) {
		if (n > nn + np)
			abort();
		size_t next = 0;
		for (size_t i = 0; i < n; i++)
			if (out[i].py && out[i].py != &py[next++])
				abort();
		if (next != np)
			abort();
	} else if (err != -EPROTO || n != 0) {
		abort();
	}
	free(nat);
	free(py);
	free(out);
	return 0;
}
