/* SPDX-License-Identifier: MIT
 *
 * Python detection (see detect.h). Candidates are the mapped libpython*.so
 * files first, then the main executable; the first whose ELF defines a
 * runtime symbol (_PyRuntime, the .PyRuntime section, interp_head,
 * _PyThreadState_Current, Py_Version) wins. The load bias is the start of its
 * offset-0 mapping minus its first PT_LOAD vaddr (0 for ET_EXEC).
 */
#include "python/detect.h"

#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "elf/elffile.h"
#include "proc/maps.h"
#include "proc/mem.h"
#include "python/offsets.h"
#include "util/xalloc.h"

#define SCAN_CHUNK (64u << 10)
#define SCAN_MAX (16u << 20)

/* major.minor from a name like libpython3.9.so.1.0, python2.7, libpython3.13t.so. */
static unsigned version_from_name(const char *path, bool *ft)
{
	const char *base = maps_basename(path);
	const char *p = strstr(base, "python");
	if (!p)
		return 0;
	p += 6;
	if (!isdigit((unsigned char)p[0]) || p[1] != '.' || !isdigit((unsigned char)p[2]))
		return 0;
	unsigned major = (unsigned)(p[0] - '0');
	char *end;
	unsigned long minor = strtoul(p + 2, &end, 10);
	if (minor > 99)
		return 0;
	if (ft)
		*ft = *end == 't';
	return PY_VER(major, minor);
}

static bool is_libpython(const char *path)
{
	const char *base = maps_basename(path);
	return strncmp(base, "libpython", 9) == 0 && strstr(base, ".so");
}

unsigned detect_version_in_text(const char *buf, size_t len, unsigned want)
{
	for (size_t i = 0; i + 8 < len; i++) {
		if (!isdigit((unsigned char)buf[i]) || buf[i + 1] != '.' ||
		    (i > 0 && (isdigit((unsigned char)buf[i - 1]) || buf[i - 1] == '.')))
			continue;
		size_t j = i + 2;
		unsigned minor = 0, micro = 0;
		size_t d = 0;
		while (j < len && isdigit((unsigned char)buf[j]) && d < 3)
			minor = minor * 10 + (unsigned)(buf[j++] - '0'), d++;
		if (!d || j >= len || buf[j] != '.')
			continue;
		j++;
		d = 0;
		while (j < len && isdigit((unsigned char)buf[j]) && d < 3)
			micro = micro * 10 + (unsigned)(buf[j++] - '0'), d++;
		if (!d)
			continue;
		size_t k = j;
		while (k < len && k < j + 16 && buf[k] != ' ' && isprint((unsigned char)buf[k]))
			k++;
		if (k + 1 >= len || buf[k] != ' ' || buf[k + 1] != '(')
			continue;
		unsigned major = (unsigned)(buf[i] - '0');
		unsigned v = PY_VER(major, minor) | (micro << 8) | 0xf0;
		if (major < 2 || major > 3 || (want && PY_MINOR_OF(v) != want))
			continue;
		return v;
	}
	return 0;
}

/* Scan the writable mappings of `path` (and the anonymous .bss right after
 * them) for the version string Py_GetVersion() wrote at start-up. */
static unsigned version_from_memory(struct mem *mem, const struct maps *maps, const char *path,
				    unsigned want)
{
	char *buf = xmalloc(SCAN_CHUNK + 64);
	size_t scanned = 0;
	unsigned v = 0;
	for (size_t i = 0; i < maps->n && !v && scanned < SCAN_MAX; i++) {
		const struct map *m = &maps->v[i];
		bool ours = strcmp(m->path, path) == 0;
		bool bss = m->path[0] == '\0' && i > 0 && strcmp(maps->v[i - 1].path, path) == 0 &&
			   maps->v[i - 1].end == m->start;
		if (!(m->perms & MAP_W) || !(m->perms & MAP_R) || !(ours || bss))
			continue;
		for (uint64_t a = m->start; a < m->end && !v && scanned < SCAN_MAX; a += SCAN_CHUNK) {
			size_t n = m->end - a < SCAN_CHUNK + 64 ? m->end - a : SCAN_CHUNK + 64;
			if (mem__read(mem, a, buf, n) != 0)
				continue;
			v = detect_version_in_text(buf, n, want);
			scanned += n;
		}
	}
	free(buf);
	return v;
}

