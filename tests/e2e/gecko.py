#!/usr/bin/env python3
"""The gecko tier: cspy's Firefox Profiler (-f gecko) and pstats (-f pstats)
outputs checked against their formats and their real readers.

  gecko on fixed inputs (build/tools/writers_tool: collapsed stacks with
  times, threads, gaps, native GIL frames, hostile names, a synthetic
  profile, an empty one): the structure of the processed format, version
  57 (tests/e2e/profcheck.py: every table's columns as long as the table,
  every index in range, strings, categories, samples sorted, threads and
  processes), and per thread the samples and each leaf function's samples
  equal to cspy's own JSON of the same input; the categories (Python,
  native, GIL below take_gil, "(idle)" at a gap with weight 0, other) and
  the sample times exactly; a --memory profile (tests/e2e/splitmem.py
  through `cspy report`): weightType bytes, each stack's bytes grown.
  gecko vs CPython 3.15: on each 3.15 interpreter found (the built
  3.15.0rc1 and 3.15t, Debian sid's 3.15 in its chroot), `python -m
  profiling.sampling run --gecko` writes a profile; cspy's has the same
  top-level keys, meta fields, thread fields, table columns and version
  numbers, apart from the differences profcheck.py lists with their
  reasons, and CPython's passes the same structure check. No 3.15: n/a.
  pstats on every Python 3 found (and 2.7, reported): pstats.Stats loads
  the file written for a fixed input with hostile names; cc, nc, tt, ct and
  every caller entry equal what cspy's JSON of the same input gives;
  sort_stats/print_stats/print_callers run. With the ('__sampled__',)
  marker (writers_tool --sampled-marker), 3.15 loads it as SampledStats.
  live: cspy record -f gecko and -f pstats of a two-thread program on the
  default interpreter (totals against record's own count, and through `cspy
  report` against the JSON of the same run), the file endings that choose
  them, and --native --idle of four threads taking turns at the GIL: take_gil
  and the native frames below it in the GIL category.

Usage: tests/e2e/gecko.py [-v] [-k PATTERN] [--python VERSION]
Its last line is "N passed, N failed". Python 3.6+ standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
import profcheck  # noqa: E402
import splitmem  # noqa: E402

REPO = e2elib.REPO
REQUIRE = os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1'

# Fixed inputs (writers_tool's syntax, tests/tools/writers_tool.c).
BASIC = r'''!title app.py --serve
!command_line python3 app.py --serve
!python_version 3.12.1
!rate 100
!cmdline python3 app.py --serve
!thread 10 10 MainThread
main (app.py:10);run (app.py:20);compute (calc.py:5) 3
main (app.py:10);run (app.py:20);compute (calc.py:5);inner (calc.py:9) 2
main (app.py:10);run (app.py:20) 1
!idle 5
main (app.py:10);run (app.py:20);compute (calc.py:5) 4
main (app.py:10);load (io.py);native:PyEval_RestoreThread (ceval.c:300);native:take_gil.lto_priv.0 (ceval_gil.c:10);native:pthread_cond_timedwait (libc.so.6) 2
main (app.py:10);rec (r.py:1);rec (r.py:1);rec (r.py:1) 3
main (app.py:10);load (io.py);native:pthread_cond_timedwait (libc.so.6) 1
!thread 10 11 Worker-1
worker (pool.py:12);compute (calc.py:5) 5
worker (pool.py:12);<lambda> (pool.py:40) 1
!cmdline python3 child.py
!thread 20 21 Child worker
thread:thread (21): Child worker;child (child.py:3) 4
'''


def hostile():
    huge = 'H' * 100000
    return '\n'.join([
        '!title <script>alert(1)</script> "q" \\x01',
        '!command_line python3 -c "</script><b>\'x\'</b>"',
        '!rate 250',
        '!thread 7 7 <b>Main</b>"\\x1b[2J\\xff',
        'mod\\;ule (<&>.py:1);f\\x00"quote"\\\\ (a\\x01\\x7f.py:2);\\xff\\xfe\\xc3(bad (x.py:3) 3',
        'mod\\;ule (<&>.py:1);%s (%s.py:4) 2' % (huge, huge[:5000]),
        'mod\\;ule (<&>.py:1);\\xed\\xa0\\x80surrogate (s.py:9);native:\\xf0\\x9f\\x90\\x8d snake (lib\\xe2\\x80\\x8b.so) 2',
        '!thread 7 8 \\u202eevil\\n\\r',
        'other:<truncated>;deep (d.py:1) 1',
        '',
    ])


def synth_args():
    return ['--synth', '300,20000,3']


class Suite(object):
    def __init__(self, args):
        self.args = args
        self.passed = self.failed = 0
        self.results = []
        self.tool = os.path.join(os.path.dirname(e2elib.built_cspy()), 'tools', 'writers_tool')
        self.dir = e2elib.make_temp_dir('cspy-gecko-')
        os.chmod(self.dir, 0o755)

    def report(self, name, status, detail=None, t0=None):
        secs = ' (%.1f s)' % (time.time() - t0) if t0 else ''
        print('%-52s %s%s' % (name, status, secs))
        if status == 'ok':
            self.passed += 1
        elif status == 'FAIL':
            self.failed += 1
            self.results.append((name, detail))
        else:
            print('    ' + (detail or ''))
        if detail and status == 'FAIL' and self.args.v:
            print(e2elib.indent(detail, 4))

    def check(self, name, fn):
        if self.args.k and not any(k in name for k in self.args.k):
            return
        t0 = time.time()
        try:
            out = fn()
            if isinstance(out, tuple) and out[0] == 'n/a':
                required = len(out) > 2 and out[2]
                if REQUIRE and required:
                    self.report(name, 'FAIL', 'n/a with CSPY_REQUIRE_VALIDATORS=1: ' + out[1], t0)
                else:
                    self.report(name, 'n/a', out[1], t0)
                return
            problems = out or []
            self.report(name, 'FAIL' if problems else 'ok', '\n'.join(problems[:20]), t0)
        except e2elib.Fail as e:
            self.report(name, 'FAIL', str(e), t0)
        except Exception as e:   # a bug in a check is a failure, not a crash of the tier
            import traceback
            self.report(name, 'FAIL', '%s: %s\n%s' % (type(e).__name__, e, traceback.format_exc()), t0)

    def path(self, name):
        return os.path.join(self.dir, name)

    def tool_write(self, fmt, out, inp=None, extra=()):
        """writers_tool -f fmt -o out [extra] INPUT-or-synth; raises Fail."""
        args = [self.tool, '-f', fmt, '-o', out] + list(extra)
        if inp is not None:
            args.append(inp)
        r = e2elib.run_cmd(args)
        if r.rc != 0:
            raise e2elib.Fail('$ %s\n  exit %d: %s' % (r.shown, r.rc, r.err.strip()[:2000]))
        return out

    def inputs(self):
        ins = {}
        for name, text in (('basic', BASIC), ('hostile', hostile()), ('empty', '!rate 100\n')):
            p = self.path(name + '.txt')
            with open(p, 'w', encoding='utf-8', errors='surrogateescape') as f:
                f.write(text)
            ins[name] = [p]
        ins['synthetic'] = synth_args()
        golden = os.path.join(REPO, 'tests', 'golden', 'speedscope', 'input.txt')
        if os.path.exists(golden):
            ins['speedscope-golden'] = [golden]
        return ins

    def write_pair(self, name, inp, fmt, ext):
        """(the format's file, cspy's JSON) of one fixed input."""
        extra = inp if inp[0].startswith('--') else []
        path = inp[0] if not extra else None
        out = self.tool_write(fmt, self.path(name + ext), path, extra)
        js = self.tool_write('json', self.path(name + '.cspy.json'), path, extra)
        with open(js) as f:
            doc = json.load(f)
        return out, doc


def load_json(path):
    try:
        with open(path, 'rb') as f:
            return json.loads(f.read().decode('utf-8'))
    except (OSError, ValueError) as e:
        raise e2elib.Fail('%s: not valid JSON: %s' % (path, e))


def gecko_fixed(s, name, inp):
    out, doc = s.write_pair(name, inp, 'gecko', '.gecko.json')
    g = load_json(out)
    p = profcheck.gecko_structure(g)
    if not p:
        p = profcheck.gecko_totals_vs_json(g, doc)
    if name == 'empty' and not p and g['threads']:
        p.append('an empty profile has threads: %r' % [t['name'] for t in g['threads']])
    return p


def gecko_memory(s):
    """A --memory profile (tests/e2e/splitmem.py through cspy report): the
    structure, weightType bytes, and per thread each stack's bytes grown
    as its sample's weight."""
    js, out = s.path('splitmem.json'), s.path('splitmem.gecko.json')
    splitmem.write(js)
    r = e2elib.cspy(['report', js, '-f', 'gecko', '-o', out, '-q'])
    if r.rc != 0:
        return ['cspy report -f gecko: exit %d: %s' % (r.rc, r.err.strip()[:300])]
    g = load_json(out)
    p = profcheck.gecko_structure(g)
    want, got = {}, {}
    for th, fns, _, _, (grow, _) in splitmem.STACKS:
        if grow:
            key = (splitmem.THREADS[th][1], fns[-1])
            want[key] = want.get(key, 0) + grow
    strings = g['shared']['stringArray']
    for t in g['threads']:
        smp, st, fr, fn = t['samples'], t['stackTable'], t['frameTable'], t['funcTable']
        if smp.get('weightType') != 'bytes':
            p.append('thread %s: weightType %r, not bytes' % (t['tid'], smp.get('weightType')))
        for i in range(smp['length']):
            leaf = strings[fn['name'][fr['func'][st['frame'][smp['stack'][i]]]]]
            key = (t['tid'], leaf)
            got[key] = got.get(key, 0) + smp['weight'][i]
    if got != want:
        p.append('bytes per thread and leaf %r, expected %r' % (sorted(got.items()), sorted(want.items())))
    return p


