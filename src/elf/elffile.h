/* SPDX-License-Identifier: MIT
 *
 * A small libelf wrapper for what cspy needs of the binaries mapped into a
 * target: symbol values (.dynsym first, then .symtab), section addresses
 * (".PyRuntime"), the ELF type and the first PT_LOAD vaddr (for the load bias),
 * and reads of file-backed data by virtual address (e.g. the const Py_Version).
 * Symbol tables are indexed into a hash table once at open, so lookups are
 * O(1). All lengths read from the file are bounded by the file's size.
 */
#ifndef CSPY_ELFFILE_H
#define CSPY_ELFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elffile;

/* Open an ELF file by path. Returns 0 and *out, or -errno (-ENOEXEC when the
 * file is not a 64-bit little-endian ELF file). */
int elffile__open(const char *path, struct elffile **out);
/* The same from an open file descriptor; takes ownership of fd (it is closed
 * on failure too). */
int elffile__open_fd(int fd, struct elffile **out);
/* The same from an ELF image in memory (e.g. a fuzzer input); the image is
 * copied, so buf need not outlive the call. */
int elffile__open_mem(const void *buf, size_t len, struct elffile **out);
void elffile__close(struct elffile *ef);

/* ET_EXEC or ET_DYN (from <elf.h>). */
int elffile__type(const struct elffile *ef);
/* p_vaddr of the first PT_LOAD segment, rounded down to the page (4096). */
uint64_t elffile__first_load_vaddr(const struct elffile *ef);

/* Look up a symbol by exact name: .dynsym first, then .symtab. Skips
 * undefined symbols (st_shndx == SHN_UNDEF). Returns 0 and fills *value (st_value,
 * an unrelocated vaddr; for TLS symbols the TLS offset) and *size (may be
 * NULL), or -ENOENT. */
int elffile__symbol(const struct elffile *ef, const char *name, uint64_t *value, uint64_t *size);

/* True when any defined symbol's name starts with prefix (e.g. "PyUnicodeUCS4_"). */
bool elffile__has_symbol_prefix(const struct elffile *ef, const char *prefix);

/* Section by name: 0 and *addr (sh_addr), *size, or -ENOENT. */
int elffile__section(const struct elffile *ef, const char *name, uint64_t *addr, uint64_t *size);

/* Copy len bytes of file contents at virtual address vaddr (inside a PT_LOAD
 * segment's file-backed part). Returns 0, -EFAULT when the range is not
 * file-backed (e.g. .bss), -ERANGE when the file is shorter than its program
 * headers claim, or another -errno from reading the file. */
int elffile__read_vaddr(const struct elffile *ef, uint64_t vaddr, void *buf, size_t len);

/* Number of symbols indexed (both tables), for tests and diagnostics. */
size_t elffile__nsymbols(const struct elffile *ef);

#endif
