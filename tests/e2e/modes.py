#!/usr/bin/env python3
"""The sampling modes (--mode wall|cpu|gil|exception) and <GC> frames, on
every interpreter.

    python3 tests/e2e/modes.py [--python VERSION]... [-k CHECK]... [-v] [-j N]

Every interpreter runs tests/targets/modes_target.py: an exc_worker thread
that computes inside an `except` block (handled_once -> gen_handler ->
in_handler), a plain_worker that does the same work outside one
(plain_work), a nogil_worker compressing without the GIL (nogil_hash), a
raiser (running alone during the raised check) whose json.loads frees 200000
strings while an exception is raised, a sleeper (sleeper_wait) and a
gc_worker whose gc.collect() calls take a share of the time that the
target measures from inside (gc.callbacks on 3.3+, the calls timed on 2.7;
automatic collections are off) and publishes in a status file. cspy records
it for 1-1.2 s in each mode, each recording read back as collapsed stacks
(`-f raw`; the wall one saved as cspy's JSON and rendered by `cspy report`,
so <GC> frames make the round trip). The checks, per interpreter:

  wall       the sleeper in >= 80 % of the ticks, the busy threads there too;
             <GC> share of the ticks within 0.08 + 35 % of the share the
             target measured over the same span (2.7/3.6 from a binary
             without the `collecting` symbol: n/a, named; free-threaded: not above it,
             and not 0: only the stop-the-world part is told; a span with
             fewer than 5 collections is recorded again for 3 s, so that
             shares can be compared); the JSON's meta says
             "mode": "wall"
  cpu        (with --no-gc) the sleeper in <= 3 % of the ticks, plain_work
             and nogil_hash in >= 5 %; no <GC> frame at all
  gil        nogil_hash (on a CPU, not holding the GIL) in at most a third of
             its cpu-mode share and <= 8 %; a free-threaded build running
             without a GIL: refused in one `cspy: error:` line naming it
  exception  >= 90 % of the samples in the exc_worker's handled_once (where
             it raises and handles), >= 80 % of those in the generator
             gen_handler (3.7+: the handled exception is found below the
             generator's own empty exc_info item), <= 3 % in plain_work, and
             >= 20 samples; the target's own sys.exc_info() there says
             ValueError
  raised     (0.6 s at 500 Hz, exception mode, only the raiser running) >= 5 samples
             in json's raw_decode, whose C scanner frees the list it built
             while the error is raised (and none is handled): the raised
             exception (curexc_type, current_exception) read live
  top        `top --mode exception` as plain text: the header says
             "Mode: exception", the rows show in_handler and no plain_work
             (representative interpreters: cspy's behaviour, not the
             interpreter's)
  spellings  (once) bad spellings in record and top: an unknown mode, a
             missing value, --mode cpu with --idle or --gil, two different
             --mode, --no-gc=1: each one `cspy: error:` line, exit 2

Interpreters run in parallel threads (-j, default 3). Output: a line per
check and interpreter, failures ("--- check [interpreter]"), then "N passed,
N failed". Every target is ended by its PID (e2elib).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2elib  # noqa: E402
from e2elib import Fail, NA  # noqa: E402

DURATION = '1.2'
RATE = '200'
RE_TICKS = re.compile(r"Samples: (\d+) ticks, (\d+) thread samples")
LOCK = threading.Lock()


def collapsed(path):
    """[(frames, count)] of a raw (collapsed) file: frames as function names."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line:
                continue
            stack, _, n = line.rpartition(' ')
            names = [fr.split(' (')[0] for fr in stack.split(';')]
            out.append((names, int(n)))
    return out


def count(stacks, fn):
    """Samples whose stack holds a frame named fn."""
    return sum(n for names, n in stacks if fn in names)


def leaf_count(stacks, fn):
    return sum(n for names, n in stacks if names and names[-1] == fn)


def ticks_of(res):
    m = RE_TICKS.search(res.err)
    if not m:
        raise Fail('$ %s\n  no "Samples: N ticks" line\n  stderr: %s' % (res.shown, res.err.strip()))
    return int(m.group(1))


def one_error(res, want_in=None):
    """Non-zero exit and exactly one 'cspy: error:' line on stderr, else
    what is wrong."""
    lines = [l for l in res.err.splitlines() if l.strip()]
    if res.rc == 0:
        return 'exit 0, expected non-zero'
    if len(lines) != 1 or not lines[0].startswith('cspy: error: '):
        return 'stderr is not one "cspy: error:" line: %r' % res.err
    if want_in and want_in not in lines[0]:
        return 'the error does not say %r: %s' % (want_in, lines[0])
    return None


