/* SPDX-License-Identifier: MIT
 *
 * cli/manpage: a --help text turned into a man page. A small help text in
 * the layout of cspy's usage() texts must give exactly the expected roff
 * (sections, .TP entries, continuation lines, fonts), and every character
 * roff would take for markup must come out escaped: `-`, backslash, quotes,
 * accents, and a `.` opening a line.
 */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "cli/manpage.h"

/* The page of text as a heap string (NULL if manpage_write failed; its
 * result in *rc). */
static char *page(const char *name, const char *text, int *rc)
{
	static const char *const see[] = { "cspy", "cspy-top", NULL };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct manpage m = {
		.name = name, .summary = "do a thing", .text = text, .version = "cspy 9.9",
		.date = "2026-01-02", .see_also = see,
	};
	*rc = manpage_write(f, &m);
	fclose(f);
	if (*rc) {
		free(out);
		return NULL;
	}
	return out;
}

static void test_layout(void)
{
	const char *help =
		"Usage: cspy demo [options] (--pid PID | [--] COMMAND [ARGS...])\n"
		"       cspy demo --core FILE\n"
		"\n"
		"Do a demo of a thing.\n"
		"\n"
		"Options:\n"
		"  -o, --output FILE      where to write\n"
		"                         (default: stdout)\n"
		"      --match-function REGEX\n"
		"                         keep matching frames\n"
		"  -h, --help             show this help\n"
		"\n"
		"A note.\n"
		"Keys: q quits.\n"
		"\n"
		"Second note.\n"
		"\n"
		"Examples:\n"
		"  cspy demo -o x.txt     into x.txt\n"
		"  cspy demo --pid 1\n";
	const char *want =
		".TH CSPY\\-DEMO 1 \"2026-01-02\" \"cspy 9.9\" \"User Commands\"\n"
		".SH NAME\n"
		"cspy\\-demo \\- do a thing\n"
		".SH SYNOPSIS\n"
		"\\fBcspy\\fR \\fBdemo\\fR [\\fIoptions\\fR] (\\fB\\-\\-pid\\fR \\fIPID\\fR | "
		"[\\fB\\-\\-\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...])\n"
		".br\n"
		"\\fBcspy\\fR \\fBdemo\\fR \\fB\\-\\-core\\fR \\fIFILE\\fR\n"
		".SH DESCRIPTION\n"
		"Do a demo of a thing.\n"
		".SH OPTIONS\n"
		".TP\n"
		"\\fB\\-o\\fR, \\fB\\-\\-output\\fR \\fIFILE\\fR\n"
		"where to write\n"
		"(default: stdout)\n"
		".TP\n"
		"\\fB\\-\\-match\\-function\\fR \\fIREGEX\\fR\n"
		"keep matching frames\n"
		".TP\n"
		"\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"
		"show this help\n"
		".SH NOTES\n"
		"A note.\n"
		".PP\n"
		"Keys: q quits.\n"
		".PP\n"
		"Second note.\n"
		".SH EXAMPLES\n"
		".TP\n"
		"\\fBcspy demo \\-o x.txt\\fR\n"
		"into x.txt\n"
		".TP\n"
		"\\fBcspy demo \\-\\-pid 1\\fR\n"
		".SH \"SEE ALSO\"\n"
		"\\fBcspy\\fR(1),\n"
		"\\fBcspy\\-top\\fR(1)\n";
	int rc;
	char *got = page("cspy-demo", help, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(got, want);
	free(got);
}

/* A title before "Usage:" is dropped; a text without "Usage:" is refused. */
static void test_title_and_no_usage(void)
{
	int rc;
	char *got = page("cspy", "cspy 1.0: a profiler\n\nUsage: cspy <command>\n", &rc);
	CHECK_INT(rc, 0);
	CHECK(got && !strstr(got, "profiler"));
	CHECK(got && strstr(got, ".SH SYNOPSIS\n\\fBcspy\\fR <\\fIcommand\\fR>\n"));
	free(got);
	CHECK(page("cspy", "no usage here\n", &rc) == NULL);
	CHECK_INT(rc, -EINVAL);
}

static void test_escaping(void)
{
	const char *help =
		"Usage: cspy x\n"
		"\n"
		"back\\slash 'quoted' `tick` ^anchor ~/home a-b --opt\n"
		".starts with a dot, 'starts with a quote\n"
		"\\fB not a font\n"
		"\n"
		"Options:\n"
		"  -a, --all-of-it  ... a leading dot in a help, 'x'\n"
		"                   .and on a continuation\n";
	int rc;
	char *got = page("cspy-x", help, &rc);
	CHECK_INT(rc, 0);
	if (!got)
		return;
	CHECK(strstr(got, "\nback\\eslash \\(aqquoted\\(aq \\(gatick\\(ga \\(haanchor "
			  "\\(ti/home a\\-b \\-\\-opt\n"));
	CHECK(strstr(got, "\n\\&.starts with a dot, \\(aqstarts with a quote\n"));
	CHECK(strstr(got, "\n\\efB not a font\n"));
	CHECK(strstr(got, "\n\\fB\\-a\\fR, \\fB\\-\\-all\\-of\\-it\\fR\n"
			  "\\&... a leading dot in a help, \\(aqx\\(aq\n"
			  "\\&.and on a continuation\n"));
	/* No line of the page opens with a bare '.' or '\'' other than a macro. */
	for (const char *l = got; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
		if (*l == '\'')
			CHECK(!"a line opens with a quote");
		if (*l == '.' && strncmp(l, ".TH ", 4) && strncmp(l, ".SH ", 4) && strncmp(l, ".TP\n", 4) &&
		    strncmp(l, ".PP\n", 4) && strncmp(l, ".br\n", 4)) {
			fprintf(stderr, "  line: %.40s\n", l);
			CHECK(!"a line opens with a dot that is no macro");
		}
	}
	/* Every '-' after the .TH line (its date) is "\-". */
	for (const char *p = strchr(got, '\n'); p && (p = strchr(p, '-')) != NULL; p++)
		if (p[-1] != '\\') {
			fprintf(stderr, "  unescaped '-' at: %.20s\n", p - 5);
			CHECK(!"an unescaped '-'");
			break;
		}
	free(got);
}

int main(void)
{
	TEST_RUN(test_layout);
	TEST_RUN(test_title_and_no_usage);
	TEST_RUN(test_escaping);
	return TEST_REPORT();
}
