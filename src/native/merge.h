/* SPDX-License-Identifier: MIT
 *
 * Merging a thread's native stack with its Python stack (--native), as a
 * pure function: no I/O, no allocation, so it is unit-tested and fuzzed on
 * made-up stacks.
 *
 * The Python frames are cut into groups, innermost first: a group ends at a
 * frame marked `entry` (the first frame run by one call of the eval loop,
 * see struct py_frame). The native frames are walked innermost first; each
 * native frame of the eval loop (_PyEval_EvalFrameDefault, or 2.7's
 * PyEval_EvalFrameEx) is replaced by the next group. A wrapper of the loop
 * (PyEval_EvalFrameEx in 3.x, _PyEval_EvalFrame) right outside a loop frame
 * belongs to the same call and is dropped. Frames of the interpreter's own
 * ELF (libpython, or the executable when it is linked in) are call plumbing
 * and hidden, except at the innermost end (before any eval frame), where
 * they are the builtin being run (time_sleep, select_select, take_gil...):
 * there only the Py*, _Py* and call/vectorcall helpers and nameless frames
 * are hidden. Process
 * and thread start-up (_start, __libc_start_main, main, start_thread,
 * clone...) are hidden; every other native frame (extensions, libc, ...) is
 * kept. When the numbers of eval frames and of groups differ, the merge
 * fails (a torn or truncated stack): the caller counts an error.
 */
#ifndef CSPY_MERGE_H
#define CSPY_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct py_frame;

/* One native frame, symbolized. Strings are borrowed (from the unwinder's
 * symbol cache, which keeps them until it is freed). */
struct native_frame {
	uint64_t pc;
	const char *function;   /* demangled symbol name, NULL when unknown */
	const char *module;     /* basename of the mapped file, "" when none */
	const char *module_path;        /* path of the mapped file, "" when none */
	const char *file;       /* source file from DWARF (full path), NULL when none */
	const char *short_file; /* its basename, NULL when none */
	int line;               /* source line, -1 when none */
	bool has_offset;        /* no function name, but a module: offset is set */
	uint64_t offset;        /* ... the offset in the module's file of the function's start
				 * (from its CFI), else of pc: stable across runs */
	bool in_python;         /* in the ELF holding the interpreter */
	bool trampoline;        /* a perf trampoline (python -X perf): the entry of an eval-loop
				 * call, never shown */
	bool eval_call;         /* its stack frame holds an eval-loop call's shim frame
				 * (py_frame.cstack): the eval loop, named or not */
	uint8_t name_role;      /* merge_classify_name(function) + 1, kept with the symbol
				 * (0: not known yet, classified by name on each call) */
};

/* The name to show for f: its function, else "module+0xOFFSET" (f->offset
 * in the file; no function and no module: "0xPC"). Returns f->function or
 * buf (n bytes). */
const char *native_frame_name(const struct native_frame *f, char *buf, size_t n);

/* A merged frame is either a Python frame (py != NULL, borrowed from the
 * py_thread it came from) or a native one (a copy). */
struct merged_frame {
	const struct py_frame *py;
	struct native_frame native;
};

enum native_role {
	NATIVE_EVAL,            /* the eval loop: stands for a group of Python frames */
	NATIVE_EVAL_WRAPPER,    /* calls the eval loop: same call when right outside it */
	NATIVE_TRAMPOLINE,      /* a perf trampoline between the loop and its caller, or the
				 * interpreter's function calling it: hidden */
	NATIVE_PLUMBING,        /* interpreter call machinery */
	NATIVE_STARTUP,         /* process/thread start-up */
	NATIVE_OTHER,
};

/* The role of a native frame, from its function name (compiler suffixes
 * such as .cold or .isra.0 ignored), or NATIVE_EVAL when eval_call says so
 * (a distribution's stripped interpreter runs a nameless clone of the loop). */
enum native_role merge_classify(const struct native_frame *f);
/* The role a function name alone gives (NULL or "": NATIVE_OTHER): what an
 * unwinder keeps with its symbols as name_role. */
enum native_role merge_classify_name(const char *function);

/* Merge nat[0..nn) and py[0..np) (both innermost first) into out, innermost
 * first; out must have room for nn + np frames. Returns 0 and *nout, or
 * -EPROTO when the stacks do not match (then *nout is 0). */
int merge_stacks(const struct native_frame *nat, size_t nn, const struct py_frame *py, size_t np,
		 struct merged_frame *out, size_t *nout);

/* Why a thread has no merged stack: every failed thread is counted under
 * one of these (record -v prints the counts). */
enum native_fail {
	NATIVE_FAIL_NONE,
	NATIVE_FAIL_PYTHON,     /* its Python stack could not be read */
	NATIVE_FAIL_NO_UNWINDER,        /* the process has no unwinder */
	NATIVE_FAIL_GONE,       /* the thread or process ended during the pause */
	NATIVE_FAIL_REGS,       /* its registers could not be read (not paused) */
	NATIVE_FAIL_UNWIND,     /* no frame could be unwound */
	NATIVE_FAIL_FEWER_EVAL, /* fewer eval-loop frames than Python calls: the unwind stopped early */
	NATIVE_FAIL_MORE_EVAL,  /* more eval-loop frames than Python calls */
	NATIVE_FAIL_OTHER,
	NATIVE_FAIL_N
};

/* A short phrase for f ("the unwind stopped before the outermost eval loop"). */
const char *native_fail_text(enum native_fail f);

/* After merge_stacks() failed on the same stacks: which way they differ
 * (NATIVE_FAIL_FEWER_EVAL or NATIVE_FAIL_MORE_EVAL). */
enum native_fail merge_mismatch(const struct native_frame *nat, size_t nn, const struct py_frame *py,
				size_t np);

/* The merged stacks of one sample, one per thread of the py_sample they
 * were merged with (same order). */
struct merged_stack {
	struct merged_frame *frames;    /* innermost first */
	size_t n, cap;
	int err;                /* 0, or -errno: unwinding or merging this thread failed */
	enum native_fail fail;  /* why, when err */
};

struct merged_sample {
	struct merged_stack *threads;
	size_t n, cap;
};

/* Free every array of s and zero it. */
void merged_sample__release(struct merged_sample *s);

#endif
