/* SPDX-License-Identifier: MIT
 *
 * The engine (see pyproc.h). A sample is one memory cycle (proc/mem.h: in a
 * steady state everything below was prefetched by one batched read) and goes:
 *   0. run states (proc/threadstate.h, read by the caller: py_view), or the
 *      pause's registers, so that an idle thread's stack need not be read at
 *      all (PYSAMPLE_SKIP_IDLE);
 *   1. interpreters: *(_PyRuntime + interpreters.head), or interp_head
 *      (2.7/3.6), then each one's next (one read of next, id and thread list
 *      head per interpreter), at most PYPROC_MAX_INTERPS; a list that loops
 *      (Brent's check, as for frames) fails the sample with -ELOOP. The GIL
 *      holder from the version's GIL state (3.12+: each interpreter's);
 *   2. each thread state of each interpreter (one read of its first few
 *      hundred bytes; the last sample's states fetched at once and used
 *      while the list is the same, see chain_fetch), bounded by
 *      PYPROC_MAX_THREADS in all; a thread state met twice (a set of the
 *      addresses seen) is a loop in a list: the sample fails with -ELOOP;
 *   3. its frames: walk_frameobj() for <= 3.10, walk_iframe() for 3.11+ (which
 *      first copies the thread's datastack chunks, the newest only up to the
 *      current frame, so frames cost no read); raw frames keep (code address,
 *      instruction position). A chain that loops (Brent's cycle check) fails
 *      that thread with -ELOOP; frames that overlap, with -EFAULT;
 *   4. the distinct code objects of the thread are read in one batched call
 *      and checked against the code cache, which re-reads names and the line
 *      table only when the object at that address changed (entries no sample
 *      met for a minute are dropped, so freed code objects do not pile up);
 *   5. lines from the line table (python/linetable.h), the last offset and line
 *      kept per code object;
 *   6. with more than one interpreter: the thread states of one thread are
 *      joined (join_threads), the one it runs in now on top.
 * Only when the caller asks: each thread's exceptions (PYSAMPLE_EXCEPTION:
 * the one raised, from the thread state already read; the one handled,
 * 3.7+ by following its exc_info chain) and, when the interpreter's
 * collector runs, the thread running it (PYSAMPLE_GC: one more word read
 * per interpreter, the GIL holder's read only while a collection runs).
 * The work of one sample is bounded as a whole, whatever the memory says
 * (a hostile or corrupted target must not keep a paused program stopped):
 * at most PYPROC_MAX_SAMPLE_FRAMES frames over all threads and
 * PYPROC_MAX_SAMPLE_BYTES of datastack chunks and line tables; beyond them
 * the sample fails with -E2BIG.
 */
#include "python/pyproc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/maps.h"
#include "proc/mem.h"
#include "proc/procfs.h"
#include "proc/ptrace.h"
#include "proc/threadstate.h"
#include "python/detect.h"
#include "python/linetable.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pystr.h"
#include "python/pythread.h"
#include "python/qualname.h"
#include "python/shortname.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define IS_READ 512             /* bytes of an interpreter state read (next, id, threads) */
#define MAX_CHUNKS 64
#define MAX_CHUNK_BYTES (8u << 20)
#define CHUNK_SLACK 256        /* bytes read past the current frame */
#define CHUNK_ROOM_MIN 256      /* ... or at least this many, to the end of its page */
#define PAGE_BYTES 4096
#define MAX_LINETABLE (4u << 20)
#define LOC_ENTRY_MAX 32        /* bytes of a 3.11+ location entry, above the most it takes: its
				 * first byte and four varints of 6 bits a byte (6 bytes each) */
#define MAX_NAME 1024
#define TS_READ 512
#define FRAME_READ 160
#define TVISIT_SLOTS (2 * PYPROC_MAX_THREADS)  /* the thread states seen, half full at most */
#define MISS_RELIST_NS 5000000ull       /* an unknown thread id lists the tasks again this often at most */
#define CODE_SWEEP_NS 1000000000ull     /* old code entries looked for every second */
#define CODE_MAX_AGE_NS 60000000000ull  /* ... and dropped after a minute unseen */
/* A code object checked (its header read and compared with its entry) this
 * recently is not read again: see code_trusted. */
#define CODE_TRUST_NS 500000ull
#define SCRATCH_KEEP 1024               /* frames the per-sample arrays keep room for */
#define LINE_CACHE 1024                 /* (code, offset) -> line entries, a power of two */
#define OP_CACHE 256                    /* leaf instruction -> opcode entries, a power of two */
#define MEMO_SLOTS 256                  /* thread states whose last stack is kept, a power of two */

/* One cached code object. The key fields are compared on every sample. */
struct code_entry {
	struct py_code pub;
	uint64_t type, filename_p, name_p, qualname_p, linetable_p;
	int firsttraceable;
	uint8_t *linetable;
	size_t linetable_len;
	int last_offset, last_line;     /* the last line lookup (frames stay put) */
	uint64_t seen_ns;               /* the sample that last met it */
	uint64_t checked_ns;            /* when its header was last read and matched (0: never) */
	uint64_t co_code;               /* <= 3.10: its bytecode object (leaf_instr) */
	uint64_t code_len;              /* 3.11+: bytes of its bytecode (0: unknown) */
	bool used;
};

struct raw_frame {
	uint64_t frame, code, instr;    /* instr: lasti (FRAMEOBJ) or instruction pointer */
	int owner;
	int32_t tlbc;
	bool entry;                     /* see py_frame.entry */
	bool is_entry;                  /* 3.11+: the frame's own is_entry byte (not 0) */
	uint64_t cstack;                /* see py_frame.cstack */
	uint64_t prev;                  /* 3.11+: its previous frame as read (walk_iframe) */
};

/* A thread's last stack (see resolve_thread), root first: raw[r] is the raw
 * frame r frames above the root; kr[r] how many frames raw[0..r) made;
 * those frames are fr[cap - kr[r] .. cap), innermost first, so the root
 * part stays in place when the leaf part changes. */
struct frame_memo {
	uint64_t tstate;                /* 0: empty */
	uint64_t ns;                    /* the oldest check of the code entries its frames use */
	uint64_t gen;                   /* pyproc.codes_gen when made */
	uint64_t seen_ns;               /* the thread's last sample (kept or not) */
	uint64_t leaf_instr;
	size_t n, cap;                  /* raw frames */
	struct raw_frame *raw;
	uint32_t *kr;                   /* [cap + 1] */
	struct py_frame *fr;            /* [cap] */
};

struct chunk {
	uint64_t addr;
	size_t len, cap;
	uint8_t *data;          /* our copy ... */
	const uint8_t *view;    /* ... or the memory cycle's (mem__borrow): the bytes */
};

/* A line found in a line table: by the code entry's uid (new at every
 * rebuild, so a code object replaced at the same address never meets the
 * lines of the one before) and the instruction's byte offset. */
struct line_slot {
	uint64_t uid;           /* 0: empty */
	int offset, line;
};

/* A leaf instruction's opcode (PYSAMPLE_OPCODE), read at ns: taken again
 * within the code trust window, as the code object itself is. */
struct op_slot {
	uint64_t uid, instr, ns;        /* uid 0: empty */
	uint8_t op;
};

struct code_slot {
	uint64_t code;
	uint32_t idx, stamp;
};

/* One interpreter of the list. */
struct interp_rec {
	uint64_t addr, tstate_head;
	int64_t id;
};

/* A thread state taking part in join_threads. */
struct join_rec {
	uint64_t key;                   /* its thread: TID, else thread id | 1 << 63 */
	uint64_t mark;
	uint32_t idx;                   /* in the sample */
	int32_t up, down;               /* the state that called into it / it called into; -1 */
	bool higher;                    /* another state of its thread sits higher on the stack */
};

/* A thread state seen in this sample (stamped: never cleared). */
struct tvisit_slot {
	uint64_t addr;
	uint32_t stamp;
};

/* Brent's cycle check over a chain of addresses: O(1) memory, and a loop
 * of length L entered after M steps is found within M + 2L steps. */
struct loop_check {
	uint64_t saved;
	size_t power, steps;
};

/* A thread state of the chain (see chain_fetch) and its thread (0: unknown). */
struct chain_ent {
	uint64_t addr;
	pid_t tid;
};

struct pyproc {
	struct pyproc_info info;
	struct mem *mem;
	struct maps maps;
	bool core;              /* pyproc__open_core: a process that no longer runs */
	struct py_target target;
	struct py_layout L;
	struct pyctx ctx;
	struct shortname *shortnames;
	int ts_read;                    /* bytes of a thread state to read */
	char *exe, *cmdline;

	struct code_entry *codes;       /* open addressing, power-of-two size */
	size_t ncodes, codes_cap;
	uint64_t now_ns;                /* clock of the current sample */
	uint64_t swept_ns;              /* when old code entries were last dropped */
	uint64_t tlbc_frames;           /* frames resolved in a thread-local bytecode copy */
	uint64_t code_trust_ns;         /* CODE_TRUST_NS, or the caller's (pyproc__set_code_trust) */
	uint64_t code_reads, code_trusted; /* code headers read / taken from a recent check */
	uint64_t frames_reused;         /* raw frames resolved from their thread's last stack */
	uint64_t frames_walked;         /* frames read by the walks (shim frames included) */

	/* The caller's view of the OS threads (struct py_view), during one
	 * pyproc__sample or pyproc__gil_tid call only: */
	struct threadstate *threads;    /* TIDs and run states, NULL: none */
	const struct ptrace_pause *pause;
	uint64_t miss_ns;               /* when a host_tid miss last listed the tasks again */
	const pid_t *tasks;
	int ntasks;

	struct raw_frame *raw;
	size_t nraw, raw_cap;
	uint64_t leaf_instr;            /* resolve_frames: the innermost kept frame's
					 * instruction address (leaf_instr()), 0: none */
	struct line_slot *lines;        /* LINE_CACHE, direct-mapped; at the first lookup */
	struct op_slot *ops;            /* OP_CACHE, direct-mapped; at the first lookup */
	uint64_t resolve_ns;            /* when resolve_frames last ran */
	unsigned flags;                 /* the current pyproc__sample's (PYSAMPLE_*) */
	uint32_t *r_uniq;               /* resolve_frames' scratch, kept */
	uint8_t *r_hdrs;
	struct mem_iov *r_iov;
	struct code_entry **r_ent;
	uint32_t *r_miss;
	size_t r_uniq_cap, r_hdrs_cap, r_iov_cap, r_ent_cap, r_miss_cap;
	uint8_t *r_kept;                /* resolve_frames: whether each raw frame made a frame */
	size_t r_kept_cap;
	uint64_t r_oldest;              /* resolve_raw: the oldest check of the entries used */
	uint64_t codes_gen;             /* counts the changes that move or free code entries */
	struct frame_memo *memos;       /* MEMO_SLOTS, direct-mapped by thread state; at first use */
	struct code_slot *uslots;       /* number_codes' table ... */
	size_t uslots_cap;
	uint32_t ustamp;
	uint64_t *ucode;                /* ... and the distinct code objects */
	size_t nucode, ucode_cap;
	struct chunk chunks[MAX_CHUNKS];
	size_t nchunks, chunk_hint;     /* chunk_hint: where read_iframe last found a frame */
	struct tvisit_slot *tvisit;     /* TVISIT_SLOTS, allocated at the first sample */
	uint32_t tstamp;
	/* The thread-state chain (see chain_fetch): the last sample's states in
	 * walk order, all interpreters, distinct; the one this sample builds;
	 * and this sample's bytes of each (borrowed from the memory cycle, or in
	 * chain_buf; NULL: not read). */
	struct chain_ent *chain, *chain_new;
	size_t nchain, nchain_new, chain_cap, chain_new_cap;
	const uint8_t **chain_ts;
	size_t chain_ts_cap;
	uint8_t *chain_buf;
	size_t chain_buf_cap;
	struct mem_iov *chain_iov;
	size_t chain_iov_cap;
	uint64_t ts_batched, ts_serial; /* thread states read from the chain / one by one */
	struct mem *names_mem;          /* live: the thread names' reader (pyproc__thread_names) */
	size_t work_frames, work_bytes; /* this sample's, against the PYPROC_MAX_SAMPLE_* bounds */

	int is_lo, is_len;              /* the window of an interpreter state read */
	struct interp_rec interps[PYPROC_MAX_INTERPS];  /* this sample's, head (newest) first */
	size_t ninterps;
	uint64_t *marks;                /* per thread of the sample: where its eval loop sits on
					 * the C stack (0: unknown), see join_threads */
	size_t marks_cap;
	struct join_rec *jrec;          /* join_threads' scratch */
	size_t jrec_cap;

	/* --thread and --qualname (see pyproc__set_skip, PYSAMPLE_QUALNAME) */
	bool (*skip)(void *arg, uint64_t thread_id, pid_t tid);
	void *skip_arg;
	struct qualnames *qualnames;    /* created at the first PYSAMPLE_QUALNAME sample */
};

static void memo_free(struct frame_memo *m);

/* ---- code cache ---------------------------------------------------------- */

static void code_entry_clear(struct code_entry *e)
{
	free(e->pub.name);
	free(e->pub.qualname);
	free(e->pub.filename);
	free(e->linetable);
	memset(e, 0, sizeof(*e));
}

static size_t code_slot(const struct pyproc *p, uint64_t addr)
{
	uint64_t h = addr * 0x9e3779b97f4a7c15ull;
	size_t mask = p->codes_cap - 1;
	size_t i = (size_t)(h >> 20) & mask;
	while (p->codes[i].used && p->codes[i].pub.addr != addr)
		i = (i + 1) & mask;
	return i;
}

static void code_cache_grow(struct pyproc *p)
{
	p->codes_gen++;
	size_t old_cap = p->codes_cap;
	struct code_entry *old = p->codes;
	p->codes_cap = old_cap ? old_cap * 2 : 1024;
	p->codes = xcalloc(p->codes_cap, sizeof(*p->codes));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			p->codes[code_slot(p, old[i].pub.addr)] = old[i];
	free(old);
}

/* Drop the entries no sample met for CODE_MAX_AGE_NS: code objects freed
 * since (a server that compiles per request), or misread ones (a freed code
 * object seen in a torn frame, with a garbage line table of up to 4 MiB). The
 * table is rebuilt from the ones kept. */
static void code_cache_sweep(struct pyproc *p)
{
	size_t stale = 0;
	for (size_t i = 0; i < p->codes_cap; i++)
		stale += p->codes[i].used && p->now_ns - p->codes[i].seen_ns > CODE_MAX_AGE_NS;
	if (!stale)
		return;
	p->codes_gen++;
	struct code_entry *old = p->codes;
	size_t old_cap = p->codes_cap, kept = 0;
	for (size_t i = 0; i < old_cap; i++)
		kept += old[i].used;
	kept -= stale;
	/* Smaller when a burst of code objects (a torn walk through freed
	 * frames) had grown it: load at most 1/4 after the rebuild. */
	while (p->codes_cap > 1024 && kept * 8 < p->codes_cap)
		p->codes_cap /= 2;
	p->codes = xcalloc(p->codes_cap, sizeof(*p->codes));
	p->ncodes = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		if (p->now_ns - old[i].seen_ns > CODE_MAX_AGE_NS) {
			code_entry_clear(&old[i]);
			continue;
		}
		p->codes[code_slot(p, old[i].pub.addr)] = old[i];
		p->ncodes++;
	}
	free(old);
}

