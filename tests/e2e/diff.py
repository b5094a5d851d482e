#!/usr/bin/env python3
"""End-to-end tests of `cspy diff BASE NEW`: tier "diff".

    python3 tests/e2e/diff.py [-k PATTERN] [--python VERSION] [-j N] [-v]

Uses the e2e library (tests/e2e/e2elib.py): interpreter discovery, process
tracking (every process ended by its PID), the report. The oracle is known
by construction: tests/targets/diff/work.py splits its loop between a() and
b(), two functions with the same body, PCT : 100 - PCT of its CPU time;
BASE is a run with 80, NEW one with 20 (each `record -f json -t -s`, so
thread and process roots carry each run's TID and PID).

Per interpreter:
  lineup         diff -f json of the two runs: the sums of "count" and "base"
                 are NEW's and BASE's totals; a's and b's own shares computed
                 from the two recordings equal those of the diff (exactly);
                 a's share of the loop falls and b's rises, each by 0.1 or
                 more, and on the default interpreter, whose two runs are
                 recorded first and alone (sampling accuracy needs a quiet
                 machine), from 0.8 to 0.2 and the other way (+-0.2); the
                 hottest a and b stacks carry both counts
                 (frames lined up across PIDs and TIDs: one process root and
                 one thread root, numbers made N); the table on stdout gives
                 a's and b's shares and changes as the JSON does (+-0.01);
                 --threads: one thread, MainThread, pid 1 tid 1

Version-independent (the default interpreter):
  outputs        raw: "stack BASE NEW" lines, equal to the JSON's stacks and
                 counts; .gz the same bytes compressed; -f raw without -o on
                 stdout with the table on stderr; -q prints nothing; the SVG
                 well-formed (xmllint), root data-n/data-b the totals, a's
                 frames blue, b's red, tooltips with both counts; the diff's
                 JSON through cspy report: the same JSON, the same SVG
  self           BASE diffed with itself: every stack's count equals its
                 base, every change in the table 0.00, every frame grey
  svg_chromium   the diff SVG in headless Chromium (tests/validate/
                 svg_check.js): no page error, searches for a and b match
                 their NEW shares, zoom, window fitting
  flamegraph_pl  flamegraph.pl (if on PATH: Debian has no package of it)
                 renders the raw diff, well-formed
  native         two --native runs of tests/targets/diff/zlib_work.py (libz
                 at different addresses): each native frame once in the
                 diff; the hottest native leaf, and libz's frames named by
                 module+offset, have samples in both runs
  nolineno       NEW from a copy of work.py with its lines moved: a's stacks
                 do not line up by default, do with --nolineno (line -1)
  hostile        hand-made profiles with markup, quotes, ';', newlines,
                 control characters, emoji, U+FFFE and a 5000-byte name:
                 exit 0, SVG well-formed without live markup, raw one line
                 per stack with two counts, JSON names unchanged, the table
                 without control characters
  errors         bad inputs (missing, garbage, truncated JSON and gzip,
                 empty, invalid UTF-8, no samples, a diff as input, formats
                 that cannot show a diff, unknown format or extension,
                 unwritable output, wrong argument counts, --top 0): one
                 "cspy: error:" line naming the problem, a non-zero exit,
                 nothing left behind; and BASE from standard input works

Output: the check x interpreter table, n/a reasons, failures ("--- check
[interpreter]"), then "N passed, N failed". A missing xmllint, node or
Chromium is n/a, and a failure when CSPY_REQUIRE_VALIDATORS=1 (CI installs
them); a missing flamegraph.pl is always n/a.
"""
import argparse
import concurrent.futures
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2elib                                      # noqa: E402
from e2elib import Fail, NA, REPO, indent, clip    # noqa: E402

WORK = os.path.join(e2elib.TARGETS, 'diff', 'work.py')
ZWORK = os.path.join(e2elib.TARGETS, 'diff', 'zlib_work.py')
SECONDS = '1.2'
NATIVE_SECONDS = '2'     # the first --native sample costs more (libdw)
RATE = '250'
TOL = 0.2
MIN_MOVE = 0.1
REQUIRE = os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1'
OPTS = None


class Ctx(e2elib.Ctx):
    def __init__(self, interp):
        e2elib.Ctx.__init__(self, interp)
        self.dirs = []

    def tmpdir(self):
        d = e2elib.make_temp_dir('cspy-diff-')
        self.dirs.append(d)
        return d

    def close(self):
        e2elib.Ctx.close(self)
        for d in self.dirs:
            e2elib.remove_temp_dir(d)

    def cspy(self, args, timeout=e2elib.CSPY_TIMEOUT, prefix=()):
        return e2elib.cspy(args, timeout=timeout, env=e2elib.target_env(), prefix=prefix)


