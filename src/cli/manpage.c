/* SPDX-License-Identifier: MIT
 *
 * The man page writer (see manpage.h). The help text is cut into lines
 * (start, length, indentation) and walked once in blocks separated by blank
 * lines: the "Usage:" line and the indented ones below it are the SYNOPSIS;
 * a block that opens with a heading ("Options:") is a section of .TP
 * entries; any other block is prose, filled by roff (DESCRIPTION before the
 * first section, NOTES after it). Inline, a synopsis or option spec is cut
 * into words: the options (a leading `-`) and the command's own name are
 * bold, the placeholders (FILE, PID, options) italic; an example command is
 * bold as a whole. Every character goes through one escaping function.
 */
#include "cli/manpage.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct line {
	const char *s;
	size_t len;     /* without the newline */
	size_t ind;     /* leading spaces; == len for a blank line */
};

struct text {
	struct line *l;
	size_t n;
};

static void text_load(struct text *t, const char *s)
{
	size_t cap = 0;
	*t = (struct text){ 0 };
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		while (len > 0 && s[len - 1] == ' ')
			len--;
		size_t ind = 0;
		while (ind < len && s[ind] == ' ')
			ind++;
		t->l = xgrow(t->l, &cap, t->n + 1, sizeof(*t->l));
		t->l[t->n++] = (struct line){ .s = s, .len = len, .ind = ind };
		if (!nl)
			break;
		s = nl + 1;
	}
}

static bool blank(const struct line *l)
{
	return l->ind == l->len;
}

/* One character of text for roff; `at_start`: it opens an input line. */
static void esc_char(FILE *f, char c, bool at_start)
{
	switch (c) {
	case '-': fputs("\\-", f); return;
	case '\\': fputs("\\e", f); return;
	case '\'': fputs("\\(aq", f); return;
	case '`': fputs("\\(ga", f); return;
	case '^': fputs("\\(ha", f); return;
	case '~': fputs("\\(ti", f); return;
	case '.':
		if (at_start)
			fputs("\\&", f);
		break;
	}
	fputc(c, f);
}

static void esc(FILE *f, const char *s, size_t len, bool at_start)
{
	for (size_t i = 0; i < len; i++)
		esc_char(f, s[i], at_start && i == 0);
}

/* How the words of a spec are set. */
enum spec { SPEC_OPTION, SPEC_SYNOPSIS, SPEC_BOLD };

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static bool placeholder(const char *w, size_t len)
{
	bool letter = false;
	for (size_t i = 0; i < len; i++) {
		if (islower((unsigned char)w[i]))
			return false;
		letter |= isupper((unsigned char)w[i]) != 0;
	}
	return letter;
}

/* A synopsis line, an option's spec or an example command as one roff
 * input line (no newline). cmd: the page's command ("record"), bold in a
 * synopsis with "cspy". */
static void spec(FILE *f, const char *s, size_t len, enum spec how, const char *cmd)
{
	if (how == SPEC_BOLD) {
		fputs("\\fB", f);
		esc(f, s, len, false);
		fputs("\\fR", f);
		return;
	}
	for (size_t i = 0; i < len;) {
		if (!word_char(s[i])) {
			esc_char(f, s[i], i == 0);
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && word_char(s[j]))
			j++;
		const char *w = s + i;
		size_t wl = j - i;
		const char *font = "";
		if (w[0] == '-')
			font = "B";
		else if (how == SPEC_SYNOPSIS && ((wl == 4 && !strncmp(w, "cspy", 4)) ||
						  (cmd && wl == strlen(cmd) && !strncmp(w, cmd, wl))))
			font = "B";
		else if (how == SPEC_SYNOPSIS ? isalpha((unsigned char)w[0]) != 0 : placeholder(w, wl))
			font = "I";
		if (*font)
			fprintf(f, "\\f%s", font);
		esc(f, w, wl, false);
		if (*font)
			fputs("\\fR", f);
		i = j;
	}
}

/* The spec of an entry line ("  -o, --output FILE   help") ends at the
 * first two spaces; returns its length from the indentation. */
static size_t spec_len(const struct line *l)
{
	for (size_t i = l->ind; i + 1 < l->len; i++)
		if (l->s[i] == ' ' && l->s[i + 1] == ' ')
			return i - l->ind;
	return l->len - l->ind;
}

/* "Options:" alone on its line, opening a block whose next line is indented. */
static bool heading(const struct text *t, size_t i)
{
	const struct line *l = &t->l[i];
	if (l->ind != 0 || l->len < 2 || l->len > 40 || l->s[l->len - 1] != ':')
		return false;
	return i + 1 < t->n && !blank(&t->l[i + 1]) && t->l[i + 1].ind > 0;
}

