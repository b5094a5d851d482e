/* SPDX-License-Identifier: MIT
 *
 * Unit tests of the machine's file (src/arch/x86_64.c or aarch64.c, through
 * arch/arch.h), on whichever machine the test was built for: the cross tier
 * (tests/cross.sh) runs the aarch64 build under qemu-user. Checked against
 * sources independent of the file: the waiting system calls against the
 * toolchain's <sys/syscall.h> numbers, the ELF machine against this test's
 * own executable, glibc's TID offset and thread pointer against this very
 * process (pthread_self, gettid, the compiler's thread pointer); the register
 * decoders, the running-or-idle rule, the perf-trampoline step and the
 * getter decoder on register blocks and code built here (the getters as gcc
 * compiles them), byte by byte, per machine (the only
 * machine-specific data of the tests). The one test that needs ptrace (a
 * stopped child's registers) says `skipped` where ptrace is not permitted or
 * not emulated (qemu-user).
 */
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "arch/arch.h"

#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#define HAVE_THREAD_POINTER 1
#endif
#endif

static bool is_x86(void)
{
	return strcmp(arch_info.name, "x86_64") == 0;
}

/* A little fake target memory: one block at a fixed address. */
struct fake {
	uint64_t base;
	uint8_t bytes[64];
	int reads;
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;
	f->reads++;
	if (addr < f->base || addr - f->base > sizeof(f->bytes) || len > sizeof(f->bytes) - (addr - f->base))
		return -EFAULT;
	memcpy(buf, f->bytes + (addr - f->base), len);
	return 0;
}

static void test_info(void)
{
	CHECK(is_x86() || strcmp(arch_info.name, "aarch64") == 0);
	CHECK(arch_info.dwarf_nregs > arch_info.dwarf_sp);
	CHECK(arch_info.dwarf_nregs <= ARCH_DWARF_MAX);
	CHECK_INT(arch_info.dwarf_sp, is_x86() ? 7 : 31);
	/* This test's own executable is of the machine the file names. */
	Elf64_Ehdr eh;
	FILE *f = fopen("/proc/self/exe", "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_INT(fread(&eh, sizeof(eh), 1, f), 1);
	fclose(f);
	CHECK_INT(eh.e_machine, arch_info.elf_machine);
	CHECK_INT(eh.e_machine, is_x86() ? EM_X86_64 : EM_AARCH64);
}

static void test_syscall_waits(void)
{
	/* The toolchain's numbers for this machine, not the file's table. */
	const long waits[] = {
		SYS_read, SYS_nanosleep, SYS_clock_nanosleep, SYS_futex, SYS_ppoll, SYS_pselect6,
		SYS_epoll_pwait, SYS_wait4, SYS_waitid, SYS_accept4, SYS_recvfrom, SYS_recvmsg,
		SYS_recvmmsg, SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_restart_syscall,
	};
	const long busy[] = { SYS_getpid, SYS_write, SYS_mmap, SYS_openat, SYS_close, -1 };
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		if (!arch_syscall_waits(waits[i])) {
			fprintf(stderr, "  system call %ld should wait\n", waits[i]);
			CHECK(arch_syscall_waits(waits[i]));
		}
	for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++)
		CHECK(!arch_syscall_waits(busy[i]));
}

/* The thread pointer and glibc's descriptor, in this process. */
static void test_thread_pointer(void)
{
	uint64_t self = (uint64_t)pthread_self();
	int32_t tid;
	memcpy(&tid, (const void *)(uintptr_t)(self + arch_info.glibc_tid_offset), sizeof(tid));
	CHECK_INT(tid, syscall(SYS_gettid));
#ifdef HAVE_THREAD_POINTER
	uint64_t tp = (uint64_t)(uintptr_t)__builtin_thread_pointer();
	CHECK(arch_tp_is_thread(tp, self));
	CHECK(!arch_tp_is_thread(tp + 0x100000, self));
	CHECK(!arch_tp_is_thread(tp, self + 0x100000));
	CHECK(!arch_tp_is_thread(tp, 0));
#else
	TEST_SKIP("this compiler has no __builtin_thread_pointer (the TID offset was checked)");
#endif
}

