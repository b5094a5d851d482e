/* SPDX-License-Identifier: MIT
 *
 * Native stacks (--native): one unwinder per target process unwinds the
 * threads of the process while it is paused (proc/ptrace.h), symbolizes each
 * frame (function, module, source file and line) and merges the result with
 * the Python stacks of the same pause (native/merge.h).
 *
 * Two implementations sit behind this header: unwind_dwfl.c (elfutils'
 * libdwfl: CFI unwinding from the paused thread's registers, reading the
 * target through proc/mem.h; symbols from .symtab/.dynsym; file:line from
 * DWARF; modules, symbols, CFI and per-PC unwind rules cached per process
 * (a steady-state step needs no libdwfl) and refreshed only when
 * a frame falls outside every known module) and unwind_none.c (built with
 * NO_LIBDW=1: every call says it is not available). Only the unwinding runs
 * while the target is paused; symbols and the merge come after it resumes.
 *
 * Ownership: the strings of the native frames in a merged_sample belong to
 * the unwinder and live until unwinder__free(); the Python frame pointers
 * belong to the py_sample that was merged.
 */
#ifndef CSPY_UNWIND_H
#define CSPY_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct unwinder;
struct ptrace_pause;
struct py_sample;
struct mem;
struct merged_sample;

#define UNWIND_MAX_DEPTH 1024

/* Whether this build can unwind native stacks; when not, *why (if not NULL)
 * is the one-line message for the user. */
bool unwind_available(const char **why);

/* The library that unwinds in this build and its version, for --version:
 * "libdw 0.188" (elfutils' dwfl_version), or NULL in a NO_LIBDW=1 build.
 * A static string. */
const char *unwind_backend(void);

/* An unwinder for process pid, whose interpreter lives in the ELF
 * python_binary (the path as mapped; may be NULL). Returns 0, -ENOTSUP (no
 * libdw in this build), or -errno. */
int unwinder__new(pid_t pid, const char *python_binary, struct unwinder **out);
void unwinder__free(struct unwinder *u);

/* Inside the pause in which s was read: unwind every thread of s (program
 * counters only; the registers come from the pause). Returns 0, or -ESRCH
 * when the process is gone; a thread that cannot be unwound keeps its error
 * for unwinder__merge(). cycle (may be NULL): the reader of s's read
 * (pyproc__mem), whose memory cycle ended in this same pause: the stack
 * pages each thread's last unwind used are wanted in its next cycle
 * (mem__want) and taken from that cycle's copy (mem__borrow_last), so that
 * a sample reads its Python and its native stacks in one process_vm_readv. */
int unwinder__unwind(struct unwinder *u, const struct ptrace_pause *pause,
		     const struct py_sample *s, struct mem *cycle);
/* After a cycle of cycle's that was no pause's (a read before the pause):
 * want the last unwind's stack pages in the next cycle again (a cycle
 * carries only the ranges it used). */
void unwinder__want_stacks(struct unwinder *u, struct mem *cycle);
/* process_vm_readv calls made by the unwinder's own reader so far (stack
 * pages not in the Python read's copy, the words of perf trampolines). */
uint64_t unwinder__syscalls(const struct unwinder *u);
/* After the pause (the target runs again): symbolize the stacks of the last
 * unwinder__unwind() and merge each with its thread of the same s into
 * out->threads[i] (out is reset and reused). A thread that could not be
 * unwound or merged has its err set (-EPROTO: the stacks did not match) and
 * no frames. Returns 0. */
int unwinder__merge(struct unwinder *u, const struct py_sample *s, struct merged_sample *out);

struct core;
/* An unwinder over a core file (proc/core.h; borrowed, it must outlive the
 * unwinder): modules from the core's mappings, each thread's registers from
 * its NT_PRSTATUS, memory from the core. Returns as unwinder__new. */
int unwinder__new_core(struct core *core, const char *python_binary, struct unwinder **out);
/* Unwind every thread of s from the core's registers, then merge as
 * unwinder__merge does. Returns 0 or -errno. */
int unwinder__unwind_core(struct unwinder *u, const struct py_sample *s, struct merged_sample *out);

#endif