def gecko_categories(s):
    out, _ = s.write_pair('basic', [s.path('basic.txt')], 'gecko', '.gecko.json')
    g = load_json(out)
    strings = g['shared']['stringArray']
    cats = [c['name'] for c in g['meta']['categories']]
    p = []
    want = {'compute': 'Python', 'PyEval_RestoreThread': 'Native', 'take_gil.lto_priv.0': 'GIL',
            'thread (21): Child worker': 'Other', '(idle)': 'Idle'}
    seen = {}
    gil_cond = set()
    for t in g['threads']:
        ft, fu, st = t['frameTable'], t['funcTable'], t['stackTable']
        for i in range(ft['length']):
            name = strings[fu['name'][ft['func'][i]]]
            seen.setdefault(name, set()).add(cats[ft['category'][i]])
        # pthread_cond_timedwait: GIL below take_gil, native elsewhere
        for i in range(st['length']):
            fr = st['frame'][i]
            if strings[fu['name'][ft['func'][fr]]] == 'pthread_cond_timedwait':
                pre = st['prefix'][i]
                parent = strings[fu['name'][ft['func'][st['frame'][pre]]]]
                gil_cond.add((parent, cats[ft['category'][fr]]))
    for name, cat in want.items():
        if seen.get(name) != {cat}:
            p.append('%s: categories %r, expected %r' % (name, sorted(seen.get(name, ())), cat))
    if gil_cond != {('take_gil.lto_priv.0', 'GIL'), ('load', 'Native')}:
        p.append('pthread_cond_timedwait (parent, category): %r, expected GIL under take_gil, '
                 'Native under load' % sorted(gil_cond))
    isjs = {}
    for t in g['threads']:
        for i in range(t['funcTable']['length']):
            isjs[strings[t['funcTable']['name'][i]]] = t['funcTable']['isJS'][i]
    if not (isjs.get('compute') is True and isjs.get('take_gil.lto_priv.0') is False):
        p.append('isJS: Python frames true, native false: %r' % isjs)
    return p


