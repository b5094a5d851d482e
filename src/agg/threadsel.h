/* SPDX-License-Identifier: MIT
 *
 * --thread REGEX: which threads `record`, `top` and `dump` keep, by name.
 * The pattern is a POSIX extended regular expression compiled once
 * (regcomp REG_EXTENDED | REG_NOSUB) and matched anywhere in the name, as
 * --include is (anchor it with ^...$ for a whole name). Which name is the
 * caller's: the threading name (Thread.name) when the thread has one, else
 * the OS thread name (/proc/PID/task/TID/comm). A thread's id is never
 * matched: `--thread 1234` keeps a thread named "worker-1234", not TID 1234.
 */
#ifndef CSPY_THREADSEL_H
#define CSPY_THREADSEL_H

#include <stdbool.h>
#include <stddef.h>

struct threadsel;

/* Compile pattern. 0 and *out (the caller frees it), or -EINVAL with one
 * line in err ("invalid --thread pattern '...': what regcomp said"). */
int threadsel__new(const char *pattern, struct threadsel **out, char *err, size_t errlen);
void threadsel__free(struct threadsel *s);

/* Whether name matches (a NULL s keeps every thread). */
bool threadsel__match(const struct threadsel *s, const char *name);

#endif