def has_collecting_symbol(t):
    """2.7/3.6 keep the collector's flag in a static of gcmodule.c: is its
    symbol in the ELF that holds the runtime (as the target maps it)? None
    when readelf cannot tell."""
    try:
        with open('/proc/%d/maps' % t.pid) as f:
            libs = [l.split()[-1] for l in f if '/libpython' in l]
        path = '/proc/%d/root%s' % (t.pid, libs[0]) if libs else '/proc/%d/exe' % t.pid
        r = subprocess.run(['readelf', '-sW', path], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(re.search(r' collecting$', r.stdout, re.M))


def status(t):
    with open(t.oracle_path + '.status') as f:
        return json.load(f)


def record(t, name, flags, fmt='raw', duration=DURATION, rate=RATE):
    out = os.path.join(t.dir, '%s.%s' % (name, 'json' if fmt == 'json' else 'txt'))
    res = e2elib.cspy(['record', '--pid', t.pid, '-d', duration, '-r', rate, '-f', fmt, '-o', out]
                      + list(flags), timeout=60)
    return res, out


class Run(object):
    """One interpreter's target and recordings; results per check."""

    def __init__(self, interp):
        self.interp = interp
        self.results = {}
        self.notes = {}

    def verdict(self, name, fn):
        t0 = time.time()
        try:
            fn()
            v = ('ok', None)
        except NA as e:
            v = ('n/a', str(e))
        except Fail as e:
            v = ('FAIL', str(e))
        except Exception as e:          # a bug of the check: shown, not hidden
            v = ('FAIL', 'check raised %r' % e)
        self.results[name] = v + (time.time() - t0,)


def check_interp(interp, names, rep):
    r = Run(interp)
    t = e2elib.Target(interp, 'modes_target.py')
    try:
        t.wait_ready(timeout=60, exact_tasks=False)
        time.sleep(0.3)
        cpu_share = {}
        free_nogil = interp.free_threaded

        def wall():
            s0 = status(t)
            res, out = record(t, 'wall', ['--mode', 'wall'], fmt='json')
            s1 = status(t)
            if s1['gc_n'] - s0['gc_n'] < 5:
                # Too few collections to compare shares (a slow build, a
                # loaded machine): once more, over a longer span.
                s0 = status(t)
                res, out = record(t, 'wall', ['--mode', 'wall'], fmt='json', duration='3')
                s1 = status(t)
            if res.rc:
                raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, res.err.strip()))
            with open(out) as f:
                meta = json.load(f)['meta']
            txt = os.path.join(t.dir, 'wall.txt')
            rep_res = e2elib.cspy(['report', out, '-f', 'raw', '-o', txt, '-q'])
            if rep_res.rc:
                raise Fail('$ %s\n  exit %d: %s' % (rep_res.shown, rep_res.rc, rep_res.err.strip()))
            st = collapsed(txt)
            ticks = ticks_of(res)
            probs = []
            if meta.get('mode') != 'wall' or meta.get('gc_frames') is not True:
                probs.append('meta: mode %r, gc_frames %r; expected "wall", true'
                             % (meta.get('mode'), meta.get('gc_frames')))
            sl = count(st, 'sleeper_wait')
            if sl < 0.8 * ticks:
                probs.append('sleeper_wait in %d of %d ticks, expected >= 80 %%' % (sl, ticks))
            for fn in ('in_handler', 'plain_work'):
                if count(st, fn) == 0:
                    probs.append('no sample in %s' % fn)
            want = (s1['gc_s'] - s0['gc_s']) / max(1e-9, s1['wall_s'] - s0['wall_s'])
            got = leaf_count(st, '<GC>') / float(max(1, sl))
            inner = count(st, '<GC>') - leaf_count(st, '<GC>')
            if inner:
                probs.append('%d samples with <GC> not as the leaf' % inner)
            # Free-threaded: only the stop-the-world part of a collection is
            # told (the one attached thread): some share, not above the measured.
            tol = 0.08 + 0.35 * want
            low = 0.0 if interp.free_threaded else want - tol
            # The collector's flag is up from before the start callback to
            # after the stop one: when the callbacks' Python code hands the
            # GIL over mid-collection, the holder meanwhile is another thread
            # and the collection lasts longer than gc_s says. The timed
            # gc.collect() calls (gc_call_s) bound it from above.
            want_hi = max(want, (s1.get('gc_call_s', 0) - s0.get('gc_call_s', 0)) /
                          max(1e-9, s1['wall_s'] - s0['wall_s']))
            if (got == 0 and interp.minor < (3, 7) and not probs and
                    has_collecting_symbol(t) is False):
                raise NA('no <GC> frames: this %s binary has no `collecting` symbol (stripped), '
                         'where 2.7/3.6 keep the collector\'s flag' % interp.label)
            if got < low or got > want_hi + 0.08 + 0.35 * want_hi or (want > 0.05 and got == 0):
                probs.append('<GC> in %.1f %% of the ticks (%d of %d); the target measured %.1f %% '
                             'of its time in %d collections (%.1f %% with the calls around them)'
                             % (100 * got, leaf_count(st, '<GC>'), sl, 100 * want,
                                s1['gc_n'] - s0['gc_n'], 100 * want_hi))
            r.notes['wall'] = '<GC> %.1f %% vs %.1f-%.1f %% measured' % (100 * got, 100 * want,
                                                                          100 * want_hi)
            if probs:
                raise Fail('$ %s\n  ' % res.shown + '\n  '.join(probs))

        def cpu():
            res, out = record(t, 'cpu', ['--mode', 'cpu', '--no-gc'], duration='1.0')
            if res.rc:
                raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, res.err.strip()))
            st = collapsed(out)
            ticks = ticks_of(res)
            probs = []
            sl = count(st, 'sleeper_wait')
            if sl > 0.03 * ticks:
                probs.append('sleeper_wait in %d of %d ticks, expected <= 3 %%' % (sl, ticks))
            for fn in ('plain_work', 'nogil_hash'):
                if count(st, fn) < 0.05 * ticks:
                    probs.append('%s in %d of %d ticks, expected >= 5 %%' % (fn, count(st, fn), ticks))
            cpu_share['nogil'] = count(st, 'nogil_hash') / float(max(1, ticks))
            if count(st, '<GC>'):
                probs.append('%d <GC> frames with --no-gc' % count(st, '<GC>'))
            if probs:
                raise Fail('$ %s\n  ' % res.shown + '\n  '.join(probs))

        def gil():
            res, out = record(t, 'gil', ['--mode', 'gil'], duration='1.0')
            if free_nogil:
                why = one_error(res, 'GIL')
                if why:
                    raise Fail('$ %s\n  a free-threaded build without a GIL: %s' % (res.shown, why))
                return
            if res.rc:
                raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, res.err.strip()))
            st = collapsed(out)
            ticks = ticks_of(res)
            share = count(st, 'nogil_hash') / float(max(1, ticks))
            base = cpu_share.get('nogil')
            if share > 0.08 or (base is not None and share > base / 3.0 + 0.01):
                raise Fail('$ %s\n  nogil_hash (not holding the GIL) in %.1f %% of the ticks, '
                           'cpu mode %s' % (res.shown, 100 * share,
                                            '%.1f %%' % (100 * base) if base is not None else '?'))
            if not count(st, 'compute'):
                raise Fail('$ %s\n  no sample of the GIL holders\' compute' % res.shown)

        def raised():
            flag = t.oracle_path + '.raise'
            open(flag, 'w').close()             # the raiser runs, alone
            time.sleep(0.1)
            try:
                res, out = record(t, 'raised', ['--mode', 'exception'], duration='0.6',
                                  rate='500')
            finally:
                os.unlink(flag)
            if res.rc:
                raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, res.err.strip()))
            st = collapsed(out)
            scans = count(st, 'raw_decode')
            r.notes['raised'] = '%d samples raised' % scans
            if scans < 5:
                raise Fail('$ %s\n  %d samples of the raiser in json\'s raw_decode (its scanner '
                           'freeing what it built while the error is raised), expected >= 5'
                           % (res.shown, scans))

        def exception():
            res, out = record(t, 'exc', ['--mode', 'exception'], duration='1.0')
            if res.rc:
                raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, res.err.strip()))
            st = collapsed(out)
            total = sum(n for _, n in st)
            inside = count(st, 'handled_once')
            plain = count(st, 'plain_work')
            probs = []
            if total < 20:
                probs.append('%d samples, expected >= 20' % total)
            elif inside < 0.9 * total:
                probs.append('%d of %d samples in handled_once, expected >= 90 %%' % (inside, total))
            if plain > 0.03 * max(total, 1):
                probs.append('%d of %d samples in plain_work, expected <= 3 %%' % (plain, total))
            seen = status(t).get('exc_info')
            if seen != 'ValueError':
                probs.append('the target\'s sys.exc_info() in in_handler: %r, expected ValueError'
                             % seen)
            if count(st, 'gen_handler') < 0.8 * max(inside, 1):
                probs.append('%d of %d samples of handled_once in gen_handler, expected >= 80 %%'
                             % (count(st, 'gen_handler'), inside))
            if 'Mode: exception' not in res.err:
                probs.append('no "Mode: exception" note: %s' % res.err.strip())
            if probs:
                raise Fail('$ %s\n  ' % res.shown + '\n  '.join(probs))

        def top():
            if not rep:
                raise NA(e2elib.REP_REASON)
            res = e2elib.cspy(['top', '--pid', t.pid, '--mode', 'exception', '-d', '1.2'],
                              timeout=60)
            probs = []
            if res.rc:
                probs.append('exit %d: %s' % (res.rc, res.err.strip()))
            if 'Mode: exception' not in res.out:
                probs.append('no "Mode: exception" in the header')
            if 'in_handler' not in res.out:
                probs.append('no in_handler row')
            if 'plain_work' in res.out:
                probs.append('a plain_work row')
            if probs:
                raise Fail('$ %s\n  ' % res.shown + '\n  '.join(probs) +
                           '\n  stdout:\n' + e2elib.indent(e2elib.clip(res.out, 2000)))

        checks = [('wall', wall), ('cpu', cpu), ('gil', gil), ('exception', exception),
                  ('raised', raised), ('top', top)]
        for name, fn in checks:
            if name in names:
                r.verdict(name, fn)
    except Fail as e:
        for name in names:
            r.results.setdefault(name, ('FAIL', str(e), 0))
    finally:
        t.close()
    return r


