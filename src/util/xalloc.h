/* SPDX-License-Identifier: MIT
 *
 * Allocation wrappers that abort on out-of-memory, in one place, so that the
 * rest of cspy never checks for NULL after an allocation. Sizes that come from
 * the target's memory must be bounded by the caller before they get here.
 */
#ifndef CSPY_XALLOC_H
#define CSPY_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow *p (an array of *cap elements of size elem) so it holds at least need. */
void *xgrow(void *p, size_t *cap, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
