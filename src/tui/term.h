/* SPDX-License-Identifier: MIT
 *
 * The terminal of `cspy top`, with raw ANSI escapes and termios only (no
 * curses): the alternate screen, raw input without echo, a hidden cursor and
 * no line wrapping while open; the window size and a resize flag (SIGWINCH);
 * non-blocking key reads; whole-screen redraws in one write. The terminal is
 * restored by term__close(), at exit(), and on a crash signal (SIGSEGV,
 * SIGBUS, SIGABRT, SIGFPE, SIGILL: restore, then the default action by
 * re-raising). SIGINT, SIGTERM and SIGHUP are the caller's: it must end its
 * loop and call term__close().
 *
 * There is one terminal per process; the saved state lives in this module
 * so that the signal handlers can reach it.
 */
#ifndef CSPY_TERM_H
#define CSPY_TERM_H

#include <stdbool.h>
#include <stddef.h>

struct term;

enum term_style {
	TERM_PLAIN,
	TERM_BOLD,
	TERM_TITLE,             /* the column titles: reverse video */
	TERM_NOTE,              /* a message that needs attention: bold yellow */
};

#define TERM_KEY_NONE (-1)      /* no key within the timeout */
#define TERM_KEY_EOF (-2)       /* the input is closed (hang-up) */
#define TERM_KEY_ESC 27
#define TERM_KEY_CTRL_C 3

/* Can the terminal named name (the TERM variable; NULL: unset) take the raw
 * ANSI escapes of this module? No when it is unset, empty, "dumb" or
 * "unknown", or names a path; yes when it has a terminfo entry (in
 * $TERMINFO, ~/.terminfo, $TERMINFO_DIRS, /etc/terminfo, /lib/terminfo,
 * /usr/share/terminfo, /usr/lib/terminfo; either layout: x/xterm or
 * 78/xterm) or its family (the name before the first '-') is a known ANSI
 * terminal (xterm, screen, tmux, linux, vt100, rxvt, ...: containers often
 * ship no terminfo); else no. Callers fall back to plain text. Only reads
 * the environment and stat()s files. */
bool term_ansi_ok(const char *name);

/* Should output to fd be coloured: a terminal, and NO_COLOR unset or empty
 * (https://no-color.org). */
bool term_color_wanted(int fd);

/* Take over the terminal on out_fd (keys from in_fd, -1: none). Returns 0
 * and *out, -ENOTTY when out_fd is not a terminal, -EBUSY when a terminal is
 * already open, or -errno. */
int term__open(int in_fd, int out_fd, bool color, struct term **out);
/* Restore the terminal as it was and free t. Accepts NULL. */
void term__close(struct term *t);

/* The window size now (24 x 80 when it cannot be read). */
void term__size(const struct term *t, int *rows, int *cols);
/* Was the window resized since the last call? */
bool term__resized(struct term *t);
/* The next key (a byte; an escape sequence such as an arrow key comes as
 * TERM_KEY_ESC with its bytes dropped), waiting up to timeout_ms (0: do not
 * wait); TERM_KEY_NONE or TERM_KEY_EOF. */
int term__key(struct term *t, int timeout_ms);
/* Redraw the whole screen: line i of n with style styles[i] (NULL: plain);
 * lines must fit the width (they are not wrapped). 0 or -errno. */
int term__draw(struct term *t, const char *const *lines, const enum term_style *styles, size_t n);

#endif
