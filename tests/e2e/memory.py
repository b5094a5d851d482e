#!/usr/bin/env python3
"""End-to-end tests of `record --memory` and `top --memory`: tier "memory".

    python3 tests/e2e/memory.py [-k PATTERN] [--python VERSION] [-j N] [-v]

Uses the e2e library (tests/e2e/e2elib.py): interpreter discovery, process
tracking (every process ended by its PID), the report. The target,
tests/targets/memory_target.py, runs known steps in functions of their own
(warmup, grow_fast: 200 MB in 8 MB bursts, grow_slow: 50 MB in 128 KiB
pieces, compute, shrink: grow_fast's chunks freed one by one, compute2; a
thread "sleeper" waits through all of it) and writes its ORACLE from inside:
per step its resident size before and after (/proc/self/statm) and its time.
cspy's side is `record --memory -f json`: a step's bytes are the memory
grow/shrink of the stacks its function is on.

The tolerance (also in docs/formats.md, "Memory profiles"): per step, its
share of the growth (of the steps' total) within 0.05 of the oracle's share,
the same for shrink; a step that moved 20 MB or more: its bytes within 10%
(+4 MB) of the oracle's; at least 90% of the growth attributed lies in the
steps (the rest: start-up, the interpreter's exit). When the oracle saw
(almost) no shrink, as with a free-threaded build (mimalloc keeps the freed
8 MB blocks resident), the profile must show none in the steps either (less
than 5% of the growth). The steps run with SCALE 0.4 (about 1.3 s) at 200 Hz;
every run prints the largest deviation of a share at the end.

Per interpreter:
  shares         launched, blocking (the default): the tolerance above;
                 record's summary line "Memory (resident): X grown, Y shrunk"
                 equals the JSON's totals (to its rounding)
  nonblocking    --nonblocking --idle (representative interpreters: the
                 reading of /proc, not the interpreter's, is what changes):
                 the tolerance above, and the idle "sleeper" thread's stacks
                 (kept by --idle) carry under 3 MB (its own start: stack
                 pages, thread state; ticks where /proc showed it running
                 beside the main thread; an equal share of the steps' bytes
                 would be ~125 MB)
  threads        (representative interpreters) two threads at once, one
                 allocating 100 MB, one computing, the main thread waiting in
                 join(), blocking and --nonblocking: the two workers' growth
                 within 10% + 4 MB of the oracle's, the waiting main thread's
                 under 5% of it, and the allocating thread's share of the
                 workers' at least 0.35 (the equal split, 0.5, less noise:
                 a free-threaded build shows 0.50; with a GIL more, as the
                 allocating thread holds it while it writes its pages); the
                 shares printed at the end

Version-independent (the default interpreter):
  attach         --pid of a running target that then exits: the profile is
                 written (exit 0, meta memory true), grow_fast's and shrink's
                 bytes within the tolerance (attached during warmup)
  exits          a program that allocates 30 MB and exits at once: exit 0, the
                 profile written with meta memory true and the summary line;
                 without --memory: no "memory" in meta nor in any stack
  subprocesses   record --memory -s of a Python parent that runs the target as
                 its child and waits: the child's steps within the tolerance
                 (its own statm), the parent's stacks in Popen.wait() under
                 2 MB of growth
  top            top --memory (plain text: not a terminal) for the target's
                 run: exit 0, the table shows grow_fast; when top has a
                 memory column (its header names memory), grow_fast's bytes
                 are there

A run whose sampler fell behind by more than 20 ms (CSPY_STATS max_lag_s:
a busy machine; one late tick's interval then holds the end of a step and
the start of the next) and fails is run once more; the second run decides,
and a failure says both lags.

Output: the check x interpreter table, n/a reasons, failures ("--- check
[interpreter]"), then "N passed, N failed". Budget: 60 s on a busy 2-core
machine (-j 3): 21-35 s measured with 17 interpreters at load averages 7-16.
"""
import argparse
import concurrent.futures
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2elib                                      # noqa: E402
from e2elib import Fail, NA, clip                  # noqa: E402

