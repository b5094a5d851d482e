/* SPDX-License-Identifier: MIT
 *
 * libFuzzer harness for the remote-object readers (pystr, pyobj, pydict,
 * pyrepr, pythread, locals)
 * over snapshot memory. The input is:
 *
 *   u8  layout     index into `versions` below (mod its size)
 *   u8  ops        bit set: which readers to run (0 = all)
 *   u64 root       object address the readers start from
 *   u64 aux        second address (code object for locals_read, None)
 *   then regions:  u64 address, u16 length, that many bytes (repeated;
 *                  a short last region takes what is left)
 *
 * so seeds can be real memory recorded from a live interpreter
 * (mem__record_into) and mutations can move, grow and corrupt objects. The
 * pure decoders also run over the whole input. Every output must be
 * NUL-terminated inside its buffer.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -D_GNU_SOURCE \
 *       fuzz/fuzz_pyobj.c src/python/pystr.c src/python/pyobj.c \
 *       src/python/pydict.c src/python/pyrepr.c src/python/pythread.c \
 *       src/python/locals.c src/python/offsets.c src/proc/mem.c \
 *       src/util/xalloc.c -o /tmp/fuzz_pyobj
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/locals.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pydict.h"
#include "python/pyobj.h"
#include "python/pyrepr.h"
#include "python/pystr.h"
#include "python/pythread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	unsigned version;
	bool ft;
} versions[] = {
	{ 0x020712f0, false }, { 0x030600f0, false }, { 0x030a0df0, false }, { 0x030b07f0, false },
	{ 0x030c01f0, false }, { 0x030d00f0, false }, { 0x030e00f0, false }, { 0x030e00f0, true },
	{ 0x030800f0, false }, { 0x030d00f0, true },
};

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void must_terminate(const char *buf, size_t n)
{
	if (!memchr(buf, '\0', n))
		abort();
}

static int count_cb(uint64_t k, uint64_t v, void *arg)
{
	(void)k;
	(void)v;
	++*(size_t *)arg;
	return 0;
}

static void name_cb(uint64_t ident, const char *name, void *arg)
{
	(void)ident;
	*(size_t *)arg += strlen(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct py_layout L;
	char out[4096];
	bool t;

	/* The pure decoders, over the raw input. */
	for (int w = 1; w <= 4; w *= 2) {
		size_t n = pystr_decode(w, data, size / (size_t)w, out, sizeof(out), &t);
		if (n >= sizeof(out) || out[n] != '\0')
			abort();
	}
	size_t n = pystr_utf8_sanitize(data, size, out, 1 + size % 64, &t);
	if (n > size % 64 || out[n] != '\0')
		abort();

	if (size < 18)
		return 0;
	unsigned v = data[0] % (sizeof(versions) / sizeof(versions[0]));
	unsigned ops = data[1] ? data[1] : 0xff;
	uint64_t root = rd64(data + 2), aux = rd64(data + 10);
	if (offsets_for_version(versions[v].version, versions[v].ft, &L) != 0)
		abort();

	struct mem *m = mem__new_snapshot();
	for (size_t at = 18; at + 10 <= size;) {
		uint64_t addr = rd64(data + at);
		uint16_t len;
		memcpy(&len, data + at + 8, 2);
		at += 10;
		if (len > size - at)
			len = (uint16_t)(size - at);
		mem__snapshot_add(m, addr, data + at, len);
		at += len;
	}
	struct pyctx c = { .mem = m, .L = &L, .none_addr = aux };
	size_t cnt = 0;

	if (ops & 1) {
		pyrepr_format(&c, root, 1 + (int)(data[1] >> 6), out, sizeof(out));
		must_terminate(out, sizeof(out));
		pyrepr_format(&c, root, 1, out, 1 + data[1] % 40);
		must_terminate(out, 1 + data[1] % 40);
	}
	if (ops & 2) {
		size_t cap = 1 + (aux & 0x3ff);
		if (pystr_read(&c, root, out, cap, &t) == 0 && !memchr(out, '\0', cap))
			abort();
		uint32_t cp[64];
		size_t ncp;
		if (pystr_read_ucs4(&c, root, cp, 64, &ncp, &t) == 0 && ncp > 64)
			abort();
	}
	if (ops & 4)
		pydict_foreach(&c, root, count_cb, &cnt);
	if (ops & 8) {
		uint64_t val;
		pydict_getattr(&c, root, "_name", &val);
		pydict_get_str(&c, root, "threading", &val);
	}
	if (ops & 16)
		pythread_names(&c, root, name_cb, &cnt);
	if (ops & 32) {
		struct py_local *lv;
		size_t nl;
		if (locals_read(&c, root, aux, 1, &lv, &nl) == 0) {
			if (nl > 512)
				abort();
			locals_free(lv, nl);
		}
	}
	if (ops & 64) {
		int64_t iv;
		uint8_t b[64];
		size_t nb;
		pyobj_as_int64(&c, root, &iv);
		if (pyobj_type_name(&c, root, out, 1 + (aux & 63)) == 0)
			must_terminate(out, 1 + (aux & 63));
		if (pybytes_read(&c, root, b, sizeof(b), &nb) == 0 && nb > sizeof(b))
			abort();
	}
	mem__free(m);
	return 0;
}