/* A pr_reg block whose word i is 0x1000 + i: each register shows where it
 * came from. */
static void test_prstatus(void)
{
	uint8_t block[8 * 64];
	for (int i = 0; i < 64; i++) {
		uint64_t v = 0x1000 + (uint64_t)i;
		memcpy(block + 8 * i, &v, 8);
	}
	struct arch_regs r;
	CHECK_INT(arch_regs_prstatus(&r, block, arch_info.prstatus_regs - 1), -EINVAL);
	CHECK_INT(arch_regs_prstatus(&r, block, arch_info.prstatus_regs), 0);
	if (is_x86()) {
		/* user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax
		 * rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base ... */
		CHECK_INT(arch_info.prstatus_regs, 27 * 8);
		const int want[17] = { 10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16 };
		for (int i = 0; i < 17; i++)
			CHECK_INT(r.dwarf[i], 0x1000 + want[i]);
		CHECK_INT(r.pc, 0x1000 + 16);
		CHECK_INT(r.tp, 0x1000 + 21);
		CHECK_INT(r.sysno, 0x1000 + 15);
	} else {
		/* user_pt_regs: x0-x30, sp, pc, pstate; tp and the system call
		 * in notes of their own. */
		CHECK_INT(arch_info.prstatus_regs, 34 * 8);
		for (int i = 0; i < 32; i++)
			CHECK_INT(r.dwarf[i], 0x1000 + i);
		CHECK_INT(r.pc, 0x1000 + 32);
		CHECK_INT(r.tp, 0);
		CHECK_INT(r.sysno, -1);
		uint64_t tls[2] = { 0x7f0012345678, 0 };
		int32_t nr = 98;
		arch_regs_note(&r, 0x401 /* NT_ARM_TLS */, (const uint8_t *)tls, sizeof(tls));
		arch_regs_note(&r, 0x404 /* NT_ARM_SYSTEM_CALL */, (const uint8_t *)&nr, sizeof(nr));
		arch_regs_note(&r, 0x402 /* NT_ARM_HW_BREAK: not ours */, (const uint8_t *)tls, 8);
		CHECK_INT(r.tp, 0x7f0012345678);
		CHECK_INT(r.sysno, 98);
	}
}

/* Registers of a thread stopped in user space right at the instruction
 * that enters system call nr (code: that instruction at f->base). */
static struct arch_regs at_syscall_insn(struct fake *f, long nr, long result)
{
	struct arch_regs r = { .pc = f->base, .sysno = -1 };
	memset(f->bytes, 0, sizeof(f->bytes));
	if (is_x86()) {
		f->bytes[0] = 0x0f;     /* syscall */
		f->bytes[1] = 0x05;
		r.dwarf[0] = (uint64_t)nr;      /* rax */
	} else {
		const uint32_t svc = 0xd4000001;
		memcpy(f->bytes, &svc, 4);
		r.dwarf[8] = (uint64_t)nr;      /* x8 */
		r.dwarf[0] = (uint64_t)result;  /* x0 */
	}
	return r;
}

