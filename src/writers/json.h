/* SPDX-License-Identifier: MIT
 *
 * A small streaming JSON writer. It tracks nesting to place commas, escapes
 * strings correctly (control characters, quotes, backslashes; invalid UTF-8
 * becomes U+FFFD, so output is always valid JSON), and remembers the first
 * I/O error, which json__end() returns.
 */
#ifndef CSPY_JSON_H
#define CSPY_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 64

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];
	bool after_key;
	bool pretty;
	int err;
};

void json__init(struct json *j, FILE *f, bool pretty);
void json__begin_object(struct json *j);
void json__end_object(struct json *j);
void json__begin_array(struct json *j);
void json__end_array(struct json *j);
void json__key(struct json *j, const char *key);
void json__string(struct json *j, const char *s);
void json__stringn(struct json *j, const char *s, size_t n);
void json__int(struct json *j, int64_t v);
void json__uint(struct json *j, uint64_t v);
void json__double(struct json *j, double v);
void json__bool(struct json *j, bool v);
void json__null(struct json *j);
/* Flush; 0 or -EIO if any write failed. */
int json__end(struct json *j);

struct outbuf;
/* s escaped as above, as a JSON string (or null for NULL), appended to an
 * output buffer (writers/outbuf.h): for writers that assemble the fixed
 * structure themselves and only need strings escaped. */
void json_outbuf_string(struct outbuf *o, const char *s);

#endif
