/* SPDX-License-Identifier: MIT
 *
 * `cspy dump`: print the Python stack of every thread of a process (and, with
 * --subprocesses, of its Python descendants) once. By default the target's
 * threads are paused with ptrace for a consistent read and resumed at once;
 * --nonblocking reads while it runs (retrying a torn read a few times).
 * Every failure ends in one line on stderr and exit status 1; the target is
 * never left stopped (the pause is undone on every path, and by the kernel if
 * cspy itself dies). --core FILE dumps the process of a core file instead
 * (proc/core.h): the same snapshot and printing, no pause, no /proc.
 * --async (alias --asyncio) adds the asyncio tasks (python/pyasync.h)
 * after the threads: read in a second pause right after the stacks' (or
 * without one: --nonblocking, a torn read tried again; --core). A Python
 * without asyncio imported is said so in the output (exit 0); Python 2
 * and an asyncio that cannot be read are errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/complete.h"
#include "cli/opts.h"
#include "native/unwind.h"
#include "writers/dump.h"
#include "writers/json.h"
#include "proc/core.h"
#include "proc/mem.h"
#include "proc/perm.h"
#include "agg/threadsel.h"
#include "proc/procfs.h"
#include "proc/ptrace.h"
#include "python/pyasync.h"
#include "sampler/snapshot.h"
#include "util/xalloc.h"

#define MAX_PROCS 1024
#define MAX_SCAN_PROCS 32768    /* the processes of /proc the scan for descendants looks at */
#define NONBLOCKING_TRIES 5

struct dump_config {
	pid_t pid;
	int locals;             /* 0, or the -l count (longer reprs) */
	bool json;
	bool subprocesses;
	bool nonblocking;
	bool full_filenames;
	bool qualname;
	bool native;
	bool async;             /* --async: the asyncio tasks too */
	const char *core;       /* --core FILE */
	const char *core_root;  /* --core-root DIR */
	const char *thread;     /* --thread REGEX */
	struct threadsel *sel;  /* ... compiled by parse */
};

static const struct dump_config dump_defaults = {
	.pid = 0, .locals = 0, .json = false, .subprocesses = false,
	.nonblocking = false, .full_filenames = false, .qualname = false, .native = false,
	.async = false, .core = NULL, .core_root = NULL, .thread = NULL, .sel = NULL,
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: cspy dump --pid PID [options]\n"
"       cspy dump --core FILE [options]\n"
"\n"
"Print the current Python stack of every thread of a running process, or of\n"
"a process from its core file.\n"
"\n"
"Options:\n"
"  -p, --pid PID          the process to dump\n"
"  -c, --core FILE        dump the process a core file holds (made by the kernel\n"
"                         or by gdb's gcore) instead of a running one; its\n"
"                         executable and libraries are read from disk where the\n"
"                         core lacks them\n"
"      --core-root DIR    the root directory the process of --core ran in (a\n"
"                         container's or chroot's): its files are looked up\n"
"                         under DIR\n"
"  -l, --locals           also show arguments and local variables of each frame\n"
"                         (repeat, -ll, for longer values)\n"
"  -j, --json             print JSON (py-spy's field names) instead of text\n"
"  -s, --subprocesses     also dump every Python process descended from PID,\n"
"                         each child headed \"Parent Process PPID: CMDLINE\"\n"
"      --nonblocking      do not pause the process while reading it (less\n"
"                         overhead, but a stack may be torn)\n"
"      --full-filenames   show full file paths instead of package-relative ones\n"
"      --qualname         qualified names (Class.method): co_qualname on 3.11+,\n"
"                         before 3.11 the class defining the method, found from\n"
"                         its self or cls argument\n"
"  -n, --native           also show C/C++/Cython frames, merged with the Python\n"
"                         ones (not with --nonblocking)\n"
"  -a, --async            also show the asyncio tasks of every event loop: each\n"
"                         task's name, state, coroutine stack and the tasks\n"
"                         awaiting it, then an await tree (Python 3.7+; 3.6\n"
"                         with the pure-Python asyncio)\n"
"      --asyncio          the same as --async\n"
"      --threads          accepted (guides for py-spy use it); dump shows every\n"
"                         thread (unless --thread)\n"
"      --thread REGEX     only the threads whose name matches REGEX (a POSIX\n"
"                         extended regex, found anywhere in the name): the\n"
"                         threading name, else the OS one (not with --core)\n"
"  -h, --help             show this help\n"
"\n"
"PID is decimal, or hexadecimal after 0x (--pid 0x1a2b).\n"
"\n"
"Examples:\n"
"  cspy dump --pid 4242                 where is every thread of 4242 now?\n"
"  cspy dump --pid 4242 --locals        ... with the values of local variables\n"
"  cspy dump -p 4242 --json | jq .      machine-readable\n"
"  cspy dump --native --pid 4242        ... with the C extension frames\n"
"  cspy dump --async --pid 4242         ... and what every asyncio task awaits\n"
"  cspy dump --core core.4242           the stacks of a crashed process\n"
"  cspy dump -s -p $(pgrep -o gunicorn)  a pre-fork server and all its workers\n"
"  sudo env \"PATH=$PATH\" cspy dump --pid 4242   a process of another user\n");
}

