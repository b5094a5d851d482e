/* SPDX-License-Identifier: MIT
 *
 * Unit tests of reading a recording's sources: procfs_read_root_file
 * (proc/procfs.h) on this process's own files (absolute through
 * /proc/self/root, relative through its cwd; too large, missing, a
 * directory, a process that does not exist), and srcread
 * (sampler/srcread.h) over a profile whose frames name such files: text or
 * the error of each, "<frozen ...>" not a file, the per-file and total
 * bounds, each file read once, only stacks added since the last scan, at
 * most so many files per scan.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agg/profile.h"
#include "harness.h"
#include "proc/procfs.h"
#include "sampler/srcread.h"

static char dir[64];

static void put(const char *name, size_t n, char c)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < n; i++)
		fputc(i % 40 == 39 ? '\n' : c, f);
	fclose(f);
}

static void test_read_root_file(void)
{
	char path[128], *buf = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/small.py", dir);
	CHECK_INT(procfs_read_root_file(getpid(), path, 100, &buf, &len), 0);
	CHECK_INT(len, 80);
	CHECK(buf && buf[0] == 's' && buf[39] == '\n');
	free(buf);
	buf = NULL;
	CHECK_INT(procfs_read_root_file(getpid(), path, 79, &buf, &len), -EFBIG);
	CHECK_INT(procfs_read_root_file(getpid(), path, 80, &buf, &len), 0);
	free(buf);
	buf = NULL;
	snprintf(path, sizeof(path), "%s/missing.py", dir);
	CHECK_INT(procfs_read_root_file(getpid(), path, 100, &buf, &len), -ENOENT);
	CHECK_INT(procfs_read_root_file(getpid(), dir, 100, &buf, &len), -EINVAL);
	CHECK_INT(procfs_read_root_file(0x3fffffff, "/etc/hostname", 100, &buf, &len), -ESRCH);
	/* Relative: from the process's current directory. */
	char cwd[256];
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_INT(chdir(dir), 0);
	CHECK_INT(procfs_read_root_file(getpid(), "small.py", 100, &buf, &len), 0);
	CHECK_INT(len, 80);
	free(buf);
	CHECK_INT(chdir(cwd), 0);
	CHECK(buf != NULL);
}

static uint32_t frame(struct profile *p, const char *file, enum prof_frame_kind kind)
{
	char full[160];
	snprintf(full, sizeof(full), file[0] == '<' ? "%s" : "%s/%s", file[0] == '<' ? file : dir, file);
	return profile__frame(p, "f", full, file, 1, kind);
}

static const struct prof_source *source(struct profile *p, const char *file)
{
	char full[160];
	snprintf(full, sizeof(full), "%s/%s", dir, file);
	return profile__source(p, full);
}

static void test_srcread(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, getpid(), getpid(), "MainThread", "test");
	uint32_t a[] = { frame(p, "small.py", PROF_FRAME_PYTHON), frame(p, "big.py", PROF_FRAME_PYTHON) };
	uint32_t b[] = { frame(p, "<frozen importlib._bootstrap>", PROF_FRAME_PYTHON),
			 frame(p, "missing.py", PROF_FRAME_PYTHON), frame(p, "other.py", PROF_FRAME_NATIVE) };
	profile__add(p, t, a, 2, 0, 1);
	struct srcread *r = srcread__new(p, 100, 150);
	srcread__scan(r, 0);
	const struct prof_source *s = source(p, "small.py");
	CHECK(s && s->text && s->len == 80 && !s->error);
	s = source(p, "big.py");
	CHECK(s && !s->text && s->error);
	CHECK_STR(s ? s->error : NULL, "larger than 100 bytes");
	CHECK(profile__source(p, "<frozen importlib._bootstrap>") == NULL);     /* not seen yet */
	profile__add(p, t, b, 3, 1, 1);
	srcread__scan(r, 0);
	s = profile__source(p, "<frozen importlib._bootstrap>");
	CHECK_STR(s ? s->error : NULL, "not a file");
	s = source(p, "missing.py");
	CHECK_STR(s ? s->error : NULL, "not found");
	CHECK(source(p, "other.py") == NULL);           /* a native frame's file: not read */
	size_t failed = 0;
	CHECK_INT(srcread__files(r, &failed), 1);
	CHECK_INT(failed, 3);
	/* Budget: 80 of 150 bytes used; a second 80-byte file is over it. */
	uint32_t c[] = { frame(p, "small2.py", PROF_FRAME_PYTHON) };
	profile__add(p, t, c, 1, 2, 1);
	srcread__scan(r, 0);
	s = source(p, "small2.py");
	CHECK_STR(s ? s->error : NULL, "not read: over the 150 bytes budget of sources");
	/* Nothing new: nothing read again. */
	srcread__scan(r, 0);
	CHECK_INT(srcread__files(r, &failed), 1);
	CHECK_INT(failed, 4);
	srcread__free(r);
	profile__free(p);
}

/* At most max_files per call; the next call goes on where it stopped. */
static void test_scan_limit(void)
{
	struct profile *p = profile__new();
	uint32_t t = profile__thread(p, getpid(), getpid(), "MainThread", "test");
	uint32_t a[] = { frame(p, "small.py", PROF_FRAME_PYTHON), frame(p, "big.py", PROF_FRAME_PYTHON),
			 frame(p, "missing.py", PROF_FRAME_PYTHON) };
	profile__add(p, t, a, 3, 0, 1);
	struct srcread *r = srcread__new(p, 100, 1000);
	size_t failed = 0;
	srcread__scan(r, 2);
	CHECK_INT(srcread__files(r, &failed) + failed, 2);
	CHECK(source(p, "missing.py") == NULL);
	srcread__scan(r, 2);
	CHECK_INT(srcread__files(r, &failed) + failed, 3);
	CHECK(source(p, "missing.py") != NULL);
	srcread__scan(r, 2);
	CHECK_INT(srcread__files(r, &failed) + failed, 3);
	srcread__free(r);
	profile__free(p);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cspy-srcread-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	put("small.py", 80, 's');
	put("small2.py", 80, 't');
	put("big.py", 200, 'b');
	TEST_RUN(test_read_root_file);
	TEST_RUN(test_srcread);
	TEST_RUN(test_scan_limit);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return TEST_REPORT();
}
