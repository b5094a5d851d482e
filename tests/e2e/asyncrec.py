#!/usr/bin/env python3
"""End-to-end tests of `record --async` and `top --async` (tier asyncrec).

The target, tests/targets/asyncrec_target.py, runs tasks with a known
nesting: main gathers alpha, beta, idler and reporter (a TaskGroup of them,
with names of their own, on 3.11+); alpha and beta spin in burn_alpha
(3 ms) and burn_beta (1 ms) between awaits. It reports from inside what
the stacks must show (the running task's name and coroutine, the thread's
frames, each pending task's get_stack()) and how long each burn ran
(perf_counter). Checks, per interpreter with asyncio (3.6+; 2.7 has none,
see `no_asyncio`):

  - running: `record --async -f json` (blocking): the samples of
    burn_alpha/burn_beta sit under `<task ...alpha>` / `<task ...beta>`
    under `<task ...main>`, with main, alpha and alpha_work at the lines the
    target reports; no event-loop frame (_run_once, run_forever, _run,
    __step, run_until_complete) in a stack with a task frame; the shares of
    burn_alpha and burn_beta within SHARE_TOL of the target's own time
    accounting over the same span;
  - idle: `--async --idle --nonblocking`: the same, and every pending task
    (idler, reporter) where it waits, under main, in nearly every tick;
  - taskgroup (3.11+): the named tasks of a TaskGroup under main, with
    --threads (its root frame above the task frames).

On the default interpreter and the newest free-threaded one: two event
loops in two threads (each thread's tasks in its own lane). Once, on the
default interpreter: `--native` with `--async`; a target that
imports asyncio only after cspy attached (launch mode); a `--async`
profile rendered by `cspy report` into every format and read by the
tests/e2e/consumer_*.py modules; `top --async` in plain text (stdout not
a terminal) showing the task rows; a program without an event loop: one
note that no task was found. On 2.7: `--async` says in one note why there
are no task stacks and records the thread stacks.

On 3.6 the targets run asyncio's pure-Python tasks (CSPY_PURE_ASYNCIO=1:
_asyncio blocked), which the reader reads; `c_asyncio_36` checks that with
3.6's C _asyncio, whose tasks the reader cannot find, `--async` says so in
one note and records the thread stacks. cspy's note that the reader cannot
read an interpreter's asyncio ("--async: process N: ...") fails a check.
Python 3.6+ standard library only; the last line is "N passed, N failed".
"""
import argparse
import concurrent.futures
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                   # noqa: E402
import record as R                              # noqa: E402
from e2elib import Fail, NA                     # noqa: E402

SHARE_TOL = 0.12        # |cspy's share - the target's| of burn_alpha among the two burns
JOIN_MIN = 0.8          # the samples of a burn shown under its task: at least this share
JOIN_MIN_NB = 0.6       # ... with --nonblocking: the thread stacks and the tasks are read
                        # one after the other while the target runs (a task that moved on
                        # in between keeps its thread's stack)
LATE_MIN = 0.4          # late_import: the reader may keep the location of an asyncio
                        # found half-imported for up to a second (asked of it)
PENDING_MIN = 0.8       # --idle: a pending task's samples per tick, at least
LOOP_FRAMES = {'_run_once', 'run_forever', '_run', '__step', '_Task__step', 'run_until_complete',
               '__step_run_and_handle_result'}
RE_NOTE = re.compile(r'^cspy> --async: (.*)$', re.M)
DURATION = 1.0
RATE = 250


def start(ctx, mode='gather', *extra):
    # Python 3.6: its C _asyncio keeps its tasks where the reader cannot
    # find them (its note says so: check no_reader_36); its pure-Python
    # tasks are read, so 3.6's checks record those.
    env = {'CSPY_PURE_ASYNCIO': '1'} if ctx.interp.minor == (3, 6) else None
    t = e2elib.Ctx.start(ctx, 'asyncrec_target.py', (mode,) + extra, env=env)
    o = t.wait_ready(timeout=20, exact_tasks=False)
    return t, o


