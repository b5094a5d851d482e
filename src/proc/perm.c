/* SPDX-License-Identifier: MIT
 *
 * Permission diagnostics (see perm.h). CapEff comes from /proc/self/status,
 * ptrace_scope from /proc/sys/kernel/yama/ptrace_scope (absent when Yama is
 * not built in), and the container guess from /.dockerenv,
 * /run/.containerenv and /proc/1/cgroup. A tracer already attached (which
 * makes a pause fail, not a read) shows in the TracerPid: line of each
 * thread's status file.
 */
#include "proc/perm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/procfs.h"
#include "util/xalloc.h"

#define CAP_SYS_PTRACE_BIT 19
#define MAX_TASKS_CHECKED 16384

/* CapEff of a process ("self" or a PID), 0 if unreadable. */
static unsigned long long cap_eff(const char *who)
{
	char path[64], line[256];
	unsigned long long caps = 0;
	snprintf(path, sizeof(path), "/proc/%s/status", who);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0)
			caps = strtoull(line + 7, NULL, 16);
	fclose(f);
	return caps;
}

static bool have_cap_sys_ptrace(void)
{
	return (cap_eff("self") >> CAP_SYS_PTRACE_BIT) & 1;
}

static int ptrace_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool in_container(void)
{
	if (access("/.dockerenv", F_OK) == 0 || access("/run/.containerenv", F_OK) == 0)
		return true;
	FILE *f = fopen("/proc/1/cgroup", "r");
	char line[512];
	bool yes = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "docker") || strstr(line, "kubepods") || strstr(line, "containerd") ||
		    strstr(line, "libpod"))
			yes = true;
	fclose(f);
	return yes;
}

pid_t perm_traced(pid_t pid, char *buf, size_t n)
{
	pid_t *tids = xmalloc(MAX_TASKS_CHECKED * sizeof(*tids));
	int ntids = procfs_tasks(pid, tids, MAX_TASKS_CHECKED);
	int tracer = procfs_tracer(pid, 0);
	for (int i = 0; i < ntids && tracer <= 0; i++)
		tracer = procfs_tracer(pid, tids[i]);
	free(tids);
	if (tracer <= 0 || tracer == getpid())
		return 0;
	struct procfs_stat st;
	if (procfs_stat(tracer, 0, &st) != 0)
		snprintf(st.comm, sizeof(st.comm), "gone");
	snprintf(buf, n, "process %d is already traced by PID %d (%s): a process has one tracer "
		 "only and cspy pauses it with ptrace; end or detach that tracer, or sample without "
		 "pausing with --nonblocking", (int)pid, tracer, st.comm);
	return tracer;
}

void perm_explain(pid_t pid, const char *cmd, char *buf, size_t n)
{
	long owner = procfs_uid(pid);
	uid_t me = geteuid();
	bool cap = have_cap_sys_ptrace();
	int scope = ptrace_scope();
	char why[512];

	if (me == 0 && !cap)
		snprintf(why, sizeof(why), "cspy runs as root but without CAP_SYS_PTRACE%s; "
			 "start the container with --cap-add SYS_PTRACE (docker/podman) or add "
			 "SYS_PTRACE to the pod's securityContext capabilities",
			 in_container() ? " (this looks like a container)" : "");
	else if (scope == 3)
		snprintf(why, sizeof(why), "kernel.yama.ptrace_scope is 3 (ptrace disabled until reboot), "
			 "not even root with CAP_SYS_PTRACE can attach");
	else if (cap && me == 0) {
		char who[16];
		snprintf(who, sizeof(who), "%d", (int)pid);
		unsigned long long extra = cap_eff(who) & ~cap_eff("self");
		snprintf(why, sizeof(why), "cspy runs as root with CAP_SYS_PTRACE, but the kernel refused: %s",
			 extra ? "the process holds capabilities cspy does not (it is more privileged than "
				 "cspy's container or namespace); run cspy where the process runs, e.g. on the host"
			       : "a security module (AppArmor, SELinux, seccomp) or the process's own "
				 "settings (PR_SET_DUMPABLE) forbid tracing it");
	} else if (scope >= 1 && !cap)
		snprintf(why, sizeof(why), "kernel.yama.ptrace_scope is %d, which requires CAP_SYS_PTRACE "
			 "(root) to read another process; run as root: sudo env \"PATH=$PATH\" %s, "
			 "or allow it with: sudo sysctl kernel.yama.ptrace_scope=0", scope, cmd);
	else
		snprintf(why, sizeof(why), "process %d belongs to uid %ld and cspy runs as uid %u without "
			 "CAP_SYS_PTRACE; run as root or as the same user: sudo env \"PATH=$PATH\" %s"
			 "%s", (int)pid, owner, (unsigned)me, cmd,
			 in_container() ? " (in a container also add --cap-add SYS_PTRACE)" : "");
	snprintf(buf, n, "permission denied reading process %d: %s", (int)pid, why);
}
