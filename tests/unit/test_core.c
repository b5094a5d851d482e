/* SPDX-License-Identifier: MIT
 *
 * Unit tests for proc/core: small core files of this build's machine
 * (arch/arch.h: x86-64, or aarch64 under qemu-user in the cross tier) built
 * here byte by byte (an ELF header, PT_NOTE with two NT_PRSTATUS, on
 * aarch64 each followed by its NT_ARM_TLS and NT_ARM_SYSTEM_CALL, NT_PRPSINFO, NT_AUXV and
 * NT_FILE, a stack PT_LOAD holding argc/argv/envp/auxv and their strings, a
 * file's ELF header page in the core and the rest of it only on disk), and
 * a fake root directory holding that file. Checked: the process (pid,
 * command line from the stack, executable, threads, registers, running),
 * the maps, reads from the core, from the file on disk and across both,
 * through proc/mem.h too; and every refusal: missing file, a file that does
 * not match, a truncated core, not ELF, not a core, no thread; and a
 * header, program header table or note that is wrong or cut off.
 * CSPY_CORE_SEEDS=DIR writes these cores into DIR: the seeds of
 * fuzz/fuzz_core.c (fuzz/corpus/fuzz_core/).
 */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "arch/arch.h"
#include "proc/core.h"
#include "proc/maps.h"
#include "proc/mem.h"

#define STACK 0x7ffd00000000ull
#define LIB 0x7f0000000000ull
#define ENTRY (LIB + 0x1100)

struct buf {
	uint8_t *p;
	size_t n;
};

static void put(struct buf *b, const void *d, size_t n)
{
	b->p = realloc(b->p, b->n + n);
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put64(struct buf *b, uint64_t v)
{
	put(b, &v, 8);
}

/* A note named name ("CORE", "LINUX"; its length with the NUL is 5 or 6:
 * padded to 8). */
static void note_named(struct buf *b, const char *name, uint32_t type, const void *desc, uint32_t n)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, n, type };
	char nm[8] = { 0 };
	memcpy(nm, name, strlen(name));
	put(b, h, sizeof(h));
	put(b, nm, 8);
	put(b, desc, n);
	static const uint8_t pad[4];
	put(b, pad, (4 - n % 4) % 4);
}

static void note(struct buf *b, uint32_t type, const void *desc, uint32_t n)
{
	note_named(b, "CORE", type, desc, n);
}

/* A thread in system call nr (-1: none) whose result register holds ret,
 * its pc at ENTRY and its thread pointer 0x1234000, as this machine's
 * kernel writes it: x86-64 all in NT_PRSTATUS (user_regs_struct); aarch64
 * user_pt_regs there, the thread pointer and the call in "LINUX" notes. */
static void prstatus(struct buf *b, int tid, int64_t nr, uint64_t ret)
{
	uint8_t d[400] = { 0 };
	memcpy(d + 32, &tid, 4);
	if (strcmp(arch_info.name, "x86_64") == 0) {
		uint64_t regs[27] = { 0 };
		regs[10] = ret;                 /* rax */
		regs[15] = (uint64_t)nr;        /* orig_rax */
		regs[16] = ENTRY;               /* rip */
		regs[21] = 0x1234000;           /* fs_base */
		memcpy(d + 112, regs, sizeof(regs));
		note(b, NT_PRSTATUS, d, 336);
		return;
	}
	uint64_t regs[34] = { 0 };
	regs[0] = ret;                          /* x0 */
	regs[8] = (uint64_t)nr;                 /* x8 */
	regs[32] = ENTRY;                       /* pc */
	memcpy(d + 112, regs, sizeof(regs));
	note(b, NT_PRSTATUS, d, 392);
	uint64_t tls[2] = { 0x1234000, 0 };
	int32_t sc = (int32_t)nr;
	note_named(b, "LINUX", 0x401 /* NT_ARM_TLS */, tls, sizeof(tls));
	note_named(b, "LINUX", 0x404 /* NT_ARM_SYSTEM_CALL */, &sc, sizeof(sc));
}

