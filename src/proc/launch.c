/* SPDX-License-Identifier: MIT
 *
 * fork + exec of the profiled program, its reaping and its ending (see
 * launch.h). The child reports a failed exec through a close-on-exec pipe:
 * reading EOF means the exec succeeded, reading a report means it failed
 * (with that errno, at that step, as that user). Waiting is always polled
 * (WNOHANG), never blocking: while the program runs, cspy is the tracer of
 * threads that may die seized, and those zombies, which hold back the
 * exit of the whole process, are reaped on every poll (reap_traced_threads).
 */
#include "proc/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc/procfs.h"
#include "util/clock.h"

#define POLL_NS 2000000L                /* between two polls of a child being ended */
#define REAP_TIMEOUT_S 5.0              /* after SIGKILL */

struct exec_report {
	int err;                /* errno of the failed step */
	int dropped;            /* the child had switched to SUDO_UID/SUDO_GID */
	unsigned uid, gid;
	int step;               /* 0: exec, 1: the switch itself */
};

/* SUDO_UID/SUDO_GID when cspy runs as root under sudo: 1, else 0. */
static int sudo_ids(uid_t *uid, gid_t *gid)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	if (!su || !sg || !*su || !*sg || getuid() != 0)
		return 0;
	*uid = (uid_t)strtoul(su, NULL, 10);
	*gid = (gid_t)strtoul(sg, NULL, 10);
	return 1;
}

static void child(char *const argv[], const struct launch_opts *o, int errfd, pid_t parent)
{
	struct exec_report rep = { 0 };
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)        /* cspy died before prctl took effect */
		_exit(127);
	if (o->capture) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
	}
	uid_t uid;
	gid_t gid;
	if (o->drop_sudo && sudo_ids(&uid, &gid)) {
		rep.dropped = 1;
		rep.uid = uid;
		rep.gid = gid;
		rep.step = 1;
		if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			goto fail;
		/* PR_SET_PDEATHSIG is cleared by a credential change: set it again. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		rep.step = 0;
	}
	execvp(argv[0], argv);
fail:
	rep.err = errno;
	if (write(errfd, &rep, sizeof(rep)) < 0)
		_exit(127);
	_exit(127);
}

pid_t launch_start(char *const argv[], const struct launch_opts *o, char *why, size_t whylen)
{
	int p[2];
	snprintf(why, whylen, "cannot run '%s'", argv[0]);
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		close(p[0]);
		child(argv, o, p[1], parent);
	}
	close(p[1]);
	struct exec_report rep = { 0 };
	ssize_t n;
	do
		n = read(p[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != (ssize_t)sizeof(rep))
		return pid;
	waitpid(pid, NULL, 0);
	int err = rep.err ? rep.err : ENOEXEC;
	if (rep.dropped) {
		const char *user = getenv("SUDO_USER");
		char who[96];
		if (user && *user)
			snprintf(who, sizeof(who), "user %.40s (uid %u, gid %u)", user, rep.uid, rep.gid);
		else
			snprintf(who, sizeof(who), "uid %u, gid %u", rep.uid, rep.gid);
		snprintf(why, whylen, rep.step ? "cannot switch to %s from SUDO_UID/SUDO_GID to run '%s'"
				       : "cannot run '%s' as %s: under sudo, cspy runs the program as "
					 "the invoking user (SUDO_UID/SUDO_GID), who must be able to "
					 "execute it and read its files",
			 rep.step ? who : argv[0], rep.step ? argv[0] : who);
	}
	return -err;
}

/* A thread of the child that exited while cspy had it seized stays a
 * zombie until cspy (its tracer) reaps it, and until then the kernel holds
 * back the exit of the whole process: reap those threads here. Each is
 * peeked at first (WNOWAIT) and only then reaped by its own TID, so the
 * exit of pid itself is left to the caller. One waitid peek when there
 * are none. */
static void reap_traced_threads(pid_t pid)
{
	for (int i = 0; i < 64; i++) {
		siginfo_t si = { 0 };
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 ||
		    si.si_pid == 0 || si.si_pid == pid)
			return;
		waitpid(si.si_pid, NULL, __WALL | WNOHANG);
	}
}