/* A prose line that opens with "Word:" (top's "Keys:"): its own paragraph. */
static bool labelled(const struct line *l)
{
	size_t i = l->ind;
	if (i >= l->len || !isupper((unsigned char)l->s[i]))
		return false;
	while (i < l->len && isalpha((unsigned char)l->s[i]))
		i++;
	return i + 1 < l->len && l->s[i] == ':' && l->s[i + 1] == ' ';
}

static void section(FILE *f, const char *title, size_t len)
{
	bool space = memchr(title, ' ', len) != NULL;
	fputs(space ? ".SH \"" : ".SH ", f);
	for (size_t i = 0; i < len; i++)
		esc_char(f, (char)toupper((unsigned char)title[i]), false);
	fputs(space ? "\"\n" : "\n", f);
}

/* The entries of a section, lines [from, to): .TP, the spec, the help
 * joined from its line and the continuation lines. */
static void entries(FILE *f, const struct text *t, size_t from, size_t to, bool examples)
{
	size_t first_ind = t->l[from].ind;
	for (size_t i = from; i < to;) {
		const struct line *l = &t->l[i];
		size_t sl = spec_len(l);
		fputs(".TP\n", f);
		spec(f, l->s + l->ind, sl, examples ? SPEC_BOLD : SPEC_OPTION, NULL);
		fputc('\n', f);
		size_t h = l->ind + sl;
		while (h < l->len && l->s[h] == ' ')
			h++;
		if (h < l->len) {
			esc(f, l->s + h, l->len - h, true);
			fputc('\n', f);
		}
		for (i++; i < to; i++) {
			const struct line *c = &t->l[i];
			if (c->ind <= first_ind || c->s[c->ind] == '-')
				break;
			esc(f, c->s + c->ind, c->len - c->ind, true);
			fputc('\n', f);
		}
	}
}

int manpage_write(FILE *f, const struct manpage *m)
{
	struct text t;
	text_load(&t, m->text);
	size_t i = 0;
	while (i < t.n && strncmp(t.l[i].s, "Usage: ", 7) != 0)
		i++;
	if (i == t.n) {
		free(t.l);
		return -EINVAL;
	}
	const char *cmd = strchr(m->name, '-') ? strchr(m->name, '-') + 1 : NULL;

	fputs(".TH ", f);
	for (const char *p = m->name; *p; p++)
		esc_char(f, (char)toupper((unsigned char)*p), false);
	fprintf(f, " 1 \"%s\" \"", m->date ? m->date : "");
	esc(f, m->version, strlen(m->version), false);
	fputs("\" \"User Commands\"\n.SH NAME\n", f);
	esc(f, m->name, strlen(m->name), true);
	fputs(" \\- ", f);
	esc(f, m->summary, strlen(m->summary), false);
	fputs("\n.SH SYNOPSIS\n", f);

	/* "Usage: X" and the indented lines under it. */
	spec(f, t.l[i].s + 7, t.l[i].len - 7, SPEC_SYNOPSIS, cmd);
	fputc('\n', f);
	for (i++; i < t.n && !blank(&t.l[i]) && t.l[i].ind > 0; i++) {
		fputs(".br\n", f);
		spec(f, t.l[i].s + t.l[i].ind, t.l[i].len - t.l[i].ind, SPEC_SYNOPSIS, cmd);
		fputc('\n', f);
	}

	bool sections = false, notes = false, description = false;
	while (i < t.n) {
		if (blank(&t.l[i])) {
			i++;
			continue;
		}
		size_t end = i;
		while (end < t.n && !blank(&t.l[end]))
			end++;
		if (heading(&t, i)) {
			const struct line *h = &t.l[i];
			section(f, h->s, h->len - 1);
			entries(f, &t, i + 1, end, h->len == 9 && !strncmp(h->s, "Examples:", 9));
			sections = true;
		} else {
			if (sections && !notes) {
				fputs(".SH NOTES\n", f);
				notes = true;
			} else if (!sections && !description) {
				fputs(".SH DESCRIPTION\n", f);
				description = true;
			} else {
				fputs(".PP\n", f);
			}
			for (size_t k = i; k < end; k++) {
				const struct line *l = &t.l[k];
				if (k > i && labelled(l))
					fputs(".PP\n", f);
				esc(f, l->s + l->ind, l->len - l->ind, true);
				fputc('\n', f);
			}
		}
		i = end;
	}

	if (m->see_also && m->see_also[0]) {
		fputs(".SH \"SEE ALSO\"\n", f);
		for (size_t k = 0; m->see_also[k]; k++) {
			fputs("\\fB", f);
			esc(f, m->see_also[k], strlen(m->see_also[k]), false);
			fprintf(f, "\\fR(1)%s\n", m->see_also[k + 1] ? "," : "");
		}
	}
	free(t.l);
	return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}
