/* SPDX-License-Identifier: MIT
 *
 * AArch64 (see arch.h). A stopped thread's registers come from three
 * PTRACE_GETREGSET requests: NT_PRSTATUS (struct user_pt_regs: x0-x30, sp,
 * pc, pstate), NT_ARM_TLS (tpidr_el0, the thread pointer) and
 * NT_ARM_SYSTEM_CALL (the system call it is in, -1 for none); a core holds
 * the same three as notes, in that order, per thread. DWARF numbers (the
 * AArch64 DWARF ABI, as elfutils' aarch64 backend sets them): x0-x30 are
 * 0-30 and sp 31; the program counter has no column and is handed to
 * libdwfl apart.
 *
 * A system call is `svc #0` with its number in x8 and its result in x0. At a
 * stop that interrupted one, the kernel has already forgotten the call
 * (NT_ARM_SYSTEM_CALL says -1) and, to restart it, moved pc back onto the
 * `svc` with x0 restored: a thread whose pc is at an `svc` with a waiting
 * number in x8 is blocked (or about to block) in it.
 *
 * glibc on AArch64 keeps struct pthread just below the thread pointer
 * (TLS_DTV_AT_TP: THREAD_SELF is the thread pointer - sizeof(struct
 * pthread)), so pthread_t is a little below tpidr_el0, by a size that
 * depends on the glibc version; its tid follows a 24-pointer padding
 * union and the list_t: offset 0xd0.
 *
 * Nothing here has run on an AArch64 machine yet: the facts come from the
 * kernel's and glibc's headers of Debian's cross toolchain, elfutils'
 * aarch64 backend and CPython's asm_trampoline.S.
 */
#if !defined(__aarch64__) || !defined(__AARCH64EL__) || defined(__ILP32__)
#error "src/arch/aarch64.c is for a little-endian LP64 AArch64 compiler (the Makefile picks the file from $(CC) -dumpmachine)"
#endif

#include "arch/arch.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "util/bytes.h"

#define DWARF_NREGS 32          /* x0-x30, sp */
#define DWARF_FP 29
#define DWARF_LR 30
#define DWARF_SP 31
#define NREGS_PT 34             /* struct user_pt_regs: x0-x30, sp, pc, pstate */
#define INSN_SVC0 0xd4000001u   /* svc #0 */
#define INSN_BLR_MASK 0xfffffc1fu
#define INSN_BLR 0xd63f0000u    /* blr xN */
#define INSN_LDP_FP_LR 0xa8c17bfdu      /* ldp x29, x30, [sp], #16 */
#define INSN_STP_FP_LR 0xa9bf7bfdu      /* stp x29, x30, [sp, #-16]! */
#define INSN_MOV_FP_SP 0x910003fdu      /* mov x29, sp */
#define INSN_RET 0xd65f03c0u    /* ret */
#define NR_RESTART_SYSCALL 128
#define PTHREAD_MAX 0x2000      /* sizeof(struct pthread) is below this in every glibc */

const struct arch_info arch_info = {
	.name = "aarch64",
	.elf_machine = EM_AARCH64,
	.dwarf_nregs = DWARF_NREGS,
	.dwarf_sp = DWARF_SP,
	.prstatus_regs = NREGS_PT * 8,
	.glibc_tid_offset = 0xd0,
	.getter_bytes = 12,
	.cfi_plain_ra = false,          /* PAC bits: left to libdwfl */
};

static void from_pt_regs(struct arch_regs *r, const uint64_t pt[NREGS_PT])
{
	memset(r, 0, sizeof(*r));
	memcpy(r->dwarf, pt, DWARF_NREGS * sizeof(uint64_t));     /* x0-x30, sp */
	r->pc = pt[32];
	r->sysno = -1;
}

int arch_regs_ptrace(pid_t tid, struct arch_regs *r)
{
	struct user_regs_struct u;
	_Static_assert(sizeof(u) == NREGS_PT * 8, "struct user_pt_regs: x0-x30, sp, pc, pstate");
	struct iovec iov = { .iov_base = &u, .iov_len = sizeof(u) };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -errno;
	uint64_t pt[NREGS_PT];
	memcpy(pt, &u, sizeof(pt));
	from_pt_regs(r, pt);
	/* Kernels without these regsets leave tp 0 and the call unknown. */
	uint64_t tls = 0;
	iov = (struct iovec){ .iov_base = &tls, .iov_len = sizeof(tls) };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_TLS, &iov) == 0)
		r->tp = tls;
	int32_t nr = -1;
	iov = (struct iovec){ .iov_base = &nr, .iov_len = sizeof(nr) };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &iov) == 0)
		r->sysno = nr;
	return 0;
}

int arch_regs_prstatus(struct arch_regs *r, const uint8_t *pr_reg, size_t n)
{
	if (n < NREGS_PT * 8)
		return -EINVAL;
	uint64_t pt[NREGS_PT];
	for (int i = 0; i < NREGS_PT; i++)
		pt[i] = bytes_u64(pr_reg + 8 * i);
	from_pt_regs(r, pt);
	return 0;
}

void arch_regs_note(struct arch_regs *r, uint32_t type, const uint8_t *desc, size_t n)
{
	if (type == NT_ARM_TLS && n >= 8)
		r->tp = bytes_u64(desc);
	else if (type == NT_ARM_SYSTEM_CALL && n >= 4)
		r->sysno = bytes_i32(desc);
}

