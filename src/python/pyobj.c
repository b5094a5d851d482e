/* SPDX-License-Identifier: MIT
 *
 * Remote Python objects beyond strings (see pyobj.h).
 *
 * Types are recognised by their tp_name together with the tp_flags subclass
 * bit of the layout the name promises ("tuple" needs Py_TPFLAGS_TUPLE_SUBCLASS
 * and so on), so a user class that happens to be called "dict" is not read as
 * one. One read fetches a type's fields (name pointer, basic size, flags, dict
 * offset), a second its name; a repr keeps a small cache of the types it met.
 *
 * Dicts: the dict object's head is one read, the keys object's header and,
 * for small dicts, its whole entry table a second one (up to KEYS_SPEC bytes,
 * never past the keys object's first page, where a mapping cannot end early).
 * Larger tables are read CHUNK entries at a time, entries and split values of
 * a chunk in one mem__readv. A lookup by str key also checks each chunk's
 * keys with one mem__readv of their headers (compact ASCII keys compare right
 * there, others through pystr_read), so sys.modules costs a few reads, not
 * one per module. Instance attributes follow the per-version
 * placement of the instance dict or its split values (tp_dictoffset; 3.11
 * managed values/dict; 3.12 the tagged dict-or-values word; 3.13+ inline
 * values behind the object).
 *
 * Reprs follow Python's repr() (str quoting and escapes, float shortest
 * round-trip digits, ints in full up to ~4000 digits) with bounded element
 * counts, string lengths and nesting, into a bounded buffer that marks any
 * cut with "...".
 */
#include "python/pyobj.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pystr.h"
#include "util/bytes.h"
#include "util/xalloc.h"

#define PAGE 4096u
#define OBJ_SPEC 128            /* object head read for reprs */
#define KEYS_SPEC 1024          /* keys object header + small tables */
#define MAX_SCAN (1u << 18)     /* dict slots/entries looked at */
#define MAX_LIVE 100000         /* dict entries passed to a callback */
#define CHUNK 128               /* dict entries per read */
#define MAX_SINGLE 1024         /* entries read one by one in a lenient walk */
#define MAX_DIGITS 450          /* 30-bit digits printed (~4060 decimal digits) */
#define MAX_DEPTH 3
#define MAX_LEVEL 4
#define TCACHE 8

/* tp_flags subclass bits (2.7 and 3.x agree). */
#define TPF_INT27 (1ul << 23)
#define TPF_LONG (1ul << 24)
#define TPF_LIST (1ul << 25)
#define TPF_TUPLE (1ul << 26)
#define TPF_BYTES (1ul << 27)
#define TPF_UNICODE (1ul << 28)
#define TPF_DICT (1ul << 29)

enum kind {
	K_OTHER, K_NONE, K_BOOL, K_INT27, K_LONG, K_FLOAT, K_STR, K_BYTES,
	K_TUPLE, K_LIST, K_DICT, K_INSTANCE27,
};

struct tinfo {
	uint64_t addr;
	unsigned long flags;
	int64_t basicsize, dictoffset;
	enum kind kind;
	char name[64];
};

struct tcache {
	struct tinfo t[TCACHE];
	unsigned n, next;
};

/* A lookup of the str key `key` (klen bytes of UTF-8); value when found. */
struct getstr {
	const struct pyctx *c;
	const char *key;
	size_t klen;
	uint64_t value;
};

/* The state of a dict walk: a budget of entries to look at (shared by
 * nested walks of one repr), and for str-key lookups the key, which lets a
 * chunk's keys be checked with one batched read instead of one read each.
 * A lenient walk (single > 0) reads a chunk it cannot read whole one entry
 * at a time, at most `single` entries in all, and skips the unreadable ones
 * (a dict caught mid-change by a thread without a GIL); a strict one fails. */
struct walk {
	size_t scan;
	struct getstr *match;
	size_t single;
};

/* The first bytes of an object. */
struct ohead {
	uint64_t addr;
	size_t len;
	uint8_t b[OBJ_SPEC];
};

static bool is_py2(const struct py_layout *L)
{
	return L->str_kind == PY_STR_PY2;
}