static uint64_t rd_u64(const uint8_t *b, int off)
{
	return bytes_u64(b + off);
}

static int32_t rd_i32(const uint8_t *b, int off)
{
	return bytes_i32(b + off);
}

static char *read_name(struct pyproc *p, uint64_t obj)
{
	char buf[MAX_NAME];
	if (!obj || pystr_read(&p->ctx, obj, buf, sizeof(buf), NULL) != 0)
		return NULL;
	return xstrdup(buf);
}

/* The header read of a code object (code_read_size bytes) holds its
 * co_code pointer (<= 3.10: the bytecode object leaf_instr reads). */
static bool hdr_has_co_code(const struct py_layout *L)
{
	return L->co_code >= 0 && L->co_code + 8 <= L->code_read_size;
}

/* 3.11+: the code units of the bytecode of the code object whose header is
 * hdr (ob_size), 0 when not known or not sane. */
static size_t code_units(const struct py_layout *L, const uint8_t *hdr)
{
	if (L->family == PY_FAMILY_FRAMEOBJ || L->ob_size < 0 || L->ob_size + 8 > L->code_read_size)
		return 0;
	int64_t units = (int64_t)rd_u64(hdr, L->ob_size);
	return units > 0 && units < (1 << 26) ? (size_t)units : 0;
}

/* e was checked against hdr at now: the next samples may take it without
 * a read (code_trusted). */
static struct code_entry *code_checked(struct pyproc *p, struct code_entry *e, const uint8_t *hdr,
				       uint64_t now)
{
	const struct py_layout *L = &p->L;
	e->checked_ns = now;
	e->co_code = hdr_has_co_code(L) ? rd_u64(hdr, L->co_code) : 0;
	e->code_len = (uint64_t)code_units(L, hdr) * 2;
	return e;
}

/* The most bytes the line table of the code object whose header is hdr can
 * hold. 3.11+: a location entry covers one to eight code units and takes at
 * most LOC_ENTRY_MAX bytes, so the code's length bounds it; before, and
 * when the length is not known, MAX_LINETABLE. A length read from freed
 * memory (a torn read while the program runs: an import's module code
 * object, its table's bytes reused) would else copy up to MAX_LINETABLE
 * bytes, a millisecond, at each sample meeting a new such object. */
static size_t linetable_max(const struct pyproc *p, const uint8_t *hdr)
{
	size_t units = code_units(&p->L, hdr);
	if (!units || units > MAX_LINETABLE / LOC_ENTRY_MAX)
		return MAX_LINETABLE;
	return units * LOC_ENTRY_MAX + LOC_ENTRY_MAX;
}

/* Look up (and if needed refresh) the cache entry for a code object whose
 * first code_read_size bytes are in hdr, read at now. NULL when it is not a
 * code object. */
static struct code_entry *code_resolve(struct pyproc *p, uint64_t addr, const uint8_t *hdr,
				       uint64_t now)
{
	const struct py_layout *L = &p->L;
	uint64_t type = rd_u64(hdr, L->ob_type);
	if (p->ctx.code_type && type != p->ctx.code_type)
		return NULL;
	uint64_t fn = rd_u64(hdr, L->co_filename), nm = rd_u64(hdr, L->co_name);
	uint64_t qn = L->co_qualname >= 0 ? rd_u64(hdr, L->co_qualname) : 0;
	uint64_t lt = rd_u64(hdr, L->co_linetable);
	int first = rd_i32(hdr, L->co_firstlineno);
	int ft = L->co_firsttraceable >= 0 ? rd_i32(hdr, L->co_firsttraceable) : 0;

	if (p->ncodes * 2 >= p->codes_cap)
		code_cache_grow(p);
	struct code_entry *e = &p->codes[code_slot(p, addr)];
	if (e->used && e->type == type && e->filename_p == fn && e->name_p == nm &&
	    e->qualname_p == qn && e->linetable_p == lt && e->pub.firstlineno == first &&
	    e->firsttraceable == ft) {
		e->seen_ns = p->now_ns;
		return code_checked(p, e, hdr, now);
	}

	/* Miss or stale: (re)build. */
	char *name = read_name(p, nm);
	char *filename = read_name(p, fn);
	if (!name || !filename) {
		free(name);
		free(filename);
		return NULL;
	}
	char *qualname = qn ? read_name(p, qn) : NULL;
	/* Read into a block of the most the table can hold and keep an exact
	 * copy: shrinking the block (an mmap) would keep a page and a mapping
	 * per table, and keeping it for the next table would keep every page a
	 * torn read (a freed code object's garbage length) once touched. */
	size_t max = linetable_max(p, hdr);
	uint8_t *buf = xmalloc(max);
	size_t tablen = 0;
	if (pybytes_read(&p->ctx, lt, buf, max, &tablen) != 0)
		tablen = 0;
	uint8_t *tab = xmalloc(tablen ? tablen : 1);
	memcpy(tab, buf, tablen);
	free(buf);
	p->work_bytes += tablen + 3 * MAX_NAME;

	if (e->used) {
		code_entry_clear(e);
		p->codes_gen++;
	} else {
		p->ncodes++;
	}
	e->used = true;
	e->pub.addr = addr;
	e->pub.name = name;
	e->pub.qualname = qualname ? qualname : xstrdup(name);
	e->pub.filename = filename;
	e->pub.short_filename = shortname__get(p->shortnames, filename);
	e->pub.firstlineno = first;
	static uint64_t next_uid;
	e->pub.uid = ++next_uid;
	e->last_offset = INT32_MIN;
	e->type = type;
	e->filename_p = fn;
	e->name_p = nm;
	e->qualname_p = qn;
	e->linetable_p = lt;
	e->firsttraceable = ft;
	e->linetable = tab;
	e->linetable_len = tablen;
	e->seen_ns = p->now_ns;
	return code_checked(p, e, hdr, now);
}

/* ---- validation of an untested layout ------------------------------------- */

#define VALIDATE_DEPTH 256      /* frames checked per thread */
#define VALIDATE_ENOUGH 1024    /* frames checked in all: then the layout is trusted */
#define VALIDATE_WALK 16384     /* frames read in all: beyond, the memory is not sane */
#define VALIDATE_MAX_LINE (1 << 24)

static int fail_why(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -EINVAL;
}

/* Check one frame's code object: of the code type, with sane lengths, and
 * the frame's instruction inside its bytecode. */
static int validate_code(struct pyproc *p, uint64_t code, uint64_t instr, int32_t tlbc,
			 char *why, size_t whylen)
{
	const struct py_layout *L = &p->L;
	uint8_t hdr[4096];
	char name[MAX_NAME];
	size_t hsz = (size_t)L->code_read_size;
	if (hsz > sizeof(hdr) || L->ob_size < 0 || (size_t)L->ob_size + 8 > hsz ||
	    mem__read(p->mem, code, hdr, hsz) != 0)
		return fail_why(why, whylen, "a frame's code object cannot be read");
	if (rd_u64(hdr, L->ob_type) != p->ctx.code_type)
		return fail_why(why, whylen, "a frame's code object is not of the code type");
	int64_t units = (int64_t)rd_u64(hdr, L->ob_size);
	int first = rd_i32(hdr, L->co_firstlineno);
	if (units <= 0 || units > VALIDATE_MAX_LINE || first < 0 || first > VALIDATE_MAX_LINE)
		return fail_why(why, whylen, "a code object has an insane size or first line");
	uint64_t base = code + (uint64_t)L->co_code_adaptive;
	if (tlbc == 0 && (instr < base || instr > base + 2 * (uint64_t)units))
		return fail_why(why, whylen, "a frame's instruction is outside its code object");
	if (pystr_read(&p->ctx, rd_u64(hdr, L->co_name), name, sizeof(name), NULL) != 0 ||
	    pystr_read(&p->ctx, rd_u64(hdr, L->co_filename), name, sizeof(name), NULL) != 0 ||
	    (L->co_qualname >= 0 &&
	     pystr_read(&p->ctx, rd_u64(hdr, L->co_qualname), name, sizeof(name), NULL) != 0))
		return fail_why(why, whylen, "a code object's name or file name is not a string");
	int64_t tablen = 0;
	uint64_t lt = rd_u64(hdr, L->co_linetable);
	if (L->bytes_size < 0 || !lt ||
	    mem__read(p->mem, lt + (uint64_t)L->bytes_size, &tablen, 8) != 0 ||
	    tablen < 0 || tablen > MAX_LINETABLE)
		return fail_why(why, whylen, "a code object's line table has an insane length");
	return 0;
}

int pyproc__validate(struct pyproc *p, char *why, size_t whylen)
{
	const struct py_layout *L = &p->L;
	uint8_t ts[TS_READ], fb[FRAME_READ];
	uint64_t interp = 0, t = 0;
	size_t checked = 0, nthreads = 0, walked = 0;
	if (!p->ctx.code_type)
		return fail_why(why, whylen, "no PyCode_Type symbol to check code objects with");
	if (L->family != PY_FAMILY_IFRAME || L->ts_current_frame < 0 || L->rt_interp_head < 0 ||
	    p->ts_read > TS_READ || L->if_size < 16 || (size_t)L->if_size > sizeof(fb) ||
	    L->if_owner < 0 || L->if_owner >= L->if_size || L->if_code < 0 ||
	    L->if_code + 8 > L->if_size || L->if_instr < 0 || L->if_instr + 8 > L->if_size ||
	    L->if_previous < 0 || L->if_previous + 8 > L->if_size ||
	    (L->if_tlbc_index >= 0 && L->if_tlbc_index + 4 > L->if_size))
		return fail_why(why, whylen, "the published offsets are out of range");
	if (mem__read_ptr(p->mem, p->target.runtime + (uint64_t)L->rt_interp_head, &interp) != 0 ||
	    !interp)
		return fail_why(why, whylen, "no interpreter at the published runtime offset");
	if (mem__read_ptr(p->mem, interp + (uint64_t)L->is_tstate_head, &t) != 0)
		return fail_why(why, whylen, "the interpreter cannot be read");
	for (; t; nthreads++) {
		if (nthreads >= PYPROC_MAX_THREADS)
			return fail_why(why, whylen, "the thread list does not end");
		if (mem__read(p->mem, t, ts, (size_t)p->ts_read) != 0)
			return fail_why(why, whylen, "a thread state cannot be read");
		if (rd_u64(ts, L->ts_interp) != interp)
			return fail_why(why, whylen, "a thread state does not point back to its interpreter");
		uint64_t f = rd_u64(ts, L->ts_current_frame);
		for (int depth = 0; f && depth < VALIDATE_DEPTH && checked < VALIDATE_ENOUGH; depth++) {
			if (++walked > VALIDATE_WALK)
				return fail_why(why, whylen, "too many frames");
			if (mem__read(p->mem, f, fb, (size_t)L->if_size) != 0)
				return fail_why(why, whylen, "a frame cannot be read");
			int owner = fb[L->if_owner];
			if (owner > L->owner_skip_min)
				return fail_why(why, whylen, "a frame has an unknown owner");
			if (owner < L->owner_skip_min) {
				int32_t tlbc = L->if_tlbc_index >= 0 ? rd_i32(fb, L->if_tlbc_index) : 0;
				uint64_t code = rd_u64(fb, L->if_code) & L->stackref_mask;
				int err = validate_code(p, code, rd_u64(fb, L->if_instr), tlbc, why, whylen);
				if (err)
					return err;
				checked++;
			}
			f = rd_u64(fb, L->if_previous);
		}
		t = rd_u64(ts, L->ts_next);
	}
	if (!nthreads)
		return fail_why(why, whylen, "the interpreter has no thread state");
	if (!checked)
		return fail_why(why, whylen, "no Python frame to check");
	return 0;
}

/* ---- open / close -------------------------------------------------------- */

/* The target's TIDs (cached, see threadstate.h); none without the caller's
 * task list, or for a snapshot. */
static int read_tasks(struct pyproc *p, bool refresh)
{
	p->ntasks = 0;
	if (mem__pid(p->mem) <= 0 || !p->threads)
		return 0;
	int n = threadstate__tasks(p->threads, refresh, &p->tasks);
	if (n < 0)
		return n;
	p->ntasks = n;
	return 0;
}

static int code_read_size(const struct py_layout *L)
{
	int m = L->code_read_size;
	const int f[] = { L->ob_type, L->co_filename, L->co_name, L->co_qualname, L->co_linetable,
			  L->co_firstlineno, L->co_firsttraceable, L->co_code_adaptive, L->co_tlbc,
			  L->co_code };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] + 8 > m)
			m = f[i] + 8;
	return m;
}

/* Bytes covering every PyThreadState field cspy reads. */
static int ts_read_size(const struct py_layout *L)
{
	int m = 16;
	const int f[] = { L->ts_next, L->ts_interp, L->ts_frame, L->ts_cframe, L->ts_current_frame,
			  L->ts_thread_id, L->ts_native_thread_id, L->ts_datastack_chunk, L->ts_dict,
			  L->ts_state, L->ts_curexc, L->ts_exc_type, L->ts_exc_info };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] + 8 > m)
			m = f[i] + 8;
	return m;
}

/* The smallest window of an interpreter state covering next, id and the
 * thread list head: one read per interpreter. */
static void is_window(struct pyproc *p)
{
	const struct py_layout *L = &p->L;
	const int f[] = { L->is_next, L->is_id, L->is_tstate_head };
	int lo = INT32_MAX, hi = 0;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i] < 0)
			continue;
		if (f[i] < lo)
			lo = f[i];
		if (f[i] + 8 > hi)
			hi = f[i] + 8;
	}
	p->is_lo = lo == INT32_MAX ? 0 : lo;
	p->is_len = hi - p->is_lo;
}

/* The executable mappings of the interpreter's ELF (info.text_*). */
static void text_range(struct pyproc *p)
{
	p->info.text_start = p->info.text_end = 0;
	for (size_t i = 0; i < p->maps.n; i++) {
		const struct map *m = &p->maps.v[i];
		if (!(m->perms & MAP_X) || strcmp(m->path, p->target.binary) != 0)
			continue;
		if (!p->info.text_start || m->start < p->info.text_start)
			p->info.text_start = m->start;
		if (m->end > p->info.text_end)
			p->info.text_end = m->end;
	}
}