def gecko_times(s):
    """The fixed input's sample times: 10 ms apart, the gap of !idle 5 with
    its "(idle)" sample one interval after the last sample before it."""
    out, _ = s.write_pair('basic', [s.path('basic.txt')], 'gecko', '.gecko.json')
    g = load_json(out)
    p = []
    if g['meta']['interval'] != 10:
        p.append('meta.interval %r, expected 10 (ms)' % g['meta']['interval'])
    if g['meta']['startTime'] != 1700000000000:
        p.append('meta.startTime %r, expected 1700000000000 (ms)' % g['meta']['startTime'])
    main = [t for t in g['threads'] if t['tid'] == 10]
    if len(main) != 1 or main[0]['isMainThread'] is not True or main[0]['pid'] != '10':
        return p + ['no main thread 10 of process "10": %r' % [(t['pid'], t['tid']) for t in g['threads']]]
    sm = main[0]['samples']
    want = [0, 10, 20, 30, 40, 50, 60] + [110 + 10 * i for i in range(4 + 2 + 3 + 1)]
    if sm['time'] != want:
        p.append('MainThread times %r, expected %r' % (sm['time'], want))
    if sm['weight'] != [1] * 6 + [0] + [1] * 10:
        p.append('MainThread weights %r: expected the gap sample (7th) to weigh 0' % sm['weight'])
    procs = sorted(set((t['pid'], t['processName']) for t in g['threads']))
    if procs != [('10', 'python3 app.py --serve'), ('20', 'python3 child.py')]:
        p.append('processes %r' % procs)
    return p