TARGET = os.path.join(e2elib.TARGETS, 'memory_target.py')
RATE = '200'
SCALE = '0.4'           # the steps' time (memory_target.py's SCALE): ~1.3 s in all
SHARE_TOL = 0.05
BYTES_TOL = 0.10
BYTES_SLACK = 4 * 1000 * 1000
BIG = 20 * 1000 * 1000  # a step that moved this much has its bytes checked
IN_STEPS = 0.90
LAG_RETRY = 0.02        # 4 intervals at RATE
# The idle sleeper's bytes with --nonblocking --idle: its own start, and the
# ticks where /proc showed it running (R) beside the main thread, which then
# had an equal share of that interval's change (2.7: 0.3-2.3 MB seen, in its
# start or its wait); an equal share of the steps would be ~125 MB.
SLEEPER_MAX = 3 * 1000 * 1000
OPTS = None
MB = 1e6
DEVIATIONS = {}         # check name -> [(largest share deviation, interpreter label)]


class Ctx(e2elib.Ctx):
    def __init__(self, interp):
        e2elib.Ctx.__init__(self, interp)
        self.dirs = []

    def tmpdir(self):
        d = e2elib.make_temp_dir('cspy-memory-')
        self.dirs.append(d)
        return d

    def close(self):
        e2elib.Ctx.close(self)
        for d in self.dirs:
            e2elib.remove_temp_dir(d)

    def cspy(self, args, timeout=60):
        return e2elib.cspy(args, timeout=timeout, env=e2elib.target_env())