def reader_note(interp, r):
    """cspy's note that a target's asyncio cannot be read: a failure (the
    targets run tasks the reader reads: 3.6's pure-Python ones too)."""
    m = RE_NOTE.search(r.err)
    if m:
        raise Fail('$ %s\n  the asyncio reader cannot read Python %s: %s'
                   % (r.shown, interp.version, m.group(1)))


def acct(t):
    with open(t.oracle_path + '.acct') as f:
        return json.load(f)


def record(ctx, t, extra=(), d=DURATION):
    """record --async -f json of target t: (Rec, the JSON, the target's
    accounting over the recording: burn seconds by name)."""
    out = os.path.join(ctx.tmpdir(), 'p.json')
    a0 = acct(t)
    r = ctx.cspy(['record', '--async', '-f', 'json', '-o', out, '-d', d, '-r', RATE,
                  '--pid', t.pid] + list(extra))
    a1 = acct(t)
    reader_note(ctx.interp, r)
    if r.rc != 0 or not os.path.exists(out):
        raise Fail('$ %s\n  exit %d, expected 0 and the file\n  stderr: %s'
                   % (r.shown, r.rc, e2elib.clip(r.err.strip(), 1500)))
    doc = R.load_json_doc(out)
    return r, doc, {k: a1[k] - a0.get(k, 0) for k in a1}


def future_iter(f):
    """A pure-Python Future's own generator frame (Future.__await__, 3.6's
    __iter__: `yield self`), in the await chain where a coroutine awaits a
    future (a gathering one, an event's) with asyncio's pure-Python futures
    (3.6's targets); the C futures of _asyncio have no frame."""
    return (f['name'] in ('__await__', '__iter__') and
            f['filename'].replace('\\', '/').endswith('asyncio/futures.py'))


def stacks(doc, kinds=('python', 'task')):
    """[(frames root first as (name, kind, line)), count]; frames of other
    kinds (roots, native) left out, and pure-Python futures' own frames."""
    fr = doc['frames']
    res = []
    for s in doc['stacks']:
        if s['count']:
            res.append(([(fr[i]['name'], fr[i]['kind'], fr[i]['line']) for i in s['frames']
                         if fr[i]['kind'] in kinds and not future_iter(fr[i])], s['count']))
    return res


def label_ok(interp, label, coro, name=None):
    """A task frame's label for a task running coro: its own name, else an
    automatic one (3.8+) folded with the coroutine's, before 3.8 the
    coroutine's alone."""
    if name:
        return label == '<task %s>' % name
    if interp.minor >= (3, 8):
        return label == '<task Task-N: %s>' % coro
    return label == '<task %s>' % coro


def seen_line(o, which, fn):
    for name, line in o['seen'][which]['stack']:
        if name == fn:
            return line
    return None


def wait_of(o, coro):
    for w in o['waits']:
        if w['coro'] == coro:
            return w
    return None


