/* SPDX-License-Identifier: MIT
 *
 * Short file names (see shortname.h). For each directory above the file,
 * starting at its own, we test for <root><dir>/__init__.py with access(); the
 * walk stops at the first directory without one (at most 64 levels). Paths
 * that are not file paths ("<frozen ...>", "<string>") are kept as they are.
 */
#include "python/shortname.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xalloc.h"

#define NBUCKETS 1024

struct entry {
	char *path, *short_name;
	struct entry *next;
};

struct shortname {
	char *root, *cwd;
	struct entry *b[NBUCKETS];
};

struct shortname *shortname__new(const char *root, const char *cwd)
{
	struct shortname *s = xcalloc(1, sizeof(*s));
	s->root = xstrdup(root ? root : "");
	s->cwd = cwd ? xstrdup(cwd) : NULL;
	return s;
}

void shortname__free(struct shortname *s)
{
	if (!s)
		return;
	for (int i = 0; i < NBUCKETS; i++) {
		for (struct entry *e = s->b[i], *n; e; e = n) {
			n = e->next;
			free(e->path);
			free(e->short_name);
			free(e);
		}
	}
	free(s->root);
	free(s->cwd);
	free(s);
}

static unsigned hash(const char *p)
{
	unsigned h = 2166136261u;
	while (*p)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static bool is_package_dir(const struct shortname *s, const char *dir, size_t len)
{
	char buf[4200];
	if (snprintf(buf, sizeof(buf), "%s%.*s/__init__.py", s->root, (int)len, dir) >= (int)sizeof(buf))
		return false;
	return access(buf, F_OK) == 0;
}

static char *compute(const struct shortname *s, const char *path)
{
	if (path[0] == '<' || path[0] == '\0')
		return xstrdup(path);
	char *abs = path[0] == '/' || !s->cwd ? xstrdup(path) : xasprintf("%s/%s", s->cwd, path);
	const char *base = strrchr(abs, '/');
	if (!base || abs[0] != '/') {
		char *r = xstrdup(base ? base + 1 : abs);
		free(abs);
		return r;
	}
	/* start: position of the '/' before the shown part */
	size_t start = (size_t)(base - abs);
	for (int level = 0; level < 64 && start > 0; level++) {
		if (!is_package_dir(s, abs, start))
			break;
		size_t p = start;
		while (p > 0 && abs[p - 1] != '/')
			p--;
		if (p == 0)
			break;
		start = p - 1;
	}
	char *r = xstrdup(abs + start + 1);
	free(abs);
	return r;
}

const char *shortname__get(struct shortname *s, const char *path)
{
	unsigned h = hash(path) % NBUCKETS;
	for (struct entry *e = s->b[h]; e; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e->short_name;
	struct entry *e = xmalloc(sizeof(*e));
	e->path = xstrdup(path);
	e->short_name = compute(s, path);
	e->next = s->b[h];
	s->b[h] = e;
	return e->short_name;
}
