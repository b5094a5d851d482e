#!/usr/bin/env python3
"""The python / native / system split of record's samples, on every
interpreter, blocking and nonblocking.

    python3 tests/e2e/split.py [--python VERSION]... [-k CHECK]... [-v] [-j N]

Every interpreter runs tests/targets/split_target.py once: one thread that
runs six phases of PHASE_S (0.5 s) each (then a seventh in two threads, see
`native` below), each in its own function, whose
split is known from inside: phase_python (a pure-Python loop), phase_zlib,
phase_sha256, phase_sorted (C code: libz, libcrypto or the _sha256 module,
list_sort called by a call instruction), phase_read (readinto of /dev/zero
in 64 MiB blocks) and phase_stat (os.stat in a loop). The target measures
each phase's wall time and its own user and system CPU time (os.times()).
Two recordings at 200 Hz run at the same time over the same phases:
`record --pid` (blocking: registers at each pause) and `record --nonblocking
--pid` (the kernel's per-thread user/system times), both `-f json`; each
phase's samples are the stacks through its function, and their "classes".

The checks (each recording; the same for both modes unless said):

  blocking, nonblocking
    meta     "classified": true, and every stack's classes add up to its
             count (every sample of `record` without --idle is active)
    active   each phase's share of the samples within 0.07 of its share of
             the wall time (a thread in a running system call, read or stat,
             counts as active)
    system   each phase's system share of its samples against the share of
             system time the target measured (sys / (user + sys)), within
             0.2 (both modes take how many samples are system from the
             kernel's per-thread times; blocking chooses which by the
             registers: sampler/classify.h)
    native   of the samples not in the kernel: >= 70 % native in phase_zlib,
             phase_sha256 and phase_sorted; in phase_python >= 70 % python
             of all samples and <= 25 % native (2.7's range() builds a list
             in C); and for the last phase, two threads at once: >= 70 %
             native in phase_gil_free (zlib in a thread that lets the GIL go:
             blocking, the pause stops the GIL holder alone, so this thread
             is classified without registers) and >= 70 % python in
             phase_python_mt beside it

  blocking
    mixed    phase_mixed, one thread taking turns of about a millisecond
             between a pure-Python loop (mixed_python, about half the time), os.stat
             calls and
             writing fresh memory (page faults: kernel time the registers
             cannot see): mixed_python's samples <= 5 % system (before, the
             system count the registers could not place was spread over the
             other samples: a Python line was shown as partly system)

  opcodes    the interpreter's row of src/python/opcodes.c is what
             tools/opcode_calls.py prints when that interpreter runs it (its
             own opcode/dis modules: the call-family opcode numbers)

An interpreter whose recordings fail any check is recorded once more (a
new target), and the second recordings' verdicts count: on a machine so
loaded that a phase gets almost no CPU (1 % of its wall time was seen with
a load average of 15 on 2 cores) no tolerance holds.

The tolerances are stated above; each phase has about 100 samples at 200 Hz
(binomial noise about 0.05). Interpreters run in parallel (-j, default 2).
Every target and cspy is ended by its PID (e2elib).
"""
import argparse
import concurrent.futures
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
from e2elib import Fail  # noqa: E402

PHASE_S = 0.5
RATE = '200'
PHASES = ('phase_python', 'phase_zlib', 'phase_sha256', 'phase_sorted', 'phase_read', 'phase_stat')
THREADS = ('phase_python_mt', 'phase_gil_free')     # at once, in two threads (threads_phase)
MIXED = ('mixed_python', 'mixed_stat', 'mixed_touch')  # by turns in one thread (phase_mixed)
NATIVE = ('phase_zlib', 'phase_sha256', 'phase_sorted')
ACTIVE_TOL = 0.07
SYSTEM_TOL = 0.2
NATIVE_MIN = 0.7
PYTHON_MIN = 0.7
PYTHON_NATIVE_MAX = 0.25
MODES = ('blocking', 'nonblocking')
LOCK = threading.Lock()
ROOT = os.path.dirname(os.path.dirname(HERE))
OPCODES_C = os.path.join(ROOT, 'src', 'python', 'opcodes.c')
OPCODE_TOOL = os.path.join(ROOT, 'tools', 'opcode_calls.py')
RE_ROW = re.compile(r'\{ 0x([0-9a-f]+), \{ ([^}]*) \} \},')
CHECKS = ('meta', 'active', 'system', 'native', 'mixed')
MIXED_SYSTEM_MAX = 0.05