def check_running_stacks(interp, o, doc, named=None, join_min=JOIN_MIN):
    """The burns' samples under their tasks under main; problems."""
    p = []
    main_w = wait_of(o, 'main')
    if not main_w:
        return ['the oracle has no pending main task: %s' % o['waits']]
    for which in ('alpha', 'beta'):
        burn = 'burn_' + which
        want = [('main', main_w['line']), (which, seen_line(o, which, which)),
                (which + '_work', seen_line(o, which, which + '_work')), (burn, None)]
        good = bad = 0
        example = None
        for fr, n in stacks(doc):
            names = [f[0] for f in fr]
            if burn not in names:
                continue
            # main's coroutine chain may go on below main (a TaskGroup's
            # __aexit__) before the child's task frame.
            ti = [k for k, f in enumerate(fr) if f[1] == 'task']
            ok = len(ti) == 2 and ti[0] == 0 and ti[1] >= 2 and len(fr) >= ti[1] + 4
            if ok:
                c = ti[1]
                ok = (label_ok(interp, fr[0][0], 'main')
                      and label_ok(interp, fr[c][0], which, (named or {}).get(which))
                      and fr[1][0] == 'main' and fr[1][2] == want[0][1]
                      and fr[c + 1][0] == which and fr[c + 1][2] == want[1][1]
                      and fr[c + 2][0] == which + '_work' and fr[c + 2][2] == want[2][1]
                      and fr[c + 3][0] == burn)
            if ok:
                good += n
            else:
                bad += n
                example = example or fr
        if good + bad == 0:
            # what the samples were instead (a failure seen once under load)
            top = sorted(stacks(doc), key=lambda x: -x[1])[:4]
            p.append('no sample of %s; the hottest stacks (leaf last): %s'
                     % (burn, ['%d x %s' % (n, [f[0] for f in fr][-6:]) for fr, n in top]))
        elif good < join_min * (good + bad):
            p.append('%s: %d of %d samples under <task %s> under <task main> as expected '
                     '(want at least %.0f %%); expected [<task main>, main:%s, <task %s>, %s:%s, '
                     '%s_work:%s, %s ...], e.g. got %s'
                     % (burn, good, good + bad, which, 100 * join_min, want[0][1], which, which,
                        want[1][1], which, want[2][1], burn, example))
    for fr, n in stacks(doc):
        if any(f[1] == 'task' for f in fr):
            loop = [f[0] for f in fr if f[0] in LOOP_FRAMES and f[1] == 'python']
            if loop:
                p.append('event-loop frames %s in a task stack: %s' % (loop, fr))
                break
    return p


SAN = os.environ.get('CSPY_E2E_SAN_COVER') == '1'   # a sanitizer run: timings meaningless


def shares(doc, a):
    if SAN:
        return []       # said once at the start of the run
    got = {}
    for fr, n in stacks(doc):
        for which in ('alpha', 'beta'):
            if 'burn_' + which in [f[0] for f in fr]:
                got[which] = got.get(which, 0) + n
    tot, atot = sum(got.values()), a.get('alpha', 0) + a.get('beta', 0)
    if not tot or atot <= 0:
        return ['no burn samples (%s) or no accounting (%s)' % (got, a)]
    g, w = got.get('alpha', 0) / float(tot), a['alpha'] / atot
    if abs(g - w) > SHARE_TOL:
        return ['burn_alpha\'s share of the burns\' samples %.2f, the target measured %.2f '
                '(tolerance %.2f; samples %s, seconds %s)' % (g, w, SHARE_TOL, got, a)]
    return []


def needs_asyncio(interp):
    if interp.minor < (3, 6):
        return 'Python %s has no async def (its asyncio cannot run the target)' % interp.version
    return None


def check_running(ctx):
    t, o = start(ctx)
    r, doc, a = record(ctx, t)
    ctx.fail(r, check_running_stacks(ctx.interp, o, doc) + shares(doc, a))
    ctx.finish()


def check_idle(ctx):
    t, o = start(ctx)
    r, doc, a = record(ctx, t, ['--idle', '--nonblocking'])
    p = check_running_stacks(ctx.interp, o, doc, join_min=JOIN_MIN_NB)
    ticks = doc['meta']['samples']
    main_w = wait_of(o, 'main')
    # (reporter ran when the oracle was taken: not among the waits)
    for coro, inner in (('idler', 'idle_wait'),):
        w = wait_of(o, coro)
        if not w:
            p.append('the oracle has no pending %s: %s' % (coro, o['waits']))
            continue
        n_ok = 0
        seen = []
        for fr, n in stacks(doc):
            ti = [k for k, f in enumerate(fr) if f[1] == 'task']
            if len(ti) < 2 or not label_ok(ctx.interp, fr[ti[1]][0], coro):
                continue
            seen.append(fr)
            if (ti == [0, 2] and label_ok(ctx.interp, fr[0][0], 'main')
                    and fr[1][0] == 'main' and main_w and fr[1][2] == main_w['line']
                    and len(fr) > 3 and fr[3][0] == coro and fr[3][2] == w['line']
                    and (not inner or (len(fr) > 4 and fr[4][0] == inner))):
                n_ok += n
        if n_ok < PENDING_MIN * ticks:
            p.append('pending task %s: %d samples where it waits (%s:%d, under <task main> at main:%s'
                     '%s), in %d ticks (want at least %.0f %%); its stacks: %s'
                     % (coro, n_ok, coro, w['line'], main_w and main_w['line'],
                        ', then %s' % inner if inner else '', ticks, 100 * PENDING_MIN, seen[:3]))
    ctx.fail(r, p)
    ctx.finish()


