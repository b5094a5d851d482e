/* SPDX-License-Identifier: MIT
 *
 * Streaming JSON writer (see json.h). Values are written straight to the
 * FILE; a comma goes before every value or key that is not the first of its
 * container. Strings are escaped byte by byte; a UTF-8 decoder validates
 * multi-byte sequences and replaces bad ones.
 */
#include "writers/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "writers/outbuf.h"

void json__init(struct json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
	j->first[0] = true;
}

static void put(struct json *j, const char *s, size_t n)
{
	if (n && fwrite(s, 1, n, j->f) != n)
		j->err = -EIO;
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void newline(struct json *j)
{
	if (!j->pretty)
		return;
	put(j, "\n", 1);
	for (int i = 0; i < j->depth; i++)
		put(j, "  ", 2);
}

static void before_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		put(j, ",", 1);
	j->first[j->depth] = false;
	if (j->depth)
		newline(j);
}

static void open_(struct json *j, const char *c)
{
	before_value(j);
	puts_(j, c);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct json *j, const char *c)
{
	bool empty = j->first[j->depth];
	if (j->depth)
		j->depth--;
	if (!empty)
		newline(j);
	puts_(j, c);
}

void json__begin_object(struct json *j) { open_(j, "{"); }
void json__end_object(struct json *j) { close_(j, "}"); }
void json__begin_array(struct json *j) { open_(j, "["); }
void json__end_array(struct json *j) { close_(j, "]"); }

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; }
	else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; }
	else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; }
	else return 0;
	if (len > n) return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
	return len;
}

/* Where escaped text goes: the json writer's FILE or an output buffer. */
struct sink {
	struct json *j;
	struct outbuf *o;
};

static void sink_put(struct sink *k, const char *s, size_t n)
{
	if (k->j)
		put(k->j, s, n);
	else
		outbuf__mem(k->o, s, n);
}

/* s (n bytes) as a JSON string, quotes included. */
static void escape(struct sink *k, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	sink_put(k, "\"", 1);
	size_t run = 0;   /* start of a run of bytes copied as they are */
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		const char *esc = NULL;
		char tmp[8];
		size_t len = 1;
		if (c == '"') esc = "\\\"";
		else if (c == '\\') esc = "\\\\";
		else if (c == '\n') esc = "\\n";
		else if (c == '\r') esc = "\\r";
		else if (c == '\t') esc = "\\t";
		else if (c < 0x20 || c == 0x7f) { snprintf(tmp, sizeof(tmp), "\\u%04x", c); esc = tmp; }
		else if (c >= 0x80) {
			len = utf8_len(s + i, n - i);
			if (!len) { esc = "\\ufffd"; len = 1; }
		}
		if (esc) {
			sink_put(k, (const char *)s + run, i - run);
			sink_put(k, esc, strlen(esc));
			run = i + len;
		}
		i += len;
	}
	sink_put(k, (const char *)s + run, n - run);
	sink_put(k, "\"", 1);
}

void json__stringn(struct json *j, const char *str, size_t n)
{
	before_value(j);
	escape(&(struct sink){ .j = j }, str, n);
}

void json_outbuf_string(struct outbuf *o, const char *s)
{
	if (!s)
		outbuf__mem(o, "null", 4);
	else
		escape(&(struct sink){ .o = o }, s, strlen(s));
}

void json__string(struct json *j, const char *s)
{
	if (!s) {
		json__null(j);
		return;
	}
	json__stringn(j, s, strlen(s));
}

void json__key(struct json *j, const char *key)
{
	json__string(j, key);
	put(j, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	j->after_key = true;
}

void json__int(struct json *j, int64_t v)
{
	char b[32];
	before_value(j);
	snprintf(b, sizeof(b), "%" PRId64, v);
	puts_(j, b);
}

void json__uint(struct json *j, uint64_t v)
{
	char b[32];
	before_value(j);
	snprintf(b, sizeof(b), "%" PRIu64, v);
	puts_(j, b);
}

void json__double(struct json *j, double v)
{
	char b[40];
	before_value(j);
	if (!isfinite(v)) {
		puts_(j, "null");
		return;
	}
	/* The shortest text that reads back as the same double. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(b, sizeof(b), "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	puts_(j, b);
}

void json__bool(struct json *j, bool v)
{
	before_value(j);
	puts_(j, v ? "true" : "false");
}

void json__null(struct json *j)
{
	before_value(j);
	puts_(j, "null");
}

int json__end(struct json *j)
{
	if (j->pretty)
		put(j, "\n", 1);
	if (fflush(j->f) != 0)
		j->err = -EIO;
	return j->err;
}
