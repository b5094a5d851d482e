/* SPDX-License-Identifier: MIT
 *
 * cspy's entry point: a table of subcommands (prefixes accepted, as in
 * py-spy), --version and --help, `help [COMMAND]` and `completions SHELL`
 * (the scripts written from the commands' own option tables, cli/complete.h),
 * `manpage [COMMAND]` (a build-time helper left out of --help: the man
 * pages written from the same --help texts, cli/manpage.h), py-spy 0.1's
 * legacy `--dump` spelling, and the final check that stdout was really
 * written (a full disk or a closed pipe must not end in exit 0).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/arch.h"
#include "cli/cli.h"
#include "cli/complete.h"
#include "cli/manpage.h"
#include "native/unwind.h"
#include "util/xalloc.h"

#define SUMMARY "a sampling profiler for Python programs"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
	void (*options)(struct complete_cmd *out);      /* for completions; NULL: none */
};

static int cmd_help(int argc, char **argv);
static int cmd_completions(int argc, char **argv);

static const struct cmd commands[] = {
	{ "record", cmd_record, "Sample a program and write a profile (a flame graph by default)",
	  cmd_record_options },
	{ "top", cmd_top, "Show a live view of the functions a program spends its time in",
	  cmd_top_options },
	{ "dump", cmd_dump, "Print the current Python stack of every thread of a process",
	  cmd_dump_options },
	{ "report", cmd_report, "Render a saved profile into any format (an HTML report by default)",
	  cmd_report_options },
	{ "diff", cmd_diff, "Compare two saved profiles: what got slower or faster",
	  cmd_diff_options },
	{ "completions", cmd_completions, "Print a shell completion script (bash, zsh or fish)",
	  NULL },
	{ "help", cmd_help, "Show the help of cspy or of a command", NULL },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "cspy %s: " SUMMARY "\n\n"
		"Usage: cspy <command> [options]\n\nCommands:\n", CSPY_VERSION);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nOptions:\n  -h, --help     show this help\n  -V, --version  show the version\n"
		"\nRun 'cspy <command> --help' for a command's options.\n"
		"\nExamples:\n"
		"  cspy record -o profile.svg --pid 4242       a flame graph, until Ctrl-C\n"
		"  cspy record -o profile.svg -- python app.py  launch and profile a program\n"
		"  cspy top --pid 4242              a live view, like top, of process 4242\n"
		"  cspy dump --pid 4242             the stack of every thread of process 4242\n"
		"  cspy dump --pid 4242 --locals    ... with local variables\n"
		"  cspy diff before.json after.json -o diff.svg   what changed between two runs\n"
		"  cspy completions bash > ~/.local/share/bash-completion/completions/cspy\n");
}

/* The command called a or by a prefix of its name; NULL (reported) if none.
 * A prefix several commands share means the first of them in the table:
 * py-spy's record, top and dump come first, so its prefixes ("r", "d")
 * keep their meaning as cspy's own commands (report, diff) are added
 * (cli/complete.c gives the scripts the same prefixes). */
static const struct cmd *find_command(const char *a)
{
	const struct cmd *found = NULL;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (!strcmp(a, commands[i].name))
			return &commands[i];
		if (!found && a[0] && a[0] != '-' && !strncmp(a, commands[i].name, strlen(a)))
			found = &commands[i];
	}
	if (!found)
		cli_error("unknown command '%s' (see 'cspy --help')", a);
	return found;
}

/* `cspy help [COMMAND]`, as py-spy's (clap's) help command. */
static int cmd_help(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		usage(stdout);
		return 0;
	}
	const struct cmd *c = find_command(argv[1]);
	if (!c)
		return EXIT_USAGE;
	char *args[] = { (char *)c->name, "--help", NULL };
	return c->fn(2, args);
}

/* `cspy completions bash|zsh|fish`: the script on stdout. */
static int cmd_completions(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: cspy completions SHELL\n\n"
		       "Print a completion script for SHELL (%s) of every cspy command\n"
		       "and option. `make install` installs all three; by hand, e.g.:\n"
		       "  cspy completions bash > ~/.local/share/bash-completion/completions/cspy\n"
		       "  cspy completions zsh > ~/.zfunc/_cspy     (a directory in $fpath)\n"
		       "  cspy completions fish > ~/.config/fish/completions/cspy.fish\n",
		       complete_shells());
		return 0;
	}
	if (argc != 2) {
		cli_error("give one shell: cspy completions SHELL, SHELL is %s", complete_shells());
		return EXIT_USAGE;
	}
	char names[128] = "";
	struct complete_cmd cmds[NCOMMANDS];
	for (size_t i = 0; i < NCOMMANDS; i++) {
		cmds[i] = (struct complete_cmd){ 0 };
		if (commands[i].options)
			commands[i].options(&cmds[i]);
		cmds[i].name = commands[i].name;
		cmds[i].help = commands[i].help;
		if (commands[i].options)
			continue;
		if (!strcmp(commands[i].name, "completions"))
			cmds[i].words = "bash zsh fish";
		else {          /* help: the commands */
			for (size_t j = 0; j < NCOMMANDS; j++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
					 j ? " " : "", commands[j].name);
			cmds[i].words = names;
		}
	}
	int err = complete_write(stdout, argv[1], cmds, NCOMMANDS);
	for (size_t i = 0; i < NCOMMANDS; i++)
		complete_cmd__release(&cmds[i]);
	if (err == -EINVAL) {
		cli_error("unknown shell '%s': use %s", argv[1], complete_shells());
		return EXIT_USAGE;
	}
	return err ? 1 : 0;
}

