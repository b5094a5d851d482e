/* SPDX-License-Identifier: MIT
 *
 * A buffered writer for the big output formats: text is gathered in a 64 KiB
 * buffer and written with one fwrite() when it fills, and the first write
 * error is remembered in `err` (0 or -EIO). Every writer that builds its
 * text piece by piece goes through it (flamegraph, speedscope, chrometrace;
 * JSON strings with json_outbuf_string()). Embed it or allocate it (it is
 * large); init with outbuf__init().
 */
#ifndef CSPY_OUTBUF_H
#define CSPY_OUTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct outbuf {
	FILE *f;
	int err;
	size_t n;
	char buf[1 << 16];
};

void outbuf__init(struct outbuf *o, FILE *f);
void outbuf__flush(struct outbuf *o);
void outbuf__mem(struct outbuf *o, const char *s, size_t len);
void outbuf__str(struct outbuf *o, const char *s);
/* The decimal text of v. */
void outbuf__u64(struct outbuf *o, uint64_t v);
/* Decimal text of v into b (at least 21 bytes); returns its length. */
size_t outbuf_fmt_u64(char *b, uint64_t v);

#endif
