/* SPDX-License-Identifier: MIT
 *
 * Frame walking over synthetic snapshots: a fake interpreter, thread state,
 * frames and code objects are laid out in a snapshot memory reader with the
 * real per-version layouts, and the engine must read back exactly the stack
 * that was built: names, files, lines, GIL holder, TIDs. Also: a code object
 * freed and replaced at the same address never yields a stale name, and
 * cyclic frame chains end in an error or a truncation, never a hang; the
 * entry flags that --native merges with (3.11 is_entry, 3.12+ shim frames,
 * every frame on 2.7). Hostile lists: a thread list that loops (2, 3
 * elements, or back into its middle) fails the sample with -ELOOP after a
 * handful of reads; a frame chain that loops fails its thread with -ELOOP
 * within a few times the loop's length; overlapping frames fail with
 * -EFAULT; and a sample whose threads hold more frames than
 * PYPROC_MAX_SAMPLE_FRAMES in all fails with -E2BIG without reading more.
 * pyproc__validate (a newer minor read with the newest table) accepts a
 * consistent snapshot, whose stack then samples right, and refuses each kind
 * of inconsistency, a layout shifted from the memory's included.
 * The work is counted in reads (mem__reads), not in time.
 * Interpreters: a list that loops (itself, 2, 3 elements, back into its
 * middle) fails the sample with -ELOOP after a handful of reads; a list
 * longer than PYPROC_MAX_INTERPS is read up to the bound. A thread with a
 * state in two interpreters is one thread: the state lower on the C stack
 * (3.12: its _PyCFrame) on top, the interpreter id of that one, also when
 * the state carries another thread's ids (3.12's _xxsubinterpreters; 3.10
 * by its CFrame); before 3.10 states with the same ids, the newer
 * interpreter's on top.
 * The thread-state chain (the last sample's states, read at once): while
 * the list changes between samples (inserted, removed, reordered, looping)
 * every sample equals a fresh reader's one-by-one walk, and the counters
 * show how many states came from the chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include <errno.h>
#include "proc/mem.h"
#include "python/detect.h"
#include "python/offsets.h"
#include "python/pyproc.h"

#define RUNTIME 0x10000
#define INTERP 0x20000
#define TSTATE 0x30000
#define CFRAME 0x38000
#define CHUNK 0x40000
#define CODE_TYPE 0x60000
#define STR_TYPE 0x61000
#define BYTES_TYPE 0x62000
#define STRINGS 0x70000
#define TRUST_WAIT_US 1500      /* past the code trust window (0.5 ms) */

static struct mem *snap;
static struct py_layout L;
static uint64_t next_str = STRINGS;

static void put(uint64_t addr, const void *p, size_t n) { mem__snapshot_add(snap, addr, p, n); }
static void put64(uint64_t addr, uint64_t v) { put(addr, &v, 8); }

static void make_type(uint64_t addr, const char *name)
{
	uint8_t t[512] = { 0 };
	uint64_t name_addr = addr + 0x400;
	memcpy(t + L.tp_name, &name_addr, 8);
	char nm[64] = { 0 };
	snprintf(nm, sizeof(nm), "%s", name);
	put(addr, t, sizeof(t));
	put(name_addr, nm, sizeof(nm));
}

/* A compact ASCII str (PEP 393) or 2.7 str object; returns its address. */
static uint64_t make_str(const char *s)
{
	uint8_t o[256] = { 0 };
	uint64_t a = next_str;
	size_t n = strlen(s);
	next_str += 512;
	if (L.str_kind == PY_STR_PY2) {
		uint64_t type = STR_TYPE;
		memcpy(o + L.ob_type, &type, 8);
		memcpy(o + L.bytes_size, &n, 8);
		memcpy(o + L.bytes_sval, s, n + 1);
	} else {
		uint64_t type = STR_TYPE;
		uint32_t state = (1u << L.uni_kind_shift) | (1u << L.uni_compact_bit) |
				 (1u << L.uni_ascii_bit) | (L.uni_ascii_size == 48 ? 1u << 7 : 0);
		memcpy(o + L.ob_type, &type, 8);
		memcpy(o + L.uni_length, &n, 8);
		memcpy(o + L.uni_state, &state, 4);
		memcpy(o + L.uni_ascii_size, s, n + 1);
	}
	put(a, o, sizeof(o));
	return a;
}

static uint64_t make_bytes(const uint8_t *b, size_t n)
{
	uint8_t o[256] = { 0 };
	uint64_t a = next_str, type = L.str_kind == PY_STR_PY2 ? STR_TYPE : BYTES_TYPE;
	next_str += 512;
	memcpy(o + L.ob_type, &type, 8);
	memcpy(o + L.bytes_size, &n, 8);
	memcpy(o + L.bytes_sval, b, n);
	put(a, o, sizeof(o));
	return a;
}

static void make_code(uint64_t addr, const char *name, const char *file, int first,
		      const uint8_t *tab, size_t tablen)
{
	uint8_t c[512] = { 0 };
	uint64_t type = CODE_TYPE, nm = make_str(name), fn = make_str(file);
	uint64_t lt = make_bytes(tab, tablen);
	memcpy(c + L.ob_type, &type, 8);
	memcpy(c + L.co_name, &nm, 8);
	memcpy(c + L.co_filename, &fn, 8);
	if (L.co_qualname >= 0)
		memcpy(c + L.co_qualname, &nm, 8);
	memcpy(c + L.co_linetable, &lt, 8);
	memcpy(c + L.co_firstlineno, &first, 4);
	/* 3.11+: 8 code units of bytecode, as the location tables here cover */
	uint64_t units = 8;
	if (L.family != PY_FAMILY_FRAMEOBJ && L.ob_size >= 0)
		memcpy(c + L.ob_size, &units, 8);
	put(addr, c, sizeof(c));
}

/* A 3.11+ interpreter frame at fr (in a chunk built locally): its code
 * object, previous frame and instruction pointer. */
static void set_iframe(uint8_t *fr, uint64_t code, uint64_t prev, uint64_t instr)
{
	memcpy(fr + L.if_code, &code, 8);
	memcpy(fr + L.if_previous, &prev, 8);
	memcpy(fr + L.if_instr, &instr, 8);
}

static struct pyproc *setup_ft(unsigned version, bool free_threaded)
{
	snap = mem__new_snapshot();
	next_str = STRINGS;
	/* a newer minor than cspy knows gets the newest table, as pyproc__open does */
	if (offsets_for_version(version, free_threaded, &L) != 0)
		offsets_for_newer(version, free_threaded, &L);
	make_type(CODE_TYPE, "code");
	make_type(STR_TYPE, "str");
	make_type(BYTES_TYPE, "bytes");
	struct py_target t = { .version = version, .runtime = RUNTIME, .code_type = CODE_TYPE,
			       .py2_unicode_size = 4 };
	if (L.rt_interp_head < 0) {
		t.runtime = 0;
		t.interp_head = RUNTIME;        /* 2.7: interp_head variable */
		t.tstate_current = RUNTIME + 8;
		put64(RUNTIME, INTERP);
		put64(RUNTIME + 8, TSTATE);     /* GIL held by our thread */
	} else {
		uint8_t rt[2048] = { 0 };
		uint64_t interp = INTERP, ts = TSTATE;
		int32_t one = 1;
		memcpy(rt + L.rt_interp_head, &interp, 8);
		if (L.rt_gil_locked >= 0) {
			memcpy(rt + L.rt_gil_locked, &one, 4);
			memcpy(rt + L.rt_gil_holder, &ts, 8);
		}
		put(RUNTIME, rt, sizeof(rt));
	}
	/* The interpreter state up to its thread list head (3.13+: past 7 kB),
	 * all zeros: next NULL, id 0 (the main interpreter). */
	static const uint8_t is[8192];
	put(INTERP, is, sizeof(is));
	put64(INTERP + L.is_tstate_head, TSTATE);
	uint8_t ts[512] = { 0 };
	put(TSTATE, ts, sizeof(ts));
	put64(TSTATE + L.ts_thread_id, 0x7777);
	if (L.ts_native_thread_id >= 0)
		put64(TSTATE + L.ts_native_thread_id, 4242);
	return pyproc__new_mem(snap, 0, &t, &L);
}

static struct pyproc *setup(unsigned version)
{
	return setup_ft(version, false);
}

/* 3.11 location table: one NO_COLUMNS entry of 8 code units, line delta +d. */
static const uint8_t loc_tab_plus2[] = { 0x80 | (13 << 3) | 7, 0x04 };

static void test_311_walk(void)
{
	struct pyproc *p = setup(0x030b07f0);
	put64(TSTATE + L.ts_cframe, CFRAME);
	uint64_t f[3] = { CHUNK + 24, CHUNK + 24 + 128, CHUNK + 24 + 256 };
	uint8_t chunk[4096] = { 0 };
	uint64_t size = sizeof(chunk);
	memcpy(chunk + 8, &size, 8);
	const char *names[3] = { "<module>", "outer", "inner" };
	for (int i = 0; i < 3; i++) {
		uint64_t code = 0x50000 + 0x1000 * (uint64_t)i;
		make_code(code, names[i], "/app/main.py", 10 * (i + 1), loc_tab_plus2, 2);
		uint8_t *fr = chunk + (f[i] - CHUNK);
		uint64_t prev = i ? f[i - 1] : 0, instr = code + (uint64_t)L.co_code_adaptive + 2 * (uint64_t)i;
		set_iframe(fr, code, prev, instr);
	}
	put(CHUNK, chunk, sizeof(chunk));
	put64(CFRAME + L.cframe_current, f[2]);
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);

	struct py_sample s = { 0 };
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.threads[0].tid, 4242);
	CHECK(s.threads[0].owns_gil);
	CHECK_INT(s.threads[0].nframes, 3);
	if (s.n == 1 && s.threads[0].nframes == 3) {
		CHECK_STR(s.threads[0].frames[0].code->name, "inner");
		CHECK_INT(s.threads[0].frames[0].line, 32);
		CHECK_STR(s.threads[0].frames[2].code->name, "<module>");
		CHECK_INT(s.threads[0].frames[2].line, 12);
		CHECK_STR(s.threads[0].frames[1].code->short_filename, "main.py");
	}

	/* The code object of "outer" is freed and another one takes its
	 * address (sampled after the code trust window: test_code_trust). */
	make_code(0x51000, "replacement", "/app/other.py", 100, loc_tab_plus2, 2);
	usleep(TRUST_WAIT_US);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	if (s.n == 1 && s.threads[0].nframes == 3) {
		CHECK_STR(s.threads[0].frames[1].code->name, "replacement");
		CHECK_STR(s.threads[0].frames[1].code->filename, "/app/other.py");
		CHECK_INT(s.threads[0].frames[1].line, 102);
	}

	/* A cycle (inner -> outer -> inner ...) is bounded. */
	put64(f[1] + L.if_previous, f[2]);
	int err = pyproc__sample(p, NULL, &s, 0);
	CHECK(err == 0 && s.n == 1 && (s.threads[0].truncated || s.threads[0].err));
	py_sample__release(&s);
	pyproc__close(p);
}