def load(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise Fail('%s: %s unreadable: %s' % (what, path, e))


def record(ctx, extra=(), scale=SCALE, mode=()):
    """Launch the target under record --memory -f json; (profile, oracle,
    result, the sampler's worst lag in seconds from CSPY_STATS)."""
    d = ctx.tmpdir()
    out, oracle = os.path.join(d, 'p.json'), os.path.join(d, 'oracle.json')
    stats = os.path.join(d, 'stats.json')
    env = e2elib.target_env()
    env['CSPY_STATS'] = stats
    r = e2elib.cspy(['record', '--memory', '-f', 'json', '-o', out, '-r', RATE, '--hideprogress'] +
                    list(extra) + ['--', ctx.interp.path, TARGET, oracle, scale] + list(mode),
                    timeout=60, env=env)
    if r.rc != 0 or not os.path.exists(out) or not os.path.exists(oracle):
        raise Fail('$ %s\n  exit status %d, profile %s, oracle %s\n  stderr: %s' % (
            r.shown, r.rc, 'written' if os.path.exists(out) else 'missing',
            'written' if os.path.exists(oracle) else 'missing', clip(r.err, 1500)))
    lag = load(stats, 'CSPY_STATS').get('max_lag_s', 0.0) if os.path.exists(stats) else 0.0
    return load(out, 'profile'), load(oracle, 'oracle'), r, lag


def retrying(attempt):
    """attempt() -> (problems, message, lag). A run whose sampler fell
    behind by more than LAG_RETRY (a busy machine: one late tick's interval
    holds a step's end and the next one's start) that fails is run once
    more; the second run decides."""
    bad, msg, lag = attempt()
    note = ''
    if bad and lag > LAG_RETRY:
        note = '\n  (the run before it failed with the sampler %.0f ms behind: run again)' % (lag * 1e3)
        bad, msg, lag = attempt()
    if bad:
        raise Fail('%s\n  (sampler at most %.0f ms behind)%s' % (msg, lag * 1e3, note))


def per_step(prof, oracle):
    """{step: [grow, shrink]} of the profile (stacks the step's function is
    on, by name, in the target's file), and the profile's totals."""
    frames = prof['frames']
    names = [s['name'] for s in oracle['steps']]
    got = dict((n, [0, 0]) for n in names)
    tg = ts = 0
    for st in prof['stacks']:
        m = st.get('memory')
        if m is None:
            raise Fail('a stack without "memory" in a --memory profile: %s' % json.dumps(st)[:300])
        tg += m['grow']
        ts += m['shrink']
        on = set(frames[i]['name'] for i in st['frames']
                 if frames[i]['filename'].endswith('memory_target.py'))
        for n in names:
            if n in on:
                got[n][0] += m['grow']
                got[n][1] += m['shrink']
    return got, tg, ts


def compare(prof, oracle, steps=None, record_dev=None):
    """The tolerance of the docstring; problems as lines (empty: all hold)
    and a table of the numbers for a failure's message."""
    if not prof['meta'].get('memory'):
        return ['meta "memory" is not true'], ''
    got, tg, ts = per_step(prof, oracle)
    osteps = [s for s in oracle['steps'] if steps is None or s['name'] in steps]
    og = sum(max(0, s['delta']) for s in osteps)
    osh = sum(max(0, -s['delta']) for s in osteps)
    cg = sum(got[s['name']][0] for s in osteps)
    cs = sum(got[s['name']][1] for s in osteps)
    rows = ['%-10s %10s %10s %10s %10s' % ('step', 'grow', 'oracle', 'shrink', 'oracle')]
    for s in osteps:
        g, sh = got[s['name']]
        rows.append('%-10s %8.1fMB %8.1fMB %8.1fMB %8.1fMB' % (
            s['name'], g / MB, max(0, s['delta']) / MB, sh / MB, max(0, -s['delta']) / MB))
    rows.append('profile totals: grow %.1f MB, shrink %.1f MB' % (tg / MB, ts / MB))
    table = '\n'.join(rows)
    bad = []
    if og < 100 * MB:
        bad.append('the oracle saw only %.1f MB of growth (a target problem)' % (og / MB))
        return bad, table
    if cg == 0:
        bad.append('no growth attributed to the steps')
        return bad, table
    if tg and cg < IN_STEPS * tg:
        bad.append('only %.0f%% of the growth in the steps (want >= %.0f%%)'
                   % (100.0 * cg / tg, 100 * IN_STEPS))
    shrink_seen = osh >= 50 * MB
    dev = 0.0
    for s in osteps:
        dev = max(dev, abs(float(got[s['name']][0]) / cg - float(max(0, s['delta'])) / og))
        if shrink_seen:
            dev = max(dev, abs(float(got[s['name']][1]) / max(1, cs) - float(max(0, -s['delta'])) / osh))
    if record_dev is not None:
        DEVIATIONS.setdefault(record_dev[0], []).append((dev, record_dev[1]))
    for s in osteps:
        g, sh = got[s['name']]
        og_s, os_s = max(0, s['delta']), max(0, -s['delta'])
        if abs(float(g) / cg - float(og_s) / og) > SHARE_TOL:
            bad.append('%s: growth share %.3f, oracle %.3f (tolerance %.2f)'
                       % (s['name'], float(g) / cg, float(og_s) / og, SHARE_TOL))
        if shrink_seen and abs(float(sh) / max(1, cs) - float(os_s) / osh) > SHARE_TOL:
            bad.append('%s: shrink share %.3f, oracle %.3f (tolerance %.2f)'
                       % (s['name'], float(sh) / max(1, cs), float(os_s) / osh, SHARE_TOL))
        for what, c, o in (('growth', g, og_s), ('shrink', sh, os_s)):
            if o >= BIG and abs(c - o) > BYTES_TOL * o + BYTES_SLACK:
                bad.append('%s: %s %.1f MB, oracle %.1f MB (tolerance 10%% + 4 MB)'
                           % (s['name'], what, c / MB, o / MB))
    if not shrink_seen and cs > 0.05 * cg:
        bad.append('the oracle saw %.1f MB of shrink, the steps have %.1f MB' % (osh / MB, cs / MB))
    return bad, table


def failure(bad, table, r):
    return '%s\n  $ %s\n%s' % ('\n'.join(bad), r.shown, e2elib.indent(table, 2))


def fail_if(bad, table, r):
    if bad:
        raise Fail(failure(bad, table, r))


RE_SUMMARY = re.compile(r'Memory \(resident\): ([0-9.]+) (B|KiB|MiB|GiB) grown, '
                        r'([0-9.]+) (B|KiB|MiB|GiB) shrunk')
UNIT = {'B': 1, 'KiB': 1024, 'MiB': 1024 ** 2, 'GiB': 1024 ** 3}


def check_summary(prof, r):
    m = RE_SUMMARY.search(r.err)
    if not m:
        raise Fail('no "Memory (resident): ... grown, ... shrunk" line on stderr:\n%s'
                   % clip(r.err, 1500))
    tg = sum(s['memory']['grow'] for s in prof['stacks'])
    ts = sum(s['memory']['shrink'] for s in prof['stacks'])
    for what, val, unit, total in (('grown', m.group(1), m.group(2), tg),
                                   ('shrunk', m.group(3), m.group(4), ts)):
        shown = float(val) * UNIT[unit]
        if abs(shown - total) > max(0.01 * total, UNIT[unit] * 0.1):
            raise Fail('summary says %s %s %s, the JSON %d bytes' % (what, val, unit, total))


# --------------------------------------------------------------------------
# Checks

def check_shares(ctx):
    out = []

    def attempt():
        prof, oracle, r, lag = record(ctx)
        bad, table = compare(prof, oracle)
        out[:] = [prof, r, oracle]
        return bad, failure(bad, table, r), lag
    retrying(attempt)
    compare(out[0], out[2], record_dev=('shares', ctx.interp.label))
    check_summary(out[0], out[1])


def check_nonblocking(ctx):
    why = e2elib.on_representative(ctx.interp)
    if why:
        raise NA(why)
    out = []

    def attempt():
        prof, oracle, r, lag = record(ctx, ['--nonblocking', '--idle'])
        bad, table = compare(prof, oracle)
        out[:] = [prof, oracle]
        sleepers = [i for i, t in enumerate(prof['threads']) if t.get('name') == 'sleeper']
        if not sleepers:
            bad.append('no "sleeper" thread in the profile (with --idle)')
        # Its own start (stack pages, thread state) and end are its, and a
        # tick where /proc showed it running gave it an equal share of
        # that interval: under SLEEPER_MAX, far from an equal share of the
        # steps' bytes (~125 MB).
        sb = sum(st['memory']['grow'] + st['memory']['shrink'] for st in prof['stacks']
                 if st['thread'] in sleepers)
        if sb > SLEEPER_MAX:
            # Where its bytes went, and in how many samples it was active
            # (the classes count active samples only).
            where = ['%s: %.2f MB grown, %.2f MB shrunk, %d samples, active %s' % (
                ' > '.join(prof['frames'][i]['name'] for i in st['frames'][-3:]),
                st['memory']['grow'] / MB, st['memory']['shrink'] / MB, st['count'],
                st.get('classes')) for st in prof['stacks']
                if st['thread'] in sleepers and (st['memory']['grow'] or st['memory']['shrink'])]
            bad.append('the idle sleeper thread has %.1f MB (at most %.1f MB: its own start and ticks '
                       'it ran); its stacks: %s' % (sb / MB, SLEEPER_MAX / MB, '; '.join(where[:4])))
        return bad, failure(bad, table, r), lag
    retrying(attempt)
    compare(out[0], out[1], record_dev=('nonblocking', ctx.interp.label))


THREAD_SHARES = {}      # interpreter label -> (grower's share, blocking or not)


def check_threads(ctx):
    why = e2elib.on_representative(ctx.interp)
    if why:
        raise NA(why)
    for extra in ([], ['--nonblocking']):
        shares = []

        def attempt():
            prof, orc, r, lag = record(ctx, extra, mode=['threads'])
            step = [s for s in orc['steps'] if s['name'] == 'threads'][0]['delta']
            by, waiting = {}, 0
            for st in prof['stacks']:
                name = prof['threads'][st['thread']]['name']
                by[name] = by.get(name, 0) + st['memory']['grow']
                if name == 'MainThread' and any(prof['frames'][i]['name'] == 'threads_step'
                                                for i in st['frames']):
                    waiting += st['memory']['grow']
            workers = by.get('grower', 0) + by.get('computer', 0)
            share = float(by.get('grower', 0)) / workers if workers else 0.0
            shares[:] = [share]
            what = 'nonblocking' if extra else 'blocking'
            bad = []
            if abs(workers - step) > BYTES_TOL * step + BYTES_SLACK:
                bad.append('%s: the two workers have %.1f MB, the oracle %.1f MB (tolerance 10%% + 4 MB)'
                           % (what, workers / MB, step / MB))
            if waiting > 0.05 * step:
                bad.append('%s: the main thread, waiting in join(), has %.1f MB (want < 5%% of %.1f MB)'
                           % (what, waiting / MB, step / MB))
            if share < 0.35:
                bad.append('%s: the allocating thread has %.2f of the workers\' growth (want >= 0.35: '
                           'about its equal share at least)' % (what, share))
            msg = '%s\n  $ %s\n  %s' % ('\n'.join(bad), r.shown, ', '.join(
                '%s %.1f MB' % (k or '?', v / MB) for k, v in sorted(by.items())))
            return bad, msg, lag
        retrying(attempt)
        THREAD_SHARES.setdefault(ctx.interp.label, []).append(shares[0])


def check_attach(ctx):
    d = ctx.tmpdir()
    out, oracle = os.path.join(d, 'p.json'), os.path.join(d, 'oracle.json')
    # scale 1: warmup lasts 0.2 s, time enough to attach before grow_fast
    p = e2elib.spawn([ctx.interp.path, TARGET, oracle, '1'], env=e2elib.target_env(),
                     stdin=e2elib.subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(0.05)
        r = ctx.cspy(['record', '--memory', '-f', 'json', '-o', out, '-r', RATE,
                      '--hideprogress', '--pid', str(p.pid)])
        p.wait(timeout=30)
    finally:
        e2elib.end_process(p)
    if r.rc != 0 or not os.path.exists(out):
        raise Fail('$ %s\n  exit status %d, profile %s\n  stderr: %s' % (
            r.shown, r.rc, 'written' if os.path.exists(out) else 'missing', clip(r.err, 1500)))
    prof, orc = load(out, 'profile'), load(oracle, 'oracle')
    bad, table = compare(prof, orc, ['grow_fast', 'grow_slow', 'compute', 'shrink', 'compute2'])
    fail_if(bad, table, r)
    check_summary(prof, r)


def check_exits(ctx):
    d = ctx.tmpdir()
    prog = 'b = b"1" * 30000000'
    outs = {}
    for flag in ('--memory', None):
        out = os.path.join(d, 'p%s.json' % ('m' if flag else ''))
        r = ctx.cspy(['record', '-f', 'json', '-o', out, '--hideprogress'] + ([flag] if flag else []) +
                     ['--', ctx.interp.path, '-c', prog])
        if r.rc != 0 or not os.path.exists(out):
            raise Fail('$ %s\n  exit status %d, profile %s\n  stderr: %s' % (
                r.shown, r.rc, 'written' if os.path.exists(out) else 'missing', clip(r.err, 1500)))
        outs[flag] = (load(out, 'profile'), r)
    prof, r = outs['--memory']
    if prof['meta'].get('memory') is not True:
        raise Fail('--memory: meta "memory" is %r' % prof['meta'].get('memory'))
    if prof['stacks']:
        check_summary(prof, r)
    elif 'Memory (resident)' not in r.err:
        raise Fail('no summary line:\n%s' % clip(r.err, 1500))
    plain, r = outs[None]
    if 'memory' in plain['meta'] or any('memory' in s for s in plain['stacks']):
        raise Fail('without --memory the JSON has "memory": %s' % r.shown)
    if 'Memory (resident)' in r.err:
        raise Fail('without --memory, a memory summary line:\n%s' % clip(r.err, 1500))


def check_subprocesses(ctx):
    d = ctx.tmpdir()
    out, oracle = os.path.join(d, 'p.json'), os.path.join(d, 'oracle.json')
    parent = ('import subprocess, sys; sys.exit(subprocess.call([sys.executable, %r, %r, %r]))'
              % (TARGET, oracle, SCALE))
    r = ctx.cspy(['record', '--memory', '-s', '-f', 'json', '-o', out, '-r', RATE, '--hideprogress',
                  '--', ctx.interp.path, '-c', parent])
    if r.rc != 0 or not os.path.exists(out) or not os.path.exists(oracle):
        raise Fail('$ %s\n  exit status %d, profile %s, oracle %s\n  stderr: %s' % (
            r.shown, r.rc, 'written' if os.path.exists(out) else 'missing',
            'written' if os.path.exists(oracle) else 'missing', clip(r.err, 1500)))
    prof, orc = load(out, 'profile'), load(oracle, 'oracle')
    bad, table = compare(prof, orc)
    child = [i for i, t in enumerate(prof['threads']) if t['pid'] == orc['pid']]
    if not child:
        bad.append('no thread of the child %d in the profile' % orc['pid'])
    # The parent's stacks while it waits for the child (in Popen.wait): its
    # own start-up (imports) before is its own.
    waiting = sum(st['memory']['grow'] for st in prof['stacks'] if st['thread'] not in child and
                  any(prof['frames'][i]['name'] == 'wait' for i in st['frames']))
    if waiting > 2 * MB:
        bad.append('the parent, waiting in Popen.wait(), has %.1f MB of growth (want < 2 MB)'
                   % (waiting / MB))
    fail_if(bad, table, r)


def check_top(ctx):
    d = ctx.tmpdir()
    oracle = os.path.join(d, 'oracle.json')
    r = ctx.cspy(['top', '--memory', '-r', RATE, '--delay', '0.5', '--', ctx.interp.path, TARGET,
                  oracle, SCALE])
    if r.rc != 0:
        raise Fail('$ %s\n  exit status %d\n  stderr: %s' % (r.shown, r.rc, clip(r.err, 1500)))
    if 'grow_fast' not in r.out:
        raise Fail('top --memory never showed grow_fast:\n%s' % clip(r.out, 3000))
    header = [l for l in r.out.split('\n') if 'own' in l.lower() and 'total' in l.lower()]
    if header and re.search(r'mem|bytes|grow', header[0], re.I):
        rows = [l for l in r.out.split('\n') if 'grow_fast' in l]
        sized = re.compile(r'\d+(\.\d+)?\s*[KMG]i?B?\b|\b\d{6,}\b')  # 12.3M, 200 MiB, 209715200
        if not any(sized.search(l) for l in rows):
            raise Fail('top has a memory column but grow_fast shows no bytes:\n%s'
                       % clip('\n'.join(header[:1] + rows[-5:]), 3000))


PER_VERSION = [('shares', check_shares), ('nonblocking', check_nonblocking), ('threads', check_threads)]
GLOBAL = [('attach', check_attach), ('exits', check_exits), ('subprocesses', check_subprocesses),
          ('top', check_top)]


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('--python', action='append', metavar='VERSION',
                    help='only interpreters whose version starts with VERSION')
    ap.add_argument('-j', '--jobs', type=int, default=3, help='checks run in parallel (default 3)')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    OPTS = ap.parse_args()
    OPTS.targets_only = False
    e2elib.OPTS = OPTS
    e2elib.handle_signals()
    t0 = time.time()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons(interps, notes, OPTS.python)
    print('cspy --memory end-to-end tests: %s' % e2elib.cspy_shown())
    e2elib.use_snapshot()
    e2elib.describe_interps(interps)
    for line in e2elib.choose_representative(interps, every=bool(OPTS.python)):
        print('representative: %s' % line)
    sys.stdout.flush()
    results, jobs = {}, []
    default = e2elib.default_interp(interps)
    for i in interps:
        for name, fn in PER_VERSION:
            if not e2elib.selected(name, OPTS.k):
                continue
            if not i.supported():
                results[(i.label, name)] = ('n/a', 'Python %s is not supported by cspy' % i.version)
            else:
                jobs.append((i, name, fn, i.label))
    gnames = []
    for name, fn in GLOBAL:
        if not e2elib.selected(name, OPTS.k):
            continue
        gnames.append(name)
        if default is None:
            results[('-', name)] = ('n/a', 'no supported interpreter found')
        else:
            jobs.append((default, name, fn, '-'))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
        futs = dict((ex.submit(e2elib.run_one, Ctx, i, name, fn, 16), (label, name))
                    for i, name, fn, label in jobs)
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()
    labels = [i.label for i in interps]
    e2elib.print_table(results, labels, [n for n, _ in PER_VERSION if e2elib.selected(n, OPTS.k)],
                       gnames, default.label if default else None, '-')
    if THREAD_SHARES:
        print()
        print('threads: the allocating thread\'s share of the two workers\' growth (blocking, nonblocking):')
        print('  ' + ', '.join('%s %s' % (k, '/'.join('%.2f' % x for x in v))
                               for k, v in sorted(THREAD_SHARES.items())))
    if DEVIATIONS:
        print()
        print('largest deviation of a step\'s share from the oracle\'s (tolerance %.2f):' % SHARE_TOL)
        for name in sorted(DEVIATIONS):
            devs = sorted(DEVIATIONS[name], reverse=True)
            print('  %-12s %.3f (%s); median %.3f over %d interpreters'
                  % (name, devs[0][0], devs[0][1], devs[len(devs) // 2][0], len(devs)))
    return e2elib.print_outcome(results, t0, [n for n, _ in PER_VERSION] + gnames, notes)


if __name__ == '__main__':
    sys.exit(main())
