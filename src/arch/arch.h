/* SPDX-License-Identifier: MIT
 *
 * The facts of one CPU architecture, behind one small interface: how a
 * stopped thread's registers are taken (ptrace) or read from a core's
 * NT_PRSTATUS (and the notes that follow it), what its program counter,
 * stack pointer, thread pointer and system call are, which system calls
 * wait, whether a thread was running, the DWARF numbering libdwfl unwinds
 * with, glibc's thread descriptor, the ELF machine, and how to step through
 * a perf trampoline (python -X perf) that has no CFI, and where a one-load
 * getter function finds its global. Exactly one of
 * src/arch/x86_64.c and src/arch/aarch64.c is compiled in: the Makefile
 * picks it from the compiler's target (`$(CC) -dumpmachine`), and each
 * refuses a compiler for another machine. Callers hold no #ifdef of their
 * own. The layer sits above util and below proc (docs/design.md).
 */
#ifndef CSPY_ARCH_H
#define CSPY_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARCH_DWARF_MAX 40       /* room for the DWARF registers of any architecture here */

/* One thread's registers, whatever the machine. */
struct arch_regs {
	uint64_t dwarf[ARCH_DWARF_MAX]; /* the general registers in the DWARF numbering
					 * (arch_info.dwarf_nregs of them), as libdwfl wants them */
	uint64_t pc;                    /* where it runs (or returns to, after a step) */
	uint64_t tp;                    /* the thread pointer (x86-64 fs_base, aarch64 tpidr_el0) */
	int64_t sysno;                  /* the system call it is in, -1 when none is recorded */
};

struct arch_info {
	const char *name;               /* "x86_64", "aarch64": as the toolchains say it */
	uint16_t elf_machine;           /* EM_X86_64, EM_AARCH64: the cores cspy reads */
	unsigned dwarf_nregs;           /* dwarf[0 .. dwarf_nregs) are set for unwinding */
	unsigned dwarf_sp;              /* the stack pointer's DWARF number */
	size_t prstatus_regs;           /* bytes of pr_reg in a core's NT_PRSTATUS */
	uint64_t glibc_tid_offset;      /* of the TID in glibc's struct pthread (pthread_t) */
	size_t getter_bytes;            /* of code arch_getter_global reads */
	bool cfi_plain_ra;              /* a CFI-unwound return address is the saved word as
					 * is (no pointer-authentication bits to strip), so
					 * native/ may apply cached CFI rules without libdwfl */
};

/* This build's machine. */
extern const struct arch_info arch_info;

/* Reads len bytes of the target at addr into buf: 0 or -errno. */
typedef int (*arch_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* The registers of tid, which must be in a ptrace stop of ours: 0, or
 * -errno of the first ptrace request that failed. */
int arch_regs_ptrace(pid_t tid, struct arch_regs *r);
/* The registers of a core's thread from the pr_reg block of its
 * NT_PRSTATUS (n bytes, at least arch_info.prstatus_regs). 0 or -EINVAL. */
int arch_regs_prstatus(struct arch_regs *r, const uint8_t *pr_reg, size_t n);
/* Another "CORE" note of the same thread (the notes after its
 * NT_PRSTATUS): taken into r when it is one of this machine's (aarch64:
 * NT_ARM_TLS, NT_ARM_SYSTEM_CALL), ignored otherwise. */
void arch_regs_note(struct arch_regs *r, uint32_t type, const uint8_t *desc, size_t n);

/* Was the thread with these registers (taken at a stop) running: in user
 * space, or in a system call that does not wait? false: blocked in a
 * waiting one, or about to restart one. read (may be NULL: no code is
 * read) fetches the instruction at the program counter. */
bool arch_regs_running(const struct arch_regs *r, arch_read_fn read, void *ctx);
/* Does system call nr wait (sleep, futex, poll ...)? This machine's numbers,
 * as /proc/PID/task/TID/syscall and the registers give them. */
bool arch_syscall_waits(long nr);
/* Is pthread_self (a glibc pthread_t, as old Pythons keep it) the thread
 * whose thread pointer is tp? */
bool arch_tp_is_thread(uint64_t tp, uint64_t pthread_self);

/* code: the first arch_info.getter_bytes bytes of a function at address fn
 * that only returns the value of a global variable (as 2.7's
 * PyInterpreterState_Head() returns interp_head): the global's address, or
 * 0 when the code is not the one load this machine's compilers emit. */
uint64_t arch_getter_global(const uint8_t *code, uint64_t fn);

/* r->pc is in no module (no CFI): is it inside a perf trampoline of
 * CPython 3.12+ (a fixed small frame around one indirect call)? leaf: r is
 * the thread's own registers, stopped at any instruction of it (its entry,
 * its frame's setup, the call, the teardown, the ret); else r->pc is a
 * return address (just after the call). Then r becomes the registers of
 * the trampoline's caller and the result is true; otherwise r is unchanged
 * and the result false. */
bool arch_trampoline_step(struct arch_regs *r, arch_read_fn read, void *ctx, bool leaf);

#endif
