#!/usr/bin/env python3
"""The names tier: `--thread REGEX` and `--qualname` in record and top (and
dump --qualname, which reads names the same way).

    python3 tests/e2e/names.py [-k PATTERN] [--python VERSION] [-j JOBS] [-v]

On every interpreter found (17 on the reference machine):
  thread    tests/targets/names/server.py, a server in miniature: MainThread,
            janitor and dispatcher wait in functions of their own, the
            dispatcher starts a thread per request (worker-N, in
            handle_request for 120 ms), a thread "pending" renames itself
            (Thread.name = "worker-renamed") when the test says so, 0.3 s
            after cspy began sampling (before_rename, then after_rename: so
            the rename never falls between the read of the first sample and
            the lookup of the names it needs), and a thread without
            a threading name (_thread.start_new_thread) sets its OS name to
            "rawos" (raw_os_wait). At the same time:
            `record --idle --thread '^(worker-|rawos$)' -f json` (blocking):
            the target's functions in the profile are exactly those of the
            kept threads: handle_request, after_rename and raw_os_wait are
            there, main_wait, janitor_wait, dispatcher_loop and before_rename
            are not (a rename counts from the sample after the lookup that
            sees it; before_rename may be in one sample: when the rename
            falls between the read of the first sample, which is slow under
            sanitizers, and the lookup of its names); every thread of the profile is named worker-... (the
            lane of exited workers too), or is unnamed: the raw thread, or
            a worker caught before it entered threading._active whose OS
            name is its Thread.name (3.14+);
            `top --idle --thread '^worker-'` on a second target, stdout
            piped (plain text): handle_request is a row and no row of the
            others' functions; threading's _bootstrap is in 100% of the
            thread samples (MainThread, left out, is not in the
            denominator; at least 98%: the read of a thread that starts or
            wakes during it may miss its outer frames). Then `dump --json --thread`
            after the rename: only worker-... threads and the unnamed raw
            one, after_rename and raw_os_wait among their functions.
  qualname  tests/targets/names/qualnames.py: an inherited method called
            through two classes, a classmethod, a staticmethod, a function
            nested in it, a property getter, a private (mangled) method, a
            method of a nested class, plain functions; the target writes
            what --qualname must show (3.11+: co_qualname; before, the
            defining class it finds itself, the rule cspy follows). At the
            same time `record --qualname --idle -f json` and `top --qualname
            --idle` (plain text; a second target); then `dump --qualname
            --json`.
            record: each thread's stack (the target's frames) is exactly
            the oracle's, and Base.method, reached through Sub1 and Sub2, is
            one frame; top: the target's rows name exactly the oracle's
            functions; dump: each thread's frames are the oracle's.
Version-independent (with the newest Python 3):
  bad_regex `record`, `top`, `dump` with --thread '(': one line on stderr
            ("cspy: error: invalid --thread pattern ..."), exit 2, before
            attaching (nothing written, the target never traced).

Last line: "N passed, N failed". Processes are ended by their PID.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
from e2elib import Fail, clip, cspy, cspy_path, make_temp_dir, selected, spawn  # noqa: E402

OPTS = None
SERVER = os.path.join('names', 'server.py')
QUALNAMES = os.path.join('names', 'qualnames.py')
RECORD_S = 1.8


class Ctx(e2elib.Ctx):
    def __init__(self, interp):
        e2elib.Ctx.__init__(self, interp)
        self.dir = make_temp_dir('cspy-names-')
        self.procs = []

    def spawn(self, cmd, **kw):
        kw.setdefault('stdin', subprocess.DEVNULL)
        p = spawn(cmd, **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            e2elib.end_process(p)
        e2elib.Ctx.close(self)
        e2elib.remove_temp_dir(self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)


def run_both(ctx, record_args, top_args, triggers=(None, None), timeout=30):
    """record and top at the same time (each on a target of its own: two
    tracers cannot pause one process); both must exit 0. triggers: per
    command, a file made 0.3 s after it began sampling (record's "Sampling
    process" line, top's first table), or None. Returns (shown, stdout,
    stderr) of each."""
    runs = []
    for args, marker, trigger in ((record_args, 'Sampling process', triggers[0]),
                                  (top_args, 'Collecting samples from', triggers[1])):
        cmd = [cspy_path()] + [str(a) for a in args]
        p = ctx.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        run = {'shown': ' '.join(['cspy'] + [str(a) for a in args]), 'p': p, 'out': [], 'err': [],
               'readers': []}
        for name, stream in (('out', p.stdout), ('err', p.stderr)):
            th = threading.Thread(target=read_lines, args=(stream, run[name], marker, trigger))
            th.daemon = True
            th.start()
            run['readers'].append(th)
        runs.append(run)
    outs = []
    for run in runs:
        try:
            run['p'].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail('$ %s\n  still running after %d s' % (run['shown'], timeout))
        for th in run['readers']:
            th.join(5)
        out, err = ''.join(run['out']), ''.join(run['err'])
        if run['p'].returncode != 0:
            raise Fail('$ %s\n  exit %d\n  stderr: %s' % (run['shown'], run['p'].returncode,
                                                       clip(err.strip(), 1500)))
        outs.append((run['shown'], out, err))
    return outs


def read_lines(stream, into, marker, trigger):
    """Collect stream's lines into a list; 0.3 s after the first line with
    marker, make the file trigger (when not None)."""
    for raw in iter(stream.readline, b''):
        line = raw.decode('utf-8', 'replace')
        into.append(line)
        if trigger and marker in line:
            threading.Timer(0.3, touch, args=(trigger,)).start()
            trigger = None


def touch(path):
    open(path, 'w').close()


def profile_names(doc, filename):
    """{thread index: set of stacks (tuples of frame names innermost first,
    only the frames of filename)} of a record -f json profile."""
    frames = doc['frames']
    out = {}
    for s in doc['stacks']:
        own = [frames[f]['name'] for f in s['frames']
               if os.path.basename(frames[f]['filename']) == filename]
        out.setdefault(s['thread'], set()).add(tuple(reversed(own)))
    return out


def sample_counts(doc, filename):
    """{function name of filename: thread samples with it on the stack}."""
    frames = doc['frames']
    out = {}
    for s in doc['stacks']:
        for n in set(frames[f]['name'] for f in s['frames']
                     if os.path.basename(frames[f]['filename']) == filename):
            out[n] = out.get(n, 0) + s['count']
    return out


def top_rows(text, filename):
    """Function names of the rows of the last plain-text table that are in
    filename; and the whole last table."""
    snaps = [s for s in text.split('Collecting samples from ') if s.strip()]
    if not snaps:
        raise Fail('top printed no table:\n%s' % clip(text, 1500))
    last = snaps[-1]
    # own %, total %, own and total time, the split's %Py %Nat %Sys when the
    # profile carries it (percentages or "-"), the function (file:line)
    rows = re.findall(r'^\s*[\d.]+%\s+([\d.]+)%\s+\S+\s+\S+'
                      r'(?:\s+(?:\d+%|-)\s+(?:\d+%|-)\s+(?:\d+%|-))?\s+(.*) \((.*?):(\d+)\)$',
                      last, re.M)
    return [(name, float(total)) for total, name, f, _ in rows if f == filename], rows, last


# --------------------------------------------------------------------------

KEPT = ('handle_request', 'after_rename', 'raw_os_wait')
LEFT_OUT = ('main_wait', 'janitor_wait', 'dispatcher_loop', 'before_rename')


def check_thread(ctx):
    targets = [ctx.start(SERVER), ctx.start(SERVER)]
    pid, pid2 = [t.wait_ready(exact_tasks=False)['pid'] for t in targets]
    go = [t.oracle_path + '.go' for t in targets]      # the rename, once sampling
    out = ctx.path('thread.json')
    rec, top = run_both(
        ctx,
        ['record', '--pid', pid, '--idle', '-r', 100, '-d', RECORD_S, '--thread',
         '^(worker-|rawos$)', '-f', 'json', '-o', out],
        ['top', '--pid', pid2, '--idle', '-r', 100, '-d', RECORD_S,
         '--delay', 0.5, '--thread', '^worker-'], triggers=go)
    probs = []
    with open(out) as f:
        doc = json.load(f)
    stacks = profile_names(doc, 'server.py')
    seen = set(n for ss in stacks.values() for s in ss for n in s)
    for n in KEPT:
        if n not in seen:
            probs.append('%s (of a kept thread) is not in the profile' % n)
    counts = sample_counts(doc, 'server.py')
    for n in LEFT_OUT:
        # The sample that first looks a thread's name up was read just
        # before: a rename in between (the first sample is slow under
        # sanitizers) decides that one sample by the new name.
        if counts.get(n, 0) > (1 if n == 'before_rename' else 0):
            probs.append('%s (of a thread left out) is in the profile: %d samples'
                         % (n, counts[n]))
    for i, th in enumerate(doc['threads']):
        if not stacks.get(i):
            continue
        if th['name'] == '':
            # The raw thread; or a worker whose threading name was not
            # found (caught before it entered threading._active) and whose
            # OS name matched (3.14+ give threads their Thread.name as OS
            # name): only kept threads' functions either way.
            bad = [s for s in stacks[i] if set(s) & set(LEFT_OUT)]
            if bad:
                probs.append('an unnamed thread with a left-out function: %s' % sorted(bad)[:3])
        elif not th['name'].startswith('worker-'):
            probs.append('thread %r (tid %s) is in the profile' % (th['name'], th.get('tid')))
    if probs:
        ctx.problems.append((rec[0], probs + ['profile names: %s' % sorted(seen)]))
    probs = []
    rows, allrows, last = top_rows(top[1], 'server.py')
    names = set(n for n, _ in rows)
    if 'handle_request' not in names:
        probs.append('no handle_request row')
    for n in LEFT_OUT + ('raw_os_wait',):
        if n in names:
            probs.append('a row of %s (a thread left out)' % n)
    boot = [float(total) for total, name, f, _ in allrows
            if name.endswith('_bootstrap') and f.endswith('threading.py')]
    if not boot or max(boot) < 98:
        probs.append("threading's _bootstrap in %s%% of the thread samples, expected about 100%% "
                     "(a thread left out counted in the denominator?)" % (max(boot) if boot else 0))
    if probs:
        ctx.problems.append((top[0], probs + ['last table:\n' + e2elib.indent(clip(last, 2500), 4)]))
    res = cspy(['dump', '--pid', pid, '--json', '--thread', '^(worker-|rawos$)'])
    if res.rc != 0:
        raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, clip(res.err.strip(), 1500)))
    probs = []
    shown = json.loads(res.out)
    fns = set(f['name'] for th in shown for f in th['frames']
              if os.path.basename(f['filename']) == 'server.py')
    for th in shown:
        if th['thread_name'] is not None and not th['thread_name'].startswith('worker-'):
            probs.append('thread %r shown' % th['thread_name'])
    for n in ('after_rename', 'raw_os_wait'):
        if n not in fns:
            probs.append('%s (a kept thread\'s) not shown' % n)
    for n in LEFT_OUT:
        if n in fns:
            probs.append('%s (a thread left out) shown' % n)
    ctx.problem(res, probs)
    ctx.finish()


def check_qualname(ctx):
    targets = [ctx.start(QUALNAMES), ctx.start(QUALNAMES)]
    oracles = [t.wait_ready(exact_tasks=False) for t in targets]
    pid, pid2 = [o['pid'] for o in oracles]
    want = dict((th['name'], tuple(th['frames'])) for th in oracles[0]['threads'])
    if want != dict((th['name'], tuple(th['frames'])) for th in oracles[1]['threads']):
        raise Fail('ORACLE (test bug): two runs of %s differ' % QUALNAMES)
    deadline = time.time() + 5
    while any(len(e2elib.tasks(p)) != len(want) for p in (pid, pid2)):   # the oracle's thread exited
        if time.time() > deadline:
            raise Fail('target %d has threads %s, expected %d' % (pid, e2elib.tasks(pid), len(want)))
        time.sleep(0.01)
    out = ctx.path('qualname.json')
    rec, top = run_both(
        ctx,
        ['record', '--pid', pid, '--idle', '-r', 100, '-d', 1, '--qualname', '-f', 'json',
         '-o', out],
        ['top', '--pid', pid2, '--idle', '-r', 100, '-d', 1, '--delay', 0.5, '--qualname'])
    probs = []
    with open(out) as f:
        doc = json.load(f)
    stacks = profile_names(doc, 'qualnames.py')
    got = {}
    for i, th in enumerate(doc['threads']):
        got.setdefault(th['name'], set()).update(stacks.get(i, ()))
    for name, frames in sorted(want.items()):
        if got.get(name) != set([frames]):
            probs.append('thread %s: expected the stack %s, got %s'
                         % (name, list(frames), [list(s) for s in sorted(got.get(name, ()))]))
    base = [f for f in doc['frames'] if f['name'] == 'Base.method']
    if len(base) != 1:
        probs.append('Base.method (reached through Sub1 and Sub2) is %d frames, expected 1: %s'
                     % (len(base), base))
    if probs:
        ctx.problems.append((rec[0], probs))
    rows, _, last = top_rows(top[1], 'qualnames.py')
    expect = set(n for fr in want.values() for n in fr)
    names = set(n for n, _ in rows)
    if names != expect:
        ctx.problems.append((top[0], ['rows of qualnames.py: missing %s, unexpected %s'
                                      % (sorted(expect - names), sorted(names - expect)),
                                      'last table:\n' + e2elib.indent(clip(last, 2500), 4)]))
    res = cspy(['dump', '--pid', pid, '--qualname', '--json'])
    if res.rc != 0:
        raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, clip(res.err.strip(), 1500)))
    probs = []
    for th in json.loads(res.out):
        frames = tuple(f['name'] for f in th['frames']
                       if os.path.basename(f['filename']) == 'qualnames.py')
        if th['thread_name'] in want and frames != want[th['thread_name']]:
            probs.append('thread %s: expected %s, got %s'
                         % (th['thread_name'], list(want[th['thread_name']]), list(frames)))
    if probs:
        ctx.problems.append((res.shown, probs))
    ctx.finish()


def check_bad_regex(ctx):
    t = ctx.start(QUALNAMES)
    o = t.wait_ready(exact_tasks=False)
    pid = o['pid']
    out = ctx.path('never.json')
    for args in (['record', '--pid', pid, '-d', 1, '--thread', '(', '-o', out],
                 ['top', '--pid', pid, '-d', 1, '--thread', '('],
                 ['dump', '--pid', pid, '--thread', '(']):
        t0 = time.time()
        res = cspy(args)
        lines = res.err.strip().split('\n')
        probs = []
        if res.rc != 2:
            probs.append('exit %d, expected 2' % res.rc)
        if len(lines) != 1 or not lines[0].startswith("cspy: error: invalid --thread pattern '('"):
            probs.append('stderr: expected one line "cspy: error: invalid --thread pattern \'(\': '
                         '...", got %r' % res.err)
        if res.out.strip():
            probs.append('stdout: expected nothing, got %r' % clip(res.out, 300))
        if os.path.exists(out):
            probs.append('%s was written' % out)
        if time.time() - t0 > 0.9:
            probs.append('took %.1f s (-d 1): it sampled' % (time.time() - t0))
        ctx.problem(res, probs)
    ctx.finish()


PER_VERSION = [
    ('thread', check_thread),
    ('qualname', check_qualname),
]
GLOBAL = [
    ('bad_regex', check_bad_regex),
]


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN',
                    help='run only checks whose name contains PATTERN (or matches a glob); repeatable')
    ap.add_argument('--python', action='append', metavar='VERSION',
                    help='interpreters whose version starts with VERSION (default: all)')
    ap.add_argument('-j', '--jobs', type=int, default=6, help='checks run in parallel (default 6)')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    OPTS = e2elib.OPTS = ap.parse_args()
    OPTS.targets_only = False
    e2elib.handle_signals()
    t0 = time.time()
    print('cspy names tests (--thread, --qualname): %s' % e2elib.cspy_shown())
    interps, notes = e2elib.discover()
    chosen = e2elib.select_pythons([i for i in interps if i.supported()], notes, OPTS.python or [])
    e2elib.use_snapshot('every check fails')
    e2elib.describe_interps(chosen)
    sys.stdout.flush()
    results = {}
    jobs = []
    for i in chosen:
        for name, fn in PER_VERSION:
            if selected(name, OPTS.k):
                jobs.append((i, i.label, name, fn))
    default = e2elib.default_interp(chosen or interps)
    gnames = [n for n, _ in GLOBAL if selected(n, OPTS.k)]
    for name, fn in GLOBAL:
        if not selected(name, OPTS.k):
            continue
        if default is None:
            results[('-', name)] = ('n/a', 'no supported interpreter found')
        else:
            jobs.append((default, '-', name, fn))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
        futs = dict((ex.submit(e2elib.run_one, Ctx, i, name, fn, 10), (label, name))
                    for i, label, name, fn in jobs)
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()
    labels = [i.label for i in chosen]
    names = [n for n, _ in PER_VERSION if selected(n, OPTS.k)]
    e2elib.print_table(results, labels, names, gnames, default.label if default else None, '-')
    return e2elib.print_outcome(results, t0, names + gnames, notes)


if __name__ == '__main__':
    sys.exit(main())
