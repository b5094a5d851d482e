/* SPDX-License-Identifier: MIT
 *
 * /proc/PID/maps parsing. maps_parse() turns the text of a maps file into a
 * sorted array of struct map; it is pure (no I/O), bounded, and never trusts
 * its input, so it is unit-tested and fuzzed. maps__load() reads the file of a
 * live process.
 */
#ifndef CSPY_MAPS_H
#define CSPY_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAP_R 1u
#define MAP_W 2u
#define MAP_X 4u
#define MAP_P 8u /* private (copy-on-write) */

struct map {
	uint64_t start, end;    /* [start, end) */
	uint64_t offset;        /* file offset of start */
	uint64_t inode;
	unsigned perms;         /* MAP_R | MAP_W | MAP_X | MAP_P */
	bool deleted;           /* path ended in " (deleted)" (suffix removed from path) */
	char *path;             /* "" for anonymous, "[heap]", "/usr/lib/..." ; owned */
};

struct maps {
	struct map *v;          /* sorted by start */
	size_t n;
};

/* Parse maps text (len bytes, need not be NUL-terminated). Malformed lines are
 * skipped. At most 1,000,000 lines are kept. Returns 0 or -EINVAL when nothing
 * parsed from non-empty input. On success *out owns its strings. */
int maps_parse(const char *text, size_t len, struct maps *out);

/* Read and parse /proc/PID/maps. Returns 0, -ENOENT (no such process),
 * -EACCES/-EPERM, or another -errno. */
int maps__load(pid_t pid, struct maps *out);

/* Release what maps_parse()/maps__load() allocated; *m becomes empty. */
void maps__release(struct maps *m);

/* The mapping containing addr, or NULL (binary search). */
const struct map *maps__find(const struct maps *m, uint64_t addr);

/* Basename of a mapping path (pointer into path). */
const char *maps_basename(const char *path);

#endif
