/* SPDX-License-Identifier: MIT
 *
 * The output file of `record` (and the --output log of `top`), opened and
 * finished in this one place. A regular file is written to a temporary file
 * beside it, `.NAME.cspy-XXXXXX` in the same directory (created with mode
 * 0666 minus the umask, like any new file, and close-on-exec), which is
 * fsync'd, closed and renamed over NAME only when everything was written:
 * a full disk, an error of the writer or a SIGKILL never leaves a truncated
 * or empty file at NAME, and a file that was there stays as it was. A
 * symbolic link is followed (the file it names is replaced, the link
 * stays). Anything that is not a regular file (/dev/full, a FIFO), an open
 * descriptor named through /proc/PID/fd (/dev/stdout, /dev/fd/N, even when
 * it is a regular file) and a writable file in a directory where cspy
 * cannot create one cannot be replaced by a rename: they are written
 * directly (truncated first), as is the appended log of `top`.
 *
 * The stream handed to the writers records the errno of the first failed
 * write(2), so the error reported is the real one (ENOSPC: "No space left
 * on device", EDQUOT, EFBIG ...), not the writers' generic -EIO.
 */
#ifndef CSPY_OUTFILE_H
#define CSPY_OUTFILE_H

#include <stdio.h>

struct outfile;

enum outfile_mode {
	OUTFILE_REPLACE,        /* the whole file, renamed into place when complete */
	OUTFILE_APPEND,         /* appended to directly (created if missing) */
	OUTFILE_DIRECT,         /* written in place (truncated first): a stream that
				 * readers follow while it is written (jsonl) */
};

/* Open path for writing ("-": standard output, written directly); checks that it can be written (the directory for
 * the temporary file, the file itself if it exists). 0 or -errno. */
int outfile__open(const char *path, enum outfile_mode mode, struct outfile **out);
/* Compress everything written from now on: the file becomes gzip (zlib's
 * deflate with a gzip header, time 0, so equal input gives equal bytes),
 * finished by outfile__close(). For `record -o p.svgz`, `p.json.gz`. 0 or
 * -errno. */
int outfile__gzip(struct outfile *of);
/* Push everything written so far to the file: fflush, and with gzip a
 * sync flush, so that a reader can decompress all of it. 0 or -errno. */
int outfile__flush(struct outfile *of);
/* Is the file renamed into place when complete (a reader never sees half
 * of it)? False for what is written directly. */
int outfile__atomic(const struct outfile *of);
/* The stream to write to; borrowed, valid until outfile__close(). */
FILE *outfile__stream(struct outfile *of);
/* The descriptor under that stream (the temporary file's while writing),
 * e.g. to give the file to another owner with fchown(). Borrowed. */
int outfile__fd(const struct outfile *of);
/* Finish and free of. werr is the writer's result: with 0, flush, fsync and
 * close, then rename the temporary file into place; otherwise (or when any
 * of that fails) remove the temporary file and leave the path untouched.
 * Returns 0 or -errno: the first failed write's own errno if there was one,
 * else werr, else the error of fsync, close or rename. NULL: 0. */
int outfile__close(struct outfile *of, int werr);

#endif
