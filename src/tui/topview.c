/* SPDX-License-Identifier: MIT
 *
 * Rendering the top screen into lines (see topview.h). Every line is first
 * formatted in full, then passed through one function that replaces
 * control characters and malformed UTF-8 (util/termsafe.h) with '?' and
 * cuts it to the width in display columns (a small built-in table of wide and zero-width code
 * points, so that the result does not depend on the locale). The height is
 * shared out in a fixed order: header, then the table's title, the locals
 * pane (up to half of what is left), the rows, and the last line (hints or
 * a message); on a tiny screen the header is cut and the last line kept.
 *
 * With the python/native/system split (prof_meta.classified, or classified
 * samples met by the model: topmodel__classified) the header has the view's split and the table three
 * columns, %Py %Nat %Sys of each row's own samples; with --memory
 * (prof_meta.memory) the header has the bytes grown and shrunk and the
 * table MemOwn and MemTotal (bytes grown, keys 5 and 6 sort by them).
 */
#include "tui/topview.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/termsafe.h"
#include "util/xalloc.h"

#define LABEL_MAX 4096

static const char *const sort_names[] = {
	[TOP_SORT_OWN] = "%Own", [TOP_SORT_TOTAL] = "%Total",
	[TOP_SORT_OWN_TIME] = "OwnTime", [TOP_SORT_TOTAL_TIME] = "TotalTime",
	[TOP_SORT_MEM_OWN] = "MemOwn", [TOP_SORT_MEM_TOTAL] = "MemTotal",
};

static const char *const help_text[] = {
	"Keys:",
	"  1 2 3 4    sort by %Own, %Total, OwnTime, TotalTime",
	"  L          aggregate by line / by function",
	"  t / T      next / previous thread: all, each live thread, then the",
	"             exited threads (when they have samples since the reset)",
	"  A          all threads again",
	"  R          reset the statistics",
	"  space      pause / resume the display (sampling goes on)",
	"  ?          show / hide this help",
	"  q, Ctrl-C  quit",
	"",
	"%Own: the function (line) was running: the leaf of the stack.",
	"%Total: it was anywhere in the stack (recursion counted once).",
	"Percentages are of the samples of the threads shown. A sample stands",
	"for the wall time since the reset divided by the sampling ticks in it",
	"(1/rate when sampling keeps up): times are samples x that, in seconds.",
	"%Py %Nat %Sys: of the own samples, running bytecode (python), in C code",
	"(native) or in the kernel (system).",
	"MemOwn, MemTotal (--memory; keys 5, 6 sort): resident memory grown while",
	"the line was the leaf / anywhere in the stack (per sampling interval).",
	"",
	"Press any key to close this help.",
};

static const char HINTS[] =
	"Keys: 1-4 sort  L line/fn  t/T thread  A all  R reset  spc pause  ? help  q quit";
static const char HINTS_MEMORY[] =
	"Keys: 1-6 sort  L line/fn  t/T thread  A all  R reset  spc pause  ? help  q quit";

/* The columns of this view. */
static bool show_classes(const struct topmodel *m, const struct profile *p)
{
	return profile__meta(p)->classified || topmodel__classified(m);
}

static bool show_memory(const struct profile *p)
{
	return profile__meta(p)->memory && !profile__meta(p)->diff;
}

/* bytes in at most 7 columns: "512B", "1.5K", "200.0M", "12.3G". */
static void fmt_bytes(char *b, size_t n, uint64_t v)
{
	static const char units[] = "BKMGTPE";
	double d = (double)v;
	int u = 0;
	while (d >= 1024 && u < 6) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(b, n, "%lluB", (unsigned long long)v);
	else
		snprintf(b, n, d < 100 ? "%.1f%c" : "%.0f%c", d, units[u]);
}

static int cp_width(long cp)
{
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0xe0100 && cp <= 0xe01ef))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f680 && cp <= 0x1f6ff) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x1fa70 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