static int ohead_read(const struct pyctx *c, uint64_t addr, struct ohead *h)
{
	long got = mem__read_upto(c->mem, addr, h->b, (size_t)c->L->ob_type + 8, sizeof(h->b));
	if (got < 0)
		return (int)got;
	h->addr = addr;
	h->len = (size_t)got;
	return 0;
}

/* Copy len bytes at obj + off into dst, from the head when it holds them. */
static int ohead_get(const struct pyctx *c, const struct ohead *h, size_t off, void *dst, size_t len)
{
	if (off <= h->len && h->len - off >= len) {
		memcpy(dst, h->b + off, len);
		return 0;
	}
	return mem__read(c->mem, h->addr + off, dst, len);
}

static int ohead_u64(const struct pyctx *c, const struct ohead *h, int off, uint64_t *v)
{
	if (off < 0)
		return -EINVAL;
	return ohead_get(c, h, (size_t)off, v, 8);
}

static enum kind classify(const struct py_layout *L, const struct tinfo *t)
{
	const char *n = t->name;
	unsigned long f = t->flags;
	bool py2 = is_py2(L);

	if (!strcmp(n, "NoneType"))
		return K_NONE;
	if (!strcmp(n, "bool"))
		return K_BOOL;
	if (!strcmp(n, "float"))
		return K_FLOAT;
	if (!strcmp(n, "int"))
		return py2 ? (f & TPF_INT27 ? K_INT27 : K_OTHER) : (f & TPF_LONG ? K_LONG : K_OTHER);
	if (py2 && !strcmp(n, "long"))
		return f & TPF_LONG ? K_LONG : K_OTHER;
	if (!strcmp(n, "str"))
		return py2 ? (f & TPF_BYTES ? K_BYTES : K_OTHER) : (f & TPF_UNICODE ? K_STR : K_OTHER);
	if (py2 && !strcmp(n, "unicode"))
		return f & TPF_UNICODE ? K_STR : K_OTHER;
	if (!py2 && !strcmp(n, "bytes"))
		return f & TPF_BYTES ? K_BYTES : K_OTHER;
	if (!strcmp(n, "tuple"))
		return f & TPF_TUPLE ? K_TUPLE : K_OTHER;
	if (!strcmp(n, "list"))
		return f & TPF_LIST ? K_LIST : K_OTHER;
	if (!strcmp(n, "dict"))
		return f & TPF_DICT ? K_DICT : K_OTHER;
	if (py2 && !strcmp(n, "instance"))
		return K_INSTANCE27;
	return K_OTHER;
}

/* Read the type object at addr: its fields, and its name. */
static int type_load(const struct pyctx *c, uint64_t addr, struct tinfo *t)
{
	const struct py_layout *L = c->L;
	uint8_t b[512];
	size_t len = (size_t)L->tp_dictoffset + 8;
	int err;

	memset(t, 0, sizeof(*t));
	if (len > sizeof(b) || L->tp_flags < 0 || L->tp_basicsize < 0 || L->tp_name < 0)
		return -EINVAL;
	if (addr == 0)
		return -EFAULT;
	err = mem__read(c->mem, addr, b, len);
	if (err)
		return err;
	t->addr = addr;
	t->flags = (unsigned long)bytes_u64(b + L->tp_flags);
	t->basicsize = (int64_t)bytes_u64(b + L->tp_basicsize);
	t->dictoffset = (int64_t)bytes_u64(b + L->tp_dictoffset);
	err = mem__read_cstr(c->mem, bytes_u64(b + L->tp_name), t->name, sizeof(t->name));
	if (err)
		return err;
	t->kind = classify(L, t);
	return 0;
}

/* The type at addr from the cache, loading it on a miss. */
static int type_get(const struct pyctx *c, struct tcache *tc, uint64_t addr, const struct tinfo **out)
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
	int err = type_load(c, addr, &tc->t[slot]);
	if (err) {
		tc->t[slot].addr = 0;   /* never matches: 0 is refused above */
		return err;
	}
	*out = &tc->t[slot];
	return 0;
}

