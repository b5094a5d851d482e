/* SPDX-License-Identifier: MIT
 *
 * x86-64 (see arch.h). The registers come from PTRACE_GETREGS, or from a
 * core's NT_PRSTATUS, both a struct user_regs_struct; they are put in the
 * DWARF numbering of the x86-64 psABI (rax rdx rcx rbx rsi rdi rbp rsp
 * r8-r15, then the return address column, rip: 17 registers). The thread
 * pointer is fs_base, which glibc makes the thread's pthread_t. orig_rax is
 * the system call a thread is in (-1: none); at a stop that interrupted a
 * waiting call, rax holds a restart code (or -EINTR), or the call's own
 * number again when the kernel has rewound rip to the `syscall`
 * instruction to restart it.
 */
#if !defined(__x86_64__)
#error "src/arch/x86_64.c is for an x86-64 compiler (the Makefile picks the file from $(CC) -dumpmachine)"
#endif

#include "arch/arch.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#define DWARF_NREGS 17
#define DWARF_RBP 6
#define DWARF_RSP 7
#define DWARF_RIP 16            /* the return address column */
#define NR_RESTART_SYSCALL 219

const struct arch_info arch_info = {
	.name = "x86_64",
	.elf_machine = EM_X86_64,
	.dwarf_nregs = DWARF_NREGS,
	.dwarf_sp = DWARF_RSP,
	.prstatus_regs = sizeof(struct user_regs_struct),
	/* struct pthread: tcbhead_t header (0x2c0), list_t list, pid_t tid */
	.glibc_tid_offset = 0x2d0,
	.getter_bytes = 7,
	.cfi_plain_ra = true,
};

static void from_user_regs(struct arch_regs *r, const struct user_regs_struct *u)
{
	const uint64_t dwarf[DWARF_NREGS] = {
		u->rax, u->rdx, u->rcx, u->rbx, u->rsi, u->rdi, u->rbp, u->rsp,
		u->r8, u->r9, u->r10, u->r11, u->r12, u->r13, u->r14, u->r15, u->rip,
	};
	memset(r, 0, sizeof(*r));
	memcpy(r->dwarf, dwarf, sizeof(dwarf));
	r->pc = u->rip;
	r->tp = u->fs_base;
	r->sysno = (int64_t)u->orig_rax;
}

int arch_regs_ptrace(pid_t tid, struct arch_regs *r)
{
	struct user_regs_struct u;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &u) < 0)
		return -errno;
	from_user_regs(r, &u);
	return 0;
}

int arch_regs_prstatus(struct arch_regs *r, const uint8_t *pr_reg, size_t n)
{
	struct user_regs_struct u;
	if (n < sizeof(u))
		return -EINVAL;
	memcpy(&u, pr_reg, sizeof(u));
	from_user_regs(r, &u);
	return 0;
}

void arch_regs_note(struct arch_regs *r, uint32_t type, const uint8_t *desc, size_t n)
{
	/* fs_base and orig_rax are in NT_PRSTATUS already. */
}

bool arch_syscall_waits(long nr)
{
	static const int waits[] = {
		0,      /* read */
		7,      /* poll */
		23,     /* select */
		34,     /* pause */
		35,     /* nanosleep */
		43,     /* accept */
		45,     /* recvfrom */
		47,     /* recvmsg */
		61,     /* wait4 */
		128,    /* rt_sigtimedwait */
		130,    /* rt_sigsuspend */
		202,    /* futex */
		NR_RESTART_SYSCALL,     /* a sleep resumed after a stop */
		230,    /* clock_nanosleep */
		232,    /* epoll_wait */
		247,    /* waitid */
		270,    /* pselect6 */
		271,    /* ppoll */
		281,    /* epoll_pwait */
		288,    /* accept4 */
		299,    /* recvmmsg */
		441,    /* epoll_pwait2 */
	};
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		if (waits[i] == nr)
			return true;
	return false;
}

bool arch_regs_running(const struct arch_regs *r, arch_read_fn read, void *ctx)
{
	int64_t orig = r->sysno, rax = (int64_t)r->dwarf[0];
	if (orig < 0) {
		/* User space, but maybe right at a `syscall` instruction that
		 * re-enters a wait a previous stop interrupted (preempted on
		 * its way back): rax holds the call's number. */
		uint8_t code[2];
		if (arch_syscall_waits(rax) && read && read(ctx, r->pc, code, sizeof(code)) == 0 &&
		    code[0] == 0x0f && code[1] == 0x05)
			return false;
		return true;
	}
	/* Interrupted while blocked, the call reports a restart (or EINTR);
	 * a call that had finished reports its result: it was running. A
	 * thread that had no CPU since an earlier stop let it go still has its
	 * restart prepared (rax back to the call's number, or to
	 * restart_syscall): it is as idle as before. -ENOSYS: stopped at the
	 * call's entry. */
	bool interrupted = rax == -EINTR || rax == -512 || rax == -513 || rax == -514 ||
			   rax == -516 || rax == orig || rax == NR_RESTART_SYSCALL || rax == -ENOSYS;
	return !(interrupted && arch_syscall_waits(orig));
}

bool arch_tp_is_thread(uint64_t tp, uint64_t pthread_self)
{
	return tp == pthread_self;      /* glibc: fs_base points at the thread's struct pthread */
}