def cpython_gecko(s, interp):
    """CPython's own sampler on a small two-thread program."""
    prog = s.path('cp_target.py')
    with open(prog, 'w') as f:
        f.write(CP_TARGET)
    out = s.path('cpython-%s.json' % interp.label)
    r = e2elib.run_cmd([interp.path, '-m', 'profiling.sampling', 'run', '--gecko', '-a', '-o', out, prog],
                       timeout=60, env=e2elib.target_env())
    if r.rc != 0 or not os.path.exists(out):
        raise e2elib.Fail('$ %s\n  exit %d\n  %s' % (r.shown, r.rc, (r.out + r.err).strip()[-2000:]))
    return load_json(out)


CP_TARGET = '''import threading, time
def leaf(n):
    s = 0
    for i in range(n):
        s += i
    return s
def work():
    t = time.time()
    while time.time() - t < 0.4:
        leaf(1000)
th = threading.Thread(target=work)
th.start()
work()
th.join()
'''


def gecko_vs_cpython(s, interp):
    theirs = cpython_gecko(s, interp)
    out, _ = s.write_pair('basic', [s.path('basic.txt')], 'gecko', '.gecko.json')
    ours = load_json(out)
    p = profcheck.gecko_vs_cpython(ours, theirs)
    p += ['CPython\'s own file: ' + x for x in profcheck.gecko_structure(theirs)]
    return p


def run_loader(interp_path, path, env=None):
    r = e2elib.run_cmd([interp_path, '-c', profcheck.PSTATS_LOADER, path], timeout=60,
                       env=env or e2elib.target_env())
    if r.rc != 0:
        return None, '$ %s -c PSTATS_LOADER %s\n  exit %d\n  %s' % (interp_path, path, r.rc,
                                                                   r.err.strip()[-1500:])
    try:
        return json.loads(r.out.strip().splitlines()[-1]), None
    except (ValueError, IndexError) as e:
        return None, 'loader output not JSON: %s: %r' % (e, r.out[-500:])


def pstats_fixed(s, interp, name):
    inp = s.inputs()[name]
    out, doc = s.write_pair(name + '-' + interp.label, inp, 'pstats', '.pstats')
    got, err = run_loader(interp.path, out)
    if err:
        return [err]
    p = profcheck.pstats_vs_expected(got['stats'], profcheck.pstats_expected(doc),
                                     profcheck.sample_period(doc))
    exp = profcheck.pstats_expected(doc)
    if got['prim_calls'] != sum(v[0] for v in exp.values()):
        p.append('pstats prim_calls %r, expected the total samples %d'
                 % (got['prim_calls'], sum(v[0] for v in exp.values())))
    if not got['printed']:
        p.append('print_stats printed nothing')
    return p


def pstats_marker(s, interp, old):
    out = s.tool_write('pstats', s.path('marker.pstats'), s.path('basic.txt'), ['--sampled-marker'])
    code = ('import pstats, sys; st = pstats.Stats(sys.argv[1]); '
            'print(type(st).__name__, len(st.stats))')
    r = e2elib.run_cmd([interp.path, '-c', code, out], env=e2elib.target_env())
    p = []
    if r.rc != 0 or not r.out.startswith('SampledStats '):
        p.append('3.15 with the marker: %r %r (expected SampledStats)' % (r.out.strip(), r.err.strip()[-300:]))
    if old:
        r = e2elib.run_cmd([old.path, '-c', code, out], env=e2elib.target_env())
        if r.rc == 0:
            p.append('%s loaded the marker file (the reason it is off by default is gone?): %s'
                     % (old.label, r.out.strip()))
    return p


