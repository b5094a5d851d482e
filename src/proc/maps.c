/* SPDX-License-Identifier: MIT
 *
 * /proc/PID/maps parsing. Each line has the shape
 *
 *     start-end perms offset major:minor inode   path
 *
 * where the numbers are hex except the decimal inode, perms is four
 * characters like "r-xp", and the path (absent for anonymous mappings) runs
 * to the end of the line, may contain spaces, and may end in " (deleted)".
 * maps_parse() walks the text line by line with a bounded cursor (it never
 * looks past len and never needs a NUL terminator), skips any line that does
 * not match the shape exactly, copies the path, and finally sorts the array by
 * start address. maps__load() slurps the procfs file (whose size stat()
 * reports as 0, so it reads until EOF with a growing buffer) and hands the
 * text to maps_parse().
 */
#include "proc/maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/procfs.h"
#include "util/xalloc.h"

#define MAPS_MAX_LINES 1000000u
/* A maps file larger than this is not something we want to hold in memory. */
#define MAPS_MAX_BYTES (512u << 20)

static const char deleted_suffix[] = " (deleted)";

/* A cursor over one line: [p, end). */
struct cur {
	const char *p, *end;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse at least one hex digit into *v; fails on no digits or overflow. */
static int cur_hex(struct cur *c, uint64_t *v)
{
	uint64_t x = 0;
	const char *start = c->p;
	int d;

	while (c->p < c->end && (d = hexval(*c->p)) >= 0) {
		if (x > (UINT64_MAX >> 4))
			return -1;
		x = (x << 4) | (uint64_t)d;
		c->p++;
	}
	if (c->p == start)
		return -1;
	*v = x;
	return 0;
}

/* Parse at least one decimal digit into *v; fails on no digits or overflow. */
static int cur_dec(struct cur *c, uint64_t *v)
{
	uint64_t x = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		uint64_t d = (uint64_t)(*c->p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
		c->p++;
	}
	if (c->p == start)
		return -1;
	*v = x;
	return 0;
}

static int cur_char(struct cur *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return -1;
	c->p++;
	return 0;
}

/* One or more spaces. */
static int cur_spaces(struct cur *c)
{
	if (c->p >= c->end || *c->p != ' ')
		return -1;
	while (c->p < c->end && *c->p == ' ')
		c->p++;
	return 0;
}

static int cur_perms(struct cur *c, unsigned *perms)
{
	static const char want[3] = { 'r', 'w', 'x' };
	static const unsigned bit[3] = { MAP_R, MAP_W, MAP_X };
	unsigned v = 0;

	if (c->end - c->p < 4)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (c->p[i] == want[i])
			v |= bit[i];
		else if (c->p[i] != '-')
			return -1;
	}
	if (c->p[3] == 'p')
		v |= MAP_P;
	else if (c->p[3] != 's')
		return -1;
	c->p += 4;
	*perms = v;
	return 0;
}

/* Parse one line (without its '\n') into *m. Returns 0, or -1 when the line
 * is malformed; on success m->path is a fresh heap string. */
static int parse_line(const char *line, size_t len, struct map *m)
{
	struct cur c = { line, line + len };
	uint64_t major, minor;
	const char *path;
	size_t plen;

	if (memchr(line, '\0', len))
		return -1;
	if (cur_hex(&c, &m->start) || cur_char(&c, '-') || cur_hex(&c, &m->end) ||
	    cur_spaces(&c) || cur_perms(&c, &m->perms) || cur_spaces(&c) ||
	    cur_hex(&c, &m->offset) || cur_spaces(&c) ||
	    cur_hex(&c, &major) || cur_char(&c, ':') || cur_hex(&c, &minor) ||
	    cur_spaces(&c) || cur_dec(&c, &m->inode))
		return -1;
	if (m->start >= m->end)
		return -1;
	/* Anything after the inode must be separated from it by a space. */
	if (c.p < c.end && cur_spaces(&c))
		return -1;

	path = c.p;
	plen = (size_t)(c.end - c.p);
	m->deleted = false;
	if (plen >= sizeof(deleted_suffix) - 1 &&
	    memcmp(path + plen - (sizeof(deleted_suffix) - 1), deleted_suffix,
		   sizeof(deleted_suffix) - 1) == 0) {
		m->deleted = true;
		plen -= sizeof(deleted_suffix) - 1;
	}
	m->path = xstrndup(path, plen);
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int maps_parse(const char *text, size_t len, struct maps *out)
{
	struct map *v = NULL;
	size_t n = 0, cap = 0;
	bool saw_content = false, sorted = true;
	size_t pos = 0;

	out->v = NULL;
	out->n = 0;
	if (!text)
		len = 0;

	while (pos < len && n < MAPS_MAX_LINES) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		struct map m = { 0 };

		pos += llen + (nl ? 1 : 0);
		if (!is_blank(line, llen))
			saw_content = true;
		if (parse_line(line, llen, &m))
			continue;
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		if (n && map_cmp(&v[n - 1], &m) > 0)
			sorted = false;
		v[n++] = m;
	}

	if (n == 0) {
		free(v);
		return saw_content ? -EINVAL : 0;
	}
	if (!sorted)
		qsort(v, n, sizeof(*v), map_cmp);
	out->v = v;
	out->n = n;
	return 0;
}


int maps__load(pid_t pid, struct maps *out)
{
	char path[64];
	char *text = NULL;
	size_t len = 0;
	int fd, err;

	out->v = NULL;
	out->n = 0;
	if (pid <= 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = procfs_read_fd(fd, MAPS_MAX_BYTES, 0, &text, &len);
	close(fd);
	if (err)
		goto out;
	err = maps_parse(text, len, out);
out:
	/* A process that exits while we read shows up as ESRCH. */
	if (err == -ESRCH)
		err = -ENOENT;
	free(text);
	return err;
}

void maps__release(struct maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

const struct map *maps__find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!m || !m->v)
		return NULL;
	/* Find the last mapping with start <= addr. */
	hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	if (addr < m->v[lo - 1].end)
		return &m->v[lo - 1];
	return NULL;
}

const char *maps_basename(const char *path)
{
	const char *slash;

	if (!path)
		return "";
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}
