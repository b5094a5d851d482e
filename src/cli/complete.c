/* SPDX-License-Identifier: MIT
 *
 * The completion scripts (see complete.h). Each command's table is first
 * turned into a list of options (long name, short letter when its key is
 * also in the short-option string, whether it takes a value, what the value
 * completes to, the help line found in its --help text, caught with
 * open_memstream); then one writer per shell prints the script from the
 * lists. A command is also recognised by its prefixes ("rec"; one several
 * commands share is the first one's), as main.c accepts them. Every script ends the options at `--` and, for a
 * command that launches a program, completes that program's words as files.
 */
#include "cli/complete.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "writers/writer.h"
#include "util/xalloc.h"

enum value { V_NONE, V_FREE, V_FILE, V_PID, V_FORMAT };

struct copt {
	const char *name;       /* long name, borrowed from the table */
	char letter;            /* short form, or 0 */
	enum value value;
	char *help;             /* one line, heap */
};

struct ccmd {
	const struct complete_cmd *c;
	struct copt *opts;
	size_t n;
	char *prefixes;         /* "r re rec reco recor record": every prefix that is its */
};

void complete_cmd__release(struct complete_cmd *c)
{
	free(c->options);
	free(c->shorts);
	c->options = NULL;
	c->shorts = NULL;
}

const char *complete_shells(void)
{
	return "bash, zsh or fish";
}

static enum value value_of(const struct option *o)
{
	if (o->has_arg == no_argument)
		return V_NONE;
	if (!strcmp(o->name, "output") || !strcmp(o->name, "core"))
		return V_FILE;
	if (!strcmp(o->name, "pid"))
		return V_PID;
	if (!strcmp(o->name, "format"))
		return V_FORMAT;
	return V_FREE;
}

/* Does the option part of a --help line (spec) name "--name" or "-c"? */
static bool spec_names(const char *spec, size_t len, const char *name, char letter)
{
	char want[64];
	if (name)
		snprintf(want, sizeof(want), "--%s", name);
	else
		snprintf(want, sizeof(want), "-%c", letter);
	size_t w = strlen(want);
	for (size_t i = 0; i + w <= len; i++) {
		if ((i > 0 && spec[i - 1] != ' ' && spec[i - 1] != ',') || strncmp(spec + i, want, w))
			continue;
		char after = i + w < len ? spec[i + w] : ' ';
		if (after == ' ' || after == ',' || after == '=')
			return true;
	}
	return false;
}

/* Lines of a --help text: the next one (NULL at the end), the length of
 * one without its newline, its indentation. */
static const char *next_line(const char *l)
{
	const char *nl = strchr(l, '\n');
	return nl && nl[1] ? nl + 1 : NULL;
}

static size_t line_len(const char *l)
{
	const char *nl = strchr(l, '\n');
	return nl ? (size_t)(nl - l) : strlen(l);
}

static size_t indent_of(const char *l, size_t len)
{
	size_t i = 0;
	while (i < len && l[i] == ' ')
		i++;
	return i;
}

/* The help of an option in a --help text: the words after its spec on the
 * line that names it, then those of each following line indented deeper
 * that is not another option's, one space apart. "" if not found. */
static char *help_of(const char *text, const char *name, char letter)
{
	for (const char *l = *text ? text : NULL; l; l = next_line(l)) {
		size_t len = line_len(l), ind = indent_of(l, len);
		if (ind == 0 || ind == len || l[ind] != '-')
			continue;
		const char *gap = strstr(l + ind, "  ");
		size_t spec = gap && gap < l + len ? (size_t)(gap - l) : len;
		if (!spec_names(l, spec, name, 0) && !(letter && spec_names(l, spec, NULL, letter)))
			continue;
		size_t from = spec + indent_of(l + spec, len - spec);
		char *help = xstrndup(l + from, len - from);
		for (const char *n = next_line(l); n; n = next_line(n)) {
			size_t nlen = line_len(n), nind = indent_of(n, nlen);
			if (nind <= ind || nind == nlen || n[nind] == '-')
				break;
			char *more = xasprintf("%s%s%.*s", help, *help ? " " : "", (int)(nlen - nind),
					       n + nind);
			free(help);
			help = more;
		}
		return help;
	}
	return xstrdup("");
}