/* `cspy manpage [COMMAND]`: the man page of cspy, or of COMMAND (a command
 * with options), on stdout, from the same text as its --help. The footer's
 * date is SOURCE_DATE_EPOCH's (reproducible builds), else none. */
static int cmd_manpage(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: cspy manpage [COMMAND]\n\n"
		       "Print the man page (roff) of cspy, or of COMMAND, written from its --help;\n"
		       "`make man` writes them all. To read one: cspy manpage record | man -l -\n");
		return 0;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		cli_error("cspy manpage [COMMAND]: one command, or none for cspy(1)");
		return EXIT_USAGE;
	}
	const struct cmd *c = NULL;
	if (argc == 2) {
		c = find_command(argv[1]);
		if (!c)
			return EXIT_USAGE;
		if (!c->options) {
			cli_error("'%s' has no man page of its own (see cspy(1))", c->name);
			return EXIT_USAGE;
		}
	}
	/* The pages: cspy(1) and one per command with options. */
	const char *pages[NCOMMANDS + 2];
	char *names[NCOMMANDS];
	size_t np = 0, nn = 0;
	if (c)
		pages[np++] = "cspy";
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i].options && &commands[i] != c)
			pages[np++] = names[nn++] = xasprintf("cspy-%s", commands[i].name);
	pages[np] = NULL;

	char *text = NULL;
	size_t tlen = 0;
	FILE *m = open_memstream(&text, &tlen);
	if (!m) {
		cli_error("out of memory");
		for (size_t i = 0; i < nn; i++)
			free(names[i]);
		return 1;
	}
	struct complete_cmd cc = { 0 };
	char *name = c ? xasprintf("cspy-%s", c->name) : xstrdup("cspy");
	char *version = xasprintf("cspy %s", CSPY_VERSION), *summary = NULL;
	if (c) {
		c->options(&cc);
		cc.usage(m);
		/* "Sample a program ..." -> "sample a program ..." */
		summary = xstrdup(c->help);
		summary[0] = (char)tolower((unsigned char)summary[0]);
	} else {
		usage(m);
		summary = xstrdup(SUMMARY);
	}
	fclose(m);
	char date[16] = "";
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	if (epoch && *epoch) {
		time_t t = (time_t)strtoll(epoch, NULL, 10);
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	}
	struct manpage page = {
		.name = name, .summary = summary, .text = text, .version = version,
		.date = *date ? date : NULL, .see_also = pages,
	};
	int err = manpage_write(stdout, &page);
	if (err == -EINVAL)
		cli_error("the help of '%s' has no Usage: line", name);
	complete_cmd__release(&cc);
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(name);
	free(version);
	free(summary);
	free(text);
	return err ? 1 : 0;
}

/* py-spy 0.1's command line: `cspy --flame FILE [opts] (-p PID | -- cmd)`,
 * `cspy --native -o FILE -- cmd`, `cspy -- cmd`: record, with --flame FILE
 * meaning `-o FILE -f flamegraph`. */
static int legacy_record(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 3, sizeof(*args));
	int n = 0;
	if (!args)
		return 1;
	args[n++] = "record";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))  {
			while (i < argc)
				args[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--flame") && i + 1 < argc) {
			args[n++] = "-o";
			args[n++] = argv[++i];
			args[n++] = "--format=flamegraph";
			continue;
		}
		if (!strncmp(argv[i], "--flame=", 8)) {
			args[n++] = "-o";
			args[n++] = argv[i] + 8;
			args[n++] = "--format=flamegraph";
			continue;
		}
		args[n++] = argv[i];
	}
	args[n] = NULL;
	int rc = cmd_record(n, args);
	free(args);
	return rc;
}

/* --version: "cspy X.Y.Z" first (one line to parse, as py-spy's), then what
 * this build is: how it unwinds native stacks, how it is linked, for which
 * machine, by which compiler. */
#define STR_(x) #x
#define STR(x) STR_(x)
#if defined(__clang__)
#define BUILD_COMPILER "clang " STR(__clang_major__) "." STR(__clang_minor__) "." \
	STR(__clang_patchlevel__)
#elif defined(__GNUC__)
#define BUILD_COMPILER "gcc " __VERSION__
#else
#define BUILD_COMPILER "unknown"
#endif
#if CSPY_STATIC
#define BUILD_LINKING "static (every library built in)"
#else
#define BUILD_LINKING "dynamic"
#endif

static void print_version(void)
{
	const char *backend = unwind_backend();
	printf("cspy %s\n", CSPY_VERSION);
	if (backend)
		printf("native unwinding: %s (--native)\n", backend);
	else
		printf("native unwinding: none (built with NO_LIBDW=1: no --native)\n");
	printf("linking: %s\narchitecture: %s\ncompiler: %s\n",
	       BUILD_LINKING, arch_info.name, BUILD_COMPILER);
}

static int finish(int rc)
{
	/* A write error on stdout (full disk) is an error; a closed pipe is the reader's choice. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE) {
			cli_error("writing the output failed: %s", strerror(errno));
			return 1;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *a = argv[1];
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		usage(stdout);
		return finish(0);
	}
	if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
		print_version();
		return finish(0);
	}
	if (!strcmp(a, "manpage"))      /* a build-time helper, not in --help */
		return finish(cmd_manpage(argc - 1, argv + 1));
	if (!strcmp(a, "--dump"))       /* py-spy 0.1: cspy --dump --pid PID */
		return finish(cmd_dump(argc - 1, argv + 1));
	if (a[0] == '-')                /* py-spy 0.1: options without a command mean record */
		return finish(legacy_record(argc, argv));

	const struct cmd *found = find_command(a);
	if (!found)
		return EXIT_USAGE;
	return finish(found->fn(argc - 1, argv + 1));
}