class Run(object):
    """One interpreter's target and its two recordings."""

    def __init__(self, interp):
        self.interp = interp
        self.target = None
        self.result = None      # the target's phases
        self.rec = {}           # mode -> (Result, profile JSON or None)
        self.err = None         # why the run failed (every check fails with it)
        self.retried = False    # the second recording (the first one failed a check)

    def close(self):
        if self.target:
            self.target.close()


def record(run, mode, out, done):
    t = run.target
    args = ['record', '--pid', t.pid, '-r', RATE, '-f', 'json', '-o', out]
    if mode == 'nonblocking':
        args.append('--nonblocking')
    try:
        res = e2elib.cspy(args, timeout=90)
        prof = None
        if res.rc == 0 and os.path.exists(out):
            with open(out) as f:
                prof = json.load(f)
        done[mode] = (res, prof)
    except Exception as e:          # shown by the checks
        done[mode] = (None, 'recording raised %r' % e)


def start(run):
    t = run.target = e2elib.Target(run.interp, 'split_target.py', args=[PHASE_S])
    t.wait_ready(timeout=60, exact_tasks=False)
    done = {}
    ths = [threading.Thread(target=record, args=(run, m, os.path.join(t.dir, m + '.json'), done))
           for m in MODES]
    for th in ths:
        th.start()
    time.sleep(0.6)                 # both attached and sampling (the target waits)
    with open(t.oracle_path + '.go', 'w'):
        pass
    for th in ths:
        th.join()
    run.rec = done
    path = t.oracle_path + '.result'
    if not os.path.exists(path):
        raise Fail('the target wrote no result: %s\nits output:\n%s'
                   % (t.describe(), e2elib.indent(t.output())))
    with open(path) as f:
        run.result = json.load(f)


def phase_classes(prof):
    """{phase: [count, python, native, system]} over the stacks through it."""
    frames = prof['frames']
    out = dict((p, [0, 0, 0, 0]) for p in PHASES + THREADS + MIXED)
    for st in prof['stacks']:
        names = set(frames[i]['name'] for i in st['frames'])
        c = st.get('classes') or {}
        for p in PHASES + THREADS + MIXED:
            if p in names:
                a = out[p]
                a[0] += st['count']
                a[1] += c.get('python', 0)
                a[2] += c.get('native', 0)
                a[3] += c.get('system', 0)
    return out


def profile_of(run, mode):
    if run.err:
        raise Fail(run.err)
    res, prof = run.rec.get(mode, (None, 'not recorded'))
    if res is None or not isinstance(prof, dict):
        raise Fail(prof if isinstance(prof, str) else 'no profile')
    if res.rc != 0:
        raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, e2elib.clip(res.err.strip(), 2000)))
    return res, prof


def table(run, cls):
    """The phases side by side: what cspy found, what the target measured."""
    lines = ['%-15s %5s %6s %6s %6s %6s | %6s %6s %6s' % (
        'phase', 'n', 'share', 'py', 'nat', 'sys', 'wall', 'sys', 'cpu/w')]
    tot = float(sum(cls[p][0] for p in PHASES)) or 1.0
    twall = sum(r['wall_s'] for r in run.result if r['name'] in PHASES) or 1e-9
    for t in THREADS:
        a = cls[t]
        n = float(max(1, a[1] + a[2] + a[3]))
        lines.append('%-15s %5d %6s %6.2f %6.2f %6.2f |' % (t, a[0], '-', a[1] / n, a[2] / n, a[3] / n))
    for r in run.result:
        if r['name'] not in PHASES:
            continue
        a = cls[r['name']]
        n = float(max(1, a[1] + a[2] + a[3]))
        cpu = max(1e-9, r['user_s'] + r['sys_s'])
        lines.append('%-15s %5d %6.2f %6.2f %6.2f %6.2f | %6.2f %6.2f %6.2f' % (
            r['name'], a[0], a[0] / tot, a[1] / n, a[2] / n, a[3] / n, r['wall_s'] / twall,
            r['sys_s'] / cpu, cpu / max(1e-9, r['wall_s'])))
    return '\n'.join(lines)


