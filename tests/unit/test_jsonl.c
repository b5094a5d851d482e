/* SPDX-License-Identifier: MIT
 *
 * Unit tests of the JSON Lines writer (writers/jsonl) and of reading it
 * back (agg/load): a stream that listens to a profile while threads come,
 * exit (their stack ids reused by the profile) and come back with the same
 * TID writes ids that stay valid, each frame, thread and stack defined
 * once before use; read back, it gives the same totals per thread and
 * stack as the profile it listened to, with the same lanes and with runs
 * in time order; a whole profile written at once reads back the same; a
 * stream cut anywhere reads back (with a warning) or is refused, never
 * past an array.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "agg/load.h"
#include "agg/profile.h"
#include "writers/jsonl.h"

static char dir[] = "/tmp/cspy-test-jsonl-XXXXXX";

static char *path_of(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static char *read_text(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)len + 1);
	*n = fread(b, 1, (size_t)len, f);
	b[*n] = '\0';
	fclose(f);
	return b;
}

/* Sum of counts of the stacks of (pid, tid, name) whose frames' names,
 * joined with ';', equal text. */
static uint64_t count_of(const struct profile *p, pid_t pid, pid_t tid, const char *name,
			 const char *text)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < profile__nstacks(p); i++) {
		const struct prof_stack *s = profile__stack_at(p, i);
		const struct prof_thread *t = profile__thread_at(p, s->thread);
		if (!s->count || t->pid != pid || t->tid != tid || strcmp(t->name, name) != 0)
			continue;
		char buf[512] = "";
		for (uint32_t k = 0; k < s->n; k++) {
			if (k)
				strcat(buf, ";");
			strcat(buf, profile__frame_at(p, s->frames[k])->name);
		}
		if (strcmp(buf, text) == 0)
			n += s->count;
	}
	return n;
}

/* Every (thread, stack) total of a equals b's. */
static bool same_totals(const struct profile *a, const struct profile *b)
{
	if (profile__total(a) != profile__total(b))
		return false;
	for (uint32_t i = 0; i < profile__nstacks(a); i++) {
		const struct prof_stack *s = profile__stack_at(a, i);
		if (!s->count)
			continue;
		const struct prof_thread *t = profile__thread_at(a, s->thread);
		char buf[512] = "";
		for (uint32_t k = 0; k < s->n; k++) {
			if (k)
				strcat(buf, ";");
			strcat(buf, profile__frame_at(a, s->frames[k])->name);
		}
		if (count_of(a, t->pid, t->tid, t->name, buf) != count_of(b, t->pid, t->tid, t->name, buf)) {
			fprintf(stderr, "  differs: %d/%d %s: %s\n", (int)t->pid, (int)t->tid, t->name, buf);
			return false;
		}
	}
	return true;
}

/* A recording with churn, streamed to path: returns the live profile. */
static struct profile *record_churn(const char *path)
{
	struct profile *p = profile__new();
	struct prof_meta m = { .title = "python3 srv.py", .command_line = "python3 srv.py", .rate_hz = 100 };
	profile__set_meta(p, &m);
	FILE *f = fopen(path, "w");
	struct jsonl_stream *w = jsonl_stream__new(f, p);
	uint32_t mod = profile__frame(p, "<module>", "/s/srv.py", "srv.py", 1, PROF_FRAME_PYTHON);
	uint32_t serve = profile__frame(p, "serve \"<&>\"", "/s/srv.py", "srv.py", 5, PROF_FRAME_PYTHON);
	uint32_t handle = profile__frame(p, "handle", "/s/srv.py", "srv.py", 9, PROF_FRAME_PYTHON);
	uint32_t run = profile__frame(p, "run", "/s/threading.py", "threading.py", 2, PROF_FRAME_PYTHON);
	uint32_t main_stack[] = { mod, serve };
	uint32_t req_stack[] = { run, handle };
	uint32_t req2_stack[] = { run, handle, serve };
	uint64_t t = 0;
	for (int i = 0; i < 50; i++) {
		profile__tick(p, t);
		uint32_t mt = profile__thread(p, 10, 10, "MainThread", "python3 srv.py");
		profile__add(p, mt, main_stack, 2, t, 1);
		char name[32];
		snprintf(name, sizeof(name), "Thread-%d (handle)", i);
		/* TIDs reused every 7 requests, as the kernel does. */
		uint32_t rt = profile__thread(p, 10, 100 + i % 7, name, "python3 srv.py");
		profile__add(p, rt, i % 3 ? req_stack : req2_stack, i % 3 ? 2 : 3, t, 1);
		if (i % 5 == 0) {       /* a rename mid-life */
			rt = profile__thread(p, 10, 100 + i % 7, "renamed", "python3 srv.py");
			profile__add(p, rt, req_stack, 2, t, 2);    /* a tick's samples share its time */
		}
		profile__thread_exit(p, rt);
		t += 10000000;
		if (i == 25)
			jsonl_stream__flush(w);
	}
	m.duration_ns = t;
	m.samples = 50;
	m.ticks = 50;
	profile__set_meta(p, &m);
	CHECK_INT(jsonl_stream__end(w), 0);
	fclose(f);
	return p;
}