/* The stack page: argc, argv, NULL, envp, NULL, auxv, then the strings. */
static void stack_page(uint8_t *pg, struct buf *auxv)
{
	memset(pg, 0, 4096);
	const char *strs[] = { "python3", "app.py", "--flag value", "HOME=/root", "/usr/bin/python3" };
	uint64_t at[5], off = 0x800;
	for (int i = 0; i < 5; i++) {
		at[i] = STACK + off;
		memcpy(pg + off, strs[i], strlen(strs[i]) + 1);
		off += strlen(strs[i]) + 1;
	}
	uint64_t w[32];
	size_t n = 0;
	w[n++] = 3;
	w[n++] = at[0];
	w[n++] = at[1];
	w[n++] = at[2];
	w[n++] = 0;
	w[n++] = at[3];
	w[n++] = 0;
	uint64_t av[] = { AT_PAGESZ, 4096, AT_ENTRY, ENTRY, AT_EXECFN, at[4], AT_NULL, 0 };
	memcpy(w + n, av, sizeof(av));
	n += 8;
	memcpy(pg + 0x100, w, n * 8);
	put(auxv, av, sizeof(av));
}

/* The file on disk: an ELF magic page then recognisable bytes. */
static void file_bytes(uint8_t *f, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		f[i] = (uint8_t)(i * 7 + seed);
	memcpy(f, ELFMAG, 4);
}

/* A core: threads 100 (blocked in futex) and 101 (in user space); its
 * file /lib/libx.so, named with prefix in front (gdb's view of a chroot). */
static struct buf make_core_at(int with_threads, const char *prefix)
{
	struct buf notes = { 0 }, auxv = { 0 }, b = { 0 };
	uint8_t stack[4096];
	stack_page(stack, &auxv);
	if (with_threads) {
		prstatus(&notes, 100, SYS_futex, (uint64_t)-512);       /* interrupted */
		prstatus(&notes, 101, -1, 0);
	}
	uint8_t ps[136] = { 0 };
	int pid = 100;
	memcpy(ps + 24, &pid, 4);
	memcpy(ps + 40, "python3", 7);
	memcpy(ps + 56, "python3 app.py", 14);
	note(&notes, NT_PRPSINFO, ps, sizeof(ps));
	note(&notes, NT_AUXV, auxv.p, (uint32_t)auxv.n);
	struct buf nf = { 0 };
	put64(&nf, 2);
	put64(&nf, 4096);
	put64(&nf, LIB);
	put64(&nf, LIB + 0x1000);
	put64(&nf, 0);
	put64(&nf, LIB + 0x1000);
	put64(&nf, LIB + 0x3000);
	put64(&nf, 1);
	for (int k = 0; k < 2; k++) {
		put(&nf, prefix, strlen(prefix));
		put(&nf, "/lib/libx.so", 13);
	}
	note(&notes, NT_FILE, nf.p, (uint32_t)nf.n);

	uint8_t lib[4096];
	file_bytes(lib, sizeof(lib), 0);
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, 4);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = arch_info.elf_machine;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 4;
	uint64_t data = sizeof(eh) + 4 * sizeof(Elf64_Phdr);
	Elf64_Phdr ph[4] = {
		{ .p_type = PT_NOTE, .p_offset = data, .p_filesz = notes.n },
		{ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = data + notes.n, .p_vaddr = LIB,
		  .p_filesz = 4096, .p_memsz = 4096 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = data + notes.n + 4096,
		  .p_vaddr = LIB + 0x1000, .p_filesz = 0, .p_memsz = 0x2000 },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = data + notes.n + 4096,
		  .p_vaddr = STACK, .p_filesz = 4096, .p_memsz = 4096 },
	};
	put(&b, &eh, sizeof(eh));
	put(&b, ph, sizeof(ph));
	put(&b, notes.p, notes.n);
	put(&b, lib, sizeof(lib));
	put(&b, stack, sizeof(stack));
	free(notes.p);
	free(auxv.p);
	free(nf.p);
	return b;
}

static struct buf make_core(int with_threads)
{
	return make_core_at(with_threads, "");
}

static char root[64];

/* root/lib/libx.so: 3 pages, its first the one the core holds (or not). */
static void make_root(int matching)
{
	snprintf(root, sizeof(root), "/tmp/cspy-test-core-XXXXXX");
	if (!mkdtemp(root))
		abort();
	char path[128];
	snprintf(path, sizeof(path), "%s/lib", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/lib/libx.so", root);
	uint8_t f[3 * 4096];
	file_bytes(f, sizeof(f), 0);
	if (!matching)
		f[100] ^= 1;
	FILE *fp = fopen(path, "wb");
	fwrite(f, 1, sizeof(f), fp);
	fclose(fp);
}

static void remove_root(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/lib/libx.so", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lib", root);
	rmdir(path);
	rmdir(root);
}