static void test_running(void)
{
	struct fake f = { .base = 0x400000 };
	/* About to (re)enter a waiting call: idle; a busy one: running. */
	struct arch_regs r = at_syscall_insn(&f, SYS_futex, 0);
	CHECK(!arch_regs_running(&r, fake_read, &f));
	CHECK(arch_regs_running(&r, NULL, NULL));       /* the code cannot be read */
	r = at_syscall_insn(&f, SYS_getpid, 0);
	CHECK(arch_regs_running(&r, fake_read, &f));
	/* A waiting number in the register, but elsewhere in the code. */
	r = at_syscall_insn(&f, SYS_futex, 0);
	r.pc += 16;
	CHECK(arch_regs_running(&r, fake_read, &f));
	/* In a call: interrupted (a restart code) or finished. */
	struct arch_regs in = { .sysno = SYS_nanosleep };
	in.dwarf[0] = (uint64_t)-514;   /* -ERESTART_RESTARTBLOCK */
	CHECK(!arch_regs_running(&in, NULL, NULL));
	in.dwarf[0] = (uint64_t)-EINTR;
	CHECK(!arch_regs_running(&in, NULL, NULL));
	in.dwarf[0] = 0;
	CHECK(arch_regs_running(&in, NULL, NULL));
	in.sysno = SYS_getpid;
	in.dwarf[0] = (uint64_t)-514;
	CHECK(arch_regs_running(&in, NULL, NULL));
	if (!is_x86()) {
		/* Just past an `svc` that returned -EINTR: interrupted. */
		r = at_syscall_insn(&f, SYS_futex, -EINTR);
		r.pc += 4;
		CHECK(!arch_regs_running(&r, fake_read, &f));
		r.dwarf[0] = 0;
		CHECK(arch_regs_running(&r, fake_read, &f));
	}
}

static void put64(struct fake *f, uint64_t addr, uint64_t v)
{
	memcpy(f->bytes + (addr - f->base), &v, 8);
}

/* arch_read_fn over two fake blocks (code, stack): the one that holds addr. */
static int fake_read2(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake **both = ctx;
	for (int i = 0; i < 2; i++)
		if (addr >= both[i]->base && addr - both[i]->base < sizeof(both[i]->bytes))
			return fake_read(both[i], addr, buf, len);
	return -EFAULT;
}

/* One trampoline stopped at instruction offset `off` (a leaf when leaf):
 * the caller's registers when the step is expected (ra_at: where the return
 * address is, relative to sp; framed: the caller's frame pointer saved at
 * sp), else no step and r untouched. */
static void tramp_case(struct fake *code, struct fake *stack, uint64_t off, bool leaf, bool expect,
		       int ra_at, bool framed, int line)
{
	struct fake *both[2] = { code, stack };
	const unsigned fp = is_x86() ? 6 : 29, lr = 30, sp = arch_info.dwarf_sp;
	struct arch_regs r = { 0 };
	r.pc = code->base + off;
	r.dwarf[sp] = stack->base + 8;
	r.dwarf[fp] = 0x1111;           /* the caller's frame pointer while not saved */
	if (!is_x86())
		r.dwarf[lr] = ra_at < 0 ? 0x123456 : 0x2222;    /* no frame: x30 returns */
	put64(stack, stack->base + 8, 0xaaaa);          /* the saved frame pointer */
	put64(stack, stack->base + 16, is_x86() && ra_at == 0 ? 0x7777 : 0x123456);
	if (is_x86() && ra_at == 0)
		put64(stack, stack->base + 8, 0x123456);        /* the return address at sp */
	struct arch_regs t = r;
	bool got = arch_trampoline_step(&t, fake_read2, both, leaf);
	if (got != expect) {
		fprintf(stderr, "test_trampoline (line %d): offset %llu leaf %d: step %d, expected %d\n",
			line, (unsigned long long)off, leaf, got, expect);
		CHECK(got == expect);
		return;
	}
	if (!expect) {
		CHECK(memcmp(&t, &r, sizeof(t)) == 0);
		return;
	}
	CHECK_INT(t.pc, 0x123456);
	if (is_x86())
		CHECK_INT(t.dwarf[sp], stack->base + 8 + (uint64_t)ra_at + 8);
	else
		CHECK_INT(t.dwarf[sp], stack->base + 8 + (ra_at < 0 ? 0 : 16));
	CHECK_INT(t.dwarf[fp], framed ? 0xaaaa : 0x1111);
}