enum { O_NONBLOCKING = 256, O_FULL, O_QUALNAME, O_THREADS, O_CORE_ROOT, O_THREAD, O_ASYNC };

static const struct option dump_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "locals", no_argument, NULL, 'l' },
	{ "json", no_argument, NULL, 'j' },
	{ "subprocesses", no_argument, NULL, 's' },
	{ "nonblocking", no_argument, NULL, O_NONBLOCKING },
	{ "full-filenames", no_argument, NULL, O_FULL },
	{ "qualname", no_argument, NULL, O_QUALNAME },
	{ "native", no_argument, NULL, 'n' },
	{ "async", no_argument, NULL, 'a' },
	{ "asyncio", no_argument, NULL, O_ASYNC },
	{ "threads", no_argument, NULL, O_THREADS },
	{ "core", required_argument, NULL, 'c' },
	{ "core-root", required_argument, NULL, O_CORE_ROOT },
	{ "thread", required_argument, NULL, O_THREAD },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};
#define DUMP_SHORT ":p:ljsnahc:"

static int parse(int argc, char **argv, struct dump_config *c)
{
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, DUMP_SHORT, dump_options, NULL)) != -1) {
		optarg = opts_value(argv[optind - 1], optarg);
		switch (o) {
		case 'p':
			if (args_parse_pid(optarg, &c->pid))
				return -EINVAL;
			break;
		case 'l': c->locals++; break;
		case 'j': c->json = true; break;
		case 's': c->subprocesses = true; break;
		case O_NONBLOCKING: c->nonblocking = true; break;
		case O_FULL: c->full_filenames = true; break;
		case O_QUALNAME: c->qualname = true; break;
		case 'n': c->native = true; break;
		case 'a':
		case O_ASYNC: c->async = true; break;
		case O_THREADS: break;          /* py-spy guides' flag: every thread is shown */
		case 'c': c->core = optarg; break;
		case O_CORE_ROOT: c->core_root = optarg; break;
		case O_THREAD: c->thread = optarg; break;
		case 'h': usage(stdout); return 1;
		case ':':
			cli_error("option '%s' needs a value (see 'cspy dump --help')", argv[optind - 1]);
			return -EINVAL;
		default:
			opts_report_unknown(argv[optind - 1], dump_options, "dump");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (see 'cspy dump --help')", argv[optind]);
		return -EINVAL;
	}
	if (c->core && c->pid) {
		cli_error("give --pid PID or --core FILE, not both (see 'cspy dump --help')");
		return -EINVAL;
	}
	char why[600];
	if (c->thread && threadsel__new(c->thread, &c->sel, why, sizeof(why))) {
		cli_error("%s", why);
		return -EINVAL;
	}
	if (c->core_root && !c->core) {
		cli_error("--core-root goes with --core FILE (see 'cspy dump --help')");
		return -EINVAL;
	}
	if (c->core && (c->subprocesses || c->nonblocking)) {
		cli_error("--core cannot be used with %s: a core holds one process, which no longer "
			  "runs", c->subprocesses ? "--subprocesses" : "--nonblocking");
		return -EINVAL;
	}
	if (c->core)
		return args_check_native(c->native, false);
	if (!c->pid) {
		cli_error("missing --pid PID (see 'cspy dump --help')");
		return -EINVAL;
	}
	return args_check_native(c->native, c->nonblocking);
}