static struct elffile *open_mapped(pid_t pid, const struct map *m)
{
	char path[600];
	struct elffile *ef = NULL;
	if (pid <= 0)           /* a core: the maps name the files (proc/core.h) */
		return elffile__open(m->path, &ef) == 0 ? ef : NULL;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)pid,
		 (unsigned long)m->start, (unsigned long)m->end);
	if (elffile__open(path, &ef) == 0)
		return ef;
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	if (elffile__open(path, &ef) == 0)
		return ef;
	if (elffile__open(m->path, &ef) == 0)
		return ef;
	return NULL;
}

static uint64_t sym(const struct elffile *ef, uint64_t bias, const char *name)
{
	uint64_t v;
	return elffile__symbol(ef, name, &v, NULL) == 0 && v ? bias + v : 0;
}

/* 2.7/3.6 without .symtab: PyInterpreterState_Head() only loads interp_head
 * (x86-64 `mov rax,[rip+rel32]; ret`; the machine's file decodes it). */
static uint64_t interp_head_from_code(const struct elffile *ef, uint64_t bias)
{
	uint64_t fn;
	uint8_t c[32];
	if (arch_info.getter_bytes > sizeof(c) ||
	    elffile__symbol(ef, "PyInterpreterState_Head", &fn, NULL) != 0 ||
	    elffile__read_vaddr(ef, fn, c, arch_info.getter_bytes) != 0)
		return 0;
	uint64_t at = arch_getter_global(c, fn);
	return at ? bias + at : 0;
}

static bool has_runtime_symbols(const struct elffile *ef)
{
	uint64_t a, s;
	return elffile__symbol(ef, "_PyRuntime", &a, NULL) == 0 ||
	       elffile__section(ef, ".PyRuntime", &a, &s) == 0 ||
	       elffile__symbol(ef, "_PyThreadState_Current", &a, NULL) == 0 ||
	       elffile__symbol(ef, "interp_head", &a, NULL) == 0 ||
	       elffile__symbol(ef, "Py_Version", &a, NULL) == 0;
}

