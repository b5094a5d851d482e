/* SPDX-License-Identifier: MIT
 *
 * Buffered output (see outbuf.h). Writes larger than the buffer bypass it.
 */
#include "writers/outbuf.h"

#include <errno.h>
#include <string.h>

void outbuf__init(struct outbuf *o, FILE *f)
{
	o->f = f;
	o->err = 0;
	o->n = 0;
}

void outbuf__flush(struct outbuf *o)
{
	if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n)
		o->err = -EIO;
	o->n = 0;
}

void outbuf__mem(struct outbuf *o, const char *s, size_t len)
{
	if (o->n + len > sizeof(o->buf)) {
		outbuf__flush(o);
		if (len > sizeof(o->buf)) {
			if (fwrite(s, 1, len, o->f) != len)
				o->err = -EIO;
			return;
		}
	}
	memcpy(o->buf + o->n, s, len);
	o->n += len;
}

void outbuf__str(struct outbuf *o, const char *s)
{
	outbuf__mem(o, s, strlen(s));
}

void outbuf__u64(struct outbuf *o, uint64_t v)
{
	char b[24];
	outbuf__mem(o, b, outbuf_fmt_u64(b, v));
}

size_t outbuf_fmt_u64(char *b, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		b[i] = tmp[n - 1 - i];
	return n;
}
