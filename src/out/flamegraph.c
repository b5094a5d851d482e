/* SPDX-License-Identifier: MIT
 *
 * The SVG flame graph writer (see flamegraph.h). It works in three steps.
 *
 * 1. Labels: every frame of the profile gets its label ("name (file:line)"),
 *    made safe for XML 1.0 once (invalid UTF-8, C0 controls, DEL and the
 *    noncharacters U+FFFE/U+FFFF become U+FFFD) and interned, so frames that
 *    print the same merge, whichever thread or file they came from. Each label
 *    gets a colour from a hash of its function name (a warm palette) and a
 *    rank in byte order.
 * 2. Tree: stacks (root first, or leaf first with `reverse`) are merged into
 *    a tree of labels under a synthetic root "all"; a hash table keyed by
 *    (parent node, label) finds children. Siblings are then sorted by label
 *    rank, so the drawing does not depend on the order samples came in.
 * 3. Drawing: a walk of the tree in pre-order, without recursion (stacks can
 *    be thousands of frames deep), keeps the frames at least min_width px wide
 *    and gives each its first sample offset and depth; then the SVG is written:
 *    a header with the controls, one <g> per kept frame, and the script of
 *    flamegraph.js (generated into the binary by the Makefile) in a CDATA
 *    section that is split wherever "]]>" would occur.
 *
 * All numbers are printed from integers (hundredths), never with %f, so the
 * locale cannot turn a decimal point into a comma; output is deterministic.
 */
#include "out/flamegraph.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/xalloc.h"

/* Generated from src/out/flamegraph.js by the Makefile ($(BUILD)/gen/). */
extern const char flamegraph_js[];
extern const size_t flamegraph_js_len;

#define NONE UINT32_MAX
#define PAD_X 10                /* left and right margin, px */
#define FRAME_H 16              /* row height, px (rect is one less) */
#define TOP 56                  /* y of the first row */
#define CHAR_W 7.3              /* estimated advance of the 12px monospace font */
#define TITLE_PX 16
#define TITLE_CHAR_W 9.7
#define TEXT_PAD 3
#define LABEL_MAX 8192

struct label {
	char *str;              /* XML-safe UTF-8, not yet escaped */
	size_t len;             /* bytes */
	uint32_t rgb;
	uint32_t rank;          /* position in byte order among all labels */
	uint64_t hash;
};

struct node {
	uint32_t label;
	uint32_t parent, first_child, next_sibling;
	uint32_t depth;
	uint64_t n;             /* samples in this frame and below */
	uint64_t s;             /* samples left of it (its first sample offset) */
};

struct table {
	uint32_t *slots;
	size_t cap;             /* power of two */
};

struct fg {
	const struct profile *p;
	struct label *labels;
	size_t nlabels, labels_cap;
	struct table label_tab;
	uint32_t *frame_label;  /* frame id -> label id */

	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct table child_tab;

	uint32_t *order;        /* kept nodes in pre-order */
	size_t norder;
	uint32_t max_depth;
};

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *q = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ q[i]) * 1099511628211ull;
	return h;
}

#define FNV0 14695981039346656037ull

static void table_init(struct table *t, size_t cap)
{
	t->cap = cap;
	t->slots = xmalloc(cap * sizeof(*t->slots));
	memset(t->slots, 0xff, cap * sizeof(*t->slots));
}

static void table_reinsert(struct table *t, uint32_t id, uint64_t h)
{
	size_t i = h & (t->cap - 1);
	while (t->slots[i] != NONE)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = id;
}

/* ---- step 1: labels ---- */

