/* SPDX-License-Identifier: MIT
 *
 * ELF core files (see core.h). The core is mapped read-only (or copied,
 * for core__open_buf) and never trusted. Its identification bytes are
 * checked here (64-bit, little-endian); libelf then walks the container
 * over those bytes (elf_memory: it writes to an image only to convert a
 * foreign byte order, which never reaches it): the ELF header
 * (gelf_getehdr), the program headers (elf_getphdrnum, which also reads
 * a count past 65534 from section 0 (PN_XNUM); gelf_getphdr) and
 * the notes of each PT_NOTE segment (elf_getdata_rawchunk, gelf_getnote).
 * The bounds stay ours where libelf is lenient: a program header table cut
 * off by the end of the file (elf_getphdrnum counts only what fits) is
 * refused, counts are capped, and a segment that would run past the end of
 * the file makes the core "truncated" (refused with that reason). Each
 * note's payload (registers, process info, auxiliary vector, file table)
 * is decoded here by offsets. The libelf handle lives only while the core
 * is opened: nothing kept afterwards points into the notes.
 *
 * Memory is served from two sorted, non-overlapping lists of pieces: the
 * core's own bytes (PT_LOAD p_filesz) first, then the mapped files (NT_FILE
 * ranges, from the file mapped read-only). A read walks them piece by
 * piece, so it may span neighbouring mappings as process_vm_readv would.
 *
 * The command line is read as /proc/PID/cmdline would show it: the
 * initial stack holds argc, argv[], NULL, envp[], NULL, then the auxiliary
 * vector, whose bytes NT_AUXV repeats: found in the stack mapping (the one
 * holding AT_EXECFN) and walked back to argc.
 */
#include "proc/core.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/maps.h"
#include "proc/mem.h"
#include "util/bytes.h"
#include "util/xalloc.h"

#define CORE_MAX_PHDRS 1000000u
#define CORE_MAX_NOTES 100000u
#define CORE_MAX_THREADS 65536u
#define CORE_MAX_FILES 1000000u
#define CORE_PAGE 4096u
#define CMDLINE_MAX (64u << 10)
#define ARGC_MAX 65536u
#define ENVC_MAX 65536u

/* NT_PRSTATUS (struct elf_prstatus) and NT_PRPSINFO offsets: the same on every
 * 64-bit Linux machine cspy builds for; pr_reg is the machine's (arch/arch.h). */
#define PRS_CURSIG 12
#define PRS_PID 32
#define PRS_REG 112
#define PRPS_PID 24
#define PRPS_PSARGS 56
#define PRPS_PSARGS_LEN 80

struct piece {
	uint64_t start, end;
	const uint8_t *src;     /* the bytes of start */
};

struct nt_entry {
	uint64_t start, end, off;
	size_t file;
};

struct cfile {
	char *path;             /* as the core names it */
	char *host;             /* under root */
	const uint8_t *data;    /* mapped, NULL when missing or not opened */
	size_t size;
	int open_err;
	bool code;
};

struct core {
	uint8_t *img;           /* the core */
	size_t size;
	bool img_mapped;
	struct piece *mem, *files;      /* core bytes, file bytes; sorted */
	size_t nmem, nfiles_p;
	struct nt_entry *nt;
	size_t nnt;
	struct cfile *files_v;
	size_t nfiles;
	struct maps maps;
	struct core_thread *threads;
	size_t nthreads, threads_cap;
	size_t files_cap;
	pid_t pid;
	char *cmdline;
	char *exe;
	uint64_t at_entry, at_execfn;
	const uint8_t *auxv;
	size_t auxv_len;
	char psargs[PRPS_PSARGS_LEN + 1];
};

static int fail(char *why, size_t whylen, int err, const char *fmt, const char *a)
{
	if (whylen)
		snprintf(why, whylen, fmt, a);
	return err;
}

/* ---- memory -------------------------------------------------------------- */

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* Sort and make disjoint: a piece overlapping an earlier one keeps only
 * what lies beyond it. */
static size_t pieces_normalize(struct piece *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), piece_cmp);
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		struct piece p = v[i];
		if (out && p.start < v[out - 1].end) {
			uint64_t cut = v[out - 1].end;
			if (p.end <= cut)
				continue;
			p.src += cut - p.start;
			p.start = cut;
		}
		if (p.end > p.start)
			v[out++] = p;
	}
	return out;
}

