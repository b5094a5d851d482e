/* SPDX-License-Identifier: MIT
 *
 * Python strings to UTF-8 (see pystr.h).
 *
 * The pure part converts code units (Latin-1, UCS-2LE with surrogate pairs,
 * UCS-4LE) or raw bytes to UTF-8, one character at a time, stopping before a
 * character that would not fit; anything that is not a Unicode scalar value
 * becomes U+FFFD.
 *
 * The remote part locates a string's characters from its header. One read
 * covers the header and, for compact strings, usually the characters too: it
 * asks for up to HEAD_SPEC bytes but never past the end of the object's first
 * page (the end of a mapping is always page-aligned, so that read cannot fail
 * where the object itself is readable); whatever the characters need beyond it
 * is a second read. Remote lengths are bounded by the caller's capacity and by
 * MAX_READ bytes. 2.7 tells `str` from `unicode` by the type's subclass flags
 * (one read of the type, which also covers tp_name), else by its tp_name.
 */
#include "python/pystr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "util/bytes.h"
#include "util/xalloc.h"

#define MAX_READ (64 * 1024)    /* bytes of characters read at most */
#define HEAD_SPEC 256           /* header + first characters, one read */
#define TPF_STRING27 (1ul << 27)        /* Py_TPFLAGS_STRING_SUBCLASS */
#define TPF_UNICODE (1ul << 28)         /* Py_TPFLAGS_UNICODE_SUBCLASS */

/* The characters of a remote string, once located. */
struct strloc {
	int width;              /* 1, 2 or 4; 0 = bytes to be sanitised as UTF-8 */
	uint64_t addr;          /* first code unit */
	size_t units;           /* code units to read (already bounded) */
	bool more;              /* the string holds more than `units` */
};

/* Make sure buf holds the first `need` bytes of the object (need <= size of
 * buf); *have is how many it holds. */
static int head_need(struct mem *m, uint64_t addr, uint8_t *buf, size_t *have, size_t need)
{
	if (need <= *have)
		return 0;
	int err = mem__read(m, addr + *have, buf + *have, need - *have);
	if (!err)
		*have = need;
	return err;
}