/* 3.11 location table: eight NO_COLUMNS entries of one code unit each,
 * line +1 each: code unit u is at line firstlineno + u + 1. */
static const uint8_t loc_tab_each[] = { 0xe8, 0x02, 0xe8, 0x02, 0xe8, 0x02, 0xe8, 0x02,
					0xe8, 0x02, 0xe8, 0x02, 0xe8, 0x02, 0xe8, 0x02 };

/* A recursion: frames of one code object at one instruction resolve as the
 * frame before them did (their own address and entry flag each); one at
 * another instruction of the same code its own line; a repeat of a frame
 * that was left out is left out. */
static void test_recursion(void)
{
	struct pyproc *p = setup(0x030b07f0);
	put64(TSTATE + L.ts_cframe, CFRAME);
	enum { N = 5 };
	uint64_t f[N];
	uint8_t chunk[4096] = { 0 };
	uint64_t size = sizeof(chunk);
	memcpy(chunk + 8, &size, 8);
	uint64_t rec = 0x50000, top = 0x51000;
	make_code(rec, "rec", "/app/r.py", 20, loc_tab_each, sizeof(loc_tab_each));
	make_code(top, "<module>", "/app/r.py", 1, loc_tab_each, sizeof(loc_tab_each));
	/* innermost first: rec at unit 3 twice, rec at unit 1 twice (the
	 * second an eval-loop entry), <module> at unit 0 */
	const uint64_t code[N] = { rec, rec, rec, rec, top };
	const uint64_t unit[N] = { 3, 3, 1, 1, 0 };
	for (int i = 0; i < N; i++)
		f[i] = CHUNK + 24 + 128 * (uint64_t)(N - 1 - i);
	for (int i = 0; i < N; i++) {
		uint8_t *fr = chunk + (f[i] - CHUNK);
		uint64_t prev = i + 1 < N ? f[i + 1] : 0;
		uint64_t instr = code[i] + (uint64_t)L.co_code_adaptive + 2 * unit[i];
		set_iframe(fr, code[i], prev, instr);
		if (i == 3 && L.if_is_entry >= 0)
			fr[L.if_is_entry] = 1;
	}
	put(CHUNK, chunk, sizeof(chunk));
	put64(CFRAME + L.cframe_current, f[0]);
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);

	struct py_sample s = { 0 };
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK_INT(s.n, 1);
	if (s.n == 1) {
		const struct py_thread *t = &s.threads[0];
		CHECK_INT(t->nframes, N);
		const int line[N] = { 24, 24, 22, 22, 2 };
		for (size_t i = 0; i < t->nframes && i < N; i++) {
			CHECK_STR(t->frames[i].code->name, i < 4 ? "rec" : "<module>");
			CHECK_INT(t->frames[i].line, line[i]);
			CHECK(t->frames[i].frame_addr == f[i]);
			CHECK_INT(t->frames[i].entry, i >= 3);  /* the entry, then the bottom frame */
		}
	}

	/* A repeat of a frame left out (its code object cannot be read) is
	 * left out too: it does not take the kept frame before it. */
	uint64_t gone = 0x5f000;        /* nothing mapped there */
	for (int i = 1; i <= 2; i++)
		set_iframe(chunk + (f[i] - CHUNK), gone, f[i + 1],
			   gone + (uint64_t)L.co_code_adaptive + 2);
	put(CHUNK, chunk, sizeof(chunk));
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	if (s.n == 1) {
		const struct py_thread *t = &s.threads[0];
		CHECK_INT(t->nframes, N - 2);
		for (size_t i = 1; i < t->nframes; i++)
			CHECK(t->frames[i].frame_addr == f[i + 2]);
	}
	py_sample__release(&s);
	pyproc__close(p);
}

/* The line cache (per code object and instruction offset): a leaf going
 * back and forth between two lines reads its line table once per line, and
 * a code object replaced at the same address, its frame at an offset seen
 * before, shows the new object's lines, not the cached ones. */
static void test_line_cache(void)
{
	struct pyproc *p = setup(0x030b07f0);
	put64(TSTATE + L.ts_cframe, CFRAME);
	/* Two entries of 2 code units, NO_COLUMNS, line +1 each. */
	static const uint8_t tab[] = { 0x80 | (13 << 3) | 1, 0x02, 0x80 | (13 << 3) | 1, 0x02 };
	uint64_t code = 0x51000, f = CHUNK + 24;
	make_code(code, "loop", "/app/a.py", 10, tab, sizeof(tab));
	uint8_t chunk[4096] = { 0 };
	uint64_t size = sizeof(chunk), zero = 0;
	memcpy(chunk + 8, &size, 8);
	memcpy(chunk + (f - CHUNK) + L.if_code, &code, 8);
	memcpy(chunk + (f - CHUNK) + L.if_previous, &zero, 8);
	put64(CFRAME + L.cframe_current, f);
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);
	const int offsets[] = { 0, 4, 0, 4, 0 }, lines[] = { 11, 12, 11, 12, 11 };
	struct py_sample s = { 0 };
	for (int round = 0; round < 2; round++) {
		if (round == 1) {       /* freed; another code object at its address */
			make_code(code, "other", "/app/b.py", 100, tab, sizeof(tab));
			usleep(TRUST_WAIT_US);
		}
		for (int i = 0; i < 5; i++) {
			uint64_t instr = code + (uint64_t)L.co_code_adaptive + (uint64_t)offsets[i];
			memcpy(chunk + (f - CHUNK) + L.if_instr, &instr, 8);
			put(CHUNK, chunk, sizeof(chunk));
			CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
			CHECK(s.n == 1 && s.threads[0].nframes == 1);
			if (s.n == 1 && s.threads[0].nframes == 1) {
				CHECK_INT(s.threads[0].frames[0].line, lines[i] + 90 * round);
				CHECK_STR(s.threads[0].frames[0].code->name, round ? "other" : "loop");
			}
		}
	}
	py_sample__release(&s);
	pyproc__close(p);
}

/* The code trust window: a code object checked less than the window ago is
 * not read again (no code header read: pyproc__code_stats); within it a
 * code object replaced at the same address keeps the old name (the
 * documented limit), unless a frame's instruction lies outside the bytecode
 * the entry was checked with; after the window, or with a window of 0, the
 * new name at once. */
static void test_code_trust(void)
{
	struct pyproc *p = setup(0x030c01f0);
	/* A window no run of this test outlasts (under the sanitizers too). */
	pyproc__set_code_trust(p, 60000000000ull);
	uint64_t code = 0x51000, f = CHUNK + 24, zero = 0;
	make_code(code, "loop", "/app/a.py", 10, loc_tab_plus2, 2);
	uint8_t chunk[4096] = { 0 };
	uint64_t size = sizeof(chunk);
	memcpy(chunk + 8, &size, 8);
	uint8_t *fr = chunk + (f - CHUNK);
	memcpy(fr + L.if_code, &code, 8);
	memcpy(fr + L.if_previous, &zero, 8);
	put64(TSTATE + L.ts_cframe, CFRAME);
	put64(CFRAME + L.cframe_current, f);
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);
	struct py_sample s = { 0 };
	uint64_t reads, trusted;
	/* Sample at the instruction at byte offset off; the leaf's name. */
#define AT(off) do { \
		uint64_t instr_ = code + (uint64_t)L.co_code_adaptive + (off); \
		memcpy(fr + L.if_instr, &instr_, 8); \
		put(CHUNK, chunk, sizeof(chunk)); \
		CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0); \
		CHECK(s.n == 1 && s.threads[0].nframes == 1); \
	} while (0)
#define LEAF (s.n == 1 && s.threads[0].nframes == 1 ? s.threads[0].frames[0].code->name : "?")
	AT(0);
	CHECK_STR(LEAF, "loop");
	pyproc__code_stats(p, &reads, &trusted);
	CHECK_INT(reads, 1);
	CHECK_INT(trusted, 0);
	AT(2);
	CHECK_STR(LEAF, "loop");
	pyproc__code_stats(p, &reads, &trusted);
	CHECK_INT(reads, 1);
	CHECK_INT(trusted, 1);

	/* Replaced within the window: the old name (what the window costs). */
	make_code(code, "other", "/app/b.py", 100, loc_tab_plus2, 2);
	AT(4);
	CHECK_STR(LEAF, "loop");
	/* ... but an instruction past the checked bytecode (8 units) is read. */
	AT(20);
	CHECK_STR(LEAF, "other");
	pyproc__code_stats(p, &reads, &trusted);
	CHECK_INT(reads, 2);
	/* After the window (now 1 us): read again, the new name. */
	make_code(code, "third", "/app/c.py", 100, loc_tab_plus2, 2);
	pyproc__set_code_trust(p, 1000);
	usleep(TRUST_WAIT_US);
	AT(4);
	CHECK_STR(LEAF, "third");
	/* Without a window every sample reads it. */
	pyproc__set_code_trust(p, 0);
	make_code(code, "fourth", "/app/d.py", 100, loc_tab_plus2, 2);
	AT(4);
	CHECK_STR(LEAF, "fourth");
	AT(2);
	CHECK_STR(LEAF, "fourth");
	pyproc__code_stats(p, &reads, &trusted);
	CHECK_INT(reads, 5);