/* Descendants of root, breadth first, each once, with their parents: the
 * tree from one pass over /proc (procfs_parents), not one per process. */
static size_t descendants(pid_t root, pid_t *pids, pid_t *parents, size_t max)
{
	size_t n = 0;
	pids[n] = root;
	parents[n++] = 0;
	struct procfs_parent *all = xmalloc(MAX_SCAN_PROCS * sizeof(*all));
	int na = procfs_parents(NULL, 0, all, MAX_SCAN_PROCS);
	for (size_t i = 0; i < n && n < max; i++) {
		for (int j = 0; j < na && n < max; j++) {
			if (all[j].ppid != pids[i])
				continue;
			bool seen = false;
			for (size_t s = 0; s < n; s++)
				seen |= pids[s] == all[j].pid;
			if (!seen) {
				pids[n] = all[j].pid;
				parents[n++] = pids[i];
			}
		}
	}
	free(all);
	return n;
}

/* Tests: how long to stay paused before reading (CSPY_TEST_STALL_MS). */
static unsigned stall_for_tests(void)
{
	const char *ms = getenv("CSPY_TEST_STALL_MS");
	long v = ms ? strtol(ms, NULL, 10) : 0;
	return v > 0 ? (unsigned)v : 0;
}

/* The locals of a snapshot as dump's writers take them (borrowed). */
static struct dump_locals **dump_locals_of(const struct snapshot *s)
{
	if (!s->locals)
		return NULL;
	struct dump_locals **all = xcalloc(s->nlocals ? s->nlocals : 1, sizeof(*all));
	for (size_t i = 0; i < s->nlocals; i++) {
		size_t nf = s->sample.threads[i].nframes;
		all[i] = xcalloc(nf ? nf : 1, sizeof(**all));
		for (size_t k = 0; k < nf; k++)
			all[i][k] = (struct dump_locals){ .v = s->locals[i][k].v, .n = s->locals[i][k].n,
							  .err = s->locals[i][k].err };
	}
	return all;
}

static void free_dump_locals(struct dump_locals **all, size_t n)
{
	if (!all)
		return;
	for (size_t i = 0; i < n; i++)
		free(all[i]);
	free(all);
}

static const char *comm_of(pid_t pid, char *buf, size_t n)
{
	struct procfs_stat st;
	snprintf(buf, n, "%s", procfs_stat(pid, 0, &st) == 0 ? st.comm : "?");
	return buf;
}

/* The first Python process below pid, for the "shell script" hint; 0 if none. */
static pid_t python_descendant(pid_t pid)
{
	pid_t pids[64], parents[64];
	size_t n = descendants(pid, pids, parents, 64);
	for (size_t i = 1; i < n; i++) {
		struct snap_target t;
		char why[64];
		if (snap_target__open(pids[i], &t, why, sizeof(why)) == 0) {
			snap_target__close(&t);
			return pids[i];
		}
	}
	return 0;
}