int detect_python(pid_t pid, struct mem *mem, const struct maps *maps, struct py_target *out,
		  char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	if (whylen)
		why[0] = '\0';

	/* Candidate offset-0 mappings: libpython first, then anything else that
	 * is executable and file-backed (the main program, for static builds). */
	const struct map *found = NULL;
	struct elffile *ef = NULL;
	for (int pass = 0; pass < 2 && !found; pass++) {
		for (size_t i = 0; i < maps->n && !found; i++) {
			const struct map *m = &maps->v[i];
			if (m->offset != 0 || m->path[0] != '/' || is_libpython(m->path) != (pass == 0))
				continue;
			if (pass == 1 && !strstr(maps_basename(m->path), "python") &&
			    (i == 0 || strcmp(maps->v[0].path, m->path) != 0))
				continue;   /* only the executable or python-named binaries */
			struct elffile *cand = open_mapped(pid, m);
			if (!cand)
				continue;
			if (has_runtime_symbols(cand)) {
				found = m;
				ef = cand;
			} else {
				elffile__close(cand);
			}
		}
	}
	if (!found) {
		snprintf(why, whylen, "no libpython or Python runtime symbols in its mappings");
		return -ENOEXEC;
	}

	uint64_t bias = elffile__type(ef) == ET_EXEC ? 0 :
			found->start - elffile__first_load_vaddr(ef);
	snprintf(out->binary, sizeof(out->binary), "%s", found->path);

	uint64_t a, size;
	out->runtime = sym(ef, bias, "_PyRuntime");
	if (!out->runtime && elffile__section(ef, ".PyRuntime", &a, &size) == 0)
		out->runtime = bias + a;
	out->interp_head = sym(ef, bias, "interp_head");
	if (!out->interp_head)
		out->interp_head = interp_head_from_code(ef, bias);
	out->tstate_current = sym(ef, bias, "_PyThreadState_Current");
	out->none = sym(ef, bias, "_Py_NoneStruct");
	out->true_ = sym(ef, bias, "_Py_TrueStruct");
	out->false_ = sym(ef, bias, "_Py_FalseStruct");
	if (!out->false_)
		out->false_ = sym(ef, bias, "_Py_ZeroStruct");      /* 2.7 */
	out->code_type = sym(ef, bias, "PyCode_Type");
	out->py2_unicode_size = elffile__has_symbol_prefix(ef, "PyUnicodeUCS2_") ? 2 : 4;
	out->gc_collecting = sym(ef, bias, "collecting");
	/* The eval loop (3.6+: PyEval_EvalFrameEx is a small wrapper of it). */
	uint64_t ev = 0, evsize = 0;
	if ((elffile__symbol(ef, "_PyEval_EvalFrameDefault", &ev, &evsize) == 0 ||
	     elffile__symbol(ef, "PyEval_EvalFrameEx", &ev, &evsize) == 0) && ev && evsize) {
		out->eval_start = bias + ev;
		out->eval_end = bias + ev + evsize;
	}

	/* Version: Py_Version (3.11+), then the debug offsets, then memory. */
	bool ft_name = false;
	unsigned by_name = version_from_name(found->path, &ft_name);
	uint64_t pv = sym(ef, bias, "Py_Version");
	uint64_t v64 = 0;
	if (pv && mem__read(mem, pv, &v64, sizeof(v64)) == 0 && (v64 >> 24) >= 3 && v64 < (1ull << 32))
		out->version = (unsigned)v64;
	if (!out->version && out->runtime) {
		uint8_t hdr[24];
		if (mem__read(mem, out->runtime, hdr, sizeof(hdr)) == 0 &&
		    memcmp(hdr, "xdebugpy", 8) == 0) {
			memcpy(&v64, hdr + 8, 8);
			if (v64 < (1ull << 32))
				out->version = (unsigned)v64;
		}
	}
	if (!out->version)
		out->version = version_from_memory(mem, maps, found->path, by_name);
	if (!out->version && by_name) {
		out->version = by_name | 0xf0;  /* micro unknown */
		out->version_guessed = true;
	}
	elffile__close(ef);
	if (!out->version) {
		snprintf(why, whylen, "cannot determine the Python version of %s", found->path);
		return -ENOEXEC;
	}
	out->free_threaded = ft_name;
	bool debug_offsets = false;
	/* The cookie says whether the runtime publishes _Py_DebugOffsets (3.13+). */
	if (out->runtime) {
		uint8_t hdr[24];
		if (mem__read(mem, out->runtime, hdr, sizeof(hdr)) == 0 &&
		    memcmp(hdr, "xdebugpy", 8) == 0) {
			memcpy(&v64, hdr + 16, 8);
			out->free_threaded = v64 != 0;
			debug_offsets = true;
		}
	}
	/* A newer minor than cspy knows is tried (pyproc validates what it
	 * reads) when it publishes its own _Py_DebugOffsets. */
	struct py_layout L;
	if (offsets_for_version(out->version, out->free_threaded, &L) != 0 &&
	    !(debug_offsets && offsets_for_newer(out->version, out->free_threaded, &L) == 0)) {
		char vs[32];
		unsigned newest = offsets_newest_minor();
		offsets_version_str(out->version, out->free_threaded, vs, sizeof(vs));
		snprintf(why, whylen, "unsupported Python version %s (%s); cspy supports 2.7 and 3.6-3.%u",
			 vs, out->binary, (newest >> 16) & 0xff);
		return -ENOTSUP;
	}
	return 0;
}