def check_taskgroup(ctx):
    """The TaskGroup's named tasks, with --threads: the thread's root frame
    stays above the task frames."""
    t, o = start(ctx, 'taskgroup')
    r, doc, a = record(ctx, t, ['--threads'])
    p = check_running_stacks(ctx.interp, o, doc, named={'alpha': 'alpha-worker', 'beta': 'beta-worker'})
    for fr, n in stacks(doc, kinds=('python', 'task', 'thread')):
        if any(f[1] == 'task' for f in fr) and (fr[0][1] != 'thread' or fr[1][1] != 'task'):
            p.append('a task stack without its thread root frame first: %s' % fr[:3])
            break
    ctx.fail(r, p)
    ctx.finish()


def check_two_loops(ctx):
    """Two event loops in two threads: each thread's running task in its
    own lane (gamma's under gamma_main in thread loop-2, alpha's under main
    in the main thread), pending tasks in their loop's lane (--idle)."""
    t, o = start(ctx, 'threads')
    # --idle: the tasks are read after the pause (as --nonblocking's, two reads)
    r, doc, a = record(ctx, t, ['--idle'])
    p = check_running_stacks(ctx.interp, o, doc, join_min=JOIN_MIN_NB)
    threads = doc['threads']
    good = bad = 0
    example = None
    fr_all = doc['frames']
    for s in doc['stacks']:
        fr = [fr_all[i] for i in s['frames'] if fr_all[i]['kind'] in ('python', 'task')]
        names = [f['name'] for f in fr]
        th = threads[s['thread']]['name']
        if 'burn_gamma' in names:
            ok = (th == 'loop-2' and len(fr) >= 5 and label_ok(ctx.interp, names[0], 'gamma_main')
                  and names[1] == 'gamma_main' and label_ok(ctx.interp, names[2], 'gamma')
                  and names[3] == 'gamma' and names[4] == 'burn_gamma')
            good, bad = good + s['count'] * ok, bad + s['count'] * (not ok)
            example = example or (None if ok else (th, names))
        if any(f['kind'] == 'task' for f in fr) and ('alpha' in names or 'main' in names) and th != 'MainThread':
            p.append('a task of the main thread\'s loop in thread %r: %s' % (th, names[:4]))
        if any(f['kind'] == 'task' for f in fr) and 'gamma_main' in names and th != 'loop-2':
            p.append('a task of loop-2 in thread %r: %s' % (th, names[:4]))
    if good < JOIN_MIN_NB * (good + bad) or not good:
        p.append('burn_gamma: %d of %d samples under <task gamma> under <task gamma_main> in thread '
                 'loop-2; e.g. %s' % (good, good + bad, example))
    ctx.fail(r, p[:6])
    ctx.finish()


def check_native(ctx):
    t, o = start(ctx)
    out = os.path.join(ctx.tmpdir(), 'n.json')
    r = ctx.cspy(['record', '--async', '--native', '-f', 'json', '-o', out, '-d', DURATION,
                  '-r', RATE, '--pid', t.pid])
    if r.rc != 0 and 'not available in this build' in r.err:
        raise NA('cspy built without libdw (NO_LIBDW=1): no --native')
    reader_note(ctx.interp, r)
    if r.rc != 0:
        raise Fail('$ %s\n  exit %d: %s' % (r.shown, r.rc, r.err.strip()[-1500:]))
    doc = R.load_json_doc(out)
    p = check_running_stacks(ctx.interp, o, doc)
    if not any(f['kind'] == 'native' for f in doc['frames']):
        p.append('no native frame in the profile')
    ctx.fail(r, p)
    ctx.finish()


