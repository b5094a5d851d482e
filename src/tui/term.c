/* SPDX-License-Identifier: MIT
 *
 * The terminal (see term.h). Opening saves the termios settings of the
 * terminal, switches input to raw (no canonical mode, no echo, no signals
 * from keys when keys are read here; output processing is kept), and
 * writes the escapes for the alternate screen, a hidden cursor and no
 * auto-wrap. Closing writes the reverse escapes and puts the saved termios
 * back. The same restore (write() and tcsetattr(), both async-signal-safe)
 * runs from an atexit hook and from the crash-signal handlers, which then
 * re-raise the signal with its default action (SA_RESETHAND|SA_NODEFER).
 * A redraw homes the cursor and writes every line after a "clear line",
 * then "clear below": no flicker, one write.
 *
 * Whether a terminal takes these escapes at all is decided without
 * terminfo's library: a compiled entry under one of its directories, or a
 * family known to speak ANSI (term_ansi_ok); a "dumb" terminal (Emacs'
 * shell buffer, a CI log) gets plain text from the caller.
 */
#include "tui/term.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util/xalloc.h"

#define ENTER_SEQ "\033[?1049h\033[?25l\033[?7l\033[H\033[2J"
#define RESTORE_SEQ "\033[0m\033[?7h\033[?25h\033[?1049l"

struct term {
	int in_fd, out_fd;
	bool color;
	char *buf;
	size_t len, cap;
};

/* What the signal handlers and the atexit hook need. */
static volatile sig_atomic_t term_active;
static volatile sig_atomic_t term_resized;
static int term_out_fd = -1, term_tio_fd = -1;
static bool term_have_tio;
static struct termios term_saved;
static bool term_atexit_done;

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
#define NCRASH (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction old_crash[NCRASH], old_winch;

/* Families whose members take the escapes of this module. */
static const char *const ansi_families[] = {
	"xterm", "screen", "tmux", "linux", "vt100", "vt102", "vt220", "ansi", "rxvt", "urxvt",
	"alacritty", "kitty", "foot", "st", "konsole", "gnome", "vte", "putty", "wezterm",
	"ghostty", "iterm", "iterm2", "contour", "mintty", "cygwin", "eterm",
};

/* A compiled terminfo entry for name under dir (x/name or 78/name). */
static bool terminfo_in(const char *dir, const char *name)
{
	char path[4096];
	struct stat sb;
	if (!dir || !dir[0])
		return false;
	if ((size_t)snprintf(path, sizeof(path), "%s/%c/%s", dir, name[0], name) < sizeof(path) &&
	    stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
		return true;
	return (size_t)snprintf(path, sizeof(path), "%s/%02x/%s", dir, (unsigned char)name[0], name) <
	       sizeof(path) && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool terminfo_found(const char *name)
{
	static const char *const system_dirs[] = {
		"/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo", "/usr/lib/terminfo",
	};
	if (terminfo_in(getenv("TERMINFO"), name))
		return true;
	const char *home = getenv("HOME");
	if (home && home[0]) {
		char dir[4096];
		if ((size_t)snprintf(dir, sizeof(dir), "%s/.terminfo", home) < sizeof(dir) &&
		    terminfo_in(dir, name))
			return true;
	}
	const char *dirs = getenv("TERMINFO_DIRS");
	for (const char *p = dirs; p && *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char dir[4096];
		if (n > 0 && n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (terminfo_in(dir, name))
				return true;
		}
		p = colon ? colon + 1 : p + n;
	}
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (terminfo_in(system_dirs[i], name))
			return true;
	return false;
}

bool term_ansi_ok(const char *name)
{
	size_t fam = name ? strcspn(name, "-") : 0;
	if (!name || !name[0] || (fam == 4 && strncmp(name, "dumb", 4) == 0) ||
	    strcmp(name, "unknown") == 0 || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < sizeof(ansi_families) / sizeof(ansi_families[0]); i++)
		if (strlen(ansi_families[i]) == fam && strncmp(name, ansi_families[i], fam) == 0)
			return true;
	return terminfo_found(name);
}

bool term_color_wanted(int fd)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(fd) && !(nc && nc[0]);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Async-signal-safe. */
static void restore_now(void)
{
	if (!term_active)
		return;
	term_active = 0;
	int saved_errno = errno;
	write_all(term_out_fd, RESTORE_SEQ, sizeof(RESTORE_SEQ) - 1);
	if (term_have_tio)
		tcsetattr(term_tio_fd, TCSANOW, &term_saved);
	errno = saved_errno;
}

static void on_crash(int sig)
{
	restore_now();
	raise(sig);     /* SA_RESETHAND: the default action now */
}

static void on_winch(int sig)
{
	(void)sig;
	term_resized = 1;
}

static void at_exit(void)
{
	restore_now();
}

int term__open(int in_fd, int out_fd, bool color, struct term **out)
{
	if (term_active)
		return -EBUSY;
	if (!isatty(out_fd))
		return -ENOTTY;
	bool keys = in_fd >= 0 && isatty(in_fd);
	term_tio_fd = keys ? in_fd : out_fd;
	term_have_tio = tcgetattr(term_tio_fd, &term_saved) == 0;
	if (term_have_tio) {
		struct termios raw = term_saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | IEXTEN);
		if (keys)
			raw.c_lflag &= ~(tcflag_t)ISIG;         /* Ctrl-C comes as a key */
		raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL | BRKINT | INPCK | ISTRIP);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(term_tio_fd, TCSADRAIN, &raw) != 0)
			return -errno;
	}
	term_out_fd = out_fd;
	term_resized = 0;
	term_active = 1;
	if (!term_atexit_done) {
		atexit(at_exit);
		term_atexit_done = true;
	}
	struct sigaction sa = { 0 };
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (size_t i = 0; i < NCRASH; i++)
		sigaction(crash_signals[i], &sa, &old_crash[i]);
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, &old_winch);
	write_all(out_fd, ENTER_SEQ, sizeof(ENTER_SEQ) - 1);

	struct term *t = xcalloc(1, sizeof(*t));
	t->in_fd = keys ? in_fd : -1;
	t->out_fd = out_fd;
	t->color = color;
	*out = t;
	return 0;
}