static void init_ctx(struct pyproc *p)
{
	p->L.code_read_size = code_read_size(&p->L);
	p->ts_read = ts_read_size(&p->L);
	is_window(p);
	p->ctx = (struct pyctx){ .mem = p->mem, .L = &p->L, .none_addr = p->target.none,
				 .true_addr = p->target.true_, .false_addr = p->target.false_,
				 .code_type = p->target.code_type };
	p->info.version = p->L.version;
	p->info.version_guessed = p->target.version_guessed;
	p->info.free_threaded = p->L.free_threaded;
	offsets_version_str(p->L.version, p->L.free_threaded, p->info.version_str,
			    sizeof(p->info.version_str));
	p->info.binary = p->target.binary;
	p->info.eval_start = p->target.eval_start;
	p->info.eval_end = p->target.eval_end;
	text_range(p);
	p->info.exe = p->exe ? p->exe : "";
	p->info.cmdline = p->cmdline ? p->cmdline : "";
}

/* A reader of process pid, before its memory and layout are known. */
static struct pyproc *pyproc_alloc(pid_t pid)
{
	struct pyproc *p = xcalloc(1, sizeof(*p));
	p->code_trust_ns = CODE_TRUST_NS;
	p->info.pid = pid;
	return p;
}

struct pyproc *pyproc__new_mem(struct mem *mem, pid_t pid, const struct py_target *target,
			       const struct py_layout *layout)
{
	struct pyproc *p = pyproc_alloc(pid);
	p->mem = mem;
	p->target = *target;
	p->L = *layout;
	p->shortnames = shortname__new("", NULL);
	init_ctx(p);
	return p;
}

/* Detect the interpreter in p->mem and p->maps (pid 0: no /proc) and
 * build the layout. */
static int open_layout(struct pyproc *p, pid_t pid, char *why, size_t whylen)
{
	int err = detect_python(pid, p->mem, &p->maps, &p->target, why, whylen);
	if (err)
		goto fail;
	err = offsets_for_version(p->target.version, p->target.free_threaded, &p->L);
	if (err)
		err = offsets_for_newer(p->target.version, p->target.free_threaded, &p->L);
	if (err)
		goto fail;
	p->L.py2_unicode_size = p->target.py2_unicode_size;
	size_t dsize = offsets_debug_size(p->L.table_minor);
	char vs[32], newest[16];
	offsets_version_str(p->target.version, p->target.free_threaded, vs, sizeof(vs));
	snprintf(newest, sizeof(newest), "%u.%u", p->L.table_minor >> 24,
		 (p->L.table_minor >> 16) & 0xff);
	if (p->L.untested) {
		static bool warned;     /* one line per run, however many processes */
		if (!warned)
			fprintf(stderr, "cspy: warning: Python %s is newer than cspy knows (%s): trying "
				"the %s layout with its own _Py_DebugOffsets, checked before use\n",
				vs, newest, newest);
		warned = true;
		if (!dsize || !p->target.runtime) {
			snprintf(why, whylen, "Python %s is newer than cspy knows (%s) and publishes no "
				 "_Py_DebugOffsets: this cspy cannot read it", vs, newest);
			err = -ENOTSUP;
			goto fail;
		}
	}
	if (dsize && p->target.runtime) {
		uint8_t *buf = xmalloc(dsize);
		err = mem__read(p->mem, p->target.runtime, buf, dsize);
		if (!err && offsets_apply_debug(&p->L, buf, dsize) != 0) {
			if (p->L.untested)
				snprintf(why, whylen, "Python %s is newer than cspy knows (%s) and its "
					 "_Py_DebugOffsets do not have the %s shape: this cspy cannot "
					 "read it", vs, newest, newest);
			else
				snprintf(why, whylen, "the _Py_DebugOffsets of this Python %s are not valid",
					 p->target.binary);
			err = -ENOTSUP;
		}
		free(buf);
		if (err)
			goto fail;
	}
	is_window(p);
	if (ts_read_size(&p->L) > TS_READ || code_read_size(&p->L) > 4096 || p->is_len > IS_READ ||
	    p->L.is_tstate_head < 0) {
		snprintf(why, whylen, "the thread or code object layout of this Python (%s) is out of "
			 "the range cspy reads", p->target.binary);
		err = -ENOTSUP;
	}
fail:
	return err;
}

/* After open_layout: check a newer minor's layout against the memory. */
static int open_validate(struct pyproc *p, char *why, size_t whylen)
{
	char vs[32], newest[16];
	offsets_version_str(p->target.version, p->target.free_threaded, vs, sizeof(vs));
	snprintf(newest, sizeof(newest), "%u.%u", p->L.table_minor >> 24,
		 (p->L.table_minor >> 16) & 0xff);
	init_ctx(p);
	if (p->L.untested) {
		char reason[256];
		if (pyproc__validate(p, reason, sizeof(reason)) != 0) {
			snprintf(why, whylen, "Python %s is newer than cspy knows (%s) and its memory "
				 "does not match the %s layout (%s): this cspy cannot read it",
				 vs, newest, newest, reason);
			return -ENOTSUP;
		}
	}
	return 0;
}

int pyproc__open(pid_t pid, struct pyproc **out, char *why, size_t whylen)
{
	struct pyproc *p = pyproc_alloc(pid);
	int err;
	p->mem = mem__new_pid(pid);
	if (whylen)
		why[0] = '\0';

	err = maps__load(pid, &p->maps);
	if (err)
		goto fail;
	err = open_layout(p, pid, why, whylen);
	if (err)
		goto fail;
	char root[64], cwdlink[64], cwd[4096];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	snprintf(cwdlink, sizeof(cwdlink), "/proc/%d/cwd", (int)pid);
	ssize_t n = readlink(cwdlink, cwd, sizeof(cwd) - 1);
	cwd[n > 0 ? n : 0] = '\0';
	p->shortnames = shortname__new(root, n > 0 ? cwd : NULL);
	p->exe = procfs_exe(pid);
	p->cmdline = procfs_cmdline(pid);
	err = open_validate(p, why, whylen);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail:
	pyproc__close(p);
	return err;
}

int pyproc__open_core(struct mem *mem, const struct maps *maps, pid_t pid, const char *exe,
		      const char *cmdline, const char *root, struct pyproc **out, char *why,
		      size_t whylen)
{
	struct pyproc *p = pyproc_alloc(pid);
	p->mem = mem;
	if (whylen)
		why[0] = '\0';
	p->maps.v = xcalloc(maps->n ? maps->n : 1, sizeof(*p->maps.v));
	for (size_t i = 0; i < maps->n; i++) {
		p->maps.v[i] = maps->v[i];
		p->maps.v[i].path = xstrdup(maps->v[i].path);
	}
	p->maps.n = maps->n;
	p->core = true;
	int err = open_layout(p, 0, why, whylen);
	if (err)
		goto fail;
	p->shortnames = shortname__new(root ? root : "", NULL);
	p->exe = xstrdup(exe ? exe : "");
	p->cmdline = xstrdup(cmdline ? cmdline : "");
	err = open_validate(p, why, whylen);
	if (err)
		goto fail;
	*out = p;
	return 0;
fail:
	pyproc__close(p);
	return err;
}

void pyproc__close(struct pyproc *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->codes_cap; i++)
		if (p->codes[i].used)
			code_entry_clear(&p->codes[i]);
	free(p->codes);
	for (size_t i = 0; i < MAX_CHUNKS; i++)
		free(p->chunks[i].data);
	free(p->raw);
	free(p->r_kept);
	if (p->memos)
		for (size_t i = 0; i < MEMO_SLOTS; i++)
			memo_free(&p->memos[i]);
	free(p->memos);
	free(p->lines);
	free(p->ops);
	free(p->r_uniq);
	free(p->r_hdrs);
	free(p->r_iov);
	free(p->r_ent);
	free(p->r_miss);
	free(p->uslots);
	free(p->ucode);
	free(p->tvisit);
	free(p->chain);
	free(p->chain_new);
	free(p->chain_ts);
	free(p->chain_buf);
	free(p->chain_iov);
	mem__free(p->names_mem);
	free(p->marks);
	free(p->jrec);
	qualnames__free(p->qualnames);
	shortname__free(p->shortnames);
	maps__release(&p->maps);
	mem__free(p->mem);
	free(p->exe);
	free(p->cmdline);
	free(p);
}

struct mem *pyproc__mem(const struct pyproc *p)
{
	return p->mem;
}

const struct pyproc_info *pyproc__info(const struct pyproc *p)
{
	return &p->info;
}

const struct pyctx *pyproc__ctx(const struct pyproc *p)
{
	return &p->ctx;
}

uint64_t pyproc__syscalls(const struct pyproc *p)
{
	return mem__syscalls(p->mem) + (p->names_mem ? mem__syscalls(p->names_mem) : 0);
}

uint64_t pyproc__tlbc_frames(const struct pyproc *p)
{
	return p->tlbc_frames;
}

void pyproc__code_stats(const struct pyproc *p, uint64_t *reads, uint64_t *trusted)
{
	*reads = p->code_reads;
	*trusted = p->code_trusted;
}

uint64_t pyproc__frames_reused(const struct pyproc *p)
{
	return p->frames_reused;
}

uint64_t pyproc__frames_walked(const struct pyproc *p)
{
	return p->frames_walked;
}

void pyproc__set_code_trust(struct pyproc *p, uint64_t ns)
{
	p->code_trust_ns = ns;
}

void pyproc__walk_stats(const struct pyproc *p, uint64_t *batched, uint64_t *serial)
{
	*batched = p->ts_batched;
	*serial = p->ts_serial;
}

size_t pyproc__chain_len(const struct pyproc *p)
{
	return p->nchain;
}

/* The caller's view for the length of one call (NULL: none). */
static void view_begin(struct pyproc *p, const struct py_view *v)
{
	p->threads = v ? v->tasks : NULL;
	p->pause = v ? v->pause : NULL;
}

static void view_end(struct pyproc *p)
{
	p->threads = NULL;
	p->pause = NULL;
	p->tasks = NULL;
	p->ntasks = 0;
}

/* ---- frames -------------------------------------------------------------- */

/* One more step of a chain to addr: true when addr was met before. */
static bool loop_check__step(struct loop_check *lc, uint64_t addr)
{
	if (lc->power && addr == lc->saved)
		return true;
	if (++lc->steps >= lc->power) {
		lc->saved = addr;
		lc->power = lc->power ? 2 * lc->power : 1;
		lc->steps = 0;
	}
	return false;
}

/* Frames at a and b (a != b) closer than a frame's size overlap: no
 * interpreter lays frames out so. */
static bool frames_overlap(uint64_t a, uint64_t b, size_t size)
{
	return (a > b ? a - b : b - a) < size;
}

/* One more frame walked in this sample: false when the sample's bound is
 * reached. */
static bool frame_budget(struct pyproc *p)
{
	return ++p->work_frames <= PYPROC_MAX_SAMPLE_FRAMES;
}

/* The next raw frame's slot (uninitialised); grown by doubling. */
static struct raw_frame *raw_next(struct pyproc *p)
{
	if (p->nraw >= p->raw_cap)
		p->raw = xgrow(p->raw, &p->raw_cap, p->nraw + 1, sizeof(*p->raw));
	return &p->raw[p->nraw++];
}

static void raw_push(struct pyproc *p, struct raw_frame f)
{
	*raw_next(p) = f;
}

/* <= 3.10: follow f_back from tstate->frame. *mark (see walk_iframe): 3.10's
 * CFrame, on the C stack; 0 before 3.10. */
static int walk_frameobj(struct pyproc *p, const uint8_t *ts, bool *truncated, uint64_t *mark)
{
	const struct py_layout *L = &p->L;
	uint64_t f = rd_u64(ts, L->ts_frame);
	*mark = L->ts_cframe >= 0 && f ? rd_u64(ts, L->ts_cframe) : 0;
	uint8_t buf[FRAME_READ];
	int need = L->f_lasti + 4;
	if (L->f_back + 8 > need) need = L->f_back + 8;
	if (L->f_code + 8 > need) need = L->f_code + 8;
	struct loop_check lc = { 0 };
	for (size_t depth = 0; f; depth++) {
		if (depth >= PYPROC_MAX_DEPTH) {
			*truncated = true;
			break;
		}
		if (!frame_budget(p))
			return -E2BIG;
		if (loop_check__step(&lc, f))
			return -ELOOP;
		int err = mem__read(p->mem, f, buf, (size_t)need);
		if (err)
			return err;
		raw_push(p, (struct raw_frame){ .frame = f, .code = rd_u64(buf, L->f_code),
			 .instr = (uint64_t)(int64_t)rd_i32(buf, L->f_lasti), .entry = true });
		uint64_t back = rd_u64(buf, L->f_back);
		if (back && frames_overlap(back, f, (size_t)need))
			return -EFAULT;
		f = back;
	}
	return 0;
}

/* Copy the thread's datastack chunks, newest first. Of the newest one, only
 * the part up to the current frame f (plus some room for the stack to grow
 * before the next sample) is needed: the frames above it are dead. */
static void read_chunks(struct pyproc *p, uint64_t chunk, uint64_t f)
{
	const struct py_layout *L = &p->L;
	p->nchunks = 0;
	while (chunk && p->nchunks < MAX_CHUNKS) {
		struct chunk *c = &p->chunks[p->nchunks];
		uint8_t hdr[32];
		if (mem__read(p->mem, chunk, hdr, sizeof(hdr)) != 0)
			break;
		uint64_t size = rd_u64(hdr, L->chunk_size);
		if (size < 32 || size > MAX_CHUNK_BYTES)
			break;
		bool seen = false;      /* a chunk list that loops */
		for (size_t i = 0; i < p->nchunks && !seen; i++)
			seen = p->chunks[i].addr == chunk;
		if (seen)
			break;
		uint64_t len = size;
		if (p->nchunks == 0 && f > chunk && f - chunk < size) {
			/* Room to grow, but not into one more page (each page
			 * read costs the kernel a lookup and a pin) unless the
			 * current one has less than CHUNK_ROOM_MIN left. */
			uint64_t need = f - chunk + (uint64_t)L->if_size;
			uint64_t want = (need + CHUNK_SLACK + 255) & ~(uint64_t)255;
			uint64_t page_end = ((chunk + need + PAGE_BYTES - 1) & ~(uint64_t)(PAGE_BYTES - 1)) - chunk;
			if (0 && want > page_end && page_end >= need + CHUNK_ROOM_MIN)
				want = page_end;
			if (want < len)
				len = want;
		}
		if (p->work_bytes + len > PYPROC_MAX_SAMPLE_BYTES)
			break;          /* frames beyond: read one by one, and bounded */
		p->work_bytes += len;
		c->view = mem__borrow(p->mem, chunk, len);
		if (!c->view) {
			if (c->cap < len) {
				c->data = xrealloc(c->data, len);
				c->cap = len;
			}
			if (mem__read(p->mem, chunk, c->data, len) != 0)
				break;
			c->view = c->data;
		}
		c->addr = chunk;
		c->len = len;
		p->nchunks++;
		chunk = rd_u64(hdr, L->chunk_previous);
	}
}

/* The len bytes at addr inside this sample's copied chunks, else NULL.
 * The chunk of the frame looked up before is tried first: a walk stays in
 * a chunk for many frames (300 deep spans several). */