bool arch_syscall_waits(long nr)
{
	/* The generic numbers (asm-generic/unistd.h): AArch64 has no poll,
	 * select, pause or epoll_wait, only their p- and _pwait forms. */
	static const int waits[] = {
		22,     /* epoll_pwait */
		63,     /* read */
		72,     /* pselect6 */
		73,     /* ppoll */
		95,     /* waitid */
		98,     /* futex */
		101,    /* nanosleep */
		115,    /* clock_nanosleep */
		NR_RESTART_SYSCALL,     /* a sleep resumed after a stop */
		133,    /* rt_sigsuspend */
		137,    /* rt_sigtimedwait */
		202,    /* accept */
		207,    /* recvfrom */
		212,    /* recvmsg */
		242,    /* accept4 */
		243,    /* recvmmsg */
		260,    /* wait4 */
		441,    /* epoll_pwait2 */
	};
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		if (waits[i] == nr)
			return true;
	return false;
}

static bool insn_at(arch_read_fn read, void *ctx, uint64_t addr, uint32_t want)
{
	uint32_t insn;
	return read && addr && read(ctx, addr, &insn, sizeof(insn)) == 0 && insn == want;
}

bool arch_regs_running(const struct arch_regs *r, arch_read_fn read, void *ctx)
{
	int64_t x0 = (int64_t)r->dwarf[0], x8 = (int64_t)r->dwarf[8];
	if (r->sysno >= 0) {
		/* Still in the call (a stop at its entry or exit): x0 is its
		 * result, a restart code or -EINTR when it was interrupted. */
		bool interrupted = x0 == -EINTR || x0 == -512 || x0 == -513 || x0 == -514 ||
				   x0 == -516 || x0 == -ENOSYS;
		return !(interrupted && arch_syscall_waits(r->sysno));
	}
	if (!arch_syscall_waits(x8))
		return true;
	/* At the `svc` of a waiting call: rewound to restart it, or about
	 * to enter it; just past one that returned -EINTR: interrupted. */
	if (insn_at(read, ctx, r->pc, INSN_SVC0))
		return false;
	return !(x0 == -EINTR && insn_at(read, ctx, r->pc - 4, INSN_SVC0));
}

bool arch_tp_is_thread(uint64_t tp, uint64_t pthread_self)
{
	return pthread_self && pthread_self < tp && tp - pthread_self < PTHREAD_MAX;
}

/* The trampoline (CPython's Python/asm_trampoline.S, AArch64 part):
 * `stp x29, x30, [sp, #-16]!; mov x29, sp; blr x3; ldp x29, x30, [sp],
 * #16; ret`. Its return address (r->pc) is the ldp, after the blr; the
 * caller's x29 and x30 (the return address into the caller) are at sp,
 * and the caller's sp is sp + 16. A thread stopped inside it (leaf) at the
 * mov or the blr is in the same frame; at the stp or the ret, the frame is
 * not set up (or gone): x30 is the return address, every other register
 * the caller's. (A build signing its return addresses, PAC, has other
 * instructions around these: not recognized.) */
bool arch_trampoline_step(struct arch_regs *r, arch_read_fn read, void *ctx, bool leaf)
{
	static const uint32_t tramp[] = { INSN_STP_FP_LR, INSN_MOV_FP_SP, INSN_BLR, INSN_LDP_FP_LR,
					  INSN_RET };
	uint32_t code[5];
	uint64_t pc = r->pc, sp = r->dwarf[DWARF_SP];
	if (!pc || !sp || pc < 16)
		return false;
	/* which instruction pc is at: the five read from there back */
	unsigned at = 5;
	for (unsigned k = leaf ? 0 : 3; k < (leaf ? 5u : 4u) && at == 5; k++) {
		if (read(ctx, pc - 4 * k, code, sizeof(code)) != 0)
			continue;
		bool same = true;
		for (unsigned i = 0; i < 5 && same; i++)
			same = i == 2 ? (code[i] & INSN_BLR_MASK) == INSN_BLR : code[i] == tramp[i];
		if (same)
			at = k;
	}
	if (at == 5)
		return false;
	if (at == 0 || at == 4) {       /* no frame: x30 returns to the caller */
		uint64_t lr = r->dwarf[DWARF_LR];
		if (!lr)
			return false;
		r->pc = lr;
		return true;
	}
	uint64_t saved[2];      /* x29, x30 */
	if (read(ctx, sp, saved, sizeof(saved)) != 0 || !saved[1])
		return false;
	r->dwarf[DWARF_FP] = saved[0];
	r->dwarf[DWARF_LR] = saved[1];
	r->dwarf[DWARF_SP] = sp + 16;
	r->pc = saved[1];
	return true;
}

/* `adrp xN, page; ldr x0, [xN, #off]; ret`: the page is fn's 4 KiB page
 * plus the adrp's signed 21-bit immediate (immhi:immlo) in pages, the
 * offset the ldr's unsigned 12-bit immediate in 8-byte units. */
uint64_t arch_getter_global(const uint8_t *code, uint64_t fn)
{
	uint32_t insn[3];
	memcpy(insn, code, sizeof(insn));
	if ((insn[0] & 0x9f000000u) != 0x90000000u ||   /* adrp */
	    (insn[1] & 0xffc00000u) != 0xf9400000u ||   /* ldr Xt, [Xn, #imm] */
	    insn[2] != INSN_RET)
		return 0;
	unsigned rd = insn[0] & 0x1f, rn = (insn[1] >> 5) & 0x1f, rt = insn[1] & 0x1f;
	if (rd != rn || rt != 0)
		return 0;
	uint64_t imm = (((insn[0] >> 5) & 0x7ffffu) << 2) | ((insn[0] >> 29) & 3u);
	int64_t pages = (int64_t)(imm << 43) >> 43;     /* sign-extend 21 bits */
	uint64_t page = (fn & ~(uint64_t)0xfff) + (uint64_t)(pages * 4096);
	return page + ((insn[1] >> 10) & 0xfffu) * 8;
}