static size_t put_fffd(char *out)
{
	out[0] = (char)0xef;
	out[1] = (char)0xbf;
	out[2] = (char)0xbd;
	return 3;
}

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code point,
 * or 0 if it is not valid (bad lead, bad continuation, overlong, surrogate,
 * beyond U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Copy s into a fresh string that holds only characters XML 1.0 allows
 * (and no C0 control at all): anything else becomes U+FFFD. */
static char *xml_clean(const char *s, size_t *out_len)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (len == 0) {
			o += put_fffd(out + o);
			i++;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || cp == 0xfffe || cp == 0xffff)
			o += put_fffd(out + o);
		else {
			memcpy(out + o, s + i, len);
			o += len;
		}
		i += len;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* A warm colour (reds, oranges, yellows) from the function name: the same name
 * gets the same colour in every graph. */
static uint32_t warm_colour(const char *name)
{
	uint64_t h = fnv(FNV0, name, strlen(name));
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	uint32_t r = 205 + (uint32_t)(h & 0xff) * 50 / 255;
	uint32_t g = (uint32_t)((h >> 8) & 0xff) * 210 / 255;
	uint32_t b = (uint32_t)((h >> 16) & 0xff) * 60 / 255;
	return r << 16 | g << 8 | b;
}

static uint32_t label_intern(struct fg *fg, const char *raw, const char *fname)
{
	size_t len;
	char *clean = xml_clean(raw, &len);
	uint64_t h = fnv(FNV0, clean, len);
	struct table *t = &fg->label_tab;
	size_t i = h & (t->cap - 1);
	for (; t->slots[i] != NONE; i = (i + 1) & (t->cap - 1)) {
		const struct label *l = &fg->labels[t->slots[i]];
		if (l->hash == h && l->len == len && memcmp(l->str, clean, len) == 0) {
			free(clean);
			return t->slots[i];
		}
	}
	uint32_t id = (uint32_t)fg->nlabels;
	fg->labels = xgrow(fg->labels, &fg->labels_cap, fg->nlabels + 1, sizeof(*fg->labels));
	fg->labels[id] = (struct label){ clean, len, warm_colour(fname), 0, h };
	fg->nlabels++;
	t->slots[i] = id;
	if (fg->nlabels * 2 > t->cap) {
		free(t->slots);
		table_init(t, t->cap * 2);
		for (uint32_t k = 0; k < fg->nlabels; k++)
			table_reinsert(t, k, fg->labels[k].hash);
	}
	return id;
}

static int cmp_label_ids(const void *a, const void *b, void *arg)
{
	const struct label *labels = arg;
	return strcmp(labels[*(const uint32_t *)a].str, labels[*(const uint32_t *)b].str);
}

static void labels_build(struct fg *fg, bool full)
{
	size_t nf = profile__nframes(fg->p);
	char *buf = xmalloc(LABEL_MAX);
	table_init(&fg->label_tab, 256);
	fg->frame_label = xmalloc((nf + 1) * sizeof(*fg->frame_label));
	label_intern(fg, "all", "all");         /* label 0: the root */
	for (uint32_t id = 0; id < nf; id++) {
		const struct prof_frame *f = profile__frame_at(fg->p, id);
		profile_frame_label(f, full, buf, LABEL_MAX);
		fg->frame_label[id] = label_intern(fg, buf, f->name);
	}
	free(buf);
	uint32_t *ids = xmalloc(fg->nlabels * sizeof(*ids));
	for (uint32_t i = 0; i < fg->nlabels; i++)
		ids[i] = i;
	qsort_r(ids, fg->nlabels, sizeof(*ids), cmp_label_ids, fg->labels);
	for (uint32_t i = 0; i < fg->nlabels; i++)
		fg->labels[ids[i]].rank = i;
	free(ids);
}

/* ---- step 2: the merged tree ---- */

static uint64_t child_hash(uint32_t parent, uint32_t label)
{
	uint64_t h = ((uint64_t)parent << 32 | label) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

static uint32_t node_child(struct fg *fg, uint32_t parent, uint32_t label)
{
	uint64_t h = child_hash(parent, label);
	struct table *t = &fg->child_tab;
	size_t i = h & (t->cap - 1);
	for (; t->slots[i] != NONE; i = (i + 1) & (t->cap - 1)) {
		const struct node *c = &fg->nodes[t->slots[i]];
		if (c->parent == parent && c->label == label)
			return t->slots[i];
	}
	uint32_t id = (uint32_t)fg->nnodes;
	fg->nodes = xgrow(fg->nodes, &fg->nodes_cap, fg->nnodes + 1, sizeof(*fg->nodes));
	fg->nodes[id] = (struct node){ label, parent, NONE, NONE, 0, 0, 0 };
	fg->nnodes++;
	t->slots[i] = id;
	if (fg->nnodes * 2 > t->cap) {
		free(t->slots);
		table_init(t, t->cap * 2);
		for (uint32_t k = 1; k < fg->nnodes; k++)
			table_reinsert(t, k, child_hash(fg->nodes[k].parent, fg->nodes[k].label));
	}
	return id;
}

static int cmp_siblings(const void *a, const void *b, void *arg)
{
	const struct fg *fg = arg;
	const struct node *x = &fg->nodes[*(const uint32_t *)a];
	const struct node *y = &fg->nodes[*(const uint32_t *)b];
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	uint32_t rx = fg->labels[x->label].rank, ry = fg->labels[y->label].rank;
	return rx < ry ? -1 : rx > ry;
}

static void tree_build(struct fg *fg, bool reverse)
{
	table_init(&fg->child_tab, 1024);
	fg->nodes = xgrow(NULL, &fg->nodes_cap, 1, sizeof(*fg->nodes));
	fg->nodes[0] = (struct node){ 0, NONE, NONE, NONE, 0, 0, 0 };
	fg->nnodes = 1;
	size_t ns = profile__nstacks(fg->p);
	for (uint32_t sid = 0; sid < ns; sid++) {
		const struct prof_stack *st = profile__stack_at(fg->p, sid);
		if (!st->count)
			continue;
		uint32_t cur = 0;
		fg->nodes[0].n += st->count;
		for (uint32_t k = 0; k < st->n; k++) {
			uint32_t fid = st->frames[reverse ? st->n - 1 - k : k];
			if (fid >= profile__nframes(fg->p))
				continue;
			cur = node_child(fg, cur, fg->frame_label[fid]);
			fg->nodes[cur].n += st->count;
		}
	}
	/* Link siblings in label order: sort all non-root nodes by (parent, rank). */
	if (fg->nnodes < 2)
		return;
	size_t m = fg->nnodes - 1;
	uint32_t *ids = xmalloc(m * sizeof(*ids));
	for (size_t i = 0; i < m; i++)
		ids[i] = (uint32_t)(i + 1);
	qsort_r(ids, m, sizeof(*ids), cmp_siblings, fg);
	for (size_t i = m; i-- > 0;) {
		struct node *c = &fg->nodes[ids[i]];
		struct node *par = &fg->nodes[c->parent];
		c->next_sibling = par->first_child;
		par->first_child = ids[i];
	}
	free(ids);
}

/* ---- step 3: layout and output ---- */

static void layout(struct fg *fg, double usable, double min_width)
{
	uint64_t total = fg->nodes[0].n;
	fg->order = xmalloc(fg->nnodes * sizeof(*fg->order));
	fg->norder = 0;
	fg->max_depth = 0;
	uint32_t cur = 0;
	for (;;) {
		struct node *nd = &fg->nodes[cur];
		bool kept = (double)nd->n * usable / (double)total >= min_width;
		if (kept) {
			fg->order[fg->norder++] = cur;
			if (nd->depth > fg->max_depth)
				fg->max_depth = nd->depth;
			if (nd->first_child != NONE) {
				struct node *c = &fg->nodes[nd->first_child];
				c->s = nd->s;
				c->depth = nd->depth + 1;
				cur = nd->first_child;
				continue;
			}
		}
		while (cur != 0 && fg->nodes[cur].next_sibling == NONE)
			cur = fg->nodes[cur].parent;
		if (cur == 0)
			break;
		struct node *prev = &fg->nodes[cur];
		struct node *next = &fg->nodes[prev->next_sibling];
		next->s = prev->s + prev->n;
		next->depth = prev->depth;
		cur = prev->next_sibling;
	}
}

/* Print v with two decimals from integers; drops ".00" and a trailing "0". */
static void fmt_num(char *buf, size_t n, double v)
{
	long long c = llround(v * 100);
	const char *sign = c < 0 ? "-" : "";
	if (c < 0)
		c = -c;
	if (c % 100 == 0)
		snprintf(buf, n, "%s%lld", sign, c / 100);
	else if (c % 10 == 0)
		snprintf(buf, n, "%s%lld.%lld", sign, c / 100, c % 100 / 10);
	else
		snprintf(buf, n, "%s%lld.%02lld", sign, c / 100, c % 100);
}

/* A percentage with exactly two decimals, as in "12.50". */
static void fmt_pct(char *buf, size_t n, uint64_t part, uint64_t total)
{
	long long c = total ? llround((double)part * 10000.0 / (double)total) : 0;
	snprintf(buf, n, "%lld.%02lld", c / 100, c % 100);
}

/* Write s (len bytes of XML-safe UTF-8) escaped for text and attributes. */
static void put_escaped(FILE *f, const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		fwrite(s + start, 1, i - start, f);
		fputs(rep, f);
		start = i + 1;
	}
	fwrite(s + start, 1, len - start, f);
}

/* The first code points of s that fit in `width` px at char_w px each, with
 * ".." at the end if s had to be cut, or nothing if not even 3 fit. Returns
 * the byte length to print and sets *dots. */
static size_t trim_len(const char *s, size_t len, double width, double char_w, bool *dots)
{
	double fit = floor(width / char_w);
	size_t max = fit > 0 ? (size_t)fit : 0;
	size_t cps = 0, cut = 0;
	*dots = false;
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (cps == (max >= 2 ? max - 2 : 0))
			cut = i;
		cps++;
		if (cps > max)
			break;
	}
	if (cps <= max)
		return len;
	if (max < 3)
		return 0;
	*dots = true;
	return cut;
}