LIVE_TARGET = '''import threading, time
def spin_leaf():
    s = 0
    for i in range(2000):
        s += i
    return s
def spin():
    end = time.time() + 30
    while time.time() < end:
        spin_leaf()
threading.Thread(target=spin, name="spinner", daemon=True).start()
spin()
'''


def live_record(s, interp, fmt, ext):
    prog = s.path('live_target.py')
    with open(prog, 'w') as f:
        f.write(LIVE_TARGET)
    out = s.path('live-%s%s' % (interp.label, ext))
    r = e2elib.cspy(['record', '-f', fmt, '-o', out, '-d', '1', '-r', '200', '--', interp.path, prog],
                    timeout=60, env=e2elib.target_env())
    if not os.path.exists(out) or written_samples(r) is None:
        raise e2elib.Fail('$ %s\n  exit %d\n  %s' % (r.shown, r.rc, r.err.strip()[-1500:]))
    return out, r


def written_samples(r):
    """The thread samples of record's summary ("Wrote FORMAT data to 'PATH'.
    Samples: T ticks, N thread samples."), or None."""
    import re
    m = re.search(r"Wrote \w+ data to .*Samples: \d+ ticks?, (\d+) thread samples?", r.out + r.err)
    return int(m.group(1)) if m else None


def live_gecko(s, interp):
    out, r = live_record(s, interp, 'gecko', '.gecko.json')
    g = load_json(out)
    p = profcheck.gecko_structure(g)
    if p:
        return p
    th = profcheck.gecko_threads(g)
    names = sorted(t['name'] for t in g['threads'])
    if len(g['threads']) < 2 or 'spinner' not in names:
        p.append('threads %r: expected MainThread and spinner' % names)
    end = g['meta'].get('profilingEndTime', 0) + 2 * g['meta']['interval']
    for t in g['threads']:
        tm = t['samples']['time']
        if tm and (tm[0] < 0 or tm[-1] > end):
            p.append('%s: times %r..%r outside the recording (0..%r ms)' % (t['name'], tm[0], tm[-1], end))
    said = written_samples(r)
    total = sum(v[0] for v in th.values())
    if said is None or said != total:
        p.append('the file holds %d samples, cspy said %r (its "N thread samples")'
                 % (total, said))
    for key, (total, leaves, idle) in th.items():
        if total and max(leaves, key=leaves.get) not in ('spin_leaf', 'spin'):
            p.append('thread %r: hottest leaf %r, expected spin_leaf' % (key, max(leaves, key=leaves.get)))
    # With cspy report (a saved JSON rendered again), the same run's totals.
    rep = e2elib.cspy(['report', '--help'])
    if rep.rc == 0:
        js, _ = live_record(s, interp, 'json', '.json')
        out2 = s.path('report.gecko.json')
        r2 = e2elib.cspy(['report', js, '-f', 'gecko', '-o', out2])
        if r2.rc != 0:
            p.append('$ %s: exit %d: %s' % (r2.shown, r2.rc, r2.err.strip()[-500:]))
        else:
            p += profcheck.gecko_totals_vs_json(load_json(out2), load_json(js))
    return p