int pyobj_type_name(const struct pyctx *c, uint64_t obj, char *buf, size_t n)
{
	const struct py_layout *L = c->L;
	uint64_t type, name;
	int err;

	if (n == 0)
		return -EINVAL;
	buf[0] = '\0';
	err = mem__read_ptr(c->mem, obj + (uint64_t)L->ob_type, &type);
	if (!err)
		err = mem__read_ptr(c->mem, type + (uint64_t)L->tp_name, &name);
	if (!err)
		err = mem__read_cstr(c->mem, name, buf, n);
	return err;
}

/* ---- ints ---- */

/* Sign and 30-bit digits of a PyLongObject (2.7 long, 3.x int). At most max
 * digits; more gives -ERANGE. */
static int long_digits(const struct pyctx *c, const struct ohead *h, uint32_t *d, size_t max,
		       size_t *nd, bool *neg)
{
	const struct py_layout *L = c->L;
	uint64_t w;
	int err;

	if (L->long_tag >= 0) {
		err = ohead_u64(c, h, L->long_tag, &w);
		if (err)
			return err;
		unsigned sign = w & 3;
		if (sign == 3)
			return -EINVAL;
		*neg = sign == 2;
		*nd = sign == 1 ? 0 : (size_t)(w >> 3);
	} else {
		err = ohead_u64(c, h, L->long_size, &w);
		if (err)
			return err;
		int64_t s = (int64_t)w;
		*neg = s < 0;
		*nd = s < 0 ? (size_t)(-(uint64_t)s) : (size_t)s;
	}
	if (*nd > max)
		return -ERANGE;
	if (*nd == 0)
		return 0;
	err = ohead_get(c, h, (size_t)L->long_digit, d, *nd * 4);
	if (err)
		return err;
	for (size_t i = 0; i < *nd; i++)
		d[i] &= (1u << 30) - 1;
	return 0;
}