#undef AT
#undef LEAF
	py_sample__release(&s);
	pyproc__close(p);
}

/* One stack of more distinct code objects than the code cache holds at
 * first (it grows while the sample resolves them): every frame keeps its
 * own name (the entries are pointers into the table, which must not move
 * under them: under ASan a use after free). */
static void test_many_codes(void)
{
	enum { N = 1500 };
	struct pyproc *p = setup(0x030c01f0);
	const uint64_t chunk_at = 0x4000000, code_at = 0x1000000;
	size_t len = 24 + 128 * (size_t)N;
	uint8_t *chunk = calloc(1, len);
	uint64_t size = len;
	memcpy(chunk + 8, &size, 8);
	for (int i = 0; i < N; i++) {
		uint64_t code = code_at + 0x400 * (uint64_t)i, fa = chunk_at + 24 + 128 * (uint64_t)i;
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		make_code(code, name, "/app/m.py", 10, loc_tab_plus2, 2);
		uint8_t *fr = chunk + (fa - chunk_at);
		uint64_t prev = i ? fa - 128 : 0, instr = code + (uint64_t)L.co_code_adaptive;
		set_iframe(fr, code, prev, instr);
	}
	put(chunk_at, chunk, len);
	put64(TSTATE + L.ts_cframe, CFRAME);
	put64(CFRAME + L.cframe_current, chunk_at + 24 + 128 * (uint64_t)(N - 1));
	put64(TSTATE + L.ts_datastack_chunk, chunk_at);
	struct py_sample s = { 0 };
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].nframes == (size_t)N);
	int bad = 0;
	for (int i = 0; s.n == 1 && (size_t)i < s.threads[0].nframes; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", N - 1 - i);
		bad += strcmp(s.threads[0].frames[i].code->name, name) != 0;
	}
	CHECK_INT(bad, 0);
	free(chunk);
	py_sample__release(&s);
	pyproc__close(p);
}

/* Lay out 3.11+ frames in one datastack chunk: frame i at slot i, with
 * previous = frame i-1 (i = 0 the bottom), code 0x50000 + 0x1000 * i, or
 * a shim frame (owner 3) where shim[i]; is_entry (3.11) where entry[i]. */
static void make_iframes(int n, const bool *shim, const bool *entry, uint64_t *addrs)
{
	uint8_t chunk[4096] = { 0 };
	uint64_t size = sizeof(chunk);
	memcpy(chunk + 8, &size, 8);
	for (int i = 0; i < n; i++) {
		addrs[i] = CHUNK + 24 + 128 * (uint64_t)i;
		uint64_t code = 0x50000 + 0x1000 * (uint64_t)i;
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		if (!shim[i])
			make_code(code, name, "/app/main.py", 10, loc_tab_plus2, 2);
		uint8_t *fr = chunk + (addrs[i] - CHUNK);
		uint64_t prev = i ? addrs[i - 1] : 0, instr = code + (uint64_t)L.co_code_adaptive;
		set_iframe(fr, code, prev, instr);
		fr[L.if_owner] = shim[i] ? 3 : 0;
		if (L.if_is_entry >= 0)
			fr[L.if_is_entry] = entry[i];
	}
	put(CHUNK, chunk, sizeof(chunk));
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);
}

/* py_frame.entry (for --native): 3.11 from is_entry; 3.12+ a frame called
 * from a shim frame, and the bottom frame; <= 3.10 every frame. */
static void test_entry_flags(void)
{
	uint64_t a[8];
	struct py_sample s = { 0 };

	struct pyproc *p = setup(0x030b07f0);
	const bool no_shim[4] = { false, false, false, false };
	const bool e311[4] = { true, false, true, false };      /* f0 and f2 began eval calls */
	make_iframes(4, no_shim, e311, a);
	put64(TSTATE + L.ts_cframe, CFRAME);
	put64(CFRAME + L.cframe_current, a[3]);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].nframes == 4);
	if (s.n == 1 && s.threads[0].nframes == 4) {
		const struct py_frame *f = s.threads[0].frames;     /* innermost first: f3 f2 f1 f0 */
		CHECK(!f[0].entry && f[1].entry && !f[2].entry && f[3].entry);
	}
	pyproc__close(p);

	/* 3.12: shim, f1, f2, shim, f4, f5 (innermost) -> f4 and f1 are entries. */
	p = setup(0x030c01f0);
	const bool shim[6] = { true, false, false, true, false, false };
	const bool none[6] = { false };
	make_iframes(6, shim, none, a);
	put64(TSTATE + L.ts_cframe, CFRAME);
	put64(CFRAME + L.cframe_current, a[5]);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].nframes == 4);
	if (s.n == 1 && s.threads[0].nframes == 4) {
		const struct py_frame *f = s.threads[0].frames;     /* f5 f4 f2 f1 */
		CHECK_STR(f[1].code->name, "f4");
		CHECK(!f[0].entry && f[1].entry && !f[2].entry && f[3].entry);
	}
	/* No shim under the bottom frame: the bottom frame is an entry anyway. */
	const bool shim2[3] = { false, false, false };
	make_iframes(3, shim2, none, a);
	put64(CFRAME + L.cframe_current, a[2]);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	if (s.n == 1 && s.threads[0].nframes == 3) {
		const struct py_frame *f = s.threads[0].frames;
		CHECK(!f[0].entry && !f[1].entry && f[2].entry);
	} else {
		CHECK(0);
	}
	py_sample__release(&s);
	pyproc__close(p);
}

/* 2.7: PyFrameObject chain, co_lnotab with unsigned increments. */
static void test_27_walk(void)
{
	struct pyproc *p = setup(0x020712f0);
	const uint8_t lnotab[] = { 6, 1, 8, 2 };        /* 0-5: +0, 6-13: +1, 14-: +3 */
	uint64_t frames[2] = { 0x80000, 0x81000 };
	int lasti[2] = { 3, 20 };
	const char *names[2] = { "<module>", "work" };
	for (int i = 0; i < 2; i++) {
		uint64_t code = 0x50000 + 0x1000 * (uint64_t)i;
		make_code(code, names[i], "w.py", 5, lnotab, sizeof(lnotab));
		uint8_t fr[512] = { 0 };
		uint64_t back = i ? frames[i - 1] : 0;
		memcpy(fr + L.f_code, &code, 8);
		memcpy(fr + L.f_back, &back, 8);
		memcpy(fr + L.f_lasti, &lasti[i], 4);
		put(frames[i], fr, sizeof(fr));
	}
	put64(TSTATE + L.ts_frame, frames[1]);
	struct py_sample s = { 0 };
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK_INT(s.n, 1);
	if (s.n == 1) {
		CHECK(s.threads[0].owns_gil);
		CHECK_INT(s.threads[0].nframes, 2);
		if (s.threads[0].nframes == 2) {
			CHECK_STR(s.threads[0].frames[0].code->name, "work");
			CHECK_INT(s.threads[0].frames[0].line, 8);
			CHECK_INT(s.threads[0].frames[1].line, 5);
			/* every frame runs in its own eval call */
			CHECK(s.threads[0].frames[0].entry && s.threads[0].frames[1].entry);
		}
	}
	/* f_back pointing at itself: an error for that thread, no hang. */
	put64(frames[1] + L.f_back, frames[1]);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].err != 0);
	py_sample__release(&s);
	pyproc__close(p);
}

/* Torn memory: a thread state pointing into nowhere fails cleanly. */
static void test_unmapped_tstate(void)
{
	struct pyproc *p = setup(0x030c01f0);
	put64(INTERP + L.is_tstate_head, 0xdead0000);
	struct py_sample s = { 0 };
	CHECK(pyproc__sample(p, NULL, &s, 0) < 0);
	py_sample__release(&s);
	pyproc__close(p);
}

#define TSTATES 0x200000            /* thread states of the hostile lists, TS_STRIDE apart */
#define TS_STRIDE 0x200
#define FRAMES 0x1000000            /* frame objects (<= 3.10), FRAME_STRIDE apart */
#define FRAME_STRIDE 256

/* n thread states: thread i's next is thread next[i] (-1: none), each with
 * its frame (<= 3.10) = frame; the interpreter's head is thread 0. */
static void make_threads(int n, const int *next, uint64_t frame)
{
	size_t sz = (size_t)n * TS_STRIDE;
	uint8_t *b = calloc(1, sz);
	for (int i = 0; i < n; i++) {
		uint8_t *t = b + (size_t)i * TS_STRIDE;
		uint64_t nx = next[i] < 0 ? 0 : TSTATES + (uint64_t)TS_STRIDE * (uint64_t)next[i];
		uint64_t ident = 0x1000 + (uint64_t)i, tid = 5000 + (uint64_t)i;
		memcpy(t + L.ts_next, &nx, 8);
		memcpy(t + L.ts_thread_id, &ident, 8);
		if (L.ts_native_thread_id >= 0)
			memcpy(t + L.ts_native_thread_id, &tid, 8);
		memcpy(t + L.ts_frame, &frame, 8);
	}
	put(TSTATES, b, sz);
	free(b);
	put64(INTERP + L.is_tstate_head, TSTATES);
}

/* A chain of n frame objects (<= 3.10) at FRAMES: frame i's f_back is frame
 * i + 1; the last one's is frame loop_to (-1: none). All run one code object. */