static const uint8_t *chunk_view(struct pyproc *p, uint64_t addr, size_t len)
{
	size_t h = p->chunk_hint < p->nchunks ? p->chunk_hint : 0;
	for (size_t k = 0; k < p->nchunks; k++) {
		size_t i = h + k < p->nchunks ? h + k : h + k - p->nchunks;
		const struct chunk *c = &p->chunks[i];
		if (addr >= c->addr && addr - c->addr + len <= c->len) {
			p->chunk_hint = i;
			return c->view + (addr - c->addr);
		}
	}
	return NULL;
}

/* The len bytes of the frame at addr: *out points into the copied chunk
 * that holds them (no copy), or to buf, read from the target. */
static int read_iframe(struct pyproc *p, uint64_t addr, uint8_t *buf, size_t len,
		       const uint8_t **out)
{
	if ((*out = chunk_view(p, addr, len)) != NULL)
		return 0;
	*out = buf;
	return mem__read(p->mem, addr, buf, len);
}

/* 3.11+: the fields of a raw frame read from the frame's bytes fb at f
 * (entry: its own is_entry byte; the walk adds what shim frames show). */
static void raw_fill(const struct py_layout *L, const uint8_t *fb, uint64_t f,
		     struct raw_frame *rf)
{
	rf->frame = f;
	rf->code = rd_u64(fb, L->if_code) & L->stackref_mask;
	rf->instr = rd_u64(fb, L->if_instr);
	rf->owner = fb[L->if_owner];
	rf->tlbc = L->if_tlbc_index >= 0 ? rd_i32(fb, L->if_tlbc_index) : 0;
	rf->is_entry = L->if_is_entry >= 0 && fb[L->if_is_entry] != 0;
	rf->entry = rf->is_entry;
	rf->cstack = 0;
	rf->prev = rd_u64(fb, L->if_previous);
}

/* 3.11+: how many of m's raw frames, from the root up, are in this
 * sample's copy of the data stack as m has them: the same fields, and the
 * same link down (previous, through the same shim frames, to the frame
 * below or none). The loads are independent of each other, unlike a walk's
 * (each frame's address is in the frame before it). Whether they are
 * still on the stack is for the walk to show: it reaches the topmost. */
static size_t memo_verify(struct pyproc *p, const struct frame_memo *m, size_t need)
{
	const struct py_layout *L = &p->L;
	uint8_t buf[FRAME_READ];
	size_t v = 0;
	for (; v < m->n; v++) {
		const struct raw_frame *rf = &m->raw[v];
		const uint8_t *fb = chunk_view(p, rf->frame, need);
		/* raw_fill's fields, compared as they are read: a whole
		 * raw_fill before comparing cost 1.5 us per 300-deep sample. */
		if (!fb || rf->tlbc > 0 || fb[L->if_owner] != rf->owner ||
		    (rd_u64(fb, L->if_code) & L->stackref_mask) != rf->code ||
		    rd_u64(fb, L->if_instr) != rf->instr || rd_u64(fb, L->if_previous) != rf->prev ||
		    (L->if_is_entry >= 0 && (fb[L->if_is_entry] != 0) != rf->is_entry) ||
		    (L->if_tlbc_index >= 0 && rd_i32(fb, L->if_tlbc_index) != rf->tlbc))
			break;
		uint64_t below = v ? m->raw[v - 1].frame : 0, s = rf->prev;
		for (int k = 0; s != below && k < 4; k++) {     /* shim frames */
			const uint8_t *sb;
			if (read_iframe(p, s, buf, need, &sb) != 0 || sb[L->if_owner] < L->owner_skip_min)
				break;
			s = rd_u64(sb, L->if_previous);
		}
		if (s != below)
			break;
	}
	return v;
}

/* 3.11+: follow previous from the current _PyInterpreterFrame. *mark: where
 * the innermost eval loop of the thread state sits on the C stack (its
 * _PyCFrame on 3.11/3.12, its entry shim frame from 3.13), 0 if none.
 * m: the thread's memo (resolve_thread), or NULL: when the walk reaches the
 * topmost of its frames that memo_verify finds unchanged, it stops there
 * and *common says how many of m's frames the stack goes on with (p->raw
 * then holds only the frames above them); else *common is 0. */
static int walk_iframe(struct pyproc *p, const uint8_t *ts, bool *truncated, uint64_t *mark,
		       const struct frame_memo *m, size_t *common)
{
	*common = 0;
	const struct py_layout *L = &p->L;
	uint64_t f;
	*mark = 0;
	if (L->ts_current_frame >= 0) {
		f = rd_u64(ts, L->ts_current_frame);
	} else {
		uint64_t cframe = rd_u64(ts, L->ts_cframe);
		if (!cframe)
			return 0;
		*mark = cframe;
		int err = mem__read_ptr(p->mem, cframe + (uint64_t)L->cframe_current, &f);
		if (err)
			return err;
	}
	if (!f)
		return 0;
	read_chunks(p, rd_u64(ts, L->ts_datastack_chunk), f);
	uint8_t buf[FRAME_READ];
	size_t need = (size_t)L->if_size;
	if (need + 8 > sizeof(buf) || need < 16)
		return -EINVAL;
	/* Every field read lies inside the frame's need bytes (the offsets
	 * may come from the target's _Py_DebugOffsets). */
	if (L->if_owner < 0 || (size_t)L->if_owner >= need || L->if_code < 0 ||
	    (size_t)L->if_code + 8 > need || L->if_instr < 0 || (size_t)L->if_instr + 8 > need ||
	    L->if_previous < 0 || (size_t)L->if_previous + 8 > need ||
	    (L->if_is_entry >= 0 && (size_t)L->if_is_entry >= need) ||
	    (L->if_tlbc_index >= 0 && (size_t)L->if_tlbc_index + 4 > need))
		return -EINVAL;
	bool pushed = false;            /* the previous frame of the walk was kept */
	struct loop_check lc = { 0 };
	size_t v = m ? memo_verify(p, m, need) : 0;
	uint64_t stop = v ? m->raw[v - 1].frame : 0;
	for (size_t depth = 0; f; depth++) {
		if (f == stop && p->nraw + v <= PYPROC_MAX_DEPTH) {
			*common = v;
			/* The innermost eval loop's shim, when none was met above. */
			for (size_t r = v; !*mark && r-- > 0;)
				*mark = m->raw[r].cstack;
			return 0;
		}
		if (depth >= 4 * PYPROC_MAX_DEPTH) {
			*truncated = true;
			break;
		}
		if (!frame_budget(p))
			return -E2BIG;
		if (loop_check__step(&lc, f))
			return -ELOOP;
		const uint8_t *fb;
		int err = read_iframe(p, f, buf, need, &fb);
		if (err)
			return err;
		p->frames_walked++;
		/* The next frames lie below this one in the copied chunk: a walk
		 * of a deep stack waits on these loads one after another. */
		__builtin_prefetch((const void *)((uintptr_t)fb - 384));
		int owner = fb[L->if_owner];
		if (owner < L->owner_skip_min) {
			if (p->nraw >= PYPROC_MAX_DEPTH) {
				*truncated = true;
				break;
			}
			/* Filled in place: a 300-deep walk builds no temporaries. */
			raw_fill(L, fb, f, raw_next(p));
			pushed = true;
		} else {
			/* 3.12+: each eval-loop call pushes a shim under its first
			 * frame, a local of that call (on the C stack). */
			if (!*mark)
				*mark = f;
			if (pushed) {
				p->raw[p->nraw - 1].entry = true;
				p->raw[p->nraw - 1].cstack = f;
			}
			pushed = false;
		}
		uint64_t prev = rd_u64(fb, L->if_previous);
		if (prev && frames_overlap(prev, f, need))
			return -EFAULT;
		f = prev;
	}
	if (pushed && !*truncated)
		p->raw[p->nraw - 1].entry = true;       /* the bottom frame */
	return 0;
}

/* 3.14t: the thread-local copy of the bytecode a frame executes. */
static uint64_t tlbc_base(struct pyproc *p, uint64_t code, const uint8_t *hdr, int32_t idx)
{
	const struct py_layout *L = &p->L;
	uint64_t base = code + (uint64_t)L->co_code_adaptive;
	if (L->co_tlbc < 0 || idx <= 0 || idx > 4096)
		return base;
	uint64_t arr = rd_u64(hdr, L->co_tlbc), entry = 0;
	int64_t size = 0;
	if (!arr || mem__read(p->mem, arr, &size, 8) != 0 || idx >= size ||
	    mem__read_ptr(p->mem, arr + 8 + 8 * (uint64_t)idx, &entry) != 0 || !entry)
		return base;
	return entry;
}

/* Number the distinct code objects of p->raw: uniq[i] is frame i's, the
 * addresses go to p->ucode (p->nucode of them). A recursion repeats its
 * code object at every level: a 300-deep one then reads and checks one
 * code object, not 300. An open-addressed table, stamped per call so it is
 * never cleared. */
static void number_codes(struct pyproc *p, size_t n, uint32_t *uniq)
{
	size_t want = 16;
	while (want < 2 * n)
		want *= 2;
	if (p->uslots_cap < want) {
		free(p->uslots);
		p->uslots = xcalloc(want, sizeof(*p->uslots));
		p->uslots_cap = want;
	}
	p->ucode = xgrow(p->ucode, &p->ucode_cap, n, sizeof(*p->ucode));
	if (++p->ustamp == 0) {         /* wrapped: stamps must not collide */
		memset(p->uslots, 0, p->uslots_cap * sizeof(*p->uslots));
		p->ustamp = 1;
	}
	size_t mask = p->uslots_cap - 1;
	p->nucode = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t code = p->raw[i].code;
		if (i && code == p->raw[i - 1].code) {
			uniq[i] = uniq[i - 1];
			continue;
		}
		size_t h = (size_t)((code >> 4) * 0x9e3779b97f4a7c15ull) & mask;
		for (;;) {
			struct code_slot *sl = &p->uslots[h];
			if (sl->stamp != p->ustamp) {
				sl->stamp = p->ustamp;
				sl->code = code;
				sl->idx = (uint32_t)p->nucode;
				p->ucode[p->nucode++] = code;
				break;
			}
			if (sl->code == code)
				break;
			h = (h + 1) & mask;
		}
		uniq[i] = p->uslots[h].idx;
	}
}

/* Resolve p->raw[0..nraw) into t->frames. */
/* A frame left out that began an eval-loop call: its group (innermost
 * first, up to an entry frame) now ends at the kept frame before it. */
static void move_entry(struct py_frame *prev, const struct raw_frame *rf)
{
	prev->entry = true;
	if (rf->cstack)
		prev->cstack = rf->cstack;
}

/* The address of a frame's current instruction in the target (offset:
 * its byte offset in the bytecode; hdr: its code object's header): 3.11+
 * the instruction pointer, <= 3.10 inside co_code's bytes. 0: unknown. */
static uint64_t leaf_instr(const struct pyproc *p, const struct raw_frame *rf,
			   const uint8_t *hdr, int offset)
{
	const struct py_layout *L = &p->L;
	if (L->family != PY_FAMILY_FRAMEOBJ)
		return rf->instr;
	if (L->co_code < 0 || L->co_code + 8 > L->code_read_size || L->bytes_sval < 0 || offset < 0)
		return 0;
	uint64_t bytes = rd_u64(hdr, L->co_code);
	return bytes ? bytes + (uint64_t)L->bytes_sval + (uint64_t)offset : 0;
}

/* The line of the instruction at byte offset in e's code: the last one
 * looked up in e (a frame that did not move), else the line cache (a leaf
 * going round a loop), else its line table. */
static int code_line(struct pyproc *p, struct code_entry *e, int offset)
{
	if (offset == e->last_offset)
		return e->last_line;
	if (!p->lines)
		p->lines = xcalloc(LINE_CACHE, sizeof(*p->lines));
	uint64_t h = (e->pub.uid * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uint32_t)offset * 0xff51afd7ed558ccdull);
	struct line_slot *sl = &p->lines[(h >> 40) & (LINE_CACHE - 1)];
	int line;
	if (sl->uid == e->pub.uid && sl->offset == offset) {
		line = sl->line;
	} else {
		line = linetable_addr2line(p->L.lt_kind, e->linetable, e->linetable_len,
					   e->pub.firstlineno, offset);
		*sl = (struct line_slot){ e->pub.uid, offset, line };
	}
	e->last_offset = offset;
	e->last_line = line;
	return line;
}

/* The distinct code objects of p->raw whose entries were checked less than
 * code_trust_ns ago (ent[k], what is read of their headers put in hdrs;
 * NULL: read it):
 * at high rates this saves the read of a page per code object (most of a
 * sample's pages). What a trusted entry can miss is a code object freed and
 * another made at its address within the window (a loop of compile and
 * exec): its samples in the window would have the old name. Caught within
 * it: a frame whose instruction lies outside the bytecode the entry was
 * checked with (3.11+), and a thread-local bytecode copy (then read). */
static void code_trusted(struct pyproc *p, size_t n, const uint32_t *uniq, struct code_entry **ent,
			 uint8_t *hdrs, uint64_t now)
{
	const struct py_layout *L = &p->L;
	size_t hsz = (size_t)L->code_read_size, nu = p->nucode;
	for (size_t k = 0; k < nu; k++) {
		ent[k] = NULL;
		if (!p->code_trust_ns || !p->ucode[k])
			continue;
		struct code_entry *e = &p->codes[code_slot(p, p->ucode[k])];
		if (e->used && e->checked_ns && now - e->checked_ns < p->code_trust_ns)
			ent[k] = e;
	}
	if (L->family != PY_FAMILY_FRAMEOBJ) {
		for (size_t i = 0; i < n; i++) {
			const struct raw_frame *rf = &p->raw[i];
			struct code_entry *e = ent[uniq[i]];
			if (!e || (i && rf->code == rf[-1].code && rf->instr == rf[-1].instr &&
				   rf->tlbc == rf[-1].tlbc))
				continue;       /* a recursion's frame: checked already */
			uint64_t base = rf->code + (uint64_t)L->co_code_adaptive;
			/* A frame not started yet points one unit before its first. */
			if (rf->tlbc > 0 || !e->code_len || rf->instr + 2 < base ||
			    rf->instr - base >= e->code_len)
				ent[uniq[i]] = NULL;
		}
	}
	for (size_t k = 0; k < nu; k++) {
		if (!ent[k])
			continue;
		/* What resolve_frames reads of a header: the bytecode object
		 * (leaf_instr, <= 3.10); a thread-local copy's array is never
		 * read for a trusted one. */
		memset(hdrs + k * hsz, 0, hsz);
		if (hdr_has_co_code(L))
			memcpy(hdrs + k * hsz + L->co_code, &ent[k]->co_code, 8);
		ent[k]->seen_ns = p->now_ns;
		p->code_trusted++;
	}
}

/* A read of what the code cache checks (code object headers, the leaf
 * opcode). When a pause's read follows (PYSAMPLE_PREWARM), that one trusts
 * the cache: the ranges are not carried into its prefetch. */
static int read_checked(struct pyproc *p, struct mem_iov *iov, size_t n)
{
	mem__carry(p->mem, !(p->flags & PYSAMPLE_PREWARM));
	int r = mem__readv(p->mem, iov, n);
	mem__carry(p->mem, true);
	return r;
}