static void test_process(void)
{
	struct buf b = make_core(1);
	make_root(1);
	struct core *c = NULL;
	char why[512];
	int err = core__open_buf(b.p, b.n, root, 0, &c, why, sizeof(why));
	CHECK_INT(err, 0);
	if (!c)
		goto out;
	CHECK_INT(core__pid(c), 100);
	CHECK_STR(core__cmdline(c), "python3 app.py --flag value");
	char exe[128];
	snprintf(exe, sizeof(exe), "%s/lib/libx.so", root);
	CHECK_STR(core__exe(c), exe);
	const struct core_thread *t;
	CHECK_INT(core__threads(c, &t), 2);
	CHECK_INT(t[0].tid, 100);
	CHECK(!t[0].running);
	CHECK_INT(t[1].tid, 101);
	CHECK(t[1].running);
	CHECK(t[1].regs.tp == 0x1234000);
	CHECK(core__thread(c, 101) == &t[1]);
	CHECK(core__thread(c, 7) == NULL);

	const struct maps *m = core__maps(c);
	CHECK_INT(m->n, 3);
	CHECK(m->v[0].start == LIB && m->v[0].end == LIB + 0x1000 && m->v[0].offset == 0);
	CHECK_STR(m->v[0].path, exe);
	CHECK(m->v[1].start == LIB + 0x1000 && (m->v[1].perms & MAP_X) && m->v[1].offset == 0x1000);
	CHECK(m->v[2].start == STACK && m->v[2].path[0] == '\0' && (m->v[2].perms & MAP_W));
out:
	core__close(c);
	remove_root();
	free(b.p);
}

static void test_reads(void)
{
	struct buf b = make_core(1);
	make_root(1);
	struct core *c = NULL;
	char why[512];
	CHECK_INT(core__open_buf(b.p, b.n, root, 0, &c, why, sizeof(why)), 0);
	if (!c)
		goto out;
	uint8_t want[3 * 4096], got[3 * 4096];
	file_bytes(want, sizeof(want), 0);
	/* The core's page, the file's pages, and a read across both. */
	CHECK_INT(core__read(c, LIB, got, 4096), 0);
	CHECK(memcmp(got, want, 4096) == 0);
	CHECK_INT(core__read(c, LIB + 0x1800, got, 0x100), 0);
	CHECK(memcmp(got, want + 0x1800, 0x100) == 0);
	CHECK_INT(core__read(c, LIB + 0x100, got, 0x2000), 0);
	CHECK(memcmp(got, want + 0x100, 0x2000) == 0);
	/* Past the mapping, a hole, wrap-around. */
	CHECK_INT(core__read(c, LIB + 0x2ff8, got, 16), -EFAULT);
	CHECK_INT(core__read(c, 0x1000, got, 8), -EFAULT);
	CHECK_INT(core__read(c, UINT64_MAX - 4, got, 8), -EFAULT);
	uint64_t argc = 0;
	struct mem *mem = core__mem(c);
	CHECK_INT(mem__read(mem, STACK + 0x100, &argc, 8), 0);
	CHECK(argc == 3);
	char s[32];
	CHECK_INT(mem__read_cstr(mem, STACK + 0x800, s, sizeof(s)), 0);
	CHECK_STR(s, "python3");
	struct mem_iov iov[2] = { { .addr = LIB + 0x2000, .buf = got, .len = 8 },
				  { .addr = 0x10, .buf = got + 8, .len = 8 } };
	CHECK_INT(mem__readv(mem, iov, 2), 1);
	CHECK_INT(iov[0].err, 0);
	CHECK_INT(iov[1].err, -EFAULT);
	mem__free(mem);
out:
	core__close(c);
	remove_root();
	free(b.p);
}

/* gdb names a chrooted process's files as seen from outside: they are
 * taken as they are, not looked up under the root once more. */
static void test_outside_paths(void)
{
	make_root(1);
	struct buf b = make_core_at(1, root);
	struct core *c = NULL;
	char why[512], exe[128];
	CHECK_INT(core__open_buf(b.p, b.n, root, 0, &c, why, sizeof(why)), 0);
	snprintf(exe, sizeof(exe), "%s/lib/libx.so", root);
	if (c)
		CHECK_STR(core__exe(c), exe);
	core__close(c);
	remove_root();
	free(b.p);
}

