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
#include "util/xalloc.h"

/* A format_version this reader knows. */
#define LOAD_FORMAT_VERSION 1
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
static int read_all(const char *path, char **buf, size_t *len, char *err, size_t errn)
{
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
				ret = -EINVAL;
				snprintf(err, errn, "truncated gzip file (%s)", msg);
			}
			break;
		}
		n += (size_t)r;
	}
	gzclose(gz);
	if (ret) {
		free(b);
		return ret;
	}
	*buf = b;
	*len = n;
	return 0;
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
	profile__set_meta(l->p, &pm);
	return 0;
}

static bool kind_of(const char *s, enum prof_frame_kind *k)
{
	static const enum prof_frame_kind kinds[] = {
		PROF_FRAME_PYTHON, PROF_FRAME_NATIVE, PROF_FRAME_PROCESS,
		PROF_FRAME_THREAD, PROF_FRAME_INTERP, PROF_FRAME_OTHER,
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
		uint32_t th = l->thread_ids[thread];
		for (uint64_t left = (uint64_t)count; left;) {
			uint32_t w = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
			profile__add(l->p, th, frames, n, 0, w);
			left -= w;
		}
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

int profile_load(const char *path, struct profile **out, char *err, size_t errn)
{
	char *buf = NULL;
	size_t len = 0;
	int ret = read_all(path, &buf, &len, err, errn);
	if (ret)
		return ret;
	struct loader l = { .p = profile__new(), .err = err, .errn = errn };
	if (len == 0)
		ret = fail(&l, "empty file");
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
