/* SPDX-License-Identifier: MIT
 *
 * `cspy completions bash|zsh|fish`: a shell completion script for every
 * subcommand and option, written from the same getopt_long tables the
 * parsers use (each command hands its table over, cli.h), so the two never
 * disagree. An option's one-line help is read from the command's --help text
 * (the line that names it, or the line below when that one holds only the
 * option), what its value completes to from its name: files for --output
 * and --core, running PIDs for --pid, the writers' names for --format.
 */
#ifndef CSPY_COMPLETE_H
#define CSPY_COMPLETE_H

#include <stdbool.h>
#include <stdio.h>

struct option;

/* One subcommand as the scripts describe it. */
struct complete_cmd {
	const char *name;               /* "record" */
	const char *help;               /* its one-line description */
	struct option *options;         /* its getopt_long table, { 0 }-terminated (heap), or NULL */
	char *shorts;                   /* its getopt short-option string (heap), or NULL */
	void (*usage)(FILE *f);         /* its --help, the options' help read from it; or NULL */
	const char *words;              /* space-separated words its argument completes to, or NULL */
	bool launches;                  /* its arguments are a command to launch */
};

/* Frees what c holds (options, shorts). */
void complete_cmd__release(struct complete_cmd *c);

/* The script for shell ("bash", "zsh" or "fish") of the program cspy with
 * the n commands cmds to f. 0, -EINVAL for another shell, or -EIO. */
int complete_write(FILE *f, const char *shell, const struct complete_cmd *cmds, size_t n);

/* The shells complete_write knows, for help and errors: "bash, zsh or fish". */
const char *complete_shells(void);

#endif