/* Open pid for dumping; prints the error for the top-level process. */
static int open_target(pid_t pid, bool top, struct snap_target *t)
{
	char why[600], comm[64], cmd[64];
	int err = snap_target__open(pid, t, why, sizeof(why));
	if (!err || !top)
		return err;
	snprintf(cmd, sizeof(cmd), "cspy dump --pid %d", (int)pid);
	switch (err) {
	case -ENOENT:
	case -ESRCH:
		cli_error("process %d exited before it could be read", (int)pid);
		break;
	case -EACCES:
	case -EPERM:
		perm_explain(pid, cmd, why, sizeof(why));
		cli_error("%s", why);
		break;
	case -ENOTSUP:
		cli_error("process %d: %s", (int)pid, why);
		break;
	case -ENOEXEC: {
		pid_t child = python_descendant(pid);
		char *exe = procfs_exe(pid);
		if (child)
			cli_error("process %d (%s) is not a Python process, but its child %d is: "
				  "use --pid %d, or --subprocesses to dump every Python descendant",
				  (int)pid, comm_of(pid, comm, sizeof(comm)), (int)child, (int)child);
		else
			cli_error("process %d (%s, %s) is not a Python process: %s", (int)pid,
				  comm_of(pid, comm, sizeof(comm)), exe ? exe : "unknown executable", why);
		free(exe);
		break;
	}
	default:
		cli_error("cannot read process %d: %s", (int)pid, why[0] ? why : strerror(-err));
	}
	return err;
}

#define NAME_RETRIES 3

static bool any_name(const struct py_sample *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->threads[i].name[0])
			return true;
	return s->n == 0;
}

/* Take one snapshot of t, pausing it unless nonblocking; with an unwinder
 * (--native), also the merged native stacks. */
static int take_sample(const struct snap_target *t, const struct dump_config *c, struct snapshot *s)
{
	struct snap_req r = {
		.pause = c->nonblocking ? SNAP_NONBLOCKING : SNAP_PAUSE_ALL,
		.flags = PYSAMPLE_NAMES | (c->qualname ? PYSAMPLE_QUALNAME : 0),
		.tries = NONBLOCKING_TRIES, .native = t->uw != NULL, .locals = c->locals,
		.stall_ms = c->nonblocking ? 0 : stall_for_tests(),
	};
	int err = snapshot__take(t, &r, s, NULL);
	if (err || c->nonblocking)
		return err;
	if (s->sample.n == 0) {
		/* A running interpreter without a single thread state: its
		 * thread list caught mid-change (seen once in 1,700 dumps of
		 * a process starting and ending threads). Once more. */
		snapshot__release(s);
		if ((err = snapshot__take(t, &r, s, NULL)) != 0)
			return err;
	}
	/* The pause may have caught a thread in the middle of changing
	 * threading._active (a resize as a thread starts or ends): no thread
	 * got a name. Names are not part of the stacks: read them again now
	 * that the threads run, a few times a millisecond apart. */
	for (int k = 0; k < NAME_RETRIES && !any_name(&s->sample); k++) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
		pyproc__thread_names(t->pp, &s->sample);
	}
	return 0;
}

static void report_sample_error(pid_t pid, int err)
{
	char why[600], cmd[64];
	switch (err) {
	case -ESRCH:
	case -ENOENT:
		cli_error("process %d exited while being read", (int)pid);
		break;
	case -EPERM:
	case -EACCES:
		snprintf(cmd, sizeof(cmd), "cspy dump --pid %d", (int)pid);
		if (perm_traced(pid, why, sizeof(why)) <= 0)    /* traced since the start */
			perm_explain(pid, cmd, why, sizeof(why));
		cli_error("%s", why);
		break;
	case -ELOOP:
	case -E2BIG:
		cli_error("process %d: %s; its memory looks corrupted", (int)pid,
			  err == -ELOOP ? "the interpreter's thread list loops"
					: "the threads hold more frames than cspy reads in one sample");
		break;
	case -EAGAIN:
		cli_error("process %d: the Python interpreter is not running (starting up or shutting down)",
			  (int)pid);
		break;
	default:
		cli_error("process %d: could not read the interpreter state (%s); try again",
			  (int)pid, strerror(-err));
	}
}