LATE = '''import time
time.sleep(0.5)
import asyncio
async def late_burn():
    end = time.time() + 2.5
    while time.time() < end:
        pass
async def main():
    await asyncio.gather(late_burn())
asyncio.run(main())
'''


def check_late_import(ctx):
    """Launch mode, asyncio imported 0.5 s after the start: task stacks
    once it is."""
    d = ctx.tmpdir()
    prog = os.path.join(d, 'late.py')
    with open(prog, 'w') as f:
        f.write(LATE)
    out = os.path.join(d, 'l.json')
    r = ctx.cspy(['record', '--async', '-f', 'json', '-o', out, '-r', RATE, '--', ctx.interp.path, prog])
    reader_note(ctx.interp, r)
    if r.rc != 0 or not os.path.exists(out):
        raise Fail('$ %s\n  exit %d: %s' % (r.shown, r.rc, r.err.strip()[-1500:]))
    doc = R.load_json_doc(out)
    good = bad = 0
    for fr, n in stacks(doc):
        if 'late_burn' not in [f[0] for f in fr]:
            continue
        if (len(fr) >= 3 and label_ok(ctx.interp, fr[0][0], 'main') and fr[1][0] == 'main'
                and label_ok(ctx.interp, fr[2][0], 'late_burn')):
            good += n
        else:
            bad += n
    ctx.fail(r, [] if good and good >= LATE_MIN * (good + bad) else
             ['late_burn: %d of %d samples under <task Task-N: late_burn> under <task Task-N: main> '
              '(want at least %.0f %%)' % (good, good + bad, 100 * LATE_MIN)])
    ctx.finish()


def check_formats(ctx):
    """A --async profile through cspy report into every format, read back
    by the consumers (as record.py's `converted` check)."""
    t, o = start(ctx)
    r, doc, a = record(ctx, t, ['--idle'])
    src = os.path.join(ctx.tmpdir(), 'p.json')
    with open(src, 'w') as f:
        json.dump(doc, f)
    if not any(fr['kind'] == 'task' for fr in doc['frames']):
        raise Fail('$ %s\n  no task frame in the profile' % r.shown)
    d = ctx.tmpdir()

    def report(fmt, name):
        out = os.path.join(d, name)
        rr = ctx.cspy(['report', src, '-f', fmt, '-o', out, '-q'])
        if rr.rc != 0 or not os.path.exists(out):
            ctx.fail(rr, ['exit status %d: %s' % (rr.rc, rr.err.strip()[-500:])])
            return rr, None
        return rr, out

    rr, out = report('json', 'again.json')
    if out and R.load_json_doc(out) != R.load_json_doc(src):
        ctx.fail(rr, ['the JSON written back differs from the recorded one'])
    rr, out = report('raw', 'p.txt')
    if out:
        want, got = R.json_to_prof(doc), R.load_raw(out)
        ctx.fail(rr, [] if want.stacks == got.stacks else ['the collapsed stacks differ from the JSON\'s'])
        text = open(out).read()
        ctx.fail(rr, [] if '<task ' in text else ['no <task ...> frame in the collapsed stacks'])
    rr, out = report('flamegraph', 'p.svg')
    if out:
        err = R.xmllint(out)
        ctx.fail(rr, ['not well-formed: ' + err] if err else
                 [] if any('<task ' in x for x in R.svg_texts(out)) else ['no <task ...> in the SVG'])
    # The time-ordered formats, recorded (a saved JSON has no time order).
    for fmt, ext, want in (('speedscope', '.speedscope.json', '"<task '),
                           ('chrometrace', '.trace.json', '"cat":"task"')):
        out = os.path.join(d, 'r' + ext)
        rr = ctx.cspy(['record', '--async', '-f', fmt, '-o', out, '-d', '0.6', '-r', RATE, '--pid', t.pid])
        if rr.rc != 0 or not os.path.exists(out):
            ctx.fail(rr, ['exit status %d: %s' % (rr.rc, rr.err.strip()[-500:])])
        elif want not in open(out).read():
            ctx.fail(rr, ['no %s in the %s file' % (want, fmt)])
    for mod in R.consumer_modules():
        rr, out = report(mod.FORMAT, 'p' + mod.EXT)
        if out:
            ctx.fail(rr, ['%s (tests/e2e/%s.py): %s' % (mod.FORMAT, mod.__name__, p)
                          for p in mod.check(ctx, src, out, doc)])
    ctx.finish()