static void test_refusals(void)
{
	struct buf b = make_core(1);
	struct core *c = NULL;
	char why[512];

	/* The file is not under the root. */
	CHECK_INT(core__open_buf(b.p, b.n, "/nonexistent-root", 0, &c, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "/nonexistent-root/lib/libx.so") && strstr(why, "missing"));
	/* Without files: fine, the file's pages unreadable. */
	CHECK_INT(core__open_buf(b.p, b.n, "/nonexistent-root", CORE_NO_FILES, &c, why, sizeof(why)), 0);
	uint8_t x[8];
	if (c)
		CHECK_INT(core__read(c, LIB + 0x1000, x, 8), -EFAULT);
	core__close(c);
	c = NULL;
	/* Another file of that name. */
	make_root(0);
	CHECK_INT(core__open_buf(b.p, b.n, root, 0, &c, why, sizeof(why)), -ESTALE);
	CHECK(strstr(why, "libx.so does not match"));
	remove_root();
	/* Truncated. */
	CHECK_INT(core__open_buf(b.p, b.n - 100, "", CORE_NO_FILES, &c, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "truncated"));
	/* Not ELF, not a core, cut in its header. */
	CHECK_INT(core__open_buf("hello", 5, "", 0, &c, why, sizeof(why)), -ENOEXEC);
	CHECK(strstr(why, "not an ELF core file"));
	Elf64_Ehdr eh;
	memcpy(&eh, b.p, sizeof(eh));
	eh.e_type = ET_DYN;
	memcpy(b.p, &eh, sizeof(eh));
	CHECK_INT(core__open_buf(b.p, b.n, "", 0, &c, why, sizeof(why)), -ENOEXEC);
	CHECK(strstr(why, "not a core file"));
	CHECK_INT(core__open_buf(b.p, 40, "", 0, &c, why, sizeof(why)), -ENOEXEC);
	free(b.p);
	/* No thread. */
	b = make_core(0);
	CHECK_INT(core__open_buf(b.p, b.n, "", CORE_NO_FILES, &c, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "no thread"));
	CHECK(c == NULL);
	free(b.p);
	/* A path that is not there. */
	CHECK_INT(core__open("/nonexistent-core", NULL, 0, &c, why, sizeof(why)), -ENOENT);
}

/* make_core(1) with e_phnum PN_XNUM and the count (phnum) in section 0. */
static struct buf make_core_xnum(uint32_t phnum)
{
	struct buf b = make_core(1);
	Elf64_Ehdr eh;
	memcpy(&eh, b.p, sizeof(eh));
	eh.e_phnum = PN_XNUM;
	eh.e_shoff = b.n;
	eh.e_shnum = 1;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	memcpy(b.p, &eh, sizeof(eh));
	Elf64_Shdr s0 = { .sh_info = phnum };
	put(&b, &s0, sizeof(s0));
	return b;
}

/* make_core(1) with every segment 2 bytes further in the file. */
static struct buf make_core_shifted(void)
{
	struct buf b = make_core(1), sh = { 0 };
	size_t head = sizeof(Elf64_Ehdr) + 4 * sizeof(Elf64_Phdr);
	put(&sh, b.p, head);
	put(&sh, "\0\0", 2);
	put(&sh, b.p + head, b.n - head);
	for (int k = 0; k < 4; k++) {
		Elf64_Phdr ph;
		memcpy(&ph, sh.p + sizeof(Elf64_Ehdr) + k * sizeof(ph), sizeof(ph));
		ph.p_offset += 2;
		memcpy(sh.p + sizeof(Elf64_Ehdr) + k * sizeof(ph), &ph, sizeof(ph));
	}
	free(b.p);
	return sh;
}

/* The ELF container: a header or a program header table that is wrong or
 * cut off, and a note whose size passes its segment's end, are refused
 * with their reason (libelf walks them; the bounds are cspy's); a count of
 * program headers in section 0 (PN_XNUM) and notes that libelf must copy
 * (not 4-aligned in the file) are read. */