int launch_poll(pid_t pid, int *status)
{
	reap_traced_threads(pid);
	pid_t r;
	do
		r = waitpid(pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == pid ? 1 : 0;
}

int launch_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

bool launch_signal_shared(const siginfo_t *si, pid_t pid)
{
	if (si->si_code == SI_KERNEL)
		return true;            /* the terminal: the whole foreground group */
	if (si->si_code > 0)
		return false;           /* not sent by a process (a timer, the kernel's own) */
	if (si->si_pid == pid)
		return true;
	pid_t g = getpgid(si->si_pid);
	return g > 0 && g == getpgrp();
}

/* The signal after sig in SIGINT -> SIGTERM -> SIGKILL. */
static int next_signal(int sig)
{
	return sig == SIGTERM || sig == SIGKILL ? SIGKILL : SIGTERM;
}

/* Is one of the other processes still there (not a zombie)? They are not
 * cspy's children: their own parent, or init, reaps them. */
static bool others_alive(const pid_t *also, size_t nalso)
{
	for (size_t i = 0; i < nalso; i++) {
		struct procfs_stat st;
		if (procfs_stat(also[i], 0, &st) == 0 && st.state != 'Z' && st.state != 'X')
			return true;
	}
	return false;
}

static void signal_all(pid_t pid, bool reaped, const pid_t *also, size_t nalso, int sig)
{
	if (!reaped)
		kill(pid, sig);
	for (size_t i = 0; i < nalso; i++)
		kill(also[i], sig);
}

/* Poll the child unless it is reaped already: 0, or -errno. */
static int poll_child(pid_t pid, int *status, bool *reaped)
{
	if (*reaped)
		return 0;
	int r = launch_poll(pid, status);
	if (r < 0)
		return r;
	*reaped = r == 1;
	return 0;
}

int launch_end(pid_t pid, const pid_t *also, size_t nalso, int sig, bool already_sent,
	       volatile sig_atomic_t *hurry, int *status, bool *killed)
{
	*killed = false;
	bool reaped = pid <= 0;
	int err = poll_child(pid, status, &reaped);
	if (err)
		return err;
	if (reaped && !others_alive(also, nalso))
		return 0;
	sig_atomic_t seen = 0;
	if (!already_sent)
		signal_all(pid, reaped, also, nalso, sig);
	*killed = sig == SIGKILL;
	uint64_t deadline = clock_now_ns() +
		(uint64_t)((sig == SIGKILL ? REAP_TIMEOUT_S : LAUNCH_GRACE_S) * 1e9);
	struct timespec ts = { 0, POLL_NS };
	for (;;) {
		err = poll_child(pid, status, &reaped);
		if (err)
			return err;
		if (reaped && !others_alive(also, nalso))
			return 0;
		uint64_t now = clock_now_ns();
		bool hurried = hurry && *hurry > seen;
		if (hurried)
			seen++;         /* one step per signal */
		if (now >= deadline || hurried) {
			if (sig == SIGKILL && !hurried)
				return -ETIMEDOUT;
			if (sig != SIGKILL) {
				sig = next_signal(sig);
				signal_all(pid, reaped, also, nalso, sig);
				*killed = sig == SIGKILL;
			}
			deadline = now + (uint64_t)((sig == SIGKILL ? REAP_TIMEOUT_S
								    : LAUNCH_STEP_GRACE_S) * 1e9);
		}
		nanosleep(&ts, NULL);
	}
}

int launch_chown_sudo_user(int fd)
{
	uid_t uid;
	gid_t gid;
	if (!sudo_ids(&uid, &gid) || geteuid() != 0)
		return 0;
	return fchown(fd, uid, gid) == 0 ? 0 : -errno;
}
