/* SPDX-License-Identifier: MIT
 *
 * Short file names as py-spy shows them: a file inside a package is shown
 * relative to the directory above its top-most package (the directories
 * holding __init__.py), e.g. /srv/app/pkg/sub/mod.py -> pkg/sub/mod.py; any
 * other file by its base name. The target's files are looked up through
 * /proc/PID/root, so containers work. Results are cached per file name.
 */
#ifndef CSPY_SHORTNAME_H
#define CSPY_SHORTNAME_H

#include <stdbool.h>
#include <sys/types.h>

struct shortname;

/* root: the directory the target's absolute paths are relative to ("/proc/PID/root",
 * or "" for the local file system); cwd: the target's working directory (for
 * relative file names), may be NULL. */
struct shortname *shortname__new(const char *root, const char *cwd);
void shortname__free(struct shortname *s);

/* The short name of path; borrowed, valid until shortname__free. */
const char *shortname__get(struct shortname *s, const char *path);

#endif