static void test_trampoline(void)
{
	struct fake code = { .base = 0x500000 }, stack = { .base = 0x7ff000 };
	struct fake *both[2] = { &code, &stack };
	if (is_x86()) {
		/* endbr64; push %rbp; mov %rsp,%rbp; call *%rcx | pop %rbp; ret,
		 * at offset 8 (after 8 bytes of other code) */
		const uint8_t tramp[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd1,
					  0x5d, 0xc3 };
		memset(code.bytes, 0xcc, sizeof(code.bytes));
		memcpy(code.bytes + 8, tramp, sizeof(tramp));
		/* offset: endbr 8, push 12, mov 13, call 16, pop 18, ret 19 */
		tramp_case(&code, &stack, 18, false, true, 8, true, __LINE__);  /* the return address */
		tramp_case(&code, &stack, 8, false, false, 0, false, __LINE__); /* not after a call */
		tramp_case(&code, &stack, 16, false, false, 0, false, __LINE__);
		tramp_case(&code, &stack, 8, true, true, 0, false, __LINE__);   /* leaf at endbr64 */
		tramp_case(&code, &stack, 12, true, true, 0, false, __LINE__);  /* at the push */
		tramp_case(&code, &stack, 13, true, true, 8, true, __LINE__);   /* at the mov */
		tramp_case(&code, &stack, 16, true, true, 8, true, __LINE__);   /* at the call */
		tramp_case(&code, &stack, 18, true, true, 8, true, __LINE__);   /* at the pop */
		tramp_case(&code, &stack, 19, true, true, 0, false, __LINE__);  /* at the ret */
		tramp_case(&code, &stack, 14, true, false, 0, false, __LINE__); /* inside an instruction */
		tramp_case(&code, &stack, 4, true, false, 0, false, __LINE__);  /* before it */
		/* 3.12's form: sub $8,%rsp; call *%rcx | add $8,%rsp; ret */
		const uint8_t sub[] = { 0x48, 0x83, 0xec, 0x08, 0xff, 0xd1, 0x48, 0x83, 0xc4, 0x08, 0xc3 };
		memset(code.bytes, 0xcc, sizeof(code.bytes));
		memcpy(code.bytes + 8, sub, sizeof(sub));
		tramp_case(&code, &stack, 14, false, true, 8, false, __LINE__); /* the return address */
		tramp_case(&code, &stack, 8, true, true, 0, false, __LINE__);   /* at the sub */
		tramp_case(&code, &stack, 12, true, true, 8, false, __LINE__);  /* at the call */
		tramp_case(&code, &stack, 14, true, true, 8, false, __LINE__);  /* at the add */
		tramp_case(&code, &stack, 18, true, true, 0, false, __LINE__);  /* at the ret */
		tramp_case(&code, &stack, 18, false, false, 0, false, __LINE__);
		/* Other code at the return address: not a trampoline. */
		code.bytes[8 + 7] ^= 0xff;
		tramp_case(&code, &stack, 14, false, false, 0, false, __LINE__);
	} else {
		/* stp x29, x30, [sp, #-16]!; mov x29, sp; blr x3 | ldp x29, x30, [sp], #16; ret,
		 * at offset 16 */
		const uint32_t tramp[] = { 0xa9bf7bfd, 0x910003fd, 0xd63f0060, 0xa8c17bfd, 0xd65f03c0 };
		memset(code.bytes, 0, sizeof(code.bytes));
		memcpy(code.bytes + 16, tramp, sizeof(tramp));
		tramp_case(&code, &stack, 28, false, true, 8, true, __LINE__);  /* the return address */
		tramp_case(&code, &stack, 16, false, false, 0, false, __LINE__);
		tramp_case(&code, &stack, 16, true, true, -1, false, __LINE__); /* at the stp: x30 */
		tramp_case(&code, &stack, 20, true, true, 8, true, __LINE__);   /* at the mov */
		tramp_case(&code, &stack, 24, true, true, 8, true, __LINE__);   /* at the blr */
		tramp_case(&code, &stack, 28, true, true, 8, true, __LINE__);   /* at the ldp */
		tramp_case(&code, &stack, 32, true, true, -1, false, __LINE__); /* at the ret: x30 */
		tramp_case(&code, &stack, 36, true, false, 0, false, __LINE__); /* after it */
		code.bytes[16 + 16] ^= 0xff;    /* other code at the return address */
		tramp_case(&code, &stack, 28, false, false, 0, false, __LINE__);
	}
	/* Nothing readable there. */
	struct arch_regs t = { .pc = 0x900000 };
	t.dwarf[arch_info.dwarf_sp] = stack.base + 8;
	CHECK(!arch_trampoline_step(&t, fake_read2, both, true));
	CHECK(!arch_trampoline_step(&t, fake_read2, both, false));
}