/* The opcode at t's leaf instruction (p->leaf_instr): one byte read, unless
 * the same instruction of the same code entry was read within the code
 * trust window (its code object is then not read either: the byte would
 * be a read of its own). */
static int leaf_opcode(struct pyproc *p, const struct py_thread *t, uint8_t *op)
{
	if (!t->nframes)
		return -ENOENT;
	uint64_t uid = t->frames[0].code->uid, instr = p->leaf_instr;
	if (!p->ops)
		p->ops = xcalloc(OP_CACHE, sizeof(*p->ops));
	struct op_slot *sl = &p->ops[((instr * 0x9e3779b97f4a7c15ull) >> 40) & (OP_CACHE - 1)];
	if (sl->uid == uid && sl->instr == instr && p->resolve_ns - sl->ns < p->code_trust_ns) {
		*op = sl->op;
		return 0;
	}
	struct mem_iov v = { .addr = instr, .buf = op, .len = 1 };
	int err = read_checked(p, &v, 1);
	err = err ? err : v.err;
	if (!err)
		*sl = (struct op_slot){ .uid = uid, .instr = instr, .ns = p->resolve_ns, .op = *op };
	return err;
}

/* Resolve p->raw[0..n) into t->frames (t->nframes of them); kept[i]: whether
 * raw frame i made a frame; p->r_oldest: the oldest check of the code
 * entries they use. */
static int resolve_raw(struct pyproc *p, struct py_thread *t, size_t n, uint8_t *kept_out,
		       uint64_t now)
{
	p->leaf_instr = 0;
	p->r_oldest = UINT64_MAX;
	t->nframes = 0;
	const struct py_layout *L = &p->L;
	size_t hsz = (size_t)L->code_read_size;
	if (n == 0)
		return 0;
	/* Batch-read every distinct code object's header once, and check it
	 * against the code cache once. */
	p->r_uniq = xgrow(p->r_uniq, &p->r_uniq_cap, n, sizeof(*p->r_uniq));
	uint32_t *uniq = p->r_uniq;
	number_codes(p, n, uniq);
	size_t nu = p->nucode;
	p->r_hdrs = xgrow(p->r_hdrs, &p->r_hdrs_cap, nu * hsz, 1);
	p->r_iov = xgrow(p->r_iov, &p->r_iov_cap, nu, sizeof(*p->r_iov));
	p->r_ent = xgrow(p->r_ent, &p->r_ent_cap, nu, sizeof(*p->r_ent));
	p->r_miss = xgrow(p->r_miss, &p->r_miss_cap, nu, sizeof(*p->r_miss));
	uint8_t *hdrs = p->r_hdrs;
	struct mem_iov *iov = p->r_iov;
	struct code_entry **ent = p->r_ent;
	uint32_t *miss = p->r_miss;
	/* Entries are pointers into the table: it must not grow below. */
	pyproc__reserve_codes(p, nu);
	p->resolve_ns = now;
	code_trusted(p, n, uniq, ent, hdrs, now);
	size_t nmiss = 0;
	for (size_t k = 0; k < nu; k++) {
		if (ent[k])
			continue;
		iov[nmiss] = (struct mem_iov){ .addr = p->ucode[k], .buf = hdrs + k * hsz, .len = hsz };
		miss[nmiss++] = (uint32_t)k;
	}
	int r = nmiss ? read_checked(p, iov, nmiss) : 0;
	if (r < 0)
		goto out;
	p->code_reads += nmiss;
	for (size_t j = 0; j < nmiss; j++) {
		size_t k = miss[j];
		ent[k] = iov[j].err || !p->ucode[k] ? NULL :
			code_resolve(p, p->ucode[k], hdrs + k * hsz, now);
	}
	r = 0;
	for (size_t k = 0; k < nu; k++)
		if (ent[k] && ent[k]->checked_ns < p->r_oldest)
			p->r_oldest = ent[k]->checked_ns;
	t->frames = xgrow(t->frames, &t->cap, n, sizeof(*t->frames));
	size_t kept = SIZE_MAX;         /* the raw frame of t's last frame */
	for (size_t i = 0; i < n; i++) {
		const struct raw_frame *rf = &p->raw[i];
		kept_out[i] = 0;
		/* A frame left out that began an eval-loop call: its group
		 * (innermost first, up to an entry frame) now ends at the
		 * frame before it. */
		struct py_frame *prev = t->nframes ? &t->frames[t->nframes - 1] : NULL;
		/* A recursion: the same code at the same instruction as the
		 * frame just kept resolves as it did. */
		if (prev && kept == i - 1 && rf->code == p->raw[i - 1].code &&
		    rf->instr == p->raw[i - 1].instr && rf->tlbc <= 0 && p->raw[i - 1].tlbc <= 0 &&
		    rf->owner == p->raw[i - 1].owner) {
			t->frames[t->nframes++] = (struct py_frame){ .code = prev->code, .line = prev->line,
				.frame_addr = rf->frame, .entry = rf->entry, .cstack = rf->cstack };
			kept = i;
			kept_out[i] = 1;
			continue;
		}
		struct code_entry *e = ent[uniq[i]];
		if (!e) {
			if (rf->entry && prev)
				move_entry(prev, rf);
			continue;
		}
		const uint8_t *hdr = hdrs + uniq[i] * hsz;
		int offset;
		if (L->family == PY_FAMILY_FRAMEOBJ) {
			int64_t lasti = (int64_t)rf->instr;
			offset = lasti < 0 ? -1 : (int)(lasti * L->lasti_scale);
		} else {
			uint64_t base = tlbc_base(p, rf->code, hdr, rf->tlbc);
			p->tlbc_frames += base != rf->code + (uint64_t)L->co_code_adaptive;
			/* Incomplete frames (prologue not run yet) never show. */
			if (rf->owner != L->owner_generator &&
			    rf->instr < base + 2 * (uint64_t)(e->firsttraceable > 0 ? e->firsttraceable : 0)) {
				if (rf->entry && prev)
					move_entry(prev, rf);
				continue;
			}
			int64_t d = (int64_t)(rf->instr - base);
			offset = d < 0 || d > (1 << 28) ? -1 : (int)d;
		}
		int line = code_line(p, e, offset);
		if (!t->nframes)
			p->leaf_instr = leaf_instr(p, rf, hdr, offset);
		t->frames[t->nframes++] = (struct py_frame){ .code = &e->pub, .line = line,
			.frame_addr = rf->frame, .entry = rf->entry, .cstack = rf->cstack };
		kept = i;
		kept_out[i] = 1;
	}
out:
	return r;
}

/* Resolve p->raw into t->frames. */
static int resolve_frames(struct pyproc *p, struct py_thread *t)
{
	p->r_kept = xgrow(p->r_kept, &p->r_kept_cap, p->nraw, 1);
	return resolve_raw(p, t, p->nraw, p->r_kept, clock_now_ns());
}

/* ---- a thread's last stack ------------------------------------------------ */

static bool raw_same(const struct raw_frame *a, const struct raw_frame *b)
{
	return a->frame == b->frame && a->code == b->code && a->instr == b->instr &&
	       a->owner == b->owner && a->tlbc == b->tlbc && a->entry == b->entry &&
	       a->is_entry == b->is_entry && a->cstack == b->cstack && a->prev == b->prev &&
	       a->tlbc <= 0;
}

static struct frame_memo *memo_slot(struct pyproc *p, uint64_t tstate)
{
	if (!p->memos)
		p->memos = xcalloc(MEMO_SLOTS, sizeof(*p->memos));
	return &p->memos[((tstate * 0x9e3779b97f4a7c15ull) >> 40) & (MEMO_SLOTS - 1)];
}

/* tstate's memo when it may be taken at now, else NULL. */
static struct frame_memo *memo_valid(struct pyproc *p, uint64_t tstate, uint64_t now)
{
	if (!p->code_trust_ns || !tstate)
		return NULL;
	struct frame_memo *m = memo_slot(p, tstate);
	return m->tstate == tstate && m->n && m->gen == p->codes_gen && now - m->ns < p->code_trust_ns
	       ? m : NULL;
}

/* Room for n raw frames; the first m->n (and their frames) stay. */
static void memo_reserve(struct frame_memo *m, size_t n)
{
	if (n <= m->cap)
		return;
	size_t cap = m->cap ? m->cap : 32;
	while (cap < n)
		cap *= 2;
	size_t nfr = m->n ? m->kr[m->n] : 0;
	struct py_frame *fr = xmalloc(cap * sizeof(*fr));
	if (nfr)
		memcpy(fr + cap - nfr, m->fr + m->cap - nfr, nfr * sizeof(*fr));
	free(m->fr);
	m->fr = fr;
	m->raw = xrealloc(m->raw, cap * sizeof(*m->raw));
	m->kr = xrealloc(m->kr, (cap + 1) * sizeof(*m->kr));
	m->cap = cap;
}

static void memo_free(struct frame_memo *m)
{
	free(m->raw);
	free(m->kr);
	free(m->fr);
	memset(m, 0, sizeof(*m));
}

/* Resolve p->raw into t->frames, taking from the thread's last stack (its
 * memo) what did not change: the raw frames that match it from the root
 * up (the same frame address, code object, instruction, owner and entry)
 * take the frames they made then, without a look-up of code or line; only
 * the frames above are resolved. A 300-deep recursion whose leaf moves
 * then resolves a few frames, not 300.
 * A memo is taken within the code trust window only, counted from the
 * oldest check of a code entry its frames use: what a frame of the same
 * address, code object and instruction can hide is a code object freed and
 * another made at its address, the case a trusted code entry misses too.
 * whole: p->raw reaches the thread's first frame (no error, not
 * truncated); else no memo is taken or kept. common: the walk stopped at
 * the memo's unchanged frames (walk_iframe): p->raw holds the frames above
 * the first common ones, which come from the memo (resolve_thread then
 * takes the memo as memo_valid did for the walk, at the same now). */
static int resolve_thread(struct pyproc *p, struct py_thread *t, bool whole, size_t common,
			  uint64_t now)
{
	size_t n = p->nraw + common;
	p->r_kept = xgrow(p->r_kept, &p->r_kept_cap, n, 1);
	if (!whole || !p->code_trust_ns || n == 0 || !t->tstate)
		return resolve_raw(p, t, n, p->r_kept, now);
	struct frame_memo *m = memo_slot(p, t->tstate);
	size_t c = common;              /* raw frames unchanged, from the root */
	if (!c && memo_valid(p, t->tstate, now)) {
		size_t lim = n < m->n ? n : m->n;
		const struct raw_frame *raw = p->raw + n - 1;
		while (c < lim && raw_same(raw - c, &m->raw[c]))
			c++;
	}
	/* The same stack, or its root part (frames returned): the innermost
	 * frame's instruction is the memo's, or (3.11+) its raw frame's. */
	if (c == n && (n == m->n || p->L.family != PY_FAMILY_FRAMEOBJ)) {
		size_t nfr = m->kr[n];
		t->frames = xgrow(t->frames, &t->cap, nfr, sizeof(*t->frames));
		memcpy(t->frames, m->fr + m->cap - nfr, nfr * sizeof(*t->frames));
		t->nframes = nfr;
		if (n < m->n) {
			size_t i = n;
			while (i > 0 && m->kr[i] == m->kr[i - 1])
				i--;
			m->leaf_instr = i ? m->raw[i - 1].instr : 0;
			m->n = n;
		}
		p->leaf_instr = m->leaf_instr;
		p->resolve_ns = now;
		p->frames_reused += n;
		if (!(p->flags & PYSAMPLE_PREWARM))
			m->seen_ns = now;
		return 0;
	}
	uint64_t gen = p->codes_gen;
	int r = resolve_raw(p, t, n - c, p->r_kept, now);
	/* The memo's frames point into the code cache: they are taken only
	 * below a frame made now (the innermost frame's instruction, an
	 * entry moved from a frame left out) and while no entry moved. */
	if (r == 0 && c && (!t->nframes || p->codes_gen != gen)) {
		for (size_t i = common; i-- > 0;)      /* the frames the walk did not read */
			raw_push(p, m->raw[i]);
		c = 0;
		r = resolve_raw(p, t, n, p->r_kept, now);
	}
	if (r < 0) {
		m->tstate = 0;
		return r;
	}
	size_t k = t->nframes, kc = c ? m->kr[c] : 0;
	if (c) {
		/* The frames left out at the top of the unchanged part pass
		 * their entry to the frame below them, as resolve_raw does. */
		for (size_t i = c; i-- > 0 && m->kr[i + 1] == m->kr[i];)
			if (m->raw[i].entry)
				move_entry(&t->frames[k - 1], &m->raw[i]);
		t->frames = xgrow(t->frames, &t->cap, k + kc, sizeof(*t->frames));
		memcpy(t->frames + k, m->fr + m->cap - kc, kc * sizeof(*t->frames));
		t->nframes = k + kc;
		p->frames_reused += c;
	}
	/* Kept only when the thread is sampled often enough for the next
	 * sample to take it: below that rate (the default 100 Hz) its copy
	 * would be work for nothing. The read before a pause does not count
	 * as a sample: the pause's would keep a memo at every tick. */
	bool often = m->tstate == t->tstate && now - m->seen_ns < p->code_trust_ns;
	if (!(p->flags & PYSAMPLE_PREWARM))
		m->seen_ns = now;
	if (!often) {
		m->tstate = t->tstate;
		m->n = 0;
		return 0;
	}
	uint64_t oldest = p->r_oldest < now ? p->r_oldest : now;
	if (!c)
		m->ns = oldest;
	else if (oldest < m->ns)
		m->ns = oldest;
	m->tstate = t->tstate;
	m->n = c;
	memo_reserve(m, n);
	m->kr[0] = 0;
	for (size_t i = c; i < n; i++) {
		const struct raw_frame *rf = &p->raw[n - 1 - i];
		m->raw[i] = *rf;
		m->kr[i + 1] = m->kr[i] + p->r_kept[n - 1 - i];
	}
	memcpy(m->fr + m->cap - kc - k, t->frames, k * sizeof(*t->frames));
	m->n = n;
	m->gen = p->codes_gen;
	m->leaf_instr = p->leaf_instr;
	return 0;
}

/* ---- threads ------------------------------------------------------------- */

static bool task_exists(const struct pyproc *p, pid_t tid)
{
	for (int i = 0; i < p->ntasks; i++)
		if (p->tasks[i] == tid)
			return true;
	return false;
}

/* The listed (host) TID of a thread id read from the target (in a nested PID
 * namespace: its id there, see threadstate.h); 0 when unknown. A miss (a
 * thread started since the list was made: a server's thread per request
 * lives less than the 100 ms between listings) lists the tasks again, at
 * most every MISS_RELIST_NS: an id that stays unknown (torn, stale, or not
 * glibc's layout) costs one listing per MISS_RELIST_NS at most, nothing per
 * sample. */
