/* SPDX-License-Identifier: MIT
 *
 * Native unwinding with elfutils' libdwfl (see unwind.h).
 *
 * One Dwfl session per process: modules are reported from /proc/PID/maps
 * (dwfl_linux_proc_report) once, and again only when an unwound program
 * counter falls outside every known module (a library loaded since): at
 * once, but when a report did not help, the next waits 10 ms, then twice
 * as long each time up to a second, so code outside any file (a JIT) cannot
 * make every sample re-read the maps. libdwfl keeps each module's ELF, symbol table,
 * CFI and DWARF line tables, so they are loaded once per process.
 *
 * The session is attached with our own Dwfl_Thread_Callbacks: the initial
 * registers of a thread are those of the already-paused thread
 * (ptrace_pause__regs), and stack memory is read through proc/mem.h, a whole
 * page at a time into a small page cache (an unwind step reads a few words
 * near the previous ones), valid for one pause. The pages a thread's last
 * unwind used are wanted in the Python read's next memory cycle and taken
 * from its copy (unwinder__unwind's cycle): a sample's Python and native
 * stacks come in one process_vm_readv.
 *
 * A core file (unwinder__new_core): the modules are reported from the
 * core's mappings (as maps text, the files by their host paths), the
 * registers are the thread's NT_PRSTATUS, the memory the core's.
 *
 * Per-PC unwind rules: libdwfl looks up the CFI and allocates a frame for
 * every step of every sample. For each lookup address met (the PC of the
 * innermost frame, the call site of a return address) the CFI row is read
 * once (dwarf_cfi_addrframe: .eh_frame, else .debug_frame, as libdwfl does)
 * into a rule: the CFA as a register plus an offset, each register
 * undefined, the same, saved at CFA+N or equal to CFA+N, and the return
 * address column. A steady-state step is then a look-up in a direct-mapped
 * cache and reads from the stack pages already fetched. Anything else (a
 * DWARF expression, a signal frame, no CFI, a PC in no module or in code of
 * no file but a perf trampoline's, which is stepped through as below, a
 * read that fails, the depth limit) makes that thread's stack be
 * unwound by libdwfl from the start, so the result is always libdwfl's.
 * The rules are dropped with the symbols at each module report. Only where
 * the machine's return addresses are plain words (arch_info.cfi_plain_ra).
 * CSPY_UNWIND_RULES=0 turns them off; =check unwinds every stack both ways,
 * keeps libdwfl's and says at the end on stderr how many differed.
 *
 * A frame in no module, or in an executable mapping of no file, ends
 * libdwfl's walk (its frame-pointer guess is wrong for code built without
 * frame pointers). When it is a perf trampoline (python -X perf, 3.12+;
 * recognized by its code, see trampoline_step), the walk resumes from the
 * trampoline's caller, whose registers the trampoline's fixed frame gives;
 * the frame is marked, and merging hides it inside its eval-loop call.
 *
 * Symbols: program counter (the call site for return addresses, pc - 1) ->
 * function (demangled when it starts with _Z), module basename, source
 * file and line from DWARF, in an array indexed by program counter
 * (util/hashmap.h); the strings are interned (another index) for the
 * unwinder's life, so frames already handed out stay valid when the map is
 * cleared after a module re-report. With DWARF, the functions inlined at
 * the program counter (its inlined-subroutine scopes) are cached with it
 * and expanded into frames of their own (inline_frames). A new program
 * counter in a function symbolized before (struct func: its symbol's range)
 * takes that function's name without libdwfl's symbol search, and its
 * inlined callee from the function's subprogram DIE down, not from
 * dwarf_getscopes' walk of the whole compile unit (the same frame: the
 * innermost inlined instance holding it). CSPY_UNWIND_RULES=check finds
 * both with libdw too and counts the differences.
 */
#include "native/unwind.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "arch/arch.h"
#include "native/merge.h"
#include "proc/core.h"
#include "proc/maps.h"
#include "proc/mem.h"
#include "proc/ptrace.h"
#include "python/pyproc.h"
#include "util/hashmap.h"
#include "util/xalloc.h"
#include "util/clock.h"

#define PAGE 4096u
#define NPAGES 16
#define REREPORT_MIN_NS 10000000ull    /* 10 ms */
#define REREPORT_MAX_NS 1000000000ull
#define MAX_SYMS (1u << 20)
#define RULE_SLOTS 2048                /* direct-mapped unwind rules (a power of 2; 390 KiB,
					* made at a process's first --native unwind) */
#define RULE_REGS 32                   /* registers a rule holds (x86-64 uses 17) */

/* Provided by libstdc++ (C++ ABI); linked in with libdw. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct page {
	uint64_t addr;
	bool ok;
	const uint8_t *p;       /* data, or the page in the Python read's copy (borrowed) */
	uint8_t data[PAGE];
};

struct raw_stack {
	uint64_t *pcs;          /* lookup addresses (call sites), innermost first */
	uint64_t *sps;          /* each frame's stack pointer (0: unknown) */
	bool *tramps;           /* each frame: a perf trampoline */
	size_t n, cap, sps_cap, tramps_cap;
	int err;
	enum native_fail fail;  /* why, when err */
	unsigned span;          /* stack pages the last unwind read from its SP's page on */
	uint64_t sp_page;       /* ... and that page (0: none) */
};

/* Room for one more frame in st (one test in the steady state). */
static inline void stack_room(struct raw_stack *st)
{
	if (st->n + 1 > st->cap || st->n + 1 > st->sps_cap || st->n + 1 > st->tramps_cap) {
		st->pcs = xgrow(st->pcs, &st->cap, st->n + 1, sizeof(*st->pcs));
		st->sps = xgrow(st->sps, &st->sps_cap, st->n + 1, sizeof(*st->sps));
		st->tramps = xgrow(st->tramps, &st->tramps_cap, st->n + 1, sizeof(*st->tramps));
	}
}

struct sym {
	uint64_t pc;
	struct native_frame f;
	uint32_t inl, ninl;     /* its inlined callees: inl[inl..inl+ninl), innermost first */
};

/* How one register of the caller is found (a rule's kind[]). */
enum { RULE_UNDEF, RULE_SAME, RULE_AT_CFA, RULE_VAL_CFA };

/* The CFI row at one lookup address, when it is simple (see above). */
struct unwind_rule {
	uint64_t at;            /* the lookup address */
	uint32_t gen;           /* unwinder.rule_gen when made; 0: an empty slot */
	bool simple;            /* false: leave this stack to libdwfl */
	bool outside;           /* in no module, or in code of no file (see frame_cb) */
	uint8_t cfa_reg, ra;    /* CFA = regs[cfa_reg] + cfa_off; return address column */
	uint8_t nregs;          /* the registers not undefined: reg[0..nregs) */
	uint8_t reg[RULE_REGS];
	uint8_t kind[RULE_REGS];
	int32_t cfa_off;
	int32_t off[RULE_REGS]; /* CFA + off: where it is saved (AT_CFA), its value (VAL_CFA) */
};

enum { RULES_OFF, RULES_ON, RULES_CHECK };

/* A function symbolized before: its symbol's [lo, hi), its name, and once
 * looked for, the DWARF subprogram holding it (in its CU's top level) */
struct func {
	uint64_t lo, hi;
	const char *function;   /* interned */
	uint8_t die_state;      /* 0: not looked for, 1: cu and sub are set, 2: none */
	Dwarf_Addr bias;
	Dwarf_Die cu, sub;
};
#define MAX_FUNCS (1u << 16)

