/* SPDX-License-Identifier: MIT
 *
 * The stack builder (see stack.h): a frame id array reused for every stack,
 * a direct-mapped code frame cache (FRAME_CACHE entries, hashed on uid and
 * line), and one byte of filter matches per profile frame id (0: not looked
 * at yet, else FILTER_* | SEEN), grown with the profile's frames.
 */
#include "agg/stack.h"

#include <stdlib.h>
#include <string.h>

#include "agg/filter.h"
#include "agg/profile.h"
#include "python/pyproc.h"
#include "util/xalloc.h"

#define FRAME_CACHE 4096        /* entries, a power of two */
#define LABEL_MAX 1024          /* a frame label's bytes matched by --include/--exclude */
#define SEEN 0x80u              /* the frame's matches are known */

struct frame_cache {
	uint64_t uid;           /* 0: empty (uids start at 1) */
	int line;
	uint32_t id;
};

struct stack_builder {
	struct profile *prof;
	const struct stack_filter *filter;
	struct frame_cache fcache[FRAME_CACHE];
	uint32_t *frames;
	size_t n, cap;
	unsigned matched;       /* FILTER_* of the frames pushed */
	uint8_t *verdict;       /* per frame id */
	size_t verdict_cap;
	bool qualname;          /* --qualname (stack_builder__qualname) */
};

struct stack_builder *stack_builder__new(struct profile *prof, const struct stack_filter *filter)
{
	struct stack_builder *b = xcalloc(1, sizeof(*b));
	b->prof = prof;
	b->filter = filter;
	return b;
}

void stack_builder__free(struct stack_builder *b)
{
	if (!b)
		return;
	free(b->frames);
	free(b->verdict);
	free(b);
}

static inline uint32_t code_frame(struct stack_builder *b, uint64_t uid, int line, const char *name,
					  const char *filename, const char *short_filename)
{
	uint64_t h = (uid * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uint32_t)line * 0xff51afd7ed558ccdull);
	struct frame_cache *c = &b->fcache[(h >> 32) & (FRAME_CACHE - 1)];
	if (c->uid == uid && c->line == line)
		return c->id;
	uint32_t id = profile__frame(b->prof, name, filename, short_filename, line, PROF_FRAME_PYTHON);
	*c = (struct frame_cache){ uid, line, id };
	return id;
}

void stack_builder__begin(struct stack_builder *b, size_t n)
{
	if (n > b->cap)
		b->frames = xgrow(b->frames, &b->cap, n, sizeof(*b->frames));
	b->n = 0;
	b->matched = 0;
}

void stack_builder__root(struct stack_builder *b, uint32_t frame)
{
	b->frames[b->n++] = frame;
}

/* The FILTER_* bits of a frame id, found at its first filtered stack. */
static unsigned frame_matches(struct stack_builder *b, uint32_t frame)
{
	if (frame >= b->verdict_cap) {
		size_t old = b->verdict_cap;
		b->verdict = xgrow(b->verdict, &b->verdict_cap, (size_t)frame + 1, sizeof(*b->verdict));
		memset(b->verdict + old, 0, b->verdict_cap - old);
	}
	uint8_t *v = &b->verdict[frame];
	if (!*v) {
		char label[LABEL_MAX];
		const struct prof_frame *f = profile__frame_at(b->prof, frame);
		*v = (uint8_t)(SEEN | stack_filter__frame(b->filter, f->name,
							  profile_frame_label(f, false, label, sizeof(label))));
	}
	return *v & ~SEEN;
}

void stack_builder__push(struct stack_builder *b, uint32_t frame)
{
	b->frames[b->n++] = frame;
	if (b->filter)
		b->matched |= frame_matches(b, frame);
}

static inline uint32_t frame_id(struct stack_builder *b, const struct py_frame *fr,
				enum stack_lines lines)
{
	const struct py_code *code = fr->code;
	int line = lines == STACK_LINES_NONE ? -1
		   : lines == STACK_LINES_FIRST ? code->firstlineno : fr->line;
	const char *name = code->name;
	uint64_t uid = code->uid;
	if (b->qualname) {      /* the class a method comes from is part of its identity */
		name = fr->qualname ? fr->qualname : code->qualname;
		uid = fr->qual_uid ? fr->qual_uid : uid;
	}
	return code_frame(b, uid, line, name, code->filename, code->short_filename);
}

static inline void push_frame(struct stack_builder *b, const struct py_frame *fr,
			      enum stack_lines lines)
{
	stack_builder__push(b, frame_id(b, fr, lines));
}

uint32_t stack_builder__frame_id(struct stack_builder *b, const struct py_frame *fr,
				 enum stack_lines lines)
{
	return frame_id(b, fr, lines);
}

void stack_builder__push_frame(struct stack_builder *b, const struct py_frame *fr,
			       enum stack_lines lines)
{
	push_frame(b, fr, lines);
}

void stack_builder__push_thread(struct stack_builder *b, const struct py_thread *th,
				enum stack_lines lines)
{
	size_t k = th->nframes;
	if (b->n + k > b->cap)
		b->frames = xgrow(b->frames, &b->cap, b->n + k, sizeof(*b->frames));
	/* A tight loop: the ids are written through a local pointer, and a
	 * recursion's repeated frame takes the id just found. */
	uint32_t *out = b->frames + b->n;
	const struct py_frame *fr = th->frames + k, *last = NULL;
	uint32_t id = 0;
	while (k-- > 0) {
		fr--;
		if (!last || fr->code != last->code || fr->line != last->line ||
		    fr->qualname != last->qualname || fr->qual_uid != last->qual_uid)
			id = frame_id(b, fr, lines);
		*out++ = id;
		if (b->filter)
			b->matched |= frame_matches(b, id);
		last = fr;
	}
	b->n = (size_t)(out - b->frames);
}

bool stack_builder__keep(struct stack_builder *b)
{
	return stack_filter__decide(b->filter, b->matched);
}

uint32_t stack_builder__add(struct stack_builder *b, uint32_t thread, uint64_t t_ns)
{
	return profile__add(b->prof, thread, b->frames, b->n, t_ns, 1);
}

void stack_builder__qualname(struct stack_builder *b, bool on)
{
	if (b->qualname != on)  /* the cached frames carry the other names */
		memset(b->fcache, 0, sizeof(b->fcache));
	b->qualname = on;
}