def check_top(ctx):
    """top --async, stdout not a terminal: plain text with <task ...> rows."""
    t, o = start(ctx)
    r = ctx.cspy(['top', '--async', '--pid', t.pid, '-d', '1.5', '-r', RATE])
    reader_note(ctx.interp, r)
    rows = [l for l in r.out.split('\n') if '<task ' in l]
    p = []
    if r.rc != 0:
        p.append('exit %d: %s' % (r.rc, r.err.strip()[-500:]))
    if not any('alpha' in l for l in rows) or not any('main' in l for l in rows):
        p.append('no <task ...alpha> and <task ...main> rows in the table:\n%s'
                 % e2elib.indent(e2elib.clip(r.out, 2500), 2))
    ctx.fail(r, p)
    ctx.finish()


def spin_record(ctx, note_ok, want):
    """`record --async` launching a 0.6 s spin without an event loop: the
    problems when it does not exit 0, does not give exactly one --async note
    for which note_ok(note) holds (want: what it should say), or records no
    thread stack (<module>)."""
    d = ctx.tmpdir()
    prog = os.path.join(d, 'spin.py')
    with open(prog, 'w') as f:
        f.write('import time\nt = time.time()\nwhile time.time() - t < 0.6: pass\n')
    out = os.path.join(d, 'p.json')
    r = ctx.cspy(['record', '--async', '-f', 'json', '-o', out, '--', ctx.interp.path, prog])
    notes = RE_NOTE.findall(r.err)
    p = []
    if r.rc != 0:
        p.append('exit %d, expected 0: %s' % (r.rc, r.err.strip()[-500:]))
    if len(notes) != 1 or not note_ok(notes[0]):
        p.append('expected one "cspy> --async: %s" note, got: %s' % (want, r.err.strip()[-500:]))
    if os.path.exists(out) and not any(f['name'] == '<module>' for f in R.load_json_doc(out)['frames']):
        p.append('no thread stack recorded')
    return r, p


def check_no_asyncio(ctx):
    """2.7 (no asyncio): one note, the thread stacks recorded."""
    r, p = spin_record(ctx, lambda n: True, '...')
    ctx.fail(r, p)
    ctx.finish()


def check_c_asyncio_36(ctx):
    """3.6 with its C _asyncio (whose tasks the reader cannot find): one note
    saying why, exit 0, the thread stacks recorded (burn_alpha's among them)."""
    t = e2elib.Ctx.start(ctx, 'asyncrec_target.py', ('gather',))
    t.wait_ready(timeout=20, exact_tasks=False)
    out = os.path.join(ctx.tmpdir(), 'p.json')
    r = ctx.cspy(['record', '--async', '-f', 'json', '-o', out, '-d', DURATION, '-r', RATE,
                  '--pid', t.pid])
    notes = RE_NOTE.findall(r.err)
    p = []
    if r.rc != 0:
        p.append('exit %d, expected 0: %s' % (r.rc, r.err.strip()[-500:]))
    if len(notes) != 1 or 'process %d' % t.pid not in notes[0]:
        p.append('expected one "cspy> --async: process %d: ..." note, got: %s'
                 % (t.pid, r.err.strip()[-500:]))
    if os.path.exists(out):
        doc = R.load_json_doc(out)
        if any(f['kind'] == 'task' for f in doc['frames']):
            p.append('task frames, though the note says the tasks cannot be read')
        if not any(f['name'] == 'burn_alpha' for f in doc['frames']):
            p.append('no thread stack with burn_alpha recorded')
    else:
        p.append('no output file')
    ctx.fail(r, p)
    ctx.finish()


