/* SPDX-License-Identifier: MIT
 *
 * Sample filters of `cspy record`/`top`: --function PATTERN keeps samples
 * with a frame whose function name matches; --include PATTERN keeps samples
 * with a frame whose label ("name (file:line)") matches; --exclude PATTERN
 * drops samples with such a frame. Patterns are POSIX extended regular
 * expressions, matched anywhere in the text.
 */
#ifndef CSPY_FILTER_H
#define CSPY_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct stack_filter;

/* NULL patterns are not applied. Returns 0 and *out, or -EINVAL with a
 * one-line message in err (which pattern, what regcomp said). */
int stack_filter__new(const char *function, const char *include, const char *exclude,
		      struct stack_filter **out, char *err, size_t errlen);
void stack_filter__free(struct stack_filter *f);

/* Decide on one sample: names[i] are function names, labels[i] full frame
 * labels, n frames. */
bool stack_filter__keep(const struct stack_filter *f, const char *const *names,
			const char *const *labels, size_t n);

#endif