/* Index of the last piece starting at or below addr, or n. */
static size_t piece_at(const struct piece *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : n;
}

int core__read(const struct core *c, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;
	if (addr + len < addr)
		return -EFAULT;
	while (len) {
		size_t i = piece_at(c->mem, c->nmem, addr);
		size_t take;
		const uint8_t *src;
		if (i < c->nmem && addr < c->mem[i].end) {
			take = c->mem[i].end - addr < len ? (size_t)(c->mem[i].end - addr) : len;
			src = c->mem[i].src + (addr - c->mem[i].start);
		} else {
			size_t k = piece_at(c->files, c->nfiles_p, addr);
			if (k >= c->nfiles_p || addr >= c->files[k].end)
				return -EFAULT;
			uint64_t end = c->files[k].end;
			/* The core's own bytes win from where they start again. */
			if (i + 1 < c->nmem && c->mem[i + 1].start < end)
				end = c->mem[i + 1].start;
			if (i >= c->nmem && c->nmem && c->mem[0].start < end && c->mem[0].start > addr)
				end = c->mem[0].start;
			take = end - addr < len ? (size_t)(end - addr) : len;
			src = c->files[k].src + (addr - c->files[k].start);
		}
		memcpy(out, src, take);
		out += take;
		addr += take;
		len -= take;
	}
	return 0;
}

static int core_mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return core__read(ctx, addr, buf, len);
}

struct mem *core__mem(struct core *c)
{
	return mem__new_source(core_mem_read, c);
}

/* ---- notes --------------------------------------------------------------- */

/* arch_read_fn over the core's memory (the code at a thread's pc). */
static int code_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return core__read(ctx, addr, buf, len);
}

static void note_prstatus(struct core *c, const uint8_t *d, size_t n)
{
	if (n < PRS_REG + arch_info.prstatus_regs || c->nthreads >= CORE_MAX_THREADS)
		return;
	struct core_thread t = { 0 };
	t.tid = (pid_t)bytes_i32(d + PRS_PID);
	t.signo = (int16_t)(d[PRS_CURSIG] | d[PRS_CURSIG + 1] << 8);
	if (arch_regs_prstatus(&t.regs, d + PRS_REG, n - PRS_REG) != 0)
		return;
	c->threads = xgrow(c->threads, &c->threads_cap, c->nthreads + 1, sizeof(*c->threads));
	c->threads[c->nthreads++] = t;
}

static void note_prpsinfo(struct core *c, const uint8_t *d, size_t n)
{
	if (n < PRPS_PSARGS + PRPS_PSARGS_LEN)
		return;
	c->pid = (pid_t)bytes_i32(d + PRPS_PID);
	memcpy(c->psargs, d + PRPS_PSARGS, PRPS_PSARGS_LEN);
	c->psargs[PRPS_PSARGS_LEN] = '\0';
	size_t l = strlen(c->psargs);
	while (l && c->psargs[l - 1] == ' ')
		c->psargs[--l] = '\0';
}

static void note_auxv(struct core *c, const uint8_t *d, size_t n)
{
	c->auxv = d;
	c->auxv_len = n - n % 16;
	for (size_t i = 0; i + 16 <= n; i += 16) {
		uint64_t type = bytes_u64(d + i), val = bytes_u64(d + i + 8);
		if (type == AT_NULL)
			break;
		if (type == AT_ENTRY)
			c->at_entry = val;
		else if (type == AT_EXECFN)
			c->at_execfn = val;
	}
}

/* NT_FILE: count, page size, count x (start, end, page offset), then count
 * NUL-terminated names. */
