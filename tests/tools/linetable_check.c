/* SPDX-License-Identifier: MIT
 *
 * linetable_check: replays line-number answers recorded from a real CPython
 * (tests/linetables/dump_code.py) through linetable_addr2line() and counts
 * disagreements. Reads a line-oriented text stream on stdin:
 *
 *   V <text>                             interpreter version (informational)
 *   C <kind> <firstlineno> <hex|-> <label>
 *                                        starts a code object; kind is one of
 *                                        lnotab_u8 lnotab_s8 linetable locations;
 *                                        hex is the raw table ("-" when empty);
 *                                        label (rest of line) names it in reports
 *   R <line> <start> <end> <step>        offsets start, start+step, ... < end of
 *                                        the current code object expect <line>
 *   P <line> <offset>...                 the listed offsets expect <line>
 *   T <start> <end> <line>...            triples: offsets start, start+2, ...
 *                                        < end expect <line> (3.10+ co_lines)
 *   # ...                                comment
 *
 * Lines are -1 for "no line". The first 20 mismatches are printed in detail;
 * the last line of output is
 *   totals code_objects=N offsets=M mismatches=K
 * Exit status: 0 if there was no mismatch and at least one offset was
 * checked, 1 otherwise, 2 on malformed input.
 */
#include "python/linetable.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DETAIL_MAX 20

struct code {
	int have;
	enum lt_kind kind;
	int firstlineno;
	uint8_t *tab;
	size_t len, cap;
	char *label;
};

struct totals {
	unsigned long long codes, offsets, mismatches;
};

static const char *const kind_names[] = {
	[LT_LNOTAB_U8] = "lnotab_u8",
	[LT_LNOTAB_S8] = "lnotab_s8",
	[LT_LINETABLE] = "linetable",
	[LT_LOCATIONS] = "locations",
};

static int parse_kind(const char *s, enum lt_kind *kind)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*kind = (enum lt_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Next whitespace-separated token of *s as a long; advances *s. */
static int next_long(char **s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(*s, &end, 10);
	if (end == *s || errno)
		return -EINVAL;
	if (*end && *end != ' ' && *end != '\t' && *end != '\n')
		return -EINVAL;
	*s = end;
	return 0;
}

static int next_int(char **s, int *out)
{
	long v;

	if (next_long(s, &v) || v < -2147483647L - 1 || v > 2147483647L)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "C <kind> <firstlineno> <hex|-> <label>" */
static int parse_code(char *s, struct code *co)
{
	char *tok, *hex;
	size_t n;

	s += strspn(s, " \t");
	tok = s;
	s += strcspn(s, " \t\n");
	if (!*s)
		return -EINVAL;
	*s++ = '\0';
	if (parse_kind(tok, &co->kind) || next_int(&s, &co->firstlineno))
		return -EINVAL;
	s += strspn(s, " \t");
	hex = s;
	n = strcspn(s, " \t\n");
	s += n;
	co->len = 0;
	if (!(n == 1 && hex[0] == '-')) {
		if (n % 2)
			return -EINVAL;
		co->tab = xgrow(co->tab, &co->cap, n / 2, 1);
		for (size_t i = 0; i < n; i += 2) {
			int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			co->tab[co->len++] = (uint8_t)(hi << 4 | lo);
		}
	}
	s += strspn(s, " \t");
	s[strcspn(s, "\n")] = '\0';
	free(co->label);
	co->label = xstrdup(s);
	co->have = 1;
	return 0;
}

static void report(const struct code *co, int offset, int expect, int got,
		   struct totals *t)
{
	t->mismatches++;
	if (t->mismatches > DETAIL_MAX)
		return;
	printf("MISMATCH %s: kind=%s firstlineno=%d offset=%d expected=%d got=%d table(%zu)=",
	       co->label, kind_names[co->kind], co->firstlineno, offset, expect,
	       got, co->len);
	for (size_t i = 0; i < co->len && i < 64; i++)
		printf("%02x", co->tab[i]);
	printf("%s\n", co->len > 64 ? "..." : "");
}

static void check_one(const struct code *co, int offset, int expect,
		      struct totals *t)
{
	int got = linetable_addr2line(co->kind, co->len ? co->tab : NULL,
				      co->len, co->firstlineno, offset);

	t->offsets++;
	if (got != expect)
		report(co, offset, expect, got, t);
}

/* "R <line> <start> <end> <step>" */
static int parse_range(char *s, const struct code *co, struct totals *t)
{
	int line, start, end, step;

	if (next_int(&s, &line) || next_int(&s, &start) ||
	    next_int(&s, &end) || next_int(&s, &step) || step <= 0)
		return -EINVAL;
	for (long long off = start; off < end; off += step)
		check_one(co, (int)off, line, t);
	return 0;
}

/* "T <start> <end> <line> [<start> <end> <line>]..." */
static int parse_triples(char *s, const struct code *co, struct totals *t)
{
	int start, end, line;

	for (;;) {
		s += strspn(s, " \t\n");
		if (!*s)
			return 0;
		if (next_int(&s, &start) || next_int(&s, &end) ||
		    next_int(&s, &line))
			return -EINVAL;
		for (long long off = start; off < end; off += 2)
			check_one(co, (int)off, line, t);
	}
}

/* "P <line> <offset>..." */
static int parse_points(char *s, const struct code *co, struct totals *t)
{
	int line, off;

	if (next_int(&s, &line))
		return -EINVAL;
	for (;;) {
		s += strspn(s, " \t\n");
		if (!*s)
			return 0;
		if (next_int(&s, &off))
			return -EINVAL;
		check_one(co, off, line, t);
	}
}

int main(void)
{
	struct code co = { 0 };
	struct totals t = { 0 };
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int err = 0;

	while ((n = getline(&buf, &cap, stdin)) > 0) {
		lineno++;
		switch (buf[0]) {
		case 'C':
			err = parse_code(buf + 1, &co);
			t.codes++;
			break;
		case 'R':
			err = co.have ? parse_range(buf + 1, &co, &t) : -EINVAL;
			break;
		case 'P':
			err = co.have ? parse_points(buf + 1, &co, &t) : -EINVAL;
			break;
		case 'T':
			err = co.have ? parse_triples(buf + 1, &co, &t) : -EINVAL;
			break;
		case 'V':
			printf("version %s", buf + 1 + strspn(buf + 1, " \t"));
			break;
		case '#':
		case '\n':
			break;
		default:
			err = -EINVAL;
		}
		if (err) {
			fprintf(stderr, "linetable_check: malformed input at line %lu: %.80s\n",
				lineno, buf);
			break;
		}
	}
	free(buf);
	free(co.tab);
	free(co.label);
	if (t.mismatches > DETAIL_MAX)
		printf("... and %llu more mismatches\n", t.mismatches - DETAIL_MAX);
	printf("totals code_objects=%llu offsets=%llu mismatches=%llu\n",
	       t.codes, t.offsets, t.mismatches);
	if (fflush(stdout) || ferror(stdout))
		return 2;
	if (err)
		return 2;
	return t.mismatches || !t.offsets ? 1 : 0;
}
