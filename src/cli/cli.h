/* SPDX-License-Identifier: MIT
 *
 * The subcommands and what they share: one-line error reporting
 * ("cspy: error: ...", cli.c) and exit codes. The options record and top
 * share are parsed by cli/opts.h, how they start and end by cli/session.h;
 * each subcommand parses the rest of its options itself.
 */
#ifndef CSPY_CLI_H
#define CSPY_CLI_H

#define EXIT_USAGE 2

/* Print "cspy: error: <msg>\n" to stderr, control characters in msg
 * escaped (util/termsafe.h). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A console line of record and top: "cspy> <msg>\n" on stderr, escaped
 * the same way. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_dump(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);

/* A command's options for `cspy completions` (cli/complete.h): its
 * getopt_long table and short-option string (copies, released with
 * complete_cmd__release) and its --help; name and help are the caller's. */
struct complete_cmd;
void cmd_dump_options(struct complete_cmd *out);
void cmd_record_options(struct complete_cmd *out);
void cmd_top_options(struct complete_cmd *out);
void cmd_report_options(struct complete_cmd *out);
void cmd_diff_options(struct complete_cmd *out);

#endif
