/* SPDX-License-Identifier: MIT
 *
 * Terminal-safe text (see termsafe.h): a strict UTF-8 decoder (no overlong
 * forms, no surrogates, nothing above U+10FFFF) and the escaping of what it
 * calls unsafe.
 */
#include "util/termsafe.h"

#include <stdio.h>
#include <string.h>

#include "util/xalloc.h"

long termsafe_utf8_next(const unsigned char *s, size_t *len)
{
	unsigned c = s[0];
	size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
		   (c & 0xf8) == 0xf0 ? 4 : 0;
	*len = 1;
	if (n == 0)
		return -1;
	long cp = n == 1 ? (long)c : (long)(c & (0x7f >> n));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = n;
	return cp;
}

bool termsafe_is_control(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

char *termsafe_escape(const char *s)
{
	char *out = xmalloc(strlen(s) * 6 + 1);      /* \u009f is the longest: 6 per 2 bytes */
	size_t o = 0, len;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += len) {
		long cp = termsafe_utf8_next(p, &len);
		if (!termsafe_is_control(cp)) {
			memcpy(out + o, p, len);
			o += len;
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			out[o++] = '\\';
			out[o++] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
		} else if (cp >= 0x80) {
			o += (size_t)sprintf(out + o, "\\u%04lx", (unsigned long)cp);
		} else {
			o += (size_t)sprintf(out + o, "\\x%02x", (unsigned)*p);
		}
	}
	out[o] = '\0';
	return out;
}
