/* SPDX-License-Identifier: MIT
 *
 * Python strings to UTF-8. pystr_decode() is the pure part (code units of 1,
 * 2 or 4 bytes -> UTF-8, lone surrogates and invalid code points replaced by
 * U+FFFD), unit-tested and fuzzed. pystr_read() reads a remote str (PEP 393
 * compact ASCII / compact / legacy; 2.7 str and unicode) or bytes object
 * through the memory reader, bounded to `cap` bytes of output.
 */
#ifndef CSPY_PYSTR_H
#define CSPY_PYSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pyctx;

/* Encode n code units of `width` bytes each (1 = Latin-1, 2 = UCS-2LE,
 * 4 = UCS-4LE) as UTF-8 into out (cap bytes, always NUL-terminated when
 * cap > 0). Stops before a character that would not fit. Returns the number
 * of bytes written (without the NUL); *truncated (may be NULL) says whether
 * input was left over. */
size_t pystr_decode(int width, const uint8_t *data, size_t n, char *out, size_t cap, bool *truncated);

/* Copy bytes as UTF-8, replacing each invalid sequence by U+FFFD. Same
 * contract as pystr_decode(). Used for 2.7 str and for bytes. */
size_t pystr_utf8_sanitize(const uint8_t *data, size_t n, char *out, size_t cap, bool *truncated);

/* Read a remote str (3.x unicode; 2.7 str or unicode) into out as UTF-8.
 * At most cap characters and 64 KiB are read (bounds remote lengths). Returns 0,
 * -EINVAL if obj is not a string (by its layout), or -errno of the read.
 * *truncated (may be NULL) is set when the string was longer than read. */
int pystr_read(const struct pyctx *c, uint64_t obj, char *out, size_t cap, bool *truncated);

/* The characters of a remote str (3.x; 2.7 unicode, UTF-16 pairs joined) as
 * code points, for reprs: at most max into out, *n of them. Surrogates and
 * other invalid code points are passed through as they are. A 2.7 `str` gives
 * its bytes. Returns 0, -EINVAL (not a string) or -errno; *truncated (may be
 * NULL) is set when the string is longer. */
int pystr_read_ucs4(const struct pyctx *c, uint64_t obj, uint32_t *out, size_t max, size_t *n,
		    bool *truncated);

/* Read a remote bytes object's contents (2.7 str: same thing). Reads at most
 * max bytes into buf (max is the only bound: line tables can be large); *n
 * receives how many. 0 or -errno / -EINVAL (negative size). */
int pybytes_read(const struct pyctx *c, uint64_t obj, uint8_t *buf, size_t max, size_t *n);

#endif