/* dump --async: read the tasks of t's process into *ts (in a pause of its
 * own unless nonblocking or a core). Returns 0 (tasks read), 1 (asyncio not
 * imported: *why says so), or -errno with *why (already reported). */
static int read_async(struct pyproc *pp, pid_t pid, bool pause, bool nonblocking,
		      struct py_tasks *ts, char *why, size_t whylen)
{
	struct ptrace_pause *pz = NULL;
	int err = 0;
	for (int tries = 0; tries < (nonblocking ? NONBLOCKING_TRIES : 1); tries++) {
		if (pause && (err = ptrace_pause__stop(pid, &pz)) != 0)
			break;
		err = pyasync__read(pp, ts, 0, why, whylen);
		ptrace_pause__resume(pz);
		pz = NULL;
		if (err != -EFAULT && err != -EIO && err != -EAGAIN)
			break;
	}
	if (err == -ENOENT) {
		snprintf(why, whylen, "asyncio is not imported in this process (no event loop, no "
			 "tasks)");
		return 1;
	}
	if (err) {
		if (err == -ESRCH)
			cli_error("process %d exited while being read", (int)pid);
		else if (err == -EPERM || err == -EACCES)
			report_sample_error(pid, err);
		else
			cli_error("process %d: cannot read its asyncio tasks: %s", (int)pid,
				  why[0] ? why : strerror(-err));
	}
	return err;
}

/* Python 2 has no asyncio: refused before anything is printed. */
static bool async_unsupported(const struct pyproc_info *in, const char *where)
{
	if ((in->version >> 24) >= 3)
		return false;
	cli_error("%s: asyncio needs Python 3 (this is Python %s); use dump without --async",
		  where, in->version_str);
	return true;
}

/* --thread: which threads of s are shown (heap, NULL: all). A thread
 * without a threading name is matched by its OS name (live only). */
static bool *shown_threads(const struct dump_config *c, pid_t pid, const struct py_sample *s)
{
	if (!c->sel)
		return NULL;
	bool *shown = xcalloc(s->n ? s->n : 1, sizeof(*shown));
	for (size_t i = 0; i < s->n; i++) {
		const struct py_thread *t = &s->threads[i];
		struct procfs_stat st;
		const char *name = t->name;
		if (!name[0] && !c->core && t->tid && !procfs_stat(pid, t->tid, &st))
			name = st.comm;
		shown[i] = threadsel__match(c->sel, name);
	}
	return shown;
}

/* dump --core: the process of a core file, through the same snapshot as a
 * live dump (no pause: the process is gone; its threads' run states are
 * read from their registers in the core). */