def live_pstats(s, interp, loader):
    out, r = live_record(s, interp, 'pstats', '.pstats')
    got, err = run_loader(loader.path, out)
    if err:
        return [err]
    rows = dict((tuple(k), v) for k, v in got['stats'])
    hot = max(rows, key=lambda k: rows[k][0]) if rows else None
    p = []
    if not hot or hot[2] not in ('spin_leaf', 'spin') or not hot[0].endswith('live_target.py'):
        p.append('hottest (most cc) entry %r, expected spin_leaf of live_target.py' % (hot,))
    # A sample of a thread without a frame (starting, ending) has no entry:
    # the entries may count a few samples fewer than cspy's summary.
    said = written_samples(r)
    if said is None or not 0 <= said - got['prim_calls'] <= max(8, said // 10):
        p.append('the entries\' cc add up to %d samples, cspy said %r thread samples'
                 % (got['prim_calls'], said))
    # With cspy report, exactly the JSON of the same run.
    if e2elib.cspy(['report', '--help']).rc == 0:
        js, _ = live_record(s, interp, 'json', '.json')
        out2 = s.path('report.pstats')
        r2 = e2elib.cspy(['report', js, '-f', 'pstats', '-o', out2])
        if r2.rc != 0:
            p.append('$ %s: exit %d: %s' % (r2.shown, r2.rc, r2.err.strip()[-500:]))
        else:
            got2, err = run_loader(loader.path, out2)
            doc = load_json(js)
            p += [err] if err else profcheck.pstats_vs_expected(
                got2['stats'], profcheck.pstats_expected(doc), profcheck.sample_period(doc))
    spin = [v for k, v in rows.items() if k[2] == 'spin']
    if not spin or not any(v[1] >= v[0] for v in spin):
        p.append('spin: %r' % spin)
    return p


GIL_TARGET = '''import threading, time
def spin():
    end = time.time() + 30
    s = 0
    while time.time() < end:
        for i in range(1000):
            s += i
for _ in range(3):
    threading.Thread(target=spin, daemon=True).start()
spin()
'''


def live_gil(s, interp):
    """--native --idle of four threads taking turns at the GIL: the threads
    waiting in take_gil are sampled with their native frames; take_gil and
    every native frame below it are in the GIL category, and some samples
    end there."""
    prog = s.path('gil_target.py')
    with open(prog, 'w') as f:
        f.write(GIL_TARGET)
    out = s.path('gil.gecko.json')
    r = e2elib.cspy(['record', '--native', '--idle', '-f', 'gecko', '-o', out, '-d', '1.5', '--',
                     interp.path, prog], timeout=60, env=e2elib.target_env())
    if r.rc != 0 and 'not available in this build' in r.err:
        return ('n/a', 'cspy built without libdw (NO_LIBDW=1): no --native', False)
    # The end of --duration interrupts the program (KeyboardInterrupt), whose
    # exit status cspy passes on: the written file is what counts.
    if not os.path.exists(out) or written_samples(r) is None:
        raise e2elib.Fail('$ %s\n  exit %d\n  %s' % (r.shown, r.rc, r.err.strip()[-1500:]))
    g = load_json(out)
    p = profcheck.gecko_structure(g)
    if p:
        return p
    strings = g['shared']['stringArray']
    cats = [c['name'] for c in g['meta']['categories']]
    gil_leaves = 0
    seen_take_gil = False
    for t in g['threads']:
        ft, fu, st = t['frameTable'], t['funcTable'], t['stackTable']

        def name(fr):
            return strings[fu['name'][ft['func'][fr]]]
        for i in range(st['length']):
            fr = st['frame'][i]
            if name(fr).split('.')[0] == 'take_gil':
                seen_take_gil = True
                if cats[ft['category'][fr]] != 'GIL':
                    p.append('%s: take_gil in category %s' % (t['name'], cats[ft['category'][fr]]))
            # under a GIL frame, every native frame is GIL too
            pre = st['prefix'][i]
            if (pre is not None and cats[ft['category'][st['frame'][pre]]] == 'GIL'
                    and cats[ft['category'][fr]] not in ('GIL',)):
                p.append('%s: %s below %s is %s' % (t['name'], name(fr), name(st['frame'][pre]),
                                                   cats[ft['category'][fr]]))
        for sk in t['samples']['stack']:
            if sk is not None and cats[ft['category'][st['frame'][sk]]] == 'GIL':
                gil_leaves += 1
    if not seen_take_gil:
        return ('n/a', 'no take_gil frame in %d threads\' native stacks (%s has no symbol for it?)'
                % (len(g['threads']), interp.label), False)
    if not gil_leaves:
        p.append('no sample ends in a GIL frame, with four threads taking turns at the GIL')
    return p[:10]


def endings(s, interp):
    p = []
    for name, fmt in (('x.firefox.json', 'gecko'), ('x.gecko.json.gz', 'gecko'), ('x.prof', 'pstats')):
        out = s.path(name)
        prog = s.path('short.py')
        with open(prog, 'w') as f:
            f.write('import time\nt = time.time()\nwhile time.time() - t < 0.3: pass\n')
        r = e2elib.cspy(['record', '-o', out, '-d', '2', '--', interp.path, prog], timeout=60,
                        env=e2elib.target_env())
        if r.rc != 0 or not os.path.exists(out):
            p.append('$ %s: exit %d: %s' % (r.shown, r.rc, r.err.strip()[-300:]))
            continue
        with open(out, 'rb') as f:
            head = f.read(16)
        if name.endswith('.gz'):
            ok = head[:2] == b'\x1f\x8b'
        else:
            ok = head.startswith(b'{"meta"') if fmt == 'gecko' else head[:1] == b'{' and head[1:2] == b'('
        if not ok:
            p.append('%s: not a %s file: %r' % (name, fmt, head))
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('-v', action='store_true')
    ap.add_argument('-k', action='append', default=[], help='run the checks whose name has this')
    ap.add_argument('--python', action='append', default=[], help='interpreter version (prefix)')
    args = ap.parse_args()
    e2elib.OPTS = argparse.Namespace(targets_only=False, verbose=args.v)
    e2elib.handle_signals()
    t0 = time.time()
    s = Suite(args)
    if not os.access(s.tool, os.X_OK) or not os.access(e2elib.built_cspy(), os.X_OK):
        print('build/cspy or build/tools/writers_tool missing: run make')
        print('0 passed, 1 failed')
        return 1
    e2elib.snapshot_cspy()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons([i for i in interps if i.supported()], notes, args.python)
    ins = s.inputs()

    for name, inp in sorted(ins.items()):
        s.check('gecko structure+totals: %s' % name, lambda name=name, inp=inp: gecko_fixed(s, name, inp))
    s.check('gecko categories', lambda: gecko_categories(s))
    s.check('gecko --memory bytes', lambda: gecko_memory(s))
    s.check('gecko sample times', lambda: gecko_times(s))

    py315 = [i for i in interps if i.minor == (3, 15)]
    for i in py315:
        s.check('gecko vs CPython 3.15 sampler [%s]' % i.label, lambda i=i: gecko_vs_cpython(s, i))
    if not py315:
        s.check('gecko vs CPython 3.15 sampler', lambda: (
            'n/a', 'no Python 3.15 found (make pythons provisions 3.15.0rc1 and Debian sid\'s 3.15)', True))

    py3 = [i for i in interps if i.minor >= (3, 0)]
    for i in py3:
        s.check('pstats loads, counts and times [%s]' % i.label,
                lambda i=i: pstats_fixed(s, i, 'hostile') + pstats_fixed(s, i, 'basic'))
    py27 = [i for i in interps if i.minor == (2, 7)]
    for i in py27:
        # Reported, not required: Python 2.7's marshal reads version 2, its
        # pstats then holds unicode names.
        s.check('pstats in Python 2.7 (informative) [%s]' % i.label,
                lambda i=i: (lambda p: ('n/a', '2.7 loads it and counts match') if not p
                             else ('n/a', '2.7: ' + p[0][:300]))(pstats_fixed(s, i, 'basic')))
    if py315:
        old = [i for i in py3 if i.minor < (3, 15)]
        s.check('pstats 3.15 sampled marker [%s]' % py315[0].label,
                lambda: pstats_marker(s, py315[0], old[-1] if old else None))

    d = e2elib.default_interp(interps)
    if d:
        s.check('live record -f gecko [%s]' % d.label, lambda: live_gecko(s, d))
        s.check('live record -f pstats [%s]' % d.label, lambda: live_pstats(s, d, d))
        s.check('file endings choose gecko/pstats [%s]' % d.label, lambda: endings(s, d))
        s.check('live --native GIL category [%s]' % d.label, lambda: live_gil(s, d))
    else:
        s.check('live record', lambda: ('n/a', 'no supported interpreter found', False))

    if s.results:
        print()
        for name, detail in s.results:
            print('--- %s' % name)
            print(e2elib.indent(detail or '', 2))
    print()
    print('gecko tier: %.0f s' % (time.time() - t0))
    e2elib.end_all()
    print('%d passed, %d failed' % (s.passed, s.failed))
    return 1 if s.failed else 0


if __name__ == '__main__':
    sys.exit(main())