static uint64_t make_frame_chain(int n, int loop_to)
{
	size_t sz = (size_t)n * FRAME_STRIDE;
	uint8_t *b = calloc(1, sz);
	uint64_t code = 0x50000;
	make_code(code, "spin", "/app/hostile.py", 10, loc_tab_plus2, 2);
	for (int i = 0; i < n; i++) {
		uint8_t *f = b + (size_t)i * FRAME_STRIDE;
		uint64_t back = i + 1 < n ? FRAMES + (uint64_t)FRAME_STRIDE * (uint64_t)(i + 1)
			      : loop_to < 0 ? 0 : FRAMES + (uint64_t)FRAME_STRIDE * (uint64_t)loop_to;
		memcpy(f + L.f_code, &code, 8);
		memcpy(f + L.f_back, &back, 8);
	}
	put(FRAMES, b, sz);
	free(b);
	return FRAMES;
}

/* Reads one sample took. */
static uint64_t sample_reads(struct pyproc *p, struct py_sample *s, int *err)
{
	uint64_t before = mem__reads(snap);     /* owned by p */
	*err = pyproc__sample(p, NULL, s, 0);
	return mem__reads(snap) - before;
}

/* A thread list that loops: -ELOOP, after reading each thread once. */
static void test_thread_list_loops(void)
{
	static const int lists[][3] = {
		{ 1, 0, -1 },           /* 2 elements */
		{ 1, 2, 0 },            /* 3 elements */
		{ 0, -1, -1 },          /* itself */
		{ 1, 2, 1 },            /* back into its middle */
	};
	static const int lens[] = { 2, 3, 1, 3 };
	struct py_sample s = { 0 };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct pyproc *p = setup(0x030a0df0);
		make_threads(lens[k], lists[k], make_frame_chain(3, -1));
		int err;
		uint64_t reads = sample_reads(p, &s, &err);
		printf("    thread list %zu: err %d, %llu reads\n", k, err, (unsigned long long)reads);
		CHECK_INT(err, -ELOOP);
		CHECK(reads < 64);
		pyproc__close(p);
	}
	/* The same threads without the loop are read. */
	struct pyproc *p = setup(0x030a0df0);
	const int line[3] = { 1, 2, -1 };
	make_threads(3, line, make_frame_chain(3, -1));
	int err;
	sample_reads(p, &s, &err);
	CHECK_INT(err, 0);
	CHECK_INT(s.n, 3);
	if (s.n == 3)
		CHECK(s.threads[2].nframes == 3 && !s.threads[2].err);
	py_sample__release(&s);
	pyproc__close(p);
}

/* A frame chain that loops: that thread fails with -ELOOP after a few
 * times the loop's length in reads; frames that overlap: -EFAULT. */
static void test_frame_chain_loops(void)
{
	struct py_sample s = { 0 };
	struct pyproc *p = setup(0x030a0df0);
	const int one[1] = { -1 };
	make_threads(1, one, make_frame_chain(1000, 10));      /* 10 .. 999 loop */
	int err;
	uint64_t reads = sample_reads(p, &s, &err);
	printf("    1000-frame loop: err %d, thread err %d, %llu reads\n", err,
	       s.n ? s.threads[0].err : 0, (unsigned long long)reads);
	CHECK_INT(err, 0);
	CHECK(s.n == 1 && s.threads[0].err == -ELOOP);
	CHECK(reads < 3 * 1000 + 64);

	/* f_back 8 bytes past its own frame. */
	put64(FRAMES + L.f_back, FRAMES + 8);
	sample_reads(p, &s, &err);
	CHECK(s.n == 1 && s.threads[0].err == -EFAULT);
	pyproc__close(p);

	/* 3.12: a loop of _PyInterpreterFrames inside one datastack chunk. */
	p = setup(0x030c01f0);
	uint64_t a[20];
	bool shim[20] = { false }, entry[20] = { false };
	make_iframes(20, shim, entry, a);
	put64(a[0] + L.if_previous, a[19]);     /* the bottom frame's previous: the top */
	put64(TSTATE + L.ts_cframe, CFRAME);
	put64(CFRAME + L.cframe_current, a[19]);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].err == -ELOOP);
	py_sample__release(&s);
	pyproc__close(p);
}

/* More frames in all than PYPROC_MAX_SAMPLE_FRAMES (64 threads of 8,000
 * frames each, no loop anywhere): -E2BIG, having read no more than that. */
static void test_sample_bounded(void)
{
	struct py_sample s = { 0 };
	struct pyproc *p = setup(0x030a0df0);
	int next[64];
	for (int i = 0; i < 64; i++)
		next[i] = i + 1 < 64 ? i + 1 : -1;
	make_threads(64, next, make_frame_chain(8000, -1));
	int err;
	uint64_t reads = sample_reads(p, &s, &err);
	printf("    64 x 8000 frames: err %d, %llu reads\n", err, (unsigned long long)reads);
	CHECK_INT(err, -E2BIG);
	CHECK(reads <= PYPROC_MAX_SAMPLE_FRAMES + 64 * 8);
	py_sample__release(&s);
	pyproc__close(p);
}


/* 3.14t: thread-local bytecode and the GIL that may not exist. A frame
 * with tlbc_index 1 executes co_tlbc->entries[1], a copy of the bytecode
 * elsewhere in memory: its line is found from its offset in that copy (and
 * counted in pyproc__tlbc_frames); a frame with index 0 uses
 * co_code_adaptive. f_executable is a tagged _PyStackRef (bit 0 set). The
 * GIL state: absent while interp->ceval.gil is NULL (-EAGAIN), disabled
 * (0: no thread owns it), enabled (1, its holder owns it). */
static void test_314t_tlbc_gil(void)
{
	struct pyproc *p = setup_ft(0x030e07f0, true);
	CHECK(L.free_threaded && L.co_tlbc >= 0 && L.if_tlbc_index >= 0 && L.gil_enabled >= 0);
	/* Two 8-unit entries: bytes 0-15 are line first+2, 16-31 first+5. */
	static const uint8_t tab[] = { 0x80 | (13 << 3) | 7, 0x04, 0x80 | (13 << 3) | 7, 0x06 };
	uint64_t code = 0x50000, copy = 0x58000, arr = 0x59000, frame = CHUNK + 24;
	make_code(code, "hot", "/app/hot.py", 20, tab, sizeof(tab));
	put64(code + L.co_tlbc, arr);
	uint64_t entries[3] = { 2, code + (uint64_t)L.co_code_adaptive, copy };
	put(arr, entries, sizeof(entries));
	uint8_t chunk[512] = { 0 };
	uint64_t size = sizeof(chunk), tagged = code | 1, instr = copy + 2 * 9;
	int32_t idx = 1;
	memcpy(chunk + 8, &size, 8);
	memcpy(chunk + 24 + L.if_code, &tagged, 8);
	memcpy(chunk + 24 + L.if_instr, &instr, 8);
	memcpy(chunk + 24 + L.if_tlbc_index, &idx, 4);
	put(CHUNK, chunk, sizeof(chunk));
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);
	put64(TSTATE + L.ts_current_frame, frame);

	CHECK_INT(pyproc__gil_enabled(p), -EAGAIN);     /* ceval.gil not set yet */
	uint8_t gil[64] = { 0 };
	uint64_t gil_addr = INTERP + 0x800, holder = TSTATE;
	int32_t locked = 1, enabled = 0;
	memcpy(gil + L.gil_locked, &locked, 4);
	memcpy(gil + L.gil_holder, &holder, 8);
	put(gil_addr, gil, sizeof(gil));
	put64(INTERP + L.is_gil_ptr, gil_addr);
	CHECK_INT(pyproc__gil_enabled(p), 0);

	struct py_sample s = { 0 };
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK_INT(s.n, 1);
	if (s.n == 1 && s.threads[0].nframes == 1) {
		CHECK_STR(s.threads[0].frames[0].code->name, "hot");
		CHECK_INT(s.threads[0].frames[0].line, 25);     /* 18 bytes into the copy */
		CHECK(!s.threads[0].owns_gil);                  /* no GIL: nobody owns it */
	} else {
		CHECK_INT(s.n == 1 ? (int)s.threads[0].nframes : -1, 1);
	}
	CHECK_INT((int)pyproc__tlbc_frames(p), 1);

	/* Index 0: the shared co_code_adaptive; not counted. */
	idx = 0;
	instr = code + (uint64_t)L.co_code_adaptive + 2;
	put(frame + L.if_tlbc_index, &idx, 4);
	put64(frame + L.if_instr, instr);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	if (s.n == 1 && s.threads[0].nframes == 1)
		CHECK_INT(s.threads[0].frames[0].line, 22);
	CHECK_INT((int)pyproc__tlbc_frames(p), 1);

	/* The GIL enabled (PYTHON_GIL=1): its holder owns it again. */
	enabled = 0x7fffffff;
	put(gil_addr + L.gil_enabled, &enabled, 4);
	CHECK_INT(pyproc__gil_enabled(p), 1);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].owns_gil);
	py_sample__release(&s);
	pyproc__close(p);

	/* A build with a GIL has one, nothing read. */
	p = setup(0x030e07f0);
	CHECK_INT(pyproc__gil_enabled(p), 1);
	pyproc__close(p);
}

/* pyproc__validate, the live check of a newer minor read with the newest
 * table: a consistent 3.15 snapshot passes (and samples right); a thread
 * state that does not point back to its interpreter, a frame whose code
 * object is not of the code type, an instruction outside its code object,
 * an insane code size or no frame at all each fail with the reason. */