static int note_file(struct core *c, const uint8_t *d, size_t n, char *why, size_t whylen)
{
	if (c->nt || n < 16)
		return 0;
	uint64_t count = bytes_u64(d + 0), page = bytes_u64(d + 8);
	if (count > CORE_MAX_FILES || count * 24 > n - 16 || page == 0 || page > (1u << 30))
		return fail(why, whylen, -EINVAL, "its file note (NT_FILE) is corrupt%s", "");
	const char *name = (const char *)d + 16 + count * 24;
	size_t left = n - 16 - count * 24;
	c->nt = xcalloc(count ? count : 1, sizeof(*c->nt));
	for (uint64_t i = 0; i < count; i++) {
		const char *z = memchr(name, '\0', left);
		if (!z)
			return fail(why, whylen, -EINVAL, "its file note (NT_FILE) is corrupt%s", "");
		struct nt_entry *e = &c->nt[c->nnt];
		e->start = bytes_u64(d + 16 + i * 24);
		e->end = bytes_u64(d + 16 + i * 24 + 8);
		uint64_t pg = bytes_u64(d + 16 + i * 24 + 16);
		e->off = pg * page;
		bool ok = e->end > e->start && pg < (1ull << 40) / page && name[0];
		/* Consecutive entries of one file share its record. */
		if (ok && c->nfiles && strcmp(c->files_v[c->nfiles - 1].path, name) == 0) {
			e->file = c->nfiles - 1;
		} else if (ok) {
			c->files_v = xgrow(c->files_v, &c->files_cap, c->nfiles + 1, sizeof(*c->files_v));
			c->files_v[c->nfiles] = (struct cfile){ .path = xstrdup(name), .open_err = -ENOENT };
			e->file = c->nfiles++;
		}
		if (ok)
			c->nnt++;
		left -= (size_t)(z + 1 - name);
		name = z + 1;
	}
	return 0;
}

/* The notes of one PT_NOTE segment, walked by libelf (gelf_getnote stops
 * at the first note whose name or descriptor would pass the segment's end);
 * *count caps the notes over all segments. */
static int parse_notes(struct core *c, Elf_Data *d, unsigned *count, char *why, size_t whylen)
{
	GElf_Nhdr nh;
	size_t off = 0, next, name_off, desc_off;
	while (*count < CORE_MAX_NOTES && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const uint8_t *p = d->d_buf;
		const uint8_t *desc = p + desc_off;
		bool core_name = nh.n_namesz == 5 && memcmp(p + name_off, "CORE", 5) == 0;
		bool linux_name = nh.n_namesz == 6 && memcmp(p + name_off, "LINUX", 6) == 0;
		(*count)++;
		/* A thread's notes follow its NT_PRSTATUS: the machine's own
		 * registers (aarch64: the thread pointer, the system call) are
		 * named "LINUX" (or "CORE"). */
		if ((core_name || linux_name) && nh.n_type != NT_PRSTATUS && c->nthreads)
			arch_regs_note(&c->threads[c->nthreads - 1].regs, nh.n_type, desc, nh.n_descsz);
		if (core_name) {
			int err = 0;
			switch (nh.n_type) {
			case NT_PRSTATUS: note_prstatus(c, desc, nh.n_descsz); break;
			case NT_PRPSINFO: note_prpsinfo(c, desc, nh.n_descsz); break;
			case NT_AUXV: note_auxv(c, desc, nh.n_descsz); break;
			case NT_FILE: err = note_file(c, desc, nh.n_descsz, why, whylen); break;
			default: break;
			}
			if (err)
				return err;
		}
		off = next;
	}
	return 0;
}

/* ---- files --------------------------------------------------------------- */

static void file_open(struct cfile *f, const char *root)
{
	/* gdb names the files of a process in a chroot as seen from outside
	 * it (it reads /proc/PID/maps), the kernel as seen from inside. */
	size_t rl = strlen(root);
	bool outside = rl && strncmp(f->path, root, rl) == 0 && f->path[rl] == '/';
	f->host = outside ? xstrdup(f->path) : xasprintf("%s%s", root, f->path);
	int fd = open(f->host, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		f->open_err = -errno;
		return;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		f->open_err = -ENOENT;
	} else if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			f->open_err = -errno;
		} else {
			f->data = m;
			f->size = (size_t)st.st_size;
			f->open_err = 0;
		}
	} else {
		f->open_err = 0;
	}
	close(fd);
}

static const struct nt_entry *nt_find(const struct core *c, uint64_t addr);