static void test_container(void)
{
	struct core *c = NULL;
	char why[512];
	static const struct {
		size_t at, width;
		uint64_t value;
		int err;
		const char *why;
	} cases[] = {
		{ offsetof(Elf64_Ehdr, e_phnum), 2, 1000, -EINVAL, "program headers are corrupt" },
		{ offsetof(Elf64_Ehdr, e_phnum), 2, PN_XNUM, -EINVAL, "program headers are corrupt" },
		{ offsetof(Elf64_Ehdr, e_phentsize), 2, 32, -EINVAL, "program headers are corrupt" },
		{ offsetof(Elf64_Ehdr, e_phoff), 8, 1u << 30, -EINVAL, "program headers are corrupt" },
		{ offsetof(Elf64_Ehdr, e_machine), 2, EM_S390, -ENOEXEC, "another architecture" },
		{ EI_CLASS, 1, ELFCLASS32, -ENOEXEC, "64-bit little-endian" },
		{ EI_DATA, 1, ELFDATA2MSB, -ENOEXEC, "64-bit little-endian" },
		/* The first note (a thread's) claims 4 GiB: the walk stops there. */
		{ sizeof(Elf64_Ehdr) + 4 * sizeof(Elf64_Phdr) + 4, 4, 0xfffffff0u, -EINVAL, "no thread" },
		{ sizeof(Elf64_Ehdr) + 4 * sizeof(Elf64_Phdr), 4, 0xfffffff0u, -EINVAL, "no thread" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct buf b = make_core(1);
		uint64_t v = cases[k].value;
		memcpy(b.p + cases[k].at, &v, cases[k].width);
		why[0] = '\0';
		CHECK_INT(core__open_buf(b.p, b.n, "", CORE_NO_FILES, &c, why, sizeof(why)), cases[k].err);
		if (!strstr(why, cases[k].why))
			fprintf(stderr, "case %zu: %s\n", k, why);
		CHECK(strstr(why, cases[k].why));
		CHECK(c == NULL);
		free(b.p);
	}
	/* Cut inside the program header table (libelf would count the
	 * headers that fit: one, or none). */
	struct buf b = make_core(1);
	static const size_t cuts[] = { sizeof(Elf64_Phdr) + 20, 30 };
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		CHECK_INT(core__open_buf(b.p, sizeof(Elf64_Ehdr) + cuts[k], "", CORE_NO_FILES, &c, why,
					 sizeof(why)), -EINVAL);
		CHECK(strstr(why, "program headers are corrupt"));
	}
	free(b.p);
	/* More than 65534 program headers: e_phnum is PN_XNUM and the count is
	 * section 0's sh_info (as the kernel writes it); here the 4 there are. */
	b = make_core_xnum(4);
	CHECK_INT(core__open_buf(b.p, b.n, "", CORE_NO_FILES, &c, why, sizeof(why)), 0);
	if (c) {
		const struct core_thread *t;
		CHECK_INT(core__threads(c, &t), 2);
		CHECK_STR(core__cmdline(c), "python3 app.py --flag value");
	}
	core__close(c);
	c = NULL;
	free(b.p);
	/* ... and one that claims more than the file holds. */
	b = make_core_xnum(1000);
	CHECK_INT(core__open_buf(b.p, b.n, "", CORE_NO_FILES, &c, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "program headers are corrupt"));
	free(b.p);
	/* Every segment 2 bytes further (notes not 4-aligned in the file,
	 * so libelf hands out a copy of them): the same process. */
	struct buf sh = make_core_shifted();
	CHECK_INT(core__open_buf(sh.p, sh.n, "", CORE_NO_FILES, &c, why, sizeof(why)), 0);
	if (c) {
		const struct core_thread *t;
		CHECK_INT(core__pid(c), 100);
		CHECK_STR(core__cmdline(c), "python3 app.py --flag value");
		CHECK_INT(core__threads(c, &t), 2);
		CHECK(t[1].regs.tp == 0x1234000);
	}
	core__close(c);
	c = NULL;
	free(sh.p);
}

/* CSPY_CORE_SEEDS=DIR: also write the cores built here into DIR (the seed
 * corpus of fuzz/fuzz_core.c). */
static void write_seeds(const char *dir)
{
	for (int k = 0; k < 4; k++) {
		struct buf b = k < 2 ? make_core(!k) : k == 2 ? make_core_xnum(4) : make_core_shifted();
		char path[512];
		snprintf(path, sizeof(path), "%s/fabricated-%d.core", dir, k);
		FILE *f = fopen(path, "wb");
		if (f) {
			fwrite(b.p, 1, b.n, f);
			fclose(f);
		}
		free(b.p);
	}
}

int main(void)
{
	if (getenv("CSPY_CORE_SEEDS"))
		write_seeds(getenv("CSPY_CORE_SEEDS"));
	TEST_RUN(test_process);
	TEST_RUN(test_reads);
	TEST_RUN(test_outside_paths);
	TEST_RUN(test_refusals);
	TEST_RUN(test_container);
	return TEST_REPORT();
}