static void test_validate(void)
{
	uint64_t a[3];
	char why[256];
	struct py_sample s = { 0 };
	const bool no[3] = { false, false, false };
	struct pyproc *p = setup(0x030f02f0);
	make_iframes(3, no, no, a);
	for (int i = 0; i < 3; i++)
		put64(0x50000 + 0x1000 * (uint64_t)i + (uint64_t)L.ob_size, 64);  /* code units */
	put64(TSTATE + L.ts_interp, INTERP);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "no Python frame to check");
	put64(TSTATE + L.ts_current_frame, a[2]);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), 0);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].nframes == 3);
	if (s.n == 1 && s.threads[0].nframes == 3)
		CHECK_STR(s.threads[0].frames[0].code->name, "f2");

	put64(TSTATE + L.ts_interp, INTERP + 8);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "a thread state does not point back to its interpreter");
	put64(TSTATE + L.ts_interp, INTERP);

	put64(0x51000 + (uint64_t)L.ob_type, STR_TYPE);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "a frame's code object is not of the code type");
	put64(0x51000 + (uint64_t)L.ob_type, CODE_TYPE);

	put64(a[1] + (uint64_t)L.if_instr, 0x51000 + (uint64_t)L.co_code_adaptive + 2 * 64 + 2);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "a frame's instruction is outside its code object");
	put64(a[1] + (uint64_t)L.if_instr, 0x51000 + (uint64_t)L.co_code_adaptive);

	put64(0x50000 + (uint64_t)L.ob_size, (uint64_t)1 << 40);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "a code object has an insane size or first line");
	put64(0x50000 + (uint64_t)L.ob_size, 64);

	a[0] = 0;
	put64(TSTATE + L.ts_current_frame, a[2]);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), 0);
	pyproc__close(p);

	/* A "3.16" laid out like 3.15, read with the untested newest table:
	 * passes the checks and samples the stack that was built. */
	p = setup(0x031000a1);
	CHECK(L.untested && L.table_minor == PY_VER(3, 15));
	make_iframes(3, no, no, a);
	for (int i = 0; i < 3; i++)
		put64(0x50000 + 0x1000 * (uint64_t)i + (uint64_t)L.ob_size, 64);
	put64(TSTATE + L.ts_interp, INTERP);
	put64(TSTATE + L.ts_current_frame, a[2]);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), 0);
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].nframes == 3);
	if (s.n == 1 && s.threads[0].nframes == 3) {
		CHECK_STR(s.threads[0].frames[0].code->name, "f2");
		CHECK_STR(s.threads[0].frames[2].code->name, "f0");
		CHECK_INT(s.threads[0].frames[0].line, 12);
	}
	/* The same memory shifted as a newer layout would have it (thread
	 * states grown by 16 bytes before current_frame): refused. */
	put64(TSTATE + L.ts_current_frame, 0);
	put64(TSTATE + L.ts_current_frame + 16, a[2]);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "no Python frame to check");
	/* ... or where current_frame finds another pointer (the datastack chunk's header) */
	put64(TSTATE + L.ts_current_frame, CHUNK);
	CHECK_INT(pyproc__validate(p, why, sizeof(why)), -EINVAL);
	printf("    a chunk taken for a frame: %s\n", why);
	py_sample__release(&s);
	pyproc__close(p);
}

#define INTERPS 0x400000            /* interpreters of the lists, IS_STRIDE apart */
#define IS_STRIDE 0x100

/* n interpreters (3.12 layout): interpreter i's next is next[i] (-1: none),
 * id 10 + i, no threads; the runtime's head is interpreter 0. */
static void make_interps(int n, const int *next)
{
	size_t sz = (size_t)n * IS_STRIDE;
	uint8_t *b = calloc(1, sz);
	for (int i = 0; i < n; i++) {
		uint8_t *is = b + (size_t)i * IS_STRIDE;
		uint64_t nx = next[i] < 0 ? 0 : INTERPS + (uint64_t)IS_STRIDE * (uint64_t)next[i];
		int64_t id = 10 + i;
		memcpy(is + L.is_next, &nx, 8);
		memcpy(is + L.is_id, &id, 8);
	}
	put(INTERPS, b, sz);
	free(b);
	put64(RUNTIME + L.rt_interp_head, INTERPS);
}

/* An interpreter list that loops: -ELOOP after reading each interpreter a
 * few times at most; a long list ends at the bound, without an error. */
static void test_interp_list_loops(void)
{
	static const int lists[][3] = {
		{ 0, -1, -1 },          /* itself */
		{ 1, 0, -1 },           /* 2 elements */
		{ 1, 2, 0 },            /* 3 elements */
		{ 1, 2, 1 },            /* back into its middle */
	};
	static const int lens[] = { 1, 2, 3, 3 };
	struct py_sample s = { 0 };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct pyproc *p = setup(0x030c01f0);
		make_interps(lens[k], lists[k]);
		int err;
		uint64_t reads = sample_reads(p, &s, &err);
		printf("    interpreter list %zu: err %d, %llu reads\n", k, err, (unsigned long long)reads);
		CHECK_INT(err, -ELOOP);
		CHECK(reads < 16);
		pyproc__close(p);
	}
	/* 1000 interpreters in a line: PYPROC_MAX_INTERPS of them are read. */
	int next[1000];
	for (int i = 0; i < 1000; i++)
		next[i] = i + 1 < 1000 ? i + 1 : -1;
	struct pyproc *p = setup(0x030c01f0);
	make_interps(1000, next);
	int err;
	uint64_t reads = sample_reads(p, &s, &err);
	printf("    1000 interpreters: err %d, %llu reads\n", err, (unsigned long long)reads);
	CHECK_INT(err, 0);
	CHECK_INT(s.n, 0);
	CHECK(reads <= PYPROC_MAX_INTERPS + 8);
	py_sample__release(&s);
	pyproc__close(p);
}

/* A 3.12 thread state at ts (next: the next one), with OS thread id tid,
 * its current _PyCFrame at cframe (on "the C stack") and n frames named
 * names[] (innermost last) in a datastack chunk at chunk. */
static void make_ts312(uint64_t ts, uint64_t next, uint64_t tid, uint64_t cframe, uint64_t chunk,
		       const char *const *names, int n, uint64_t codes)
{
	uint8_t b[512] = { 0 }, c[2048] = { 0 };
	uint64_t ident = tid * 16, size = sizeof(c), top = 0;
	memcpy(b + L.ts_next, &next, 8);
	memcpy(b + L.ts_thread_id, &ident, 8);
	memcpy(b + L.ts_native_thread_id, &tid, 8);
	memcpy(b + L.ts_cframe, &cframe, 8);
	memcpy(b + L.ts_datastack_chunk, &chunk, 8);
	memcpy(c + 8, &size, 8);
	for (int i = 0; i < n; i++) {
		uint64_t fa = chunk + 24 + 128 * (uint64_t)i, code = codes + 0x1000 * (uint64_t)i;
		uint64_t prev = i ? top : 0, instr = code + (uint64_t)L.co_code_adaptive;
		make_code(code, names[i], "/app/sub.py", 10, loc_tab_plus2, 2);
		uint8_t *fr = c + 24 + 128 * i;
		set_iframe(fr, code, prev, instr);
		top = fa;
	}
	put(ts, b, sizeof(b));
	put(chunk, c, sizeof(c));
	put64(cframe + L.cframe_current, top);
}

static void frame_names(const struct py_thread *t, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < t->nframes; i++)
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", i ? " " : "", t->frames[i].code->name);
}

#define TS_SUB 0x500800              /* the subinterpreter's thread state */

typedef void make_ts_fn(uint64_t ts, uint64_t next, uint64_t tid, uint64_t cframe,
			uint64_t at, const char *const *names, int n, uint64_t codes);

/* The scenario of the join tests, built with make (one thread state of the
 * version's family): the main interpreter (id 0, the list's tail) with the
 * threads R (TID 100, its stack near 0x7f0000100000) and M (TID 200, far
 * above); the subinterpreter (id 2, the head) with a state bearing sub_tid's
 * ids, lower on R's C stack. Sampled into s (checked to succeed). */
static struct pyproc *two_interps(unsigned version, make_ts_fn *make, uint64_t sub_tid,
				  struct py_sample *s)
{
	static const char *const r_main[] = { "r_boot", "r_call" };
	static const char *const m_main[] = { "m_main", "m_wait" };
	static const char *const r_sub[] = { "s_mod", "s_block" };
	struct pyproc *p = setup(version);
	const int next[2] = { 1, -1 };
	make_interps(2, next);
	put64(INTERPS + L.is_id, 2);
	put64(INTERPS + IS_STRIDE + L.is_id, 0);
	uint64_t ts_r = 0x500000, ts_m = 0x500400, ts_s = TS_SUB;
	make(ts_r, ts_m, 100, 0x7f0000100000, 0x600000, r_main, 2, 0x800000);
	make(ts_m, 0, 200, 0x7ffd00000000, 0x610000, m_main, 2, 0x900000);
	make(ts_s, 0, sub_tid, 0x7f00000f0000, 0x620000, r_sub, 2, 0xa00000);
	put64(INTERPS + L.is_tstate_head, ts_s);
	put64(INTERPS + IS_STRIDE + L.is_tstate_head, ts_r);
	CHECK_INT(pyproc__sample(p, NULL, s, 0), 0);
	return p;
}

/* Two interpreters (3.12): the main one (id 0, the list's tail) with the
 * threads R (TID 100) and M (TID 200); the subinterpreter (id 2, the head)
 * with a state of R that it runs in now, lower on R's C stack than R's
 * main-interpreter state. R is one thread: sub frames above main ones. */
static void test_interp_join(void)
{
	struct py_sample s = { 0 };
	char got[256];
	for (int misbound = 0; misbound < 2; misbound++) {
		/* 3.12's _xxsubinterpreters: the state of the thread that made
		 * the interpreter (M), run by R. */
		struct pyproc *p = two_interps(0x030c01f0, make_ts312, misbound ? 200 : 100, &s);
		CHECK_INT(s.n, 2);
		for (size_t i = 0; i < s.n; i++) {
			const struct py_thread *t = &s.threads[i];
			frame_names(t, got, sizeof(got));
			printf("    %s: thread %d interpreter %lld: %s\n", misbound ? "3.12 ids" : "own ids",
			       (int)t->tid, (long long)t->interp_id, got);
			if (t->tid == 100) {
				CHECK_STR(got, "s_block s_mod r_call r_boot");
				CHECK_INT(t->interp_id, 2);
				CHECK(t->tstate == TS_SUB && !t->err);
				CHECK(t->frames[1].entry && t->frames[3].entry && !t->frames[2].entry);
			} else {
				CHECK_INT(t->tid, 200);
				CHECK_STR(got, "m_wait m_main");
				CHECK_INT(t->interp_id, 0);
			}
		}
		pyproc__close(p);
	}
	py_sample__release(&s);
}