/* The trampoline (CPython's Python/asm_trampoline.S, copied once per code
 * object into an anonymous executable mapping, 16-byte aligned: never
 * across a page) in its forms: `push %rbp; mov %rsp,%rbp` (3.13+) or `sub
 * $8,%rsp` (3.12), `call *%reg`, then `pop %rbp; ret` or `add $8,%rsp;
 * ret`, with or without an `endbr64` first. Each instruction of a form has
 * the frame a thread stopped there has: none yet or none left (before the
 * setup, at the `ret`: the return address at rsp), or the body's (the
 * return address at rsp + 8, the push form's caller rbp at rsp). A return
 * address is the instruction after the call. */
enum tramp_frame { TRAMP_NONE, TRAMP_NO_FRAME, TRAMP_PUSHED, TRAMP_SUBBED };

#define TRAMP_CALL 0xff         /* call *%reg: 0xff, then 0xd0 | reg */

static const struct tramp_form {
	uint8_t len, code[15];
	uint8_t ninsn, insn[6];         /* each instruction's offset ... */
	uint8_t frame[6];               /* ... and the frame of a stop there */
	uint8_t ret;                    /* the instruction after the call (a return address) */
} tramp_forms[] = {
	{ 8, { 0x55, 0x48, 0x89, 0xe5, TRAMP_CALL, 0xd0, 0x5d, 0xc3 },
	  5, { 0, 1, 4, 6, 7 }, { TRAMP_NO_FRAME, TRAMP_PUSHED, TRAMP_PUSHED, TRAMP_PUSHED, TRAMP_NO_FRAME }, 3 },
	{ 12, { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, TRAMP_CALL, 0xd0, 0x5d, 0xc3 },
	  6, { 0, 4, 5, 8, 10, 11 },
	  { TRAMP_NO_FRAME, TRAMP_NO_FRAME, TRAMP_PUSHED, TRAMP_PUSHED, TRAMP_PUSHED, TRAMP_NO_FRAME }, 4 },
	{ 11, { 0x48, 0x83, 0xec, 0x08, TRAMP_CALL, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3 },
	  4, { 0, 4, 6, 10 }, { TRAMP_NO_FRAME, TRAMP_SUBBED, TRAMP_SUBBED, TRAMP_NO_FRAME }, 2 },
	{ 15, { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08, TRAMP_CALL, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3 },
	  5, { 0, 4, 8, 10, 14 }, { TRAMP_NO_FRAME, TRAMP_NO_FRAME, TRAMP_SUBBED, TRAMP_SUBBED, TRAMP_NO_FRAME }, 3 },
};

#define TRAMP_BEFORE 14         /* bytes of a form before pc, at most */
#define TRAMP_AFTER 16          /* ... from pc on */

/* The frame of a stop at pc (leaf: at any instruction; else pc is a return
 * address). win holds the bytes from pc - TRAMP_BEFORE (0 where not read). */
static enum tramp_frame tramp_where(const uint8_t *win, bool leaf)
{
	const uint8_t *at = win + TRAMP_BEFORE;
	for (size_t f = 0; f < sizeof(tramp_forms) / sizeof(tramp_forms[0]); f++) {
		const struct tramp_form *t = &tramp_forms[f];
		for (unsigned k = 0; k < t->ninsn; k++) {
			if (!leaf && k != t->ret)
				continue;
			const uint8_t *start = at - t->insn[k];
			bool same = true;
			for (unsigned b = 0; b < t->len && same; b++)
				same = b && t->code[b - 1] == TRAMP_CALL ? (start[b] & 0xf8) == 0xd0
									 : start[b] == t->code[b];
			if (same)
				return (enum tramp_frame)t->frame[k];
		}
	}
	return TRAMP_NONE;
}

bool arch_trampoline_step(struct arch_regs *r, arch_read_fn read, void *ctx, bool leaf)
{
	uint8_t win[TRAMP_BEFORE + TRAMP_AFTER] = { 0 };
	uint64_t pc = r->pc, sp = r->dwarf[DWARF_RSP];
	if (!pc || !sp || pc < TRAMP_BEFORE)
		return false;
	/* within pc's page: a trampoline never crosses one */
	uint64_t page = pc & ~(uint64_t)0xfff, lo = pc - TRAMP_BEFORE, hi = pc + TRAMP_AFTER;
	if (lo < page)
		lo = page;
	if (hi > page + 0x1000)
		hi = page + 0x1000;
	if (read(ctx, lo, win + (lo - (pc - TRAMP_BEFORE)), hi - lo) != 0)
		return false;
	enum tramp_frame where = tramp_where(win, leaf);
	if (where == TRAMP_NONE)
		return false;
	uint64_t ret, rbp = r->dwarf[DWARF_RBP];
	uint64_t ra_at = where == TRAMP_NO_FRAME ? sp : sp + 8;
	if (read(ctx, ra_at, &ret, sizeof(ret)) != 0 || !ret)
		return false;
	if (where == TRAMP_PUSHED && read(ctx, sp, &rbp, sizeof(rbp)) != 0)
		return false;
	r->dwarf[DWARF_RBP] = rbp;
	r->dwarf[DWARF_RSP] = ra_at + 8;
	r->dwarf[DWARF_RIP] = ret;
	r->pc = ret;
	return true;
}

/* `mov rax, [rip + rel32]` (48 8b 05 rel32): the global is at the end of
 * the instruction plus rel32. */
uint64_t arch_getter_global(const uint8_t *code, uint64_t fn)
{
	if (code[0] != 0x48 || code[1] != 0x8b || code[2] != 0x05)
		return 0;
	int32_t rel;
	memcpy(&rel, code + 3, 4);
	return fn + 7 + (uint64_t)(int64_t)rel;
}