static int dump_core(const struct dump_config *c)
{
	char why[1200];
	struct core *core = NULL;
	struct snap_target t = { 0 };
	struct snapshot s = { 0 };
	struct dump_locals **locals = NULL;
	bool *shown = NULL;
	int rc = 1;
	int err = core__open(c->core, c->core_root, 0, &core, why, sizeof(why));
	if (err) {
		if (why[0])
			cli_error("%s: %s", c->core, why);
		else
			cli_error("cannot read the core file %s: %s", c->core, strerror(-err));
		return 1;
	}
	t.pid = core__pid(core);
	err = pyproc__open_core(core__mem(core), core__maps(core), t.pid, core__exe(core),
				core__cmdline(core), c->core_root, &t.pp, why, sizeof(why));
	if (err) {
		if (err == -ENOEXEC)
			cli_error("%s: process %d (%s) is not a Python process: %s", c->core, (int)t.pid,
				  core__exe(core)[0] ? core__exe(core) : "unknown executable", why);
		else
			cli_error("%s: process %d: %s", c->core, (int)t.pid,
				  why[0] ? why : strerror(-err));
		goto out;
	}
	if (c->native) {
		err = unwinder__new_core(core, snap_target__info(&t)->binary, &t.uw);
		if (err) {
			cli_error("%s: cannot read its native stacks: %s", c->core, strerror(-err));
			goto out;
		}
	}
	struct snap_req r = { .pause = SNAP_NONBLOCKING,
			      .flags = PYSAMPLE_NAMES | (c->qualname ? PYSAMPLE_QUALNAME : 0),
			      .tries = 1, .locals = c->locals };
	if (c->async && async_unsupported(snap_target__info(&t), c->core))
		goto out;
	err = snapshot__take(&t, &r, &s, NULL);
	if (err) {
		cli_error("%s: could not read the interpreter state of process %d (%s)", c->core,
			  (int)t.pid, strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < s.sample.n; i++) {
		const struct core_thread *ct = core__thread(core, s.sample.threads[i].tid);
		s.sample.threads[i].active = ct && ct->running;
	}
	if (t.uw && (err = unwinder__unwind_core(t.uw, &s.sample, &s.native)) != 0) {
		cli_error("%s: cannot read its native stacks: %s", c->core, strerror(-err));
		goto out;
	}
	locals = dump_locals_of(&s);
	struct dump_opts o = { .full_filenames = c->full_filenames, .qualname = c->qualname,
			       .locals = c->locals > 0 };
	shown = shown_threads(c, t.pid, &s.sample);
	struct dump_proc dp = { .info = snap_target__info(&t), .sample = &s.sample, .locals = locals,
				.native = c->native ? &s.native : NULL, .core = c->core,
				.shown = shown };
	if (c->async) {
		/* The threads are written before the tasks are read: reading
		 * them may move the code objects the sample's frames point to. */
		struct py_tasks ts = { 0 };
		char awhy[512] = "";
		struct json js;
		int ar;
		if (c->json) {
			json__init(&js, stdout, true);
			json__begin_array(&js);
			err = dump_write_async_json_head(&js, &dp, &o);
		} else {
			err = dump_write_text(stdout, &dp, &o);
		}
		ar = read_async(t.pp, t.pid, false, false, &ts, awhy, sizeof(awhy));
		struct dump_async da = { ar == 0 ? &ts : NULL, awhy, ar < 0 };
		if (c->json) {
			err |= dump_write_async_json_tail(&js, &dp, &da, &o);
			json__end_array(&js);
			err |= json__end(&js);
		} else if (ar >= 0) {
			err |= dump_write_async_text(stdout, &dp, &da, &o);
		}
		py_tasks__release(&ts);
		rc = ar < 0 || err ? 1 : 0;
		goto out;
	}
	if (c->json) {
		struct json js;
		json__init(&js, stdout, true);
		json__begin_array(&js);
		err = dump_write_json(&js, &dp, &o);
		json__end_array(&js);
		err |= json__end(&js);
	} else {
		err = dump_write_text(stdout, &dp, &o);
	}
	rc = err ? 1 : 0;
out:
	free(shown);
	free_dump_locals(locals, s.nlocals);
	snapshot__release(&s);
	if (t.pp)
		snap_target__close(&t);
	core__close(core);
	return rc;
}

/* A running process (and with -s its Python descendants). */
static int dump_live(const struct dump_config *cp);

int cmd_dump(int argc, char **argv)
{
	struct dump_config c = dump_defaults;
	int err = parse(argc, argv, &c);
	if (err) {
		threadsel__free(c.sel);
		return err > 0 ? 0 : EXIT_USAGE;
	}
	int rc = c.core ? dump_core(&c) : dump_live(&c);
	threadsel__free(c.sel);
	return rc;
}

static int dump_live(const struct dump_config *cp)
{
	const struct dump_config c = *cp;
	int err;
	if (args_check_process(c.pid) || args_check_traced(c.pid, c.nonblocking))
		return 1;

	pid_t *pids = xmalloc(MAX_PROCS * sizeof(*pids)), *parents = xmalloc(MAX_PROCS * sizeof(*parents));
	size_t n = 1;
	pids[0] = c.pid;
	parents[0] = 0;
	if (c.subprocesses)
		n = descendants(c.pid, pids, parents, MAX_PROCS);

	struct dump_opts o = { .full_filenames = c.full_filenames, .qualname = c.qualname,
			       .locals = c.locals > 0 };
	int rc = 0, dumped = 0;
	struct json js;
	if (c.json) {
		json__init(&js, stdout, true);
		json__begin_array(&js);
	}
	for (size_t i = 0; i < n; i++) {
		struct snap_target t;
		if (open_target(pids[i], i == 0, &t) != 0) {
			if (i == 0 && !c.subprocesses) {
				rc = 1;
				break;
			}
			continue;   /* non-Python descendants are skipped quietly */
		}
		struct snapshot s = { 0 };
		struct dump_locals **locals = NULL;
		struct py_tasks ts = { 0 };
		char awhy[512] = "", where[32];
		snprintf(where, sizeof(where), "process %d", (int)pids[i]);
		if (c.async && async_unsupported(snap_target__info(&t), where)) {
			rc = 1;
			snap_target__close(&t);
			if (!c.subprocesses)
				break;
			continue;
		}
		err = c.native ? unwinder__new(pids[i], snap_target__info(&t)->binary, &t.uw) : 0;
		if (err) {
			cli_error("process %d: cannot read its native stacks: %s", (int)pids[i],
				  strerror(-err));
			rc = 1;
		} else if ((err = take_sample(&t, &c, &s)) != 0) {
			report_sample_error(pids[i], err);
			rc = 1;
		} else {
			locals = dump_locals_of(&s);
			char *pcmd = parents[i] ? procfs_cmdline(parents[i]) : NULL;
			bool *shown = shown_threads(&c, pids[i], &s.sample);
			struct dump_proc dp = { .info = snap_target__info(&t), .parent_pid = parents[i],
						.parent_cmdline = pcmd,
						.sample = &s.sample, .locals = locals,
						.native = c.native ? &s.native : NULL, .shown = shown };
			/* With --async the threads are written before the tasks
			 * are read: reading them may move the code objects the
			 * sample's frames point to. */
			if (c.json && c.async)
				err = dump_write_async_json_head(&js, &dp, &o);
			else if (c.json)
				err = dump_write_json(&js, &dp, &o);
			else {
				if (dumped)
					fputc('\n', stdout);
				err = dump_write_text(stdout, &dp, &o);
			}
			if (c.async) {
				int ar = read_async(t.pp, pids[i], !c.nonblocking, c.nonblocking, &ts,
						    awhy, sizeof(awhy));
				struct dump_async da = { ar == 0 ? &ts : NULL, awhy, ar < 0 };
				if (ar < 0)
					rc = 1;
				if (c.json)
					err |= dump_write_async_json_tail(&js, &dp, &da, &o);
				else if (ar >= 0)
					err |= dump_write_async_text(stdout, &dp, &da, &o);
			}
			dumped++;
			free(pcmd);
			free(shown);
			if (err)
				rc = 1;
		}
		free_dump_locals(locals, s.nlocals);
		snapshot__release(&s);
		py_tasks__release(&ts);
		snap_target__close(&t);
		if (rc && !c.subprocesses)
			break;
	}
	if (c.json) {
		json__end_array(&js);
		if (json__end(&js) != 0)
			rc = 1;
	}
	if (!rc && !dumped) {
		char comm[64];
		cli_error("process %d (%s) is not a Python process and has no Python descendants",
			  (int)c.pid, comm_of(c.pid, comm, sizeof(comm)));
		rc = 1;
	}
	free(pids);
	free(parents);
	return rc;
}

void cmd_dump_options(struct complete_cmd *out)
{
	*out = (struct complete_cmd){
		.options = xmalloc(sizeof(dump_options)), .shorts = xstrdup(DUMP_SHORT), .usage = usage,
	};
	memcpy(out->options, dump_options, sizeof(dump_options));
}