/* The value of an int-like object (kind INT27, LONG or BOOL) as int64. */
static int int_value(const struct pyctx *c, const struct ohead *h, enum kind k, int64_t *out)
{
	const struct py_layout *L = c->L;
	uint32_t d[4];
	size_t nd;
	bool neg;
	uint64_t v = 0;
	int err;

	if (k == K_INT27 || (k == K_BOOL && is_py2(L))) {
		err = ohead_u64(c, h, L->int_ival, &v);
		*out = (int64_t)v;
		return err;
	}
	err = long_digits(c, h, d, 3, &nd, &neg);
	if (err)
		return err;
	if (nd == 3 && d[2] >= 16)
		return -ERANGE;
	v = 0;
	for (size_t i = nd; i-- > 0;)
		v = (v << 30) | d[i];
	if (!neg && v > (uint64_t)INT64_MAX)
		return -ERANGE;
	if (neg && v > (uint64_t)INT64_MAX + 1)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int pyobj_as_int64(const struct pyctx *c, uint64_t obj, int64_t *out)
{
	struct ohead h;
	struct tinfo t;
	int err = ohead_read(c, obj, &h);
	if (!err)
		err = type_load(c, bytes_u64(h.b + c->L->ob_type), &t);
	if (err)
		return err;
	if (t.kind != K_INT27 && t.kind != K_LONG && t.kind != K_BOOL)
		return -EINVAL;
	return int_value(c, &h, t.kind, out);
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
	struct walk walk;       /* dict entries left to look at, over all dicts */
};

static void repr_obj(struct rctx *r, struct sbuf *sb, uint64_t obj, int depth);
static int dict_walk(const struct pyctx *c, uint64_t dict, struct walk *w, pydict_fn fn, void *arg);

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

static int repr_str(struct rctx *r, struct sbuf *sb, uint64_t obj, enum kind k)
{
	const struct pyctx *c = r->c;
	bool py2 = is_py2(c->L), more = false;
	size_t n = 0;
	uint32_t *cp = xmalloc((r->max_str + 1) * sizeof(*cp));
	int err;

	if (k == K_STR) {
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
		if (k == K_STR)
			quoted(sb, py2 ? "u" : "", cp, n, more, py2 ? ESC_ALL : ESC_PY3);
		else
			quoted(sb, py2 ? "" : "b", cp, n, more, ESC_BYTES);
	}
	free(cp);
	return err;
}

static int repr_long(struct rctx *r, struct sbuf *sb, const struct ohead *h)
{
	uint32_t d[MAX_DIGITS];
	char dec[MAX_DIGITS * 10 + 2];
	size_t nd;
	bool neg;
	int err = long_digits(r->c, h, d, MAX_DIGITS, &nd, &neg);
	if (err)
		return err;
	digits_to_dec(d, nd, dec);
	if (neg && nd)
		sb_str(sb, "-");
	sb_str(sb, dec);
	if (is_py2(r->c->L))
		sb_str(sb, "L");
	return 0;
}

static int repr_seq(struct rctx *r, struct sbuf *sb, const struct ohead *h, enum kind k, int depth)
{
	const struct pyctx *c = r->c;
	const struct py_layout *L = c->L;
	const char *open = k == K_TUPLE ? "(" : "[", *close = k == K_TUPLE ? ")" : "]";
	uint64_t size, items;
	int err;

	if (depth > MAX_DEPTH) {
		sb_str(sb, open);
		sb_str(sb, "...");
		sb_str(sb, close);
		return 0;
	}
	err = ohead_u64(c, h, k == K_TUPLE ? L->ob_size : L->list_size, &size);
	if (err)
		return err;
	if ((int64_t)size < 0)
		return -EINVAL;
	size_t cnt = size < r->max_elems ? (size_t)size : r->max_elems;
	uint64_t *it = xmalloc((cnt ? cnt : 1) * sizeof(*it));
	if (k == K_TUPLE) {
		err = ohead_get(c, h, (size_t)L->tuple_item, it, cnt * 8);
	} else {
		err = ohead_u64(c, h, L->list_item, &items);
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
		else if (k == K_TUPLE && size == 1)
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
	int err = dict_walk(r->c, obj, &r->walk, dict_repr_cb, &d);
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
	const struct tinfo *t;
	struct ohead h;
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
	err = ohead_read(c, obj, &h);
	if (!err)
		err = type_get(c, &r->tc, bytes_u64(h.b + L->ob_type), &t);
	if (err)
		goto unreadable;

	size_t mark = sb->len;
	switch (t->kind) {
	case K_NONE:
		sb_str(sb, "None");
		break;
	case K_BOOL: {
		int64_t v = 0;
		err = int_value(c, &h, K_BOOL, &v);
		if (err == -ERANGE)
			v = 1, err = 0;
		if (!err)
			sb_str(sb, v ? "True" : "False");
		break;
	}
	case K_INT27: {
		int64_t v;
		err = int_value(c, &h, K_INT27, &v);
		if (!err)
			sb_printf(sb, "%" PRId64, v);
		break;
	}
	case K_LONG:
		err = repr_long(r, sb, &h);
		if (err == -ERANGE) {
			sb_printf(sb, "<%s at 0x%" PRIx64 ">", t->name, obj);
			err = 0;
		}
		break;
	case K_FLOAT: {
		double v;
		err = L->float_fval < 0 ? -EINVAL : ohead_get(c, &h, (size_t)L->float_fval, &v, 8);
		if (!err) {
			float_repr(v, tmp, sizeof(tmp));
			sb_str(sb, tmp);
		}
		break;
	}
	case K_STR:
	case K_BYTES:
		err = repr_str(r, sb, obj, t->kind);
		break;
	case K_TUPLE:
	case K_LIST:
		err = repr_seq(r, sb, &h, t->kind, depth);
		break;
	case K_DICT:
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

void pyobj_repr(const struct pyctx *c, uint64_t obj, int level, char *buf, size_t n)
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
	r->walk.scan = MAX_SCAN;
	struct sbuf sb = { buf, n, 0, false };
	buf[0] = '\0';
	repr_obj(r, &sb, obj, 1);
	free(r);
}

/* ---- dicts ---- */

/* Compare the keys k[0..n) with the ASCII key of g: verdict 1 equal, 0 not,
 * -1 unknown (not a compact ASCII str, or not fully read): the caller then
 * decides with pystr_read(). One mem__readv for the whole chunk. */
static void match_keys(const struct pyctx *c, const struct getstr *g, const uint64_t *k, size_t n,
		       int8_t *verdict)
{
	const struct py_layout *L = c->L;
	size_t hdr = (size_t)L->uni_ascii_size, want = hdr + g->klen, min = (size_t)L->uni_state + 4;
	struct mem_iov iov[CHUNK];

	memset(verdict, -1, n);
	if (L->str_kind != PY_STR_PEP393 || n == 0)
		return;
	for (size_t i = 0; i < g->klen; i++)
		if ((unsigned char)g->key[i] >= 0x80)
			return;
	uint8_t *buf = xmalloc(n * want);
	for (size_t i = 0; i < n; i++) {
		size_t len = PAGE - (k[i] & (PAGE - 1));
		len = len > want ? want : len < min ? min : len;
		iov[i] = (struct mem_iov){ .addr = k[i], .buf = buf + i * want, .len = len };
	}
	if (mem__readv(c->mem, iov, n) >= 0) {
		for (size_t i = 0; i < n; i++) {
			const uint8_t *b = iov[i].buf;
			if (iov[i].err)
				continue;
			uint64_t len = bytes_u64(b + L->uni_length);
			uint32_t state;
			memcpy(&state, b + L->uni_state, 4);
			bool ascii = ((state >> L->uni_kind_shift) & 7) == 1 &&
				     ((state >> L->uni_compact_bit) & 1) && ((state >> L->uni_ascii_bit) & 1);
			if (!ascii)
				continue;
			if (len != g->klen)
				verdict[i] = 0;
			else if (iov[i].len >= want)
				verdict[i] = memcmp(b + hdr, g->key, g->klen) == 0;
		}
	}
	free(buf);
}

/* An entry table to walk: n entries of esize bytes at `entries`, key and
 * value at koff/voff; values from a separate array when `values` != 0. */
struct etable {
	uint64_t entries;
	size_t n, esize;
	int koff, voff;
	uint64_t values;
	uint64_t pre_addr;      /* bytes already read (may cover the entries) */
	const uint8_t *pre;
	size_t pre_len;
};

/* Read one chunk's entries and/or values (iov, as etable_foreach sets them
 * up); in a lenient walk an unreadable chunk is read again one entry at a
 * time and an entry that still cannot be read is zeroed (skipped as empty).
 * 0 or -errno. */
static int chunk_read(const struct pyctx *c, struct walk *w, struct mem_iov *iov, size_t niov,
		      size_t cnt)
{
	int r = mem__readv(c->mem, iov, niov), err = 0;

	for (size_t i = 0; r >= 0 && i < niov && !err; i++)
		err = iov[i].err;
	if (r >= 0 && !err)
		return 0;
	if (r < 0)
		return r;
	if (w->single < cnt)
		return err;
	w->single -= cnt;
	for (size_t j = 0; j < niov; j++) {
		if (!iov[j].err)
			continue;
		/* the entries (esize each) or the split values (8 each) */
		size_t each = iov[j].len / cnt;
		uint8_t *b = iov[j].buf;
		for (size_t i = 0; i < cnt; i++)
			if (mem__read(c->mem, iov[j].addr + i * each, b + i * each, each))
				memset(b + i * each, 0, each);
	}
	return 0;
}

static int etable_foreach(const struct pyctx *c, const struct etable *e, struct walk *w,
			  pydict_fn fn, void *arg)
{
	uint8_t eb[CHUNK * 24];
	uint64_t vb[CHUNK], ks[CHUNK], vs[CHUNK];
	int8_t verdict[CHUNK];
	size_t live = 0;

	for (size_t base = 0; base < e->n;) {
		size_t cnt = e->n - base < CHUNK ? e->n - base : CHUNK;
		if (cnt > w->scan)
			cnt = w->scan;
		if (cnt == 0)
			return 0;
		w->scan -= cnt;
		uint64_t at = e->entries + base * e->esize;
		size_t bytes = cnt * e->esize, m = 0;
		const uint8_t *ents = eb;
		struct mem_iov iov[2];
		size_t niov = 0;

		if (e->pre && at >= e->pre_addr && at - e->pre_addr <= e->pre_len &&
		    e->pre_len - (at - e->pre_addr) >= bytes)
			ents = e->pre + (at - e->pre_addr);
		else
			iov[niov++] = (struct mem_iov){ .addr = at, .buf = eb, .len = bytes };
		if (e->values)
			iov[niov++] = (struct mem_iov){ .addr = e->values + base * 8, .buf = vb,
							.len = cnt * 8 };
		if (niov) {
			int r = chunk_read(c, w, iov, niov, cnt);
			if (r < 0)
				return r;
		}
		for (size_t i = 0; i < cnt; i++) {
			const uint8_t *p = ents + i * e->esize;
			ks[m] = bytes_u64(p + e->koff);
			vs[m] = e->values ? vb[i] : bytes_u64(p + e->voff);
			if (ks[m] && vs[m])
				m++;
		}
		if (w->match)
			match_keys(c, w->match, ks, m, verdict);
		else
			memset(verdict, -1, m);
		for (size_t j = 0; j < m; j++) {
			if (live++ == MAX_LIVE)
				return 0;
			if (verdict[j] == 0)
				continue;
			if (verdict[j] == 1) {
				w->match->value = vs[j];
				return 1;
			}
			int rc = fn(ks[j], vs[j], arg);
			if (rc)
				return rc;
		}
		base += cnt;
	}
	return 0;
}

/* Walk the keys object at `keys` (3.6+), values from the split values array
 * `values` (0: in the entries), at most vmax of them. */
static int keys_foreach(const struct pyctx *c, uint64_t keys, uint64_t values, size_t vmax,
			struct walk *w, pydict_fn fn, void *arg)
{
	const struct py_layout *L = c->L;
	uint8_t kb[KEYS_SPEC];
	struct etable e = { 0 };
	int64_t nent;
	long got;

	if (L->dk_nentries < 0 || L->dk_indices < 0)
		return -EINVAL;
	got = mem__read_upto(c->mem, keys, kb, (size_t)L->dk_indices, sizeof(kb));
	if (got < 0)
		return (int)got;
	nent = (int64_t)bytes_u64(kb + L->dk_nentries);
	if (nent == 0)
		return 0;
	if (L->dict_kind == PY_DICT_36) {
		int64_t size = (int64_t)bytes_u64(kb + L->dk_size);
		if (size < 8 || size > (1l << 30) || (size & (size - 1)) || nent < 0 || nent > size)
			return -EINVAL;
		size_t ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		e.entries = keys + (uint64_t)L->dk_indices + (uint64_t)size * ix;
		e.esize = 24;
		e.koff = 8;
		e.voff = 16;
	} else {
		unsigned ls = kb[L->dk_log2_size], ib = kb[L->dk_log2_index_bytes], kind = kb[L->dk_kind];
		if (ls > 30 || ib < ls || ib > ls + 3 || kind > 2 || nent < 0 || nent > (1l << ls))
			return -EINVAL;
		e.entries = keys + (uint64_t)L->dk_indices + (1ull << ib);
		e.esize = kind == 0 ? 24 : 16;
		e.koff = kind == 0 ? 8 : 0;
		e.voff = e.koff + 8;
	}
	e.n = (size_t)nent < MAX_SCAN ? (size_t)nent : MAX_SCAN;
	if (values && e.n > vmax)
		e.n = vmax;
	e.values = values;
	e.pre_addr = keys;
	e.pre = kb;
	e.pre_len = (size_t)got;
	return etable_foreach(c, &e, w, fn, arg);
}

/* pydict_foreach() with a budget of entries to look at (shared by nested
 * walks). */
static int dict_walk(const struct pyctx *c, uint64_t dict, struct walk *w, pydict_fn fn, void *arg)
{
	const struct py_layout *L = c->L;
	struct ohead h;
	uint64_t used, vals;
	int err;

	err = ohead_read(c, dict, &h);
	if (!err)
		err = ohead_u64(c, &h, L->ma_used, &used);
	if (err)
		return err;
	if ((int64_t)used <= 0)
		return 0;
	if (L->dict_kind == PY_DICT_27) {
		uint64_t mask, table;
		err = ohead_u64(c, &h, L->ma_mask27, &mask);
		if (!err)
			err = ohead_u64(c, &h, L->ma_table27, &table);
		if (err)
			return err;
		if (mask >= (1ull << 30) || ((mask + 1) & mask) || !table)
			return -EINVAL;
		struct etable e = {
			.entries = table, .n = mask + 1 < MAX_SCAN ? (size_t)mask + 1 : MAX_SCAN,
			.esize = 24, .koff = 8, .voff = 16,
			.pre_addr = dict, .pre = h.b, .pre_len = h.len,
		};
		return etable_foreach(c, &e, w, fn, arg);
	}
	uint64_t keys;
	err = ohead_u64(c, &h, L->ma_keys, &keys);
	if (!err)
		err = ohead_u64(c, &h, L->ma_values, &vals);
	if (err)
		return err;
	if (!keys)
		return -EINVAL;
	return keys_foreach(c, keys, vals ? vals + (uint64_t)L->dict_values_prefix : 0, SIZE_MAX, w,
			    fn, arg);
}

int pydict_foreach(const struct pyctx *c, uint64_t dict, pydict_fn fn, void *arg)
{
	struct walk w = { MAX_SCAN, NULL, 0 };
	return dict_walk(c, dict, &w, fn, arg);
}

static int getstr_cb(uint64_t key, uint64_t value, void *arg)
{
	struct getstr *g = arg;
	char buf[256];
	bool cut;

	if (pystr_read(g->c, key, buf, g->klen + 2, &cut) == 0 && !cut &&
	    strcmp(buf, g->key) == 0) {
		g->value = value;
		return 1;
	}
	return 0;
}

/* Lookup by walking: rc of the walk (1 found, 0 not, -errno). */
static int getstr_result(int rc, const struct getstr *g, uint64_t *value)
{
	if (rc == 1) {
		*value = g->value;
		return 0;
	}
	return rc < 0 ? rc : -ENOENT;
}

int pydict_get_str(const struct pyctx *c, uint64_t dict, const char *key, uint64_t *value)
{
	struct getstr g = { c, key, strlen(key), 0 };
	struct walk w = { MAX_SCAN, &g, 0 };
	if (g.klen + 2 > 256)
		return -EINVAL;
	return getstr_result(dict_walk(c, dict, &w, getstr_cb, &g), &g, value);
}

/* Lookup in split values: keys shared by the type, values of the instance. */
static int values_get_str(const struct pyctx *c, uint64_t type, uint64_t values, size_t vmax,
			  const char *name, uint64_t *value)
{
	struct getstr g = { c, name, strlen(name), 0 };
	uint64_t keys;
	int err;

	if (g.klen + 2 > 256 || c->L->ht_cached_keys < 0)
		return -EINVAL;
	err = mem__read_ptr(c->mem, type + (uint64_t)c->L->ht_cached_keys, &keys);
	if (err)
		return err;
	if (!keys)
		return -ENOENT;
	struct walk w = { MAX_SCAN, &g, 0 };
	return getstr_result(keys_foreach(c, keys, values, vmax, &w, getstr_cb, &g), &g, value);
}

/* The pointer at obj + off (off < 0), from pre (read from obj + lo) if given. */
static int pre_word(const struct pyctx *c, uint64_t obj, const uint8_t *pre, int lo, int off,
		    uint64_t *w)
{
	if (pre) {
		*w = bytes_u64(pre + (off - lo));
		return 0;
	}
	return mem__read_ptr(c->mem, obj - (uint64_t)(-(int64_t)off), w);
}

int pyobj_getattr_dict(const struct pyctx *c, uint64_t obj, const char *name, uint64_t *value)
{
	const struct py_layout *L = c->L;
	struct tinfo t;
	uint8_t pre[64];
	uint64_t dict = 0, w, type;
	int err;

	/* 3.11+: the managed dict/values words sit just before the object; read
	 * them with its header when that memory is readable. */
	int lo = L->managed_values_off < L->managed_dict_off ? L->managed_values_off :
		 L->managed_dict_off;
	size_t span = (size_t)(-lo) + (size_t)L->ob_type + 8;
	bool have_pre = lo < 0 && span <= sizeof(pre) &&
			mem__read(c->mem, obj - (uint64_t)(-lo), pre, span) == 0;
	if (have_pre)
		type = bytes_u64(pre + (-lo) + L->ob_type);
	else if ((err = mem__read_ptr(c->mem, obj + (uint64_t)L->ob_type, &type)))
		return err;
	err = type_load(c, type, &t);
	if (err)
		return err;

	if (L->tpflags_managed_dict && (t.flags & L->tpflags_managed_dict)) {
		if (L->tpflags_inline_values && (t.flags & L->tpflags_inline_values)) {
			/* 3.13+: PyDictValues {capacity, size, embedded, valid, values[]}
			 * right behind the object. */
			uint8_t vh[8];
			if (t.basicsize <= 0 || t.basicsize > (1 << 20))
				return -EINVAL;
			uint64_t vals = obj + (uint64_t)t.basicsize;
			err = mem__read(c->mem, vals, vh, sizeof(vh));
			if (err)
				return err;
			if (vh[3])
				return values_get_str(c, type, vals + (uint64_t)L->dict_values_prefix,
						      vh[0], name, value);
		}
		if (L->managed_values_off) {
			/* 3.11: a values pointer, else the dict pointer. */
			err = pre_word(c, obj, have_pre ? pre : NULL, lo, L->managed_values_off, &w);
			if (err)
				return err;
			if (w)
				return values_get_str(c, type, w, SIZE_MAX, name, value);
		}
		err = pre_word(c, obj, have_pre ? pre : NULL, lo, L->managed_dict_off, &w);
		if (err)
			return err;
		/* 3.12: the word is a dict, or (bit 0 set) values - 1. */
		if (L->managed_dict_tagged && (w & 1))
			return values_get_str(c, type, w + 1, SIZE_MAX, name, value);
		dict = w;
	} else if (t.kind == K_INSTANCE27) {
		/* 2.7 old-style instance: in_class, in_dict after the header. */
		err = mem__read_ptr(c->mem, obj + (uint64_t)L->ob_type + 16, &dict);
		if (err)
			return err;
	} else if (t.dictoffset > 0 && t.dictoffset < (1 << 20)) {
		err = mem__read_ptr(c->mem, obj + (uint64_t)t.dictoffset, &dict);
		if (err)
			return err;
	}
	if (!dict)
		return -ENOENT;
	return pydict_get_str(c, dict, name, value);
}

/* ---- thread names ---- */

struct tnames {
	const struct pyctx *c;
	const char *attr;
	pythread_name_fn fn;
	void *arg;
};

static int tname_cb(uint64_t key, uint64_t value, void *arg)
{
	struct tnames *tn = arg;
	char name[128];
	int64_t ident;
	uint64_t nobj;

	/* A torn entry (a stale or half-written pointer, a key that is no
	 * int, a value without a str name) is skipped, not an error. */
	if (((key | value) & 7) == 0 && pyobj_as_int64(tn->c, key, &ident) == 0 &&
	    pyobj_getattr_dict(tn->c, value, tn->attr, &nobj) == 0 &&
	    pystr_read(tn->c, nobj, name, sizeof(name), NULL) == 0)
		tn->fn((uint64_t)ident, name, tn->arg);
	return 0;
}

int pythread_names(const struct pyctx *c, uint64_t modules_dict, pythread_name_fn fn, void *arg)
{
	const struct py_layout *L = c->L;
	struct tnames tn = { c, is_py2(L) ? "_Thread__name" : "_name", fn, arg };
	uint64_t mod, md, active;
	char tname[16];
	int err;

	err = pydict_get_str(c, modules_dict, "threading", &mod);
	if (!err)
		err = pyobj_type_name(c, mod, tname, sizeof(tname));
	if (!err && strcmp(tname, "module") != 0)
		return 0;
	if (!err)
		err = L->md_dict < 0 ? -EINVAL : mem__read_ptr(c->mem, mod + (uint64_t)L->md_dict, &md);
	if (!err)
		err = md ? pydict_get_str(c, md, "_active", &active) : -ENOENT;
	if (!err) {
		/* Without a GIL a thread may be paused in the middle of changing
		 * _active: its entries are read one by one where a chunk cannot be
		 * read whole, and a torn entry is skipped (tname_cb). */
		struct walk w = { MAX_SCAN, NULL, MAX_SINGLE };
		err = dict_walk(c, active, &w, tname_cb, &tn);
	}
	return err == -ENOENT ? 0 : err;
}
