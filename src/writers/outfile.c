/* SPDX-License-Identifier: MIT
 *
 * Output files (see outfile.h). The destination is resolved first (a
 * symbolic link to the file it names); a regular or missing file gets a
 * temporary sibling created with O_EXCL under a random name; anything
 * else, a descriptor named through /proc/PID/fd (/dev/stdout), and a
 * writable file in a directory where nothing can be created are opened
 * directly. The FILE given to the writers is a fopencookie() stream over
 * the descriptor whose write function keeps the first errno (and, after
 * outfile__gzip, deflates on the way with zlib); closing finishes the
 * compressed stream and decides between rename and unlink.
 */
#include "writers/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "util/xalloc.h"

#define TMP_TRIES 100
#define TMP_BASE_MAX 200        /* of NAME in .NAME.cspy-XXXXXX (NAME_MAX is 255) */

#define GZ_CHUNK 65536

struct outfile {
	FILE *f;
	int fd;
	int err;                /* first failed write: -errno */
	char *path;             /* where the file ends up */
	char *tmp;              /* the temporary file, or NULL: writing path directly */
	z_stream *z;            /* outfile__gzip: compressing, else NULL */
	unsigned char *zbuf;    /* GZ_CHUNK bytes of compressed output */
};

/* Write all of buf to the descriptor; 0, or -errno kept in of->err. */
static int raw_write(struct outfile *of, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(of->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!of->err)
				of->err = w < 0 ? -errno : -EIO;
			return of->err;
		}
		done += (size_t)w;
	}
	return 0;
}

/* Compress n bytes of buf (flush: Z_FINISH at the end) and write what
 * deflate gives out. 0 or -errno. */
static int gz_write(struct outfile *of, const char *buf, size_t n, int flush)
{
	z_stream *z = of->z;
	z->next_in = (unsigned char *)buf;
	z->avail_in = (uInt)n;
	int zr;
	do {
		z->next_out = of->zbuf;
		z->avail_out = GZ_CHUNK;
		zr = deflate(z, flush);
		if (zr == Z_STREAM_ERROR)
			return of->err ? of->err : (of->err = -EIO);
		int err = raw_write(of, of->zbuf, GZ_CHUNK - z->avail_out);
		if (err)
			return err;
	} while (z->avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static ssize_t cookie_write(void *arg, const char *buf, size_t n)
{
	struct outfile *of = arg;
	int err = 0;
	if (of->z) {
		/* avail_in is 32 bits: feed large writes in pieces. */
		for (size_t off = 0; off < n && !err; off += 1u << 30)
			err = gz_write(of, buf + off, n - off < (1u << 30) ? n - off : 1u << 30, Z_NO_FLUSH);
	} else {
		err = raw_write(of, buf, n);
	}
	if (err) {
		errno = -err;
		return 0;       /* fopencookie: 0 is an error */
	}
	return (ssize_t)n;
}

/* The descriptor is closed by outfile__close(), which checks it. */
static int cookie_close(void *arg)
{
	(void)arg;
	return 0;
}

/* A name for the temporary file: .BASE.cspy-XXXXXX beside dest. */
static char *tmp_name(const char *dest)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	const char *slash = strrchr(dest, '/');
	const char *base = slash ? slash + 1 : dest;
	int dirlen = slash ? (int)(slash - dest) + 1 : 0;
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec;
	}
	char suffix[7];
	for (int i = 0; i < 6; i++, r /= sizeof(digits) - 1)
		suffix[i] = digits[r % (sizeof(digits) - 1)];
	suffix[6] = '\0';
	return xasprintf("%.*s.%.*s.cspy-%s", dirlen, dest, TMP_BASE_MAX, base, suffix);
}

/* path names an open descriptor through /proc/PID/fd (/dev/stdout,
 * /dev/fd/N, /proc/self/fd/N): not a name to replace. */
static bool is_fd_link(const char *path)
{
	char link[PATH_MAX];
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		if (strncmp(link, "/proc/", 6) == 0)
			return true;
	}
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	bool fd = strncmp(path, "/proc/", 6) == 0;
	if (slash && !fd) {
		*slash = '\0';
		char *real = realpath(slash == dir ? "/" : dir, NULL);
		fd = real && strncmp(real, "/proc/", 6) == 0;
		free(real);
	}
	free(dir);
	return fd;
}