#define MAX_INLINE 32           /* inlined callees expanded at one PC */
#define EVAL_RANGES 4           /* eval-loop functions kept as ranges */

struct unwinder {
	pid_t pid;
	char root[PATH_MAX];            /* where the target's "/" is seen from here (a chroot's
					 * directory), "" when it is this machine's "/" */
	char *python_binary;
	Dwfl *dwfl;
	struct mem *mem;
	char *debuginfo_path;
	Dwfl_Callbacks cbs;
	uint64_t reported_ns;
	struct core *core;              /* unwinder__new_core: the core, else NULL */
	struct maps maps;               /* /proc/PID/maps at the last report */
	uint64_t rereport_wait_ns;      /* before the next report for an unknown PC: 0, and
					 * doubled (to 1 s) each time a report did not help */

	/* the unwind in progress */
	pid_t tid;
	const struct ptrace_pause *pause;
	struct raw_stack *cur;
	unsigned unknown_pc;            /* frames outside every module, but trampolines */
	bool no_regs;                   /* the thread's registers were not available */
	bool outside;                   /* the last frame is in no module */
	struct arch_regs outside_regs;  /* ... its program counter and registers */
	bool resume;                    /* start from resume_regs, not the thread's */
	bool resuming;                  /* ... and the first frame is a return address */
	struct arch_regs resume_regs;
	int mem_err;
	struct page pages[NPAGES];
	struct page *last_page;         /* the page the last stack word came from, or NULL */
	unsigned next_page;
	uint64_t touched_hi;            /* the highest page cb_memory_read served this unwind */
	struct mem *cycle;              /* the Python read's reader, whose ended cycle (this
					 * pause's) holds the stack pages wanted last time */

	int rules_mode;                 /* RULES_*: CSPY_UNWIND_RULES */
	struct unwind_rule *rules;      /* RULE_SLOTS, made on first use */
	uint32_t rule_gen;              /* bumped at each module report */
	uint64_t rule_stacks, dwfl_stacks, check_diffs;   /* stacks unwound each way */
	uint64_t func_names, func_scopes, func_diffs;   /* names, inlined callees from a known
							 * function; how many differed (check) */

	struct raw_stack *stacks;       /* per thread of the last unwind */
	size_t nstacks, stacks_cap;

	struct sym *syms;               /* symbolized program counters */
	size_t nsyms, syms_cap;
	struct hashmap sym_index;       /* pc -> syms[] */
	struct func *funcs;             /* by lo: a new PC in a known function takes its
					 * name without libdwfl's symbol search, and its
					 * inlined callees from its subprogram down */
	size_t nfuncs, funcs_cap;
	/* The eval loop's functions ([lo, hi) each): any PC in them is the same
	 * frame (one symbol, no line, no inlined callees: it stands for Python
	 * frames), found before the PC index. A busy thread's innermost PC is
	 * a new address of the loop in most samples: by PC, each would have
	 * been symbolized with its DWARF scopes (a third of --native's cost). */
	struct eval_range { uint64_t lo, hi; struct sym e; } evals[EVAL_RANGES];
	unsigned nevals;
	char **strs;                    /* interned strings */
	size_t nstrs, strs_cap;
	struct hashmap str_index;       /* text -> strs[] */
	struct native_frame *inl;       /* the inlined callees of syms[] */
	size_t ninl, inl_cap;
	struct native_frame *frames;    /* one thread's symbolized frames */
	size_t frames_cap;
	struct native_frame *xframes;   /* ... with their inlined callees */
	size_t xframes_cap;
	struct { uint32_t inl, ninl; } *finl;   /* unwinder__merge: each frame's inlined
						 * callees, while no clear (sym_clears) */
	size_t finl_cap;
	uint64_t sym_clears;            /* the symbols dropped at MAX_SYMS (lookup) */
	uint64_t *cst;                  /* mark_eval_calls: the shim frames' addresses */
	size_t cst_cap;
};

bool unwind_available(const char **why)
{
	if (why)
		*why = NULL;
	return true;
}

const char *unwind_backend(void)
{
	static char name[48];
	if (!name[0]) {
		const char *v = dwfl_version(NULL);
		snprintf(name, sizeof(name), "libdw %s", v ? v : "(unknown version)");
	}
	return name;
}

#if CSPY_STATIC
/* The static build (make static) links libdw with -Wl,--wrap=dlopen, so
 * libdw's one dlopen, of libdebuginfod.so.1 (elfutils 0.188 tries it for
 * every module without a local debug file, whatever DEBUGINFOD_URLS says),
 * comes here. A static program must not load a shared library: it would
 * bring a second C library, with its own malloc and thread-local storage.
 * libdw then goes on without debuginfod, as it does when the library is not
 * installed (and, without a handle, never calls dlsym or dlclose). */
void *__wrap_dlopen(const char *file, int mode);

void *__wrap_dlopen(const char *file, int mode)
{
	(void)file;
	(void)mode;
	return NULL;
}
#endif

/* ---- interned strings ---------------------------------------------------- */

static const char *intern(struct unwinder *u, const char *s)
{
	if (!s)
		return NULL;
	if (!u->str_index.slots)
		hashmap__init(&u->str_index, 1024);
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&u->str_index, hashmap_fnv_str(s), &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&u->str_index, &pos))
		if (strcmp(u->strs[id], s) == 0)
			return u->strs[id];
	u->strs = xgrow(u->strs, &u->strs_cap, u->nstrs + 1, sizeof(*u->strs));
	u->strs[u->nstrs] = xstrdup(s);
	hashmap__insert(&u->str_index, &pos, (uint32_t)u->nstrs);
	return u->strs[u->nstrs++];
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* ---- modules ------------------------------------------------------------- */

/* A module's file, opened as the target sees it: through /proc/PID/root, so
 * that a process in a container (its own mount namespace, or a chroot) gets
 * its own files and not this machine's of the same name. The maps name a
 * chrooted process's files with the chroot's directory in front (as seen
 * from here): that part is taken off first. Anything else (a deleted file,
 * the vDSO) is left to libdwfl's own callback. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	const struct unwinder *u = *userdata;
	if (u && !u->core && name && name[0] == '/') {
		size_t rl = strlen(u->root);
		const char *inner = rl && strncmp(name, u->root, rl) == 0 && name[rl] == '/' ?
			name + rl : name;
		char path[PATH_MAX + 32];
		struct stat sb;
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)u->pid, inner);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				*elfp = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
				if (*elfp) {
					*file_name = xstrdup(path);
					return fd;
				}
				close(fd);
			}
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

static int module_owner(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

/* The core's file mappings as /proc/PID/maps text, for libdwfl. */
static int report_core(struct unwinder *u)
{
	const struct maps *m = core__maps(u->core);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ENOMEM;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].path[0] == '/')
			fprintf(f, "%llx-%llx %c%c%c%c %llx 00:00 %llu %s\n",
				(unsigned long long)m->v[i].start, (unsigned long long)m->v[i].end,
				m->v[i].perms & MAP_R ? 'r' : '-', m->v[i].perms & MAP_W ? 'w' : '-',
				m->v[i].perms & MAP_X ? 'x' : '-', 'p', (unsigned long long)m->v[i].offset,
				(unsigned long long)m->v[i].inode, m->v[i].path);
	fclose(f);
	f = fmemopen(text, len ? len : 1, "r");
	int r = f ? dwfl_linux_proc_maps_report(u->dwfl, f) : ENOMEM;
	if (f)
		fclose(f);
	free(text);
	return r;
}

