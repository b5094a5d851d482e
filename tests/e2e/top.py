#!/usr/bin/env python3
"""End-to-end tests of `cspy top`, driven through tmux as a person would.

    python3 tests/e2e/top.py [-k PATTERN] [--python VERSION] [-j JOBS] [-v]

Uses the e2e library (tests/e2e/e2elib.py) for interpreter discovery,
process tracking, the target class and the report. The target
(tests/targets/top/hot.py) spends its main thread's time in hot_70 and
hot_30 (70/30 of the wall time, measured by the target itself), with an
idle "sleeper" thread. cspy runs in a pane of a private tmux server
(`tmux -L cspy-test-<pid>`, 120x40): keys go in with send-keys, the screen
comes out with capture-pane, and a shell around cspy records `stty -a`
before and after and cspy's exit status.

Per interpreter (every installed one, unless --python; duration_output,
launch_signals and wrapper, which check cspy's own behaviour, on the
representative interpreters of e2elib.REPRESENTATIVE only, "rep" elsewhere):
  screen           top rows and %Own (within 5 points of the measured
                   shares), sort keys 1-4, L (function view: no lines),
                   space (the paused screen, with --timestamp, does not
                   change; sampling goes on), R (the statistics restart),
                   ? help, resize (redrawn to the new size), q (exit 0,
                   terminal restored, target running and not stopped)
  threads_sigterm  --idle, t shows one thread at a time then all; SIGTERM
                   restores the terminal
  thread_cycle     a thread-per-request server (server.py): t visits the live
                   threads and the exited ones as one entry (with samples
                   since R only), then all; T backwards; A all (2.7, 3.12,
                   3.14 and free-threaded builds; n/a elsewhere)
  duration_output  --duration exits on time leaving the table on screen;
                   --output has several plain-text snapshots with
                   --timestamp times
  plain_locals     stdout piped: plain-text tables every --delay, no
                   escapes; --locals pane with the hot function's variables
  launch_exit      `top -- python ...`: the exit is said on screen, the view
                   stays until a key, then cspy exits with the program's status;
                   the header shows the exact version (micro included)
  launch_signals   `top -- python handlers.py`: q, Ctrl-C (a key) and SIGTERM
                   to cspy end the program through its own SIGINT/SIGTERM
                   handler (run once), cspy exits with its status 5
  wrapper          `top -- sh -c 'PY hot.py ...; true'` (stdout piped): one line
                   saying 'sh' is not Python, rows of the Python process
  pid_namespace    the target in its own PID namespace with a private /tmp
                   (a container), stdout piped: hot_70, hot_30 lead; the
                   --locals pane title shows the TID and the id inside; on
                   the terminal, t shows each thread as TID (ns N) "NAME"
Version-independent (with the newest Python 3): unwritable_output, output_full
(--output /dev/full: "No space left on device", non-zero exit), native_nonblocking
(refused), crash_signals
(SIGSEGV and SIGHUP restore the terminal), colors (NO_COLOR honoured),
subprocesses (a shell's two Pythons: "Processes: 2" in the header),
never_python (`top -- true`, `top -- sleep 1`: one error line, exit 1), q_ignored
(q on a program ignoring SIGINT and SIGTERM: SIGKILL 5 s later, exit 137, gone), times
(-r 100000 on a 300-deep stack: TotalTime follows the wall time within 10 %),
term_dumb (TERM=dumb, unset or unknown on a pty: plain text, no ESC byte).

Last line: "N passed, N failed" (exit 1 if any failed). Every process is
ended by PID; the tmux server is killed at the end and on signals.
"""
import argparse
import concurrent.futures
import datetime
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                      # noqa: E402
from e2elib import (Fail, NA, alive, clip, cspy_path, cspy_shown, shown_version,  # noqa: E402
                    indent, leftover_stops, make_temp_dir, remove_temp_dir, run_one, selected,
                    target_env)

REPO = e2elib.REPO
SOCK = 'cspy-test-%d' % os.getpid()
WIDTH, HEIGHT = 120, 40
RATE = 100
TOL = 5.0                   # percentage points


def share_tol(pct, samples):
    """The tolerance on a share of pct % from samples samples: TOL, or three
    times the sampling error of that share when it is larger (250 samples of
    a 70 % share: 2.9 points each)."""
    n = max(samples or 0, 1)
    p = min(max(pct / 100.0, 0.0), 1.0)
    return max(TOL, 300.0 * (p * (1 - p) / n) ** 0.5)
OPTS = None
_session_ids = itertools.count(1)
_tmux_lock = threading.Lock()
_tmux_started = []

# (the python/native/system split's %Py %Nat %Sys columns, when the profile
# carries it, between the times and the function: percentages or "-")
RE_ROW = re.compile(r'^\s*(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+(\d+\.\d\d)s\s+(\d+\.\d\d)s'
                    r'(?:\s+(?:\d+%|-)\s+(?:\d+%|-)\s+(?:\d+%|-))?  (.*?)\s*$')
RE_LABEL = re.compile(r'^(.*?) \(([^()]*?)(?::(\d+))?\)$')
RE_SAMPLES = re.compile(r'^Total Samples (\d+)')
RE_MODE = re.compile(r'^Thread: (.*?)   Sort: (\S+)   View: by (line|function)(   PAUSED)?\s*$')
RE_COLLECT = re.compile(r"^Collecting samples from '(.*)' \(python v(\S+)\)")
RE_TIME = re.compile(r'^Time: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$')
EXIT_MSG = 'The program exited with status %d. Press any key to quit.'
# The GIL part of the header: a percentage, or on a free-threaded build
# running without a GIL (the targets' environment has no PYTHON_GIL) none.
RE_GIL_PCT = r'\d+\.\d\d%'
RE_GIL_NONE = r'none \(free-threaded\)'


def gil_re(interp):
    return RE_GIL_NONE if interp.free_threaded else RE_GIL_PCT


# --------------------------------------------------------------------------
# tmux

def tmux(*args, **kw):
    cmd = ['tmux', '-L', SOCK, '-f', '/dev/null'] + [str(a) for a in args]
    env = target_env()
    env.pop('TMUX', None)
    env['TERM'] = env.get('TERM') or 'xterm'
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=kw.get('timeout', 20))
    if kw.get('check', True) and r.returncode != 0:
        raise Fail('$ %s\n  exit status %d: %s' % (' '.join(cmd), r.returncode,
                                                  r.stderr.decode('utf-8', 'replace').strip()))
    return r.stdout.decode('utf-8', 'replace')


def kill_tmux_server():
    subprocess.run(['tmux', '-L', SOCK, 'kill-server'], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=20)
    # tmux leaves its socket file behind.
    tmpdir = os.environ.get('TMUX_TMPDIR') or '/tmp'
    try:
        os.unlink(os.path.join(tmpdir, 'tmux-%d' % os.getuid(), SOCK))
    except OSError:
        pass


def task_children(pid):
    out = []
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


SHELL = r'''
cd "$DIR" || exit 1
stty -a > stty.before
"$@"
echo $? > rc.tmp && mv rc.tmp rc
stty -a > stty.tmp && mv stty.tmp stty.after
exec sleep 600
'''


