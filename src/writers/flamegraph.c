/* SPDX-License-Identifier: MIT
 *
 * The SVG flame graph writer (see flamegraph.h). It works in three steps.
 *
 * 1. Labels: every frame of the profile gets its label ("name (file:line)"),
 *    made safe for XML 1.0 once (invalid UTF-8, C0 controls, DEL and the
 *    noncharacters U+FFFE/U+FFFF become U+FFFD) and interned, so frames that
 *    print the same merge, whichever thread or file they came from. Each label
 *    gets a colour from a hash of its function name (a warm palette) and a
 *    rank in byte order. Labels and tree nodes are found through hash
 *    indexes of their ids (util/hashmap.h).
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
 * A diff (prof_meta.diff) also sums the base counts into the tree and
 * colours each kept frame by its change of share (see flamegraph.h); any
 * other profile takes none of those paths and is drawn byte for byte as
 * before.
 *
 * A --memory profile (prof_meta.memory, not a diff) is drawn with bytes of
 * resident-memory growth as widths (prof_stack_weight): the title says
 * "Memory growth", the tooltips bytes and MiB, the line under the title the
 * growth and the shrink (which is not drawn). A profile with the
 * python/native/system split (prof_meta.classified) gives each frame its
 * samples' split (data-c="PYTHON,NATIVE,SYSTEM", and in the tooltip) and a
 * "By class" control: flamegraph.js then colours frames by class (?c=1).
 * Other profiles are written as before.
 *
 * Frames are formatted with a few appends to the shared output buffer
 * (writers/outbuf.h) instead of printf, which dominated the run time.
 * All numbers are printed from integers (hundredths), never with %f, so the
 * locale cannot turn a decimal point into a comma; output is deterministic.
 */
#include "writers/flamegraph.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/hashmap.h"
#include "util/xalloc.h"
#include "writers/outbuf.h"

/* Generated from src/writers/flamegraph.js by the Makefile ($(BUILD)/gen/). */
extern const char flamegraph_js[];
extern const size_t flamegraph_js_len;

#define NONE UINT32_MAX
#define PAD_X 10                /* left and right margin, px */
#define FRAME_H 16              /* row height, px (rect is one less) */
#define TOP 56                  /* y of the first row */
#define CHAR_W 7.3              /* estimated advance of the 12px monospace font */
#define TITLE_CHAR_W 9.7
#define TEXT_PAD 3              /* text starts this far into its rect */
#define TEXT_DY 11.5            /* baseline below the rect's top */
#define FRAME_RECT_H "15"       /* FRAME_H - 1 */
#define STR_(x) #x
#define STR(x) STR_(x)
#define LABEL_MAX 8192

struct label {
	char *str;              /* XML-safe UTF-8, not yet escaped */
	size_t len;             /* bytes */
	uint32_t rgb;
	uint32_t rank;          /* position in byte order among all labels */
};

struct node {
	uint32_t label;
	uint32_t parent, first_child, next_sibling;
	uint32_t depth;
	uint64_t n;             /* samples in this frame and below */
	uint64_t s;             /* samples left of it (its first sample offset) */
	uint64_t b;             /* a diff: the base profile's samples in this frame and below */
	uint64_t k;             /* samples in this frame and below (n is bytes with --memory) */
	uint64_t c[PROF_NCLASSES];      /* classified: k's python/native/system samples */
};

struct fg {
	const struct profile *p;
	struct label *labels;
	size_t nlabels, labels_cap;
	struct hashmap label_tab;
	uint32_t *frame_label;  /* frame id -> label id */

	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct hashmap child_tab;

	uint32_t *order;        /* kept nodes in pre-order */
	size_t norder;
	uint32_t max_depth;
	bool diff;              /* a differential profile: coloured by change */
	bool memory;            /* widths are bytes grown (prof_meta.memory, not a diff) */
	bool classified;        /* frames carry their samples' class split */
	double max_change;      /* a diff: the largest |change of share| of a kept frame */
};

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
	uint64_t h = hashmap_fnv(HASHMAP_FNV0, name, strlen(name));
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	uint32_t r = 205 + (uint32_t)(h & 0xff) * 50 / 255;
	uint32_t g = (uint32_t)((h >> 8) & 0xff) * 210 / 255;
	uint32_t b = (uint32_t)((h >> 16) & 0xff) * 60 / 255;
	return r << 16 | g << 8 | b;
}