static int report_modules(struct unwinder *u)
{
	u->reported_ns = clock_now_ns();
	maps__release(&u->maps);
	if (!u->core && maps__load(u->pid, &u->maps) == -ENOENT)
		return -ESRCH;
	dwfl_report_begin(u->dwfl);
	int r = u->core ? report_core(u) : dwfl_linux_proc_report(u->dwfl, u->pid);
	if (dwfl_report_end(u->dwfl, NULL, NULL) != 0 && r == 0)
		r = -1;
	if (r > 0)
		return r == ENOENT ? -ESRCH : -r;
	/* Files are opened later, when first needed: find_elf gets u then. */
	dwfl_getmodules(u->dwfl, module_owner, u, 0);
	/* Addresses may now belong to other modules: forget the symbols (their
	 * strings stay interned). */
	if (u->sym_index.slots)
		hashmap__clear(&u->sym_index);
	u->nsyms = u->ninl = u->nevals = 0;
	u->nfuncs = 0;                  /* their DIEs belong to the modules' Dwarf */
	if (++u->rule_gen == 0)        /* 0 marks an empty slot */
		u->rule_gen = 1;
	return r < 0 ? -EINVAL : 0;
}

/* ---- thread callbacks ---------------------------------------------------- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0;       /* threads are only ever asked for by TID */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;
	(void)dwfl;
	*thread_argp = u;
	return tid == u->tid;
}

/* One word of the target's stack, through the pause's page cache. */
static __attribute__((noinline)) bool stack_word_slow(struct unwinder *u, uint64_t addr,
							      uint64_t *result)
{
	uint64_t base = addr & ~(uint64_t)(PAGE - 1);
	if (addr - base + sizeof(*result) <= PAGE) {
		struct page *pg = NULL;
		for (unsigned i = 0; i < NPAGES && !pg; i++)
			if (u->pages[i].ok && u->pages[i].addr == base)
				pg = &u->pages[i];
		if (!pg) {
			struct page *slot = &u->pages[u->next_page++ % NPAGES];
			int err = mem__read(u->mem, base, slot->data, PAGE);
			slot->addr = base;
			slot->ok = err == 0;
			slot->p = slot->data;
			if (err == -ESRCH)
				u->mem_err = err;
			if (!err)
				pg = slot;
		}
		if (pg) {
			/* only pages that could be read count towards the span */
			if (base > u->touched_hi)
				u->touched_hi = base;
			u->last_page = pg;
			memcpy(result, pg->p + (addr - base), sizeof(*result));
			return true;
		}
	}
	int err = mem__read(u->mem, addr, result, sizeof(*result));
	if (err == -ESRCH)
		u->mem_err = err;
	return err == 0;
}

/* The same, on the page of the last word first (a step reads near the
 * last one): no search. */
static inline bool stack_word(struct unwinder *u, uint64_t addr, uint64_t *result)
{
	const struct page *pg = u->last_page;
	if (pg && pg->ok && addr - pg->addr <= PAGE - sizeof(*result)) {
		memcpy(result, pg->p + (addr - pg->addr), sizeof(*result));
		return true;
	}
	return stack_word_slow(u, addr, result);
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	uint64_t w;
	if (!stack_word(arg, addr, &w))
		return false;
	*result = w;
	return true;
}

/* The machine's DWARF registers (arch/arch.h: x86-64 0-16, aarch64 0-31),
 * then the program counter apart (a column of its own on x86-64, none on
 * aarch64). */
static bool set_registers(Dwfl_Thread *thread, const struct arch_regs *r)
{
	Dwarf_Word regs[ARCH_DWARF_MAX];
	for (unsigned i = 0; i < arch_info.dwarf_nregs; i++)
		regs[i] = r->dwarf[i];
	if (!dwfl_thread_state_registers(thread, 0, arch_info.dwarf_nregs, regs))
		return false;
	dwfl_thread_state_register_pc(thread, r->pc);
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwinder *u = arg;
	struct arch_regs r;
	if (u->resume)
		return set_registers(thread, &u->resume_regs);
	const struct core_thread *ct = u->core ? core__thread(u->core, u->tid) : NULL;
	if (ct) {
		r = ct->regs;
	} else if (u->core || ptrace_pause__regs(u->pause, u->tid, &r) != 0) {
		u->no_regs = true;
		return false;
	}
	return set_registers(thread, &r);
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

/* ---- open / close -------------------------------------------------------- */

static int unwinder_open(pid_t pid, struct core *core, const char *python_binary,
			 struct unwinder **out)
{
	struct unwinder *u = xcalloc(1, sizeof(*u));
	int err;
	u->pid = pid;
	u->core = core;
	if (!core) {
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
		ssize_t rl = readlink(link, u->root, sizeof(u->root) - 1);
		u->root[rl > 1 ? rl : 0] = '\0';      /* "/" (or unknown): this machine's */
	}
	u->python_binary = python_binary ? xstrdup(python_binary) : NULL;
	const char *rules = getenv("CSPY_UNWIND_RULES");
	u->rules_mode = !arch_info.cfi_plain_ra || arch_info.dwarf_nregs > RULE_REGS ||
		(rules && strcmp(rules, "0") == 0) ? RULES_OFF
		: rules && strcmp(rules, "check") == 0 ? RULES_CHECK : RULES_ON;
	u->mem = core ? core__mem(core) : mem__new_pid(pid);
	/* Local debug files only (/usr/lib/debug, .gnu_debuglink): never a
	 * network fetch from debuginfod while the target is paused. */
	unsetenv("DEBUGINFOD_URLS");
	u->cbs = (Dwfl_Callbacks){
		.find_elf = find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &u->debuginfo_path,
	};
	u->dwfl = dwfl_begin(&u->cbs);
	if (!u->dwfl) {
		err = -ENOMEM;
		goto fail;
	}
	err = report_modules(u);
	if (err)
		goto fail;
	if (!dwfl_attach_state(u->dwfl, NULL, pid, &thread_cbs, u)) {
		err = -EINVAL;
		goto fail;
	}
	*out = u;
	return 0;
fail:
	unwinder__free(u);
	return err;
}

int unwinder__new(pid_t pid, const char *python_binary, struct unwinder **out)
{
	return unwinder_open(pid, NULL, python_binary, out);
}

int unwinder__new_core(struct core *core, const char *python_binary, struct unwinder **out)
{
	return unwinder_open(core__pid(core), core, python_binary, out);
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->rules_mode == RULES_CHECK)
		fprintf(stderr, "cspy: unwind rules check (pid %d): %llu stacks by rules, %llu by libdwfl "
			"alone, %llu differed; %llu names and %llu inlined-callee look-ups from a known "
			"function, %llu differed\n", (int)u->pid, (unsigned long long)u->rule_stacks,
			(unsigned long long)u->dwfl_stacks, (unsigned long long)u->check_diffs,
			(unsigned long long)u->func_names, (unsigned long long)u->func_scopes,
			(unsigned long long)u->func_diffs);
	free(u->rules);
	if (u->dwfl)
		dwfl_end(u->dwfl);
	mem__free(u->mem);
	maps__release(&u->maps);
	for (size_t i = 0; i < u->stacks_cap; i++) {
		free(u->stacks[i].pcs);
		free(u->stacks[i].sps);
		free(u->stacks[i].tramps);
	}
	free(u->stacks);
	free(u->syms);
	free(u->funcs);
	hashmap__fini(&u->sym_index);
	for (size_t i = 0; i < u->nstrs; i++)
		free(u->strs[i]);
	free(u->strs);
	hashmap__fini(&u->str_index);
	free(u->frames);
	free(u->xframes);
	free(u->finl);
	free(u->cst);
	free(u->inl);
	free(u->python_binary);
	free(u);
}

