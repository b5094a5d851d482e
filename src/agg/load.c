/* SPDX-License-Identifier: MIT
 *
 * Reading a saved profile (see load.h). The file is read through zlib's
 * gz* functions, which pass plain files through and decompress gzip ones,
 * into one buffer; jansson parses it; then each section is walked in the
 * order the writer puts them (meta, frames, threads, stacks, sources) and
 * turned into the profile with the model's own calls. The file's frame and
 * thread indexes become the model's ids through maps built here, so a file
 * that repeats a frame (the model interns it once) still loads, and an
 * index out of range is an error, never a read past an array.
 *
 * JSON Lines (writers/jsonl.h) is told by its first line, whose "cspy"
 * says "format": "jsonl". Each line is parsed on its own and replayed
 * into the model in file order: definitions fill id maps (hash indexes:
 * the file's ids are any numbers below 2^32, sparse or not), a sample is a
 * profile__add at its time (a new time is a new tick, so runs are rebuilt
 * as they were recorded), an exit folds the thread into its lane. A last
 * line cut short (a recording killed mid-write) and a gzip stream cut short
 * are tolerated and said in err; anything else malformed is refused with
 * its line number.
 */
#include "agg/load.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "agg/profile.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

/* A format_version this reader knows. */
#define LOAD_FORMAT_VERSION 1
#define JSONL_LOAD_FORMAT_VERSION 1
/* Frames in one stack, threads, frames: bounds that no recording reaches. */
#define LOAD_MAX_DEPTH 65536
#define LOAD_MAX_ITEMS ((size_t)1 << 28)

struct loader {
	struct profile *p;
	uint32_t *frame_ids;    /* file index -> profile frame id */
	size_t nframes;
	uint32_t *thread_ids;   /* file index -> profile thread index */
	size_t nthreads;
	char *err;
	size_t errn;
};