/* A <= 3.10 thread state at ts for thread tid (its thread id derived from
 * it) and a chain of frame objects
 * named names[] (innermost last) from frames on; cframe (3.10) its CFrame. */
static void make_ts_frameobj(uint64_t ts, uint64_t next, uint64_t tid, uint64_t cframe,
			     uint64_t frames, const char *const *names, int n, uint64_t codes)
{
	static const uint8_t lnotab[] = { 2, 0 };
	uint8_t b[512] = { 0 };
	uint64_t ident = 0x7f0000000000ull + tid * 0x10000, top = 0;
	memcpy(b + L.ts_next, &next, 8);
	memcpy(b + L.ts_thread_id, &ident, 8);
	if (L.ts_cframe >= 0)
		memcpy(b + L.ts_cframe, &cframe, 8);
	for (int i = 0; i < n; i++) {
		uint8_t fr[256] = { 0 };
		uint64_t code = codes + 0x1000 * (uint64_t)i, fa = frames + 0x100 * (uint64_t)i;
		make_code(code, names[i], "/app/sub.py", 10, lnotab, sizeof(lnotab));
		memcpy(fr + L.f_code, &code, 8);
		memcpy(fr + L.f_back, &top, 8);
		put(fa, fr, sizeof(fr));
		top = fa;
	}
	memcpy(b + L.ts_frame, &top, 8);
	put(ts, b, sizeof(b));
}

/* Before 3.10 (no C stack address): states with the same thread ids are
 * joined, the newer interpreter's (the list's head) on top; 3.10 joins by
 * its CFrame's place, also a state with another thread's ids. */
static void test_interp_join_frameobj(void)
{
	static const unsigned versions[] = { 0x030912f0, 0x030a0df0 };
	struct py_sample s = { 0 };
	char got[256];
	for (size_t v = 0; v < 2; v++) {
		/* 3.10: the main thread's ids, run by R (_xxsubinterpreters) */
		struct pyproc *p = two_interps(versions[v], make_ts_frameobj, v ? 200 : 100, &s);
		CHECK_INT(s.n, 2);
		for (size_t i = 0; i < s.n; i++) {
			const struct py_thread *t = &s.threads[i];
			frame_names(t, got, sizeof(got));
			/* no task list in a snapshot: threads by their ids */
			bool r = t->thread_id == 0x7f0000000000ull + 100 * 0x10000;
			printf("    %x: thread %#llx interpreter %lld: %s\n", versions[v] >> 16,
			       (unsigned long long)t->thread_id, (long long)t->interp_id, got);
			CHECK_STR(got, r ? "s_block s_mod r_call r_boot" : "m_wait m_main");
			CHECK_INT(t->interp_id, r ? 2 : 0);
		}
		pyproc__close(p);
	}
	py_sample__release(&s);
}

static bool sample_flag(struct pyproc *p, unsigned flags, bool gc)
{
	struct py_sample s = { 0 };
	bool v = false;
	if (pyproc__sample(p, NULL, &s, flags) == 0 && s.n == 1)
		v = gc ? s.threads[0].in_gc : s.threads[0].in_exception;
	else
		CHECK(!"one thread sampled");
	py_sample__release(&s);
	return v;
}

static void put32(uint64_t addr, int32_t v) { put(addr, &v, 4); }

/* One frame on the test thread, in the version's family (a thread without
 * frames nor TID would be dropped as not started). */
static void one_frame(void)
{
	if (L.family == PY_FAMILY_FRAMEOBJ) {
		const uint8_t lnotab[] = { 6, 1 };
		uint64_t code = 0x50000, frame = 0x80000;
		make_code(code, "work", "w.py", 5, lnotab, sizeof(lnotab));
		uint8_t fr[512] = { 0 };
		memcpy(fr + L.f_code, &code, 8);
		put(frame, fr, sizeof(fr));
		put64(TSTATE + L.ts_frame, frame);
		return;
	}
	uint64_t a[1];
	const bool no[1] = { false };
	make_iframes(1, no, no, a);
	if (L.ts_current_frame >= 0) {
		put64(TSTATE + L.ts_current_frame, a[0]);
	} else {
		put64(TSTATE + L.ts_cframe, CFRAME);
		put64(CFRAME + L.cframe_current, a[0]);
	}
}

/* --mode exception: the exception raised (curexc_type / current_exception)
 * and the one handled (2.7/3.6 exc_type; 3.7+ the topmost item of the
 * exc_info chain that holds one: an empty generator item is skipped, a chain
 * that loops ends), read only with PYSAMPLE_EXCEPTION. <GC>: the GIL holder
 * while the collector's flag is set (3.7/3.8 in _PyRuntime, 3.9+ in the
 * interpreter), only with PYSAMPLE_GC; free-threaded: the attached state. */
static void test_exception_and_gc(void)
{
	const unsigned versions[] = { 0x020712f0, 0x030610f0, 0x030812f0, 0x030a0df0, 0x030b07f0,
				      0x030c01f0, 0x030d00f0, 0x030e00f0, 0x030f00c1 };
	const uint64_t EXC = 0x90000, ITEM_A = 0x91000, ITEM_B = 0x92000;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		struct pyproc *p = setup(versions[i]);
		one_frame();
		CHECK(L.ts_curexc >= 0);
		CHECK(!sample_flag(p, PYSAMPLE_EXCEPTION, false));
		put64(TSTATE + L.ts_curexc, EXC);
		CHECK(sample_flag(p, PYSAMPLE_EXCEPTION, false));
		CHECK(!sample_flag(p, 0, false));               /* not read unless asked */
		put64(TSTATE + L.ts_curexc, 0);
		if (L.ts_exc_type >= 0) {
			put64(TSTATE + L.ts_exc_type, EXC);
			CHECK(sample_flag(p, PYSAMPLE_EXCEPTION, false));
		} else {
			uint8_t item[64] = { 0 };
			put(ITEM_A, item, sizeof(item));
			put(ITEM_B, item, sizeof(item));
			put64(ITEM_A + L.es_previous, ITEM_B);  /* a generator's empty item */
			put64(ITEM_B + L.es_exc, EXC);          /* the thread's, handling one */
			put64(TSTATE + L.ts_exc_info, ITEM_A);
			CHECK(sample_flag(p, PYSAMPLE_EXCEPTION, false));
			put64(ITEM_B + L.es_exc, 0);
			CHECK(!sample_flag(p, PYSAMPLE_EXCEPTION, false));
			put64(ITEM_A + L.es_previous, ITEM_A);  /* loops: ends, says no */
			uint64_t r0 = mem__reads(snap);
			CHECK(!sample_flag(p, PYSAMPLE_EXCEPTION, false));
			CHECK(mem__reads(snap) - r0 < 4096);
		}
		/* The collector: the GIL holder (set up for 3.7-3.11) gets it. */
		uint64_t flag = L.is_gc_collecting >= 0 ? INTERP + (uint64_t)L.is_gc_collecting
			      : L.rt_gc_collecting >= 0 ? RUNTIME + (uint64_t)L.rt_gc_collecting : 0;
		if (flag && L.rt_gil_locked >= 0) {
			CHECK(!sample_flag(p, PYSAMPLE_GC, true));
			put32(flag, 1);
			CHECK(sample_flag(p, PYSAMPLE_GC, true));
			CHECK(sample_flag(p, PYSAMPLE_GC | PYSAMPLE_NO_GIL, true));
			CHECK(!sample_flag(p, 0, true));
		}
		pyproc__close(p);
	}
	/* Free-threaded without a GIL: the one attached thread state. */
	struct pyproc *p = setup_ft(0x030e00f0, true);
	one_frame();
	put32(INTERP + (uint64_t)L.is_gc_collecting, 1);
	put32(TSTATE + (uint64_t)L.ts_state, 2);                /* suspended */
	CHECK(!sample_flag(p, PYSAMPLE_GC, true));
	put32(TSTATE + (uint64_t)L.ts_state, 1);                /* attached */
	CHECK(sample_flag(p, PYSAMPLE_GC, true));
	pyproc__close(p);
}

/* The thread-state chain (pyproc.c, chain_fetch): a sample reads the last
 * sample's states at once and follows them while the list is the same. The
 * list changes between samples (a state inserted at the head, one removed
 * in the middle, one added at the tail, the order changed, a loop back into
 * the chain, the head removed): each sample must equal the one-by-one walk
 * of a fresh reader over the same memory, and the counters say which states
 * came from the chain. */
#define CHAIN_STATES 8

struct walk_result {
	int err;
	size_t n;
	uint64_t tstate[CHAIN_STATES * 2], thread_id[CHAIN_STATES * 2];
	size_t nframes[CHAIN_STATES * 2];
};

/* States 0..CHAIN_STATES-1, state i's next is state next[i] (-1: none), the
 * interpreter's head is state head (-1: none); each runs frames. */
static void make_chain(int head, const int *next, uint64_t frames)
{
	make_threads(CHAIN_STATES, next, frames);
	put64(INTERP + L.is_tstate_head, head < 0 ? 0 : TSTATES + (uint64_t)TS_STRIDE * (uint64_t)head);
}

static void walk_sample(struct pyproc *p, struct walk_result *r)
{
	struct py_sample s = { 0 };
	memset(r, 0, sizeof(*r));
	r->err = pyproc__sample(p, NULL, &s, 0);
	r->n = s.n;
	for (size_t i = 0; i < s.n && i < CHAIN_STATES * 2; i++) {
		r->tstate[i] = s.threads[i].tstate;
		r->thread_id[i] = s.threads[i].thread_id;
		r->nframes[i] = s.threads[i].nframes;
	}
	py_sample__release(&s);
}

