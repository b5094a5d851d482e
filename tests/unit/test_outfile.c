/* SPDX-License-Identifier: MIT
 *
 * writers/outfile over a temporary directory: a complete write is renamed into
 * place with the umask's mode and no temporary file left; a failed one
 * leaves the path as it was; a symbolic link is followed; /dev/full and
 * /dev/stdout are written directly (ENOSPC reported); append mode appends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "writers/outfile.h"

static char dir[] = "/tmp/cspy-test-outfile-XXXXXX";

static char *path_of(const char *name)
{
	static char buf[4][256];
	static int i;
	char *p = buf[i++ % 4];
	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int nfiles(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.' || strstr(e->d_name, ".cspy-") != NULL;
	closedir(d);
	return n;
}

static int write_text(const char *path, enum outfile_mode mode, const char *text, int werr)
{
	struct outfile *of;
	int err = outfile__open(path, mode, &of);
	if (err)
		return err;
	fputs(text, outfile__stream(of));
	return outfile__close(of, werr);
}

static void test_replace(void)
{
	mode_t old = umask(027);
	CHECK_INT(write_text(path_of("a.txt"), OUTFILE_REPLACE, "one\n", 0), 0);
	umask(old);
	CHECK_STR(slurp(path_of("a.txt")), "one\n");
	struct stat st;
	CHECK_INT(stat(path_of("a.txt"), &st), 0);
	CHECK_INT(st.st_mode & 0777, 0640);
	CHECK_INT(nfiles(), 1);
	/* While it is written, only the temporary file grows. */
	struct outfile *of;
	CHECK_INT(outfile__open(path_of("a.txt"), OUTFILE_REPLACE, &of), 0);
	CHECK_INT(nfiles(), 2);
	fputs("two\n", outfile__stream(of));
	fflush(outfile__stream(of));
	CHECK_STR(slurp(path_of("a.txt")), "one\n");
	CHECK_INT(outfile__close(of, 0), 0);
	CHECK_STR(slurp(path_of("a.txt")), "two\n");
	CHECK_INT(nfiles(), 1);
}

static void test_failed_write_keeps_old(void)
{
	CHECK_INT(write_text(path_of("b.txt"), OUTFILE_REPLACE, "old\n", 0), 0);
	CHECK_INT(write_text(path_of("b.txt"), OUTFILE_REPLACE, "new\n", -EIO), -EIO);
	CHECK_STR(slurp(path_of("b.txt")), "old\n");
	CHECK_INT(write_text(path_of("c.txt"), OUTFILE_REPLACE, "new\n", -ECANCELED), -ECANCELED);
	CHECK(access(path_of("c.txt"), F_OK) != 0);
	CHECK_INT(nfiles(), 2);
	CHECK_INT(write_text(path_of("no-dir/d.txt"), OUTFILE_REPLACE, "x", 0), -ENOENT);
}