class Pane(object):
    """cspy in a tmux session of its own, inside a shell that records its
    exit status and the terminal settings before and after."""

    def __init__(self, ctx, args, width=WIDTH, height=HEIGHT, env=()):
        self.ctx = ctx
        self.dir = ctx.tmpdir('cspy-top-pane-')
        self.name = 'top%d' % next(_session_ids)
        self.args = [str(a) for a in args]
        self.shown = ' '.join([cspy_shown()] + self.args)
        argv = ['env', 'DIR=%s' % self.dir, 'sh', '-c', SHELL, 'sh',
                'env'] + list(env) + [cspy_path()] + self.args
        with _tmux_lock:
            tmux('new-session', '-d', '-x', width, '-y', height, '-s', self.name, *argv)
            # A server left without sessions exits, and a new-session that
            # reaches it then fails ("server exited unexpectedly": seen with
            # checks in parallel). It stays up until kill_tmux_server (set
            # after each new-session: a server may have ended before).
            tmux('set-option', '-g', 'exit-empty', 'off', check=False)
            _tmux_started.append(True)
        self.t0 = time.time()
        ctx.panes.append(self)
        self.pid = self._find_cspy()

    def _find_cspy(self):
        end = time.time() + 10
        shell = int(tmux('display-message', '-p', '-t', self.name, '#{pane_pid}').strip())
        while time.time() < end:
            for c in task_children(shell):
                if comm(c) == 'cspy':
                    return c
            if self.rc() is not None:
                return None
            time.sleep(0.02)
        raise Fail('%s: cspy did not start in the tmux pane' % self.shown)

    def screen(self, escapes=False):
        args = ['capture-pane', '-p', '-t', self.name] + (['-e'] if escapes else [])
        return tmux(*args).split('\n')[:-1] if not escapes else tmux(*args)

    def keys(self, *keys):
        tmux('send-keys', '-t', self.name, *keys)

    def resize(self, w, h):
        tmux('resize-window', '-t', self.name, '-x', w, '-y', h)

    def rc(self):
        try:
            with open(os.path.join(self.dir, 'rc')) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def wait_rc(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            rc = self.rc()
            if rc is not None:
                self.elapsed = time.time() - self.t0
                return rc
            time.sleep(0.05)
        raise Fail('%s: cspy did not exit within %ss\n  screen:\n%s'
                   % (self.shown, timeout, indent('\n'.join(self.screen()))))

    def stty_diff(self, timeout=5):
        """None when `stty -a` after cspy equals the one before, else the diff."""
        end = time.time() + timeout
        after = os.path.join(self.dir, 'stty.after')
        while not os.path.exists(after) and time.time() < end:
            time.sleep(0.05)
        try:
            with open(os.path.join(self.dir, 'stty.before')) as f:
                before = f.read()
            with open(after) as f:
                aft = f.read()
        except OSError as e:
            return 'cannot read the stty files: %s' % e
        if before == aft:
            return None
        return 'stty -a before:\n%s\nafter:\n%s' % (indent(before), indent(aft))

    def wait(self, pred, what, timeout=15):
        """Poll the screen until pred(screen) is true; returns the screen."""
        end = time.time() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.time() > end or self.rc() is not None:
                why = ('cspy exited with status %s' % self.rc()) if self.rc() is not None else \
                      'not within %ss' % timeout
                raise Fail('$ %s\n  waiting for %s: %s\n  screen:\n%s'
                           % (self.shown, what, why, indent('\n'.join(s))))
            time.sleep(0.1)

    def close(self):
        tmux('kill-session', '-t', self.name, check=False)
        # The session's SIGHUP ends cspy; one that does not end is killed by
        # its PID (the launched program dies with it: PR_SET_PDEATHSIG).
        end = time.time() + 3
        while self.pid and alive(self.pid) and time.time() < end:
            time.sleep(0.05)
        if self.pid and alive(self.pid):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass


# --------------------------------------------------------------------------
# Parsing the screen (and the plain-text snapshots, the same text)

class Screen(object):
    def __init__(self, lines):
        self.lines = lines
        self.rows = []
        self.samples = None
        self.mode = None
        self.collect = None
        self.times = []
        for ln in lines:
            m = RE_ROW.match(ln)
            if m:
                label = m.group(5)
                lm = RE_LABEL.match(label)
                self.rows.append({'own': float(m.group(1)), 'total': float(m.group(2)),
                                  'own_s': float(m.group(3)), 'total_s': float(m.group(4)),
                                  'label': label, 'name': lm.group(1) if lm else label,
                                  'file': lm.group(2) if lm else None,
                                  'line': int(lm.group(3)) if lm and lm.group(3) else None})
                continue
            m = RE_SAMPLES.match(ln)
            if m and self.samples is None:
                self.samples = int(m.group(1))
            m = RE_MODE.match(ln)
            if m and self.mode is None:
                self.mode = {'thread': m.group(1), 'sort': m.group(2), 'view': m.group(3),
                             'paused': bool(m.group(4))}
            m = RE_COLLECT.match(ln)
            if m and self.collect is None:
                self.collect = (m.group(1), m.group(2))
            m = RE_TIME.match(ln)
            if m:
                self.times.append(m.group(1))

    def row(self, name):
        for r in self.rows:
            if r['name'] == name:
                return r
        return None

    def names(self):
        return [r['name'] for r in self.rows]

    def text(self):
        return '\n'.join(self.lines)


def has_rows(*names):
    return lambda s: all(Screen(s).row(n) for n in names)


def snapshots(text):
    """Split plain-text output into snapshots (each starts with the header)."""
    parts = re.split(r'(?m)^(?=Collecting samples from )', text)
    return [Screen(p.split('\n')) for p in parts if p.startswith('Collecting samples from ')]


# --------------------------------------------------------------------------
# Context of one check

class Ctx(e2elib.Ctx):
    def __init__(self, interp):
        e2elib.Ctx.__init__(self, interp)
        self.panes = []
        self.dirs = []
        self.problems = []

    def tmpdir(self, prefix='cspy-top-'):
        d = make_temp_dir(prefix)
        self.dirs.append(d)
        return d

    def target(self, args=()):
        t = e2elib.Ctx.start(self, os.path.join('top', 'hot.py'), args)
        t.wait_ready(exact_tasks=False)
        return t

    def pane(self, args, **kw):
        require_cspy()
        return Pane(self, args, **kw)

    def fail(self, what, items):
        if items:
            self.problems.append((what, list(items)))

    def finish(self):
        if self.problems:
            parts = []
            for what, items in self.problems:
                if what:
                    parts.append(what)
                parts += [indent(i, 2) for i in items]
            raise Fail('\n'.join(parts))

    def close(self):
        for p in self.panes:
            p.close()
        e2elib.Ctx.close(self)
        for d in self.dirs:
            remove_temp_dir(d)


def require_cspy():
    if not os.access(cspy_path(), os.X_OK):
        raise Fail('cspy binary not found: %s (build it with `make`)' % e2elib.built_cspy())


def measured_shares(t):
    """The target's own measurement: % of hot time in hot_70 and hot_30."""
    with open(t.oracle_path + '.spent') as f:
        spent = json.load(f)
    tot = spent['hot_70'] + spent['hot_30']
    return dict((k, 100.0 * v / tot) for k, v in spent.items())


def launch_args(ctx, oracle, *extra):
    return [ctx.interp.path, os.path.join(e2elib.TARGETS, 'top', 'hot.py'), oracle] + list(extra)


def check_target_ok(ctx, t, what):
    if not alive(t.pid):
        ctx.fail(what, ['the target %d is not running any more' % t.pid])
        return
    left = leftover_stops(t)
    if left:
        ctx.fail(what, ['cspy left the target stopped: %s' % left])


# --------------------------------------------------------------------------
# Checks

def check_screen(ctx):
    t = ctx.target()
    p = ctx.pane(['top', '--timestamp', '--pid', t.pid])
    what = '$ ' + p.shown
    s = Screen(p.wait(lambda s: (Screen(s).samples or 0) >= 250 and has_rows('hot_70', 'hot_30')(s),
                      '250 samples with rows for hot_70 and hot_30'))
    shares = measured_shares(t)
    probs = []
    # The command line as the target's /proc shows it (a chrooted target's
    # begins with the root's python, not with the wrapper that started it).
    with open('/proc/%d/cmdline' % t.pid, 'rb') as f:
        argv0 = f.read().split(b'\0')[0].decode('utf-8', 'replace')
    if (not s.collect or not s.collect[0].startswith(argv0[:20]) or '...' not in s.collect[0]
            or not s.collect[0].endswith('/oracle.json') or s.collect[1] != shown_version(ctx.interp)):
        probs.append('header: expected "Collecting samples from \'%s...oracle.json\' (python v%s)" '
                     '(the long command line shortened in the middle)'
                     % (argv0[:20], shown_version(ctx.interp)))
    if len(s.times) != 1:
        probs.append('--timestamp: no "Time: YYYY-MM-DD HH:MM:SS" line in the header')
    if not any(re.match(r'^GIL: %s, Active: \d+\.\d\d%%, Threads: 2$' % gil_re(ctx.interp), ln)
               for ln in s.lines):
        probs.append('no "GIL: %s, Active: y%%, Threads: 2" line'
                     % ('none (free-threaded)' if ctx.interp.free_threaded else 'x%'))
    if s.names()[:2] != ['hot_70', 'hot_30']:
        probs.append('top rows by %%Own: expected hot_70, hot_30, got %s' % s.names()[:4])
    for name in ('hot_70', 'hot_30'):
        r = s.row(name)
        tol = share_tol(shares[name], s.samples)
        if abs(r['own'] - shares[name]) > tol:
            probs.append('%s: %%Own %.2f, measured by the target %.1f (tolerance %.1f points, of %d '
                         'samples)' % (name, r['own'], shares[name], tol, s.samples or 0))
        if r['line'] is None:
            probs.append('%s: no line number in the line view: %r' % (name, r['label']))
        # The caller at the root has 100 %: its TotalTime is all the time shown.
        all_s = max(x['total_s'] for x in s.rows)
        if abs(r['own_s'] - r['own'] / 100.0 * all_s) > 0.02 + 0.01 * r['own_s']:
            probs.append('%s: OwnTime %.2fs does not match %%Own x the root\'s TotalTime %.2fs'
                         % (name, r['own_s'], all_s))
    if probs:
        ctx.fail(what, probs + ['screen:\n' + indent(s.text())])
    first_own = s.names()

    # Sort keys.
    for key, sort in (('2', '%Total'), ('4', 'TotalTime'), ('3', 'OwnTime'), ('1', '%Own')):
        p.keys(key)
        s = Screen(p.wait(lambda sc, sort=sort: (Screen(sc).mode or {}).get('sort') == sort,
                          'Sort: %s after key %s' % (sort, key)))
        totals = [r['total'] for r in s.rows]
        owns = [r['own'] for r in s.rows]
        if sort in ('%Total', 'TotalTime'):
            if totals != sorted(totals, reverse=True):
                ctx.fail(what, ['key %s: rows not by %%Total: %s' % (key, totals)])
            if s.rows and s.rows[0]['name'] in ('hot_70', 'hot_30'):
                ctx.fail(what, ['key %s: a caller (100%% total) should come first, got %s'
                                % (key, s.names()[:3])])
            if s.names() == first_own:
                ctx.fail(what, ['key %s: the order did not change' % key])
        elif owns != sorted(owns, reverse=True):
            ctx.fail(what, ['key %s: rows not by %%Own: %s' % (key, owns)])

    # L: by function, no line numbers; and back.
    p.keys('L')
    s = Screen(p.wait(lambda sc: (Screen(sc).mode or {}).get('view') == 'function',
                      'View: by function after L'))
    if not any('Function (filename)' in ln for ln in s.lines):
        ctx.fail(what, ['L: the title does not say "Function (filename)"'])
    withline = [r['label'] for r in s.rows if r['line'] is not None]
    if withline or not s.row('hot_70'):
        ctx.fail(what, ['L: rows with line numbers %s (or no hot_70 row):\n%s'
                        % (withline, indent(s.text()))])
    r = s.row('hot_70')
    if r and abs(r['own'] - shares['hot_70']) > share_tol(shares['hot_70'], s.samples):
        ctx.fail(what, ['L: hot_70 %%Own %.2f, measured %.1f' % (r['own'], shares['hot_70'])])
    if len(set(s.names())) != len(s.names()):
        ctx.fail(what, ['L: a function on two rows: %s' % s.names()])
    p.keys('L')
    p.wait(lambda sc: (Screen(sc).mode or {}).get('view') == 'line', 'View: by line after L again')

    # Space: the screen stops changing while sampling goes on.
    p.keys('Space')
    a = p.wait(lambda sc: (Screen(sc).mode or {}).get('paused'), 'PAUSED after space')
    time.sleep(2.0)
    b = p.screen()
    if a != b:
        ctx.fail(what, ['paused, the screen changed:\nbefore:\n%s\nafter:\n%s'
                        % (indent('\n'.join(a)), indent('\n'.join(b)))])
    n_paused = Screen(a).samples
    p.keys('Space')
    s = Screen(p.wait(lambda sc: (Screen(sc).mode or {}).get('paused') is False, 'resumed after space'))
    if s.samples is None or n_paused is None or s.samples - n_paused < 0.4 * RATE * 2.0:
        ctx.fail(what, ['after a 2 s pause, Total Samples went from %s to %s: sampling stopped?'
                        % (n_paused, s.samples)])

    # R: the statistics start again (Total Samples falls back, then grows),
    # and the hot rows come back.
    before = Screen(p.screen()).samples or 0
    p.keys('R')
    s = Screen(p.wait(lambda sc: (Screen(sc).samples or 0) < before, 'Total Samples reset after R'))
    if before < 0.4 * RATE * 2.0:
        ctx.fail(what, ['R: only %s samples before the reset' % before])
    p.wait(lambda sc: (Screen(sc).samples or 0) >= 50 and has_rows('hot_70')(sc),
           'samples again after R, with a hot_70 row')

    # ? help, closed by any key.
    p.keys('?')
    p.wait(lambda sc: any('sort by %Own, %Total, OwnTime, TotalTime' in ln for ln in sc), 'help after ?')
    p.keys('x')
    p.wait(lambda sc: not any('sort by %Own' in ln for ln in sc) and has_rows('hot_70')(sc),
           'the table again after a key')

    # Resize: redrawn to the new size, then back.
    for w, h in ((70, 15), (WIDTH, HEIGHT)):
        p.resize(w, h)
        want_rows = h - 6 - 1 - 1        # header (6 lines with the time), title, key hints

        def redrawn(sc, h=h, want_rows=want_rows):
            return (len(sc) == h and sc[-1].startswith('Keys: 1-4 sort') and
                    2 <= len(Screen(sc).rows) <= want_rows)
        s = p.wait(redrawn, 'a redraw at %dx%d (key hints on the last line)' % (w, h), timeout=6)
        if any(len(ln) > w for ln in s):
            ctx.fail(what, ['at %dx%d a line is wider than the window' % (w, h)])

    # q: exit 0, terminal restored, target left running.
    p.keys('q')
    rc = p.wait_rc()
    if rc != 0:
        ctx.fail(what, ['q: exit status %s, expected 0' % rc])
    d = p.stty_diff()
    if d:
        ctx.fail(what, ['q: the terminal settings were not restored:\n' + indent(d)])
    after = p.screen()
    if any('Collecting samples' in ln for ln in after):
        ctx.fail(what, ['q: the table is still on the screen (alternate screen not left):\n'
                        + indent('\n'.join(after))])
    check_target_ok(ctx, t, what)
    ctx.finish()


def check_threads_sigterm(ctx):
    t = ctx.target()
    tids = dict((th['role'], th['tid']) for th in t.oracle['threads'])
    p = ctx.pane(['top', '--idle', '--pid', t.pid])
    what = '$ ' + p.shown
    p.wait(has_rows('hot_70', 'sleepy_wait'), 'rows of both threads (--idle)')
    seen = []
    for i in (1, 2):
        p.keys('t')
        s = Screen(p.wait(lambda sc, i=i: re.match(r'^\d+ .*\[%d/2\]$' % i,
                                                   (Screen(sc).mode or {}).get('thread', '')),
                          'a single thread [%d/2] after t' % i))
        s = Screen(p.wait(lambda sc: Screen(sc).rows, 'rows of the thread'))
        m = re.match(r'^(\d+) ', s.mode['thread'])
        tid = int(m.group(1)) if m else None
        seen.append(tid)
        if tid == tids['main']:
            ok = s.row('hot_70') and not s.row('sleepy_wait') and '"MainThread"' in s.mode['thread']
        elif tid == tids['sleeper']:
            ok = s.row('sleepy_wait') and not s.row('hot_70') and '"sleeper"' in s.mode['thread']
        else:
            ok = False
        if not ok:
            ctx.fail(what, ['t: thread %s (oracle: %s) shows the wrong rows:\n%s'
                            % (tid, tids, indent(s.text()))])
    if sorted(seen) != sorted(tids.values()):
        ctx.fail(what, ['t: threads shown %s, expected each of %s once' % (seen, sorted(tids.values()))])
    p.keys('t')
    s = Screen(p.wait(lambda sc: (Screen(sc).mode or {}).get('thread', '').startswith('all'),
                      'all threads after the last t'))
    if not (s.row('hot_70') and s.row('sleepy_wait')):
        ctx.fail(what, ['t back to all: rows of both threads expected:\n' + indent(s.text())])
    os.kill(p.pid, signal.SIGTERM)
    rc = p.wait_rc()
    if rc != 0:
        ctx.fail(what, ['SIGTERM: exit status %s, expected 0' % rc])
    d = p.stty_diff()
    if d:
        ctx.fail(what, ['SIGTERM: the terminal settings were not restored:\n' + indent(d)])
    check_target_ok(ctx, t, what)
    ctx.finish()


# The thread cycle's interpreters: 2.7 (the oldest thread list; names
# without the target), 3.12 (per-interpreter GIL state), 3.14 (the newest
# stable release) and the free-threaded builds (no GIL: the burner and a
# request run at once). What the keys do is top's; these cover how threads
# come and go on each family of thread lists.
CYCLE_NA = 'the thread cycle is checked on 2.7, 3.12, 3.14 and free-threaded builds'
RE_SEL_THREAD = re.compile(r'^(\d+)(?: \(ns \d+\))?(?: "(.*)")? \[(\d+)/(\d+)\]$')
RE_SEL_EXITED = re.compile(r'^exited threads \((\d+)\) \[(\d+)/(\d+)\]$')
RE_SEL_GONE = re.compile(r'^(\d+) \(exited\)$')
RE_SEL_STARTING = re.compile(r'^threads starting \[(\d+)/(\d+)\]$')


def cycle_interp(interp):
    return interp.free_threaded or interp.minor in ((2, 7), (3, 12), (3, 14))


def selection(label):
    """The view a "Thread:" label names: 'all', 'exited' or the TID."""
    if label.startswith('all'):
        return 'all'
    if RE_SEL_EXITED.match(label):
        return 'exited'
    if RE_SEL_STARTING.match(label):
        return 'starting'
    m = RE_SEL_GONE.match(label)
    if m:
        return int(m.group(1))
    m = RE_SEL_THREAD.match(label)
    if m and m.group(1) != '0':
        return int(m.group(1))
    return re.sub(r' \[\d+/\d+\]$', '', label)     # e.g. a lane shown as a thread (TID 0)


def cycle_ok(sels, tids, tail, order):
    """sels ends with tail; holds each thread of order once, in that order;
    and at most 3 others, each a request (not main or burner) or the
    threads starting."""
    if len(sels) < len(tail) or sels[-len(tail):] != tail:
        return False
    body = sels[:-len(tail)]
    if [x for x in body if x in order] != order:
        return False
    others = [x for x in body if x not in order]
    return len(others) <= 3 and all(x == 'starting' or (isinstance(x, int) and x not in tids.values())
                                    for x in others)


def check_thread_cycle(ctx):
    """A thread-per-request server (server.py, launched, --idle): after R,
    t visits MainThread and the burner by TID (the burner first when TIDs
    wrapped around between them), at most a few live requests (anywhere:
    TIDs wrap around on a busy machine) and the exited threads as one entry
    (their rows: handle_request only; the setup threads' lane, without
    samples since R, not at all), then all; T goes the other way (all,
    exited, ..., burner, main, all); A goes back to all from a thread."""
    if not cycle_interp(ctx.interp):
        raise NA(CYCLE_NA)
    oracle = os.path.join(ctx.tmpdir(), 'oracle.json')
    p = ctx.pane(['top', '--idle', '--delay', '0.5', '--', ctx.interp.path,
                  os.path.join(e2elib.TARGETS, 'top', 'server.py'), oracle])
    what = '$ ' + p.shown
    end = time.time() + 20
    while not os.path.exists(oracle):
        if time.time() > end or p.rc() is not None:
            raise Fail('%s\n  the server did not write its oracle (cspy status %s):\n%s'
                       % (what, p.rc(), indent('\n'.join(p.screen()))))
        time.sleep(0.05)
    with open(oracle) as f:
        tids = dict((th['role'], th['tid']) for th in json.load(f)['threads'])
    p.wait(has_rows('burn', 'handle_request'), 'rows of burn and handle_request')
    before = Screen(p.screen()).samples or 0
    p.keys('R')
    p.wait(lambda sc: (Screen(sc).samples or 0) < before, 'Total Samples reset after R')
    p.wait(lambda sc: (Screen(sc).samples or 0) >= 60 and has_rows('burn', 'handle_request')(sc),
           '60 samples after R with rows of burn and handle_request')

    def press(key, prev):
        """The selection after key, and the screen; (None, None) when it
        did not change within 5 s (said as a problem)."""
        p.keys(key)
        try:
            s = Screen(p.wait(lambda sc: selection((Screen(sc).mode or {}).get('thread', '')) != prev,
                              'another thread selection after %s (was %s)' % (key, prev), timeout=5))
        except Fail as e:
            ctx.fail(what, ['key %s: %s' % (key, str(e).split('\n')[1].strip())])
            return None, None
        return selection(s.mode['thread']), s

    def to_all():
        """A, else (said as a problem) t until all."""
        p.keys('A')
        try:
            p.wait(lambda sc: (Screen(sc).mode or {}).get('thread', '').startswith('all'),
                   'all after A', timeout=3)
            return
        except Fail:
            ctx.fail(what, ['A: the view did not go back to all threads'])
        cur = selection(Screen(p.screen()).mode['thread'])
        for _ in range(15):
            if cur == 'all':
                return
            cur, _ = press('t', cur)

    def seq_text(seq):
        return ' -> '.join('%s %s' % (k, lab) for k, lab, _ in seq)

    # Forwards: main, burner, live requests, exited, all.
    cur, seq = 'all', []
    for _ in range(12):
        cur, s = press('t', cur)
        if s is None:
            break
        seq.append(('t', s.mode['thread'], s))
        if cur == 'all':
            break
    sels = [selection(lab) for _, lab, _ in seq]
    probs = []
    # by TID: the burner's comes first once TIDs wrapped around between them
    by_tid = sorted([tids['main'], tids['burner']])
    if not cycle_ok(sels, tids, ['exited', 'all'], by_tid):
        probs.append('t from all: expected MainThread %d and the burner %d by TID, at most 3 live '
                     'requests (or threads starting) anywhere (TIDs wrap around), then the exited '
                     'threads (one entry) and all; got: %s'
                     % (tids['main'], tids['burner'], seq_text(seq)))
    for _, lab, s in seq:
        sel = selection(lab)
        if isinstance(sel, int) and sel not in tids.values():
            # A request's name is looked up when it is first seen: it may
            # not have been in threading's table yet.
            m = RE_SEL_THREAD.match(lab)
            name = (m.group(2) if m else None) or ''
            if name and not re.match(r'^Thread-\d+( \(handle_request\))?$', name):
                probs.append('t: a thread that is neither main, burner nor a request: %s' % lab)
        if sel == tids['burner'] and (not s.row('burn') or s.row('handle_request')
                                      or s.row('setup_work')):
            probs.append('the burner shows the wrong rows:\n' + indent(s.text()))
        # (burn is not checked here: a read that misses a live thread
        # folds it too, and it comes back as a new thread: the sampler's.)
        if sel == 'exited' and (not s.row('handle_request') or s.row('setup_work')):
            probs.append('the exited threads show the wrong rows (handle_request, and no '
                         'setup_work: the setup threads ran before R):\n' + indent(s.text()))
    if probs:
        ctx.fail(what, probs)

    # Backwards: exited, (live requests), burner, main, all.
    cur, seq = 'all', []
    to_all()                # wherever the forward cycle ended
    for _ in range(12):
        cur, s = press('T', cur)
        if s is None:
            break
        seq.append(('T', s.mode['thread'], s))
        if cur == 'all':
            break
    sels = [selection(lab) for _, lab, _ in seq]
    if not (sels[:1] == ['exited'] and cycle_ok(sels[1:], tids, ['all'], by_tid[::-1])):
        ctx.fail(what, ['T from all: expected the exited threads, the burner %d and MainThread %d '
                        'by TID backwards, with at most 3 live requests (or threads starting) '
                        'anywhere, then all; got: %s' % (tids['burner'], tids['main'], seq_text(seq))])

    # A: all again from a thread.
    to_all()
    cur = 'all'
    for _ in range(6):
        cur, _ = press('t', cur)
        if cur in (None, tids['burner']):
            break
    if cur != tids['burner']:
        ctx.fail(what, ['t from all: the burner %d not reached, got %s' % (tids['burner'], cur)])
    cur, s = press('A', cur)
    if s and (cur != 'all' or not s.row('burn') or not s.row('handle_request')):
        ctx.fail(what, ['A: expected all threads (burn and handle_request rows):\n'
                        + indent(s.text())])
    if not any(ln.startswith('Keys: ') and 't/T thread' in ln and 'A all' in ln for ln in p.screen()):
        ctx.fail(what, ['the key hints do not name t/T and A'])
    p.keys('q')
    p.wait_rc()
    ctx.finish()


def check_times(ctx):
    """Times from the real sampling interval: deep.py (one thread spinning
    300 frames deep) at -r 100000, which no machine keeps up with, stdout
    piped. Between the first and the last plain-text table, and between
    each two in a row, the root row's TotalTime (a thread busy all the
    time) grows by the wall time between their arrivals, within 10 %
    (before: samples / 100000 s, a small fraction of it)."""
    t = e2elib.Ctx.start(ctx, os.path.join('top', 'deep.py'))
    t.wait_ready(exact_tasks=False)
    args = ['top', '--pid', t.pid, '-r', '100000', '--delay', '1', '--duration', '5.5']
    shown = ' '.join([cspy_shown()] + [str(a) for a in args] + ['| cat'])
    errf = open(os.path.join(ctx.tmpdir(), 'stderr'), 'w+b')
    proc = e2elib.spawn([cspy_path()] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=errf)
    arrivals, out = [], []
    timer = threading.Timer(30, lambda: proc.poll() is None and os.kill(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        for line in iter(proc.stdout.readline, b''):
            if line.startswith(b'Collecting samples from '):
                arrivals.append(time.time())
            out.append(line.decode('utf-8', 'replace'))
        proc.wait()
    finally:
        timer.cancel()
        e2elib.end_process(proc)
        proc.stdout.close()
    errf.seek(0)
    err = errf.read().decode('utf-8', 'replace')
    errf.close()
    text = ''.join(out)
    snaps = snapshots(text)
    probs = []
    if proc.returncode != 0:
        probs.append('exit status %s, expected 0; stderr: %s' % (proc.returncode, err.strip()))
    if len(snaps) < 4 or len(snaps) != len(arrivals):
        probs.append('%d tables (%d arrivals), expected at least 4 (5.5 s, --delay 1)'
                     % (len(snaps), len(arrivals)))
    elif not snaps[0].rows or not snaps[-1].rows:
        probs.append('a table without rows')
    else:
        first, last = snaps[0], snaps[-1]
        wall = arrivals[-1] - arrivals[0]
        shown_s = max(r['total_s'] for r in last.rows) - max(r['total_s'] for r in first.rows)
        rate = ((last.samples or 0) - (first.samples or 0)) / wall if wall > 0 else 0
        if wall <= 0 or abs(shown_s / wall - 1) > 0.10:
            probs.append('between the first and the last table: TotalTime of the root grew by '
                         '%.2f s in %.2f s of wall time (tolerance 10 %%); sampled at %.0f Hz '
                         'of the 100000 asked' % (shown_s, wall, rate))
        # And per refresh interval (the last one may be short: the end of
        # --duration); 0.02 s for the two-decimal times.
        for i in range(1, len(snaps)):
            dt = arrivals[i] - arrivals[i - 1]
            ds = max(r['total_s'] for r in snaps[i].rows or [{'total_s': 0}]) - \
                max(r['total_s'] for r in snaps[i - 1].rows or [{'total_s': 0}])
            if dt >= 0.5 and abs(ds - dt) > 0.10 * dt + 0.02:
                probs.append('refresh interval %d: TotalTime of the root grew by %.2f s in %.2f s '
                             'of wall time (tolerance 10 %%)' % (i, ds, dt))
        if not last.row('spin'):
            probs.append('no spin row in the last table')
    if probs:
        ctx.fail('$ ' + shown, probs + ['stdout:\n' + indent(clip(text, 3000))])
    check_target_ok(ctx, t, '$ ' + shown)
    ctx.finish()


def run_in_pty(argv, env, timeout):
    """argv on a fresh pseudo-terminal (120x40) as its stdin, stdout and
    stderr: (exit status, every byte it wrote)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', HEIGHT, WIDTH, 0, 0))
    try:
        proc = e2elib.spawn(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    finally:
        os.close(slave)
    out = b''
    end = time.time() + timeout
    try:
        while time.time() < end:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    data = os.read(master, 65536)
                except OSError:         # EIO: every writer closed the slave
                    break
                if not data:
                    break
                out += data
    finally:
        e2elib.end_process(proc)
        os.close(master)
    return proc.returncode, out


def check_term_dumb(ctx):
    """On a terminal that cannot take ANSI escapes (TERM=dumb, TERM unset, a
    name with no terminfo entry), top prints the plain-text tables: not one
    ESC byte on the pty. The harness can see escapes: TERM=xterm, and a name
    whose terminfo entry is in $TERMINFO, get the screen."""
    t = ctx.target()
    info = ctx.tmpdir()
    os.makedirs(os.path.join(info, 'c'))
    with open(os.path.join(info, 'c', 'cspy-test-term'), 'wb') as f:
        f.write(b'\x1a\x01')            # only its presence counts
    args = ['top', '--pid', t.pid, '--duration', '1.2', '--delay', '0.3']
    base = target_env()
    base.pop('TERM', None)
    base.pop('TERMINFO', None)
    base.pop('TERMINFO_DIRS', None)
    cases = [('TERM=dumb', {'TERM': 'dumb'}, False), ('(TERM unset)', {}, False),
             ('TERM=cspy-no-such-term', {'TERM': 'cspy-no-such-term'}, False),
             ('TERM=xterm', {'TERM': 'xterm'}, True),
             ('TERMINFO=DIR TERM=cspy-test-term', {'TERM': 'cspy-test-term', 'TERMINFO': info}, True)]
    for label, extra, screen in cases:
        env = dict(base)
        env.update(extra)
        shown = '%s %s' % (label, ' '.join([cspy_shown()] + [str(a) for a in args]))
        rc, out = run_in_pty([cspy_path()] + [str(a) for a in args], env, 20)
        text = out.decode('utf-8', 'replace').replace('\r\n', '\n')
        probs = []
        if rc != 0:
            probs.append('exit status %s, expected 0' % rc)
        if screen and b'\x1b' not in out:
            probs.append('no escape at all: expected the screen')
        if not screen:
            if b'\x1b' in out:
                probs.append('ESC bytes on a terminal that cannot take them: %r'
                             % clip(repr(out[out.index(b'\x1b'):][:60]), 80))
            snaps = snapshots(text)
            if len(snaps) < 2 or not snaps[-1].row('hot_70'):
                probs.append('expected at least 2 plain-text tables with hot_70, got %d' % len(snaps))
        if probs:
            ctx.fail('$ ' + shown, probs + ['output:\n' + indent(clip(text, 2000))])
    check_target_ok(ctx, t, 'after the TERM cases')
    ctx.finish()


def check_duration_output(ctx):
    t = ctx.target()
    out = os.path.join(ctx.tmpdir(), 'top.log')
    p = ctx.pane(['top', '--pid', t.pid, '--duration', '3', '--delay', '0.5', '--timestamp', '-o', out])
    what = '$ ' + p.shown
    rc = p.wait_rc(timeout=15)
    if rc != 0:
        ctx.fail(what, ['exit status %s, expected 0' % rc])
    if not 2.8 <= p.elapsed <= 6.0:
        ctx.fail(what, ['--duration 3: exited after %.1f s' % p.elapsed])
    s = Screen(p.screen())
    if not s.collect or not s.row('hot_70') or any(ln.startswith('Keys:') for ln in s.lines):
        ctx.fail(what, ['the last table is not left on the screen:\n' + indent(s.text())])
    d = p.stty_diff()
    if d:
        ctx.fail(what, ['the terminal settings were not restored:\n' + indent(d)])
    with open(out, 'rb') as f:
        data = f.read()
    text = data.decode('utf-8', 'replace')
    snaps = snapshots(text)
    probs = []
    if b'\x1b' in data or b'\r' in data:
        probs.append('escape codes or CRs in the file')
    if len(snaps) < 4:
        probs.append('%d snapshots, expected at least 4 (3 s, --delay 0.5)' % len(snaps))
    times = []
    for sn in snaps:
        if len(sn.times) != 1:
            probs.append('a snapshot without its "Time: YYYY-MM-DD HH:MM:SS" line')
            break
        times.append(sn.times[0])
    if times != sorted(times):
        probs.append('times out of order: %s' % times)
    if times:
        first = datetime.datetime.strptime(times[0], '%Y-%m-%d %H:%M:%S')
        if abs((datetime.datetime.now() - first).total_seconds()) > 60:
            probs.append('the first time %s is not now' % times[0])
    if snaps and not (snaps[-1].row('hot_70') and snaps[-1].names()[0] == 'hot_70'):
        probs.append('the last snapshot does not lead with hot_70')
    samples = [sn.samples for sn in snaps]
    if samples != sorted(samples):
        probs.append('Total Samples decrease between snapshots: %s' % samples)
    if probs:
        ctx.fail(what + '  (file %s)' % out, probs + ['file:\n' + indent(clip(text, 3000))])
    check_target_ok(ctx, t, what)
    ctx.finish()


def check_plain_locals(ctx):
    t = ctx.target()
    args = ['top', '--pid', t.pid, '--duration', '2.5', '--delay', '0.5', '--locals']
    shown = ' '.join([cspy_shown()] + [str(a) for a in args] + ['| cat'])
    res = e2elib.cspy(args, timeout=20)
    probs = []
    if res.rc != 0:
        probs.append('exit status %s, expected 0; stderr: %s' % (res.rc, res.err.strip()))
    if '\x1b' in res.out or '\x1b' in res.err:
        probs.append('escape codes in the output of a pipe')
    snaps = snapshots(res.out)
    if len(snaps) < 3:
        probs.append('%d plain-text tables, expected at least 3 (2.5 s, --delay 0.5)' % len(snaps))
    last = snaps[-1] if snaps else Screen([])
    if last.names()[:2] != ['hot_70', 'hot_30']:
        probs.append('last table: top rows %s, expected hot_70, hot_30' % last.names()[:4])
    if not any(re.match(r'^Thread \d+ "MainThread" \(busiest\): stack and locals$', ln) for ln in last.lines):
        probs.append('no --locals pane title for the busiest thread (MainThread)')
    # The pane of some table: a hot frame, its argument on the next line.
    lines = res.out.split('\n')
    pairs = [i for i in range(len(lines) - 1)
             if re.match(r'^hot_(70|30) \(hot\.py:\d+\)$', lines[i])
             and re.match(r'^    budget: 0\.0[37]$', lines[i + 1])]
    if not pairs:
        probs.append('--locals: no "hot_70 (hot.py:N)" frame followed by "    budget: 0.07" '
                     '(or hot_30, 0.03)')
    if probs:
        ctx.fail('$ ' + shown, probs + ['stdout:\n' + indent(clip(res.out, 3000))])
    check_target_ok(ctx, t, '$ ' + shown)
    ctx.finish()


def check_pid_namespace(ctx):
    """hot.py as PID 1 of its own PID namespace with a private /tmp (a
    container; see run.py's pid_namespace), stdout piped: the plain-text
    tables lead with hot_70, hot_30, and the --locals pane names the busiest
    thread with both its ids: "Thread TID (ns 1) "MainThread" (busiest)". On
    a terminal (--idle), t shows each thread as "TID (ns N) "NAME" [i/2]"."""
    t = e2elib.start_in_pid_namespace(ctx, os.path.join('top', 'hot.py'))
    o = e2elib.pidns_ready(t, tid_key='tid')
    main = [th for th in o['threads'] if th['role'] == 'main'][0]
    args = ['top', '--pid', t.python_pid, '--duration', '2.5', '--delay', '0.5', '--locals']
    shown = ' '.join([cspy_shown()] + [str(a) for a in args] + ['| cat'])
    res = e2elib.cspy(args, timeout=20)
    probs = []
    if res.rc != 0:
        probs.append('exit status %s, expected 0; stderr: %s' % (res.rc, res.err.strip()))
    snaps = snapshots(res.out)
    last = snaps[-1] if snaps else Screen([])
    if last.names()[:2] != ['hot_70', 'hot_30']:
        probs.append('last table: top rows %s, expected hot_70, hot_30' % last.names()[:4])
    title = 'Thread %d (ns %d) "MainThread" (busiest): stack and locals' % (
        main['tid'], main['ns_native_id'])
    if title not in last.lines:
        probs.append('no --locals pane title %r' % title)
    note = 'python %d is PID %d in its namespace; threads here: inside %s' % (
        t.python_pid, o['ns_pid'], sorted(t.ns_tids.items()))
    if probs:
        ctx.fail('$ ' + shown, probs + [note, 'stdout:\n' + indent(clip(res.out, 3000))])
    check_target_ok(ctx, t, '$ ' + shown)
    # On a terminal, t shows one thread at a time: "TID (ns N) "NAME" [i/2]".
    p = ctx.pane(['top', '--idle', '--pid', t.python_pid])
    what = '$ ' + p.shown
    p.wait(has_rows('hot_70', 'sleepy_wait'), 'rows of both threads (--idle)')
    want = set('%d (ns %d) "%s"' % (th['tid'], th['ns_native_id'], th['name'])
               for th in o['threads'])
    seen = set()
    for i in (1, 2):
        p.keys('t')
        s = Screen(p.wait(lambda sc, i=i: (Screen(sc).mode or {}).get('thread', '').endswith(
            ' [%d/2]' % i), 'a single thread [%d/2] after t' % i))
        seen.add(s.mode['thread'][:-len(' [%d/2]' % i)])
    if seen != want:
        ctx.fail(what, ['t: threads shown as %s, expected %s' % (sorted(seen), sorted(want)), note])
    os.kill(p.pid, signal.SIGTERM)
    p.wait_rc()
    check_target_ok(ctx, t, what)
    ctx.finish()


def check_subprocesses(ctx):
    """--subprocesses on a shell that starts two Pythons: both are sampled
    and the header counts them ("Processes: 2"). The last table is at 4.5 s,
    before the 6 s programs end: on a busy machine both start well before
    (at 3 s, one had not always been found)."""
    o1 = os.path.join(ctx.tmpdir(), 'o1.json')
    o2 = os.path.join(ctx.tmpdir(), 'o2.json')
    hot = os.path.join(e2elib.TARGETS, 'top', 'hot.py')
    args = ['top', '--subprocesses', '--duration', '4.5', '--delay', '0.5', '--',
            'sh', '-c', '"$1" "$2" "$3" 6 0 & "$1" "$2" "$4" 6 0 & wait',
            'sh', ctx.interp.path, hot, o1, o2]
    shown = ' '.join([cspy_shown()] + [str(a) for a in args] + ['| cat'])
    res = e2elib.cspy(args, timeout=30)
    snaps = snapshots(res.out)
    probs = []
    if not snaps:
        probs.append('no plain-text table')
    else:
        heads = [ln for ln in snaps[-1].lines if ln.startswith('GIL: ')]
        if not heads or not re.match(r'^GIL: %s, Active: \d+\.\d\d%%, Threads: \d+, '
                                     r'Processes: 2$' % gil_re(ctx.interp), heads[0]):
            probs.append('last table: expected "GIL: x%%, Active: y%%, Threads: n, Processes: 2", '
                         'got %s' % (heads[:1] or 'no GIL line'))
        if 'hot_70' not in snaps[-1].names():
            probs.append('last table: no hot_70 row')
    if probs:
        ctx.fail('$ ' + shown, probs + ['stdout:\n' + indent(clip(res.out, 3000))])
    ctx.finish()


def check_launch_exit(ctx):
    oracle = os.path.join(ctx.tmpdir(), 'oracle.json')
    p = ctx.pane(['top', '--'] + launch_args(ctx, oracle, '2.5', '3'))
    what = '$ ' + p.shown
    msg = EXIT_MSG % 3
    s = p.wait(lambda sc: any(ln.strip() == msg for ln in sc), 'the message "%s"' % msg, timeout=20)
    if not Screen(s).row('hot_70'):
        ctx.fail(what, ['the last view is not kept with the message:\n' + indent('\n'.join(s))])
    # Caught at start-up, before an old interpreter wrote its version string:
    # the version shown must still be the exact one, micro included.
    got = Screen(s).collect[1] if Screen(s).collect else None
    if got != shown_version(ctx.interp):
        ctx.fail(what, ['launched: header says python v%s, the interpreter is %s'
                        % (got, shown_version(ctx.interp))])
    time.sleep(1.0)
    if p.rc() is not None:
        ctx.fail(what, ['cspy exited without waiting for a key'])
    p.keys('x')
    rc = p.wait_rc()
    if rc != 3:
        ctx.fail(what, ['exit status %s, expected the program\'s 3' % rc])
    d = p.stty_diff()
    if d:
        ctx.fail(what, ['the terminal settings were not restored:\n' + indent(d)])
    ctx.finish()


def check_launch_signals(ctx):
    """Launch mode: q, Ctrl-C (a key: the terminal is raw) and SIGTERM to
    cspy each end the program through its own handler (handlers.py: SIGINT
    or SIGTERM, cleanup, exit 5, one marker line per call): cspy sends
    SIGINT for q and Ctrl-C, passes SIGTERM on, and exits with the
    program's 5, the terminal restored, the program gone."""
    for how, want in (('q', 'INT'), ('C-c', 'INT'), ('SIGTERM', 'TERM')):
        d = ctx.tmpdir()
        oracle, marker = os.path.join(d, 'oracle.json'), os.path.join(d, 'marker')
        p = ctx.pane(['top', '--', ctx.interp.path,
                      os.path.join(e2elib.TARGETS, 'record', 'handlers.py'), oracle, marker])
        what = '$ %s   (then %s)' % (p.shown, how if how == 'SIGTERM' else 'the key ' + how)
        p.wait(has_rows('handlers_burn'), 'rows for handlers_burn', timeout=20)
        with open(oracle) as f:
            pid = json.load(f)['pid']
        if how == 'SIGTERM':
            os.kill(p.pid, signal.SIGTERM)
        else:
            p.keys(how)
        rc = p.wait_rc()
        probs = []
        if rc != 5:
            probs.append('exit status %s, expected the program\'s 5' % rc)
        try:
            with open(marker) as f:
                lines = f.read().split()
        except (IOError, OSError):
            lines = []
        if lines != [want]:
            probs.append('the program\'s handler wrote %s, expected [%r]' % (lines, want))
        end = time.time() + 3
        while alive(pid) and time.time() < end:
            time.sleep(0.05)
        if alive(pid):
            probs.append('the launched program %d outlived cspy' % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        diff = p.stty_diff()
        if diff:
            probs.append('the terminal settings were not restored:\n' + indent(diff))
        ctx.fail(what, probs)
    ctx.finish()


def check_wrapper(ctx):
    """A launched command that is not Python (a shell running Python as its
    child, without exec): top follows the Python process it starts, says so
    in one line on stderr, and shows its rows (stdout piped: plain text)."""
    oracle = os.path.join(ctx.tmpdir(), 'o.json')
    script = '"$1" "$2" "$3" 4 0; true'
    args = ['top', '--duration', '2', '--delay', '0.5', '--', 'sh', '-c', script, 'sh'] + \
        launch_args(ctx, oracle)
    shown = ' '.join([cspy_shown()] + [str(a) for a in args] + ['| cat'])
    res = e2elib.cspy(args, timeout=30, env=e2elib.target_env())
    probs = []
    notes = [ln for ln in res.err.split('\n')
             if ln == "cspy> 'sh' is not Python; profiling the Python processes it starts"]
    if len(notes) != 1:
        probs.append("expected one line \"cspy> 'sh' is not Python; profiling the Python processes "
                     "it starts\" on stderr, got:\n" + indent(res.err))
    snaps = snapshots(res.out)
    if not snaps or 'hot_70' not in snaps[-1].names():
        probs.append('last table: no hot_70 row')
    if probs:
        ctx.fail('$ ' + shown, probs + ['stdout:\n' + indent(clip(res.out, 3000))])
    ctx.finish()


def check_never_python(ctx):
    """A launched command that never runs Python: one error line when it
    ends, a non-zero exit, no table."""
    for cmd in (['true'], ['sleep', '1']):
        res = e2elib.cspy(['top', '--'] + cmd, timeout=20)
        expect_one_line_error(ctx, res, ["'%s' is not Python" % cmd[0], 'without starting a Python process'],
                              code=1)
    ctx.finish()


def check_q_ignored(ctx):
    """q on a launched program that ignores SIGINT and SIGTERM
    (handlers.py --ignore): SIGINT, SIGTERM 3 s later, SIGKILL 2 s after
    that; cspy says so, exits 137, the program is gone."""
    d = ctx.tmpdir()
    oracle, marker = os.path.join(d, 'oracle.json'), os.path.join(d, 'marker')
    p = ctx.pane(['top', '--', ctx.interp.path, os.path.join(e2elib.TARGETS, 'record', 'handlers.py'),
                  oracle, marker, '--ignore'])
    what = '$ %s   (then the key q)' % p.shown
    p.wait(has_rows('handlers_burn'), 'rows for handlers_burn', timeout=20)
    with open(oracle) as f:
        pid = json.load(f)['pid']
    t0 = time.time()
    p.keys('q')
    rc = p.wait_rc(timeout=20)
    took = time.time() - t0
    probs = []
    if rc != 128 + signal.SIGKILL:
        probs.append('exit status %s, expected 137 (SIGKILL)' % rc)
    if not 4.7 <= took <= 8.5:
        probs.append('cspy took %.1f s after q, expected 5 s (3 s after SIGINT, 2 s after SIGTERM)' % took)
    if alive(pid):
        probs.append('the launched program %d outlived cspy' % pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    ctx.fail(what, probs)
    ctx.finish()


def expect_one_line_error(ctx, res, words, code=None):
    lines = [ln for ln in res.err.split('\n') if ln.strip()]
    probs = []
    if res.rc == 0 or (code is not None and res.rc != code):
        probs.append('exit status %s, expected %s' % (res.rc, code if code is not None else 'non-zero'))
    if len(lines) != 1 or not lines[0].startswith('cspy: error: '):
        probs.append('expected one line "cspy: error: ...", got:\n' + indent(res.err))
    elif not all(w in lines[0] for w in words):
        probs.append('the error does not mention %s: %s' % (words, lines[0]))
    if res.out:
        probs.append('stdout not empty: %r' % clip(res.out, 300))
    ctx.fail('$ ' + res.shown, probs)


def check_unwritable(ctx):
    t = ctx.target()
    out = os.path.join(ctx.tmpdir(), 'no-such-dir', 'top.log')
    t0 = time.time()
    res = e2elib.cspy(['top', '--pid', t.pid, '-o', out, '--duration', '30'])
    expect_one_line_error(ctx, res, [out])
    if time.time() - t0 > 2:
        ctx.fail('$ ' + res.shown, ['took %.1f s: the output must be opened before sampling'
                                    % (time.time() - t0)])
    check_target_ok(ctx, t, '$ ' + res.shown)
    ctx.finish()


def check_output_full(ctx):
    """--output /dev/full: the log is appended to directly; the write error
    is reported with its real errno ("No space left on device") and the exit
    status is non-zero."""
    t = ctx.target()
    res = e2elib.cspy(['top', '--pid', t.pid, '-o', '/dev/full', '--duration', '1.5',
                       '--delay', '0.5'])
    probs = []
    if res.rc == 0:
        probs.append('exit status 0, expected non-zero')
    if 'No space left on device' not in res.err:
        probs.append('stderr does not say "No space left on device": %r' % clip(res.err, 500))
    ctx.fail('$ ' + res.shown, probs)
    check_target_ok(ctx, t, '$ ' + res.shown)
    ctx.finish()


def check_native(ctx):
    """--native needs the pause: with --nonblocking it is refused at once
    (the rest of --native is tested in tests/e2e/native.py)."""
    t = ctx.target()
    for flag in ('--native', '-n'):
        res = e2elib.cspy(['top', flag, '--nonblocking', '--pid', t.pid])
        expect_one_line_error(ctx, res, ['--native', '--nonblocking'], code=2)
    ctx.finish()


def check_crash_signals(ctx):
    t = ctx.target()
    for sig, want in ((signal.SIGSEGV, 128 + signal.SIGSEGV), (signal.SIGHUP, 0)):
        p = ctx.pane(['top', '--pid', t.pid])
        what = '$ %s   (then kill -%s)' % (p.shown, sig.name if hasattr(sig, 'name') else sig)
        p.wait(has_rows('hot_70'), 'rows for hot_70')
        os.kill(p.pid, sig)
        rc = p.wait_rc()
        if rc != want:
            ctx.fail(what, ['exit status %s, expected %s' % (rc, want)])
        d = p.stty_diff()
        if d:
            ctx.fail(what, ['the terminal settings were not restored:\n' + indent(d)])
        if any('Collecting samples' in ln for ln in p.screen()):
            ctx.fail(what, ['the alternate screen was not left'])
    check_target_ok(ctx, t, 'after the crash signals')
    ctx.finish()


def check_colors(ctx):
    t = ctx.target()
    for env, want in (((), True), (('NO_COLOR=1',), False)):
        p = ctx.pane(['top', '--pid', t.pid], env=env)
        what = '$ %s%s' % (' '.join(env) + ' ' if env else '', p.shown)
        p.wait(has_rows('hot_70'), 'rows for hot_70')
        esc = p.screen(escapes=True)
        sgr = re.findall(r'\x1b\[[0-9;]*m', esc)
        if want and not sgr:
            ctx.fail(what, ['no colours or attributes on a terminal'])
        if not want and [c for c in sgr if c not in ('\x1b[0m', '\x1b[m')]:
            ctx.fail(what, ['colours or attributes with NO_COLOR set: %s' % sorted(set(sgr))])
        p.keys('q')
        p.wait_rc()
    ctx.finish()


def check_free_threaded(ctx):
    """A free-threaded build: the header says the build has no GIL ("GIL:
    none (free-threaded)", not 0 %); --gil is refused with one line and
    status 1 before the screen is taken; with -X gil=1 the GIL exists
    again: a percentage, and --gil shows the busy main thread's rows."""
    if not ctx.interp.free_threaded:
        raise NA('a build with a GIL (its header is checked by screen)')
    t = ctx.target()
    p = ctx.pane(['top', '--pid', t.pid])
    s = Screen(p.wait(has_rows('hot_70', 'hot_30'), 'rows for hot_70 and hot_30'))
    if not any(re.match(r'^GIL: none \(free-threaded\), Active: \d+\.\d\d%, Threads: 2$', ln)
               for ln in s.lines):
        ctx.fail('$ ' + p.shown, ['no "GIL: none (free-threaded), Active: y%, Threads: 2" line:\n'
                                  + indent(s.text())])
    p.keys('q')
    p.wait_rc()
    res = e2elib.cspy(['top', '--gil', '--pid', t.pid, '-d', '2'])
    expect_one_line_error(ctx, res, ['without a GIL', '--gil', 'process %d' % t.pid], code=1)
    p = ctx.pane(['top', '--gil', '--pid', t.pid])
    rc = p.wait_rc()
    if rc != 1 or not any('without a GIL' in ln for ln in p.screen()):
        ctx.fail('$ ' + p.shown, ['on a terminal: exit status %s, expected 1 with the error on '
                                  'screen:\n%s' % (rc, indent('\n'.join(p.screen())))])
    check_target_ok(ctx, t, '$ ' + p.shown)
    # -X gil=1: a GIL again.
    g = e2elib.Ctx.start(ctx, os.path.join('top', 'hot.py'), pyflags=['-X', 'gil=1'])
    g.wait_ready(exact_tasks=False)
    p = ctx.pane(['top', '--gil', '--pid', g.pid])
    s = Screen(p.wait(has_rows('hot_70', 'hot_30'), 'rows for hot_70 and hot_30 with --gil'))
    if not any(re.match(r'^GIL: \d+\.\d\d%, Active: \d+\.\d\d%, Threads: \d+$', ln)
               for ln in s.lines) or s.row('sleepy_wait'):
        ctx.fail('$ ' + p.shown + '   (target run with -X gil=1)',
                 ['expected "GIL: x%" and no sleepy_wait row:\n' + indent(s.text())])
    p.keys('q')
    p.wait_rc()
    ctx.finish()


def check_option_forms(ctx):
    """py-spy's option forms in top: every option with a value as --opt=value
    and as -Xvalue, --pid in hex, -F/--function a flag (never a value)."""
    t = ctx.target()
    require_cspy()
    hexpid = hex(int(t.pid))
    d = ctx.tmpdir()
    out, out2 = os.path.join(d, 'top.log'), os.path.join(d, 'top2.log')
    for out, args in ((out, ['top', '--pid=' + hexpid, '--rate=200', '--duration=1.5', '--delay=0.5',
                  '--output=' + out, '--match-function=^hot_70', '--include=hot',
                  '--exclude=no_such_function_x', '--function']),
                      (out2, ['top', '-p' + hexpid, '-r200', '-d1.5', '--delay', '0.5', '-o' + out2,
                              '--exclude=hot_30', '-F'])):
        shown = ' '.join([cspy_shown()] + args + ['| cat'])
        res = e2elib.cspy(args, timeout=20)
        probs = []
        if res.rc != 0:
            probs.append('exit status %s, expected 0; stderr: %s' % (res.rc, res.err.strip()))
        snaps = snapshots(res.out)
        names = snaps[-1].names() if snaps else []
        if not snaps or 'hot_70' not in names or 'hot_30' in names:
            probs.append('last table: rows %s, expected hot_70 and no hot_30' % names[:6])
        if not os.path.exists(out) or not snapshots(open(out).read()):
            probs.append('--output: no snapshot in %s' % out)
        if probs:
            ctx.fail('$ ' + shown, probs + ['stdout:\n' + indent(clip(res.out, 2000))])
    res = e2elib.cspy(['top', '--function=hot', '--pid', hexpid], timeout=20)
    if res.rc == 0 or 'takes no value' not in res.err or '--match-function' not in res.err:
        ctx.fail('$ cspy top --function=hot --pid ' + hexpid,
                 ['expected an error "... takes no value ... --match-function"; exit %s, '
                  'stderr %r' % (res.rc, res.err)])
    check_target_ok(ctx, t, '$ cspy top --pid=' + hexpid)
    ctx.finish()


# Checks of cspy's own behaviour (the launched program's end through the
# signals passed on, a shell that is not Python, --duration and --output):
# their outcome does not depend on what is read from the interpreter, so they
# run on the representative interpreters only (e2elib.REPRESENTATIVE), the
# others on every one. launch_exit stays on every one: the exact version of
# an interpreter caught before it wrote its version string, and an exiting
# program's threads, depend on the interpreter. pid_namespace too: which ids
# a thread has in a container is read per version by record's pid_namespace
# (every interpreter); here it is top's display of them.
ON_REPRESENTATIVE = ('duration_output', 'launch_signals', 'wrapper', 'pid_namespace')

PER_VERSION = [
    ('screen', check_screen),
    ('threads_sigterm', check_threads_sigterm),
    ('thread_cycle', check_thread_cycle),
    ('duration_output', check_duration_output),
    ('plain_locals', check_plain_locals),
    ('launch_exit', check_launch_exit),
    ('launch_signals', check_launch_signals),
    ('wrapper', check_wrapper),
    ('pid_namespace', check_pid_namespace),
    ('free_threaded', check_free_threaded),
]

GLOBAL = [
    ('unwritable_output', check_unwritable),
    ('output_full', check_output_full),
    ('native_nonblocking', check_native),
    ('crash_signals', check_crash_signals),
    ('colors', check_colors),
    ('subprocesses', check_subprocesses),
    ('option_forms', check_option_forms),
    ('never_python', check_never_python),
    ('q_ignored', check_q_ignored),
    ('times', check_times),
    ('term_dumb', check_term_dumb),
]


# --------------------------------------------------------------------------
# Runner

def choose(interps):
    """Every supported interpreter found (or those named with --python)."""
    ok = [i for i in interps if i.supported()]
    if OPTS.python:
        return [i for i in ok if e2elib.matches_python(i, OPTS.python)]
    return ok


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN',
                    help='run only checks whose name contains PATTERN (or matches a glob); repeatable')
    ap.add_argument('--python', action='append', metavar='VERSION',
                    help='interpreters whose version starts with VERSION (default: every one found)')
    ap.add_argument('-j', '--jobs', type=int, default=3, help='checks run in parallel (default 3)')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    OPTS = e2elib.OPTS = ap.parse_args()
    OPTS.targets_only = False
    e2elib.handle_signals(kill_tmux_server)

    t0 = time.time()
    print('cspy top end-to-end tests: %s (tmux server -L %s)' % (cspy_shown(), SOCK))
    results = {}
    fails = []
    if not shutil.which('tmux'):
        print('tmux is not installed: every check fails')
        fails.append(('-', 'tmux', 'tmux not found on PATH'))
        print('\n0 passed, 1 failed')
        return 1
    interps, notes = e2elib.discover()
    chosen = choose(interps)
    e2elib.use_snapshot('every check fails')
    for i in chosen:
        e2elib.describe_interps([i])
    if not chosen:
        print('  no supported interpreter found')
    for n in notes:
        print('  not tested: %s' % n)
    sys.stdout.flush()

    e2elib.choose_representative(chosen, every=bool(OPTS.python))
    jobs = []
    for i in chosen:
        for name, fn in PER_VERSION:
            if not selected(name, OPTS.k):
                continue
            reason = e2elib.on_representative(i) if name in ON_REPRESENTATIVE else None
            if reason:
                results[(i.label, name)] = ('n/a', reason)
            else:
                jobs.append((i, i.label, name, fn))
    default = e2elib.default_interp(chosen)
    gnames = [n for n, _ in GLOBAL if selected(n, OPTS.k)]
    for name, fn in GLOBAL:
        if not selected(name, OPTS.k):
            continue
        if default is None:
            results[('-', name)] = ('n/a', 'no supported interpreter found')
        else:
            jobs.append((default, '-', name, fn))
    slow = ('screen', 'threads_sigterm', 'crash_signals', 'launch_exit')
    jobs.sort(key=lambda j: j[2] not in slow)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
            futs = dict((ex.submit(run_one, Ctx, i, name, fn, 20), (label, name))
                        for i, label, name, fn in jobs)
            for f in concurrent.futures.as_completed(futs):
                results[futs[f]] = f.result()
    finally:
        kill_tmux_server()

    labels = [i.label for i in chosen]
    names = [n for n, _ in PER_VERSION if selected(n, OPTS.k)]
    e2elib.print_table(results, labels, names, gnames, default.label if default else None, '-')
    return e2elib.print_outcome(results, t0, names + gnames)


if __name__ == '__main__':
    sys.exit(main())