static int fail(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err, l->errn, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Read all of path (gzip or plain) into *buf, *len. */
static int read_all(const char *path, char **buf, size_t *len, bool *cut, char *err, size_t errn)
{
	*cut = false;
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errn, "%s", strerror(e));
		return -e;
	}
	gzFile gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		snprintf(err, errn, "out of memory");
		return -ENOMEM;
	}
	gzbuffer(gz, 1 << 17);
	size_t cap = 1 << 16, n = 0;
	char *b = xmalloc(cap);
	int ret = 0;
	for (;;) {
		if (n == cap) {
			if (cap >= PROFILE_LOAD_MAX) {
				snprintf(err, errn, "larger than %zu MiB", PROFILE_LOAD_MAX >> 20);
				ret = -EFBIG;
				break;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
		int r = gzread(gz, b + n, (unsigned)want);
		if (r < 0) {
			int zerr;
			const char *msg = gzerror(gz, &zerr);
			if (zerr == Z_ERRNO) {
				ret = -errno;
				snprintf(err, errn, "%s", strerror(errno));
			} else {
				ret = -EINVAL;
				snprintf(err, errn, "not a valid gzip file (%s)", msg);
			}
			break;
		}
		if (r == 0) {
			/* A gzip stream cut short reads as its end: say so. */
			int zerr;
			const char *msg = gzerror(gz, &zerr);
			if (zerr != Z_OK && zerr != Z_STREAM_END) {
				/* JSON Lines can use what came before the cut. */
				ret = -EINVAL;
				snprintf(err, errn, "truncated gzip file (%s)", msg);
				*cut = n > 0;
			}
			break;
		}
		n += (size_t)r;
	}
	gzclose(gz);
	if (ret && !*cut) {
		free(b);
		return ret;
	}
	*buf = b;
	*len = n;
	return ret;
}

/* ---- typed getters --------------------------------------------------------- */

static const char *get_str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An integer member in [lo, hi]; absent: *out = dflt. false when present
 * but not such an integer. */
static bool get_int(json_t *o, const char *k, long long lo, long long hi, long long dflt,
		    long long *out)
{
	json_t *v = json_object_get(o, k);
	if (!v) {
		*out = dflt;
		return true;
	}
	if (!json_is_integer(v))
		return false;
	long long x = json_integer_value(v);
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

static bool get_bool(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

/* ---- sections ---------------------------------------------------------------- */

static int load_meta(struct loader *l, json_t *m)
{
	if (!json_is_object(m))
		return fail(l, "no \"meta\" object");
	struct prof_meta pm = { 0 };
	pm.title = get_str(m, "title");
	pm.command_line = get_str(m, "command_line");
	pm.python_version = get_str(m, "python_version");
	json_t *rate = json_object_get(m, "rate_hz");
	pm.rate_hz = json_is_number(rate) ? json_number_value(rate) : 0;
	if (!(pm.rate_hz >= 0 && pm.rate_hz <= 1e9))
		pm.rate_hz = 0;
	long long v;
	static const char *const u64s[] = { "start_unix_ns", "duration_ns", "samples", "errors", "ticks" };
	uint64_t *dst[] = { &pm.start_unix_ns, &pm.duration_ns, &pm.samples, &pm.errors, &pm.ticks };
	for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++) {
		if (!get_int(m, u64s[i], 0, LLONG_MAX, 0, &v))
			return fail(l, "meta: \"%s\" is not a count", u64s[i]);
		*dst[i] = (uint64_t)v;
	}
	pm.gil_only = get_bool(m, "gil_only");
	pm.idle_included = get_bool(m, "idle_included");
	pm.native = get_bool(m, "native");
	pm.diff = get_bool(m, "diff");
	pm.exception_only = get_bool(m, "exception_only");
	pm.gc_frames = get_bool(m, "gc_frames");
	pm.classified = get_bool(m, "classified");
	pm.memory = get_bool(m, "memory");
	profile__set_meta(l->p, &pm);
	return 0;
}

static bool kind_of(const char *s, enum prof_frame_kind *k)
{
	static const enum prof_frame_kind kinds[] = {
		PROF_FRAME_PYTHON, PROF_FRAME_NATIVE, PROF_FRAME_PROCESS,
		PROF_FRAME_THREAD, PROF_FRAME_INTERP, PROF_FRAME_OTHER, PROF_FRAME_TASK,
	};
	for (size_t i = 0; s && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(s, profile_frame_kind_name(kinds[i])) == 0) {
			*k = kinds[i];
			return true;
		}
	return false;
}

static int load_frames(struct loader *l, json_t *a)
{
	if (!json_is_array(a))
		return fail(l, "no \"frames\" array");
	size_t n = json_array_size(a);
	if (n > LOAD_MAX_ITEMS)
		return fail(l, "%zu frames: more than a profile can hold", n);
	l->frame_ids = xmalloc((n ? n : 1) * sizeof(*l->frame_ids));
	l->nframes = n;
	for (size_t i = 0; i < n; i++) {
		json_t *f = json_array_get(a, i);
		const char *name = get_str(f, "name");
		enum prof_frame_kind kind;
		long long line;
		if (!json_is_object(f) || !name)
			return fail(l, "frame %zu: not an object with a \"name\"", i);
		if (!kind_of(get_str(f, "kind"), &kind))
			return fail(l, "frame %zu: unknown \"kind\"", i);
		if (!get_int(f, "line", -1, INT32_MAX, -1, &line))
			return fail(l, "frame %zu: \"line\" is not a line number", i);
		const char *file = get_str(f, "filename"), *sfile = get_str(f, "short_filename");
		l->frame_ids[i] = profile__frame(l->p, name, file ? file : "", sfile ? sfile : "",
						 (int)line, kind);
	}
	return 0;
}

static int load_threads(struct loader *l, json_t *a)
{
	if (!json_is_array(a))
		return fail(l, "no \"threads\" array");
	size_t n = json_array_size(a);
	if (n > LOAD_MAX_ITEMS)
		return fail(l, "%zu threads: more than a profile can hold", n);
	l->thread_ids = xmalloc((n ? n : 1) * sizeof(*l->thread_ids));
	l->nthreads = n;
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_array_get(a, i);
		long long pid, tid, ns_tid, exited;
		if (!json_is_object(t) || !get_int(t, "pid", 0, INT32_MAX, 0, &pid) ||
		    !get_int(t, "tid", 0, INT32_MAX, 0, &tid) ||
		    !get_int(t, "ns_tid", 0, INT32_MAX, 0, &ns_tid) ||
		    !get_int(t, "exited", 0, UINT32_MAX, 0, &exited))
			return fail(l, "thread %zu: not an object with numeric \"pid\" and \"tid\"", i);
		const char *name = get_str(t, "name"), *cmd = get_str(t, "command_line");
		uint32_t id;
		if (exited || tid == 0) {
			id = profile__lane(l->p, (pid_t)pid, name, cmd, (uint32_t)exited);
		} else {
			size_t before = profile__nthreads(l->p);
			id = profile__thread(l->p, (pid_t)pid, (pid_t)tid, name, cmd);
			if (profile__nthreads(l->p) == before)
				return fail(l, "thread %zu: pid %lld tid %lld appears twice", i, pid, tid);
		}
		if (ns_tid)
			profile__thread_set_ns_tid(l->p, id, (pid_t)ns_tid);
		l->thread_ids[i] = id;
	}
	return 0;
}

static int load_stacks(struct loader *l, json_t *a)
{
	if (!json_is_array(a))
		return fail(l, "no \"stacks\" array");
	uint32_t *frames = xmalloc(LOAD_MAX_DEPTH * sizeof(*frames));
	int ret = 0;
	for (size_t i = 0; i < json_array_size(a) && !ret; i++) {
		json_t *s = json_array_get(a, i);
		json_t *fa = json_object_get(s, "frames");
		long long thread, count, base;
		if (!json_is_object(s) || !json_is_array(fa) ||
		    !get_int(s, "thread", 0, LLONG_MAX, -1, &thread) ||
		    !get_int(s, "count", 0, LLONG_MAX, 0, &count) ||
		    !get_int(s, "base", 0, LLONG_MAX, 0, &base)) {
			ret = fail(l, "stack %zu: not an object with \"thread\", \"frames\" and \"count\"", i);
			break;
		}
		if (thread < 0 || (size_t)thread >= l->nthreads) {
			ret = fail(l, "stack %zu: thread %lld is not one of the %zu threads", i, thread,
				   l->nthreads);
			break;
		}
		size_t n = json_array_size(fa);
		if (n > LOAD_MAX_DEPTH) {
			ret = fail(l, "stack %zu: %zu frames deep (at most %d)", i, n, LOAD_MAX_DEPTH);
			break;
		}
		for (size_t k = 0; k < n; k++) {
			json_t *fv = json_array_get(fa, k);
			long long fi = json_is_integer(fv) ? json_integer_value(fv) : -1;
			if (fi < 0 || (size_t)fi >= l->nframes) {
				ret = fail(l, "stack %zu: frame %zu is not one of the %zu frames", i, k,
					   l->nframes);
				break;
			}
			frames[k] = l->frame_ids[fi];
		}
		if (ret)
			break;
		/* the split of count, and bytes of memory (optional objects) */
		long long cls[PROF_NCLASSES] = { 0 }, grow = 0, shrink = 0;
		json_t *co = json_object_get(s, "classes"), *mo = json_object_get(s, "memory");
		bool ok = true;
		for (int c = 0; c < PROF_NCLASSES && co; c++)
			ok = ok && json_is_object(co) &&
			     get_int(co, profile_class_name((enum prof_class)c), 0, count, 0, &cls[c]);
		if (mo)
			ok = ok && json_is_object(mo) && get_int(mo, "grow", 0, LLONG_MAX, 0, &grow) &&
			     get_int(mo, "shrink", 0, LLONG_MAX, 0, &shrink);
		if (!ok || (uint64_t)cls[0] + (uint64_t)cls[1] + (uint64_t)cls[2] > (uint64_t)count) {
			ret = fail(l, "stack %zu: \"classes\" or \"memory\" is not an object of counts "
				   "(classes adding up to at most \"count\")", i);
			break;
		}
		uint32_t th = l->thread_ids[thread], sid = PROFILE_NO_STACK;
		for (uint64_t left = (uint64_t)count; left;) {
			uint32_t w = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
			sid = profile__add(l->p, th, frames, n, 0, w);
			left -= w;
		}
		for (int c = 0; c < PROF_NCLASSES; c++)
			profile__add_class(l->p, sid, (enum prof_class)c, (uint64_t)cls[c]);
		profile__add_memory(l->p, sid, grow);
		profile__add_memory(l->p, sid, -shrink);
		if (base)
			profile__add_base(l->p, th, frames, n, (uint64_t)base);
	}
	free(frames);
	return ret;
}

static int load_sources(struct loader *l, json_t *a)
{
	if (!a)
		return 0;
	if (!json_is_array(a))
		return fail(l, "\"sources\" is not an array");
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *s = json_array_get(a, i);
		const char *file = get_str(s, "filename");
		json_t *text = json_object_get(s, "text");
		if (!file)
			return fail(l, "source %zu: no \"filename\"", i);
		if (json_is_string(text))
			profile__set_source(l->p, file, json_string_value(text), json_string_length(text),
					    NULL);
		else
			profile__set_source(l->p, file, NULL, 0, get_str(s, "error"));
	}
	return 0;
}