def missing_validator(what):
    """n/a for a missing validator that .ci/run installs; a failure in CI."""
    if REQUIRE:
        raise Fail('%s (CSPY_REQUIRE_VALIDATORS=1)' % what)
    raise NA(what)


# --------------------------------------------------------------------------
# Recordings (shared by the checks of one interpreter)

_pairs = {}
_pairs_lock = threading.Lock()
_quiet = set()          # interpreters whose pair was recorded alone (main: the default's)
_recording = threading.Semaphore(4)     # recordings at once (load skews sampling)


def record(ctx, out, script, args, extra=()):
    cmd = (['record', '-f', 'json', '-o', out, '-r', RATE, '--hideprogress'] + list(extra) +
           ['--', ctx.interp.path, script] + [str(a) for a in args])
    with _recording:
        r = ctx.cspy(cmd, timeout=60)
    if r.rc != 0 or not os.path.exists(out):
        raise Fail('$ %s\n  exit status %d, output %s\n  stderr: %s' % (
            r.shown, r.rc, 'written' if os.path.exists(out) else 'missing', clip(r.err, 1500)))
    return out


def record_both(ctx, jobs):
    """Run the recordings of jobs [(out, script, args, extra)] at the same
    time; their paths."""
    errs, outs = [], []

    def one(j):
        try:
            outs.append(record(ctx, *j))
        except Fail as e:
            errs.append(str(e))
    ts = [threading.Thread(target=one, args=(j,)) for j in jobs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise Fail('\n'.join(errs))
    return [j[0] for j in jobs]


def pair(ctx):
    """(BASE, NEW) of ctx's interpreter: work.py 80 and 20, -t -s, recorded
    once per run of this suite."""
    with _pairs_lock:
        ent = _pairs.get(ctx.interp.label)
        if ent is None:
            ent = _pairs[ctx.interp.label] = {'lock': threading.Lock(), 'paths': None}
    with ent['lock']:
        if ent['paths'] is None:
            d = e2elib.make_temp_dir('cspy-diff-pair-')
            ent['paths'] = record_both(ctx, [
                (os.path.join(d, 'base.json'), WORK, (80, SECONDS), ('-t', '-s')),
                (os.path.join(d, 'new.json'), WORK, (20, SECONDS), ('-t', '-s'))])
        return ent['paths']


# --------------------------------------------------------------------------
# Reading profiles

def load(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        return json.loads(f.read().decode('utf-8'))


def func_label(fr):
    """A function's label in the table: "name (file)", the synthetic
    frames' name alone."""
    if fr['kind'] in ('process', 'thread', 'other') or not fr['short_filename']:
        return fr['name']
    return '%s (%s)' % (fr['name'], fr['short_filename'])


def frame_label(fr):
    """A frame's label in raw and the SVG (profile_frame_label)."""
    if fr['kind'] in ('process', 'thread', 'other') or not fr['short_filename']:
        return fr['name']
    if fr['line'] >= 0:
        return '%s (%s:%d)' % (fr['name'], fr['short_filename'], fr['line'])
    return '%s (%s)' % (fr['name'], fr['short_filename'])


def own_counts(doc, key='count'):
    """{function label: samples with it as the leaf} and the total."""
    own, total = {}, 0
    for st in doc['stacks']:
        c = st.get(key, 0)
        total += c
        if st['frames']:
            lab = func_label(doc['frames'][st['frames'][-1]])
            own[lab] = own.get(lab, 0) + c
    return own, total


def share(counts, total, label):
    return counts.get(label, 0) / float(total) if total else 0.0


def leaf_name(doc, st):
    return doc['frames'][st['frames'][-1]]['name'] if st['frames'] else None


def hottest(doc, name):
    """The stack with leaf function name and the most samples in both
    recordings together: by NEW alone, a function at 20 % of a 1.2 s
    recording has its hottest stack among a handful of samples, which on a
    loaded machine was once a stack BASE did not have (3.7)."""
    cands = [s for s in doc['stacks'] if leaf_name(doc, s) == name]
    return max(cands, key=lambda s: s['count'] + s['base']) if cands else None


RE_ROW = re.compile(r'^\s*([+-]?\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(.*)$')


def table_rows(text):
    """{function: (change, base %, new %)} of the table of largest changes."""
    rows = {}
    for line in text.splitlines():
        m = RE_ROW.match(line)
        if m:
            rows[m.group(4)] = tuple(float(m.group(i)) for i in (1, 2, 3))
    return rows


RE_RAW2 = re.compile(r'^(.+) (\d+) (\d+)$')


def parse_raw2(text, source):
    """{stack text: (base, new)} of the two-count collapsed form."""
    out, bad = {}, []
    lines = text.split('\n')
    for n, line in enumerate(lines, 1):
        if not line and n == len(lines):
            continue
        m = RE_RAW2.match(line)
        if not m:
            bad.append('line %d: %r' % (n, line[:200]))
            continue
        b, c = out.get(m.group(1), (0, 0))
        out[m.group(1)] = (b + int(m.group(2)), c + int(m.group(3)))
    if bad:
        raise Fail('%s: lines that are not "frame;...;leaf BASE NEW":\n%s'
                   % (source, indent('\n'.join(bad[:10]), 2)))
    return out


def raw_of_json(doc):
    """What raw should hold for a diff JSON: {stack text: (base, new)}."""
    out = {}
    for st in doc['stacks']:
        if not st['frames']:
            continue
        labs = [frame_label(doc['frames'][f]).replace(';', ':').replace('\n', ' ').replace('\r', ' ')
                for f in st['frames']]
        k = ';'.join(labs)
        b, c = out.get(k, (0, 0))
        out[k] = (b + st['base'], c + st['count'])
    return out


RE_G = re.compile(r'<g data-s="(\d+)" data-n="(\d+)"(?: data-b="(\d+)")?><title>(.*?)</title>'
                  r'<rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)"')


def svg_frames(path):
    """[(label, n, b, (r, g, b), title)] of the flame graph's frames."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    out = []
    for m in RE_G.finditer(text):
        title = m.group(4)
        label = title[:title.rfind(' (')] if ' (' in title else title
        out.append((label, int(m.group(2)), int(m.group(3) or -1),
                    tuple(int(m.group(i)) for i in (5, 6, 7)), title))
    return out, text


def xmllint(path):
    """None when path is well-formed XML, else the error; NA/Fail without xmllint."""
    if not shutil.which('xmllint'):
        missing_validator('xmllint not installed (Debian: libxml2-utils)')
    p = subprocess.run(['xmllint', '--noout', path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    return None if p.returncode == 0 else (p.stderr.strip()[:1500] or 'exit %d' % p.returncode)


def diff_ok(ctx, args, what=None):
    r = ctx.cspy(['diff'] + args)
    if r.rc != 0:
        raise Fail('$ %s\n  exit status %d, expected 0\n  stderr: %s' % (r.shown, r.rc, clip(r.err, 1500)))
    return r


# --------------------------------------------------------------------------
# Checks

def check_lineup(ctx):
    base, new = pair(ctx)
    d = ctx.tmpdir()
    out = os.path.join(d, 'd.json')
    r = diff_ok(ctx, [base, new, '-f', 'json', '-o', out])
    bd, nd, dd = load(base), load(new), load(out)
    p = []
    if dd['meta'].get('diff') is not True:
        p.append('meta "diff" is %r, expected true' % dd['meta'].get('diff'))
    nown, ntot = own_counts(nd)
    bown, btot = own_counts(bd)
    down, dtot = own_counts(dd, 'count')
    dbown, dbtot = own_counts(dd, 'base')
    if (dtot, dbtot) != (ntot, btot):
        p.append('totals: count %d, base %d; the recordings have %d (NEW) and %d (BASE)'
                 % (dtot, dbtot, ntot, btot))
    rows = table_rows(r.out)
    for fn, want_base, want_new in (('a', 0.8, 0.2), ('b', 0.2, 0.8)):
        lab = fn + ' (work.py)'
        sb, sn = share(bown, btot, lab), share(nown, ntot, lab)
        if (sb, sn) != (share(dbown, dbtot, lab), share(down, dtot, lab)):
            p.append('%s: shares %.4f -> %.4f in the recordings, %.4f -> %.4f in the diff'
                     % (lab, sb, sn, share(dbown, dbtot, lab), share(down, dtot, lab)))
        loop_b = bown.get('a (work.py)', 0) + bown.get('b (work.py)', 0)
        loop_n = nown.get('a (work.py)', 0) + nown.get('b (work.py)', 0)
        fb = bown.get(lab, 0) / float(loop_b or 1)
        fn_ = nown.get(lab, 0) / float(loop_n or 1)
        # How close to 80/20 sampling gets is record's accuracy, which needs
        # a quiet machine: the oracle check has it (recorded alone, first);
        # here, with every interpreter recording at once, the direction.
        quiet = ctx.interp.label in _quiet
        tol_bad = (abs(fb - want_base) > TOL or abs(fn_ - want_new) > TOL) if quiet else \
            ((fn_ - fb) * (want_new - want_base) <= 0 or abs(fn_ - fb) < MIN_MOVE)
        if tol_bad:
            p.append('%s: share of the loop %.3f -> %.3f, expected %s; '
                     'loop samples %d -> %d; command lines %s -> %s' % (
                         lab, fb, fn_, '%.1f -> %.1f (+-%.2f)' % (want_base, want_new, TOL) if quiet
                         else 'a move of %.2f or more that way' % MIN_MOVE, loop_b, loop_n,
                         sorted(set(t['command_line'] for t in bd['threads'])),
                         sorted(set(t['command_line'] for t in nd['threads']))))
        row = rows.get(lab)
        if not row:
            p.append('%s not in the table:\n%s' % (lab, indent(r.out, 2)))
        elif (abs(row[1] - 100 * sb) > 0.011 or abs(row[2] - 100 * sn) > 0.011 or
              abs(row[0] - 100 * (sn - sb)) > 0.011):
            p.append('%s: table row %s, the JSONs give %.2f %.2f %.2f'
                     % (lab, row, 100 * (sn - sb), 100 * sb, 100 * sn))
        st = hottest(dd, fn)
        if not st or not st['count'] or not st['base']:
            p.append('the hottest %s stack of the diff lacks a count: %s' % (fn, st))
    used = set(i for s in dd['stacks'] for i in s['frames'])
    procs = sorted(set(dd['frames'][i]['name'] for i in used if dd['frames'][i]['kind'] == 'process'))
    threads = sorted(set(dd['frames'][i]['name'] for i in used if dd['frames'][i]['kind'] == 'thread'))
    # the thread is named once threading is imported: "thread (N)" before
    if (len(procs) != 1 or not procs[0].startswith('process N:') or
            not set(threads) <= set(['thread (N)', 'thread (N): MainThread']) or not threads):
        p.append('process and thread roots: expected one process and the main thread with '
                 'numbers made N, got %s and %s' % (procs, threads))
    ctx.problem(r, p)
    # --threads: matched by name, MainThread only
    out2 = os.path.join(d, 't.json')
    r = diff_ok(ctx, ['-t', '-q', base, new, '-f', 'json', '-o', out2])
    th = load(out2)['threads']
    want = [{'pid': 1, 'tid': 1, 'name': 'MainThread'}]
    got = [{'pid': t['pid'], 'tid': t['tid'], 'name': t['name']} for t in th]
    ctx.problem(r, [] if got == want else ['--threads: threads %s, expected %s' % (got, want)])
    ctx.finish()


def check_outputs(ctx):
    base, new = pair(ctx)
    d = ctx.tmpdir()
    dj = os.path.join(d, 'd.json')
    diff_ok(ctx, ['-q', base, new, '-f', 'json', '-o', dj])
    dd = load(dj)
    p = []
    # raw
    txt = os.path.join(d, 'd.txt')
    r = diff_ok(ctx, [base, new, '-o', txt])
    with open(txt, encoding='utf-8') as f:
        raw = f.read()
    got = parse_raw2(raw, txt)
    want = raw_of_json(dd)
    if got != want:
        only = sorted(set(got) ^ set(want))[:3]
        p.append('raw: %d stacks, the JSON %d; differing: %s' % (len(got), len(want), only))
    if 'Largest changes' not in r.out:
        p.append('no table on stdout:\n%s' % indent(r.out, 2))
    ctx.problem(r, p)
    p = []
    gz = os.path.join(d, 'd.txt.gz')
    r = diff_ok(ctx, ['-q', base, new, '-o', gz])
    with gzip.open(gz, 'rb') as f:
        if f.read().decode('utf-8') != raw:
            p.append('d.txt.gz is not d.txt compressed')
    ctx.problem(r, p)
    r = diff_ok(ctx, [base, new, '-f', 'raw'])
    ctx.problem(r, [] if r.out == raw and 'Largest changes' in r.err else
                ['-f raw without -o: stdout is not d.txt (%d bytes vs %d) or the table is not on '
                 'stderr' % (len(r.out), len(raw))])
    r = diff_ok(ctx, ['-q', base, new])
    ctx.problem(r, [] if not r.out and not r.err else ['-q printed something: %r %r' % (r.out[:200], r.err[:200])])
    # SVG
    svg = os.path.join(d, 'd.svg')
    r = diff_ok(ctx, ['-q', base, new, '-o', svg])
    p = []
    err = xmllint(svg)
    if err:
        p.append('not well-formed: ' + err)
    frames, _ = svg_frames(svg)
    if not frames:
        p.append('no frames in the SVG')
    else:
        root = frames[0]
        ntot = sum(s['count'] for s in dd['stacks'])
        btot = sum(s['base'] for s in dd['stacks'])
        if (root[1], root[2]) != (ntot, btot):
            p.append('root data-n %d data-b %d, the totals are %d and %d' % (root[1], root[2], ntot, btot))
        for fn, colour in (('a', 'blue'), ('b', 'red')):
            big = [f for f in frames if f[0].startswith(fn + ' (work.py') and f[1] * 20 >= root[1]]
            if not big:
                p.append('no frame of %s with 5 %% of the samples' % fn)
            for lab, n, b, (rr, gg, bb), title in big:
                m = re.search(r'; change ([+-]?[0-9.]+)%\)$', title)
                if not m or '; base ' not in title:
                    p.append('%s: no base and change in the title %r' % (lab, title))
                    continue
                ch = float(m.group(1))
                if abs(ch) < 5:
                    continue    # too small a change to say (few samples)
                ok = (bb > rr and ch < 0) if colour == 'blue' else (rr > bb and ch > 0)
                if not ok:
                    p.append('%s: fill rgb(%d,%d,%d), expected %s; title %r' % (lab, rr, gg, bb, colour, title))
    ctx.problem(r, p)
    # the diff's JSON read back by cspy report: the same JSON, the same SVG
    again, rsvg = os.path.join(d, 'again.json'), os.path.join(d, 'r.svg')
    r = ctx.cspy(['report', dj, '-f', 'json', '-o', again, '-q'])
    ctx.problem(r, [] if r.rc == 0 and load(again) == dd else
                ['cspy report of the diff\'s JSON: exit %s, %s' % (
                    r.rc, 'not the same JSON' if r.rc == 0 else r.err.strip()[:300])])
    r = ctx.cspy(['report', dj, '-o', rsvg, '-q'])
    same = False
    if r.rc == 0 and os.path.exists(rsvg):
        with open(rsvg, 'rb') as f1, open(svg, 'rb') as f2:
            same = f1.read() == f2.read()
    ctx.problem(r, [] if same else ['cspy report of the diff\'s JSON to SVG: exit %s, %s' % (
        r.rc, 'not the SVG cspy diff wrote' if r.rc == 0 else r.err.strip()[:300])])
    ctx.finish()


def check_self(ctx):
    base, _ = pair(ctx)
    d = ctx.tmpdir()
    out, svg = os.path.join(d, 's.json'), os.path.join(d, 's.svg')
    r = diff_ok(ctx, [base, base, '-f', 'json', '-o', out, '--top', '1000'])
    dd = load(out)
    p = ['stack %s: count %d, base %d' % (s['frames'], s['count'], s['base'])
         for s in dd['stacks'] if s['count'] != s['base']][:5]
    rows = table_rows(r.out)
    if not rows:
        p.append('no rows in the table:\n%s' % indent(r.out, 2))
    p += ['table: %s changed by %s' % (k, v[0]) for k, v in rows.items() if v[0] != 0][:5]
    ctx.problem(r, p)
    r = diff_ok(ctx, ['-q', base, base, '-o', svg])
    frames, _ = svg_frames(svg)
    p = ['%s: fill %s, expected the grey of no change' % (f[0], f[3])
         for f in frames[1:] if f[3] != (230, 230, 230)][:5]
    ctx.problem(r, p)
    ctx.finish()


def check_svg_chromium(ctx):
    if not shutil.which('node'):
        missing_validator('node not installed')
    if not os.path.isdir(os.path.join(REPO, 'tests', 'validate', 'node_modules', 'playwright-core')):
        missing_validator('tests/validate/node_modules/playwright-core missing (cd tests/validate && npm ci)')
    if not os.access(os.environ.get('CSPY_CHROMIUM', '/usr/bin/chromium'), os.X_OK):
        missing_validator('no Chromium at /usr/bin/chromium (CSPY_CHROMIUM)')
    base, new = pair(ctx)
    d = ctx.tmpdir()
    svg = os.path.join(d, 'd.svg')
    diff_ok(ctx, ['-q', base, new, '-o', svg])
    frames, _ = svg_frames(svg)
    total = frames[0][1]

    def matched(fn):
        return '%.2f' % (100.0 * sum(f[1] for f in frames if f[0].startswith(fn + ' (work.py')) / total)
    cmd = ['node', 'svg_check.js', svg, '--search', '^a \\(work', '--matched', matched('a'),
           '--search2', '^b \\(work', '--matched2', matched('b'), '--click', '^main ']
    p = e2elib.spawn(cmd, cwd=os.path.join(REPO, 'tests', 'validate'), stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        out, _ = p.communicate(timeout=90)
    finally:
        e2elib.end_process(p)
    if p.returncode != 0:
        raise Fail('$ %s\n  exit status %d\n%s' % (' '.join(cmd), p.returncode,
                                                   indent(clip(out.decode('utf-8', 'replace')), 2)))


def check_flamegraph_pl(ctx):
    tool = shutil.which('flamegraph.pl')
    if not tool:
        raise NA('flamegraph.pl is not on PATH (Debian has no package of it); the two-count '
                 'form is checked against the JSON by outputs')
    base, new = pair(ctx)
    d = ctx.tmpdir()
    txt, svg = os.path.join(d, 'd.txt'), os.path.join(d, 'fp.svg')
    diff_ok(ctx, ['-q', base, new, '-o', txt])
    with open(txt, 'rb') as fi, open(svg, 'wb') as fo:
        p = e2elib.spawn([tool], stdin=fi, stdout=fo, stderr=subprocess.PIPE)
        try:
            _, err = p.communicate(timeout=60)
        finally:
            e2elib.end_process(p)
    if p.returncode != 0:
        raise Fail('flamegraph.pl < d.txt: exit %d: %s' % (p.returncode, err.decode()[:500]))
    e = xmllint(svg)
    with open(svg, encoding='utf-8') as f:
        text = f.read()
    if e or 'a (work.py' not in text:
        raise Fail('flamegraph.pl\'s SVG of the raw diff: %s' % (e or 'no a (work.py frame'))


def check_native(ctx):
    v = ctx.cspy(['--version'])
    if 'native unwinding: none' in v.out:
        raise NA('this build has no native unwinding (NO_LIBDW=1)')
    d = ctx.tmpdir()
    base, new = record_both(ctx, [
        (os.path.join(d, 'base.json'), ZWORK, (NATIVE_SECONDS,), ('--native',)),
        (os.path.join(d, 'new.json'), ZWORK, (NATIVE_SECONDS,), ('--native',))])
    out = os.path.join(d, 'd.json')
    r = diff_ok(ctx, ['-q', base, new, '-f', 'json', '-o', out])
    dd = load(out)
    p = []
    nn, nb = sum(s['count'] for s in dd['stacks']), sum(s['base'] for s in dd['stacks'])
    if min(nn, nb) < 20:
        raise Fail('too few samples to compare: %d (BASE) and %d (NEW) in %s s' % (nb, nn, NATIVE_SECONDS))
    nat = [(f['name'], f['short_filename']) for f in dd['frames'] if f['kind'] == 'native']
    dup = sorted(set(x for x in nat if nat.count(x) > 1))
    if dup:
        p.append('native frames twice in the diff: %s' % dup[:5])
    own, ownb = {}, {}
    for s in dd['stacks']:
        if s['frames'] and dd['frames'][s['frames'][-1]]['kind'] == 'native':
            k = func_label(dd['frames'][s['frames'][-1]])
            own[k] = own.get(k, 0) + s['count']
            ownb[k] = ownb.get(k, 0) + s['base']
    if not own:
        p.append('no native leaf frame in the diff (zlib.compress should be one)')
    else:
        top = max(own, key=lambda k: own[k])
        if not ownb.get(top):
            p.append('the hottest native leaf %s (%d samples in NEW) has none in BASE: %s'
                     % (top, own[top], sorted(ownb.items(), key=lambda kv: -kv[1])[:5]))
    offs = [k for k in own if re.search(r'\+0x[0-9a-f]+ ', k) and own[k] and ownb.get(k)]
    used = set(i for s in dd['stacks'] for i in s['frames'])
    any_off = [dd['frames'][i]['name'] for i in used if '+0x' in dd['frames'][i]['name']]
    if any_off and not offs and not any(
            s['count'] and s['base'] for s in dd['stacks']
            if any('+0x' in dd['frames'][i]['name'] for i in s['frames'])):
        p.append('frames named by module+offset never have samples in both runs: %s' % any_off[:5])
    ctx.problem(r, p)
    ctx.finish()


def check_nolineno(ctx):
    d = ctx.tmpdir()
    sd = os.path.join(d, 'moved')
    os.mkdir(sd)
    with open(WORK) as f:
        src = f.read()
    moved = os.path.join(sd, 'work.py')
    with open(moved, 'w') as f:
        f.write('# moved\n\n\n' + src)
    # without -s: the command lines (process roots) differ by the path
    base, new = record_both(ctx, [(os.path.join(d, 'base.json'), WORK, (80, SECONDS), ()),
                                  (os.path.join(d, 'new.json'), moved, (20, SECONDS), ())])
    p = []
    o1, o2 = os.path.join(d, 'l.json'), os.path.join(d, 'n.json')
    r = diff_ok(ctx, ['-q', base, new, '-f', 'json', '-o', o1])
    dd = load(o1)
    both = [s for s in dd['stacks'] if leaf_name(dd, s) == 'a' and s['count'] and s['base']]
    if both:
        p.append('with lines, a\'s stacks of the moved code line up: %s' % both[:2])
    ctx.problem(r, p)
    r = diff_ok(ctx, ['-q', '--nolineno', base, new, '-f', 'json', '-o', o2])
    dd = load(o2)
    st = hottest(dd, 'a')
    p = []
    if not st or not st['count'] or not st['base']:
        p.append('--nolineno: the hottest a stack lacks a count: %s' % st)
    lines = [f['line'] for f in dd['frames'] if f['kind'] == 'python']
    if any(x != -1 for x in lines):
        p.append('--nolineno: Python frames with lines: %s' % sorted(set(lines))[:5])
    ctx.problem(r, p)
    ctx.finish()


HOSTILE = ['<script>alert(1)</script>', 'q"uote\'s & amp', 'semi;colon', 'new\nline\rcr',
           'ctl\x01\x1b[31mred\x7f', '\u00e9\U0001F600 \ufffe\uffff', ']]>', 'x' * 5000]


def hostile_doc(counts, pid):
    frames = [{'name': 'main', 'filename': '/h/<b>&.py', 'short_filename': '<b>&.py', 'line': 1,
               'kind': 'python'}]
    for i, n in enumerate(HOSTILE):
        frames.append({'name': n, 'filename': '/h/' + n[:20] + '.py', 'short_filename': n[:20] + '.py',
                       'line': i + 2, 'kind': 'python'})
    frames.append({'name': 'libq.so+0x1f0', 'filename': '/usr/lib/libq.so', 'short_filename': 'libq.so',
                   'line': -1, 'kind': 'native'})
    stacks = [{'thread': 0, 'frames': [0, len(frames) - 1, i + 1], 'count': c}
              for i, c in enumerate(counts) if c]
    return {'cspy': {'version': '0', 'format_version': 1},
            'meta': {'title': '<t>', 'command_line': 'h', 'python_version': '3', 'rate_hz': 100,
                     'start_unix_ns': 0, 'duration_ns': 1, 'samples': sum(counts), 'errors': 0,
                     'ticks': 0, 'gil_only': False, 'idle_included': False, 'native': True},
            'frames': frames,
            'threads': [{'pid': pid, 'tid': pid, 'name': 'MainThread', 'command_line': 'h',
                         'samples': sum(counts)}],
            'stacks': stacks}


def check_hostile(ctx):
    d = ctx.tmpdir()
    base, new = os.path.join(d, 'hb.json'), os.path.join(d, 'hn.json')
    with open(base, 'w') as f:
        json.dump(hostile_doc([5, 4, 3, 2, 1, 0, 7, 9], 11), f)
    with open(new, 'w') as f:
        json.dump(hostile_doc([1, 2, 3, 4, 5, 6, 0, 9], 22), f)
    svg, txt, js = (os.path.join(d, n) for n in ('h.svg', 'h.txt', 'h.json'))
    r = diff_ok(ctx, [base, new, '-o', svg, '--top', '100'])
    p = []
    if any(c in r.out for c in '\x01\x1b\x7f\r'):
        p.append('control characters in the table: %r' % r.out[:500])
    if len(table_rows(r.out)) < 5:
        p.append('the table has %d rows:\n%s' % (len(table_rows(r.out)), indent(r.out[:2000], 2)))
    err = xmllint(svg)
    frames, text = svg_frames(svg)
    if err:
        p.append('SVG not well-formed: ' + err)
    if '<script>alert' in text:
        p.append('markup of a name is live in the SVG')
    if len(frames) < 8:
        p.append('only %d frames in the SVG' % len(frames))
    ctx.problem(r, p)
    r = diff_ok(ctx, ['-q', base, new, '-o', txt])
    with open(txt, 'rb') as f:
        raw = f.read().decode('utf-8')
    got = parse_raw2(raw, txt)
    ctx.problem(r, [] if len(got) == 8 and sum(v[0] for v in got.values()) == 31 and
                sum(v[1] for v in got.values()) == 30 else
                ['raw: %d stacks, sums %s; expected 8 stacks, 31 and 30' % (
                    len(got), (sum(v[0] for v in got.values()), sum(v[1] for v in got.values())))])
    r = diff_ok(ctx, ['-q', base, new, '-f', 'json', '-o', js])
    names = set(f['name'] for f in load(js)['frames'])
    ctx.problem(r, [] if set(HOSTILE) <= names else
                ['JSON: names changed: %r' % sorted(set(HOSTILE) - names)[:3]])
    ctx.finish()


def check_errors(ctx):
    base, new = pair(ctx)
    d = ctx.tmpdir()
    with open(base, 'rb') as f:
        data = f.read()

    def put(name, content):
        return e2elib.write_bytes(d, name, content)
    gz, cut = e2elib.gzip_files(d, 'b.json', data, 10)
    doc = json.loads(data.decode('utf-8'))
    empty = put('zero.json', json.dumps(dict(doc, stacks=[])).encode())
    dd = dict(doc, meta=dict(doc['meta'], diff=True))
    for s in dd['stacks']:
        s['base'] = s['count']
    isdiff = put('isdiff.json', json.dumps(dd).encode())
    badutf = put('utf.json', data.replace(b'"name":"a"', b'"name":"\xff\xfea"', 1))
    bad = [
        ([os.path.join(d, 'missing.json'), new], ['missing.json', 'No such file']),
        ([put('t.txt', b'hello'), new], ['t.txt']),
        ([base, put('half.json', data[:len(data) // 2])], ['half.json']),
        ([cut, new], ['cut-b.json.gz']),
        ([put('e.json', b''), new], ['e.json']),
        ([base, badutf], ['utf.json']),
        ([empty, new], ['zero.json', 'no samples']),
        ([base, empty], ['zero.json', 'no samples']),
        ([isdiff, new], ['isdiff.json', 'differential']),
        ([base, new, '-f', 'speedscope'], ['speedscope', 'cannot show a diff', 'flamegraph']),
        ([base, new, '-o', os.path.join(d, 'x.trace.json')], ['chrometrace', 'cannot show a diff']),
        ([base, new, '-f', 'nosuch'], ['nosuch', 'flamegraph']),
        ([base, new, '-o', os.path.join(d, 'x.unknownext')], ['x.unknownext']),
        ([base, new, '-o', os.path.join(d, 'no-such-dir', 'd.svg')], ['no-such-dir']),
        ([], ['two profiles']),
        ([base], ['two profiles']),
        ([base, new, new], ['unexpected', new]),
        (['-', '-'], ['standard input']),
        (['--top', '0', base, new], ['--top']),
        (['--nosuch', base, new], ['--nosuch']),
    ]
    for args, needles in bad:
        before = set(os.listdir(d))
        t0 = time.time()
        r = ctx.cspy(['diff'] + args)
        p = []
        lines = r.err.splitlines()
        if r.rc in (0, None) or r.rc < 0 or r.rc >= 128:
            p.append('exit status %s, expected an error exit' % r.rc)
        if len(lines) != 1 or not lines[0].startswith('cspy: error: '):
            p.append('stderr: expected one "cspy: error:" line, got %r' % r.err[:800])
        elif not all(n in lines[0] for n in needles):
            p.append('the error does not name %s: %r' % (needles, lines[0]))
        if r.out:
            p.append('stdout: %r' % r.out[:300])
        if set(os.listdir(d)) - before:
            p.append('left %s behind' % sorted(set(os.listdir(d)) - before))
        if time.time() - t0 > 5:
            p.append('took %.1f s' % (time.time() - t0))
        ctx.problem(r, p)
    # BASE from standard input, the diff's JSON on standard output
    r = ctx.cspy(['diff', '-', new, '-f', 'json', '-o', '-', '-q'],
                 prefix=('sh', '-c', 'exec "$@" < "%s"' % gz, 'sh'))
    ok = r.rc == 0
    if ok:
        try:
            ok = json.loads(r.out)['meta'].get('diff') is True
        except ValueError:
            ok = False
    ctx.problem(r, [] if ok else ['BASE from stdin: exit %s, stdout %r' % (r.rc, r.out[:200])])
    ctx.finish()


PER_VERSION = [('lineup', check_lineup)]
GLOBAL = [('outputs', check_outputs), ('self', check_self), ('svg_chromium', check_svg_chromium),
          ('flamegraph_pl', check_flamegraph_pl), ('native', check_native),
          ('nolineno', check_nolineno), ('hostile', check_hostile), ('errors', check_errors)]


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('--python', action='append', metavar='VERSION',
                    help='only interpreters whose version starts with VERSION')
    ap.add_argument('-j', '--jobs', type=int, default=4, help='checks run in parallel (default 4)')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    OPTS = ap.parse_args()
    OPTS.targets_only = False
    e2elib.OPTS = OPTS
    e2elib.handle_signals()
    t0 = time.time()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons(interps, notes, OPTS.python)
    print('cspy diff end-to-end tests: %s' % e2elib.cspy_shown())
    e2elib.use_snapshot()
    e2elib.describe_interps(interps)
    sys.stdout.flush()
    results, jobs = {}, []
    default = e2elib.default_interp(interps)
    if default is not None:
        # The default interpreter's two runs alone, before anything else:
        # its lineup check also holds them to the 80/20 oracle.
        c = Ctx(default)
        try:
            pair(c)
            _quiet.add(default.label)
        except Fail:
            pass                # its checks record again and say why
        finally:
            c.close()
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
    # the default interpreter's recordings first: most checks share them
    jobs.sort(key=lambda j: (j[0] is not default, j[3] != '-'))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
        futs = dict((ex.submit(e2elib.run_one, Ctx, i, name, fn, 16), (label, name))
                    for i, name, fn, label in jobs)
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()
    labels = [i.label for i in interps]
    e2elib.print_table(results, labels, [n for n, _ in PER_VERSION if e2elib.selected(n, OPTS.k)],
                       gnames, default.label if default else None, '-')
    return e2elib.print_outcome(results, t0, [n for n, _ in PER_VERSION] + gnames, notes)


if __name__ == '__main__':
    sys.exit(main())