/* ---- unwinding ----------------------------------------------------------- */

/* The mappings: the core's, or /proc/PID/maps at the last report. */
static const struct maps *cur_maps(const struct unwinder *u)
{
	return u->core ? core__maps(u->core) : &u->maps;
}

/* In an executable mapping of no file (a JIT's code, or perf trampolines):
 * libdwfl may count it in the module mapped just before it. */
static bool in_anon_code(const struct unwinder *u, uint64_t pc)
{
	const struct map *m = maps__find(cur_maps(u), pc);
	return m && (m->perms & MAP_X) && !m->inode &&
	       (!m->path[0] || strncmp(m->path, "[anon:", 6) == 0);
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct unwinder *u = arg;
	struct raw_stack *st = u->cur;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (st->n >= UNWIND_MAX_DEPTH)
		return DWARF_CB_ABORT;
	/* A return address points after the call: look up the call itself. */
	uint64_t at = activation || pc == 0 ? pc : pc - 1;
	/* The first frame of a walk resumed after a trampoline is a return
	 * address, although libdwfl takes it for the initial frame. */
	if (u->resuming && activation && pc) {
		at = pc - 1;
		u->resuming = false;
	}
	u->outside = !dwfl_addrmodule(u->dwfl, at) || in_anon_code(u, at);
	if (u->outside) {
		u->unknown_pc++;
		/* Keep what a trampoline step needs (see trampoline_step). */
		memset(&u->outside_regs, 0, sizeof(u->outside_regs));
		u->outside_regs.pc = pc;
		for (unsigned r = 0; r < arch_info.dwarf_nregs; r++) {
			Dwarf_Word v;
			u->outside_regs.dwarf[r] = dwfl_frame_reg(state, r, &v) == 0 ? v : 0;
		}
	}
	Dwarf_Word sp;
	if (dwfl_frame_reg(state, arch_info.dwarf_sp, &sp) != 0)
		sp = 0;
	stack_room(st);
	st->sps[st->n] = sp;
	st->tramps[st->n] = false;
	st->pcs[st->n++] = at;
	/* No module, no CFI: libdwfl would guess the caller from the frame
	 * pointer, which code built without frame pointers uses for anything.
	 * Stop here (unwind_thread steps through a perf trampoline itself). */
	return u->outside ? DWARF_CB_ABORT : DWARF_CB_OK;
}

/* arch_read_fn over the target's memory. */
static int read_target(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return mem__read(ctx, addr, buf, len);
}

/* The unwind ended at program counter u->outside_regs.pc, in no module: is it
 * in a perf trampoline (python -X perf, PYTHONPERFSUPPORT=1, 3.12+: a copy
 * of a small assembly function in an anonymous executable mapping, one per
 * code object, that calls the eval loop): its return address, or with leaf
 * (the thread's own registers) any of its instructions (a thread entering
 * or leaving one: about 1 % of a recursive program's samples under -X
 * perf)? It has no CFI, but a fixed frame the machine's file knows
 * (arch_trampoline_step). On success, u->resume_regs holds the caller's
 * registers. */
static bool trampoline_step(struct unwinder *u, bool leaf)
{
	struct arch_regs r = u->outside_regs;
	if (!arch_trampoline_step(&r, read_target, u->mem, leaf))
		return false;
	u->resume_regs = r;
	return true;
}

/* The stack pages a thread's last unwind read from its SP's page on
 * (st->span, at most NPAGES / 2 of them). */
static unsigned prefetch_span(const struct raw_stack *st)
{
	return st->span < NPAGES / 2 ? st->span : NPAGES / 2;
}

/* Have the Python read's next cycle (u->cycle) fetch the stack pages of
 * st's last unwind in its batch: the next pause's unwind finds them in that
 * copy (mem__borrow_last), and a sample makes one process_vm_readv. */
static void want_stack(struct unwinder *u, const struct raw_stack *st)
{
	if (!u->cycle || !st->sp_page)
		return;
	for (unsigned i = 0, n = prefetch_span(st); i < n; i++)
		mem__want(u->cycle, st->sp_page + (uint64_t)i * PAGE, PAGE);
}

/* The stack pages the thread's last unwind read from its SP's page on:
 * from the Python read's copy of this pause when it holds them (wanted by
 * the last unwind), the others read now in one call (the unwind would read
 * them one page per call). */
static uint64_t prefetch_stack(struct unwinder *u, pid_t tid, const struct raw_stack *st)
{
	struct arch_regs regs;
	if (!u->pause || ptrace_pause__regs(u->pause, tid, &regs) != 0)
		return 0;
	uint64_t base = regs.dwarf[arch_info.dwarf_sp] & ~(uint64_t)(PAGE - 1);
	unsigned n = prefetch_span(st), nmiss = 0;
	struct mem_iov iov[NPAGES / 2];
	struct page *slot[NPAGES / 2];
	for (unsigned i = 0; i < n; i++) {
		struct page *pg = &u->pages[u->next_page++ % NPAGES];
		uint64_t addr = base + (uint64_t)i * PAGE;
		const uint8_t *p = u->cycle ? mem__borrow_last(u->cycle, addr, PAGE) : NULL;
		pg->addr = addr;
		pg->ok = p != NULL;
		pg->p = p;
		if (!p) {
			slot[nmiss] = pg;
			iov[nmiss++] = (struct mem_iov){ .addr = addr, .buf = pg->data, .len = PAGE };
		}
	}
	if (nmiss && mem__readv(u->mem, iov, nmiss) >= 0)
		for (unsigned i = 0; i < nmiss; i++) {
			slot[i]->ok = iov[i].err == 0;
			slot[i]->p = slot[i]->data;
		}
	return base;
}

/* ---- per-PC unwind rules ------------------------------------------------- */

/* The CFI row at lookup address at, as libdwfl's step finds it: the module
 * holding at, its .eh_frame, else its .debug_frame. */