void term__close(struct term *t)
{
	if (!t)
		return;
	restore_now();
	for (size_t i = 0; i < NCRASH; i++)
		sigaction(crash_signals[i], &old_crash[i], NULL);
	sigaction(SIGWINCH, &old_winch, NULL);
	free(t->buf);
	free(t);
}

void term__size(const struct term *t, int *rows, int *cols)
{
	struct winsize ws;
	if (ioctl(t->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	} else {
		*rows = 24;
		*cols = 80;
	}
}

bool term__resized(struct term *t)
{
	(void)t;
	if (!term_resized)
		return false;
	term_resized = 0;
	return true;
}

int term__key(struct term *t, int timeout_ms)
{
	if (t->in_fd < 0)
		return TERM_KEY_NONE;
	struct pollfd pfd = { .fd = t->in_fd, .events = POLLIN };
	int r = poll(&pfd, 1, timeout_ms);
	if (r <= 0)
		return TERM_KEY_NONE;
	unsigned char c;
	ssize_t n = read(t->in_fd, &c, 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? TERM_KEY_NONE : TERM_KEY_EOF;
	if (n == 0)
		return (pfd.revents & (POLLHUP | POLLERR)) ? TERM_KEY_EOF : TERM_KEY_NONE;
	if (c == TERM_KEY_ESC) {
		/* Drop the rest of an escape sequence (arrow keys, function keys). */
		unsigned char junk[32];
		if (poll(&pfd, 1, 20) > 0 && (pfd.revents & POLLIN))
			(void)!read(t->in_fd, junk, sizeof(junk));
	}
	return c;
}

static void put(struct term *t, const char *s, size_t n)
{
	t->buf = xgrow(t->buf, &t->cap, t->len + n, 1);
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static void puts_(struct term *t, const char *s)
{
	put(t, s, strlen(s));
}

int term__draw(struct term *t, const char *const *lines, const enum term_style *styles, size_t n)
{
	static const char *const sgr[] = {
		[TERM_PLAIN] = "", [TERM_BOLD] = "\033[1m", [TERM_TITLE] = "\033[7m",
		[TERM_NOTE] = "\033[1;33m",
	};
	t->len = 0;
	puts_(t, "\033[H");
	for (size_t i = 0; i < n; i++) {
		enum term_style st = styles ? styles[i] : TERM_PLAIN;
		bool styled = t->color && st != TERM_PLAIN;
		/* Clear the line first: with auto-wrap off, a line as wide as
		 * the window leaves the cursor on its last character, which a
		 * "clear to end of line" after it would erase. */
		if (i)
			puts_(t, "\r\n");
		puts_(t, "\033[2K");
		if (styled)
			puts_(t, sgr[st]);
		puts_(t, lines[i]);
		if (styled)
			puts_(t, "\033[0m");
	}
	puts_(t, "\033[J");
	const char *p = t->buf;
	size_t left = t->len;
	while (left > 0) {
		ssize_t w = write(t->out_fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = t->out_fd, .events = POLLOUT };
			poll(&pfd, 1, 100);
			continue;
		}
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		left -= (size_t)w;
	}
	return 0;
}
