/* SPDX-License-Identifier: MIT
 *
 * fork + exec of the profiled program (see launch.h). The child reports a
 * failed exec through a close-on-exec pipe: reading EOF means the exec
 * succeeded, reading an int means it failed with that errno.
 */
#include "proc/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static void child(char *const argv[], const struct launch_opts *o, int errfd, pid_t parent)
{
	int err;
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
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	if (o->drop_sudo && su && sg && getuid() == 0) {
		uid_t uid = (uid_t)strtoul(su, NULL, 10);
		gid_t gid = (gid_t)strtoul(sg, NULL, 10);
		if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			goto fail;
		/* PR_SET_PDEATHSIG is cleared by a credential change: set it again. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	execvp(argv[0], argv);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

pid_t launch_start(char *const argv[], const struct launch_opts *o)
{
	int p[2];
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
	int err = 0;
	ssize_t n;
	do
		n = read(p[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(err)) {
		waitpid(pid, NULL, 0);
		return -(err ? err : ENOEXEC);
	}
	return pid;
}

/* A thread of the child that exited while cspy had it seized stays a
 * zombie until cspy (its tracer) reaps it, and until then the kernel holds
 * back the exit of the whole process: reap those threads here. One waitid
 * peek when there are none. */
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
	pid_t r = waitpid(pid, status, WNOHANG);
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

void launch_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	int status;
	if (waitpid(pid, &status, WNOHANG) == pid)
		return;
	kill(pid, SIGKILL);
	/* Polled, never a blocking wait: see reap_traced_threads(). */
	struct timespec ts = { 0, 1000000 };
	for (int i = 0; i < 10000; i++) {
		reap_traced_threads(pid);
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		nanosleep(&ts, NULL);
	}
}
