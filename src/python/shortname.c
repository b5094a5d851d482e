/* SPDX-License-Identifier: MIT
 *
 * Short file names (see shortname.h). For each directory above the file,
 * starting at its own, we test for <root><dir>/__init__.py with access(); the
 * walk stops at the first directory without one (at most 64 levels). Paths
 * that are not file paths ("<frozen ...>", "<string>") are kept as they are.
 * Each path is computed once: the results are kept in an array, found by the
 * path's hash through the shared hash index (util/hashmap.h).
 */
#include "python/shortname.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hashmap.h"
#include "util/xalloc.h"

struct entry {
	char *path, *short_name;
};

struct shortname {
	char *root, *cwd;
	struct entry *e;
	size_t n, cap;
	struct hashmap index;           /* FNV-1a of the path -> index in e */
};

struct shortname *shortname__new(const char *root, const char *cwd)
{
	struct shortname *s = xcalloc(1, sizeof(*s));
	s->root = xstrdup(root ? root : "");
	s->cwd = cwd ? xstrdup(cwd) : NULL;
	hashmap__init(&s->index, 1024);
	return s;
}

void shortname__free(struct shortname *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].path);
		free(s->e[i].short_name);
	}
	free(s->e);
	hashmap__fini(&s->index);
	free(s->root);
	free(s->cwd);
	free(s);
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
	struct hashmap_pos pos;
	uint64_t h = hashmap_fnv_str(path);
	for (uint32_t id = hashmap__first(&s->index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&s->index, &pos))
		if (strcmp(s->e[id].path, path) == 0)
			return s->e[id].short_name;
	s->e = xgrow(s->e, &s->cap, s->n + 1, sizeof(*s->e));
	struct entry *e = &s->e[s->n];
	e->path = xstrdup(path);
	e->short_name = compute(s, path);
	hashmap__insert(&s->index, &pos, (uint32_t)s->n++);
	return e->short_name;
}
