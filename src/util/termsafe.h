/* SPDX-License-Identifier: MIT
 *
 * Text from the profiled process (function, file and thread names, command
 * lines) made safe for a terminal, in one place. A profiled program chooses
 * those strings, so printed raw they could move the cursor, retitle the
 * window or rewrite what the operator sees (ESC sequences, BEL, newlines,
 * C1 controls such as U+009B CSI, which some terminals obey in UTF-8).
 * Unsafe: C0 controls (U+0000-U+001F), DEL, C1 controls (U+0080-U+009F) and
 * malformed UTF-8. `dump`, the console lines of `record` and every error
 * message escape them readably (termsafe_escape); `top` draws '?' instead,
 * cut to a width in columns (tui/topview.c), with the same decoder.
 */
#ifndef CSPY_TERMSAFE_H
#define CSPY_TERMSAFE_H

#include <stdbool.h>
#include <stddef.h>

/* Decode one UTF-8 sequence at s (NUL-terminated): the code point and its
 * length in *len, or -1 for a malformed sequence (then *len is 1). */
long termsafe_utf8_next(const unsigned char *s, size_t *len);
/* cp (a code point, or -1 for malformed UTF-8) must not reach a terminal. */
bool termsafe_is_control(long cp);
/* A copy of s with each unsafe character escaped: \n, \r, \t, \xNN (other
 * C0 bytes, DEL and malformed bytes), \u0080-\u009f (C1); everything else,
 * backslashes included, unchanged. Heap string. */
char *termsafe_escape(const char *s);

#endif