def check(run, mode, name):
    res, prof = profile_of(run, mode)
    cls = phase_classes(prof)
    probs = []
    if name == 'meta':
        if prof['meta'].get('classified') is not True:
            probs.append('meta "classified" is %r, expected true' % prof['meta'].get('classified'))
        bad = [st for st in prof['stacks']
               if sum((st.get('classes') or {}).values()) != st['count']]
        if bad:
            probs.append('%d of %d stacks whose classes do not add up to their count, e.g. %r'
                         % (len(bad), len(prof['stacks']),
                            dict((k, bad[0][k]) for k in ('count', 'classes') if k in bad[0])))
    phases = [r for r in run.result if r['name'] in PHASES]
    tot = float(sum(cls[p][0] for p in PHASES))
    twall = sum(r['wall_s'] for r in phases)
    if name == 'mixed':
        a = cls['mixed_python']
        n = float(max(1, a[1] + a[2] + a[3]))
        if a[0] < 10:
            probs.append('mixed_python: only %d samples' % a[0])
        elif a[3] / n > MIXED_SYSTEM_MAX:
            probs.append('mixed_python (pure Python, by turns with os.stat and page faults): '
                         'system %d of its %d samples (%.2f), expected <= %.2f'
                         % (a[3], n, a[3] / n, MIXED_SYSTEM_MAX))
        phases = []
    if name != 'meta' and name != 'mixed' and tot < 200:
        probs.append('only %d samples in the phases (expected about %d)'
                     % (tot, 6 * PHASE_S * int(RATE)))
    for r in phases if name != 'meta' and not probs else ():
        p = r['name']
        a = cls[p]
        n = float(max(1, a[1] + a[2] + a[3]))
        cpu = max(1e-9, r['user_s'] + r['sys_s'])
        if name == 'active':
            got, want = a[0] / tot, r['wall_s'] / twall
            if abs(got - want) > ACTIVE_TOL:
                probs.append('%s: %.2f of the samples, %.2f of the wall time (tolerance %.2f)'
                             % (p, got, want, ACTIVE_TOL))
        elif name == 'system':
            got, want = a[3] / n, r['sys_s'] / cpu
            hi = want
            if got < want - SYSTEM_TOL or got > hi + SYSTEM_TOL:
                probs.append('%s: system %.2f of its samples; the target measured %.2f of its CPU '
                             'time in the kernel (allowed %.2f-%.2f)'
                             % (p, got, want, max(0, want - SYSTEM_TOL), min(1, hi + SYSTEM_TOL)))
        elif name == 'native':
            user = float(a[1] + a[2])
            if p in NATIVE and user >= 10 and a[2] / user < NATIVE_MIN:
                probs.append('%s: native %.2f of its samples not in the kernel, expected >= %.2f'
                             % (p, a[2] / user, NATIVE_MIN))
            if p in NATIVE and user < 10:
                probs.append('%s: only %d samples not in the kernel' % (p, user))
            if p == 'phase_python' and (a[1] / n < PYTHON_MIN or a[2] / n > PYTHON_NATIVE_MAX):
                probs.append('%s: python %.2f, native %.2f; expected >= %.2f and <= %.2f'
                             % (p, a[1] / n, a[2] / n, PYTHON_MIN, PYTHON_NATIVE_MAX))
    if name == 'native' and not probs:
        # two threads at once: the one without the GIL is not paused with
        # the GIL holder (blocking): classified without registers
        a, b = cls['phase_gil_free'], cls['phase_python_mt']
        user = float(a[1] + a[2])
        nb = float(max(1, b[1] + b[2] + b[3]))
        if user < 10 or a[2] / user < NATIVE_MIN:
            probs.append('phase_gil_free (zlib in a second thread): native %d of %d samples not '
                         'in the kernel, expected >= %.2f' % (a[2], user, NATIVE_MIN))
        if b[0] < 10 or b[1] / nb < PYTHON_MIN:
            probs.append('phase_python_mt (beside it): python %d of %d samples, expected >= %.2f'
                         % (b[1], nb, PYTHON_MIN))
    if probs:
        raise Fail('$ %s\n  ' % res.shown + '\n  '.join(probs) + '\n' +
                   e2elib.indent(table(run, cls), 2) +
                   ('\n  (recorded twice: the first recording failed a check too)'
                    if run.retried else ''))