static size_t utf8_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static void utf8_put(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Code point at unit i of data; pairs up UTF-16 surrogates for width 2.
 * *used receives the units consumed. Surrogates are returned as they are. */
static uint32_t unit_at(int width, const uint8_t *data, size_t n, size_t i, size_t *used)
{
	*used = 1;
	if (width == 1)
		return data[i];
	if (width == 4)
		return bytes_u32(data + 4 * i);
	uint32_t u = (uint32_t)data[2 * i] | (uint32_t)data[2 * i + 1] << 8;
	if (u >= 0xd800 && u < 0xdc00 && i + 1 < n) {
		uint32_t lo = (uint32_t)data[2 * i + 2] | (uint32_t)data[2 * i + 3] << 8;
		if (lo >= 0xdc00 && lo < 0xe000) {
			*used = 2;
			return 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		}
	}
	return u;
}

size_t pystr_decode(int width, const uint8_t *data, size_t n, char *out, size_t cap, bool *truncated)
{
	size_t len = 0, i = 0;

	if (cap == 0) {
		if (truncated)
			*truncated = n > 0;
		return 0;
	}
	if (width != 1 && width != 2 && width != 4)
		n = 0;
	while (i < n) {
		size_t used;
		uint32_t cp = unit_at(width, data, n, i, &used);
		if ((cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
			cp = 0xfffd;
		size_t k = utf8_len(cp);
		if (k > cap - 1 - len)
			break;
		utf8_put(cp, out + len);
		len += k;
		i += used;
	}
	out[len] = '\0';
	if (truncated)
		*truncated = i < n;
	return len;
}

/* Length of the valid UTF-8 sequence at p (1-4), or -(length of the maximal
 * invalid prefix) (at least 1). */
static int utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xbf;
	int need;

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		need = 1;
	else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else
		return -1;
	for (int k = 1; k <= need; k++) {
		if ((size_t)k >= n || p[k] < lo || p[k] > hi)
			return -k;
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

size_t pystr_utf8_sanitize(const uint8_t *data, size_t n, char *out, size_t cap, bool *truncated)
{
	size_t len = 0, i = 0;

	if (cap == 0) {
		if (truncated)
			*truncated = n > 0;
		return 0;
	}
	while (i < n) {
		int s = utf8_seq(data + i, n - i);
		size_t k = s > 0 ? (size_t)s : 3;
		if (k > cap - 1 - len)
			break;
		if (s > 0)
			memcpy(out + len, data + i, k);
		else
			utf8_put(0xfffd, out + len);
		len += k;
		i += s > 0 ? (size_t)s : (size_t)-s;
	}
	out[len] = '\0';
	if (truncated)
		*truncated = i < n;
	return len;
}

/* 2.7: is the object whose head is h a `str` (1), a `unicode` (2), or
 * neither (0)? Decided by the type's subclass flags when set, else by its
 * tp_name. -errno when the type cannot be read. */
static int py2_kind(const struct pyctx *c, const uint8_t *h)
{
	const struct py_layout *L = c->L;
	uint64_t type = bytes_u64(h + L->ob_type);
	uint8_t t[256];
	char buf[16];
	size_t len = (size_t)(L->tp_flags - L->tp_name) + 8;
	int err;

	if (L->tp_flags < L->tp_name || len > sizeof(t))
		return -EINVAL;
	err = mem__read(c->mem, type + (uint64_t)L->tp_name, t, len);
	if (err)
		return err;
	uint64_t flags = bytes_u64(t + (L->tp_flags - L->tp_name));
	if (flags & TPF_STRING27)
		return 1;
	if (flags & TPF_UNICODE)
		return 2;
	err = mem__read_cstr(c->mem, bytes_u64(t), buf, sizeof(buf));
	if (err)
		return err;
	return strcmp(buf, "str") == 0 ? 1 : strcmp(buf, "unicode") == 0 ? 2 : 0;
}

/* Bound a remote length of code units: at most want units, MAX_READ bytes. */
static void bound(struct strloc *s, int64_t len, size_t want)
{
	size_t w = s->width ? (size_t)s->width : 1;
	size_t max = MAX_READ / w;
	if (want > max)
		want = max;
	s->units = (uint64_t)len > want ? want : (size_t)len;
	s->more = (uint64_t)len > s->units;
}

/* Find the characters of the string at obj; at most want code units. The
 * head read is left in h (*hlen bytes). */
static int locate(const struct pyctx *c, uint64_t obj, size_t want, uint8_t *h, size_t *hlen,
		  struct strloc *s)
{
	const struct py_layout *L = c->L;
	size_t need;
	long got;
	int err;

	memset(s, 0, sizeof(*s));
	if (L->str_kind == PY_STR_PY2) {
		got = mem__read_upto(c->mem, obj, h, (size_t)L->ob_type + 8, HEAD_SPEC);
		if (got < 0)
			return (int)got;
		*hlen = (size_t)got;
		int kind = py2_kind(c, h);
		if (kind <= 0)
			return kind < 0 ? kind : -EINVAL;
		need = (size_t)(kind == 1 ? L->bytes_sval : L->py2_uni_str + 8);
		err = head_need(c->mem, obj, h, hlen, need);
		if (err)
			return err;
		if (kind == 1) {
			int64_t len = (int64_t)bytes_u64(h + L->bytes_size);
			if (len < 0)
				return -EINVAL;
			s->width = 0;
			s->addr = obj + (uint64_t)L->bytes_sval;
			bound(s, len, want);
			return 0;
		}
		int64_t len = (int64_t)bytes_u64(h + L->py2_uni_length);
		s->width = L->py2_unicode_size;
		s->addr = bytes_u64(h + L->py2_uni_str);
		if (len < 0 || (s->width != 2 && s->width != 4) || (!s->addr && len))
			return -EINVAL;
		bound(s, len, want);
		return 0;
	}

	got = mem__read_upto(c->mem, obj, h, (size_t)L->uni_state + 4, HEAD_SPEC);
	if (got < 0)
		return (int)got;
	*hlen = (size_t)got;
	int64_t len = (int64_t)bytes_u64(h + L->uni_length);
	uint32_t state = bytes_u32(h + L->uni_state);
	int kind = (int)((state >> L->uni_kind_shift) & 7);
	bool compact = (state >> L->uni_compact_bit) & 1;
	bool ascii = (state >> L->uni_ascii_bit) & 1;
	if (len < 0 || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1))
		return -EINVAL;
	s->width = kind;
	if (compact) {
		s->addr = obj + (uint64_t)(ascii ? L->uni_ascii_size : L->uni_compact_size);
	} else {
		need = (size_t)L->uni_data + 8;
		err = head_need(c->mem, obj, h, hlen, need);
		if (err)
			return err;
		s->addr = bytes_u64(h + L->uni_data);
		if (!s->addr && len)
			return -EINVAL;
	}
	bound(s, len, want);
	return 0;
}

/* Copy the located characters into dst (s->units * width bytes), from the
 * head read when it already holds them. */
static int fetch(const struct pyctx *c, uint64_t obj, const uint8_t *h, size_t hlen,
		 const struct strloc *s, uint8_t *dst)
{
	size_t bytes = s->units * (size_t)(s->width ? s->width : 1);
	if (bytes == 0)
		return 0;
	if (s->addr >= obj && s->addr - obj <= hlen && hlen - (s->addr - obj) >= bytes) {
		memcpy(dst, h + (s->addr - obj), bytes);
		return 0;
	}
	return mem__read(c->mem, s->addr, dst, bytes);
}

int pystr_read(const struct pyctx *c, uint64_t obj, char *out, size_t cap, bool *truncated)
{
	uint8_t h[HEAD_SPEC], small[1024], *data = small;
	size_t hlen = 0;
	struct strloc s;
	bool cut = false;
	int err;

	if (truncated)
		*truncated = false;
	if (cap == 0)
		return -EINVAL;
	out[0] = '\0';
	/* One code unit makes at least one byte of output; for 2.7 UCS-2 one
	 * more unit completes a pair cut at the end. */
	err = locate(c, obj, cap, h, &hlen, &s);
	if (err)
		return err;
	size_t bytes = s.units * (size_t)(s.width ? s.width : 1);
	if (bytes > sizeof(small))
		data = xmalloc(bytes);
	err = fetch(c, obj, h, hlen, &s, data);
	if (err)
		goto out;
	if (s.width)
		pystr_decode(s.width, data, s.units, out, cap, &cut);
	else
		pystr_utf8_sanitize(data, s.units, out, cap, &cut);
	if (truncated)
		*truncated = cut || s.more;
out:
	if (data != small)
		free(data);
	return err;
}

int pystr_read_ucs4(const struct pyctx *c, uint64_t obj, uint32_t *out, size_t max, size_t *n,
		    bool *truncated)
{
	uint8_t h[HEAD_SPEC], small[1024], *data = small;
	size_t hlen = 0, k = 0, i = 0;
	struct strloc s;
	int err;

	*n = 0;
	if (truncated)
		*truncated = false;
	err = locate(c, obj, max + 1, h, &hlen, &s);
	if (err)
		return err;
	size_t bytes = s.units * (size_t)(s.width ? s.width : 1);
	if (bytes > sizeof(small))
		data = xmalloc(bytes);
	err = fetch(c, obj, h, hlen, &s, data);
	if (err)
		goto out;
	while (i < s.units && k < max) {
		size_t used = 1;
		out[k++] = s.width ? unit_at(s.width, data, s.units, i, &used) : data[i];
		i += used;
	}
	*n = k;
	if (truncated)
		*truncated = i < s.units || s.more;
out:
	if (data != small)
		free(data);
	return err;
}

int pybytes_read(const struct pyctx *c, uint64_t obj, uint8_t *buf, size_t max, size_t *n)
{
	const struct py_layout *L = c->L;
	uint8_t h[HEAD_SPEC];
	size_t sval = (size_t)L->bytes_sval;
	long got;

	*n = 0;
	size_t spec = sval + (max < HEAD_SPEC ? max : HEAD_SPEC);
	got = mem__read_upto(c->mem, obj, h, sval, spec < HEAD_SPEC ? spec : HEAD_SPEC);
	if (got < 0)
		return (int)got;
	int64_t len = (int64_t)bytes_u64(h + L->bytes_size);
	if (len < 0)
		return -EINVAL;
	size_t cnt = (uint64_t)len < max ? (size_t)len : max;
	size_t inhead = (size_t)got - sval;
	if (inhead >= cnt) {
		memcpy(buf, h + sval, cnt);
	} else {
		memcpy(buf, h + sval, inhead);
		int err = mem__read(c->mem, obj + sval + inhead, buf + inhead, cnt - inhead);
		if (err)
			return err;
	}
	*n = cnt;
	return 0;
}