static int load_json(struct loader *l, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(buf, len, JSON_ALLOW_NUL, &jerr);
	if (!doc)
		return fail(l, "not JSON: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	int ret;
	json_t *hdr = json_object_get(doc, "cspy");
	long long fv = -1;
	if (!json_is_object(hdr)) {
		ret = fail(l, "not a cspy profile (no \"cspy\" key; record with -f json)");
		goto out;
	}
	if (!get_int(hdr, "format_version", 0, INT32_MAX, -1, &fv) || fv != LOAD_FORMAT_VERSION) {
		if (!json_is_integer(json_object_get(hdr, "format_version")))
			fv = -1;
		ret = fail(l, "cspy profile format_version %lld; this cspy reads %d", fv,
			   LOAD_FORMAT_VERSION);
		goto out;
	}
	profile__set_keep_runs(l->p, false);    /* JSON has counts, no time order */
	ret = load_meta(l, json_object_get(doc, "meta"));
	if (!ret)
		ret = load_frames(l, json_object_get(doc, "frames"));
	if (!ret)
		ret = load_threads(l, json_object_get(doc, "threads"));
	if (!ret)
		ret = load_stacks(l, json_object_get(doc, "stacks"));
	if (!ret)
		ret = load_sources(l, json_object_get(doc, "sources"));
out:
	json_decref(doc);
	return ret;
}

/* ---- JSON Lines ------------------------------------------------------------ */

/* The file's ids (any uint32) -> a slot in an array of the caller's. */
struct idmap {
	struct hashmap h;
	uint32_t *keys;
	size_t n, cap;
};

static uint64_t id_hash(uint32_t id)
{
	return ((uint64_t)id + 1) * 0x9e3779b97f4a7c15ull;
}

static uint32_t idmap_find(const struct idmap *m, uint32_t id, struct hashmap_pos *pos)
{
	for (uint32_t i = hashmap__first(&m->h, id_hash(id), pos); i != HASHMAP_NONE;
	     i = hashmap__next(&m->h, pos))
		if (m->keys[i] == id)
			return i;
	return HASHMAP_NONE;
}

/* A new slot for id, or HASHMAP_NONE when id is already defined. */
static uint32_t idmap_add(struct idmap *m, uint32_t id)
{
	struct hashmap_pos pos;
	if (idmap_find(m, id, &pos) != HASHMAP_NONE)
		return HASHMAP_NONE;
	m->keys = xgrow(m->keys, &m->cap, m->n + 1, sizeof(*m->keys));
	uint32_t slot = (uint32_t)m->n++;
	m->keys[slot] = id;
	hashmap__insert(&m->h, &pos, slot);
	return slot;
}

struct jl_thread {
	pid_t pid, tid;
	char *name, *cmd;
	uint32_t lane;          /* a lane's profile index (tid 0 or "exited"), else UINT32_MAX */
	bool gone;              /* its exit line was read */
};

struct jl_stack {
	uint32_t *frames;       /* profile frame ids */
	uint32_t n;
};

struct jl {
	struct loader *l;
	struct idmap frames, threads, stacks;
	uint32_t *frame_ids;    /* slot -> profile frame id */
	size_t frame_cap;
	struct jl_thread *th;
	size_t th_cap;
	struct jl_stack *st;
	size_t st_cap;
	uint64_t last_t;
	bool any_t, ended;
	size_t line;            /* 1-based, for messages */
};

static bool get_u32(json_t *o, const char *k, uint32_t *out)
{
	long long v;
	if (!json_object_get(o, k) || !get_int(o, k, 0, UINT32_MAX, 0, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static int jl_frame(struct jl *j, json_t *o)
{
	uint32_t id;
	const char *name = get_str(o, "name");
	enum prof_frame_kind kind;
	long long line;
	if (!get_u32(o, "frame", &id) || !name || !kind_of(get_str(o, "kind"), &kind) ||
	    !get_int(o, "line", -1, INT32_MAX, -1, &line))
		return fail(j->l, "line %zu: a frame needs an id, \"name\", \"kind\" and a \"line\" number",
			    j->line);
	uint32_t slot = idmap_add(&j->frames, id);
	if (slot == HASHMAP_NONE)
		return fail(j->l, "line %zu: frame %" PRIu32 " is defined twice", j->line, id);
	j->frame_ids = xgrow(j->frame_ids, &j->frame_cap, slot + 1, sizeof(*j->frame_ids));
	const char *file = get_str(o, "filename"), *sfile = get_str(o, "short_filename");
	j->frame_ids[slot] = profile__frame(j->l->p, name, file ? file : "", sfile ? sfile : "",
					    (int)line, kind);
	return 0;
}

static int jl_thread(struct jl *j, json_t *o)
{
	uint32_t id;
	long long pid, tid, ns_tid, exited;
	if (!get_u32(o, "thread", &id) || !json_object_get(o, "pid") || !json_object_get(o, "tid") ||
	    !get_int(o, "pid", 0, INT32_MAX, 0, &pid) || !get_int(o, "tid", 0, INT32_MAX, 0, &tid) ||
	    !get_int(o, "ns_tid", 0, INT32_MAX, 0, &ns_tid) ||
	    !get_int(o, "exited", 0, UINT32_MAX, 0, &exited))
		return fail(j->l, "line %zu: a thread needs an id and numeric \"pid\" and \"tid\"", j->line);
	uint32_t slot = idmap_add(&j->threads, id);
	if (slot == HASHMAP_NONE)
		return fail(j->l, "line %zu: thread %" PRIu32 " is defined twice", j->line, id);
	j->th = xgrow(j->th, &j->th_cap, slot + 1, sizeof(*j->th));
	const char *name = get_str(o, "name"), *cmd = get_str(o, "command_line");
	struct jl_thread *t = &j->th[slot];
	*t = (struct jl_thread){ (pid_t)pid, (pid_t)tid, xstrdup(name ? name : ""),
				 xstrdup(cmd ? cmd : ""), UINT32_MAX, false };
	if (exited || tid == 0)
		t->lane = profile__lane(j->l->p, t->pid, t->name, t->cmd, (uint32_t)exited);
	if (ns_tid) {
		uint32_t pi = t->lane != UINT32_MAX ? t->lane
			: profile__thread(j->l->p, t->pid, t->tid, t->name, t->cmd);
		profile__thread_set_ns_tid(j->l->p, pi, (pid_t)ns_tid);
	}
	return 0;
}

static int jl_stack(struct jl *j, json_t *o)
{
	uint32_t id;
	json_t *fa = json_object_get(o, "frames");
	if (!get_u32(o, "stack", &id) || !json_is_array(fa))
		return fail(j->l, "line %zu: a stack needs an id and a \"frames\" array", j->line);
	size_t n = json_array_size(fa);
	if (n > LOAD_MAX_DEPTH)
		return fail(j->l, "line %zu: a stack %zu frames deep (at most %d)", j->line, n,
			    LOAD_MAX_DEPTH);
	uint32_t *frames = xmalloc((n ? n : 1) * sizeof(*frames));
	for (size_t k = 0; k < n; k++) {
		json_t *fv = json_array_get(fa, k);
		long long fi = json_is_integer(fv) ? json_integer_value(fv) : -1;
		struct hashmap_pos pos;
		uint32_t slot = fi >= 0 && fi <= UINT32_MAX ? idmap_find(&j->frames, (uint32_t)fi, &pos)
							    : HASHMAP_NONE;
		if (slot == HASHMAP_NONE) {
			free(frames);
			return fail(j->l, "line %zu: stack %" PRIu32 ": frame %lld was not defined before",
				    j->line, id, fi);
		}
		frames[k] = j->frame_ids[slot];
	}
	uint32_t slot = idmap_add(&j->stacks, id);
	if (slot == HASHMAP_NONE) {
		free(frames);
		return fail(j->l, "line %zu: stack %" PRIu32 " is defined twice", j->line, id);
	}
	j->st = xgrow(j->st, &j->st_cap, slot + 1, sizeof(*j->st));
	j->st[slot] = (struct jl_stack){ frames, (uint32_t)n };
	return 0;
}

/* The live thread of slot: its profile index now (indexes move when a
 * thread exits, so it is looked up each time by pid and tid). */
static uint32_t jl_thread_index(struct jl *j, struct jl_thread *t)
{
	if (t->lane != UINT32_MAX)
		return t->lane;
	return profile__thread(j->l->p, t->pid, t->tid, t->name, t->cmd);
}

static struct jl_thread *jl_thread_of(struct jl *j, json_t *o, const char *k)
{
	uint32_t id;
	struct hashmap_pos pos;
	uint32_t slot = get_u32(o, k, &id) ? idmap_find(&j->threads, id, &pos) : HASHMAP_NONE;
	return slot == HASHMAP_NONE || j->th[slot].gone ? NULL : &j->th[slot];
}

static int jl_sample(struct jl *j, json_t *o)
{
	long long t, w;
	uint32_t sid;
	struct hashmap_pos pos;
	if (!get_int(o, "t", 0, LLONG_MAX, 0, &t) || !get_int(o, "weight", 1, UINT32_MAX, 1, &w))
		return fail(j->l, "line %zu: a sample needs a time \"t\" in ns and a \"weight\" >= 1",
			    j->line);
	struct jl_thread *th = jl_thread_of(j, o, "thread_id");
	if (!th)
		return fail(j->l, "line %zu: the sample's \"thread_id\" is not a thread defined before "
			    "(and not exited)", j->line);
	uint32_t slot = get_u32(o, "stack_id", &sid) ? idmap_find(&j->stacks, sid, &pos) : HASHMAP_NONE;
	if (slot == HASHMAP_NONE)
		return fail(j->l, "line %zu: the sample's \"stack_id\" is not a stack defined before",
			    j->line);
	if (!j->any_t || (uint64_t)t != j->last_t)
		profile__tick(j->l->p, (uint64_t)t);    /* the samples of one tick share its time */
	j->any_t = true;
	j->last_t = (uint64_t)t;
	profile__add(j->l->p, jl_thread_index(j, th), j->st[slot].frames, j->st[slot].n, (uint64_t)t,
		     (uint32_t)w);
	return 0;
}

/* {"class":NAME,...,"weight":N} or {"memory":BYTES,...}: of a stack of a
 * thread that a sample line used before. */
static int jl_split(struct jl *j, json_t *o, bool memory)
{
	long long v = 0;
	uint32_t sid;
	struct hashmap_pos pos;
	struct jl_thread *th = jl_thread_of(j, o, "thread_id");
	uint32_t slot = get_u32(o, "stack_id", &sid) ? idmap_find(&j->stacks, sid, &pos) : HASHMAP_NONE;
	int c = 0;
	const char *name = memory ? NULL : json_string_value(json_object_get(o, "class"));
	for (; name && c < PROF_NCLASSES; c++)
		if (strcmp(name, profile_class_name((enum prof_class)c)) == 0)
			break;
	bool ok = memory ? get_int(o, "memory", -LLONG_MAX, LLONG_MAX, 0, &v)
			 : name && c < PROF_NCLASSES && get_int(o, "weight", 0, LLONG_MAX, 0, &v);
	if (!th || slot == HASHMAP_NONE || !ok)
		return fail(j->l, "line %zu: a \"%s\" line needs a thread and a stack defined before "
			    "and %s", j->line, memory ? "memory" : "class",
			    memory ? "a number of bytes" : "a class (python, native, system) and a \"weight\"");
	struct profile *p = j->l->p;
	uint32_t stack = profile__stack_find(p, jl_thread_index(j, th), j->st[slot].frames, j->st[slot].n);
	if (memory)
		profile__add_memory(p, stack, v);
	else if (stack != PROFILE_NO_STACK &&
		 profile__stack_at(p, stack)->cls[0] + profile__stack_at(p, stack)->cls[1] +
		 profile__stack_at(p, stack)->cls[2] + (uint64_t)v <= profile__stack_at(p, stack)->count)
		profile__add_class(p, stack, (enum prof_class)c, (uint64_t)v);
	else
		return fail(j->l, "line %zu: more samples classified than the stack has", j->line);
	return 0;
}

static int jl_exit(struct jl *j, json_t *o)
{
	struct jl_thread *th = jl_thread_of(j, o, "exit");
	if (!th || th->lane != UINT32_MAX)
		return fail(j->l, "line %zu: \"exit\" names no live thread defined before", j->line);
	struct profile *p = j->l->p;
	uint32_t idx = jl_thread_index(j, th);
	th->gone = true;
	profile__thread_exit(p, idx);
	/* The last entry took idx: a lane held there moved. */
	uint32_t moved = (uint32_t)profile__nthreads(p);
	for (size_t i = 0; i < j->threads.n && moved != idx; i++)
		if (j->th[i].lane == moved)
			j->th[i].lane = idx;
	return 0;
}

static int jl_line(struct jl *j, json_t *o)
{
	if (json_object_get(o, "t"))
		return jl_sample(j, o);
	if (json_object_get(o, "stack"))
		return jl_stack(j, o);
	if (json_object_get(o, "frame"))
		return jl_frame(j, o);
	if (json_object_get(o, "thread"))
		return jl_thread(j, o);
	if (json_object_get(o, "exit"))
		return jl_exit(j, o);
	if (json_object_get(o, "class"))
		return jl_split(j, o, false);
	if (json_object_get(o, "memory"))
		return jl_split(j, o, true);
	if (json_object_get(o, "end")) {
		j->ended = true;
		return load_meta(j->l, json_object_get(o, "meta"));
	}
	if (json_object_get(o, "cspy"))
		return fail(j->l, "line %zu: a second \"cspy\" head (two recordings in one file?)",
			    j->line);
	return 0;       /* a kind this reader does not know: left for newer writers */
}

/* Is the head (the first line) a JSON Lines one? */
static bool is_jsonl(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	json_t *o = json_loadb(buf, nl ? (size_t)(nl - buf) : len, 0, NULL);
	const char *f = o ? get_str(json_object_get(o, "cspy"), "format") : NULL;
	bool yes = f && strcmp(f, "jsonl") == 0;
	json_decref(o);
	return yes;
}

static int load_jsonl(struct loader *l, const char *buf, size_t len, bool cut)
{
	struct jl j = { .l = l };
	hashmap__init(&j.frames.h, 1024);
	hashmap__init(&j.threads.h, 64);
	hashmap__init(&j.stacks.h, 1024);
	size_t skipped = 0;
	int ret = 0;
	for (size_t off = 0; off < len && !ret && !j.ended;) {
		const char *s = buf + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		off += n + (nl != NULL);
		j.line++;
		if (n == 0 || (n == 1 && s[0] == '\r'))
			continue;
		json_error_t jerr;
		json_t *o = json_loadb(s, n, JSON_ALLOW_NUL, &jerr);
		if (!json_is_object(o)) {
			json_decref(o);
			if (!nl) {      /* the last line, cut short */
				skipped++;
				break;
			}
			ret = fail(l, "line %zu: not a JSON object%s%s", j.line, o ? "" : ": ",
				   o ? "" : jerr.text);
			break;
		}
		if (j.line == 1) {
			long long fv = -1;
			json_t *hdr = json_object_get(o, "cspy");
			if (!get_int(hdr, "format_version", 0, INT32_MAX, -1, &fv) ||
			    fv != JSONL_LOAD_FORMAT_VERSION)
				ret = fail(l, "cspy jsonl format_version %lld; this cspy reads %d", fv,
					   JSONL_LOAD_FORMAT_VERSION);
			else
				ret = load_meta(l, json_object_get(o, "meta"));
		} else {
			ret = jl_line(&j, o);
		}
		json_decref(o);
	}
	if (!ret) {
		/* Lines after the end line, a cut and a missing end: said, not refused. */
		size_t rest = 0;
		for (size_t off = 0; j.ended && off < len; off++)
			rest += buf[off] == '\n';
		if (j.ended && rest > j.line)
			snprintf(l->err, l->errn, "%zu lines after the end line were left out", rest - j.line);
		else if (j.ended && cut)
			snprintf(l->err, l->errn, "the gzip stream is cut short after the end line (nothing "
				 "is missing)");
		else if (!j.ended)
			snprintf(l->err, l->errn, "no end line: the recording was cut short%s (%zu line%s "
				 "read%s%s)", cut ? " (and so was its gzip stream)" : "", j.line,
				 j.line == 1 ? "" : "s", skipped ? ", the last one incomplete and skipped" : "",
				 "");
	}
	if (!ret && !j.ended) {
		/* The head's meta had no duration: the last sample's time. */
		struct prof_meta m = *profile__meta(l->p);
		m.duration_ns = j.last_t;
		profile__set_meta(l->p, &m);
	}
	for (size_t i = 0; i < j.threads.n; i++) {
		free(j.th[i].name);
		free(j.th[i].cmd);
	}
	for (size_t i = 0; i < j.stacks.n; i++)
		free(j.st[i].frames);
	free(j.th);
	free(j.st);
	free(j.frame_ids);
	free(j.frames.keys);
	free(j.threads.keys);
	free(j.stacks.keys);
	hashmap__fini(&j.frames.h);
	hashmap__fini(&j.threads.h);
	hashmap__fini(&j.stacks.h);
	return ret;
}

int profile_load(const char *path, struct profile **out, char *err, size_t errn)
{
	char *buf = NULL;
	size_t len = 0;
	bool cut;
	if (errn)
		err[0] = '\0';
	int ret = read_all(path, &buf, &len, &cut, err, errn);
	if (ret && !(cut && is_jsonl(buf, len))) {
		free(buf);
		return ret;
	}
	if (errn)
		err[0] = '\0';
	struct loader l = { .p = profile__new(), .err = err, .errn = errn };
	if (len == 0)
		ret = fail(&l, "empty file");
	else if (is_jsonl(buf, len))
		ret = load_jsonl(&l, buf, len, cut);
	else
		ret = load_json(&l, buf, len);
	free(buf);
	free(l.frame_ids);
	free(l.thread_ids);
	if (ret) {
		profile__free(l.p);
		return ret;
	}
	*out = l.p;
	return 0;
}