static int nt_cmp(const void *a, const void *b)
{
	const struct nt_entry *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* Files mapped executable, or whose first page in the core is an ELF
 * header, are code: they must be there and match. */
static int check_files(struct core *c, const GElf_Phdr *ph, size_t nph, const char *root,
		       unsigned flags, char *why, size_t whylen)
{
	if (c->nnt)
		qsort(c->nt, c->nnt, sizeof(*c->nt), nt_cmp);
	for (size_t k = 0; k < nph; k++) {
		const struct nt_entry *e = ph[k].p_type == PT_LOAD && (ph[k].p_flags & PF_X) ?
			nt_find(c, ph[k].p_vaddr) : NULL;
		if (e)
			c->files_v[e->file].code = true;
	}
	for (size_t i = 0; i < c->nnt; i++) {
		const struct nt_entry *e = &c->nt[i];
		struct cfile *f = &c->files_v[e->file];
		uint8_t magic[4];
		if (e->off == 0 && core__read(c, e->start, magic, 4) == 0 && memcmp(magic, ELFMAG, 4) == 0)
			f->code = true;
	}
	for (size_t i = 0; i < c->nfiles; i++)
		if (!(flags & CORE_NO_FILES) && (c->files_v[i].code || strncmp(c->files_v[i].path, "/dev/", 5)))
			file_open(&c->files_v[i], root);
	if (flags & CORE_NO_FILES)
		return 0;
	for (size_t i = 0; i < c->nnt; i++) {
		const struct nt_entry *e = &c->nt[i];
		struct cfile *f = &c->files_v[e->file];
		if (!f->code)
			continue;
		if (f->open_err) {
			const char *del = strstr(f->path, " (deleted)");
			if (del && !del[10])
				return fail(why, whylen, -ENOENT, "%s was deleted before the core was "
					    "made: cspy needs that file (put it back at its path)", f->path);
			if (whylen)
				snprintf(why, whylen, "%s, mapped in the core, is missing (%s): cspy needs "
					 "it; %s", f->host, strerror(-f->open_err),
					 root[0] ? "is --core-root the root the process ran in?"
						 : "if the process ran in a container or chroot, give "
						   "its root with --core-root DIR");
			return -ENOENT;
		}
		if (e->off >= f->size) {
			if (whylen)
				snprintf(why, whylen, "%s is not the file the process mapped: it is too short "
					 "(%zu bytes, mapped from offset %llu); use the files of the system "
					 "the core was made on (--core-root DIR)", f->host, f->size,
					 (unsigned long long)e->off);
			return -ESTALE;
		}
		/* The first page, when the core has it, must be the file's. */
		uint8_t page[CORE_PAGE];
		size_t cmp = f->size < CORE_PAGE ? f->size : CORE_PAGE;
		size_t i0 = piece_at(c->mem, c->nmem, e->start);
		if (e->off == 0 && i0 < c->nmem && e->start < c->mem[i0].end &&
		    core__read(c, e->start, page, cmp) == 0 && memcmp(page, f->data, cmp) != 0) {
			if (whylen)
				snprintf(why, whylen, "%s does not match the core (its first page differs: "
					 "rebuilt or upgraded since?); use the files of the system the "
					 "core was made on (--core-root DIR)", f->host);
			return -ESTALE;
		}
	}
	return 0;
}

/* ---- the process --------------------------------------------------------- */

static int read_u64(const struct core *c, uint64_t addr, uint64_t *v)
{
	return core__read(c, addr, v, 8);
}

/* argv from the initial stack (see the top of this file); NULL if not found. */
static char *cmdline_from_stack(const struct core *c)
{
	if (!c->at_execfn || c->auxv_len < 32)
		return NULL;
	size_t i = piece_at(c->mem, c->nmem, c->at_execfn);
	if (i >= c->nmem || c->at_execfn >= c->mem[i].end)
		return NULL;
	const struct piece *s = &c->mem[i];
	size_t want = c->auxv_len < 64 ? c->auxv_len : 64;
	const uint8_t *hay = s->src;
	size_t hlen = (size_t)(c->at_execfn - s->start);
	const uint8_t *hit = memmem(hay, hlen, c->auxv, want);
	if (!hit || (hit - hay) % 8)
		return NULL;
	uint64_t a = s->start + (uint64_t)(hit - hay) - 8, w;
	if (read_u64(c, a, &w) || w)                    /* envp's NULL */
		return NULL;
	for (unsigned k = 0; k < ENVC_MAX; k++) {
		a -= 8;
		if (read_u64(c, a, &w))
			return NULL;
		if (!w)
			break;                          /* argv's NULL */
	}
	uint64_t argv_end = a, argc_at = 0;
	for (uint64_t k = 1; k < ARGC_MAX; k++) {
		if (read_u64(c, argv_end - 8 * (k + 1), &w))
			return NULL;
		if (w == k) {
			argc_at = argv_end - 8 * (k + 1);
			break;
		}
	}
	if (!argc_at)
		return NULL;
	char *out = xmalloc(CMDLINE_MAX + 1);
	size_t len = 0;
	for (uint64_t p = argc_at + 8; p < argv_end && len < CMDLINE_MAX; p += 8) {
		uint64_t str;
		if (read_u64(c, p, &str))
			break;
		if (len)
			out[len++] = ' ';
		while (len < CMDLINE_MAX) {
			char ch;
			if (core__read(c, str++, &ch, 1) || !ch)
				break;
			out[len++] = ch;
		}
	}
	out[len] = '\0';
	return out;
}

static void find_process(struct core *c)
{
	if (!c->pid && c->nthreads)
		c->pid = c->threads[0].tid;
	c->cmdline = cmdline_from_stack(c);
	if (!c->cmdline)
		c->cmdline = xstrdup(c->psargs);
	const struct map *m = c->at_entry ? maps__find(&c->maps, c->at_entry) : NULL;
	c->exe = xstrdup(m && m->path[0] == '/' ? m->path : "");
}

/* ---- open ---------------------------------------------------------------- */

static int map_cmp(const void *a, const void *b)
{
	const struct map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static void add_map(struct core *c, size_t *cap, uint64_t start, uint64_t end, unsigned perms,
		    const struct nt_entry *e)
{
	c->maps.v = xgrow(c->maps.v, cap, c->maps.n + 1, sizeof(*c->maps.v));
	struct map *m = &c->maps.v[c->maps.n++];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->perms = perms;
	if (e) {
		const struct cfile *f = &c->files_v[e->file];
		m->offset = e->off + (start - e->start);
		m->inode = e->file + 1;         /* one per file: tools group mappings by it */
		m->path = xstrdup(f->host ? f->host : f->path);
	} else {
		m->path = xstrdup("");
	}
}

/* The NT_FILE entry holding addr, or NULL (entries sorted by start). */
static const struct nt_entry *nt_find(const struct core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nnt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->nt[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < c->nt[lo - 1].end ? &c->nt[lo - 1] : NULL;
}

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ok;

static void libelf_init(void)
{
	libelf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

/* The number of program headers the ELF header declares (e_phnum, or the
 * first section header's sh_info when it is PN_XNUM). libelf's
 * elf_getphdrnum() quietly lowers it to what fits in the file; comparing the
 * two tells a cut-off table from a whole one. */
static size_t phdrs_declared(Elf *elf, const GElf_Ehdr *eh)
{
	GElf_Shdr sh;
	if (eh->e_phnum != PN_XNUM)
		return eh->e_phnum;
	Elf_Scn *s0 = elf_getscn(elf, 0);
	return s0 && gelf_getshdr(s0, &sh) ? sh.sh_info : PN_XNUM;
}

static int build(struct core *c, const char *root, unsigned flags, char *why, size_t whylen)
{
	const uint8_t *img = c->img;
	/* The identification bytes are checked here, before libelf (which
	 * would accept either class and byte order) sees the image. */
	if (c->size < 4 || memcmp(img, ELFMAG, 4) != 0)
		return fail(why, whylen, -ENOEXEC, "it is not an ELF core file%s", "");
	if (c->size < sizeof(Elf64_Ehdr) || img[EI_CLASS] != ELFCLASS64 || img[EI_DATA] != ELFDATA2LSB)
		return fail(why, whylen, -ENOEXEC, "it is an ELF file, but not a 64-bit "
			    "little-endian one (this cspy reads %s cores)", arch_info.name);
	pthread_once(&libelf_once, libelf_init);
	if (!libelf_ok)
		return fail(why, whylen, -ENOSYS, "libelf could not be initialised%s", "");
	GElf_Ehdr eh;
	Elf *elf = elf_memory((char *)c->img, c->size);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		int e = elf_errno();
		if (elf)
			elf_end(elf);
		return fail(why, whylen, -ENOEXEC, "it is not an ELF core file libelf can read (%s)",
			    e ? elf_errmsg(e) : "unknown ELF version");
	}
	GElf_Phdr *ph = NULL;
	size_t nph = 0;
	int err = 0;
	if (eh.e_type != ET_CORE) {
		err = fail(why, whylen, -ENOEXEC, "it is an ELF %s, not a core file",
			   eh.e_type == ET_EXEC ? "executable" : eh.e_type == ET_DYN ? "shared object "
			   "or executable" : "file");
		goto out;
	}
	if (eh.e_machine != arch_info.elf_machine) {
		err = fail(why, whylen, -ENOEXEC, "it is the core of another architecture "
			   "(this cspy reads %s cores)", arch_info.name);
		goto out;
	}
	if (elf_getphdrnum(elf, &nph) != 0 || nph != phdrs_declared(elf, &eh) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || nph > CORE_MAX_PHDRS || eh.e_phoff > c->size ||
	    nph * sizeof(Elf64_Phdr) > c->size - eh.e_phoff) {
		nph = 0;
		err = fail(why, whylen, -EINVAL, "its program headers are corrupt or cut off "
			   "(a truncated core?)%s", "");
		goto out;
	}
	ph = xmalloc((nph ? nph : 1) * sizeof(*ph));
	for (size_t i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph[i])) {
			err = fail(why, whylen, -EINVAL, "its program headers are corrupt or cut off "
				   "(a truncated core?)%s", "");
			goto out;
		}
	}
	unsigned notes = 0;
	size_t mem_cap = 0, maps_cap = 0;
	for (size_t i = 0; i < nph && !err; i++) {
		if (ph[i].p_type != PT_LOAD && ph[i].p_type != PT_NOTE)
			continue;
		if (ph[i].p_offset > c->size || ph[i].p_filesz > c->size - ph[i].p_offset) {
			if (whylen)
				snprintf(why, whylen, "it is truncated: %zu bytes, but its segments need "
					 "%llu (was the core cut by RLIMIT_CORE (ulimit -c) or a full "
					 "disk?)", c->size,
					 (unsigned long long)(ph[i].p_offset + ph[i].p_filesz));
			err = -EINVAL;
			break;
		}
		if (ph[i].p_type == PT_NOTE) {
			Elf_Data *d = NULL;
			if (ph[i].p_filesz && notes < CORE_MAX_NOTES)
				d = elf_getdata_rawchunk(elf, (int64_t)ph[i].p_offset, ph[i].p_filesz,
							 ELF_T_NHDR);
			if (d)
				err = parse_notes(c, d, &notes, why, whylen);
			continue;
		}
		uint64_t fsz = ph[i].p_filesz < ph[i].p_memsz ? ph[i].p_filesz : ph[i].p_memsz;
		if (ph[i].p_vaddr + ph[i].p_memsz < ph[i].p_vaddr)
			continue;
		if (fsz) {
			c->mem = xgrow(c->mem, &mem_cap, c->nmem + 1, sizeof(*c->mem));
			c->mem[c->nmem++] = (struct piece){ ph[i].p_vaddr, ph[i].p_vaddr + fsz,
							    img + ph[i].p_offset };
		}
	}
	if (err)
		goto out;
	if (!c->nthreads) {
		err = fail(why, whylen, -EINVAL, "it has no thread (NT_PRSTATUS note): not a process "
			   "core, or a corrupt one%s", "");
		goto out;
	}
	c->nmem = pieces_normalize(c->mem, c->nmem);
	err = check_files(c, ph, nph, root, flags, why, whylen);
	if (err)
		goto out;
	/* File pieces: each NT_FILE range, as far as the file goes. */
	size_t fcap = 0;
	for (size_t i = 0; i < c->nnt; i++) {
		const struct nt_entry *e = &c->nt[i];
		const struct cfile *f = &c->files_v[e->file];
		if (!f->data || e->off >= f->size)
			continue;
		uint64_t len = e->end - e->start, have = f->size - e->off;
		c->files = xgrow(c->files, &fcap, c->nfiles_p + 1, sizeof(*c->files));
		c->files[c->nfiles_p++] = (struct piece){ e->start, e->start + (len < have ? len : have),
							  f->data + e->off };
	}
	c->nfiles_p = pieces_normalize(c->files, c->nfiles_p);
	/* The maps: every PT_LOAD, then the file ranges no PT_LOAD covers. */
	for (size_t i = 0; i < nph; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz ||
		    ph[i].p_vaddr + ph[i].p_memsz < ph[i].p_vaddr)
			continue;
		unsigned perms = MAP_P | (ph[i].p_flags & PF_R ? MAP_R : 0) |
				 (ph[i].p_flags & PF_W ? MAP_W : 0) | (ph[i].p_flags & PF_X ? MAP_X : 0);
		add_map(c, &maps_cap, ph[i].p_vaddr, ph[i].p_vaddr + ph[i].p_memsz, perms,
			nt_find(c, ph[i].p_vaddr));
	}
	size_t nloads = c->maps.n;
	if (nloads)
		qsort(c->maps.v, nloads, sizeof(*c->maps.v), map_cmp);
	for (size_t i = 0; i < c->nnt; i++) {
		const struct map *m = maps__find(&c->maps, c->nt[i].start);
		if (m && m < c->maps.v + nloads && m->end > c->nt[i].start)
			continue;
		add_map(c, &maps_cap, c->nt[i].start, c->nt[i].end, MAP_R | MAP_P, &c->nt[i]);
	}
	if (c->maps.n)
		qsort(c->maps.v, c->maps.n, sizeof(*c->maps.v), map_cmp);
	/* Running or blocked, by the registers (and the code at the program
	 * counter, where the core or its files hold it). */
	for (size_t i = 0; i < c->nthreads; i++)
		c->threads[i].running = arch_regs_running(&c->threads[i].regs, code_read, c);
	find_process(c);
out:
	/* The notes' bytes may be libelf's copies: nothing points into them
	 * once the handle is gone. */
	c->auxv = NULL;
	c->auxv_len = 0;
	elf_end(elf);
	free(ph);
	return err;
}

