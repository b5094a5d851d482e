/* SPDX-License-Identifier: MIT
 *
 * Collapsed-stack writer (see collapsed.h). Each frame's label is built once
 * and made safe for the format; each non-empty stack then becomes its line
 * text in one growing buffer. The lines are sorted by their bytes, runs of
 * equal text (the same stack seen in several threads) are merged by adding
 * their counts, and the result is written with every write checked. A
 * differential profile (cspy diff) gets its base count before the count.
 * A --memory profile (prof_meta.memory) counts bytes grown instead of
 * samples (prof_stack_weight); a stack that grew nothing has no line.
 */
#include "writers/collapsed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agg/profile.h"
#include "util/xalloc.h"

struct line {
	const char *s;
	size_t len;
	uint64_t count;
	uint64_t base;          /* a diff's base count */
};

/* The label of frame f with ';' -> ':' and line breaks -> ' '; heap string. */
static char *safe_label(const struct prof_frame *f, bool full)
{
	const char *file = full ? f->filename : f->short_filename;
	size_t cap = strlen(f->name) + strlen(file) + 32;
	char *s = xmalloc(cap);
	profile_frame_label(f, full, s, cap);
	for (char *c = s; *c; c++) {
		if (*c == ';')
			*c = ':';
		else if (*c == '\n' || *c == '\r')
			*c = ' ';
	}
	return s;
}

static int cmp_line(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

int collapsed_write(FILE *f, const struct profile *p, const struct collapsed_opts *o)
{
	struct collapsed_opts def = COLLAPSED_OPTS_DEFAULT;
	if (!o)
		o = &def;
	size_t nframes = profile__nframes(p), nstacks = profile__nstacks(p);
	const struct prof_meta *meta = profile__meta(p);
	bool diff = meta->diff;
	char **label = xcalloc(nframes ? nframes : 1, sizeof(*label));
	size_t *label_len = xcalloc(nframes ? nframes : 1, sizeof(*label_len));
	for (uint32_t i = 0; i < nframes; i++) {
		label[i] = safe_label(profile__frame_at(p, i), o->full_filenames);
		label_len[i] = strlen(label[i]);
	}

	/* Line texts go into buf; offsets first, pointers once buf stops moving. */
	char *buf = NULL;
	size_t buf_n = 0, buf_cap = 0, nlines = 0;
	struct line *lines = xcalloc(nstacks ? nstacks : 1, sizeof(*lines));
	size_t *off = xcalloc(nstacks ? nstacks : 1, sizeof(*off));
	for (uint32_t i = 0; i < nstacks; i++) {
		const struct prof_stack *st = profile__stack_at(p, i);
		uint64_t weight = prof_stack_weight(meta, st);
		if (!st->n || (!weight && !(diff && st->base)))
			continue;
		size_t need = 0;
		for (uint32_t k = 0; k < st->n; k++)
			need += label_len[st->frames[k]] + 1;
		buf = xgrow(buf, &buf_cap, buf_n + need, 1);
		off[nlines] = buf_n;
		for (uint32_t k = 0; k < st->n; k++) {
			if (k)
				buf[buf_n++] = ';';
			memcpy(buf + buf_n, label[st->frames[k]], label_len[st->frames[k]]);
			buf_n += label_len[st->frames[k]];
		}
		lines[nlines].len = buf_n - off[nlines];
		lines[nlines].count = weight;
		lines[nlines].base = st->base;
		nlines++;
	}
	for (size_t i = 0; i < nlines; i++)
		lines[i].s = buf + off[i];
	qsort(lines, nlines, sizeof(*lines), cmp_line);

	int err = 0;
	for (size_t i = 0; i < nlines && !err;) {
		uint64_t count = lines[i].count, base = lines[i].base;
		size_t j = i + 1;
		for (; j < nlines && cmp_line(&lines[i], &lines[j]) == 0; j++) {
			count += lines[j].count;
			base += lines[j].base;
		}
		if (fwrite(lines[i].s, 1, lines[i].len, f) != lines[i].len)
			err = -EIO;
		else if (diff && fprintf(f, " %" PRIu64 " %" PRIu64 "\n", base, count) < 0)
			err = -EIO;
		else if (!diff && fprintf(f, " %" PRIu64 "\n", count) < 0)
			err = -EIO;
		i = j;
	}
	if (fflush(f) != 0 || ferror(f))
		err = -EIO;

	for (size_t i = 0; i < nframes; i++)
		free(label[i]);
	free(label);
	free(label_len);
	free(lines);
	free(off);
	free(buf);
	return err;
}