static void rule_make(struct unwinder *u, uint64_t at, struct unwind_rule *ru)
{
	*ru = (struct unwind_rule){ .at = at, .gen = u->rule_gen };
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, at);
	if (!mod || in_anon_code(u, at)) {
		ru->outside = true;
		return;
	}
	Dwarf_Addr bias;
	Dwarf_Frame *fr = NULL;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
	if (!cfi || dwarf_cfi_addrframe(cfi, at - bias, &fr) != 0) {
		fr = NULL;
		cfi = dwfl_module_dwarf_cfi(mod, &bias);
		if (!cfi || dwarf_cfi_addrframe(cfi, at - bias, &fr) != 0)
			return;
	}
	bool signal = false;
	int ra = dwarf_frame_info(fr, NULL, NULL, &signal);
	Dwarf_Op *ops;
	size_t nops;
	if (signal || ra < 0 || (unsigned)ra >= arch_info.dwarf_nregs ||
	    dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops != 1)
		goto out;
	uint64_t creg, coff;
	if (ops[0].atom == DW_OP_bregx) {
		creg = ops[0].number;
		coff = ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		creg = ops[0].atom - DW_OP_breg0;
		coff = ops[0].number;
	} else {
		goto out;
	}
	if (creg >= arch_info.dwarf_nregs || (int64_t)coff != (int32_t)coff)
		goto out;
	ru->cfa_reg = (uint8_t)creg;
	ru->cfa_off = (int32_t)coff;
	ru->ra = (uint8_t)ra;
	for (unsigned r = 0; r < arch_info.dwarf_nregs; r++) {
		Dwarf_Op mem[3];
		if (dwarf_frame_register(fr, (int)r, mem, &ops, &nops) != 0)
			goto out;
		if (nops == 0) {
			if (ops == mem)
				ru->kind[r] = RULE_UNDEF;
			else if (ops == NULL)
				ru->kind[r] = RULE_SAME;
			else
				goto out;
			continue;
		}
		/* CFA [+ N] [stack_value]: saved at CFA+N, or equal to it */
		size_t i = 1;
		uint64_t off = 0;
		bool val = false;
		if (ops[0].atom != DW_OP_call_frame_cfa)
			goto out;
		if (i < nops && ops[i].atom == DW_OP_plus_uconst)
			off = ops[i++].number;
		if (i < nops && ops[i].atom == DW_OP_stack_value) {
			val = true;
			i++;
		}
		if (i != nops || (int64_t)off != (int32_t)off)
			goto out;
		ru->kind[r] = val ? RULE_VAL_CFA : RULE_AT_CFA;
		ru->off[r] = (int32_t)off;
	}
	for (unsigned r = 0; r < arch_info.dwarf_nregs; r++)
		if (ru->kind[r] != RULE_UNDEF)
			ru->reg[ru->nregs++] = (uint8_t)r;
	ru->simple = true;
out:
	free(fr);
}

static const struct unwind_rule *rule_get(struct unwinder *u, uint64_t at)
{
	if (!u->rules)
		u->rules = xcalloc(RULE_SLOTS, sizeof(*u->rules));
	struct unwind_rule *ru = &u->rules[(at * 0x9e3779b97f4a7c15ull) >> 53 & (RULE_SLOTS - 1)];
	if (ru->gen != u->rule_gen || ru->at != at)
		rule_make(u, at, ru);
	return ru;
}

/* Thread tid's stack by the cached rules into st (from its first frame).
 * Returns 0 when the walk reached a frame without a return address, as
 * libdwfl's would have with the same frames, or -1 for libdwfl to do it.
 * A perf trampoline is stepped through as unwind_thread does (the walk
 * resumed from its caller: a return address, but libdwfl's initial frame,
 * whose rule is looked up at the PC itself). */
static int rules_unwind(struct unwinder *u, pid_t tid, struct raw_stack *st)
{
	struct arch_regs r;
	const struct core_thread *ct = u->core ? core__thread(u->core, tid) : NULL;
	if (ct)
		r = ct->regs;
	else if (u->core || !u->pause || ptrace_pause__regs(u->pause, tid, &r) != 0)
		return -1;
	const unsigned nregs = arch_info.dwarf_nregs, sp = arch_info.dwarf_sp;
	const uint64_t all = nregs >= 64 ? ~0ull : (1ull << nregs) - 1;
	uint64_t val[RULE_REGS], nv[RULE_REGS], set = all;
	memcpy(val, r.dwarf, nregs * sizeof(*val));
	uint64_t pc = r.pc;
	bool first = true, resumed = false;
	while (pc) {
		if (st->n >= UNWIND_MAX_DEPTH)
			return -1;
		uint64_t at = first && !resumed ? pc : pc - 1;
		const struct unwind_rule *ru = rule_get(u, at);
		stack_room(st);
		if (ru->outside) {
			/* a perf trampoline, or the end of libdwfl's walk */
			memset(&u->outside_regs, 0, sizeof(u->outside_regs));
			u->outside_regs.pc = pc;
			for (unsigned i = 0; i < nregs; i++)
				u->outside_regs.dwarf[i] = set >> i & 1 ? val[i] : 0;
			st->sps[st->n] = set >> sp & 1 ? val[sp] : 0;
			st->tramps[st->n] = true;
			st->pcs[st->n++] = at;
			if (st->n >= UNWIND_MAX_DEPTH || u->mem_err || !trampoline_step(u, first && !resumed))
				return -1;
			memcpy(val, u->resume_regs.dwarf, nregs * sizeof(*val));
			set = all;
			pc = u->resume_regs.pc;
			first = resumed = true;
			continue;
		}
		if (first && resumed)
			ru = rule_get(u, pc);
		if (!ru->simple || !(set >> ru->cfa_reg & 1))
			return -1;
		uint64_t cfa = val[ru->cfa_reg] + (uint64_t)(int64_t)ru->cfa_off;
		uint64_t nset = 0;
		for (unsigned k = 0; k < ru->nregs; k++) {
			unsigned i = ru->reg[k];
			uint64_t a = cfa + (uint64_t)(int64_t)ru->off[i];
			switch (ru->kind[i]) {
			case RULE_SAME:
				nv[i] = val[i];
				nset |= set & 1ull << i;
				break;
			case RULE_AT_CFA:
				if (!stack_word(u, a, &nv[i]))
					return -1;
				nset |= 1ull << i;
				break;
			case RULE_VAL_CFA:
				nv[i] = a;
				nset |= 1ull << i;
				break;
			default:
				break;
			}
		}
		st->sps[st->n] = set >> sp & 1 ? val[sp] : 0;
		st->tramps[st->n] = false;
		st->pcs[st->n++] = at;
		/* no return address: the outermost frame */
		pc = nset >> ru->ra & 1 ? nv[ru->ra] : 0;
		memcpy(val, nv, nregs * sizeof(*val));
		set = nset;
		first = false;
	}
	return first ? -1 : 0;
}