static void load(const struct complete_cmd *c, const struct complete_cmd *all, size_t nall,
		 struct ccmd *out)
{
	*out = (struct ccmd){ .c = c };
	char *text = NULL;
	size_t tlen = 0;
	if (c->usage) {
		FILE *m = open_memstream(&text, &tlen);
		if (m) {
			c->usage(m);
			fclose(m);
		}
	}
	for (const struct option *o = c->options; o && o->name; o++)
		out->n++;
	out->opts = xcalloc(out->n ? out->n : 1, sizeof(*out->opts));
	for (size_t i = 0; i < out->n; i++) {
		const struct option *o = &c->options[i];
		struct copt *p = &out->opts[i];
		p->name = o->name;
		if (o->val > 0 && o->val < 128 && isalnum(o->val) && c->shorts && strchr(c->shorts, o->val))
			p->letter = (char)o->val;
		p->value = value_of(o);
		p->help = help_of(text ? text : "", o->name, p->letter);
	}
	free(text);

	/* A prefix is c's when no command before it in the table has it (as
	 * main.c resolves a prefix several commands share: the first). */
	size_t len = strlen(c->name), cap = (len + 1) * (len + 2) / 2 + 1, used = 0;
	size_t self = c >= all && c < all + nall ? (size_t)(c - all) : nall;
	out->prefixes = xcalloc(1, cap);
	for (size_t k = 1; k <= len; k++) {
		int before = 0;
		for (size_t j = 0; j < self; j++)
			before += strncmp(all[j].name, c->name, k) == 0;
		if (before == 0 || k == len)
			used += (size_t)snprintf(out->prefixes + used, cap - used, "%s%.*s",
						 used ? " " : "", (int)k, c->name);
	}
}

static void unload(struct ccmd *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->opts[i].help);
	free(c->opts);
	free(c->prefixes);
}

/* Print s with each of the characters in `special` preceded by a backslash,
 * and a single quote written for a single-quoted shell word. */
static void quoted(FILE *f, const char *s, const char *special, const char *squote)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs(squote, f);
		else if (strchr(special, *s))
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
}

static void format_names(FILE *f)
{
	const struct writer *w;
	for (size_t i = 0; (w = writer_at(i)) != NULL; i++)
		fprintf(f, "%s%s", i ? " " : "", w->name);
}

/* ---- bash ---- */

static void bash_words(FILE *f, const struct ccmd *c, bool values)
{
	bool first = true;
	for (size_t i = 0; i < c->n; i++) {
		const struct copt *o = &c->opts[i];
		if (values && o->value == V_NONE)
			continue;
		fprintf(f, "%s--%s", first ? "" : (values ? "|" : " "), o->name);
		first = false;
		if (o->letter)
			fprintf(f, "%s-%c", values ? "|" : " ", o->letter);
	}
}

/* Does a command before the k-th have an option called name? */
static bool seen_before(const struct ccmd *cs, size_t k, const char *name)
{
	for (size_t j = 0; j < k; j++)
		for (size_t i = 0; i < cs[j].n; i++)
			if (!strcmp(cs[j].opts[i].name, name))
				return true;
	return false;
}