/* Native frames (--native) in a cool palette (blues, aquas), so that C code
 * stands out from Python's warm colours. */
static uint32_t cool_colour(const char *name)
{
	uint32_t w = warm_colour(name);
	uint32_t r = (w >> 16) & 0xff, g = (w >> 8) & 0xff;
	return ((r - 205) * 80 / 50) << 16 | (120 + g * 100 / 210) << 8 | 220;
}

/* asyncio task frames (record --async) in violets, apart from both. */
static uint32_t task_colour(const char *name)
{
	uint32_t w = warm_colour(name);
	uint32_t g = (w >> 8) & 0xff;
	return (150 + (g - 80) * 60 / 130) << 16 | 110 << 8 | 220;
}

static uint32_t kind_colour(const char *fname, enum prof_frame_kind kind)
{
	return kind == PROF_FRAME_NATIVE ? cool_colour(fname)
	       : kind == PROF_FRAME_TASK ? task_colour(fname) : warm_colour(fname);
}

static uint32_t label_intern(struct fg *fg, const char *raw, const char *fname,
			     enum prof_frame_kind kind)
{
	size_t len;
	char *clean = xml_clean(raw, &len);
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&fg->label_tab, hashmap_fnv(HASHMAP_FNV0, clean, len), &pos);
	     id != HASHMAP_NONE; id = hashmap__next(&fg->label_tab, &pos)) {
		const struct label *l = &fg->labels[id];
		if (l->len == len && memcmp(l->str, clean, len) == 0) {
			free(clean);
			return id;
		}
	}
	uint32_t id = (uint32_t)fg->nlabels;
	fg->labels = xgrow(fg->labels, &fg->labels_cap, fg->nlabels + 1, sizeof(*fg->labels));
	fg->labels[id] = (struct label){ clean, len, kind_colour(fname, kind), 0 };
	fg->nlabels++;
	hashmap__insert(&fg->label_tab, &pos, id);
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
	hashmap__init(&fg->label_tab, 256);
	fg->frame_label = xmalloc((nf + 1) * sizeof(*fg->frame_label));
	label_intern(fg, "all", "all", PROF_FRAME_PYTHON);  /* label 0: the root */
	for (uint32_t id = 0; id < nf; id++) {
		const struct prof_frame *f = profile__frame_at(fg->p, id);
		profile_frame_label(f, full, buf, LABEL_MAX);
		fg->frame_label[id] = label_intern(fg, buf, f->name, f->kind);
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
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&fg->child_tab, child_hash(parent, label), &pos);
	     id != HASHMAP_NONE; id = hashmap__next(&fg->child_tab, &pos)) {
		const struct node *c = &fg->nodes[id];
		if (c->parent == parent && c->label == label)
			return id;
	}
	uint32_t id = (uint32_t)fg->nnodes;
	fg->nodes = xgrow(fg->nodes, &fg->nodes_cap, fg->nnodes + 1, sizeof(*fg->nodes));
	fg->nodes[id] = (struct node){ label, parent, NONE, NONE, 0, 0, 0, 0, 0, { 0 } };
	fg->nnodes++;
	hashmap__insert(&fg->child_tab, &pos, id);
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

/* A stack of weight w (samples, or bytes) is in the node's frame or below. */
static void node_add(struct node *nd, const struct prof_stack *st, uint64_t w)
{
	nd->n += w;
	nd->b += st->base;
	nd->k += st->count;
	for (int c = 0; c < PROF_NCLASSES; c++)
		nd->c[c] += st->cls[c];
}