/* CSPY_UNWIND_RULES=check: whether libdwfl's stack (st) equals the rules'. */
static bool same_stack(const struct raw_stack *st, size_t n, const uint64_t *pcs, const uint64_t *sps,
		       const bool *tramps)
{
	if (st->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (st->pcs[i] != pcs[i] || st->sps[i] != sps[i] || st->tramps[i] != tramps[i])
			return false;
	return true;
}

static int unwind_thread(struct unwinder *u, pid_t tid, struct raw_stack *st)
{
	st->n = 0;
	st->err = 0;
	st->fail = NATIVE_FAIL_GONE;
	if (tid <= 0)
		return -ESRCH;
	u->tid = tid;
	u->cur = st;
	u->unknown_pc = 0;
	u->no_regs = false;
	u->resume = u->resuming = false;
	uint64_t sp_page = prefetch_stack(u, tid, st);
	u->touched_hi = 0;
	int r = 0;
	uint64_t *rpcs = NULL, *rsps = NULL;
	bool *rtramps = NULL;
	size_t rn = 0;
	bool by_rules = u->rules_mode != RULES_OFF && rules_unwind(u, tid, st) == 0;
	if (by_rules && u->rules_mode == RULES_CHECK) {
		rn = st->n;
		rpcs = xmalloc((rn ? rn : 1) * sizeof(*rpcs));
		rsps = xmalloc((rn ? rn : 1) * sizeof(*rsps));
		memcpy(rpcs, st->pcs, rn * sizeof(*rpcs));
		memcpy(rsps, st->sps, rn * sizeof(*rsps));
		rtramps = xmalloc(rn ? rn : 1);
		memcpy(rtramps, st->tramps, rn);
		by_rules = false;
		u->rule_stacks++;
	} else if (by_rules) {
		u->rule_stacks++;
		goto done;
	}
	u->dwfl_stacks += !rpcs;
	st->n = 0;
	for (;;) {
		u->outside = false;
		size_t from = st->n;
		r = dwfl_getthread_frames(u->dwfl, tid, frame_cb, u);
		/* Ended in no module: through a perf trampoline, the walk goes
		 * on from its caller; anything else is left to a module report. */
		if (!u->outside || st->n <= from || st->n >= UNWIND_MAX_DEPTH || u->mem_err ||
		    !trampoline_step(u, st->n == 1)) {
			/* Stopped in a module without its CFI: maybe code
			 * mapped since the last report. */
			if (r != 0 && !u->outside && st->n > from)
				u->unknown_pc++;
			break;
		}
		st->tramps[st->n - 1] = true;
		u->unknown_pc--;
		u->resume = u->resuming = true;
	}
	if (rpcs) {
		if (r != 0 || u->unknown_pc || !same_stack(st, rn, rpcs, rsps, rtramps))
			u->check_diffs++;
		free(rpcs);
		free(rsps);
		free(rtramps);
	}
done:
	u->resume = u->resuming = false;
	u->tid = 0;
	st->span = sp_page && u->touched_hi >= sp_page && u->touched_hi - sp_page < 64 * PAGE
		? (unsigned)((u->touched_hi - sp_page) / PAGE) + 1 : 0;
	st->sp_page = st->span ? sp_page : 0;
	want_stack(u, st);
	if (u->mem_err)
		return u->mem_err;
	/* libdwfl may end a complete backtrace with an error: frames count. */
	if (r != 0 && st->n == 0) {
		st->fail = u->no_regs ? NATIVE_FAIL_REGS : NATIVE_FAIL_UNWIND;
		return -EIO;
	}
	st->fail = NATIVE_FAIL_NONE;
	return 0;
}

uint64_t unwinder__syscalls(const struct unwinder *u)
{
	return u->core ? 0 : mem__syscalls(u->mem);
}

void unwinder__want_stacks(struct unwinder *u, struct mem *cycle)
{
	u->cycle = cycle;
	for (size_t i = 0; i < u->nstacks; i++)
		want_stack(u, &u->stacks[i]);
}

int unwinder__unwind(struct unwinder *u, const struct ptrace_pause *pause, const struct py_sample *s,
		     struct mem *cycle)
{
	u->pause = pause;
	u->cycle = u->core ? NULL : cycle;
	u->mem_err = 0;
	for (unsigned i = 0; i < NPAGES; i++)
		u->pages[i].ok = false;
	u->last_page = NULL;
	if (s->n > u->stacks_cap) {
		size_t old = u->stacks_cap;
		u->stacks = xgrow(u->stacks, &u->stacks_cap, s->n, sizeof(*u->stacks));
		memset(u->stacks + old, 0, (u->stacks_cap - old) * sizeof(*u->stacks));
	}
	u->nstacks = s->n;
	int ret = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct py_thread *t = &s->threads[i];
		struct raw_stack *st = &u->stacks[i];
		if (t->skipped) {               /* idle, dropped by the caller */
			st->err = -ENOTSUP;
			st->fail = NATIVE_FAIL_OTHER;
			continue;
		}
		st->err = unwind_thread(u, t->tid, st);
		/* A frame in no known module: a library loaded since the
		 * modules were reported. Report again (at once, or after the
		 * back-off when the last report did not help) and retry. */
		if (!st->err && u->unknown_pc && clock_now_ns() - u->reported_ns >= u->rereport_wait_ns) {
			int err = report_modules(u);
			if (!err)
				st->err = unwind_thread(u, t->tid, st);
			if (!err && !u->unknown_pc)
				u->rereport_wait_ns = 0;
			else if (u->rereport_wait_ns < REREPORT_MAX_NS)
				u->rereport_wait_ns = u->rereport_wait_ns ? 2 * u->rereport_wait_ns
					: REREPORT_MIN_NS;
			if (err == -ESRCH)
				st->err = err;
		}
		if (st->err == -ESRCH && u->mem_err == -ESRCH) {
			ret = -ESRCH;
			break;
		}
	}
	u->pause = NULL;
	return ret;
}

/* ---- symbols ------------------------------------------------------------- */

static bool is_python_module(const struct unwinder *u, const char *path)
{
	if (!u->python_binary || !path)
		return false;
	return strcmp(path, u->python_binary) == 0 ||
	       strcmp(base_name(path), base_name(u->python_binary)) == 0;
}

/* A frame without a symbol: the offset in its file of the function's start
 * (the start of the CFI entry covering pc), or of pc when there is none,
 * through the mapping that holds it (stable across runs and ASLR). */
static void file_offset(const struct unwinder *u, Dwfl_Module *mod, uint64_t pc,
			struct native_frame *f)
{
	uint64_t at = pc;
	Dwarf_Addr bias;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
	Dwarf_Frame *fr = NULL;
	if (!cfi)
		cfi = dwfl_module_dwarf_cfi(mod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, pc - bias, &fr) == 0) {
		Dwarf_Addr start, end;
		if (dwarf_frame_info(fr, &start, &end, NULL) >= 0 && start + bias <= pc)
			at = start + bias;
		free(fr);
	}
	const struct map *m = maps__find(cur_maps(u), at);
	if (!m || !m->inode)
		return;
	f->has_offset = true;
	f->offset = at - m->start + m->offset;
}