static pid_t host_tid(struct pyproc *p, pid_t id)
{
	if (id > 0 && p->core)
		return id;      /* a core's ids are its own: no other view of them */
	if (id <= 0 || !p->threads)
		return 0;
	pid_t tid = threadstate__host_tid(p->threads, id);
	uint64_t now = clock_now_ns();
	if (!tid && now - p->miss_ns >= MISS_RELIST_NS) {
		p->miss_ns = now;
		if (read_tasks(p, true) == 0)
			tid = threadstate__host_tid(p->threads, id);
	}
	return tid;
}

/* The thread's TID as listed in /proc here; *ns_tid: its id inside the
 * target's PID namespace when that is another one, else 0. */
static pid_t thread_tid(struct pyproc *p, const uint8_t *ts, uint64_t thread_id, pid_t *ns_tid)
{
	const struct py_layout *L = &p->L;
	bool nested = p->threads && threadstate__nested(p->threads);
	*ns_tid = 0;
	if (L->ts_native_thread_id >= 0) {
		uint64_t id = rd_u64(ts, L->ts_native_thread_id);
		if (id >= (1u << 30))
			return 0;
		if (!nested)
			return (pid_t)id;
		pid_t tid = host_tid(p, (pid_t)id);
		if (tid)
			*ns_tid = (pid_t)id;
		return tid;
	}
	/* <= 3.7: glibc's struct pthread keeps the TID (in the target's
	 * namespace), or the pause maps thread_id to a TID by the threads'
	 * thread pointers (arch_tp_is_thread: x86-64's fs_base is it). */
	int32_t id = 0;
	pid_t tid = 0;
	if (thread_id && mem__read_i32(p->mem, thread_id + arch_info.glibc_tid_offset, &id) == 0 && id > 0) {
		tid = host_tid(p, id);
	}
	if (!tid && p->pause) {
		for (int i = 0; i < p->ntasks; i++) {
			uint64_t tp;
			if (ptrace_pause__tp(p->pause, p->tasks[i], &tp) == 0 &&
			    arch_tp_is_thread(tp, thread_id)) {
				tid = p->tasks[i];
				break;
			}
		}
	}
	if (tid && nested)
		*ns_tid = threadstate__ns_tid(p->threads, tid);
	return tid;
}

static uint64_t gil_holder(struct pyproc *p, uint64_t interp)
{
	const struct py_layout *L = &p->L;
	uint64_t holder = 0, gil = 0;
	int32_t locked = 0, enabled = 1;
	switch (L->gil_kind) {
	case PY_GIL_TSTATE_CURRENT:
		if (p->target.tstate_current)
			mem__read_ptr(p->mem, p->target.tstate_current, &holder);
		return holder;
	case PY_GIL_RUNTIME:
		if (mem__read_i32(p->mem, p->target.runtime + (uint64_t)L->rt_gil_locked, &locked) ||
		    !locked)
			return 0;
		mem__read_ptr(p->mem, p->target.runtime + (uint64_t)L->rt_gil_holder, &holder);
		return holder;
	case PY_GIL_INTERP:
		if (mem__read_ptr(p->mem, interp + (uint64_t)L->is_gil_ptr, &gil) || !gil)
			return 0;
		if (L->gil_enabled >= 0 &&
		    (mem__read_i32(p->mem, gil + (uint64_t)L->gil_enabled, &enabled) || !enabled))
			return 0;
		if (mem__read_i32(p->mem, gil + (uint64_t)L->gil_locked, &locked) || !locked)
			return 0;
		mem__read_ptr(p->mem, gil + (uint64_t)L->gil_holder, &holder);
		return holder;
	}
	return 0;
}

static int find_interp(struct pyproc *p, uint64_t *interp)
{
	if (p->L.rt_interp_head >= 0 && p->target.runtime)
		return mem__read_ptr(p->mem, p->target.runtime + (uint64_t)p->L.rt_interp_head, interp);
	if (p->target.interp_head)
		return mem__read_ptr(p->mem, p->target.interp_head, interp);
	/* 2.7/3.6 without interp_head: through the GIL holder's thread state. */
	uint64_t ts = 0;
	int err = p->target.tstate_current ? mem__read_ptr(p->mem, p->target.tstate_current, &ts) : -ENOENT;
	if (err)
		return err;
	if (!ts)
		return -EAGAIN;
	return mem__read_ptr(p->mem, ts + (uint64_t)p->L.ts_interp, interp);
}

int pyproc__gil_enabled(struct pyproc *p)
{
	const struct py_layout *L = &p->L;
	if (!L->free_threaded || L->gil_enabled < 0 || L->gil_kind != PY_GIL_INTERP)
		return 1;
	uint64_t interp = 0, gil = 0;
	int32_t enabled = 0;
	int err = find_interp(p, &interp);
	if (err)
		return err;
	if (!interp)
		return -EAGAIN;
	if ((err = mem__read_ptr(p->mem, interp + (uint64_t)L->is_gil_ptr, &gil)) != 0)
		return err;
	if (!gil)
		return -EAGAIN;         /* the GIL state is created after the first thread state */
	if ((err = mem__read_i32(p->mem, gil + (uint64_t)L->gil_enabled, &enabled)) != 0)
		return err;
	/* INT_MAX: enabled for good; 1 to INT_MAX - 1: for the time of an
	 * extension module's import (each import counts up, its end down:
	 * every starting free-threaded Python passes there) */
	if (enabled != 0 && enabled != INT32_MAX)
		return -EAGAIN;
	return enabled != 0;
}

/* A thread state created for a thread that has not started running yet (or
 * one that is being torn down) has no frames and either no thread id (3.12+)
 * or ids that belong to another thread (its creator's, <= 3.11), or no OS
 * thread yet (3.13: not bound to one). Such states
 * are dropped, as CPython's own sys._current_frames() does not show them. */
static void drop_unstarted(struct py_sample *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct py_thread *t = &s->threads[i];
		bool unstarted = false;
		if (t->nframes == 0 && !t->err && !t->skipped) {
			unstarted = t->thread_id == 0 || t->tid == 0;
			for (size_t j = 0; j < s->n && !unstarted; j++)
				unstarted = j != i && (s->threads[j].thread_id == t->thread_id ||
						       (t->tid && s->threads[j].tid == t->tid));
		}
		if (unstarted)
			continue;
		if (k != i) {
			/* swap, so that the frame buffers stay owned by the sample */
			struct py_thread tmp = s->threads[k];
			s->threads[k] = *t;
			*t = tmp;
		}
		k++;
	}
	s->n = k;
}

struct name_ctx {
	struct py_sample *s;
};

static void set_name(uint64_t ident, const char *name, void *arg)
{
	struct name_ctx *nc = arg;
	for (size_t i = 0; i < nc->s->n; i++)
		if (nc->s->threads[i].thread_id == ident)
			snprintf(nc->s->threads[i].name, sizeof(nc->s->threads[i].name), "%s", name);
}

static struct py_thread *thread_slot(struct py_sample *s)
{
	size_t old = s->cap;
	s->threads = xgrow(s->threads, &s->cap, s->n + 1, sizeof(*s->threads));
	memset(s->threads + old, 0, (s->cap - old) * sizeof(*s->threads));
	struct py_thread *t = &s->threads[s->n++];
	struct py_frame *frames = t->frames;
	size_t cap = t->cap;
	memset(t, 0, sizeof(*t));
	t->frames = frames;
	t->cap = cap;
	t->opcode = -1;
	return t;
}

/* --qualname before 3.11: each frame's "Class.method" (python/qualname.h). */
static void method_names(struct pyproc *p, struct py_thread *t)
{
	if (!p->qualnames)
		p->qualnames = qualnames__new();
	for (size_t i = 0; i < t->nframes; i++) {
		struct py_frame *fr = &t->frames[i];
		fr->qualname = qualnames__frame(p->qualnames, &p->ctx, fr->code, fr->frame_addr,
						&fr->qual_uid);
	}
}

/* The stacks of every thread, read in one memory cycle (see mem.h): in a
 * steady state, everything this needs was fetched by one batched read. */
/* Active: paused, from the registers at the stop (user space, or a system
 * call that does not wait); otherwise from the run state read (os). */
static bool thread_active(struct pyproc *p, pid_t tid, bool os)
{
	int r = p->pause && tid ? ptrace_pause__running(p->pause, tid) : -ESRCH;
	if (r >= 0)
		return r == 1;
	/* Not paused: asleep when looked at, or running but not holding the
	 * GIL while its holder was paused alone (or nothing was read). A
	 * thread whose run state was never read started since the last
	 * listing: it counts as running (a thread per request lives less than
	 * a listing's 100 ms; taken for idle, its samples were lost). */
	return os && tid && threadstate__running(p->threads, tid) != 0;
}

static int gil_tid(struct pyproc *p, pid_t *tid)
{
	/* Subinterpreters (as of the last sample) may each have their own
	 * GIL: no one thread holds the only one. */
	if (p->ninterps > 1)
		return 0;
	uint64_t interp = 0;
	if (find_interp(p, &interp) != 0 || !interp)
		return 0;
	uint64_t holder = gil_holder(p, interp);
	uint8_t ts[TS_READ];
	if (!holder || mem__read(p->mem, holder, ts, (size_t)p->ts_read) != 0)
		return 0;
	pid_t ns_tid;
	pid_t t = thread_tid(p, ts, rd_u64(ts, p->L.ts_thread_id), &ns_tid);
	if (t <= 0 || !task_exists(p, t))
		return 0;
	*tid = t;
	return 1;
}

int pyproc__gil_tid(struct pyproc *p, struct threadstate *tasks, pid_t *tid)
{
	*tid = 0;
	struct py_view v = { .tasks = tasks };
	view_begin(p, &v);
	read_tasks(p, false);
	int r = gil_tid(p, tid);
	view_end(p);
	return r;
}

/* The GIL struct of CPython 3.7+ (_gil_runtime_state) in every GIL build:
 * interval (µs), last_holder, locked (an int, padded to 8), switch_number, then cond
 * (pthread_cond_t, 48 bytes on x86-64 and aarch64): one layout, placed by
 * the version's gil_holder/gil_locked offsets. */
#define GIL_SWITCH_OFF 16       /* from last_holder */
#define GIL_COND_OFF 24
#define GIL_COND_LEN 48

int pyproc__gil_state(struct pyproc *p, struct threadstate *tasks, const struct threadstate_gil *last,
		      struct threadstate_gil *g)
{
	const struct py_layout *L = &p->L;
	memset(g, 0, sizeof(*g));
	if (L->free_threaded || p->ninterps > 1)
		return 0;
	uint64_t base = 0;
	if (last && last->cond_lo > GIL_COND_OFF) {
		base = last->cond_lo - GIL_COND_OFF;
	} else if (L->gil_kind == PY_GIL_RUNTIME && p->target.runtime && L->rt_gil_holder >= 0 &&
	    L->rt_gil_locked == L->rt_gil_holder + 8) {
		base = p->target.runtime + (uint64_t)L->rt_gil_holder;
	} else if (L->gil_kind == PY_GIL_INTERP && L->gil_holder >= 0 &&
		   L->gil_locked == L->gil_holder + 8) {
		uint64_t interp = 0, gil = 0;
		if (find_interp(p, &interp) != 0 || !interp ||
		    mem__read_ptr(p->mem, interp + (uint64_t)L->is_gil_ptr, &gil) || !gil)
			return 0;
		base = gil + (uint64_t)L->gil_holder;
	} else {
		return 0;
	}
	uint8_t b[8 + GIL_SWITCH_OFF + 8];      /* from interval */
	if (mem__read(p->mem, base - 8, b, sizeof(b)) != 0)
		return 0;
	g->cond_lo = base + GIL_COND_OFF;
	g->cond_hi = g->cond_lo + GIL_COND_LEN;
	g->interval_us = rd_u64(b, 0);
	g->switches = rd_u64(b, 8 + GIL_SWITCH_OFF);
	uint64_t holder = rd_u64(b, 8);
	if (last && last->cond_lo == g->cond_lo && last->switches == g->switches) {
		g->last_holder = last->last_holder;     /* no switch: the same holder */
		return 1;
	}
	/* The holder's thread from the last sample's states, without a read:
	 * its state at that address then. A state freed and taken by another
	 * thread since then names the wrong thread, but never leaves a GIL
	 * taker unread: a known waiter's state is the one of the sample that
	 * found it waiting (it cannot change while it waits), and it takes the
	 * GIL under it first. Not with subinterpreters (no chain of one GIL). */
	for (size_t i = 0; holder && p->ninterps == 1 && i < p->nchain; i++)
		if (p->chain[i].addr == holder && p->chain[i].tid > 0) {
			g->last_holder = p->chain[i].tid;
			return 1;
		}
	uint8_t ts[TS_READ];
	if (holder && mem__read(p->mem, holder, ts, (size_t)p->ts_read) == 0) {
		struct py_view v = { .tasks = tasks };
		view_begin(p, &v);
		read_tasks(p, false);
		pid_t ns_tid;
		pid_t t = thread_tid(p, ts, rd_u64(ts, p->L.ts_thread_id), &ns_tid);
		g->last_holder = t > 0 && task_exists(p, t) ? t : 0;
		view_end(p);
	}
	return 1;
}

/* The set of thread states met in this sample: a new stamp empties it. */
static void tvisit_begin(struct pyproc *p)
{
	if (!p->tvisit)
		p->tvisit = xcalloc(TVISIT_SLOTS, sizeof(*p->tvisit));
	if (++p->tstamp == 0) {         /* wrapped: stamps must not collide */
		memset(p->tvisit, 0, TVISIT_SLOTS * sizeof(*p->tvisit));
		p->tstamp = 1;
	}
}

/* Add addr to the set: false when it was there already. At most
 * PYPROC_MAX_THREADS addresses are added, so a free slot is always found. */
static bool tvisit_add(struct pyproc *p, uint64_t addr)
{
	size_t h = (size_t)((addr >> 4) * 0x9e3779b97f4a7c15ull >> 32) & (TVISIT_SLOTS - 1);
	for (;;) {
		struct tvisit_slot *sl = &p->tvisit[h];
		if (sl->stamp != p->tstamp) {
			sl->stamp = p->tstamp;
			sl->addr = addr;
			return true;
		}
		if (sl->addr == addr)
			return false;
		h = (h + 1) & (TVISIT_SLOTS - 1);
	}
}

/* The thread-state chain. A thread's state is a list element whose next is
 * known only once it is read; read one by one, 100 threads cost 100 reads.
 * The last sample's states (p->chain, in walk order) are fetched here
 * first, all at once: from the memory cycle's copy when it holds them
 * (mem__borrow, no copy), the others in one mem__readv. The walk then uses
 * those bytes only while it follows the same chain: the state it reaches
 * (the interpreter's head, then each read state's next) is the remembered
 * one at that position. At the first state that is not (a thread started or
 * ended, or a torn read), the rest is read one by one as before. So the
 * bytes of a state are always the ones read at its address in this sample,
 * and the result is the one-by-one walk's. The remembered states are
 * distinct (each was walked once in the sample that remembered it): while
 * the walk follows them it cannot loop, and at the first other state they
 * go into the set of states seen, which then catches a loop as before. */