static void put_trimmed(FILE *f, const char *s, size_t len, double width, double char_w)
{
	bool dots;
	size_t n = trim_len(s, len, width, char_w, &dots);
	put_escaped(f, s, n);
	if (dots)
		fputs("..", f);
}

/* Write data as the content of a CDATA section, split wherever "]]>" occurs. */
static void put_cdata(FILE *f, const char *data, size_t len)
{
	fputs("<![CDATA[", f);
	size_t start = 0;
	for (size_t i = 0; i + 2 < len; i++) {
		if (data[i] == ']' && data[i + 1] == ']' && data[i + 2] == '>') {
			fwrite(data + start, 1, i + 2 - start, f);
			fputs("]]><![CDATA[", f);
			start = i + 2;
		}
	}
	fwrite(data + start, 1, len - start, f);
	fputs("]]>", f);
}

static const char STYLE[] =
	"text { font-family: monospace; font-size: 12px; fill: #000; }\n"
	"#title { font-size: 16px; text-anchor: middle; }\n"
	"#search, #matched { text-anchor: end; }\n"
	"#reset, #search { cursor: pointer; fill: #1f4e9e; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames text { pointer-events: none; }\n"
	"#frames g:hover rect { stroke: #000; stroke-width: 0.5; }\n";

static void write_frame(FILE *f, const struct fg *fg, uint32_t id, const struct flamegraph_opts *o,
			double usable)
{
	const struct node *nd = &fg->nodes[id];
	const struct label *l = &fg->labels[nd->label];
	uint64_t total = fg->nodes[0].n;
	char x[32], y[32], w[32], tx[32], ty[32], pct[32];
	double xv = PAD_X + (double)nd->s * usable / (double)total;
	double wv = (double)nd->n * usable / (double)total;
	uint32_t row = o->icicle ? nd->depth : fg->max_depth - nd->depth;
	double yv = TOP + (double)row * FRAME_H;
	fmt_num(x, sizeof(x), xv);
	fmt_num(w, sizeof(w), wv);
	fmt_num(y, sizeof(y), yv);
	fmt_num(tx, sizeof(tx), xv + TEXT_PAD);
	fmt_num(ty, sizeof(ty), yv + 11.5);
	fmt_pct(pct, sizeof(pct), nd->n, total);
	uint32_t rgb = id == 0 ? 0xd8d8d8 : l->rgb;
	fprintf(f, "<g data-s=\"%llu\" data-n=\"%llu\"><title>", (unsigned long long)nd->s,
		(unsigned long long)nd->n);
	put_escaped(f, l->str, l->len);
	fprintf(f, " (%llu sample%s, %s%%)</title>", (unsigned long long)nd->n,
		nd->n == 1 ? "" : "s", pct);
	fprintf(f, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%d\" fill=\"rgb(%u,%u,%u)\"/>",
		x, y, w, FRAME_H - 1, rgb >> 16, (rgb >> 8) & 0xff, rgb & 0xff);
	fprintf(f, "<text x=\"%s\" y=\"%s\">", tx, ty);
	put_trimmed(f, l->str, l->len, wv - 2 * TEXT_PAD, CHAR_W);
	fputs("</text></g>\n", f);
}