def spellings():
    bad = [(['--mode', 'bogus'], "'bogus'"), (['--mode'], '--mode'),
           (['--mode', 'cpu', '--idle'], '--idle'), (['--mode', 'cpu', '--gil'], '--gil'),
           (['--mode', 'wall', '--mode', 'gil'], 'one mode'), (['--no-gc=1'], 'no-gc')]
    probs = []
    for cmd in ('record', 'top'):
        for flags, say in bad:
            res = e2elib.cspy([cmd] + flags + ['--pid', '1'])
            why = one_error(res, say)
            if why:
                probs.append('$ %s\n  %s' % (res.shown, why))
            elif res.rc != 2 and res.rc != 1:
                probs.append('$ %s\n  exit %d' % (res.shown, res.rc))
        for flags in (['--mode', 'wall', '--mode', 'wall'], ['--mode', 'gil', '--idle']):
            res = e2elib.cspy([cmd] + flags + ['--help'])
            if res.rc != 0:
                probs.append('$ %s\n  refused: %s' % (res.shown, res.err.strip()))
        h = e2elib.cspy([cmd, '--help'])
        for word in ('--mode', 'exception', '--no-gc'):
            if word not in h.out:
                probs.append('$ %s\n  no %s in the help' % (h.shown, word))
    if probs:
        raise Fail('\n'.join(probs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--python', action='append', default=[])
    ap.add_argument('-k', action='append', default=[])
    ap.add_argument('-v', action='store_true')
    ap.add_argument('-j', type=int, default=3)
    args = ap.parse_args()
    e2elib.handle_signals()
    t0 = time.time()
    names = ['wall', 'cpu', 'gil', 'exception', 'raised', 'top']
    if args.k:
        names = [n for n in names if any(k in n for k in args.k)]
    interps, notes = e2elib.discover()
    interps = [i for i in interps if i.supported()]
    interps = e2elib.select_pythons(interps, notes, args.python)
    e2elib.choose_representative(interps)
    passed = failed = 0
    failures = []
    spelling = []

    def spellings_job():
        # beside the interpreters' checks: cspy only, no target
        try:
            spellings()
            spelling.append(None)
        except Fail as e:
            spelling.append(str(e))
        with LOCK:
            print('%-12s %-14s %s' % ('spellings', '-', 'ok' if spelling[0] is None else 'FAIL'))
            sys.stdout.flush()

    sp = None
    if not args.k or any(k in 'spellings' for k in args.k):
        sp = threading.Thread(target=spellings_job)
        sp.start()
    queue = list(interps)
    runs = []

    def worker():
        while True:
            with LOCK:
                if not queue:
                    return
                it = queue.pop(0)
            run = check_interp(it, names, e2elib.on_representative(it))
            with LOCK:
                runs.append(run)
                for n in names:
                    st, why, secs = run.results.get(n, ('FAIL', 'not run', 0))
                    extra = run.notes.get(n, '') if st == 'ok' else ''
                    print('%-12s %-14s %-4s %4.1fs %s' % (n, it.label, st, secs,
                                                          why if st == 'n/a' else extra))
                sys.stdout.flush()

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.j))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if sp:
        sp.join()
        if spelling[0] is None:
            passed += 1
        else:
            failed += 1
            failures.append(('spellings', '-', spelling[0]))
    for run in runs:
        for n in names:
            st, why, _ = run.results.get(n, ('FAIL', 'not run', 0))
            if st == 'ok':
                passed += 1
            elif st == 'FAIL':
                failed += 1
                failures.append((n, run.interp.label, why))
    for n, label, why in failures:
        print('--- %s [%s]' % (n, label))
        print(e2elib.indent(why, 2))
    for n in notes:
        print('not tested: ' + n)
    print('time: %.1f s' % (time.time() - t0))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
