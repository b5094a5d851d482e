/* SPDX-License-Identifier: MIT
 *
 * Reading /proc for a process and its threads: state, parent, flags, uids,
 * command line, executable, the task (thread) list and each thread's
 * scheduler state. Parsing of a stat line is pure (procfs_parse_stat) so it is
 * unit-tested. Nothing here needs ptrace permission.
 */
#ifndef CSPY_PROCFS_H
#define CSPY_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_PF_KTHREAD 0x00200000u

struct procfs_stat {
	char comm[64];
	char state;             /* R, S, D, Z, T, t, X, I ... */
	pid_t ppid;
	unsigned long flags;
};

/* Parse the text of /proc/PID/stat (comm may contain spaces and ')'). 0 or -EINVAL. */
int procfs_parse_stat(const char *text, struct procfs_stat *out);
/* Read /proc/PID/stat (or /proc/PID/task/TID/stat when tid > 0). 0, -ENOENT, -errno. */
int procfs_stat(pid_t pid, pid_t tid, struct procfs_stat *out);
/* A thread's time on a CPU so far (ns: the first field of
 * /proc/PID/task/TID/schedstat). 0, -ENOENT, -errno. */
int procfs_thread_runtime(pid_t pid, pid_t tid, uint64_t *ns);
/* Real uid of the process, or -1. */
long procfs_uid(pid_t pid);
/* The PID tracing the process (or its thread tid when tid > 0), from the
 * TracerPid: line of its status file: 0 when none, or -errno. */
int procfs_tracer(pid_t pid, pid_t tid);
/* NUL-separated cmdline joined with spaces (heap string; "" for kernel threads). NULL if gone. */
char *procfs_cmdline(pid_t pid);
/* readlink /proc/PID/exe (heap string) or NULL; for a chrooted process, the
 * path inside its root (as the process sees it). */
char *procfs_exe(pid_t pid);
/* TIDs from /proc/PID/task, at most max. Returns the count or -errno. */
int procfs_tasks(pid_t pid, pid_t *tids, int max);
/* The innermost and outermost ids of an NSpid: line in the text of a
 * /proc/.../status file ("NSpid:\t7898\t1": the id in the namespace of that
 * /proc mount first, the id in the process's own PID namespace last). Sets
 * *outer, *inner and *levels (the number of ids). 0 or -EINVAL (no such line,
 * e.g. a kernel older than 4.1). Pure. */
int procfs_parse_nspid(const char *text, pid_t *outer, pid_t *inner, int *levels);
/* The id of thread tid of pid inside its own PID namespace, from
 * /proc/PID/task/TID/status; *levels as above (1: the same namespace as
 * this /proc). 0 or -errno. */
int procfs_thread_nspid(pid_t pid, pid_t tid, pid_t *inner, int *levels);
/* Is pid in another PID namespace than the ids this /proc shows? 1 when its
 * /proc/PID/ns/pid differs from /proc/self/ns/pid and its NSpid: line has
 * more than one id; 0 when the same (or no NSpid: a kernel without nested
 * ids); -errno when the process is gone. */
int procfs_pid_nested(pid_t pid);
/* Every process's parent, in one pass over /proc: up to max pairs into
 * out, sorted by pid. A scan for the descendants of many processes reads
 * this once, not /proc per process. The nprev pairs of prev (sorted, e.g.
 * the last call's) are taken as they are for the processes still listed
 * (a parent changes only when the process is re-parented, its parent
 * gone); the others' stat is read (all of them when nprev is 0). Returns
 * the count or -errno. */
struct procfs_parent {
	pid_t pid, ppid;
};
int procfs_parents(const struct procfs_parent *prev, int nprev, struct procfs_parent *out, int max);

/* Read the file at path as process pid sees it: resolved inside its root
 * (/proc/PID/root, so a container's or chroot's own files; with openat2's
 * RESOLVE_IN_ROOT where the kernel has it (5.6+), else a path with a ".."
 * component is refused), a relative path from its current directory
 * (/proc/PID/cwd). Only a regular file of at most max bytes. 0 with *buf
 * (heap, caller frees; not NUL-terminated) and *len, or -ENOENT (no such
 * file), -EACCES/-EPERM, -EFBIG (larger than max), -EINVAL (not a regular
 * file, or a ".." refused), -ESRCH (the process is gone), -errno. */
int procfs_read_root_file(pid_t pid, const char *path, size_t max, char **buf, size_t *len);

/* Read all of fd, at most max bytes, into a fresh buffer (*buf, heap, not
 * NUL-terminated, and *len), starting with room for hint bytes (0: 64 KiB);
 * EINTR is retried. 0, -EFBIG when there are more than max bytes, or
 * -errno of read. /proc files (maps) and the sources of the report. */
int procfs_read_fd(int fd, size_t max, size_t hint, char **buf, size_t *len);

/* A process's memory sizes in pages, from /proc/PID/statm (--memory): its
 * virtual size, resident set, and data (+ stack) segment. */
struct procfs_statm {
	uint64_t size, resident, data;
};
/* Parse the text of /proc/PID/statm ("size resident shared text lib data
 * dt"). 0 or -EINVAL. Pure. */
int procfs_parse_statm(const char *text, struct procfs_statm *out);
/* /proc/PID/statm opened to be read again at every sample (O_CLOEXEC):
 * the fd, or -errno. */
int procfs_statm_open(pid_t pid);
/* One pread of it: 0, -ESRCH when the process is gone (an empty read),
 * -EINVAL, or -errno. */
int procfs_statm_read(int fd, struct procfs_statm *out);

#endif