static void fg_free(struct fg *fg)
{
	for (size_t i = 0; i < fg->nlabels; i++)
		free(fg->labels[i].str);
	free(fg->labels);
	free(fg->label_tab.slots);
	free(fg->frame_label);
	free(fg->nodes);
	free(fg->child_tab.slots);
	free(fg->order);
}

int flamegraph_write(FILE *f, const struct profile *p, const struct flamegraph_opts *opts)
{
	struct flamegraph_opts o = opts ? *opts : FLAMEGRAPH_OPTS_DEFAULT;
	if (o.width < 100 || o.width > 1000000)
		return -EINVAL;
	const char *title = o.title ? o.title : profile__meta(p)->title;
	if (!title || !title[0])
		title = "Flame Graph";
	double usable = o.width - 2 * PAD_X;

	struct fg fg = { .p = p };
	labels_build(&fg, o.full_filenames);
	tree_build(&fg, o.reverse);
	uint64_t total = fg.nodes[0].n;
	if (total)
		layout(&fg, usable, o.min_width);

	size_t tlen;
	char *ctitle = xml_clean(title, &tlen);
	uint32_t rows = fg.norder ? fg.max_depth + 1 : 2;
	int bottom = TOP + (int)rows * FRAME_H + 18;
	int height = bottom + 10;
	char num[32];

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", f);
	fprintf(f, "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\">\n", o.width, height, o.width, height);
	fputs("<!-- Flame graph written by cspy. Click a frame to zoom, Ctrl-F to search. -->\n", f);
	fputs("<title>", f);
	put_escaped(f, ctitle, tlen);
	fputs("</title>\n<style>", f);
	put_cdata(f, STYLE, sizeof(STYLE) - 1);
	fputs("</style>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f6f6ee\"/>\n",
		o.width, height);
	fmt_num(num, sizeof(num), o.width / 2.0);
	fprintf(f, "<text id=\"title\" x=\"%s\" y=\"24\">", num);
	put_trimmed(f, ctitle, tlen, usable, TITLE_CHAR_W);
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"reset\" x=\"%d\" y=\"44\">Reset Zoom</text>\n", PAD_X);
	fprintf(f, "<text id=\"search\" x=\"%d\" y=\"44\">Search</text>\n", o.width - PAD_X);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", PAD_X, bottom);
	fprintf(f, "<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n", o.width - PAD_X, bottom);
	if (!total) {
		fprintf(f, "<text id=\"empty\" x=\"%s\" y=\"%d\" text-anchor=\"middle\">"
			"No samples were collected.</text>\n", num, TOP + FRAME_H);
	}
	fputs("<g id=\"frames\">\n", f);
	for (size_t i = 0; i < fg.norder; i++)
		write_frame(f, &fg, fg.order[i], &o, usable);
	fputs("</g>\n<script type=\"text/ecmascript\">", f);
	put_cdata(f, flamegraph_js, flamegraph_js_len);
	fputs("</script>\n</svg>\n", f);

	free(ctitle);
	fg_free(&fg);
	/* Flush so that an error of the last buffered bytes is seen here too. */
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}
