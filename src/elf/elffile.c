/* SPDX-License-Identifier: MIT
 *
 * A small libelf wrapper (see elffile.h). At open we let libelf parse the
 * file once (ELF_C_READ on a descriptor, so libelf reads lazily with pread
 * and checks every section against the file size; elf_memory on a private
 * copy for in-memory images) and copy out everything cspy will ask later:
 * the PT_LOAD segments, the section names and addresses, and every defined
 * symbol of .dynsym and .symtab. Symbol names go into one string arena, the
 * symbols into an array indexed by their names' hashes (util/hashmap.h); a name
 * from .dynsym always wins over the same name in .symtab, and within one
 * table a global symbol wins over a weak one, which wins over a local one.
 * The Elf handle is then released; what stays open is the descriptor (or the
 * copied image), used by elffile__read_vaddr() to copy file bytes that back a
 * virtual address, bounded by the segment's p_filesz and the file's size.
 */
#include "elf/elffile.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/hashmap.h"
#include "util/xalloc.h"

struct seg {
	uint64_t vaddr, offset, filesz;
};

struct sec {
	char *name;
	uint64_t addr, size;
};

struct sym {
	size_t name;            /* offset into the arena */
	uint64_t value, size;
	unsigned rank;          /* precedence; higher wins */
};

struct elffile {
	int fd;                 /* -1 for an in-memory image */
	char *image;            /* owned copy for an in-memory image */
	uint64_t file_size;
	int type;
	uint64_t first_load;

	struct seg *segs;
	size_t nsegs;
	struct sec *secs;
	size_t nsecs;

	struct sym *syms;
	size_t nsyms, syms_cap;
	struct hashmap index;   /* name -> symbol */
	char *arena;
	size_t arena_len, arena_cap;
};

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ok;

static void libelf_init(void)
{
	libelf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

static const char *sym_name(const struct elffile *ef, const struct sym *s)
{
	return ef->arena + s->name;
}

/* The symbol called name, or NULL; *pos: where the search ended. */
static struct sym *sym_find(const struct elffile *ef, const char *name, struct hashmap_pos *pos)
{
	for (uint32_t id = hashmap__first(&ef->index, hashmap_fnv_str(name), pos); id != HASHMAP_NONE;
	     id = hashmap__next(&ef->index, pos))
		if (strcmp(sym_name(ef, &ef->syms[id]), name) == 0)
			return &ef->syms[id];
	return NULL;
}

static size_t arena_add(struct elffile *ef, const char *s)
{
	size_t n = strlen(s) + 1, off = ef->arena_len;

	ef->arena = xgrow(ef->arena, &ef->arena_cap, ef->arena_len + n, 1);
	memcpy(ef->arena + off, s, n);
	ef->arena_len += n;
	return off;
}

static void tab_add(struct elffile *ef, const char *name, uint64_t value,
		    uint64_t size, unsigned rank)
{
	struct hashmap_pos pos;
	struct sym *s;

	if (!ef->index.slots)
		hashmap__init(&ef->index, 1024);
	s = sym_find(ef, name, &pos);
	if (s) {
		if (rank > s->rank) {
			s->value = value;
			s->size = size;
			s->rank = rank;
		}
		return;
	}
	ef->syms = xgrow(ef->syms, &ef->syms_cap, ef->nsyms + 1, sizeof(*ef->syms));
	ef->syms[ef->nsyms] = (struct sym){ arena_add(ef, name), value, size, rank };
	hashmap__insert(&ef->index, &pos, (uint32_t)ef->nsyms);
	ef->nsyms++;
}

static unsigned bind_rank(unsigned char info)
{
	switch (GELF_ST_BIND(info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
	case STB_GNU_UNIQUE:
		return 2;
	default:
		return 1;
	}
}

/* Index the defined symbols of every section of type sh_type. */
static void index_symbols(struct elffile *ef, Elf *elf, Elf64_Word sh_type,
			  unsigned table_rank)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != sh_type)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		size_t count = data->d_size / sizeof(Elf64_Sym);
		if (count > INT_MAX)
			count = INT_MAX;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0)
				continue;
			unsigned t = GELF_ST_TYPE(sym.st_info);
			if (t == STT_SECTION || t == STT_FILE)
				continue;
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			tab_add(ef, name, sym.st_value, sym.st_size,
				table_rank * 4 + bind_rank(sym.st_info));
		}
	}
}

static void index_sections(struct elffile *ef, Elf *elf)
{
	size_t shstrndx, cap = 0;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr shdr;
		const char *name;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || !*name)
			continue;
		ef->secs = xgrow(ef->secs, &cap, ef->nsecs + 1, sizeof(*ef->secs));
		ef->secs[ef->nsecs++] = (struct sec){
			.name = xstrdup(name), .addr = shdr.sh_addr, .size = shdr.sh_size,
		};
	}
}

static int index_segments(struct elffile *ef, Elf *elf)
{
	size_t phnum, cap = 0;
	bool any = false;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return -ENOEXEC;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		uint64_t page = ph.p_vaddr & ~(uint64_t)4095;
		if (!any || page < ef->first_load)
			ef->first_load = page;
		any = true;
		ef->segs = xgrow(ef->segs, &cap, ef->nsegs + 1, sizeof(*ef->segs));
		ef->segs[ef->nsegs++] = (struct seg){
			.vaddr = ph.p_vaddr, .offset = ph.p_offset, .filesz = ph.p_filesz,
		};
	}
	return 0;
}

