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
 * object into an anonymous executable mapping) is an optional `endbr64`,
 * then `sub $8,%rsp` (3.12) or `push %rbp; mov %rsp,%rbp`, `call *%reg`,
 * then `add $8,%rsp; ret` or `pop %rbp; ret`. Between the frame's setup and
 * its teardown the return address is at rsp + 8 and the caller's rsp is
 * rsp + 16; the callee-saved registers are the caller's (rbp: saved at rsp
 * by the push form). A thread stopped inside the trampoline itself (leaf)
 * may also be before the setup or at the `ret`: its return address is at
 * rsp then, every other register the caller's. */
enum tramp_at { TRAMP_NONE, TRAMP_ENTRY, TRAMP_BODY_PUSH, TRAMP_BODY_SUB };

static bool is_call_reg(const uint8_t *c)
{
	return c[0] == 0xff && (c[1] & 0xf8) == 0xd0;   /* call *%reg */
}

/* Where in a trampoline pc is: code holds the 8 bytes before pc and the 12
 * from it (code[8] is pc's); a return address (!leaf) only just after the call. */
static enum tramp_at tramp_where(const uint8_t *code, bool leaf)
{
	static const uint8_t push_mov[] = { 0x55, 0x48, 0x89, 0xe5 }, sub8[] = { 0x48, 0x83, 0xec, 0x08 },
			     add8_ret[] = { 0x48, 0x83, 0xc4, 0x08, 0xc3 }, endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	const uint8_t *at = code + 8;
	/* just after the call: the frame is still set up */
	if (is_call_reg(at - 2) && at[0] == 0x5d && at[1] == 0xc3)
		return TRAMP_BODY_PUSH;
	if (is_call_reg(at - 2) && memcmp(at, add8_ret, sizeof(add8_ret)) == 0)
		return TRAMP_BODY_SUB;
	if (!leaf)
		return TRAMP_NONE;
	if (memcmp(at, endbr, 4) == 0)
		at += 4;        /* the same as at what follows it */
	if ((memcmp(at, push_mov, 4) == 0 || memcmp(at, sub8, 4) == 0) && is_call_reg(at + 4))
		return TRAMP_ENTRY;
	at = code + 8;
	if (at[-1] == 0x55 && memcmp(at, push_mov + 1, 3) == 0 && is_call_reg(at + 3))
		return TRAMP_BODY_PUSH;         /* at the mov */
	if (is_call_reg(at) && memcmp(at - 4, push_mov, 4) == 0 && at[2] == 0x5d && at[3] == 0xc3)
		return TRAMP_BODY_PUSH;         /* at the call */
	if (is_call_reg(at) && memcmp(at - 4, sub8, 4) == 0 && memcmp(at + 2, add8_ret, 5) == 0)
		return TRAMP_BODY_SUB;
	if (at[0] == 0xc3 && ((at[-1] == 0x5d && is_call_reg(at - 3)) ||
			      (memcmp(at - 4, add8_ret, 4) == 0 && is_call_reg(at - 6))))
		return TRAMP_ENTRY;             /* at the ret: the frame is gone */
	return TRAMP_NONE;
}

bool arch_trampoline_step(struct arch_regs *r, arch_read_fn read, void *ctx, bool leaf)
{
	uint8_t code[20];
	uint64_t pc = r->pc, sp = r->dwarf[DWARF_RSP];
	if (!pc || !sp || pc < 8 || read(ctx, pc, code + 8, 12) != 0)
		return false;
	if (read(ctx, pc - 8, code, 8) != 0)
		memset(code, 0, 8);     /* the start of a mapping: nothing before pc */
	enum tramp_at where = tramp_where(code, leaf);
	if (where == TRAMP_NONE)
		return false;
	uint64_t ret, rbp = r->dwarf[DWARF_RBP];
	uint64_t ra_at = where == TRAMP_ENTRY ? sp : sp + 8;
	if (read(ctx, ra_at, &ret, sizeof(ret)) != 0 || !ret)
		return false;
	if (where == TRAMP_BODY_PUSH && read(ctx, sp, &rbp, sizeof(rbp)) != 0)
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