static void chain_fetch(struct pyproc *p)
{
	size_t n = p->nchain, len = (size_t)p->ts_read, m = 0;
	if (!n)
		return;
	p->chain_ts = xgrow(p->chain_ts, &p->chain_ts_cap, n, sizeof(*p->chain_ts));
	for (size_t i = 0; i < n; i++) {
		p->chain_ts[i] = mem__borrow(p->mem, p->chain[i].addr, len);
		if (p->chain_ts[i])
			continue;
		p->chain_buf = xgrow(p->chain_buf, &p->chain_buf_cap, n * len, 1);
		p->chain_iov = xgrow(p->chain_iov, &p->chain_iov_cap, m + 1, sizeof(*p->chain_iov));
		p->chain_iov[m++] = (struct mem_iov){ .addr = p->chain[i].addr, .buf = p->chain_buf + i * len,
						      .len = len };
	}
	if (!m)
		return;
	int r = mem__readv(p->mem, p->chain_iov, m);
	for (size_t k = 0; k < m; k++) {
		size_t i = (size_t)((uint8_t *)p->chain_iov[k].buf - p->chain_buf) / len;
		p->chain_ts[i] = r >= 0 && !p->chain_iov[k].err ? p->chain_buf + i * len : NULL;
	}
}

/* The walk reached tstate, its *pos-th state: its bytes from the chain
 * (advancing *pos) while the walk follows it, else NULL, and from the first
 * state off the chain on (*pos = SIZE_MAX) the chain's states walked so far
 * are added to the set of states seen (tvisit). */
static const uint8_t *chain_at(struct pyproc *p, size_t *pos, uint64_t tstate)
{
	if (*pos == SIZE_MAX)
		return NULL;
	if (*pos < p->nchain && p->chain[*pos].addr == tstate && p->chain_ts[*pos])
		return p->chain_ts[(*pos)++];
	for (size_t j = 0; j < *pos; j++)
		tvisit_add(p, p->chain[j].addr);
	*pos = SIZE_MAX;
	return NULL;
}

/* Read the interpreter list from head into p->interps: at most
 * PYPROC_MAX_INTERPS (the rest are not read), -ELOOP when it loops. Without
 * an id in the layout (2.7/3.6), ids count from the list's tail, the main
 * interpreter (the oldest). */
static int walk_interps(struct pyproc *p, uint64_t head)
{
	const struct py_layout *L = &p->L;
	uint8_t buf[IS_READ];
	struct loop_check lc = { 0 };
	p->ninterps = 0;
	if (p->is_len > IS_READ || L->is_tstate_head < 0)
		return -EINVAL;         /* a layout pyproc__open would have refused */
	for (uint64_t a = head; a && p->ninterps < PYPROC_MAX_INTERPS;) {
		if (loop_check__step(&lc, a))
			return -ELOOP;
		int err = mem__read(p->mem, a + (uint64_t)p->is_lo, buf, (size_t)p->is_len);
		if (err)
			return err;
		struct interp_rec *ir = &p->interps[p->ninterps++];
		ir->addr = a;
		ir->tstate_head = rd_u64(buf, L->is_tstate_head - p->is_lo);
		ir->id = L->is_id >= 0 ? (int64_t)rd_u64(buf, L->is_id - p->is_lo) : -1;
		a = L->is_next >= 0 ? rd_u64(buf, L->is_next - p->is_lo) : 0;
	}
	if (L->is_id < 0)
		for (size_t k = 0; k < p->ninterps; k++)
			p->interps[k].id = (int64_t)(p->ninterps - 1 - k);
	return 0;
}

static int join_by_key_mark(const void *a, const void *b)
{
	const struct join_rec *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->mark != y->mark)
		return x->mark < y->mark ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int join_by_mark(const void *a, const void *b)
{
	const struct join_rec *x = a, *y = b;
	if (x->mark != y->mark)
		return x->mark < y->mark ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Join the thread states of one thread across interpreters (see pyproc.h).
 * Each state walked with frames has a mark: where its innermost eval loop
 * sits on the C stack. The states that run on one thread's stack have
 * neighbouring marks (thread stacks do not overlap), and a state called into
 * from another sits below it. So a state is joined under the state with the
 * nearest mark above its own, when another state of the same thread sits
 * higher: it is not that thread's first. The nearest state above need not
 * carry the same thread ids: 3.12's _xxsubinterpreters runs code in the
 * interpreter's first thread state, bound to the thread that created it,
 * whichever thread runs it. Before 3.10 (no mark) the marks are the walk
 * order, newest interpreter first, and a state is joined under the next
 * state of the same thread. The joined thread keeps the ids, name and run
 * state of the first state of the chain (where the thread began), the
 * interpreter, thread state and frames order of the innermost. Links only
 * go up (a strict order), so chains end: no loop whatever the memory says. */
static void join_threads(struct pyproc *p, struct py_sample *s, bool synthetic)
{
	size_t n = 0;
	p->jrec = xgrow(p->jrec, &p->jrec_cap, s->n, sizeof(*p->jrec));
	for (size_t i = 0; i < s->n; i++) {
		const struct py_thread *t = &s->threads[i];
		uint64_t key = t->tid ? (uint64_t)t->tid : t->thread_id ? t->thread_id | 1ull << 63 : 0;
		if (!key || !t->nframes || t->skipped || (!synthetic && !p->marks[i]))
			continue;
		p->jrec[n++] = (struct join_rec){ .key = key, .idx = (uint32_t)i, .up = -1, .down = -1,
			.mark = synthetic ? i + 1 : p->marks[i] };
	}
	if (n < 2)
		return;
	struct join_rec *r = p->jrec;
	qsort(r, n, sizeof(*r), join_by_key_mark);
	for (size_t k = 0; k + 1 < n; k++)
		if (r[k].key == r[k + 1].key) {
			r[k].higher = true;
			if (synthetic)
				r[k].up = (int32_t)r[k + 1].idx;        /* a thread index for now */
		}
	qsort(r, n, sizeof(*r), join_by_mark);
	/* up/down as positions in r, now sorted by mark: a link goes to a
	 * higher position (a chain cannot loop) */
	int32_t *pos = xmalloc(s->n * sizeof(*pos));
	for (size_t k = 0; k < n; k++)
		pos[r[k].idx] = (int32_t)k;
	for (size_t k = 0; k < n; k++) {
		if (!r[k].higher)
			continue;
		int32_t up = synthetic ? pos[r[k].up] : (int32_t)k + 1;
		if (up <= (int32_t)k || (size_t)up >= n || r[up].down >= 0) {
			r[k].up = -1;
			continue;
		}
		r[k].up = up;
		r[up].down = (int32_t)k;
	}
	/* Each chain from its top (no up, something down): frames of the
	 * innermost first. */
	bool *gone = xcalloc(s->n, sizeof(*gone));
	for (size_t k = 0; k < n; k++) {
		if (r[k].up >= 0 || r[k].down < 0)
			continue;
		struct py_thread *top = &s->threads[r[k].idx];
		int32_t in = (int32_t)k;
		size_t total = 0;
		while (r[in].down >= 0)
			in = r[in].down;
		for (int32_t c = in; c >= 0; c = r[c].up)
			total += s->threads[r[c].idx].nframes;
		if (total > PYPROC_MAX_DEPTH)
			total = PYPROC_MAX_DEPTH;
		struct py_frame *fr = xmalloc(total * sizeof(*fr));
		size_t m = 0;
		bool truncated = false, gil = false, exc = false, in_gc = false;
		int err = 0, opcode = -1;       /* the innermost frame's (PYSAMPLE_OPCODE) */
		uint64_t leaf_instr = 0;
		for (int32_t c = in; c >= 0; c = r[c].up) {
			const struct py_thread *t = &s->threads[r[c].idx];
			if (!m && t->nframes) {
				opcode = t->opcode;
				leaf_instr = t->leaf_instr;
			}
			size_t take = t->nframes < total - m ? t->nframes : total - m;
			memcpy(fr + m, t->frames, take * sizeof(*fr));
			m += take;
			truncated |= t->truncated || take < t->nframes;
			gil |= t->owns_gil;
			exc |= t->in_exception;
			in_gc |= t->in_gc;
			if (!err)
				err = t->err;
			if (c != (int32_t)k)
				gone[r[c].idx] = true;
		}
		const struct py_thread *inner = &s->threads[r[in].idx];
		top->tstate = inner->tstate;
		top->interp_id = inner->interp_id;
		top->owns_gil = gil;
		top->in_exception = exc;
		top->in_gc = in_gc;
		top->opcode = opcode;
		top->leaf_instr = leaf_instr;
		top->truncated = truncated;
		top->err = err;
		top->frames = xgrow(top->frames, &top->cap, m, sizeof(*fr));
		memcpy(top->frames, fr, m * sizeof(*fr));
		top->nframes = m;
		free(fr);
	}
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (gone[i])
			continue;
		if (w != i) {
			/* swap, so that the frame buffers stay owned by the sample */
			struct py_thread tmp = s->threads[w];
			s->threads[w] = s->threads[i];
			s->threads[i] = tmp;
		}
		w++;
	}
	s->n = w;
	free(gone);
	free(pos);
}

/* ---- exceptions and the collector (PYSAMPLE_EXCEPTION, PYSAMPLE_GC) ---- */

#define MAX_EXC_ITEMS 1024      /* _PyErr_StackItem chain: one per running generator */
#define TS_ATTACHED 1           /* 3.13+ tstate->state: _Py_THREAD_ATTACHED */

/* Whether the thread state ts (its first bytes, read) raises an exception
 * now (curexc_type <= 3.11, current_exception 3.12+) or handles one: what
 * sys.exc_info() returns, the topmost item of the exc_info chain that holds
 * an exception (<= 3.6: exc_type in the state itself). A torn read of the
 * chain says no. At most MAX_EXC_ITEMS items are read. */
static bool thread_in_exception(struct pyproc *p, const uint8_t *ts)
{
	const struct py_layout *L = &p->L;
	uint64_t none = p->target.none;
	if (L->ts_curexc >= 0 && rd_u64(ts, L->ts_curexc))
		return true;
	if (L->ts_exc_type >= 0) {
		uint64_t v = rd_u64(ts, L->ts_exc_type);
		return v && v != none;
	}
	if (L->ts_exc_info < 0 || L->es_exc < 0 || L->es_previous < 0)
		return false;
	int len = (L->es_exc > L->es_previous ? L->es_exc : L->es_previous) + 8;
	uint8_t item[64];
	if (len > (int)sizeof(item))
		return false;
	uint64_t a = rd_u64(ts, L->ts_exc_info);
	for (int i = 0; a && i < MAX_EXC_ITEMS; i++) {
		if (mem__read(p->mem, a, item, (size_t)len))
			return false;
		uint64_t v = rd_u64(item, L->es_exc);
		if (v && v != none)
			return true;
		a = rd_u64(item, L->es_previous);
	}
	return false;
}

/* Whether interp (3.9+: its own collector; 3.7/3.8: the runtime's; 2.7/3.6:
 * gcmodule.c's static, when the binary names it) collects garbage now. */
static bool gc_collecting(struct pyproc *p, uint64_t interp)
{
	const struct py_layout *L = &p->L;
	uint64_t a = 0;
	int32_t c = 0;
	if (L->is_gc_collecting >= 0)
		a = interp + (uint64_t)L->is_gc_collecting;
	else if (L->rt_gc_collecting >= 0 && p->target.runtime)
		a = p->target.runtime + (uint64_t)L->rt_gc_collecting;
	else if (L->version < PY_VER(3, 7))
		a = p->target.gc_collecting;
	return a && mem__read_i32(p->mem, a, &c) == 0 && c != 0;
}

static int sample_stacks(struct pyproc *p, struct py_sample *s, bool states, unsigned flags)
{
	const struct py_layout *L = &p->L;
	uint64_t interp = 0;
	int err;

	read_tasks(p, false);
	/* Run states first: a thread known to be idle need not be walked when
	 * the caller drops idle threads anyway (PYSAMPLE_SKIP_IDLE). */
	bool os = p->threads && states;
	p->work_frames = 0;
	p->work_bytes = 0;
	err = find_interp(p, &interp);
	if (err)
		return err;
	if (!interp)
		return -EAGAIN;    /* not initialised yet, or finalising */
	err = walk_interps(p, interp);
	if (err)
		return err;
	bool gil_per_interp = L->gil_kind == PY_GIL_INTERP;
	uint64_t holder = (flags & PYSAMPLE_NO_GIL) ? 0 : gil_holder(p, interp);

	uint8_t ts_own[TS_READ];
	size_t ts_len = (size_t)p->ts_read, nts = 0;
	bool synthetic = false;         /* a state walked with frames but no mark */
	/* With subinterpreters every state is walked: on 3.12 a state may
	 * carry the ids of another thread than the one running it, and joining
	 * needs the marks of all (see join_threads). */
	bool skip_idle = (flags & PYSAMPLE_SKIP_IDLE) && p->ninterps == 1;
	tvisit_begin(p);
	chain_fetch(p);
	size_t cpos = 0;                /* on the chain: the next state's position; SIZE_MAX: off */
	p->nchain_new = 0;
	for (size_t k = 0; k < p->ninterps; k++) {
		const struct interp_rec *ir = &p->interps[k];
		if (k && gil_per_interp && !(flags & PYSAMPLE_NO_GIL) && ir->tstate_head)
			holder = gil_holder(p, ir->addr);
		/* A collection runs: in the GIL holder; without a GIL, in the
		 * one attached thread state (several: not told, none marked). */
		bool gc = (flags & PYSAMPLE_GC) && ir->tstate_head && gc_collecting(p, ir->addr);
		uint64_t gc_ts = !gc ? 0 : !(flags & PYSAMPLE_NO_GIL) ? holder : gil_holder(p, ir->addr);
		bool gc_attached = gc && !gc_ts && L->free_threaded && L->ts_state >= 0;
		size_t gc_first = s->n, gc_marked = 0;
		for (uint64_t tstate = ir->tstate_head; tstate; nts++) {
			if (nts >= PYPROC_MAX_THREADS)
				goto done;
			const uint8_t *ts = chain_at(p, &cpos, tstate);
			if (ts) {
				p->ts_batched++;
			} else {
				if (!tvisit_add(p, tstate))
					return -ELOOP;
				err = mem__read(p->mem, tstate, ts_own, ts_len);
				if (err)
					return err;
				ts = ts_own;
				p->ts_serial++;
			}
			p->chain_new = xgrow(p->chain_new, &p->chain_new_cap, p->nchain_new + 1,
					     sizeof(*p->chain_new));
			p->chain_new[p->nchain_new++] = (struct chain_ent){ .addr = tstate };
			struct py_thread *t = thread_slot(s);
			p->marks = xgrow(p->marks, &p->marks_cap, s->n, sizeof(*p->marks));
			uint64_t *mark = &p->marks[s->n - 1];
			*mark = 0;
			t->tstate = tstate;
			t->interp_id = ir->id;
			t->thread_id = rd_u64(ts, L->ts_thread_id);
			t->owns_gil = holder && holder == tstate;
			t->tid = thread_tid(p, ts, t->thread_id, &t->ns_tid);
			p->chain_new[p->nchain_new - 1].tid = t->tid;
			t->active = thread_active(p, t->tid, os);
			p->nraw = 0;
			uint64_t next = rd_u64(ts, L->ts_next);
			tstate = next;
			t->in_gc = gc && (gc_ts ? gc_ts == t->tstate
					      : gc_attached && rd_i32(ts, L->ts_state) == TS_ATTACHED);
			gc_marked += t->in_gc;
			if (skip_idle && t->tid && !t->active && !t->owns_gil) {
				t->skipped = true;
				continue;
			}
			if (p->skip && p->ninterps == 1 && p->skip(p->skip_arg, t->thread_id, t->tid)) {
				t->skipped = true;      /* --thread: a name known not to match */
				continue;
			}
			t->in_exception = (flags & PYSAMPLE_EXCEPTION) && thread_in_exception(p, ts);
			uint64_t now = clock_now_ns();
			size_t common = 0;      /* frames the walk left to the memo */
			t->err = L->family == PY_FAMILY_FRAMEOBJ ? walk_frameobj(p, ts, &t->truncated, mark)
				 : walk_iframe(p, ts, &t->truncated, mark, memo_valid(p, t->tstate, now),
					       &common);
			if (t->err == -ESRCH || t->err == -E2BIG)
				return t->err;
			int rerr = resolve_thread(p, t, !t->err && !t->truncated, common, now);
			if (rerr == -ESRCH)
				return -ESRCH;
			t->leaf_instr = p->leaf_instr;
			uint8_t op;
			if ((flags & PYSAMPLE_OPCODE) && p->leaf_instr && leaf_opcode(p, t, &op) == 0)
				t->opcode = op;
			if (!t->err)
				t->err = rerr;
			if ((flags & PYSAMPLE_QUALNAME) && L->family == PY_FAMILY_FRAMEOBJ)
				method_names(p, t);
			if (p->work_bytes > PYPROC_MAX_SAMPLE_BYTES)
				return -E2BIG;  /* line tables of new code objects */
			synthetic |= t->nframes && !*mark;
		}
		for (size_t i = gc_first; gc_marked > 1 && i < s->n; i++)
			s->threads[i].in_gc = false;
	}
done:
	if (p->ninterps > 1)
		join_threads(p, s, synthetic);
	drop_unstarted(s);
	/* A thread the task list does not know yet (started since it was
	 * listed): list again, once. */
	for (size_t i = 0; i < s->n; i++) {
		pid_t tid = s->threads[i].tid;
		if (tid && !task_exists(p, tid)) {
			read_tasks(p, true);
			break;
		}
	}
	/* A lone thread whose TID could not be derived is the main thread. */
	if (s->n == 1 && !s->threads[0].tid && p->ntasks == 1) {
		s->threads[0].tid = p->info.pid;
		s->threads[0].active = thread_active(p, p->info.pid, os);
	}
	return 0;
}