/* Where path really is: a symbolic link's target (the link itself is
 * kept), else path. Heap string. */
static char *destination(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		char *real = realpath(path, NULL);
		if (real)
			return real;
	}
	return xstrdup(path);
}

int outfile__open(const char *path, enum outfile_mode mode, struct outfile **out)
{
	struct outfile *of = xcalloc(1, sizeof(*of));
	int err = 0;
	of->fd = -1;
	if (strcmp(path, "-") == 0) {
		of->path = xstrdup(path);
		of->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		err = of->fd < 0 ? -errno : 0;
		goto stream;
	}
	bool fd_link = is_fd_link(path);
	of->path = fd_link ? xstrdup(path) : destination(path);
	struct stat st;
	bool exists = stat(of->path, &st) == 0;
	bool direct = mode != OUTFILE_REPLACE || fd_link || (exists && !S_ISREG(st.st_mode));
	if (!direct && exists && faccessat(AT_FDCWD, of->path, W_OK, AT_EACCESS) != 0) {
		err = -errno;   /* a file we could not overwrite in place */
	} else if (!direct) {
		for (int i = 0; i < TMP_TRIES && of->fd < 0; i++) {
			free(of->tmp);
			of->tmp = tmp_name(of->path);
			of->fd = open(of->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
			if (of->fd < 0 && errno != EEXIST)
				break;
		}
		if (of->fd < 0) {
			err = -errno;
			free(of->tmp);
			of->tmp = NULL;
			/* A writable file in a directory we cannot create in:
			 * written in place, as before. */
			direct = exists && (err == -EACCES || err == -EPERM || err == -EROFS);
		}
	}
	if (direct) {
		int flags = mode == OUTFILE_APPEND ? O_APPEND : O_TRUNC;
		of->fd = open(of->path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0666);
		err = of->fd < 0 ? -errno : 0;
	}
stream:
	if (!err) {
		cookie_io_functions_t io = { .write = cookie_write, .close = cookie_close };
		of->f = fopencookie(of, "w", io);
		if (!of->f)
			err = -errno;
	}
	if (err) {
		if (of->fd >= 0) {
			close(of->fd);
			if (of->tmp)
				unlink(of->tmp);
		}
		free(of->tmp);
		free(of->path);
		free(of);
		*out = NULL;
		return err;
	}
	*out = of;
	return 0;
}

int outfile__gzip(struct outfile *of)
{
	if (of->z)
		return 0;
	if (fflush(of->f) != 0)
		return of->err ? of->err : -EIO;
	of->z = xcalloc(1, sizeof(*of->z));
	/* windowBits 15 + 16: a gzip header (no name, time 0: the same bytes
	 * every time) and trailer around the deflate stream. */
	if (deflateInit2(of->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(of->z);
		of->z = NULL;
		return -ENOMEM;
	}
	of->zbuf = xmalloc(GZ_CHUNK);
	return 0;
}

int outfile__flush(struct outfile *of)
{
	if (fflush(of->f) != 0)
		return of->err ? of->err : -EIO;
	if (of->z && !of->err)
		return gz_write(of, "", 0, Z_SYNC_FLUSH);
	return of->err;
}

int outfile__atomic(const struct outfile *of)
{
	return of->tmp != NULL;
}

FILE *outfile__stream(struct outfile *of)
{
	return of->f;
}

int outfile__fd(const struct outfile *of)
{
	return of->fd;
}

int outfile__close(struct outfile *of, int werr)
{
	if (!of)
		return 0;
	int err = 0;
	if (fclose(of->f) != 0)
		err = -EIO;     /* the real errno, if a write failed, is in of->err */
	if (of->z) {
		if (!err && !werr && !of->err)
			err = gz_write(of, "", 0, Z_FINISH);
		deflateEnd(of->z);
		free(of->z);
		free(of->zbuf);
	}
	if (!err && !werr && !of->err && of->tmp && fsync(of->fd) != 0)
		err = -errno;
	if (close(of->fd) != 0 && !err)
		err = -errno;
	int rc = of->err ? of->err : werr ? werr : err;
	if (of->tmp) {
		if (!rc && rename(of->tmp, of->path) != 0)
			rc = -errno;
		if (rc)
			unlink(of->tmp);
	}
	free(of->tmp);
	free(of->path);
	free(of);
	return rc;
}