def check_opcodes(interp):
    """The C table's row for interp against the tool run by interp."""
    with open(OPCODES_C) as f:
        rows = dict((int(m.group(1), 16), m.group(2).replace(' ', ''))
                    for m in RE_ROW.finditer(f.read()))
    with open(OPCODE_TOOL) as f:
        src = f.read()
    r = subprocess.run([interp.path, '-c', src], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, env=e2elib.target_env())
    m = RE_ROW.search(r.stdout.decode())
    if r.returncode or not m:
        raise Fail('%s tools/opcode_calls.py: exit %d, output %r, stderr %r'
                   % (interp.path, r.returncode, r.stdout.decode()[:500], r.stderr.decode()[:500]))
    minor = int(m.group(1), 16)
    want = m.group(2).replace(' ', '')
    if rows.get(minor) != want:
        raise Fail('src/python/opcodes.c: row 0x%x is %r; this interpreter\'s opcode modules '
                   'give (tools/opcode_calls.py):\n  %s' % (minor, rows.get(minor),
                                                            r.stdout.decode().strip()))


def all_pass(run, names):
    for mode, chk in names:
        try:
            check(run, mode, chk)
        except Fail:
            return False
    return True


def run_interp(interp, names, results, opcodes):
    run = Run(interp)
    if opcodes:
        results[(interp.label, 'opcodes')] = e2elib.run_on(interp, interp.label, 'opcodes',
                                                           check_opcodes, 20)
    try:
        try:
            if names:
                t0 = time.time()
                start(run)
                if not all_pass(run, names):
                    # A machine loaded beyond what the tolerances take (a
                    # phase that got almost no CPU, a recording starved of
                    # ticks): recorded once more, the second run's verdicts.
                    run.close()
                    run = Run(interp)
                    run.retried = True
                    with LOCK:
                        print('%s: recorded again (the first recordings failed a check)'
                              % interp.label)
                        sys.stdout.flush()
                    start(run)
                e2elib.note_time(interp.label, 'recordings', t0)
        except Fail as e:
            run.err = str(e)
        except e2elib.Stopping:
            run.err = 'interrupted'
        for mode, chk in names:
            results[(interp.label, '%s_%s' % (mode, chk))] = e2elib.run_on(
                run, interp.label, '%s_%s' % (mode, chk),
                lambda r, m=mode, c=chk: check(r, m, c), 20)
    finally:
        run.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('--python', action='append', metavar='VERSION', help='only these interpreters')
    ap.add_argument('-j', '--jobs', type=int, default=2, help='interpreters tested in parallel (default 2)')
    ap.add_argument('-v', '--verbose', action='store_true')
    opts = ap.parse_args()
    e2elib.OPTS = argparse.Namespace(targets_only=False, verbose=opts.verbose, k=opts.k)
    e2elib.handle_signals()
    t0 = time.time()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons(interps, notes, opts.python)
    print('cspy record python/native/system split end-to-end tests: %s' % e2elib.cspy_shown())
    e2elib.use_snapshot()
    e2elib.describe_interps(interps)
    sys.stdout.flush()
    pairs = [(m, c) for m in MODES for c in CHECKS if c != 'mixed' or m == 'blocking']
    all_names = ['%s_%s' % n for n in pairs] + ['opcodes']
    names = [n for n in pairs if e2elib.selected('%s_%s' % n, opts.k)]
    opcodes = e2elib.selected('opcodes', opts.k)
    shown = ['%s_%s' % n for n in names] + (['opcodes'] if opcodes else [])
    results = {}
    todo = []
    for interp in interps:
        if not interp.supported():
            for n in shown:
                results[(interp.label, n)] = (
                    'n/a', 'Python %s is not supported by cspy' % interp.version)
        elif shown:
            todo.append(interp)
    with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as ex:
        for f in [ex.submit(run_interp, i, names, results, opcodes) for i in todo]:
            f.result()
    labels = [i.label for i in interps]
    e2elib.print_table(results, labels, shown, [], None, '-')
    return e2elib.print_outcome(results, t0, all_names, notes)


if __name__ == '__main__':
    sys.exit(main())