size_t topview_width(const char *s)
{
	size_t w = 0, len;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += len) {
		long cp = termsafe_utf8_next(p, &len);
		w += termsafe_is_control(cp) ? 1 : (size_t)cp_width(cp);
	}
	return w;
}

/* A safe copy of s, at most width columns (width <= 0: all), padded with
 * spaces to the width when pad. */
static char *safe_cut(const char *s, int width, bool pad)
{
	size_t n = strlen(s);
	char *out = xmalloc(n + (width > 0 ? (size_t)width : 0) + 1);
	size_t o = 0, w = 0, len;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += len) {
		long cp = termsafe_utf8_next(p, &len);
		int cw = termsafe_is_control(cp) ? 1 : cp_width(cp);
		if (width > 0 && w + (size_t)cw > (size_t)width)
			break;
		if (termsafe_is_control(cp)) {
			out[o++] = '?';
		} else {
			memcpy(out + o, p, len);
			o += len;
		}
		w += (size_t)cw;
	}
	while (pad && width > 0 && w < (size_t)width) {
		out[o++] = ' ';
		w++;
	}
	out[o] = '\0';
	return out;
}

struct ctx {
	struct topview *v;
	const struct topview_opts *o;
	const struct profile *p;
};

static void add(struct ctx *c, enum term_style style, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(struct ctx *c, enum term_style style, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *raw = xvasprintf(fmt, ap);
	va_end(ap);
	struct topview *v = c->v;
	v->lines = xgrow(v->lines, &v->cap, v->n + 1, sizeof(*v->lines));
	v->lines[v->n].text = safe_cut(raw, c->o->width, style == TERM_TITLE);
	v->lines[v->n].style = style;
	v->n++;
	free(raw);
}

void topview__release(struct topview *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->lines[i].text);
	free(v->lines);
	v->lines = NULL;
	v->n = v->cap = 0;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* A safe copy of s in at most max columns: when longer, its middle is
 * replaced by "..." (the program and the end of its arguments stay). */
static char *elide(const char *s, size_t max)
{
	char *safe = safe_cut(s, 0, false);
	size_t w = topview_width(safe);
	if (w <= max || max < 5)
		return safe;
	size_t n = strlen(safe), ncp = 0, len;
	size_t *off = xmalloc((n + 1) * sizeof(*off));
	int *cw = xmalloc((n + 1) * sizeof(*cw));
	for (size_t o = 0; o < n; o += len) {
		long cp = termsafe_utf8_next((const unsigned char *)safe + o, &len);
		off[ncp] = o;
		cw[ncp++] = cp_width(cp);
	}
	off[ncp] = n;
	size_t budget = max - 3, head_w = 0, tail_w = 0, head = 0, tail = ncp;
	while (head < ncp && head_w + (size_t)cw[head] <= (budget + 1) / 2)
		head_w += (size_t)cw[head++];
	while (tail > head && head_w + tail_w + (size_t)cw[tail - 1] <= budget)
		tail_w += (size_t)cw[--tail];
	char *out = xasprintf("%.*s...%s", (int)off[head], safe, safe + off[tail]);
	free(off);
	free(cw);
	free(safe);
	return out;
}

static void header(struct ctx *c, const struct top_header *h, const struct topmodel *m)
{
	char version[64] = "";
	if (h->python_version && h->python_version[0])
		snprintf(version, sizeof(version), " (python v%s)", h->python_version);
	/* Shorten the command line rather than lose the version. */
	size_t fixed = strlen("Collecting samples from ''") + strlen(version);
	char *cmd = elide(h->cmdline, c->o->width > 0 && (size_t)c->o->width > fixed
				      ? (size_t)c->o->width - fixed : SIZE_MAX);
	add(c, TERM_BOLD, "Collecting samples from '%s'%s", cmd, version);
	free(cmd);
	if (h->timestamp)
		add(c, TERM_PLAIN, "Time: %s", h->timestamp);
	uint64_t reads = h->samples + h->errors;
	double err = pct(h->errors, reads);
	char mode[48] = "";
	if (h->mode)
		snprintf(mode, sizeof(mode), ", Mode: %s", h->mode);
	if (err > 1.0)
		add(c, TERM_PLAIN, "Total Samples %llu, Errors: %.1f%%%s", (unsigned long long)h->samples,
		    err, mode);
	else
		add(c, TERM_PLAIN, "Total Samples %llu%s", (unsigned long long)h->samples, mode);
	char procs[32] = "";
	if (h->show_processes)
		snprintf(procs, sizeof(procs), ", Processes: %d", h->processes);
	/* A free-threaded interpreter without a GIL has no holder: say so
	 * rather than show 0 %. */
	char gil[64];
	if (h->processes > 0 && h->nogil_processes >= h->processes)
		snprintf(gil, sizeof(gil), "none (free-threaded)");
	else if (h->nogil_processes > 0)
		snprintf(gil, sizeof(gil), "%.2f%% (%d process%s without one)",
			 pct(h->gil_samples, h->samples), h->nogil_processes,
			 h->nogil_processes == 1 ? "" : "es");
	else
		snprintf(gil, sizeof(gil), "%.2f%%", pct(h->gil_samples, h->samples));
	add(c, TERM_PLAIN, "GIL: %s, Active: %.2f%%, Threads: %d%s", gil,
	    pct(h->active_samples, h->thread_samples), h->threads, procs);
	if (show_classes(m, c->p)) {    /* the view's split, of the samples shown */
		uint64_t n = topmodel__samples(m);
		add(c, TERM_PLAIN, "Split: python %.2f%%, native %.2f%%, system %.2f%% (of %llu samples)",
		    pct(topmodel__class_samples(m, PROF_CLASS_PYTHON), n),
		    pct(topmodel__class_samples(m, PROF_CLASS_NATIVE), n),
		    pct(topmodel__class_samples(m, PROF_CLASS_SYSTEM), n), (unsigned long long)n);
	}
	if (show_memory(c->p)) {
		uint64_t grow, shrink;
		char g[32], s[32];
		topmodel__memory(m, &grow, &shrink);
		fmt_bytes(g, sizeof(g), grow);
		fmt_bytes(s, sizeof(s), shrink);
		add(c, TERM_PLAIN, "Memory: grown %s (%llu bytes), shrunk %s (%llu bytes)", g,
		    (unsigned long long)grow, s, (unsigned long long)shrink);
	}
	add(c, h->paused ? TERM_NOTE : TERM_PLAIN, "Thread: %s   Sort: %s   View: by %s%s",
	    h->thread_label ? h->thread_label : "all", sort_names[topmodel__sort_key(m)],
	    topmodel__by_line(m) ? "line" : "function", h->paused ? "   PAUSED" : "");
	add(c, TERM_PLAIN, "%s", "");
}

static void row(struct ctx *c, const struct top_row *r, const struct top_header *h,
		const struct topmodel *m, const struct profile *p, char *label)
{
	struct prof_frame f = *profile__frame_at(p, r->frame);
	if (!topmodel__by_line(m))
		f.line = -1;
	profile_frame_label(&f, c->o->full_filenames, label, LABEL_MAX);
	uint64_t n = topmodel__samples(m);
	double per = h->sample_s > 0 ? h->sample_s : 1;
	char cls[32] = "", mem[40] = "";
	if (show_classes(m, p) && r->own)
		snprintf(cls, sizeof(cls), " %4.0f%% %4.0f%% %4.0f%%", pct(r->cls[0], r->own),
			 pct(r->cls[1], r->own), pct(r->cls[2], r->own));
	else if (show_classes(m, p))    /* no own samples: nothing to split */
		snprintf(cls, sizeof(cls), " %5s %5s %5s", "-", "-", "-");
	if (show_memory(p)) {
		char a[16], b[16];
		fmt_bytes(a, sizeof(a), r->mem_own);
		fmt_bytes(b, sizeof(b), r->mem_total);
		snprintf(mem, sizeof(mem), " %7s %8s", a, b);
	}
	add(c, TERM_PLAIN, "%6.2f%% %7.2f%% %8.2fs %9.2fs%s%s  %s", pct(r->own, n), pct(r->total, n),
	    (double)r->own * per, (double)r->total * per, cls, mem, label);
}

void topview__render(struct topview *v, const struct top_header *h, const struct topmodel *m,
		     const struct profile *p, const struct topview_opts *o)
{
	topview__release(v);
	struct ctx c = { .v = v, .o = o, .p = p };
	bool bounded = o->height > 0;
	const char *footer = h->message ? h->message : o->hints ? show_memory(p) ? HINTS_MEMORY : HINTS
			     : NULL;
	size_t nfooter = footer ? 1 : 0;

	header(&c, h, m);
	size_t nhead = v->n;
	if (bounded && nhead + nfooter > (size_t)o->height) {
		/* Tiny screen: as much header as fits, and the last line. */
		size_t keep = (size_t)o->height > nfooter ? (size_t)o->height - nfooter : 0;
		while (v->n > keep)
			free(v->lines[--v->n].text);
		if (footer && o->height > 0)
			add(&c, h->message ? TERM_NOTE : TERM_PLAIN, "%s", footer);
		return;
	}
	size_t avail = bounded ? (size_t)o->height - nhead - nfooter : SIZE_MAX;

	if (h->help) {
		size_t nhelp = sizeof(help_text) / sizeof(help_text[0]);
		for (size_t i = 0; i < nhelp && i < avail; i++)
			add(&c, TERM_PLAIN, "%s", help_text[i]);
	} else if (avail > 0) {
		add(&c, TERM_TITLE, "%7s %8s %9s %10s%s%s  %s", "%Own", "%Total", "OwnTime", "TotalTime",
		    show_classes(m, p) ? "   %Py  %Nat  %Sys" : "", show_memory(p) ? "  MemOwn MemTotal" : "",
		    topmodel__by_line(m) ? "Function (filename:line)" : "Function (filename)");
		avail = bounded ? avail - 1 : avail;
		size_t pane = h->npane ? h->npane + 2 : 0;     /* blank line, title, lines */
		if (bounded && pane > avail / 2)
			pane = avail >= 6 ? avail / 2 : 0;
		size_t rows_space = bounded ? avail - pane : SIZE_MAX;
		size_t nrows = topmodel__nrows(m), shown = nrows;
		if (!bounded && o->max_rows && shown > o->max_rows)
			shown = o->max_rows;
		if (shown > rows_space)
			shown = rows_space;
		char *label = xmalloc(LABEL_MAX);
		const struct top_row *rows = topmodel__rows(m);
		for (size_t i = 0; i < shown; i++)
			row(&c, &rows[i], h, m, p, label);
		free(label);
		if (!bounded && shown < nrows)
			add(&c, TERM_PLAIN, "... %zu more rows", nrows - shown);
		if (nrows == 0 && rows_space > 0)
			add(&c, TERM_PLAIN, "(no samples)");
		/* The pane starts at the bottom of the screen's table area. */
		if (pane && bounded)
			while (v->n < nhead + 1 + rows_space)
				add(&c, TERM_PLAIN, "%s", "");
		if (pane) {
			add(&c, TERM_PLAIN, "%s", "");
			add(&c, TERM_BOLD, "%s", h->pane_title ? h->pane_title : "");
			for (size_t i = 0; i + 2 < pane && i < h->npane; i++)
				add(&c, TERM_PLAIN, "%s", h->pane[i]);
		}
	}
	if (footer) {
		if (bounded)
			while (v->n + 1 < (size_t)o->height)
				add(&c, TERM_PLAIN, "%s", "");
		add(&c, h->message ? TERM_NOTE : TERM_PLAIN, "%s", footer);
	}
}

int topview__write(const struct topview *v, FILE *f)
{
	for (size_t i = 0; i < v->n; i++)
		if (fputs(v->lines[i].text, f) == EOF || fputc('\n', f) == EOF)
			return -EIO;
	return 0;
}