static int open_common(struct core *c, const char *root, unsigned flags, struct core **out,
		       char *why, size_t whylen)
{
	if (whylen)
		why[0] = '\0';
	char *r = xstrdup(root && strcmp(root, "/") != 0 ? root : "");
	size_t rl = strlen(r);
	while (rl && r[rl - 1] == '/')
		r[--rl] = '\0';
	int err = build(c, r, flags, why, whylen);
	free(r);
	if (err) {
		core__close(c);
		return err;
	}
	*out = c;
	return 0;
}

int core__open(const char *path, const char *root, unsigned flags, struct core **out,
	       char *why, size_t whylen)
{
	if (whylen)
		why[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int err = 0;
	if (fstat(fd, &st) != 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EISDIR;
	if (err) {
		close(fd);
		return err;
	}
	struct core *c = xcalloc(1, sizeof(*c));
	c->size = (size_t)st.st_size;
	if (c->size) {
		void *m = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			err = -errno;
			close(fd);
			free(c);
			return err;
		}
		c->img = m;
		c->img_mapped = true;
	}
	close(fd);
	return open_common(c, root, flags, out, why, whylen);
}

int core__open_buf(const void *buf, size_t len, const char *root, unsigned flags,
		   struct core **out, char *why, size_t whylen)
{
	struct core *c = xcalloc(1, sizeof(*c));
	c->img = xmalloc(len ? len : 1);
	memcpy(c->img, buf, len);
	c->size = len;
	return open_common(c, root, flags, out, why, whylen);
}

void core__close(struct core *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		if (c->files_v[i].data)
			munmap((void *)c->files_v[i].data, c->files_v[i].size);
		free(c->files_v[i].path);
		free(c->files_v[i].host);
	}
	free(c->files_v);
	if (c->img_mapped)
		munmap(c->img, c->size);
	else
		free(c->img);
	free(c->mem);
	free(c->files);
	free(c->nt);
	maps__release(&c->maps);
	free(c->threads);
	free(c->cmdline);
	free(c->exe);
	free(c);
}

const struct maps *core__maps(const struct core *c)
{
	return &c->maps;
}

pid_t core__pid(const struct core *c)
{
	return c->pid;
}

const char *core__cmdline(const struct core *c)
{
	return c->cmdline;
}

const char *core__exe(const struct core *c)
{
	return c->exe;
}

size_t core__threads(const struct core *c, const struct core_thread **out)
{
	*out = c->threads;
	return c->nthreads;
}

const struct core_thread *core__thread(const struct core *c, pid_t tid)
{
	for (size_t i = 0; i < c->nthreads; i++)
		if (c->threads[i].tid == tid)
			return &c->threads[i];
	return NULL;
}
