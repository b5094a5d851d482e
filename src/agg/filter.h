/* SPDX-License-Identifier: MIT
 *
 * Sample filters of `cspy record`/`top`: --match-function REGEX keeps samples
 * with a frame whose function name matches; --include PATTERN keeps samples
 * with a frame whose label ("name (file:line)") matches; --exclude PATTERN
 * drops samples with such a frame. Patterns are POSIX extended regular
 * expressions, matched anywhere in the text.
 *
 * A sample's verdict only depends on which of its frames match which
 * pattern, so a frame's matches can be found once (stack_filter__frame) and
 * kept by the caller per frame (agg/stack.h does, per frame id); the
 * sample is then decided from the union of its frames' matches
 * (stack_filter__decide), without a regex.
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

enum {
	FILTER_FUNCTION = 1,    /* the name matches --match-function */
	FILTER_INCLUDE = 2,     /* the label matches --include */
	FILTER_EXCLUDE = 4,     /* the label matches --exclude */
};

/* Which patterns one frame matches: FILTER_* bits (none for a NULL f). */
unsigned stack_filter__frame(const struct stack_filter *f, const char *name, const char *label);
/* Decide on one sample from the union (OR) of its frames' FILTER_* bits. */
bool stack_filter__decide(const struct stack_filter *f, unsigned matched);
/* Decide on one sample: names[i] are function names, labels[i] full frame
 * labels, n frames. */
bool stack_filter__keep(const struct stack_filter *f, const char *const *names,
			const char *const *labels, size_t n);

#endif
