/* SPDX-License-Identifier: MIT
 *
 * /proc readers (see procfs.h). Files are read whole into small stack
 * buffers; every parser is bounded by what was read.
 */
#include "proc/procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "util/xalloc.h"

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return (ssize_t)n;
}

/* /proc/PID/FILE, or /proc/PID/task/TID/FILE when tid > 0, into buf as a
 * C string (cap bytes with the NUL). The byte count or -errno. */
static ssize_t read_task_text(pid_t pid, pid_t tid, const char *file, char *buf, size_t cap)
{
	char path[96];
	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid, (int)tid, file);
	else
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	ssize_t n = read_file(path, buf, cap - 1);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int procfs_parse_stat(const char *text, struct procfs_stat *out)
{
	const char *open = strchr(text, '(');
	const char *close = strrchr(text, ')');
	if (!open || !close || close < open)
		return -EINVAL;
	size_t n = (size_t)(close - open - 1);
	if (n >= sizeof(out->comm))
		n = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, n);
	out->comm[n] = '\0';
	const char *p = close + 1;
	/* fields after comm: state(3) ppid(4) pgrp session tty_nr tpgid flags(9) */
	char state;
	int ppid;
	unsigned long flags;
	if (sscanf(p, " %c %d %*d %*d %*d %*d %lu", &state, &ppid, &flags) != 3)
		return -EINVAL;
	out->state = state;
	out->ppid = ppid;
	out->flags = flags;
	return 0;
}

int procfs_stat(pid_t pid, pid_t tid, struct procfs_stat *out)
{
	char buf[1024];
	ssize_t n = read_task_text(pid, tid, "stat", buf, sizeof(buf));
	return n < 0 ? (int)n : procfs_parse_stat(buf, out);
}

int procfs_thread_runtime(pid_t pid, pid_t tid, uint64_t *ns)
{
	char buf[128];
	ssize_t n = read_task_text(pid, tid, "schedstat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	char *end;
	unsigned long long v = strtoull(buf, &end, 10);
	if (end == buf)
		return -EINVAL;
	*ns = v;
	return 0;
}

long procfs_uid(pid_t pid)
{
	char buf[4096];
	if (read_task_text(pid, 0, "status", buf, sizeof(buf)) < 0)
		return -1;
	const char *p = strstr(buf, "\nUid:");
	return p ? strtol(p + 5, NULL, 10) : -1;
}

int procfs_tracer(pid_t pid, pid_t tid)
{
	char buf[4096];
	ssize_t n = read_task_text(pid, tid, "status", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const char *p = strstr(buf, "\nTracerPid:");
	long v = p ? strtol(p + 11, NULL, 10) : 0;
	return v > 0 && v < (1L << 30) ? (int)v : 0;
}

char *procfs_cmdline(pid_t pid)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ssize_t n = read_file(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return xstrdup(buf);
}

char *procfs_exe(pid_t pid)
{
	char path[64], buf[PATH_MAX], root[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	/* A chrooted process: the link names the file as this process sees it
	 * (ROOT/usr/bin/python3); give the path the process itself knows. */
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	ssize_t r = readlink(path, root, sizeof(root) - 1);
	if (r > 1 && r < n && memcmp(buf, root, (size_t)r) == 0 && buf[r] == '/')
		return xstrdup(buf + r);
	return xstrdup(buf);
}

int procfs_tasks(pid_t pid, pid_t *tids, int max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		tids[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

int procfs_parse_nspid(const char *text, pid_t *outer, pid_t *inner, int *levels)
{
	const char *p = strstr(text, "\nNSpid:");
	if (p)
		p += 7;
	else if (strncmp(text, "NSpid:", 6) == 0)
		p = text + 6;
	else
		return -EINVAL;
	int n = 0;
	long first = 0, last = 0;
	/* At most 32 levels of PID namespaces exist (MAX_PID_NS_LEVEL). */
	while (n < 40) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p))
			break;
		char *end;
		long v = strtol(p, &end, 10);
		if (v <= 0 || v > INT_MAX)
			return -EINVAL;
		if (n == 0)
			first = v;
		last = v;
		n++;
		p = end;
	}
	if (n == 0 || (*p != '\n' && *p != '\0'))
		return -EINVAL;
	*outer = (pid_t)first;
	*inner = (pid_t)last;
	*levels = n;
	return 0;
}

int procfs_thread_nspid(pid_t pid, pid_t tid, pid_t *inner, int *levels)
{
	char buf[4096];
	ssize_t n = read_task_text(pid, tid, "status", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	pid_t outer;
	return procfs_parse_nspid(buf, &outer, inner, levels);
}

int procfs_pid_nested(pid_t pid)
{
	char path[64];
	struct stat self, them;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (stat("/proc/self/ns/pid", &self) == 0 && stat(path, &them) == 0 &&
	    self.st_dev == them.st_dev && self.st_ino == them.st_ino)
		return 0;
	pid_t inner;
	int levels;
	int err = procfs_thread_nspid(pid, pid, &inner, &levels);
	if (err == -ENOENT)
		return -ENOENT;
	return err == 0 && levels > 1;
}

static int parent_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct procfs_parent *)a)->pid, y = ((const struct procfs_parent *)b)->pid;
	return x < y ? -1 : x > y;
}