/* Fill ef from a freshly begun Elf handle. Returns 0 or -errno. */
static int load(struct elffile *ef, Elf *elf)
{
	GElf_Ehdr eh;
	const char *ident;
	size_t idlen;

	if (!elf || elf_kind(elf) != ELF_K_ELF)
		return -ENOEXEC;
	ident = elf_getident(elf, &idlen);
	if (!ident || idlen < EI_NIDENT || ident[EI_CLASS] != ELFCLASS64 ||
	    ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	if (!gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return -ENOEXEC;
	ef->type = eh.e_type;
	if (index_segments(ef, elf))
		return -ENOEXEC;
	index_sections(ef, elf);
	index_symbols(ef, elf, SHT_DYNSYM, 1);
	index_symbols(ef, elf, SHT_SYMTAB, 0);
	return 0;
}

static struct elffile *elffile_new(void)
{
	struct elffile *ef = xcalloc(1, sizeof(*ef));

	ef->fd = -1;
	return ef;
}

int elffile__open_fd(int fd, struct elffile **out)
{
	struct elffile *ef = NULL;
	Elf *elf = NULL;
	struct stat st;
	int err;

	*out = NULL;
	pthread_once(&libelf_once, libelf_init);
	if (!libelf_ok) {
		err = -ENOSYS;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto out;
	}
	ef = elffile_new();
	ef->fd = fd;
	ef->file_size = (uint64_t)st.st_size;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = load(ef, elf);
out:
	if (elf)
		elf_end(elf);
	if (err) {
		if (ef)
			elffile__close(ef);
		else
			close(fd);
		return err;
	}
	*out = ef;
	return 0;
}

int elffile__open(const char *path, struct elffile **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return -errno;
	return elffile__open_fd(fd, out);
}

int elffile__open_mem(const void *buf, size_t len, struct elffile **out)
{
	struct elffile *ef;
	Elf *elf = NULL;
	int err;

	*out = NULL;
	pthread_once(&libelf_once, libelf_init);
	if (!libelf_ok)
		return -ENOSYS;
	if (!buf || len < EI_NIDENT)
		return -ENOEXEC;
	ef = elffile_new();
	ef->image = xmalloc(len);
	memcpy(ef->image, buf, len);
	ef->file_size = len;
	elf = elf_memory(ef->image, len);
	err = load(ef, elf);
	if (elf)
		elf_end(elf);
	if (err) {
		elffile__close(ef);
		return err;
	}
	*out = ef;
	return 0;
}

void elffile__close(struct elffile *ef)
{
	if (!ef)
		return;
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef->image);
	free(ef->segs);
	for (size_t i = 0; i < ef->nsecs; i++)
		free(ef->secs[i].name);
	free(ef->secs);
	free(ef->syms);
	hashmap__fini(&ef->index);
	free(ef->arena);
	free(ef);
}

int elffile__type(const struct elffile *ef)
{
	return ef->type;
}

uint64_t elffile__first_load_vaddr(const struct elffile *ef)
{
	return ef->first_load;
}

int elffile__symbol(const struct elffile *ef, const char *name, uint64_t *value, uint64_t *size)
{
	const struct sym *s;

	if (!name || !*name || ef->nsyms == 0)
		return -ENOENT;
	struct hashmap_pos pos;
	s = sym_find(ef, name, &pos);
	if (!s)
		return -ENOENT;
	if (value)
		*value = s->value;
	if (size)
		*size = s->size;
	return 0;
}

bool elffile__has_symbol_prefix(const struct elffile *ef, const char *prefix)
{
	size_t n;

	if (!prefix)
		prefix = "";
	n = strlen(prefix);
	for (size_t i = 0; i < ef->nsyms; i++) {
		const struct sym *s = &ef->syms[i];
		if (strncmp(sym_name(ef, s), prefix, n) == 0)
			return true;
	}
	return false;
}

int elffile__section(const struct elffile *ef, const char *name, uint64_t *addr, uint64_t *size)
{
	if (!name)
		return -ENOENT;
	for (size_t i = 0; i < ef->nsecs; i++) {
		if (strcmp(ef->secs[i].name, name) != 0)
			continue;
		if (addr)
			*addr = ef->secs[i].addr;
		if (size)
			*size = ef->secs[i].size;
		return 0;
	}
	return -ENOENT;
}

/* Copy len bytes at file offset off, which the caller has bounded. */
static int read_file(const struct elffile *ef, uint64_t off, void *buf, size_t len)
{
	char *p = buf;

	if (ef->image) {
		memcpy(p, ef->image + off, len);
		return 0;
	}
	while (len) {
		ssize_t r = pread(ef->fd, p, len, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ERANGE; /* the file shrank under us */
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

int elffile__read_vaddr(const struct elffile *ef, uint64_t vaddr, void *buf, size_t len)
{
	for (size_t i = 0; i < ef->nsegs; i++) {
		const struct seg *s = &ef->segs[i];

		if (vaddr < s->vaddr)
			continue;
		uint64_t rel = vaddr - s->vaddr;
		if (rel > s->filesz || len > s->filesz - rel)
			continue;
		/* The range is file-backed; make sure the file really has it. */
		if (s->offset > ef->file_size || rel > ef->file_size - s->offset ||
		    len > ef->file_size - s->offset - rel)
			return -ERANGE;
		return read_file(ef, s->offset + rel, buf, len);
	}
	return -EFAULT;
}

size_t elffile__nsymbols(const struct elffile *ef)
{
	return ef->nsyms;
}