static void test_stream_round_trip(void)
{
	const char *path = path_of("churn.jsonl");
	struct profile *live = record_churn(path);
	size_t n;
	char *text = read_text(path, &n);
	CHECK(text != NULL);
	CHECK(strncmp(text, "{\"cspy\":{", 9) == 0);
	CHECK(strstr(text, "\"format\":\"jsonl\"") != NULL);
	CHECK(strstr(text, "{\"end\":true,\"meta\":{") != NULL);
	CHECK(strstr(text, "\"duration_ns\":500000000") != NULL);
	CHECK(text[n - 1] == '\n');
	/* Each stack defined once: 3 distinct frame sequences. */
	size_t stacks = 0, exits = 0, threads = 0;
	for (char *s = text; (s = strstr(s, "\n{\"")) != NULL; s++) {
		stacks += strncmp(s, "\n{\"stack\":", 10) == 0;
		exits += strncmp(s, "\n{\"exit\":", 9) == 0;
		threads += strncmp(s, "\n{\"thread\":", 11) == 0;
	}
	CHECK_INT(stacks, 3);
	CHECK_INT(exits, 50);
	CHECK_INT(threads, 1 + 50 + 10);        /* main, one per request, one per rename */
	free(text);

	struct profile *back = NULL;
	char err[256];
	CHECK_INT(profile_load(path, &back, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	if (back) {
		CHECK(same_totals(live, back));
		CHECK(same_totals(back, live));
		CHECK_INT(profile__nthreads(back), profile__nthreads(live));
		CHECK_INT(profile__meta(back)->duration_ns, 500000000);
		/* Runs rebuilt from the times: the main thread has its 50
		 * samples in one run (one per tick, no gap). */
		for (uint32_t i = 0; i < profile__nthreads(back); i++) {
			const struct prof_thread *t = profile__thread_at(back, i);
			if (t->tid != 10)
				continue;
			size_t nr;
			const struct prof_run *r = profile__runs(back, i, &nr);
			CHECK_INT(nr, 1);
			if (nr) {
				CHECK_INT(r[0].count, 50);
				CHECK_INT(r[0].t_last_ns, 490000000);
			}
		}
	}
	profile__free(back);
	profile__free(live);
}

static void test_whole_profile(void)
{
	struct profile *live = record_churn(path_of("live.jsonl"));
	const char *path = path_of("whole.jsonl");
	FILE *f = fopen(path, "w");
	CHECK_INT(jsonl_write(f, live), 0);
	fclose(f);
	struct profile *back = NULL;
	char err[256];
	CHECK_INT(profile_load(path, &back, err, sizeof(err)), 0);
	if (back) {
		CHECK(same_totals(live, back));
		CHECK(same_totals(back, live));
		/* The lanes come back as lanes. */
		uint32_t exited = 0;
		for (uint32_t i = 0; i < profile__nthreads(back); i++)
			exited += profile__thread_at(back, i)->exited;
		CHECK_INT(exited, 50);
	}
	profile__free(back);
	profile__free(live);
	/* A full stream to /dev/full: the error is returned. */
	struct profile *p = profile__new();
	FILE *full = fopen("/dev/full", "w");
	if (full) {
		CHECK(jsonl_write(full, p) != 0);
		fclose(full);
	}
	profile__free(p);
}

/* Every cut of a stream: read back with a warning, or refused (a cut in
 * the head line); never a crash or a read past the buffer. */
static void test_cuts(void)
{
	const char *path = path_of("churn2.jsonl");
	profile__free(record_churn(path));
	size_t n;
	char *text = read_text(path, &n);
	size_t head = (size_t)(strchr(text, '\n') - text) + 1;
	int ok = 0, refused = 0, bad = 0;
	for (size_t cut = 0; cut < n; cut += cut < head + 200 ? 1 : 37) {
		FILE *f = fopen(path_of("cut.jsonl"), "w");
		fwrite(text, 1, cut, f);
		fclose(f);
		struct profile *back = NULL;
		char err[256];
		int r = profile_load(path_of("cut.jsonl"), &back, err, sizeof(err));
		if (r == 0 && strstr(err, "cut short"))
			ok++;
		else if (r != 0 && cut < head)
			refused++;
		else
			bad++;
		profile__free(back);
	}
	CHECK(ok > 100);
	CHECK(refused > 10);
	CHECK_INT(bad, 0);
	free(text);
}


/* The split and bytes: a stream writes a class line after each sample it
 * classifies and a memory line when bytes are attributed; read back, every
 * stack has its classes and bytes; a whole profile writes them per stack. */
static void test_split_memory(void)
{
	const char *path = path_of("split.jsonl");
	FILE *f = fopen(path, "w");
	struct profile *p = profile__new();
	profile__set_meta(p, &(struct prof_meta){ .title = "t", .classified = true, .memory = true });
	struct jsonl_stream *w = jsonl_stream__new(f, p);
	uint32_t t = profile__thread(p, 7, 7, "MainThread", "");
	uint32_t a = profile__frame(p, "a", "/t.py", "t.py", 1, PROF_FRAME_PYTHON);
	uint32_t b = profile__frame(p, "b", "/t.py", "t.py", 2, PROF_FRAME_PYTHON);
	uint32_t s2[] = { a, b };
	for (int i = 0; i < 10; i++) {
		profile__tick(p, (uint64_t)i * 1000);
		uint32_t sid = profile__add(p, t, i % 3 ? s2 : &a, i % 3 ? 2 : 1, (uint64_t)i * 1000, 1);
		if (i != 4)     /* one sample not classified */
			profile__add_class(p, sid, (enum prof_class)(i % 3), 1);
		profile__add_memory(p, sid, i % 2 ? 100 * i : -5 * i);
	}
	CHECK_INT(jsonl_stream__end(w), 0);
	fclose(f);
	size_t n;
	char *text = read_text(path, &n);
	CHECK(text && strstr(text, "\"classified\":true,\"memory\":true"));
	CHECK(text && strstr(text, "{\"class\":\"native\",\"thread_id\":0,\"stack_id\":1,\"weight\":1}\n"));
	CHECK(text && strstr(text, "{\"memory\":-10,\"thread_id\":0,\"stack_id\":1}\n"));
	free(text);
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {     /* the whole profile at once */
			path = path_of("split-whole.jsonl");
			f = fopen(path, "w");
			CHECK_INT(jsonl_write(f, p), 0);
			fclose(f);
		}
		struct profile *back = NULL;
		char err[256];
		CHECK_INT(profile_load(path, &back, err, sizeof(err)), 0);
		if (!back)
			continue;
		CHECK(profile__meta(back)->classified && profile__meta(back)->memory);
		for (int c = 0; c < PROF_NCLASSES; c++)
			CHECK_INT(profile__class_total(back, (enum prof_class)c),
				  profile__class_total(p, (enum prof_class)c));
		uint64_t g1, s1, g2, s2_;
		profile__memory_total(p, &g1, &s1);
		profile__memory_total(back, &g2, &s2_);
		CHECK(g1 == g2 && s1 == s2_ && g1 == 100 + 300 + 500 + 700 + 900 && s1 == 5 * (2 + 4 + 6 + 8));
		uint32_t sb = profile__stack_find(back, 0, s2, 2), sp = profile__stack_find(p, t, s2, 2);
		CHECK(sb != PROFILE_NO_STACK && sp != PROFILE_NO_STACK);
		if (sb != PROFILE_NO_STACK && sp != PROFILE_NO_STACK) {
			const struct prof_stack *x = profile__stack_at(back, sb), *y = profile__stack_at(p, sp);
			CHECK(x->count == y->count && memcmp(x->cls, y->cls, sizeof(x->cls)) == 0 &&
			      x->mem_grow == y->mem_grow && x->mem_shrink == y->mem_shrink);
		}
		profile__free(back);
	}
	profile__free(p);
	/* more samples classified than the stack has: refused */
	path = path_of("split-bad.jsonl");
	f = fopen(path, "w");
	fputs("{\"cspy\":{\"version\":\"x\",\"format\":\"jsonl\",\"format_version\":1},\"meta\":{}}\n"
	      "{\"frame\":0,\"name\":\"a\",\"filename\":\"\",\"short_filename\":\"\",\"line\":1,\"kind\":\"python\"}\n"
	      "{\"thread\":0,\"pid\":1,\"tid\":1,\"name\":\"\",\"command_line\":\"\"}\n"
	      "{\"stack\":0,\"frames\":[0]}\n"
	      "{\"t\":0,\"pid\":1,\"tid\":1,\"thread_id\":0,\"stack_id\":0,\"weight\":1}\n"
	      "{\"class\":\"python\",\"thread_id\":0,\"stack_id\":0,\"weight\":2}\n", f);
	fclose(f);
	struct profile *back = NULL;
	char err[256];
	CHECK(profile_load(path, &back, err, sizeof(err)) != 0 && strstr(err, "more samples classified"));
	profile__free(back);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_stream_round_trip);
	TEST_RUN(test_whole_profile);
	TEST_RUN(test_split_memory);
	TEST_RUN(test_cuts);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return TEST_REPORT();
}