/* The known function holding pc, or NULL. */
static struct func *func_find(struct unwinder *u, uint64_t pc)
{
	size_t lo = 0, hi = u->nfuncs;
	while (lo < hi) {               /* the first with lo > pc */
		size_t mid = lo + (hi - lo) / 2;
		if (u->funcs[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && pc < u->funcs[lo - 1].hi ? &u->funcs[lo - 1] : NULL;
}

static void func_add(struct unwinder *u, uint64_t lo, uint64_t hi, const char *function)
{
	if (u->nfuncs >= MAX_FUNCS)
		u->nfuncs = 0;
	size_t i = u->nfuncs;
	while (i && u->funcs[i - 1].lo > lo)
		i--;
	if (i && u->funcs[i - 1].hi > lo)
		return;                 /* overlaps one known: keep to libdwfl's search */
	if (i < u->nfuncs && u->funcs[i].lo < hi)
		return;
	u->funcs = xgrow(u->funcs, &u->funcs_cap, u->nfuncs + 1, sizeof(*u->funcs));
	memmove(&u->funcs[i + 1], &u->funcs[i], (u->nfuncs - i) * sizeof(*u->funcs));
	u->funcs[i] = (struct func){ .lo = lo, .hi = hi, .function = function };
	u->nfuncs++;
}

/* Symbolize pc into f; an eval-loop function is kept as a range (u->evals)
 * and has no line. */
static void symbolize(struct unwinder *u, uint64_t pc, struct native_frame *f)
{
	*f = (struct native_frame){ .pc = pc, .module = "", .module_path = "", .line = -1 };
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, pc);
	if (!mod)
		return;
	const char *path = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (path) {
		f->module_path = intern(u, path);
		f->module = intern(u, base_name(path));
		f->in_python = is_python_module(u, path);
	}
	/* a function met before: its name (check: libdwfl's too, kept) */
	const struct func *fn = func_find(u, pc);
	if (fn) {
		u->func_names++;
		f->function = fn->function;
		if (u->rules_mode != RULES_CHECK)
			goto line;
		f->function = NULL;
	}
	GElf_Off off;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	/* "memcpy@@GLIBC_2.14": the symbol version is not part of the name, nor
	 * (in C names) GCC's clone suffix: "select_select_impl.constprop.0". */
	char plain[512];
	const char *cut = name ? strchr(name, '@') : NULL;
	if (name && !cut && !(name[0] == '_' && name[1] == 'Z'))
		cut = strchr(name, '.');
	if (cut && cut != name && (size_t)(cut - name) < sizeof(plain)) {
		memcpy(plain, name, (size_t)(cut - name));
		plain[cut - name] = '\0';
		name = plain;
	}
	if (name && name[0]) {
		char *dem = NULL;
		int status = -1;
		if (name[0] == '_' && name[1] == 'Z')
			dem = __cxa_demangle(name, NULL, NULL, &status);
		f->function = intern(u, dem && status == 0 ? dem : name);
		free(dem);
	}
	if (!f->function && f->module_path[0])
		file_offset(u, mod, pc, f);
	if (fn) {
		u->func_diffs += f->function != fn->function;
		goto line;
	}
	if (f->function && name && sym.st_size && off < sym.st_size && u->nevals < EVAL_RANGES &&
	    merge_classify_name(f->function) == NATIVE_EVAL) {
		struct eval_range *r = &u->evals[u->nevals++];
		r->lo = pc - off;
		r->hi = r->lo + sym.st_size;
		r->e = (struct sym){ .pc = pc, .f = *f };
		r->e.f.name_role = (uint8_t)(NATIVE_EVAL + 1);
		return;
	}
	if (f->function && name && sym.st_size && off < sym.st_size)
		func_add(u, pc - off, pc - off + sym.st_size, f->function);
line:;
	Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
	int lineno = 0;
	const char *src = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (src && src[0] && lineno > 0) {
		f->file = intern(u, src);
		f->short_file = intern(u, base_name(src));
		f->line = lineno;
	}
}

/* fn's subprogram: the top-level DIE of pc's CU that holds pc (once per
 * function: a walk of the CU's top level, not of its whole tree). */
static void func_die(Dwfl_Module *mod, uint64_t pc, struct func *fn)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
	Dwarf_Die d;
	fn->die_state = 2;
	if (!cu || dwarf_child(cu, &d) != 0)
		return;
	do {
		if (dwarf_tag(&d) == DW_TAG_subprogram && dwarf_haspc(&d, pc - bias) > 0) {
			fn->cu = *cu;
			fn->sub = d;
			fn->bias = bias;
			fn->die_state = 1;
			return;
		}
	} while (dwarf_siblingof(&d, &d) == 0);
}

/* The innermost DW_TAG_inlined_subroutine holding addr below the
 * subprogram sub, into *out: 1, or 0 when there is none. What
 * dwarf_getscopes gives before the scopes of that instance's abstract
 * origin (which hold no inlined instance): the same frames. */
static int innermost_inlined(const Dwarf_Die *sub, uint64_t addr, Dwarf_Die *out)
{
	Dwarf_Die cur = *sub, child;
	int found = 0;
	for (unsigned depth = 0; depth < 256; depth++) {
		if (dwarf_child(&cur, &child) != 0)
			break;
		bool in = false;
		do {
			int tag = dwarf_tag(&child);
			if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
			     tag == DW_TAG_try_block || tag == DW_TAG_catch_block) &&
			    dwarf_haspc(&child, addr) > 0) {
				in = true;
				break;
			}
		} while (dwarf_siblingof(&child, &child) == 0);
		if (!in)
			break;
		if (dwarf_tag(&child) == DW_TAG_inlined_subroutine) {
			*out = child;
			found = 1;
		}
		cur = child;
	}
	return found;
}

/* The functions inlined at pc (DWARF: the DW_TAG_inlined_subroutine scopes
 * around it, innermost first), appended to u->inl as frames of their own:
 * each inlined callee named by its abstract origin, at the source line of
 * pc for the innermost and of the call inside it for the others; f (the
 * function holding them all) then gets the line of the outermost call.
 * Returns how many. Only where the module has DWARF (f->file is set). */
static uint32_t inline_frames_by(struct unwinder *u, Dwfl_Module *mod, uint64_t pc,
				 struct native_frame *f, struct func *fn)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu, *scopes = NULL, one;
	int n;
	if (fn) {
		cu = &fn->cu;
		bias = fn->bias;
		n = innermost_inlined(&fn->sub, pc - bias, &one);
	} else {
		cu = dwfl_module_addrdie(mod, pc, &bias);
		n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
	}
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	uint32_t k = 0;
	const char *file = f->file;
	int line = f->line;
	if (n > 0 && dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
		nfiles = 0;
	Dwarf_Die *sc = scopes ? scopes : &one;
	for (int i = 0; i < n && k < MAX_INLINE; i++) {
		int tag = dwarf_tag(&sc[i]);
		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		Dwarf_Attribute a;
		const char *name = dwarf_formstring(dwarf_attr_integrate(&sc[i], DW_AT_name, &a));
		u->inl = xgrow(u->inl, &u->inl_cap, u->ninl + 1, sizeof(*u->inl));
		struct native_frame *g = &u->inl[u->ninl++];
		*g = *f;
		g->function = intern(u, name ? name : "<inlined>");
		g->has_offset = false;
		g->file = file;
		g->short_file = file ? intern(u, base_name(file)) : NULL;
		g->line = file ? line : -1;
		k++;
		/* where it was inlined: the next frame's location */
		Dwarf_Word cf, cl;
		if (dwarf_formudata(dwarf_attr(&sc[i], DW_AT_call_file, &a), &cf) == 0 &&
		    cf < nfiles) {
			const char *src = dwarf_filesrc(files, cf, NULL, NULL);
			file = src && src[0] ? intern(u, src) : NULL;
		}
		if (dwarf_formudata(dwarf_attr(&sc[i], DW_AT_call_line, &a), &cl) == 0)
			line = (int)cl;
	}
	free(scopes);
	if (k && file && line > 0) {
		f->file = file;
		f->short_file = intern(u, base_name(file));
		f->line = line;
	}
	return k;
}

static bool same_frame(const struct native_frame *a, const struct native_frame *b)
{
	return a->function == b->function && a->file == b->file && a->line == b->line;
}

/* inline_frames_by from the known function's subprogram when there is one,
 * else from dwarf_getscopes; CSPY_UNWIND_RULES=check: both, libdw's kept,
 * a difference counted. */
static uint32_t inline_frames(struct unwinder *u, Dwfl_Module *mod, uint64_t pc,
			      struct native_frame *f)
{
	struct func *fn = func_find(u, pc);
	if (fn && !fn->die_state)
		func_die(mod, pc, fn);
	if (!fn || fn->die_state != 1 || dwarf_haspc(&fn->sub, pc - fn->bias) <= 0)
		return inline_frames_by(u, mod, pc, f, NULL);
	u->func_scopes++;
	if (u->rules_mode != RULES_CHECK)
		return inline_frames_by(u, mod, pc, f, fn);
	size_t at = u->ninl;
	struct native_frame f0 = *f, mine[MAX_INLINE + 1];
	uint32_t k = inline_frames_by(u, mod, pc, f, fn);
	if (k)
		memcpy(mine, u->inl + at, k * sizeof(*mine));
	mine[k] = *f;
	u->ninl = at;
	*f = f0;
	uint32_t k2 = inline_frames_by(u, mod, pc, f, NULL);
	bool same = k == k2 && same_frame(&mine[k], f);
	for (uint32_t i = 0; same && i < k; i++)
		same = same_frame(&mine[i], &u->inl[at + i]);
	u->func_diffs += !same;
	return k2;
}

