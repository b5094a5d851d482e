/* SPDX-License-Identifier: MIT
 *
 * An ELF core file (Linux, of this build's machine: arch/arch.h; made by the
 * kernel or by gdb's gcore) as a
 * process that no longer runs: its memory, its mappings and its threads, for
 * `cspy dump --core`. core__open() maps the core read-only and parses its
 * program headers (PT_LOAD: the memory; PT_NOTE: NT_PRSTATUS per thread and
 * the machine's own register notes after it, NT_PRPSINFO, NT_AUXV, NT_FILE),
 * then builds
 *   - a struct maps (proc/maps.h) with one mapping per PT_LOAD (permissions
 *     from its flags) named after the NT_FILE entry that covers it, and one
 *     per NT_FILE range no PT_LOAD covers;
 *   - the bytes of each address: from the core where it holds them, else,
 *     for a file-backed range (a kernel core leaves out read-only file
 *     mappings by default, coredump_filter), from the file on disk at the
 *     NT_FILE offset, mapped read-only; anything else cannot be read
 *     (-EFAULT), as an unmapped address of a live process.
 * The files are looked up under a root directory ("" or "/": the host; a
 * directory: the root of the container or chroot the process ran in): each
 * mapping's path in the maps is that host path. Every file with an
 * executable mapping (or whose first page in the core is an ELF header)
 * must exist and match: its first page in the core, when there, equal to the
 * file's, and the file long enough for its mappings; else core__open fails
 * with a one-line reason naming the file. Everything the core says is
 * bounded and checked: a truncated or hostile core is refused or reads as
 * missing memory, never crashes (fuzz/fuzz_core.c).
 *
 * core__mem() gives the one memory-reader interface (proc/mem.h) over it.
 * No /proc and no ptrace are used.
 */
#ifndef CSPY_CORE_H
#define CSPY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"

struct core;
struct maps;
struct mem;

struct core_thread {
	pid_t tid;
	int signo;                      /* pr_cursig: the signal that stopped it, 0 if none */
	bool running;                   /* in user space or in a system call that does not
					 * wait, by its registers (as proc/ptrace.h reads a pause) */
	struct arch_regs regs;          /* NT_PRSTATUS and the notes after it */
};

enum {
	CORE_NO_FILES = 1,      /* do not open the mapped files (fuzzing, unit tests) */
};

/* Open the core file path; root: where the mapped files are ("" or NULL:
 * as named). Returns 0, -ENOEXEC (not an ELF core of this machine: why says what it
 * is), -ENOENT (a mapped file is missing: why names it), -ESTALE (a mapped
 * file does not match the core), -EINVAL (a corrupt or truncated core), or
 * another -errno (the core itself cannot be read). */
int core__open(const char *path, const char *root, unsigned flags, struct core **out,
	       char *why, size_t whylen);
/* The same over a buffer (copied): how tests and fuzzers parse cores. */
int core__open_buf(const void *buf, size_t len, const char *root, unsigned flags,
		   struct core **out, char *why, size_t whylen);
void core__close(struct core *c);

/* The mappings (paths: host paths under root). Borrowed. */
const struct maps *core__maps(const struct core *c);
/* A new memory reader over the core (the caller frees it with mem__free;
 * it must not outlive c). */
struct mem *core__mem(struct core *c);
/* Read [addr, addr+len) of the process's memory: 0 or -EFAULT. */
int core__read(const struct core *c, uint64_t addr, void *buf, size_t len);

/* The process: its PID (NT_PRPSINFO, else the first thread's), its
 * command line (argv from the stack, else NT_PRPSINFO's first 80 bytes),
 * its executable (the file mapped at AT_ENTRY, host path; "" if unknown). */
pid_t core__pid(const struct core *c);
const char *core__cmdline(const struct core *c);
const char *core__exe(const struct core *c);
/* The threads, in the core's order (the one that got the signal first). */
size_t core__threads(const struct core *c, const struct core_thread **out);
const struct core_thread *core__thread(const struct core *c, pid_t tid);

#endif
