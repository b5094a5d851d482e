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
	if (function && !(rc = compile(&f->function, function, "--function", err, errlen)))
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

static bool any(const regex_t *re, const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (regexec(re, s[i], 0, NULL, 0) == 0)
			return true;
	return false;
}

bool stack_filter__keep(const struct stack_filter *f, const char *const *names,
			const char *const *labels, size_t n)
{
	if (!f)
		return true;
	if (f->has_function && !any(&f->function, names, n))
		return false;
	if (f->has_include && !any(&f->include, labels, n))
		return false;
	if (f->has_exclude && any(&f->exclude, labels, n))
		return false;
	return true;
}