def check_no_loop(ctx):
    """A program without an event loop: one note saying no task was found,
    the thread stacks recorded."""
    r, p = spin_record(ctx, lambda n: 'no sample found an asyncio task' in n,
                       'no sample found an asyncio task ...')
    ctx.fail(r, p)
    ctx.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN')
    ap.add_argument('--python', action='append', metavar='VERSION')
    ap.add_argument('-j', '--jobs', type=int, default=2)
    ap.add_argument('-v', '--verbose', action='store_true')
    opts = ap.parse_args()
    opts.targets_only = False
    R.OPTS = e2elib.OPTS = opts
    e2elib.handle_signals()
    t0 = time.time()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons(interps, notes, opts.python)
    print('cspy record/top --async end-to-end tests: %s' % e2elib.cspy_shown())
    e2elib.use_snapshot()
    e2elib.describe_interps(interps)
    if SAN:
        print('sanitizer run (CSPY_E2E_SAN_COVER=1): the shares against the target\'s time '
              'accounting are not checked (a slow cspy distorts the timing, as record.py\'s accuracy)')
    sys.stdout.flush()

    per = [('running', check_running, needs_asyncio),
           ('idle', check_idle, needs_asyncio),
           ('taskgroup', check_taskgroup,
            lambda i: None if i.minor >= (3, 11) else 'asyncio.TaskGroup is 3.11+'),
           ('c_asyncio_36', check_c_asyncio_36,
            lambda i: None if i.minor == (3, 6) else
            'only 3.6 has a C _asyncio the reader does not read (the other checks read it)'),
           ('no_asyncio', check_no_asyncio,
            lambda i: None if i.minor < (3, 0) else 'has asyncio (the other checks)')]
    default = e2elib.default_interp(interps)
    ft = [i for i in interps if i.free_threaded and i.supported()]
    two = set([default.label] if default else []) | set([ft[-1].label] if ft else [])
    per.append(('two_loops', check_two_loops,
                lambda i: None if i.label in two else
                'run on the default interpreter and the newest free-threaded one (%s)'
                % ', '.join(sorted(two))))
    glob = [('native', check_native), ('late_import', check_late_import),
            ('formats', check_formats), ('top', check_top), ('no_loop', check_no_loop)]
    results, jobs = {}, []
    for i in interps:
        for name, fn, na in per:
            if not e2elib.selected(name, opts.k):
                continue
            reason = 'Python %s is not supported by cspy' % i.version if not i.supported() else na(i)
            if reason:
                results[(i.label, name)] = ('n/a', reason)
            else:
                jobs.append((i, name, fn, (i.label, name)))
    gnames = [n for n, _ in glob if e2elib.selected(n, opts.k)]
    for name, fn in glob:
        if name not in gnames:
            continue
        if default is None:
            results[('-', name)] = ('n/a', 'no supported interpreter found')
        else:
            jobs.append((default, name, fn, ('-', name)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as ex:
        futs = {ex.submit(e2elib.run_one, R.Ctx, i, name, fn, 16): key for i, name, fn, key in jobs}
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()
    names = [n for n, _, _ in per if e2elib.selected(n, opts.k)]
    e2elib.print_table(results, [i.label for i in interps], names, gnames,
                       default.label if default else None, '-')
    return e2elib.print_outcome(results, t0, names + gnames, notes)


if __name__ == '__main__':
    sys.exit(main())
