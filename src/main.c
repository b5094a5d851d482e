/* SPDX-License-Identifier: MIT
 *
 * cspy's entry point: a table of subcommands (unique prefixes accepted, as in
 * py-spy), --version and --help, py-spy 0.1's legacy `--dump` spelling, and
 * the final check that stdout was really written (a full disk or a closed
 * pipe must not end in exit 0).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct cmd commands[] = {
	{ "record", cmd_record, "Sample a program and write a profile (a flame graph by default)" },
	{ "top", cmd_top, "Show a live view of the functions a program spends its time in" },
	{ "dump", cmd_dump, "Print the current Python stack of every thread of a process" },
};

static void usage(FILE *f)
{
	fprintf(f, "cspy %s: a sampling profiler for Python programs\n\n"
		"Usage: cspy <command> [options]\n\nCommands:\n", CSPY_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nOptions:\n  -h, --help     show this help\n  -V, --version  show the version\n"
		"\nRun 'cspy <command> --help' for a command's options.\n"
		"\nExamples:\n"
		"  cspy record -o profile.svg --pid 4242       a flame graph, until Ctrl-C\n"
		"  cspy record -o profile.svg -- python app.py  launch and profile a program\n"
		"  cspy top --pid 4242              a live view, like top, of process 4242\n"
		"  cspy dump --pid 4242             the stack of every thread of process 4242\n"
		"  cspy dump --pid 4242 --locals    ... with local variables\n");
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
		args[n++] = argv[i];
	}
	args[n] = NULL;
	int rc = cmd_record(n, args);
	free(args);
	return rc;
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
		printf("cspy %s\n", CSPY_VERSION);
		return finish(0);
	}
	if (!strcmp(a, "--dump"))       /* py-spy 0.1: cspy --dump --pid PID */
		return finish(cmd_dump(argc - 1, argv + 1));
	if (a[0] == '-')                /* py-spy 0.1: options without a command mean record */
		return finish(legacy_record(argc, argv));

	const struct cmd *found = NULL;
	int matches = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(a, commands[i].name)) {
			found = &commands[i];
			matches = 1;
			break;
		}
		if (a[0] != '-' && !strncmp(a, commands[i].name, strlen(a))) {
			found = &commands[i];
			matches++;
		}
	}
	if (matches != 1) {
		cli_error("unknown command '%s' (see 'cspy --help')", a);
		return EXIT_USAGE;
	}
	return finish(found->fn(argc - 1, argv + 1));
}
