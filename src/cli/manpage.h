/* SPDX-License-Identifier: MIT
 *
 * `cspy manpage [COMMAND]`: a man page (roff, the man(7) macros) written
 * from a command's --help text, so the page and --help never disagree. The
 * help text is read by its layout, the one every cspy command's usage()
 * follows:
 *
 *   a title line (optional, dropped: NAME and the footer carry it)
 *   Usage: SYNOPSIS            (more synopsis lines indented below it)
 *   <blank>
 *   paragraphs                 -> DESCRIPTION
 *   Options: / Commands:       a heading alone on its line -> .SH OPTIONS ...
 *     -x, --long ARG  help     entries: the spec, two spaces, the help, and
 *                     more     deeper-indented lines continuing the help
 *   paragraphs                 -> NOTES (a line opening with "Word:" starts a
 *                                 paragraph of its own)
 *   Examples:
 *     cspy ...   comment       a command, two spaces, what it does
 *
 * Every piece of text is escaped for roff: `-` as `\-` (options are typed
 * with the ASCII minus), backslash, quotes and accents as their named
 * glyphs (\(aq \(ga \(ha \(ti, which groff does not turn into typographic
 * ones), a `.` opening a line behind `\&`.
 */
#ifndef CSPY_MANPAGE_H
#define CSPY_MANPAGE_H

#include <stdio.h>

/* One page, all borrowed. */
struct manpage {
	const char *name;               /* the page and its command: "cspy-record" */
	const char *summary;            /* NAME's text after the dash, one line */
	const char *text;               /* the command's --help text */
	const char *version;            /* the footer's source: "cspy 0.1.0" */
	const char *date;               /* the footer's date "YYYY-MM-DD", or NULL: none */
	const char *const *see_also;    /* other pages (section 1), NULL-terminated, or NULL */
};

/* The roff text of page m to f: .TH, NAME, SYNOPSIS, DESCRIPTION, the
 * sections of the help text in its order (NOTES for the paragraphs after
 * the first section), SEE ALSO. 0, -EINVAL when the text has no "Usage:"
 * line, or -EIO when writing failed. */
int manpage_write(FILE *f, const struct manpage *m);

#endif