int procfs_parents(const struct procfs_parent *prev, int nprev, struct procfs_parent *out, int max)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		struct procfs_parent key = { .pid = (pid_t)atoi(e->d_name) };
		const struct procfs_parent *known = nprev > 0 ?
			bsearch(&key, prev, (size_t)nprev, sizeof(*prev), parent_cmp) : NULL;
		struct procfs_stat st;
		if (known)
			out[n++] = *known;
		else if (procfs_stat(key.pid, 0, &st) == 0)
			out[n++] = (struct procfs_parent){ .pid = key.pid, .ppid = st.ppid };
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), parent_cmp);
	return n;
}

/* Does path have a ".." component? */
static bool has_dotdot(const char *path)
{
	for (const char *s = path; (s = strstr(s, "..")) != NULL; s += 2)
		if ((s == path || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return true;
	return false;
}

/* Open path (absolute: inside the root dirfd; relative: from dirfd, the
 * process's cwd) without leaving dirfd. */
static int open_inside(int dirfd, const char *path, bool absolute)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	const char *rel = path;
	while (*rel == '/')
		rel++;
	if (!*rel)
		return -EINVAL;
#ifdef SYS_openat2
	struct open_how how = { .flags = (uint64_t)flags,
				.resolve = (absolute ? RESOLVE_IN_ROOT : RESOLVE_BENEATH) |
					   RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return errno == EXDEV ? -EINVAL : -errno;
#else
	(void)absolute;
#endif
	/* No openat2: a ".." could climb out of the root; refuse it. A
	 * symbolic link inside the tree still resolves against this
	 * process's root (documented limit of old kernels). */
	if (has_dotdot(rel))
		return -EINVAL;
	int fd2 = openat(dirfd, rel, flags);
	return fd2 >= 0 ? fd2 : -errno;
}

int procfs_read_root_file(pid_t pid, const char *path, size_t max, char **buf, size_t *len)
{
	char dir[64];
	bool absolute = path[0] == '/';
	snprintf(dir, sizeof(dir), "/proc/%d/%s", (int)pid, absolute ? "root" : "cwd");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	int err = 0;
	int fd = open_inside(dfd, path, absolute);
	close(dfd);
	if (fd < 0)
		return fd;
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		err = -EFBIG;
		goto out;
	}
	/* A file that grew past max since the fstat is refused too. */
	err = procfs_read_fd(fd, max, (size_t)sb.st_size + 1, buf, len);
out:
	close(fd);
	return err;
}

int procfs_read_fd(int fd, size_t max, size_t hint, char **buf, size_t *len)
{
	/* Room for max + 1 bytes at most: reading the one past max says the
	 * file is larger. */
	size_t cap = hint ? hint : 64 * 1024, n = 0;
	if (cap > max + 1)
		cap = max + 1;
	char *b = xmalloc(cap);
	for (;;) {
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			free(b);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			if (n > max) {
				free(b);
				return -EFBIG;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			b = xrealloc(b, cap);
		}
	}
	*buf = b;
	*len = n;
	return 0;
}

int procfs_parse_statm(const char *text, struct procfs_statm *out)
{
	unsigned long long v[6];
	const char *p = text;
	for (int i = 0; i < 6; i++) {
		char *end;
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno)
			return -EINVAL;
		p = end;
	}
	out->size = v[0];
	out->resident = v[1];
	out->data = v[5];
	return 0;
}

int procfs_statm_open(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int procfs_statm_read(int fd, struct procfs_statm *out)
{
	char buf[160];
	ssize_t n;
	while ((n = pread(fd, buf, sizeof(buf) - 1, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (n == 0)
		return -ESRCH;
	buf[n] = '\0';
	return procfs_parse_statm(buf, out);
}
