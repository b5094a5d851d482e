/* SPDX-License-Identifier: MIT
 *
 * Bounded reprs of remote objects (see pyrepr.h).
 *
 * Reprs follow Python's repr() (str quoting and escapes, float shortest
 * round-trip digits, ints in full up to ~4000 digits) with bounded element
 * counts, string lengths and nesting, into a bounded buffer that marks any
 * cut with "...". A repr keeps a small cache of the types it met, and one
 * budget of dict entries for all the dicts inside it. A dict is rendered
 * into a side buffer first, so that a failed read leaves no half dict.
 */
#include "python/pyrepr.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pydict.h"
#include "python/pyobj.h"
#include "python/pystr.h"
#include "util/bytes.h"
#include "util/xalloc.h"

#define MAX_DIGITS 450          /* 30-bit digits printed (~4060 decimal digits) */
#define MAX_DEPTH 3
#define MAX_LEVEL 4
#define TCACHE 8

struct tcache {
	struct pyobj_type t[TCACHE];
	unsigned n, next;
};

/* The type at addr from the cache, loading it on a miss. */
static int type_get(const struct pyctx *c, struct tcache *tc, uint64_t addr,
		    const struct pyobj_type **out)
{
	if (addr == 0)
		return -EFAULT;
	for (unsigned i = 0; i < tc->n; i++) {
		if (tc->t[i].addr == addr) {
			*out = &tc->t[i];
			return 0;
		}
	}
	unsigned slot = tc->n < TCACHE ? tc->n++ : (tc->next++ % TCACHE);
	int err = pyobj_type_load(c, addr, &tc->t[slot]);
	if (err) {
		tc->t[slot].addr = 0;   /* never matches: 0 is refused above */
		return err;
	}
	*out = &tc->t[slot];
	return 0;
}

/* Decimal digits of the magnitude d[0..nd) (base 2^30, little-endian) into
 * out, which holds at least nd * 10 + 2 bytes. */
static void digits_to_dec(const uint32_t *d, size_t nd, char *out)
{
	uint32_t limb[MAX_DIGITS * 30 / 29 + 2];        /* base 10^9, little-endian */
	size_t nl = 0, len = 0;

	for (size_t i = nd; i-- > 0;) {
		uint64_t carry = d[i];
		for (size_t j = 0; j < nl; j++) {
			uint64_t t = ((uint64_t)limb[j] << 30) + carry;
			limb[j] = (uint32_t)(t % 1000000000u);
			carry = t / 1000000000u;
		}
		while (carry) {
			limb[nl++] = (uint32_t)(carry % 1000000000u);
			carry /= 1000000000u;
		}
	}
	if (nl == 0) {
		strcpy(out, "0");
		return;
	}
	len = (size_t)sprintf(out, "%" PRIu32, limb[nl - 1]);
	for (size_t j = nl - 1; j-- > 0;)
		len += (size_t)sprintf(out + len, "%09" PRIu32, limb[j]);
}

/* ---- floats ---- */

/* Python's repr() of a double: the shortest digits that read back the same,
 * in fixed notation for decimal exponents -4 < e <= 16, else exponential. */