static void test_symlink(void)
{
	CHECK_INT(write_text(path_of("target.txt"), OUTFILE_REPLACE, "t1\n", 0), 0);
	CHECK_INT(symlink("target.txt", path_of("link.txt")), 0);
	CHECK_INT(write_text(path_of("link.txt"), OUTFILE_REPLACE, "t2\n", 0), 0);
	struct stat st;
	CHECK_INT(lstat(path_of("link.txt"), &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_STR(slurp(path_of("target.txt")), "t2\n");
	unlink(path_of("link.txt"));
	unlink(path_of("target.txt"));
}

static void test_dev_full(void)
{
	char big[100000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(write_text("/dev/full", OUTFILE_REPLACE, big, -EIO), -ENOSPC);
	CHECK_INT(write_text("/dev/full", OUTFILE_REPLACE, "small", 0), -ENOSPC);  /* at the flush */
	struct stat st;
	CHECK_INT(stat("/dev/full", &st), 0);
	CHECK(S_ISCHR(st.st_mode));
}

/* /dev/stdout as a regular file (a shell's `> file`) is the open
 * descriptor: written through it, never renamed over. */
static void test_fd_link(void)
{
	int fd = open(path_of("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	int saved = dup(STDOUT_FILENO);
	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	int err = write_text("/dev/stdout", OUTFILE_REPLACE, "through fd 1\n", 0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	struct stat a, b;
	CHECK_INT(fstat(fd, &a), 0);
	CHECK_INT(stat(path_of("stdout.txt"), &b), 0);
	close(fd);
	CHECK_INT(err, 0);
	CHECK(a.st_ino == b.st_ino);            /* the same file, not a new one */
	CHECK_STR(slurp(path_of("stdout.txt")), "through fd 1\n");
	CHECK_INT(nfiles(), 3);
	unlink(path_of("stdout.txt"));
}

/* outfile__gzip: a gzip file that zlib reads back, also past 64 KiB of
 * input; the same bytes every time; /dev/full still fails. */
static void test_gzip(void)
{
	for (int round = 0; round < 2; round++) {
		struct outfile *of;
		CHECK_INT(outfile__open(path_of(round ? "g2.gz" : "g.gz"), OUTFILE_REPLACE, &of), 0);
		CHECK_INT(outfile__gzip(of), 0);
		for (int i = 0; i < 20000; i++)
			fprintf(outfile__stream(of), "line %d\n", i);
		CHECK_INT(outfile__close(of, 0), 0);
	}
	gzFile g = gzopen(path_of("g.gz"), "rb");
	CHECK(g != NULL);
	char line[64];
	int n = 0, ok = 1;
	while (gzgets(g, line, sizeof(line))) {
		char want[64];
		snprintf(want, sizeof(want), "line %d\n", n++);
		ok &= strcmp(line, want) == 0;
	}
	gzclose(g);
	CHECK(ok);
	CHECK_INT(n, 20000);
	FILE *a = fopen(path_of("g.gz"), "rb"), *b = fopen(path_of("g2.gz"), "rb");
	int ca, cb, same = 1;
	do {
		ca = fgetc(a);
		cb = fgetc(b);
		same &= ca == cb;
	} while (ca != EOF && cb != EOF);
	fclose(a);
	fclose(b);
	CHECK(same);
	unlink(path_of("g.gz"));
	unlink(path_of("g2.gz"));
	struct outfile *of;
	CHECK_INT(outfile__open("/dev/full", OUTFILE_REPLACE, &of), 0);
	CHECK_INT(outfile__gzip(of), 0);
	for (int i = 0; i < 100000; i++)
		fprintf(outfile__stream(of), "%d\n", i * 7919);
	CHECK_INT(outfile__close(of, 0), -ENOSPC);
}

static void test_append(void)
{
	CHECK_INT(write_text(path_of("log.txt"), OUTFILE_APPEND, "a\n", 0), 0);
	CHECK_INT(write_text(path_of("log.txt"), OUTFILE_APPEND, "b\n", 0), 0);
	CHECK_STR(slurp(path_of("log.txt")), "a\nb\n");
	CHECK_INT(write_text("/dev/full", OUTFILE_APPEND, "x", 0), -ENOSPC);
}

/* OUTFILE_DIRECT (a stream, jsonl): written in place, readable while it
 * is written; outfile__flush pushes it out, with gzip a sync flush that
 * makes everything so far decompress; "-" is standard output. */
static void test_direct_flush(void)
{
	struct outfile *of;
	CHECK_INT(write_text(path_of("s.jsonl"), OUTFILE_REPLACE, "old\n", 0), 0);
	CHECK_INT(outfile__open(path_of("s.jsonl"), OUTFILE_DIRECT, &of), 0);
	CHECK(!outfile__atomic(of));
	CHECK_STR(slurp(path_of("s.jsonl")), "");       /* truncated at once */
	fputs("line 1\n", outfile__stream(of));
	CHECK_INT(outfile__flush(of), 0);
	CHECK_STR(slurp(path_of("s.jsonl")), "line 1\n");
	CHECK_INT(outfile__close(of, 0), 0);

	CHECK_INT(outfile__open(path_of("s.jsonl.gz"), OUTFILE_DIRECT, &of), 0);
	CHECK_INT(outfile__gzip(of), 0);
	fputs("first line\n", outfile__stream(of));
	CHECK_INT(outfile__flush(of), 0);
	gzFile gz = gzopen(path_of("s.jsonl.gz"), "rb");
	char buf[64] = "";
	CHECK(gz && gzread(gz, buf, sizeof(buf) - 1) == 11);
	CHECK_STR(buf, "first line\n");
	if (gz)
		gzclose(gz);
	CHECK_INT(outfile__close(of, 0), 0);

	CHECK_INT(outfile__open(path_of("r.txt"), OUTFILE_REPLACE, &of), 0);
	CHECK(outfile__atomic(of));
	CHECK_INT(outfile__close(of, -ECANCELED), -ECANCELED);
	CHECK_INT(outfile__open("-", OUTFILE_REPLACE, &of), 0);
	CHECK(!outfile__atomic(of));
	CHECK_INT(outfile__close(of, 0), 0);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_replace);
	TEST_RUN(test_failed_write_keeps_old);
	TEST_RUN(test_symlink);
	TEST_RUN(test_dev_full);
	TEST_RUN(test_fd_link);
	TEST_RUN(test_append);
	TEST_RUN(test_gzip);
	TEST_RUN(test_direct_flush);
	const char *names[] = { "a.txt", "b.txt", "log.txt" };
	for (size_t i = 0; i < 3; i++)
		unlink(path_of(names[i]));
	rmdir(dir);
	return TEST_REPORT();
}