static void tree_build(struct fg *fg, bool reverse)
{
	hashmap__init(&fg->child_tab, 1024);
	fg->nodes = xgrow(NULL, &fg->nodes_cap, 1, sizeof(*fg->nodes));
	fg->nodes[0] = (struct node){ 0, NONE, NONE, NONE, 0, 0, 0, 0, 0, { 0 } };
	fg->nnodes = 1;
	size_t ns = profile__nstacks(fg->p);
	for (uint32_t sid = 0; sid < ns; sid++) {
		const struct prof_stack *st = profile__stack_at(fg->p, sid);
		uint64_t w = prof_stack_weight(profile__meta(fg->p), st);
		if (!w && !(fg->diff && st->base))
			continue;
		uint32_t cur = 0;
		node_add(&fg->nodes[0], st, w);
		for (uint32_t k = 0; k < st->n; k++) {
			uint32_t fid = st->frames[reverse ? st->n - 1 - k : k];
			if (fid >= profile__nframes(fg->p))
				continue;
			cur = node_child(fg, cur, fg->frame_label[fid]);
			node_add(&fg->nodes[cur], st, w);
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
		/* (a diff's frames that only the base has are 0 wide: left out) */
		bool kept = nd->n && (double)nd->n * usable / (double)total >= min_width;
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

/* v rounded to the nearest integer, halves away from zero (no libm). */
static long long round_ll(double v)
{
	return v >= 0 ? (long long)(v + 0.5) : -(long long)(-v + 0.5);
}

/* v rounded to hundredths, without trailing zeros ("12", "12.5", "12.34"). */
static void out_num(struct outbuf *o, double v)
{
	long long c = round_ll(v * 100);
	if (c < 0) {
		outbuf__mem(o, "-", 1);
		c = -c;
	}
	outbuf__u64(o, (uint64_t)c / 100);
	int frac = (int)(c % 100);
	if (frac) {
		char t[3] = { '.', (char)('0' + frac / 10), (char)('0' + frac % 10) };
		outbuf__mem(o, t, frac % 10 ? 3 : 2);
	}
}

/* part/total as a percentage with exactly two decimals ("12.50"). */
static void out_pct(struct outbuf *o, uint64_t part, uint64_t total)
{
	uint64_t c = total ? (uint64_t)round_ll((double)part * 10000.0 / (double)total) : 0;
	outbuf__u64(o, c / 100);
	char t[3] = { '.', (char)('0' + c % 100 / 10), (char)('0' + c % 10) };
	outbuf__mem(o, t, 3);
}

/* s (len bytes of XML-safe UTF-8) escaped for both text and attributes. */
static void out_escaped(struct outbuf *o, const char *s, size_t len)
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
		outbuf__mem(o, s + start, i - start);
		outbuf__str(o, rep);
		start = i + 1;
	}
	outbuf__mem(o, s + start, len - start);
}

/* The first code points of s that fit in `width` px at char_w px each, with
 * ".." at the end if s had to be cut, or nothing if not even 3 fit. Returns
 * the byte length to print and sets *dots. */
static size_t trim_len(const char *s, size_t len, double width, double char_w, bool *dots)
{
	double fit = width / char_w;
	size_t max = fit > 0 ? (size_t)fit : 0;    /* floor */
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

static void out_trimmed(struct outbuf *o, const char *s, size_t len, double width, double char_w)
{
	bool dots;
	size_t n = trim_len(s, len, width, char_w, &dots);
	out_escaped(o, s, n);
	if (dots)
		outbuf__mem(o, "..", 2);
}

/* data as the content of a CDATA section, split wherever "]]>" occurs. */
static void out_cdata(struct outbuf *o, const char *data, size_t len)
{
	outbuf__str(o, "<![CDATA[");
	size_t start = 0;
	for (size_t i = 0; i + 2 < len; i++) {
		if (data[i] == ']' && data[i + 1] == ']' && data[i + 2] == '>') {
			outbuf__mem(o, data + start, i + 2 - start);
			outbuf__str(o, "]]><![CDATA[");
			start = i + 2;
		}
	}
	outbuf__mem(o, data + start, len - start);
	outbuf__str(o, "]]>");
}

static const char STYLE[] =
	"text { font-family: monospace; font-size: 12px; fill: #000; }\n"
	"#title { font-size: 16px; text-anchor: middle; }\n"
	"#search, #matched, #case { text-anchor: end; }\n"
	"#subtitle { text-anchor: middle; fill: #444; }\n"
	"#reset, #search, #case { cursor: pointer; fill: #1f4e9e; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames text { pointer-events: none; }\n"
	"#frames g:hover rect { stroke: #000; stroke-width: 0.5; }\n";

/* v with exactly two decimals ("2.50"), from integers. */
static void out_fixed2(struct outbuf *o, double v)
{
	uint64_t c = v > 0 ? (uint64_t)round_ll(v * 100) : 0;
	outbuf__u64(o, c / 100);
	char t[3] = { '.', (char)('0' + c % 100 / 10), (char)('0' + c % 10) };
	outbuf__mem(o, t, 3);
}

/* The line under the title: how long, how fast, how many samples -- the
 * ticks (reads of a process) and the thread samples the frames count, named
 * apart. The rate is the measured one (profile_sample_rate), with the
 * requested one beside it when they differ by more than 1 %. */
static void write_subtitle(struct outbuf *out, const struct prof_meta *m, uint64_t total, double cx)
{
	outbuf__str(out, "<text id=\"subtitle\" x=\"");
	out_num(out, cx);
	outbuf__str(out, "\" y=\"44\">");
	if (m->duration_ns) {
		outbuf__str(out, "Duration: ");
		out_fixed2(out, (double)m->duration_ns / 1e9);
		outbuf__str(out, " s, ");
	}
	double rate = profile_sample_rate(m);
	if (rate > 0) {
		outbuf__str(out, "Rate: ");
		outbuf__u64(out, (uint64_t)round_ll(rate));
		outbuf__str(out, " Hz");
		if (m->ticks && m->rate_hz > 0 && (rate < m->rate_hz * 0.99 || rate > m->rate_hz * 1.01)) {
			outbuf__str(out, " (");
			outbuf__u64(out, (uint64_t)round_ll(m->rate_hz));
			outbuf__str(out, " Hz requested)");
		}
		outbuf__str(out, ", ");
	}
	outbuf__str(out, "Samples: ");
	outbuf__u64(out, m->samples);
	outbuf__str(out, m->samples == 1 ? " tick, " : " ticks, ");
	outbuf__u64(out, total);
	outbuf__str(out, total == 1 ? " thread sample</text>\n" : " thread samples</text>\n");
}

/* bytes as MiB with two decimals ("200.00 MiB"). */
static void out_mib(struct outbuf *o, uint64_t bytes)
{
	out_fixed2(o, (double)bytes / (1024.0 * 1024.0));
	outbuf__str(o, " MiB");
}

/* A --memory profile's line under the title: the growth the widths show,
 * the shrink apart (not drawn), and the samples they came with. */
static void write_memory_subtitle(struct outbuf *out, const struct profile *p, uint64_t samples,
				  double cx)
{
	uint64_t grow, shrink;
	profile__memory_total(p, &grow, &shrink);
	outbuf__str(out, "<text id=\"subtitle\" x=\"");
	out_num(out, cx);
	outbuf__str(out, "\" y=\"44\">Memory grown: ");
	out_mib(out, grow);
	outbuf__str(out, ", shrunk: ");
	out_mib(out, shrink);
	outbuf__str(out, " (not drawn), ");
	outbuf__u64(out, samples);
	outbuf__str(out, samples == 1 ? " thread sample</text>\n" : " thread samples</text>\n");
}

/* ---- differential colours (cspy diff) ---- */

/* Below this largest change (1 % of the samples) colours are not stretched
 * further: noise between two runs of the same program stays pale. */
#define DIFF_MIN_SCALE 0.01
#define DIFF_NEUTRAL 0xe6e6e6   /* no change */
#define DIFF_GROW 0xd73027      /* the largest growth: red */
#define DIFF_SHRINK 0x4575b4    /* the largest shrink: blue */

/* The change of a frame's share: NEW's samples over NEW's total minus
 * BASE's over BASE's total, so runs of different lengths compare. */
static double node_change(const struct fg *fg, const struct node *nd)
{
	const struct node *r = &fg->nodes[0];
	double sn = r->n ? (double)nd->n / (double)r->n : 0;
	double sb = r->b ? (double)nd->b / (double)r->b : 0;
	return sn - sb;
}

/* The scale of the colours: the largest |change| of a kept frame. */
static void diff_scale(struct fg *fg)
{
	fg->max_change = DIFF_MIN_SCALE;
	for (size_t i = 1; i < fg->norder; i++) {
		double c = node_change(fg, &fg->nodes[fg->order[i]]);
		if (c < 0)
			c = -c;
		if (c > fg->max_change)
			fg->max_change = c;
	}
}

/* From grey towards red (growth) or blue (shrink), by |change| / scale. */
static uint32_t diff_colour(double change, double scale)
{
	double t = (change < 0 ? -change : change) / scale;
	if (t > 1)
		t = 1;
	uint32_t to = change < 0 ? DIFF_SHRINK : DIFF_GROW, rgb = 0;
	for (int sh = 16; sh >= 0; sh -= 8) {
		double a = (DIFF_NEUTRAL >> sh) & 0xff, b = (to >> sh) & 0xff;
		rgb |= (uint32_t)round_ll(a + (b - a) * t) << sh;
	}
	return rgb;
}

/* A signed percentage with two decimals ("+12.50", "-0.25", "0.00"). */
static void out_signed_pct(struct outbuf *o, double v)
{
	long long c = round_ll(v * 100);
	if (c)
		outbuf__mem(o, c < 0 ? "-" : "+", 1);
	uint64_t m = (uint64_t)(c < 0 ? -c : c);
	outbuf__u64(o, m / 100);
	char t[3] = { '.', (char)('0' + m % 100 / 10), (char)('0' + m % 10) };
	outbuf__mem(o, t, 3);
}

/* A diff's line under the title: both totals and what the colours mean. */
static void write_diff_subtitle(struct outbuf *out, uint64_t base, uint64_t total, double cx)
{
	outbuf__str(out, "<text id=\"subtitle\" x=\"");
	out_num(out, cx);
	outbuf__str(out, "\" y=\"44\">Differential: base ");
	outbuf__u64(out, base);
	outbuf__str(out, ", new ");
	outbuf__u64(out, total);
	outbuf__str(out, " thread samples; widths: new; red grew, blue shrank "
		"(share of each one's samples)</text>\n");
}

static void write_frame(struct outbuf *out, const struct fg *fg, uint32_t id,
			const struct flamegraph_opts *o, double usable)
{
	const struct node *nd = &fg->nodes[id];
	const struct label *l = &fg->labels[nd->label];
	uint64_t total = fg->nodes[0].n;
	double x = PAD_X + (double)nd->s * usable / (double)total;
	double w = (double)nd->n * usable / (double)total;
	uint32_t row = o->icicle ? nd->depth : fg->max_depth - nd->depth;
	double y = TOP + (double)row * FRAME_H;
	uint32_t rgb = id == 0 ? 0xd8d8d8 : l->rgb;
	if (fg->diff && id != 0)
		rgb = diff_colour(node_change(fg, nd), fg->max_change);

	outbuf__str(out, "<g data-s=\"");
	outbuf__u64(out, nd->s);
	outbuf__str(out, "\" data-n=\"");
	outbuf__u64(out, nd->n);
	if (fg->diff) {
		outbuf__str(out, "\" data-b=\"");
		outbuf__u64(out, nd->b);
	}
	if (fg->classified && fg->memory) {      /* the samples the split is of */
		outbuf__str(out, "\" data-k=\"");
		outbuf__u64(out, nd->k);
	}
	if (fg->classified) {
		outbuf__str(out, "\" data-c=\"");
		for (int c = 0; c < PROF_NCLASSES; c++) {
			if (c)
				outbuf__mem(out, ",", 1);
			outbuf__u64(out, nd->c[c]);
		}
	}
	outbuf__str(out, "\"><title>");
	out_escaped(out, l->str, l->len);
	outbuf__str(out, " (");
	outbuf__u64(out, nd->n);
	if (fg->memory) {
		outbuf__str(out, nd->n == 1 ? " byte = " : " bytes = ");
		out_mib(out, nd->n);
		outbuf__str(out, ", ");
	} else {
		outbuf__str(out, nd->n == 1 ? " sample, " : " samples, ");
	}
	out_pct(out, nd->n, total);
	if (fg->classified && nd->k) {  /* the split of its samples */
		for (int c = 0; c < PROF_NCLASSES; c++) {
			outbuf__str(out, c ? "% " : "%; ");
			outbuf__str(out, profile_class_name((enum prof_class)c));
			outbuf__mem(out, " ", 1);
			out_pct(out, nd->c[c], nd->k);
		}
	}
	if (fg->diff) {         /* both counts and shares, and the change */
		outbuf__str(out, "%; base ");
		outbuf__u64(out, nd->b);
		outbuf__str(out, nd->b == 1 ? " sample, " : " samples, ");
		out_pct(out, nd->b, fg->nodes[0].b);
		outbuf__str(out, "%; change ");
		out_signed_pct(out, node_change(fg, nd) * 100);
	}
	outbuf__str(out, "%)</title><rect x=\"");
	out_num(out, x);
	outbuf__str(out, "\" y=\"");
	out_num(out, y);
	outbuf__str(out, "\" width=\"");
	out_num(out, w);
	outbuf__str(out, "\" height=\"" FRAME_RECT_H "\" fill=\"rgb(");
	outbuf__u64(out, rgb >> 16);
	outbuf__mem(out, ",", 1);
	outbuf__u64(out, (rgb >> 8) & 0xff);
	outbuf__mem(out, ",", 1);
	outbuf__u64(out, rgb & 0xff);
	outbuf__str(out, ")\"/><text x=\"");
	out_num(out, x + TEXT_PAD);
	outbuf__str(out, "\" y=\"");
	out_num(out, y + TEXT_DY);
	outbuf__str(out, "\">");
	out_trimmed(out, l->str, l->len, w - 2 * TEXT_PAD, CHAR_W);
	outbuf__str(out, "</text></g>\n");
}

static void fg_free(struct fg *fg)
{
	for (size_t i = 0; i < fg->nlabels; i++)
		free(fg->labels[i].str);
	free(fg->labels);
	hashmap__fini(&fg->label_tab);
	free(fg->frame_label);
	free(fg->nodes);
	hashmap__fini(&fg->child_tab);
	free(fg->order);
}

int flamegraph_write(FILE *f, const struct profile *p, const struct flamegraph_opts *opts)
{
	struct flamegraph_opts o = opts ? *opts : FLAMEGRAPH_OPTS_DEFAULT;
	if (o.width < 100 || o.width > 1000000 || !(o.min_width >= 0))
		return -EINVAL;
	const struct prof_meta *meta = profile__meta(p);
	const char *title = o.title;
	if (!title)
		title = meta->title && meta->title[0] ? meta->title : meta->command_line;
	if (!title || !title[0])
		title = "Flame Graph";
	double usable = o.width - 2 * PAD_X;

	struct fg fg = { .p = p, .diff = meta->diff, .memory = meta->memory && !meta->diff,
			 .classified = meta->classified };
	labels_build(&fg, o.full_filenames);
	tree_build(&fg, o.reverse);
	uint64_t total = fg.nodes[0].n;
	if (total)
		layout(&fg, usable, o.min_width);
	if (fg.diff)
		diff_scale(&fg);

	size_t tlen;
	char *mtitle = fg.memory ? xasprintf("Memory growth: %s", title) : NULL;
	char *ctitle = xml_clean(mtitle ? mtitle : title, &tlen);
	free(mtitle);
	uint32_t rows = fg.norder ? fg.max_depth + 1 : 2;
	uint64_t bottom = TOP + (uint64_t)rows * FRAME_H + 18;
	uint64_t height = bottom + 10, width = (uint64_t)o.width;
	struct outbuf *out = xmalloc(sizeof(*out));
	outbuf__init(out, f);

	outbuf__str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"");
	outbuf__u64(out, width);
	outbuf__str(out, "\" height=\"");
	outbuf__u64(out, height);
	outbuf__str(out, "\" viewBox=\"0 0 ");
	outbuf__u64(out, width);
	outbuf__str(out, " ");
	outbuf__u64(out, height);
	outbuf__str(out, "\">\n<!-- Flame graph written by cspy. Click a frame to zoom, Ctrl-F to search. -->\n"
		"<title>");
	out_escaped(out, ctitle, tlen);
	outbuf__str(out, "</title>\n<style>");
	out_cdata(out, STYLE, sizeof(STYLE) - 1);
	outbuf__str(out, "</style>\n<rect x=\"0\" y=\"0\" width=\"");
	outbuf__u64(out, width);
	outbuf__str(out, "\" height=\"");
	outbuf__u64(out, height);
	outbuf__str(out, "\" fill=\"#f6f6ee\" id=\"background\"/>\n<text id=\"title\" x=\"");
	out_num(out, o.width / 2.0);
	outbuf__str(out, "\" y=\"24\">");
	out_trimmed(out, ctitle, tlen, usable, TITLE_CHAR_W);
	outbuf__str(out, "</text>\n<text id=\"reset\" x=\"" STR(PAD_X) "\" y=\"44\" style=\"display:none\">Reset Zoom</text>\n"
		"<text id=\"search\" x=\"");
	outbuf__u64(out, width - PAD_X);
	outbuf__str(out, "\" y=\"44\">Search</text>\n<text id=\"case\" x=\"");
	out_num(out, width - PAD_X - 9 * CHAR_W);
	outbuf__str(out, "\" y=\"44\">[ ] Ignore Case</text>\n");
	if (fg.classified) {    /* flamegraph.js: colour by class */
		outbuf__str(out, "<text id=\"classes\" x=\"");
		out_num(out, width - PAD_X - 27 * CHAR_W);
		outbuf__str(out, "\" y=\"44\" style=\"text-anchor:end;cursor:pointer;fill:#1f4e9e\">"
			"[ ] By class</text>\n");
	}
	if (fg.diff)
		write_diff_subtitle(out, fg.nodes[0].b, total, o.width / 2.0);
	else if (fg.memory)
		write_memory_subtitle(out, p, fg.nodes[0].k, o.width / 2.0);
	else
		write_subtitle(out, meta, total, o.width / 2.0);
	outbuf__str(out, "<text id=\"details\" x=\"" STR(PAD_X) "\" y=\"");
	outbuf__u64(out, bottom);
	outbuf__str(out, "\"> </text>\n<text id=\"matched\" x=\"");
	outbuf__u64(out, width - PAD_X);
	outbuf__str(out, "\" y=\"");
	outbuf__u64(out, bottom);
	outbuf__str(out, "\"> </text>\n");
	if (!total) {
		outbuf__str(out, "<text id=\"empty\" x=\"");
		out_num(out, o.width / 2.0);
		outbuf__str(out, "\" y=\"" STR(TOP) "\" dy=\"" STR(FRAME_H) "\" text-anchor=\"middle\">");
		outbuf__str(out, fg.memory ? "No memory growth was recorded.</text>\n"
				: "No samples were collected.</text>\n");
	}
	outbuf__str(out, "<g id=\"frames\">\n");
	for (size_t i = 0; i < fg.norder; i++)
		write_frame(out, &fg, fg.order[i], &o, usable);
	outbuf__str(out, "</g>\n<script type=\"text/ecmascript\">");
	out_cdata(out, flamegraph_js, flamegraph_js_len);
	outbuf__str(out, "</script>\n</svg>\n");
	outbuf__flush(out);
	int err = out->err;
	free(out);

	free(ctitle);
	fg_free(&fg);
	/* Flush so that an error of the last buffered bytes is seen here too. */
	if (err || fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}