/* The one-by-one walk: a fresh reader (no chain yet) over the same list. */
static void serial_sample(int head, const int *next, struct walk_result *r)
{
	struct mem *keep = snap;
	struct pyproc *q = setup(0x030a0df0);
	make_chain(head, next, make_frame_chain(3, -1));
	walk_sample(q, r);
	uint64_t b, ser;
	pyproc__walk_stats(q, &b, &ser);
	CHECK_INT(b, 0);
	pyproc__close(q);
	snap = keep;
}

static void test_chain_changes(void)
{
	static const struct {
		const char *what;
		int head, next[CHAIN_STATES];
		int batched, serial;    /* states from the chain / one by one */
	} steps[] = {
		{ "first", 0, { 1, 2, 3, 4, 5, -1, -1, -1 }, 0, 6 },
		{ "same", 0, { 1, 2, 3, 4, 5, -1, -1, -1 }, 6, 0 },
		{ "inserted at the head", 6, { 1, 2, 3, 4, 5, -1, 0, -1 }, 0, 7 },
		{ "same", 6, { 1, 2, 3, 4, 5, -1, 0, -1 }, 7, 0 },
		{ "removed in the middle", 6, { 1, 3, -1, 4, 5, -1, 0, -1 }, 3, 3 },
		{ "added at the tail", 6, { 1, 3, -1, 4, 5, 7, 0, -1 }, 6, 1 },
		{ "order changed", 6, { 4, 3, -1, 1, 5, 7, 0, -1 }, 2, 3 },
		{ "same", 6, { 4, 3, -1, 1, 5, 7, 0, -1 }, 5, 0 },
		{ "loop back into the chain", 6, { 4, 3, -1, 1, 5, 4, 0, -1 }, 4, 0 },
		{ "loop off the chain", 6, { 4, 3, -1, 1, 5, 3, 0, -1 }, 0, 6 },
		{ "after the loop", 6, { 4, 3, -1, 1, 5, 7, 0, -1 }, 0, 5 },
		{ "head removed", 0, { 4, 3, -1, 1, 5, 7, 0, -1 }, 0, 4 },
		{ "same", 0, { 4, 3, -1, 1, 5, 7, 0, -1 }, 4, 0 },
		{ "all gone", -1, { 4, 3, -1, 1, 5, 7, 0, -1 }, 0, 0 },
		{ "back", 0, { 4, 3, -1, 1, 5, 7, 0, -1 }, 0, 4 },
	};
	struct pyproc *p = setup(0x030a0df0);
	struct mem *mine = snap;
	uint64_t frames = make_frame_chain(3, -1);
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		snap = mine;
		make_chain(steps[k].head, steps[k].next, frames);
		uint64_t b0, s0, b1, s1;
		pyproc__walk_stats(p, &b0, &s0);
		struct walk_result got, want;
		walk_sample(p, &got);
		pyproc__walk_stats(p, &b1, &s1);
		serial_sample(steps[k].head, steps[k].next, &want);
		printf("    %s: err %d, %zu threads, %llu from the chain, %llu one by one\n", steps[k].what,
		       got.err, got.n, (unsigned long long)(b1 - b0), (unsigned long long)(s1 - s0));
		CHECK_INT(got.err, want.err);
		CHECK_INT(got.n, want.n);
		CHECK(memcmp(&got, &want, sizeof(got)) == 0);
		CHECK_INT(got.err, strncmp(steps[k].what, "loop", 4) ? 0 : -ELOOP);
		CHECK_INT(b1 - b0, steps[k].batched);
		CHECK_INT(s1 - s0, steps[k].serial);
	}
	pyproc__close(p);
}

/* ---- a thread's last stack (the frame memo) -------------------------------- */

#define MEMO_SHIM (-1)          /* a shim frame (3.12+: owner 3) */
#define MEMO_GONE (-2)          /* a frame whose code object cannot be read */

/* Frames at CHUNK + 24 + 128 * i, i = 0 the bottom, n - 1 the current one:
 * kind[i] code object 0x50000 + 0x1000 * kind (or MEMO_*), at code unit
 * unit[i], is_entry (3.11) where entry[i]. */
static void memo_stack_at(int n, const int *kind, const int *unit, const bool *entry, int cur)
{
	uint8_t chunk[4096] = { 0 };
	uint64_t size = sizeof(chunk);
	memcpy(chunk + 8, &size, 8);
	for (int i = 0; i < n; i++) {
		uint64_t a = CHUNK + 24 + 128 * (uint64_t)i;
		uint64_t code = kind[i] == MEMO_GONE ? 0x5f000 : 0x50000 + 0x1000 * (uint64_t)(kind[i] < 0 ? 9 : kind[i]);
		uint8_t *fr = chunk + (a - CHUNK);
		set_iframe(fr, code, i ? a - 128 : 0, code + (uint64_t)L.co_code_adaptive + 2 * (uint64_t)unit[i]);
		fr[L.if_owner] = kind[i] == MEMO_SHIM ? 3 : 0;
		if (L.if_is_entry >= 0)
			fr[L.if_is_entry] = entry[i];
	}
	put(CHUNK, chunk, sizeof(chunk));
	put64(CFRAME + L.cframe_current, CHUNK + 24 + 128 * (uint64_t)cur);
}

static void memo_stack(int n, const int *kind, const int *unit, const bool *entry)
{
	memo_stack_at(n, kind, unit, entry, n - 1);
}

struct memo_frame {
	char name[16];
	int line;
	uint64_t addr, cstack;
	bool entry;
};

static uint64_t memo_leaf;      /* the last memo_frames' py_thread.leaf_instr */

/* One sample's frames of the one thread; -1: not one thread. */
static int memo_frames(struct pyproc *p, struct py_sample *s, struct memo_frame *out, int max)
{
	if (pyproc__sample(p, NULL, s, 0) != 0 || s->n != 1)
		return -1;
	const struct py_thread *t = &s->threads[0];
	memo_leaf = t->leaf_instr;
	int n = 0;
	for (size_t i = 0; i < t->nframes && n < max; i++, n++) {
		struct memo_frame *m = &out[n];
		memset(m, 0, sizeof(*m));
		snprintf(m->name, sizeof(m->name), "%s", t->frames[i].code->name);
		m->line = t->frames[i].line;
		m->addr = t->frames[i].frame_addr;
		m->cstack = t->frames[i].cstack;
		m->entry = t->frames[i].entry;
	}
	return n;
}

/* The frames of the root part unchanged since the last sample come from
 * that sample (pyproc__frames_reused counts their raw frames), and each
 * sample is what a sample without the memo (code trust 0: every frame
 * resolved) gives, through changes at the leaf, in the middle, pops,
 * pushes, a frame left out that passes its entry down, a leaf part left
 * out whole, and the same stack twice. */
