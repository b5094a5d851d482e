/* SPDX-License-Identifier: MIT
 *
 * --thread REGEX (agg/threadsel.h): a POSIX extended regex found anywhere
 * in the name unless anchored; a NULL selection keeps every thread; an
 * invalid pattern is -EINVAL with one line naming the option and the
 * pattern.
 */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "agg/threadsel.h"

static void test_match(void)
{
	struct threadsel *s = NULL;
	char err[200];
	CHECK_INT(threadsel__new("worker-[0-9]+", &s, err, sizeof(err)), 0);
	CHECK(threadsel__match(s, "worker-12"));
	CHECK(threadsel__match(s, "pool worker-3 (handler)"));     /* found anywhere */
	CHECK(!threadsel__match(s, "worker-"));
	CHECK(!threadsel__match(s, "MainThread"));
	CHECK(!threadsel__match(s, ""));
	CHECK(!threadsel__match(s, NULL));                          /* no name: "" */
	threadsel__free(s);
	CHECK_INT(threadsel__new("^(main|rawos)$", &s, err, sizeof(err)), 0);
	CHECK(threadsel__match(s, "rawos"));
	CHECK(!threadsel__match(s, "rawos2"));
	CHECK(!threadsel__match(s, "MainThread"));
	threadsel__free(s);
	CHECK(threadsel__match(NULL, "anything"));
	threadsel__free(NULL);
}

static void test_invalid(void)
{
	struct threadsel *s = NULL;
	char err[200] = "";
	CHECK_INT(threadsel__new("(", &s, err, sizeof(err)), -EINVAL);
	CHECK(s == NULL);
	CHECK(strncmp(err, "invalid --thread pattern '(': ", 30) == 0);
	CHECK(strchr(err, '\n') == NULL);
}

int main(void)
{
	TEST_RUN(test_match);
	TEST_RUN(test_invalid);
	return TEST_REPORT();
}