/* A getter of a global, as gcc -O2 -fPIC compiles `static void *g; void
 * *get(void) { return g; }` into a shared object (objdump -d of it: get at
 * 0x1100 (x86-64) or 0x590 (aarch64), g at 0x4010 or 0x20020). */
static void test_getter(void)
{
	uint8_t code[32] = { 0 };
	uint64_t fn, want;
	if (is_x86()) {
		const uint8_t c[] = { 0x48, 0x8b, 0x05, 0x09, 0x2f, 0x00, 0x00, 0xc3 };
		memcpy(code, c, sizeof(c));
		fn = 0x1100;
		want = 0x4010;
	} else {
		const uint32_t c[] = { 0x90000100, 0xf9401000, 0xd65f03c0 };
		memcpy(code, c, sizeof(c));
		fn = 0x590;
		want = 0x20020;
	}
	CHECK(arch_info.getter_bytes <= sizeof(code));
	CHECK_INT(arch_getter_global(code, fn), want);
	/* The same code 0x10000 bytes further: the global too. */
	CHECK_INT(arch_getter_global(code, fn + 0x10000), want + 0x10000);
	if (!is_x86()) {
		/* A negative page offset: adrp x0, #-1 page (immhi all ones,
		 * immlo 3), ldr x0, [x0, #8]. */
		const uint32_t c[] = { 0x90000000u | (3u << 29) | (0x7ffffu << 5), 0xf9400400, 0xd65f03c0 };
		memcpy(code, c, sizeof(c));
		CHECK_INT(arch_getter_global(code, 0x5123), 0x4008);
	}
	/* Other code: not recognised. */
	code[0] ^= 0x01;
	CHECK_INT(arch_getter_global(code, fn), 0);
}

/* arch_read_fn over PTRACE_PEEKTEXT (ctx: the TID). */
static int peek(void *ctx, uint64_t addr, void *buf, size_t len)
{
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, *(pid_t *)ctx, (void *)(uintptr_t)addr, NULL);
	if (errno)
		return -errno;
	memcpy(buf, &word, len < sizeof(word) ? len : sizeof(word));
	return 0;
}

/* A child blocked in pause(), seized and interrupted: its registers from
 * ptrace say "idle", its stack pointer is in its stack, and its thread
 * pointer is that of the thread that forked it (fork copies it). */
static void test_live(void)
{
	pid_t child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	CHECK(child > 0);
	if (child <= 0)
		return;
	usleep(50000);          /* into pause() */
	int status = 0;
	if (ptrace(PTRACE_SEIZE, child, NULL, NULL) != 0) {
		TEST_SKIP("ptrace is not permitted or not emulated here (%s)", strerror(errno));
		goto out;
	}
	CHECK_INT(ptrace(PTRACE_INTERRUPT, child, NULL, NULL), 0);
	CHECK_INT(waitpid(child, &status, __WALL), child);
	struct arch_regs r;
	CHECK_INT(arch_regs_ptrace(child, &r), 0);
	CHECK(r.pc != 0);
	CHECK(r.dwarf[arch_info.dwarf_sp] != 0);
	CHECK(arch_tp_is_thread(r.tp, (uint64_t)pthread_self()));
	CHECK(!arch_regs_running(&r, peek, &child));
out:
	kill(child, SIGKILL);
	waitpid(child, &status, __WALL);
}

int main(void)
{
	TEST_RUN(test_info);
	TEST_RUN(test_syscall_waits);
	TEST_RUN(test_thread_pointer);
	TEST_RUN(test_prstatus);
	TEST_RUN(test_running);
	TEST_RUN(test_trampoline);
	TEST_RUN(test_getter);
	TEST_RUN(test_live);
	return TEST_REPORT();
}
