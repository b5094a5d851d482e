/* SPDX-License-Identifier: MIT
 *
 * Regex filters over a sample's frames (see filter.h), compiled once with
 * regcomp(REG_EXTENDED | REG_NOSUB).
 */
#include "agg/filter.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/xalloc.h"

struct stack_filter {
	regex_t function, include, exclude;
	bool has_function, has_include, has_exclude;
};

static int compile(regex_t *re, const char *pattern, const char *what, char *err, size_t errlen)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc == 0)
		return 0;
	char msg[128];
	regerror(rc, re, msg, sizeof(msg));
	snprintf(err, errlen, "invalid %s pattern '%s': %s", what, pattern, msg);
	return -EINVAL;
}

int stack_filter__new(const char *function, const char *include, const char *exclude,
		      struct stack_filter **out, char *err, size_t errlen)
{
	struct stack_filter *f = xcalloc(1, sizeof(*f));
	int rc = 0;
	if (function && !(rc = compile(&f->function, function, "--match-function", err, errlen)))
		f->has_function = true;
	if (!rc && include && !(rc = compile(&f->include, include, "--include", err, errlen)))
		f->has_include = true;
	if (!rc && exclude && !(rc = compile(&f->exclude, exclude, "--exclude", err, errlen)))
		f->has_exclude = true;
	if (rc) {
		stack_filter__free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void stack_filter__free(struct stack_filter *f)
{
	if (!f)
		return;
	if (f->has_function)
		regfree(&f->function);
	if (f->has_include)
		regfree(&f->include);
	if (f->has_exclude)
		regfree(&f->exclude);
	free(f);
}

unsigned stack_filter__frame(const struct stack_filter *f, const char *name, const char *label)
{
	unsigned m = 0;
	if (!f)
		return 0;
	if (f->has_function && regexec(&f->function, name, 0, NULL, 0) == 0)
		m |= FILTER_FUNCTION;
	if (f->has_include && regexec(&f->include, label, 0, NULL, 0) == 0)
		m |= FILTER_INCLUDE;
	if (f->has_exclude && regexec(&f->exclude, label, 0, NULL, 0) == 0)
		m |= FILTER_EXCLUDE;
	return m;
}

bool stack_filter__decide(const struct stack_filter *f, unsigned matched)
{
	if (!f)
		return true;
	if (f->has_function && !(matched & FILTER_FUNCTION))
		return false;
	if (f->has_include && !(matched & FILTER_INCLUDE))
		return false;
	return !(f->has_exclude && (matched & FILTER_EXCLUDE));
}

bool stack_filter__keep(const struct stack_filter *f, const char *const *names,
			const char *const *labels, size_t n)
{
	unsigned m = 0;
	for (size_t i = 0; f && i < n; i++)
		m |= stack_filter__frame(f, names[i], labels[i]);
	return stack_filter__decide(f, m);
}