static const struct sym *lookup(struct unwinder *u, uint64_t pc)
{
	if (!u->sym_index.slots)
		hashmap__init(&u->sym_index, 4096);
	if (u->nsyms >= MAX_SYMS) {
		hashmap__clear(&u->sym_index);
		u->nsyms = u->ninl = 0;
		u->sym_clears++;
	}
	for (unsigned i = 0; i < u->nevals; i++)
		if (pc >= u->evals[i].lo && pc < u->evals[i].hi)
			return &u->evals[i].e;
	uint64_t h = pc * 0x9e3779b97f4a7c15ull;
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&u->sym_index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&u->sym_index, &pos))
		if (u->syms[id].pc == pc)
			return &u->syms[id];
	u->syms = xgrow(u->syms, &u->syms_cap, u->nsyms + 1, sizeof(*u->syms));
	struct sym *e = &u->syms[u->nsyms];
	e->pc = pc;
	unsigned nevals = u->nevals;
	symbolize(u, pc, &e->f);
	if (u->nevals > nevals)
		return &u->evals[nevals].e;     /* a new eval-loop range, not indexed */
	e->inl = (uint32_t)u->ninl;
	e->ninl = 0;
	Dwfl_Module *mod = e->f.file ? dwfl_addrmodule(u->dwfl, pc) : NULL;
	if (mod)
		e->ninl = inline_frames(u, mod, pc, &e->f);
	/* the role by name, once per symbol, not per frame of every sample */
	e->f.name_role = (uint8_t)(merge_classify_name(e->f.function) + 1);
	for (uint32_t i = 0; i < e->ninl; i++)
		u->inl[e->inl + i].name_role = (uint8_t)(merge_classify_name(u->inl[e->inl + i].function) + 1);
	hashmap__insert(&u->sym_index, &pos, (uint32_t)u->nsyms++);
	return e;
}

/* 3.12+: a native frame whose stack memory [its SP, its caller's SP) holds
 * the shim frame of an eval-loop call (py_frame.cstack) is that call of the
 * eval loop, with or without a symbol: distributions strip the interpreter
 * and their compilers run a nameless clone of _PyEval_EvalFrameDefault. */
static void mark_eval_calls(struct unwinder *u, struct native_frame *f, const struct raw_stack *st,
			    const struct py_thread *t)
{
	/* The shim frames' addresses, innermost first, rise as the native
	 * frames' stack pointers do: when they are in order, each frame's
	 * range is a binary search, not a pass over every Python frame. */
	u->cst = xgrow(u->cst, &u->cst_cap, t->nframes ? t->nframes : 1, sizeof(*u->cst));
	size_t nc = 0;
	bool sorted = true;
	for (size_t j = 0; j < t->nframes; j++)
		if (t->frames[j].cstack) {
			sorted = sorted && (!nc || u->cst[nc - 1] <= t->frames[j].cstack);
			u->cst[nc++] = t->frames[j].cstack;
		}
	if (!nc)
		return;
	for (size_t k = 0; k + 1 < st->n; k++) {
		uint64_t lo = st->sps[k], hi = st->sps[k + 1];
		if (!lo || hi <= lo)
			continue;
		if (sorted) {
			size_t a = 0, b = nc;           /* the first address >= lo */
			while (a < b) {
				size_t mid = a + (b - a) / 2;
				if (u->cst[mid] < lo)
					a = mid + 1;
				else
					b = mid;
			}
			if (a < nc && u->cst[a] < hi)
				f[k].eval_call = true;
			continue;
		}
		for (size_t j = 0; j < t->nframes; j++) {
			uint64_t c = t->frames[j].cstack;
			if (c >= lo && c < hi) {
				f[k].eval_call = true;
				break;
			}
		}
	}
}

int unwinder__merge(struct unwinder *u, const struct py_sample *s, struct merged_sample *out)
{
	if (s->n > out->cap) {
		size_t old = out->cap;
		out->threads = xgrow(out->threads, &out->cap, s->n, sizeof(*out->threads));
		memset(out->threads + old, 0, (out->cap - old) * sizeof(*out->threads));
	}
	out->n = s->n;
	for (size_t i = 0; i < s->n; i++) {
		const struct py_thread *t = &s->threads[i];
		struct merged_stack *m = &out->threads[i];
		m->n = 0;
		m->err = t->err;
		m->fail = NATIVE_FAIL_PYTHON;
		if (!m->err) {
			m->err = i < u->nstacks ? u->stacks[i].err : -ESRCH;
			m->fail = i < u->nstacks ? u->stacks[i].fail : NATIVE_FAIL_GONE;
		}
		if (m->err)
			continue;
		const struct raw_stack *st = &u->stacks[i];
		u->frames = xgrow(u->frames, &u->frames_cap, st->n ? st->n : 1, sizeof(*u->frames));
		size_t nx = 0;
		u->finl = xgrow(u->finl, &u->finl_cap, st->n ? st->n : 1, sizeof(*u->finl));
		uint64_t clears = u->sym_clears;
		for (size_t k = 0; k < st->n; k++) {
			const struct sym *e = lookup(u, st->pcs[k]);
			u->finl[k].inl = e->inl;
			u->finl[k].ninl = e->ninl;
			u->frames[k] = e->f;
			u->frames[k].pc = st->pcs[k];   /* an eval-loop range's symbol has its first */
			u->frames[k].trampoline = st->tramps[k];
			nx += e->ninl + 1;
		}
		mark_eval_calls(u, u->frames, st, t);
		/* Each frame after the functions inlined into it at that PC
		 * (not into the eval loop and its wrappers: they stand for
		 * Python frames). */
		u->xframes = xgrow(u->xframes, &u->xframes_cap, nx ? nx : 1, sizeof(*u->xframes));
		nx = 0;
		bool again = u->sym_clears != clears;  /* then symbolized anew */
		for (size_t k = 0; k < st->n; k++) {
			if (again) {
				const struct sym *e = lookup(u, st->pcs[k]);
				u->finl[k].inl = e->inl;
				u->finl[k].ninl = e->ninl;
			}
			enum native_role role = merge_classify(&u->frames[k]);
			if (role != NATIVE_EVAL && role != NATIVE_EVAL_WRAPPER)
				for (uint32_t j = 0; j < u->finl[k].ninl; j++)
					u->xframes[nx++] = u->inl[u->finl[k].inl + j];
			u->xframes[nx++] = u->frames[k];
		}
		m->frames = xgrow(m->frames, &m->cap, nx + t->nframes + 1, sizeof(*m->frames));
		m->err = merge_stacks(u->xframes, nx, t->frames, t->nframes, m->frames, &m->n);
		m->fail = m->err ? merge_mismatch(u->xframes, nx, t->frames, t->nframes)
			: NATIVE_FAIL_NONE;
	}
	return 0;
}

int unwinder__unwind_core(struct unwinder *u, const struct py_sample *s, struct merged_sample *out)
{
	int err = unwinder__unwind(u, NULL, s, NULL);
	return err ? err : unwinder__merge(u, s, out);
}