/* The per-sample arrays are sized for the deepest stack met: one torn walk
 * of PYPROC_MAX_DEPTH frames (a thread exiting under the reader) would keep
 * about a megabyte for the rest of the run. Called once a second: arrays far
 * larger than a usual stack are given back (a real deep stack regrows
 * them). */
static void scratch_trim(struct pyproc *p, struct py_sample *s)
{
	if (p->raw_cap > SCRATCH_KEEP) {
		free(p->raw);
		p->raw = NULL;
		p->raw_cap = p->nraw = 0;
	}
	if (p->r_kept_cap > SCRATCH_KEEP) {
		free(p->r_kept);
		p->r_kept = NULL;
		p->r_kept_cap = 0;
	}
	for (size_t i = 0; p->memos && i < MEMO_SLOTS; i++)
		if (p->memos[i].cap > SCRATCH_KEEP)
			memo_free(&p->memos[i]);
	if (p->ucode_cap > SCRATCH_KEEP) {
		free(p->ucode);
		p->ucode = NULL;
		p->ucode_cap = p->nucode = 0;
	}
	if (p->uslots_cap > 2 * SCRATCH_KEEP) {
		free(p->uslots);
		p->uslots = NULL;
		p->uslots_cap = 0;
	}
	if (p->r_uniq_cap > SCRATCH_KEEP || p->r_ent_cap > SCRATCH_KEEP) {
		free(p->r_uniq);
		free(p->r_hdrs);
		free(p->r_iov);
		free(p->r_ent);
		free(p->r_miss);
		p->r_uniq = NULL;
		p->r_hdrs = NULL;
		p->r_iov = NULL;
		p->r_ent = NULL;
		p->r_miss = NULL;
		p->r_uniq_cap = p->r_hdrs_cap = p->r_iov_cap = p->r_ent_cap = p->r_miss_cap = 0;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->threads[i].cap > SCRATCH_KEEP) {
			free(s->threads[i].frames);
			s->threads[i].frames = NULL;
			s->threads[i].cap = s->threads[i].nframes = 0;
		}
}

int pyproc__sample(struct pyproc *p, const struct py_view *v, struct py_sample *s, unsigned flags)
{
	s->n = 0;
	p->flags = flags;
	p->now_ns = clock_coarse_ns();  /* ages of a second and more: a tick's precision */
	if (p->now_ns - p->swept_ns >= CODE_SWEEP_NS) {
		code_cache_sweep(p);
		scratch_trim(p, s);
		p->swept_ns = p->now_ns;
	}
	mem__cycle_begin(p->mem);
	view_begin(p, v);
	int err = sample_stacks(p, s, v && v->states, flags);
	/* the chain the next sample fetches first: this one's, when whole */
	struct chain_ent *c = p->chain;
	size_t cap = p->chain_cap;
	p->chain = p->chain_new;
	p->chain_cap = p->chain_new_cap;
	p->nchain = err ? 0 : p->nchain_new;
	p->chain_new = c;
	p->chain_new_cap = cap;
	p->nchain_new = 0;
	view_end(p);
	mem__cycle_end(p->mem);
	if (err)
		return err;
	return (flags & PYSAMPLE_NAMES) ? pyproc__thread_names(p, s) : 0;
}

void py_sample__release(struct py_sample *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->threads[i].frames);
	free(s->threads);
	memset(s, 0, sizeof(*s));
}

/* ---- for the asyncio reader (python/pyasync.c) --------------------------- */

int pyproc__each_tstate(struct pyproc *p, pyproc_tstate_fn fn, void *arg)
{
	const struct py_layout *L = &p->L;
	uint64_t interp = 0;
	size_t nts = 0, nis = 0;
	int err = find_interp(p, &interp);
	if (err)
		return err;
	if (!interp)
		return -EAGAIN;
	if (L->is_tstate_head < 0)
		return -EINVAL;
	struct loop_check li = { 0 };
	for (; interp && nis < PYPROC_MAX_INTERPS; nis++) {
		if (loop_check__step(&li, interp))
			return -ELOOP;
		uint64_t ts = 0;
		if ((err = mem__read_ptr(p->mem, interp + (uint64_t)L->is_tstate_head, &ts)) != 0)
			return err;
		if ((err = fn(interp, 0, 0, arg)) == PYPROC_EACH_SKIP)
			ts = 0;
		else if (err)
			return err;
		struct loop_check lt = { 0 };
		while (ts && nts++ < PYPROC_MAX_THREADS) {
			uint64_t tid = 0, next = 0;
			if (loop_check__step(&lt, ts))
				return -ELOOP;
			if ((err = mem__read_ptr(p->mem, ts + (uint64_t)L->ts_thread_id, &tid)) != 0 ||
			    (err = mem__read_ptr(p->mem, ts + (uint64_t)L->ts_next, &next)) != 0)
				return err;
			if ((err = fn(interp, ts, tid, arg)) != 0)
				return err;
			ts = next;
		}
		if (L->is_next < 0)
			break;
		if ((err = mem__read_ptr(p->mem, interp + (uint64_t)L->is_next, &interp)) != 0)
			return err;
	}
	return 0;
}

int pyproc__read_frame(struct pyproc *p, uint64_t frame_addr, struct py_frame *out)
{
	const struct py_layout *L = &p->L;
	uint8_t buf[FRAME_READ];
	struct raw_frame rf = { .frame = frame_addr, .entry = false };
	int err;
	memset(out, 0, sizeof(*out));
	out->line = -1;
	out->frame_addr = frame_addr;
	if (!frame_addr)
		return -EFAULT;
	if (L->family == PY_FAMILY_FRAMEOBJ) {
		int need = L->f_lasti + 4;
		if (L->f_code + 8 > need)
			need = L->f_code + 8;
		if ((err = mem__read(p->mem, frame_addr, buf, (size_t)need)) != 0)
			return err;
		rf.code = rd_u64(buf, L->f_code);
		rf.instr = (uint64_t)(int64_t)rd_i32(buf, L->f_lasti);
	} else {
		size_t need = (size_t)L->if_size;
		if (need > sizeof(buf) || need < 16 || L->if_code < 0 || L->if_instr < 0 ||
		    L->if_owner < 0 || (size_t)L->if_owner >= need)
			return -EINVAL;
		if ((err = mem__read(p->mem, frame_addr, buf, need)) != 0)
			return err;
		rf.code = rd_u64(buf, L->if_code) & L->stackref_mask;
		rf.instr = rd_u64(buf, L->if_instr);
		rf.owner = buf[L->if_owner];
		rf.tlbc = L->if_tlbc_index >= 0 ? rd_i32(buf, L->if_tlbc_index) : 0;
	}
	if (!rf.code)
		return -ENOENT;
	struct py_thread t = { 0 };
	p->nraw = 0;
	raw_push(p, rf);
	err = resolve_frames(p, &t);
	p->nraw = 0;
	if (!err && t.nframes == 1)
		*out = t.frames[0];
	else if (!err)
		err = -ENOENT;
	free(t.frames);
	return err;
}

void pyproc__reserve_codes(struct pyproc *p, size_t n)
{
	if (n > (1u << 20))
		n = 1u << 20;
	while ((p->ncodes + n) * 2 >= p->codes_cap)
		code_cache_grow(p);
}

struct frame_ix {
	uint64_t addr;
	size_t idx;
};

static int cmp_frame_ix(const void *a, const void *b)
{
	const struct frame_ix *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int pyproc__read_frames(struct pyproc *p, const uint64_t *addrs, size_t n, struct py_frame *out)
{
	const struct py_layout *L = &p->L;
	size_t need;
	if (L->family == PY_FAMILY_FRAMEOBJ) {
		int nd = L->f_lasti + 4;
		if (L->f_code + 8 > nd)
			nd = L->f_code + 8;
		need = (size_t)nd;
	} else {
		need = (size_t)L->if_size;
		if (need > FRAME_READ || need < 16 || L->if_code < 0 || L->if_instr < 0 ||
		    L->if_owner < 0 || (size_t)L->if_owner >= need)
			return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (struct py_frame){ .code = NULL, .line = -1, .frame_addr = addrs[i] };
	if (!n)
		return 0;
	enum { BATCH = 512 };
	uint8_t *buf = xmalloc(BATCH * FRAME_READ);
	struct mem_iov *iov = xmalloc(BATCH * sizeof(*iov));
	struct frame_ix *ix = xmalloc(n * sizeof(*ix));
	size_t nix = 0;
	int err = 0;
	p->nraw = 0;
	for (size_t k = 0; k < n && !err; k += BATCH) {
		size_t m = n - k < BATCH ? n - k : BATCH;
		for (size_t j = 0; j < m; j++)
			iov[j] = (struct mem_iov){ addrs[k + j], buf + j * FRAME_READ, addrs[k + j] ? need : 0, 0 };
		int rv = mem__readv(p->mem, iov, m);
		if (rv == -ESRCH) {
			err = rv;
			break;
		}
		for (size_t j = 0; j < m; j++) {
			const uint8_t *fb = buf + j * FRAME_READ;
			if (rv < 0 || iov[j].err || !addrs[k + j])
				continue;
			struct raw_frame rf = { .frame = addrs[k + j] };
			if (L->family == PY_FAMILY_FRAMEOBJ) {
				rf.code = rd_u64(fb, L->f_code);
				rf.instr = (uint64_t)(int64_t)rd_i32(fb, L->f_lasti);
			} else {
				rf.code = rd_u64(fb, L->if_code) & L->stackref_mask;
				rf.instr = rd_u64(fb, L->if_instr);
				rf.owner = fb[L->if_owner];
				rf.tlbc = L->if_tlbc_index >= 0 ? rd_i32(fb, L->if_tlbc_index) : 0;
			}
			if (!rf.code)
				continue;
			raw_push(p, rf);
			ix[nix++] = (struct frame_ix){ addrs[k + j], k + j };
		}
	}
	free(buf);
	free(iov);
	if (!err && p->nraw) {
		struct py_thread t = { 0 };
		err = resolve_frames(p, &t);
		if (err != -ESRCH)
			err = 0;
		qsort(ix, nix, sizeof(*ix), cmp_frame_ix);
		for (size_t i = 0; i < t.nframes; i++) {
			struct frame_ix key = { t.frames[i].frame_addr, 0 };
			struct frame_ix *hit = bsearch(&key, ix, nix, sizeof(*ix), cmp_frame_ix);
			if (hit)
				out[hit->idx] = t.frames[i];
		}
		free(t.frames);
	}
	p->nraw = 0;
	free(ix);
	return err;
}

/* ---- --thread ------------------------------------------------------------ */

void pyproc__set_skip(struct pyproc *p, bool (*skip)(void *arg, uint64_t thread_id, pid_t tid),
		      void *arg)
{
	p->skip = skip;
	p->skip_arg = arg;
}

/* The names are a walk of threading's dict of threads and of each Thread
 * object's attributes: about ten small reads a thread, each a syscall, once
 * a second. A live target's are read in a memory cycle of their own reader
 * (names_mem): the next time, everything the last walk read is fetched at
 * once, and only what moved since is read again. */
int pyproc__thread_names(struct pyproc *p, struct py_sample *s)
{
	const struct py_layout *L = &p->L;
	if (!p->names_mem)
		p->names_mem = mem__new_sibling(p->mem);
	struct mem *m = p->names_mem ? p->names_mem : p->mem;
	if (p->names_mem) {
		p->ctx.mem = m;
		mem__cycle_begin(m);
	}
	/* Every interpreter has its own threading module: the main one (the
	 * list's tail) last, so that its names win for the threads it began. */
	for (size_t k = 0; k < p->ninterps; k++) {
		uint64_t modules = 0;
		if (mem__read_ptr(m, p->interps[k].addr + (uint64_t)L->is_modules, &modules) == 0 &&
		    modules) {
			struct name_ctx nc = { s };
			pythread_names(&p->ctx, modules, set_name, &nc);
		}
	}
	if (p->names_mem) {
		mem__cycle_end(m);
		p->ctx.mem = p->mem;
	}
	return 0;
}
