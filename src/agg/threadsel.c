/* SPDX-License-Identifier: MIT
 *
 * The thread selection of --thread (see threadsel.h): one compiled regex.
 */
#include "agg/threadsel.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/xalloc.h"

struct threadsel {
	regex_t re;
};

int threadsel__new(const char *pattern, struct threadsel **out, char *err, size_t errlen)
{
	struct threadsel *s = xcalloc(1, sizeof(*s));
	int rc = regcomp(&s->re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[128];
		regerror(rc, &s->re, msg, sizeof(msg));
		snprintf(err, errlen, "invalid --thread pattern '%s': %s", pattern, msg);
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

void threadsel__free(struct threadsel *s)
{
	if (!s)
		return;
	regfree(&s->re);
	free(s);
}

bool threadsel__match(const struct threadsel *s, const char *name)
{
	return !s || regexec(&s->re, name ? name : "", 0, NULL, 0) == 0;
}