static void write_bash(FILE *f, const struct ccmd *cs, size_t n)
{
	fputs("# bash completion for cspy, written by `cspy completions bash`\n"
	      "_cspy_values() { # the option before the word being completed, the word\n"
	      "\tcase $1 in\n", f);
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < cs[k].n; i++) {
			const struct copt *o = &cs[k].opts[i];
			if (o->value == V_NONE || o->value == V_FREE || seen_before(cs, k, o->name))
				continue;
			fprintf(f, "\t--%s", o->name);
			if (o->letter)
				fprintf(f, "|-%c", o->letter);
			fputc(')', f);
			if (o->value == V_FILE)
				fputs(" compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$2\")) ;;\n", f);
			else if (o->value == V_PID)
				fputs(" COMPREPLY=($(compgen -W \"$(ps -e -o pid= 2>/dev/null)\" -- \"$2\")) ;;\n", f);
			else {
				fputs(" COMPREPLY=($(compgen -W \"", f);
				format_names(f);
				fputs("\" -- \"$2\")) ;;\n", f);
			}
		}
	fputs("\tesac\n}\n\n"
	      "_cspy() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tlocal cmd= opts= valued= words= launches= i w skip=\n"
	      "\tCOMPREPLY=()\n"
	      "\t# --opt=value: bash splits it at the '='\n"
	      "\tif [[ $cur == = ]]; then cur=; elif [[ $prev == = ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}; fi\n"
	      "\tcase ${COMP_WORDS[1]} in\n", f);
	for (size_t k = 0; k < n; k++) {
		fputs("\t", f);
		for (const char *p = cs[k].prefixes; *p; p++)
			fputc(*p == ' ' ? '|' : *p, f);
		fprintf(f, ") cmd=%s\n\t\topts=\"", cs[k].c->name);
		bash_words(f, &cs[k], false);
		fputs("\"\n\t\tvalued=\"|", f);
		bash_words(f, &cs[k], true);
		fprintf(f, "|\"\n\t\twords=\"%s\" launches=%s ;;\n", cs[k].c->words ? cs[k].c->words : "",
			cs[k].c->launches ? "1" : "");
	}
	fputs("\tesac\n"
	      "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	      "\t\tif [[ $cur == -* ]]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"-h --help -V --version\" -- \"$cur\"))\n"
	      "\t\telse\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"", f);
	for (size_t k = 0; k < n; k++)
		fprintf(f, "%s%s", k ? " " : "", cs[k].c->name);
	fputs("\" -- \"$cur\"))\n"
	      "\t\tfi\n"
	      "\t\treturn 0\n"
	      "\tfi\n"
	      "\t[ -n \"$cmd\" ] || return 0\n"
	      "\t# After `--` or the first word that is not an option: the program to launch.\n"
	      "\tfor ((i = 2; i < COMP_CWORD; i++)); do\n"
	      "\t\tw=${COMP_WORDS[i]}\n"
	      "\t\tif [ -n \"$skip\" ]; then skip=; continue; fi\n"
	      "\t\tcase $w in\n"
	      "\t\t--) break ;;\n"
	      "\t\t=) skip=1 ;;\n"
	      "\t\t-*) [[ $valued == *\"|$w|\"* && ${COMP_WORDS[i+1]} != = ]] && skip=1 ;;\n"
	      "\t\t*) break ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tif [ \"$i\" -lt \"$COMP_CWORD\" ]; then\n"
	      "\t\t[ -n \"$launches\" ] && compopt -o default 2>/dev/null\n"
	      "\t\treturn 0\n"
	      "\tfi\n"
	      "\tif [[ $valued == *\"|$prev|\"* ]]; then\n"
	      "\t\t_cspy_values \"$prev\" \"$cur\"\n"
	      "\t\treturn 0\n"
	      "\tfi\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	      "\telif [ -n \"$words\" ]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	      "\telif [ -n \"$launches\" ]; then\n"
	      "\t\tcompopt -o default 2>/dev/null\n"
	      "\tfi\n"
	      "\treturn 0\n"
	      "}\n"
	      "complete -F _cspy cspy\n", f);
}

/* ---- zsh ---- */

static void zsh_help(FILE *f, const char *help)
{
	quoted(f, help, "[]\\", "'\\''");
}

static void zsh_value(FILE *f, const struct copt *o)
{
	switch (o->value) {
	case V_NONE: break;
	case V_FREE: fprintf(f, ": :"); break;
	case V_FILE: fprintf(f, ":file:_files"); break;
	case V_PID: fprintf(f, ":pid:_pids"); break;
	case V_FORMAT:
		fprintf(f, ":format:(");
		format_names(f);
		fputc(')', f);
		break;
	}
}

static void write_zsh(FILE *f, const struct ccmd *cs, size_t n)
{
	fputs("#compdef cspy\n# zsh completion for cspy, written by `cspy completions zsh`\n\n", f);
	for (size_t k = 0; k < n; k++) {
		const struct ccmd *c = &cs[k];
		fprintf(f, "_cspy_%s() {\n\t_arguments -s -S", c->c->name);
		for (size_t i = 0; i < c->n; i++) {
			const struct copt *o = &c->opts[i];
			const char *arg = o->value == V_NONE ? "" : "=";
			fprintf(f, " \\\n\t\t'*--%s%s[", o->name, arg);
			zsh_help(f, o->help);
			fputc(']', f);
			zsh_value(f, o);
			fputc('\'', f);
			if (o->letter) {
				fprintf(f, " \\\n\t\t'*-%c%s[", o->letter, o->value == V_NONE ? "" : "+");
				zsh_help(f, o->help);
				fputc(']', f);
				zsh_value(f, o);
				fputc('\'', f);
			}
		}
		if (c->c->words)
			fprintf(f, " \\\n\t\t'1: :(%s)'", c->c->words);
		if (c->c->launches)
			fputs(" \\\n\t\t'*::command:_normal'", f);
		fputs("\n}\n\n", f);
	}
	fputs("_cspy() {\n\tlocal -a cmds\n\tcmds=(", f);
	for (size_t k = 0; k < n; k++) {
		fprintf(f, "%s'%s:", k ? " " : "", cs[k].c->name);
		quoted(f, cs[k].c->help ? cs[k].c->help : "", ":\\", "'\\''");
		fputc('\'', f);
	}
	fputs(")\n"
	      "\tlocal curcontext=$curcontext state line\n"
	      "\t_arguments -C \\\n"
	      "\t\t'(- *)'{-h,--help}'[show the help]' \\\n"
	      "\t\t'(- *)'{-V,--version}'[show the version]' \\\n"
	      "\t\t'1: :->command' \\\n"
	      "\t\t'*:: :->args' && return 0\n"
	      "\tcase $state in\n"
	      "\tcommand) _describe -t commands 'cspy command' cmds ;;\n"
	      "\targs)\n"
	      "\t\tcase $words[1] in\n", f);
	for (size_t k = 0; k < n; k++) {
		fputs("\t\t", f);
		for (const char *p = cs[k].prefixes; *p; p++)
			fputc(*p == ' ' ? '|' : *p, f);
		fprintf(f, ") _cspy_%s ;;\n", cs[k].c->name);
	}
	fputs("\t\tesac ;;\n\tesac\n}\n\n_cspy \"$@\"\n", f);
}

/* ---- fish ---- */

static void fish_str(FILE *f, const char *s)
{
	fputc('\'', f);
	quoted(f, s, "\\", "\\'");
	fputc('\'', f);
}

static void write_fish(FILE *f, const struct ccmd *cs, size_t n)
{
	fputs("# fish completion for cspy, written by `cspy completions fish`\n"
	      "complete -c cspy -f\n"
	      "complete -c cspy -n __fish_use_subcommand -s h -l help -d 'show the help'\n"
	      "complete -c cspy -n __fish_use_subcommand -s V -l version -d 'show the version'\n", f);
	for (size_t k = 0; k < n; k++) {
		fprintf(f, "complete -c cspy -n __fish_use_subcommand -a %s -d ", cs[k].c->name);
		fish_str(f, cs[k].c->help ? cs[k].c->help : "");
		fputc('\n', f);
	}
	for (size_t k = 0; k < n; k++) {
		const struct ccmd *c = &cs[k];
		char *cond = xasprintf("'__fish_seen_subcommand_from %s'", c->prefixes);
		for (size_t i = 0; i < c->n; i++) {
			const struct copt *o = &c->opts[i];
			fprintf(f, "complete -c cspy -n %s", cond);
			if (o->letter)
				fprintf(f, " -s %c", o->letter);
			fprintf(f, " -l %s", o->name);
			switch (o->value) {
			case V_NONE: break;
			case V_FREE: fputs(" -x", f); break;
			case V_FILE: fputs(" -r -F", f); break;
			case V_PID: fputs(" -x -a '(__fish_complete_pids)'", f); break;
			case V_FORMAT:
				fputs(" -x -a '", f);
				format_names(f);
				fputc('\'', f);
				break;
			}
			fputs(" -d ", f);
			fish_str(f, o->help);
			fputc('\n', f);
		}
		if (c->c->words)
			fprintf(f, "complete -c cspy -n %s -x -a '%s'\n", cond, c->c->words);
		if (c->c->launches)
			fprintf(f, "complete -c cspy -n %s -F\n", cond);
		free(cond);
	}
}

int complete_write(FILE *f, const char *shell, const struct complete_cmd *cmds, size_t n)
{
	void (*write)(FILE *, const struct ccmd *, size_t);
	if (!strcmp(shell, "bash"))
		write = write_bash;
	else if (!strcmp(shell, "zsh"))
		write = write_zsh;
	else if (!strcmp(shell, "fish"))
		write = write_fish;
	else
		return -EINVAL;
	struct ccmd *cs = xcalloc(n ? n : 1, sizeof(*cs));
	for (size_t k = 0; k < n; k++)
		load(&cmds[k], cmds, n, &cs[k]);
	write(f, cs, n);
	for (size_t k = 0; k < n; k++)
		unload(&cs[k]);
	free(cs);
	return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}