static void memo_steps(unsigned version)
{
	struct pyproc *p = setup(version);
	const uint64_t window = 60000000000ull;
	pyproc__set_code_trust(p, window);
	for (int k = 0; k < 6; k++) {
		char name[8];
		snprintf(name, sizeof(name), "c%d", k);
		make_code(0x50000 + 0x1000 * (uint64_t)k, name, "/app/m.py", 10 * k, loc_tab_each,
			  sizeof(loc_tab_each));
	}
	put64(TSTATE + L.ts_cframe, CFRAME);
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);
	/* 3.11 has no shim frames: a frame of c5 stands in their place. */
	bool shims = version >= 0x030c0000;
	int S = shims ? MEMO_SHIM : 5, G = MEMO_GONE;
	enum { MAXF = 12 };
	struct step {
		const char *what;
		int n;
		int kind[MAXF], unit[MAXF];
		bool entry[MAXF];
		int reused[2];          /* raw frames taken from the memo: 3.11, 3.12 */
		int cur;                /* > 0: the current frame is frame cur - 1, the ones
					 * above it are left in memory as they were */
	} steps[] = {
		{ "first", 8, { 0, 1, S, 2, 3, 3, 3, 4 }, { 0, 1, 0, 2, 3, 3, 3, 5 },
		  { 1, 0, 0, 1, 0, 0, 0, 0 }, { 0, 0 }, 0 },
		{ "leaf moves", 8, { 0, 1, S, 2, 3, 3, 3, 4 }, { 0, 1, 0, 2, 3, 3, 3, 6 },
		  { 1, 0, 0, 1, 0, 0, 0, 0 }, { 7, 6 }, 0 },
		{ "middle moves", 8, { 0, 1, S, 2, 3, 3, 3, 4 }, { 0, 1, 0, 4, 3, 3, 3, 6 },
		  { 1, 0, 0, 1, 0, 0, 0, 0 }, { 3, 2 }, 0 },
		{ "pop", 7, { 0, 1, S, 2, 3, 3, 3 }, { 0, 1, 0, 4, 3, 3, 3 },
		  { 1, 0, 0, 1, 0, 0, 0 }, { 7, 6 }, 0 },
		{ "push", 10, { 0, 1, S, 2, 3, 3, 3, 1, S, 0 }, { 0, 1, 0, 4, 3, 3, 3, 2, 0, 1 },
		  { 1, 0, 0, 1, 0, 0, 0, 1, 0, 0 }, { 7, 6 }, 0 },
		{ "same", 10, { 0, 1, S, 2, 3, 3, 3, 1, S, 0 }, { 0, 1, 0, 4, 3, 3, 3, 2, 0, 1 },
		  { 1, 0, 0, 1, 0, 0, 0, 1, 0, 0 }, { 10, 8 }, 0 },
		{ "left out", 6, { 0, 1, 2, S, G, 4 }, { 0, 1, 2, 0, 1, 5 },
		  { 1, 0, 0, 0, 1, 0 }, { 2, 2 }, 0 },
		{ "left out passes its entry", 6, { 0, 1, 2, S, G, 4 }, { 0, 1, 2, 0, 1, 6 },
		  { 1, 0, 0, 0, 1, 0 }, { 5, 4 }, 0 },
		{ "leaf left out", 6, { 0, 1, 2, S, G, G }, { 0, 1, 2, 0, 1, 3 },
		  { 1, 0, 0, 0, 1, 0 }, { 0, 0 }, 0 },
		{ "leaf left out again", 6, { 0, 1, 2, S, G, G }, { 0, 1, 2, 0, 1, 4 },
		  { 1, 0, 0, 0, 1, 0 }, { 0, 0 }, 0 },
		{ "deep", 8, { 0, 1, S, 2, 3, 3, 3, 4 }, { 0, 1, 0, 2, 3, 3, 3, 5 },
		  { 1, 0, 0, 1, 0, 0, 0, 0 }, { 2, 2 }, 0 },
		/* Frames 6 and 7 returned, 5 runs at the instruction it called
		 * them from: their memory is as it was, but not on the stack. */
		{ "returned, memory left", 8, { 0, 1, S, 2, 3, 3, 3, 4 }, { 0, 1, 0, 2, 3, 3, 3, 5 },
		  { 1, 0, 0, 1, 0, 0, 0, 0 }, { 6, 5 }, 6 },
		{ "called again", 8, { 0, 1, S, 2, 3, 3, 3, 4 }, { 0, 1, 0, 2, 3, 3, 3, 5 },
		  { 1, 0, 0, 1, 0, 0, 0, 0 }, { 6, 5 }, 0 },
	};
	struct py_sample s = { 0 };
	/* A memo is kept from a thread's second sample within the window on
	 * (sampled that often): one sample of another stack first. */
	{
		const int kind[1] = { 5 }, unit[1] = { 0 };
		const bool entry[1] = { 1 };
		struct memo_frame got[1];
		memo_stack(1, kind, unit, entry);
		CHECK_INT(memo_frames(p, &s, got, 1), 1);
	}
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		const struct step *st = &steps[k];
		int reused = st->reused[shims];
		memo_stack_at(st->n, st->kind, st->unit, st->entry, st->cur ? st->cur - 1 : st->n - 1);
		struct memo_frame got[MAXF], want[MAXF];
		uint64_t r0 = pyproc__frames_reused(p);
		int ng = memo_frames(p, &s, got, MAXF);
		uint64_t r1 = pyproc__frames_reused(p), leaf = memo_leaf;
		pyproc__set_code_trust(p, 0);
		int nw = memo_frames(p, &s, want, MAXF);
		CHECK(leaf == memo_leaf);
		pyproc__set_code_trust(p, window);
		CHECK_INT(pyproc__frames_reused(p), r1);
		if (ng != nw || ng < 0)
			fprintf(stderr, "  %x %s: %d frames, without the memo %d\n", version, st->what, ng, nw);
		CHECK_INT(ng, nw);
		for (int i = 0; i < ng && i < nw; i++) {
			bool same = !strcmp(got[i].name, want[i].name) && got[i].line == want[i].line &&
				    got[i].addr == want[i].addr && got[i].entry == want[i].entry &&
				    got[i].cstack == want[i].cstack;
			if (!same)
				fprintf(stderr, "  %x %s: frame %d %s:%d entry %d, without the memo %s:%d entry %d\n",
					version, st->what, i, got[i].name, got[i].line, got[i].entry,
					want[i].name, want[i].line, want[i].entry);
			CHECK(same);
		}
		if ((int)(r1 - r0) != reused)
			fprintf(stderr, "  %x %s: %d raw frames reused, expected %d\n", version, st->what,
				(int)(r1 - r0), reused);
		CHECK_INT((int)(r1 - r0), reused);
	}
	/* A deep stack whose leaf moves: the walk reads the frames above the
	 * unchanged ones only. */
	{
		enum { D = 24 };
		int kind[D], unit[D];
		bool entry[D];
		for (int i = 0; i < D; i++) {
			kind[i] = i % 4;
			unit[i] = i % 7;
			entry[i] = i == 0;
		}
		struct memo_frame got[D];
		memo_stack(D, kind, unit, entry);
		CHECK_INT(memo_frames(p, &s, got, D), D);
		unit[D - 1] = 7;
		memo_stack(D, kind, unit, entry);
		uint64_t w0 = pyproc__frames_walked(p), r0 = pyproc__frames_reused(p);
		CHECK_INT(memo_frames(p, &s, got, D), D);
		CHECK(pyproc__frames_walked(p) - w0 == 1);
		CHECK(pyproc__frames_reused(p) - r0 == D - 1);
		CHECK_STR(got[D - 1].name, "c0");
	}
	/* The code cache grown (its entries moved) between two samples: the
	 * memo's frames point at the old entries and are not taken. */
	{
		const int kind[3] = { 0, 1, 2 }, unit0[3] = { 0, 1, 2 }, unit1[3] = { 0, 1, 3 };
		const bool entry[3] = { 1, 0, 0 };
		struct memo_frame got[3];
		memo_stack(3, kind, unit0, entry);
		CHECK_INT(memo_frames(p, &s, got, 3), 3);
		pyproc__reserve_codes(p, 4096);
		memo_stack(3, kind, unit1, entry);
		uint64_t r0 = pyproc__frames_reused(p);
		CHECK_INT(memo_frames(p, &s, got, 3), 3);
		CHECK(pyproc__frames_reused(p) == r0);
		CHECK_STR(got[1].name, "c1");
		CHECK_STR(got[2].name, "c0");
	}
	/* A code object replaced under an unchanged root part: taken from the
	 * memo within the window (as a trusted code entry is), its new name
	 * after it. */
	make_code(0x50000, "renamed", "/app/m.py", 0, loc_tab_each, sizeof(loc_tab_each));
	const int kind[3] = { 0, 1, 2 }, unit0[3] = { 0, 1, 2 }, unit1[3] = { 0, 1, 3 };
	const bool entry[3] = { 1, 0, 0 };
	memo_stack(3, kind, unit0, entry);
	struct memo_frame got[3];
	CHECK_INT(memo_frames(p, &s, got, 3), 3);
	memo_stack(3, kind, unit1, entry);
	CHECK_INT(memo_frames(p, &s, got, 3), 3);
	CHECK_STR(got[2].name, "c0");
	pyproc__set_code_trust(p, 1000);
	usleep(TRUST_WAIT_US);
	memo_stack(3, kind, unit0, entry);
	CHECK_INT(memo_frames(p, &s, got, 3), 3);
	CHECK_STR(got[2].name, "renamed");
	py_sample__release(&s);
	pyproc__close(p);
}

static void test_frame_memo(void)
{
	memo_steps(0x030b07f0);
	memo_steps(0x030c01f0);
}

/* A line table whose bytes object claims more than its code can have
 * (3.11+: a torn read of freed memory, a real size of gigabytes) is read
 * only as far as the code's length allows: here 8 code units, a claimed
 * 3 MiB of which only the first 512 bytes exist. The lines come from what
 * was read; reading the claimed size would fail (and copy up to 4 MiB at
 * each such sample in a live process). */
static void test_linetable_bound(void)
{
	struct pyproc *p = setup(0x030c01f0);
	uint64_t code = 0x51000, f = CHUNK + 24, zero = 0;
	make_code(code, "bounded", "/app/b.py", 40, loc_tab_each, sizeof(loc_tab_each));
	uint8_t o[32 + 512] = { 0 };
	uint64_t type = BYTES_TYPE, claimed = 3u << 20, obj = 0x5e000;
	memcpy(o + L.ob_type, &type, 8);
	memcpy(o + L.bytes_size, &claimed, 8);
	memcpy(o + L.bytes_sval, loc_tab_each, sizeof(loc_tab_each));
	put(obj, o, sizeof(o));
	put64(code + L.co_linetable, obj);
	uint8_t chunk[4096] = { 0 };
	uint64_t size = sizeof(chunk), instr = code + (uint64_t)L.co_code_adaptive + 2 * 5;
	memcpy(chunk + 8, &size, 8);
	uint8_t *fr = chunk + (f - CHUNK);
	memcpy(fr + L.if_code, &code, 8);
	memcpy(fr + L.if_previous, &zero, 8);
	memcpy(fr + L.if_instr, &instr, 8);
	put(CHUNK, chunk, sizeof(chunk));
	put64(TSTATE + L.ts_cframe, CFRAME);
	put64(CFRAME + L.cframe_current, f);
	put64(TSTATE + L.ts_datastack_chunk, CHUNK);
	struct py_sample s = { 0 };
	CHECK_INT(pyproc__sample(p, NULL, &s, 0), 0);
	CHECK(s.n == 1 && s.threads[0].nframes == 1);
	if (s.n == 1 && s.threads[0].nframes == 1) {
		CHECK_STR(s.threads[0].frames[0].code->name, "bounded");
		CHECK_INT(s.threads[0].frames[0].line, 46);
	}
	py_sample__release(&s);
	pyproc__close(p);
}

int main(void)
{
	TEST_RUN(test_311_walk);
	TEST_RUN(test_line_cache);
	TEST_RUN(test_recursion);
	TEST_RUN(test_code_trust);
	TEST_RUN(test_frame_memo);
	TEST_RUN(test_many_codes);
	TEST_RUN(test_linetable_bound);
	TEST_RUN(test_validate);
	TEST_RUN(test_27_walk);
	TEST_RUN(test_entry_flags);
	TEST_RUN(test_unmapped_tstate);
	TEST_RUN(test_thread_list_loops);
	TEST_RUN(test_chain_changes);
	TEST_RUN(test_frame_chain_loops);
	TEST_RUN(test_sample_bounded);
	TEST_RUN(test_interp_list_loops);
	TEST_RUN(test_interp_join);
	TEST_RUN(test_interp_join_frameobj);
	TEST_RUN(test_314t_tlbc_gil);
	TEST_RUN(test_exception_and_gc);
	return TEST_REPORT();
}