static void float_repr(double v, char *out, size_t n)
{
	char tmp[40], digs[24];
	int nd = 0, p;

	if (isnan(v)) {
		snprintf(out, n, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(out, n, "%s", v < 0 ? "-inf" : "inf");
		return;
	}
	if (v == 0) {
		snprintf(out, n, "%s", signbit(v) ? "-0.0" : "0.0");
		return;
	}
	for (p = 1; p < 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (p == 17)
		snprintf(tmp, sizeof(tmp), "%.16e", v);
	const char *q = tmp + (tmp[0] == '-');
	for (; *q && *q != 'e' && nd < (int)sizeof(digs) - 1; q++)
		if (*q >= '0' && *q <= '9')
			digs[nd++] = *q;
	int exp = *q == 'e' ? atoi(q + 1) : 0;
	while (nd > 1 && digs[nd - 1] == '0')
		nd--;
	digs[nd] = '\0';

	const char *sign = v < 0 ? "-" : "";
	int decpt = exp + 1;
	if (decpt <= -4 || decpt > 16) {
		int e = exp < 0 ? -exp : exp;
		char es = exp < 0 ? '-' : '+';
		if (nd > 1)
			snprintf(out, n, "%s%c.%se%c%02d", sign, digs[0], digs + 1, es, e);
		else
			snprintf(out, n, "%s%ce%c%02d", sign, digs[0], es, e);
	} else if (decpt <= 0) {
		snprintf(out, n, "%s0.%.*s%s", sign, -decpt, "0000", digs);
	} else if (decpt >= nd) {
		snprintf(out, n, "%s%s%.*s.0", sign, digs, decpt - nd, "0000000000000000");
	} else {
		snprintf(out, n, "%s%.*s.%s", sign, decpt, digs, digs + decpt);
	}
}

/* ---- bounded output ---- */

struct sbuf {
	char *p;
	size_t cap;     /* bytes, including the NUL */
	size_t len;
	bool full;
};

/* Append; on overflow keep what fits, ending in "..." on a UTF-8 boundary. */
static void sb_put(struct sbuf *s, const char *str, size_t n)
{
	size_t room = s->cap - 1;

	if (s->full)
		return;
	if (n <= room - s->len) {
		memcpy(s->p + s->len, str, n);
		s->len += n;
		s->p[s->len] = '\0';
		return;
	}
	s->full = true;
	memcpy(s->p + s->len, str, room - s->len);
	size_t keep = room >= 3 ? room - 3 : 0;
	while (keep > 0 && ((unsigned char)s->p[keep] & 0xc0) == 0x80)
		keep--;
	size_t dots = room - keep < 3 ? room - keep : 3;
	memcpy(s->p + keep, "...", dots);
	s->len = keep + dots;
	s->p[s->len] = '\0';
}

static void sb_str(struct sbuf *s, const char *str)
{
	sb_put(s, str, strlen(str));
}

static void sb_printf(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *s, const char *fmt, ...)
{
	char tmp[160];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (k > 0)
		sb_put(s, tmp, (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}

/* ---- reprs ---- */

struct rctx {
	const struct pyctx *c;
	struct tcache tc;
	size_t max_elems, max_str;
	struct pydict_budget budget;    /* dict entries left to look at, over all dicts */
};

static void repr_obj(struct rctx *r, struct sbuf *sb, uint64_t obj, int depth);

/* Python 3's str.isprintable() for non-ASCII, approximately: without the
 * Unicode database, the separators, format characters, surrogates, private
 * use and noncharacters that Python escapes. */
static bool cp_printable(uint32_t cp)
{
	static const uint32_t ranges[][2] = {
		{ 0x80, 0xa0 }, { 0xad, 0xad }, { 0x600, 0x605 }, { 0x61c, 0x61c },
		{ 0x6dd, 0x6dd }, { 0x70f, 0x70f }, { 0x8e2, 0x8e2 }, { 0x1680, 0x1680 },
		{ 0x180e, 0x180e }, { 0x2000, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x206f },
		{ 0x3000, 0x3000 }, { 0xd800, 0xf8ff }, { 0xfdd0, 0xfdef }, { 0xfeff, 0xfeff },
		{ 0xfff9, 0xfffb }, { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
		{ 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
		{ 0xe0000, 0xe007f }, { 0xf0000, 0xffffffff },
	};
	if ((cp & 0xfffe) == 0xfffe)
		return false;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return false;
	return true;
}

enum esc { ESC_PY3, ESC_ALL, ESC_BYTES };

/* One character of a quoted repr. */
static void put_char(struct sbuf *sb, uint32_t cp, char quote, enum esc mode)
{
	char tmp[12];
	if (cp == '\\' || cp == (uint32_t)quote) {
		tmp[0] = '\\';
		tmp[1] = (char)cp;
		sb_put(sb, tmp, 2);
	} else if (cp == '\t') {
		sb_str(sb, "\\t");
	} else if (cp == '\n') {
		sb_str(sb, "\\n");
	} else if (cp == '\r') {
		sb_str(sb, "\\r");
	} else if (cp >= 0x20 && cp < 0x7f) {
		tmp[0] = (char)cp;
		sb_put(sb, tmp, 1);
	} else if (mode == ESC_PY3 && cp >= 0x80 && cp <= 0x10ffff && cp_printable(cp)) {
		uint8_t le[4] = { (uint8_t)cp, (uint8_t)(cp >> 8), (uint8_t)(cp >> 16), 0 };
		size_t k = pystr_decode(4, le, 1, tmp, sizeof(tmp), NULL);
		sb_put(sb, tmp, k);
	} else if (cp < 0x100 || mode == ESC_BYTES) {
		sb_printf(sb, "\\x%02x", (unsigned)(cp & 0xff));
	} else if (cp < 0x10000) {
		sb_printf(sb, "\\u%04x", (unsigned)cp);
	} else {
		sb_printf(sb, "\\U%08x", (unsigned)cp);
	}
}

static void quoted(struct sbuf *sb, const char *prefix, const uint32_t *cp, size_t n, bool more,
		   enum esc mode)
{
	bool sq = false, dq = false;
	for (size_t i = 0; i < n; i++) {
		sq |= cp[i] == '\'';
		dq |= cp[i] == '"';
	}
	char quote = sq && !dq ? '"' : '\'';
	sb_str(sb, prefix);
	sb_put(sb, &quote, 1);
	for (size_t i = 0; i < n && !sb->full; i++)
		put_char(sb, cp[i], quote, mode);
	if (more)
		sb_str(sb, "...");
	sb_put(sb, &quote, 1);
}

static int repr_str(struct rctx *r, struct sbuf *sb, uint64_t obj, enum pyobj_kind k)
{
	const struct pyctx *c = r->c;
	bool py2 = c->L->str_kind == PY_STR_PY2, more = false;
	size_t n = 0;
	uint32_t *cp = xmalloc((r->max_str + 1) * sizeof(*cp));
	int err;

	if (k == PYOBJ_STR) {
		err = pystr_read_ucs4(c, obj, cp, r->max_str, &n, &more);
	} else {
		uint8_t *b = xmalloc(r->max_str + 1);
		err = pybytes_read(c, obj, b, r->max_str + 1, &n);
		if (n > r->max_str) {
			n = r->max_str;
			more = true;
		}
		for (size_t i = 0; i < n; i++)
			cp[i] = b[i];
		free(b);
	}
	if (!err) {
		if (k == PYOBJ_STR)
			quoted(sb, py2 ? "u" : "", cp, n, more, py2 ? ESC_ALL : ESC_PY3);
		else
			quoted(sb, py2 ? "" : "b", cp, n, more, ESC_BYTES);
	}
	free(cp);
	return err;
}

static int repr_long(struct rctx *r, struct sbuf *sb, const struct pyobj_head *h)
{
	uint32_t d[MAX_DIGITS];
	char dec[MAX_DIGITS * 10 + 2];
	size_t nd;
	bool neg;
	int err = pyobj_long_digits(r->c, h, d, MAX_DIGITS, &nd, &neg);
	if (err)
		return err;
	digits_to_dec(d, nd, dec);
	if (neg && nd)
		sb_str(sb, "-");
	sb_str(sb, dec);
	if (r->c->L->str_kind == PY_STR_PY2)
		sb_str(sb, "L");
	return 0;
}

static int repr_seq(struct rctx *r, struct sbuf *sb, const struct pyobj_head *h, enum pyobj_kind k,
		    int depth)
{
	const struct pyctx *c = r->c;
	const struct py_layout *L = c->L;
	const char *open = k == PYOBJ_TUPLE ? "(" : "[", *close = k == PYOBJ_TUPLE ? ")" : "]";
	uint64_t size, items;
	int err;

	if (depth > MAX_DEPTH) {
		sb_str(sb, open);
		sb_str(sb, "...");
		sb_str(sb, close);
		return 0;
	}
	err = pyobj_head_u64(c, h, k == PYOBJ_TUPLE ? L->ob_size : L->list_size, &size);
	if (err)
		return err;
	if ((int64_t)size < 0)
		return -EINVAL;
	size_t cnt = size < r->max_elems ? (size_t)size : r->max_elems;
	uint64_t *it = xmalloc((cnt ? cnt : 1) * sizeof(*it));
	if (k == PYOBJ_TUPLE) {
		err = pyobj_head_get(c, h, (size_t)L->tuple_item, it, cnt * 8);
	} else {
		err = pyobj_head_u64(c, h, L->list_item, &items);
		if (!err && cnt)
			err = items ? mem__read(c->mem, items, it, cnt * 8) : -EINVAL;
	}
	if (!err) {
		sb_str(sb, open);
		for (size_t i = 0; i < cnt && !sb->full; i++) {
			if (i)
				sb_str(sb, ", ");
			repr_obj(r, sb, it[i], depth + 1);
		}
		if (size > cnt)
			sb_str(sb, ", ...");
		else if (k == PYOBJ_TUPLE && size == 1)
			sb_str(sb, ",");
		sb_str(sb, close);
	}
	free(it);
	return err;
}

struct dict_repr {
	struct rctx *r;
	struct sbuf *sb;
	int depth;
	size_t count;
};

static int dict_repr_cb(uint64_t key, uint64_t value, void *arg)
{
	struct dict_repr *d = arg;
	if (d->count == d->r->max_elems) {
		sb_str(d->sb, ", ...");
		return 1;
	}
	if (d->count++)
		sb_str(d->sb, ", ");
	repr_obj(d->r, d->sb, key, d->depth + 1);
	sb_str(d->sb, ": ");
	repr_obj(d->r, d->sb, value, d->depth + 1);
	return d->sb->full ? 1 : 0;
}

static int repr_dict(struct rctx *r, struct sbuf *sb, uint64_t obj, int depth)
{
	if (depth > MAX_DEPTH) {
		sb_str(sb, "{...}");
		return 0;
	}
	/* Render into a side buffer so that a failed read leaves no half dict. */
	struct sbuf tmp = { xmalloc(sb->cap), sb->cap, 0, false };
	struct dict_repr d = { r, &tmp, depth, 0 };
	tmp.p[0] = '\0';
	sb_str(&tmp, "{");
	int err = pydict_walk(r->c, obj, &r->budget, dict_repr_cb, &d);
	if (err >= 0) {
		sb_str(&tmp, "}");
		sb_str(sb, tmp.p);
		if (tmp.full)
			sb->full = true;
		err = 0;
	}
	free(tmp.p);
	return err;
}

static void repr_obj(struct rctx *r, struct sbuf *sb, uint64_t obj, int depth)
{
	const struct pyctx *c = r->c;
	const struct py_layout *L = c->L;
	const struct pyobj_type *t;
	struct pyobj_head h;
	char tmp[64];
	int err;

	if (sb->full)
		return;
	if (obj == 0) {
		sb_str(sb, "<NULL>");
		return;
	}
	if (c->none_addr && obj == c->none_addr) {
		sb_str(sb, "None");
		return;
	}
	if (c->true_addr && obj == c->true_addr) {
		sb_str(sb, "True");
		return;
	}
	if (c->false_addr && obj == c->false_addr) {
		sb_str(sb, "False");
		return;
	}
	err = pyobj_head_read(c, obj, &h);
	if (!err)
		err = type_get(c, &r->tc, bytes_u64(h.b + L->ob_type), &t);
	if (err)
		goto unreadable;

	size_t mark = sb->len;
	switch (t->kind) {
	case PYOBJ_NONE:
		sb_str(sb, "None");
		break;
	case PYOBJ_BOOL: {
		int64_t v = 0;
		err = pyobj_int_value(c, &h, PYOBJ_BOOL, &v);
		if (err == -ERANGE)
			v = 1, err = 0;
		if (!err)
			sb_str(sb, v ? "True" : "False");
		break;
	}
	case PYOBJ_INT27: {
		int64_t v;
		err = pyobj_int_value(c, &h, PYOBJ_INT27, &v);
		if (!err)
			sb_printf(sb, "%" PRId64, v);
		break;
	}
	case PYOBJ_LONG:
		err = repr_long(r, sb, &h);
		if (err == -ERANGE) {
			sb_printf(sb, "<%s at 0x%" PRIx64 ">", t->name, obj);
			err = 0;
		}
		break;
	case PYOBJ_FLOAT: {
		double v;
		err = L->float_fval < 0 ? -EINVAL : pyobj_head_get(c, &h, (size_t)L->float_fval, &v, 8);
		if (!err) {
			float_repr(v, tmp, sizeof(tmp));
			sb_str(sb, tmp);
		}
		break;
	}
	case PYOBJ_STR:
	case PYOBJ_BYTES:
		err = repr_str(r, sb, obj, t->kind);
		break;
	case PYOBJ_TUPLE:
	case PYOBJ_LIST:
		err = repr_seq(r, sb, &h, t->kind, depth);
		break;
	case PYOBJ_DICT:
		err = repr_dict(r, sb, obj, depth);
		break;
	default:
		sb_printf(sb, "<%s at 0x%" PRIx64 ">", t->name, obj);
		break;
	}
	if (!err)
		return;
	if (!sb->full) {
		sb->len = mark;
		sb->p[mark] = '\0';
	}
unreadable:
	sb_printf(sb, "<unreadable at 0x%" PRIx64 ">", obj);
}

void pyrepr_format(const struct pyctx *c, uint64_t obj, int level, char *buf, size_t n)
{
	if (n == 0)
		return;
	if (level < 1)
		level = 1;
	if (level > MAX_LEVEL)
		level = MAX_LEVEL;
	struct rctx *r = xcalloc(1, sizeof(*r));
	r->c = c;
	r->max_elems = (size_t)8 << (2 * (level - 1));
	r->max_str = (size_t)100 << (2 * (level - 1));
	r->budget.scan = PYDICT_MAX_SCAN;
	struct sbuf sb = { buf, n, 0, false };
	buf[0] = '\0';
	repr_obj(r, &sb, obj, 1);
	free(r);
}
