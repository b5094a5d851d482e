/* SPDX-License-Identifier: MIT
 *
 * The one-line messages of every subcommand (see cli.h): cli_error for
 * errors ("cspy: error: ..."), cli_note for record's and top's console
 * ("cspy> ..."). Both format the whole line first and escape every control
 * character in it (util/termsafe.h), since messages quote names the target
 * chose (its comm, its file names), then write it with one fprintf.
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/termsafe.h"
#include "util/xalloc.h"

/* One line on stderr: prefix, then the message, escaped. */
static void say(const char *prefix, const char *fmt, va_list ap)
{
	char *raw = xvasprintf(fmt, ap);
	char *safe = termsafe_escape(raw);
	fprintf(stderr, "%s%s\n", prefix, safe);
	free(safe);
	free(raw);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("cspy: error: ", fmt, ap);
	va_end(ap);
}

void cli_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("cspy> ", fmt, ap);
	va_end(ap);
}
