#!/usr/bin/env python3
"""The asyncio tier: `cspy dump --async` on every installed CPython.

    python3 tests/e2e/asyncio_tasks.py [-k PATTERN] [--python VERSION] [-j JOBS] [-v]

(The file is not named asyncio.py: as a script its directory comes first on
sys.path, and it would shadow the standard library's asyncio.)

Each target is tests/targets/asyncio_tasks.py: it builds a scenario, parks
every task on something that never completes, and writes the ORACLE from
inside the interpreter (every task's id(), get_name(), state, loop and the
thread running it, its coroutine chain by cr_await with f_lineno, and who
awaits it by _fut_waiter / _GatheringFuture._children / TaskGroup; 3.14+:
asyncio.capture_call_graph() too). `cspy dump --async --json` must give
exactly that task set, and for each task the same name, state, chain
(function names and lines, innermost first) and awaited_by.

Checks per interpreter (3.7+; 3.6: below; 2.7: n/a, no asyncio, except
python2):
  tasks        one loop with nested chains (a -> b -> c), a task awaiting a
               task, gather() of three tasks, a TaskGroup of three (3.11+),
               a finished and a cancelled task still referenced (3.14+
               drops finished tasks from its lists: not required there),
               and 3,000 more tasks: JSON against the oracle; the dump's
               time is printed (and must stay under 10 s)
  text         the same target as text: the "asyncio: N tasks" header, one
               "Task 0x... "name" (state)" line per task with its frames,
               "awaited by" lines, the await tree
  nonblocking  --nonblocking on the same target: the same tasks
  running      a CPU-bound task spinning in its loop (never yields): state
               running, in the main thread; its outermost coroutine frame
               has the frame_addr of a frame of that thread's stack, and a
               PYASYNC_RUNNING read gives the same running task and
               awaiters as the full read (build/tools/pyasync_probe; its
               cost per read is printed, also for the tasks target)
  churn        a loop creating and finishing 20 tasks at a time, dumped 50
               times with --nonblocking: each dump exits 0 with JSON, or 1
               with one "cspy: error:" line; never a crash or a hang
  twoloops     two event loops in two threads: each task with its loop, and
               each loop with the thread running it
  pure         nested + gather with the pure-Python asyncio
               (sys.modules['_asyncio'] = None): JSON against the oracle
  core         (the representative interpreters, e2elib.REPRESENTATIVE) a
               target cored by gdb's gcore, then `dump --core FILE --async
               --json` against the oracle (--core-root for a chroot's);
               n/a on a free-threaded build (its core is about 1 GB)
  noasyncio    a Python that never imported asyncio: exit 0, the message
               "asyncio is not imported" (text) / "imported": false (JSON)
  python2      (2.7 only) dump --async of a 2.7 process: exit 1, one
               "cspy: error: ... asyncio needs Python 3" line
On 3.6 the C _asyncio keeps its tasks in C statics: `tasks` expects the
clean refusal (exit 1, one error line saying so); `pure` reads 3.6's
pure-Python asyncio (class attributes of Task).

Standard library only; every process started is ended by its PID.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2elib                                                   # noqa: E402
from e2elib import Fail, NA, Target, clip, cspy, cspy_shown, indent  # noqa: E402

OPTS = None
SCRIPT = 'asyncio_tasks.py'
MANY = 3000
COMBINED = 'nested+gather+taskgroup+done+many'
CHURN_DUMPS = 50


class Session(object):
    """One interpreter's checks; the combined target is shared by the
    checks that read it (tasks, text, nonblocking)."""

    def __init__(self, interp):
        self.interp = interp
        self.targets = []
        self.combined = None

    def start(self, scenario, args=(), script=SCRIPT):
        t = Target(self.interp, script, [scenario] + list(args) if scenario else list(args))
        self.targets.append(t)
        t.wait_ready(timeout=60, exact_tasks=False)
        return t

    def get_combined(self):
        if self.combined is None:
            self.combined = self.start(COMBINED, [MANY])
        return self.combined

    def close(self):
        for t in self.targets:
            t.close()


def need3(s):
    if s.interp.minor < (3, 0):
        raise NA('Python 2 has no asyncio (the python2 check covers it)')


def need37(s):
    need3(s)
    if s.interp.minor < (3, 7):
        raise NA("3.6's C _asyncio keeps its tasks where cspy cannot read them (the tasks "
                 "check sees that refused; pure reads 3.6)")


def run_dump(t, flags=(), as_json=True, expect_rc=0):
    args = ['dump', '--pid', t.python_pid, '--async'] + list(flags) + (['--json'] if as_json else [])
    t0 = time.time()
    res = cspy(args, timeout=60)
    res.secs = time.time() - t0
    if expect_rc is not None and res.rc != expect_rc:
        raise Fail('$ %s\n  exit status %d, expected %d\n  stderr: %s\n  stdout: %s'
                   % (res.shown, res.rc, expect_rc, clip(res.err.strip(), 2000),
                      clip(res.out, 1500)))
    left = e2elib.leftover_stops(t)
    if left:
        raise Fail('$ %s\n  cspy left the target stopped: %s' % (res.shown, left))
    if as_json and res.rc == 0:
        try:
            res.doc = json.loads(res.out)
        except ValueError as e:
            raise Fail('$ %s\n  not JSON: %s\n%s' % (res.shown, e, indent(clip(res.out), 4)))
    return res


def one_proc(res):
    doc = res.doc
    if not isinstance(doc, list) or len(doc) != 1 or 'asyncio' not in doc[0]:
        raise Fail('$ %s\n  expected an array of one process object with "asyncio": %s'
                   % (res.shown, clip(json.dumps(doc), 800)))
    return doc[0]


def expected_tasks(oracle, got=None):
    """The oracle's tasks cspy must list: 3.14+ drops a task from its lists
    when it finishes, so a finished or cancelled task there is listed only
    if cspy met it anyway (then it is compared)."""
    if tuple(oracle['version'][:2]) < (3, 14):
        return oracle['tasks']
    return [t for t in oracle['tasks']
            if t['state'] not in ('done', 'cancelled') or (got is not None and t['addr'] in got)]


def compare(oracle, proc, what):
    """Problems of cspy's process object against the oracle (a list)."""
    probs = []
    a = proc['asyncio']
    if not a.get('imported'):
        return ['%s: asyncio not read: %s' % (what, a.get('message'))]
    got = dict((t['addr'], t) for t in a['tasks'])
    want = dict((t['addr'], t) for t in expected_tasks(oracle, got))
    names = dict((k, v['name']) for k, v in want.items())

    def label(addr):
        return '%#x "%s"' % (addr, names.get(addr, got.get(addr, {}).get('name', '?')))
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing:
        probs.append('%s: %d task(s) missing: %s' % (what, len(missing),
                                                    ', '.join(label(x) for x in missing[:8])))
    if extra:
        probs.append('%s: %d task(s) not in the oracle: %s' % (what, len(extra),
                                                              ', '.join(label(x) for x in extra[:8])))
    threads = dict((l['id'], l['thread']) for l in a['loops'])
    for addr in sorted(set(want) & set(got)):
        w, g = want[addr], got[addr]
        if g.get('error'):
            probs.append('%s: task %s: error %s' % (what, label(addr), g['error']))
            continue
        if w['name'] != g['name']:
            probs.append('%s: task %s: name %r, expected %r' % (what, label(addr), g['name'], w['name']))
        if w['state'] != g['state']:
            probs.append('%s: task %s: state %s, expected %s' % (what, label(addr), g['state'], w['state']))
        wf = [tuple(f) for f in w['frames']]
        gf = [(f['name'], f['line']) for f in g['frames']]
        if wf != gf:
            probs.append('%s: task %s: chain %s, expected %s' % (what, label(addr), gf, wf))
        gb = sorted(int(x['id'], 16) for x in g['awaited_by'])
        if gb != sorted(w['awaited_by']):
            probs.append('%s: task %s: awaited by %s, expected %s'
                         % (what, label(addr), [label(x) for x in gb],
                            [label(x) for x in w['awaited_by']]))
        if w['loop'] != int(g['loop'], 16):
            probs.append('%s: task %s: loop %s, expected %#x' % (what, label(addr), g['loop'], w['loop']))
        lt = threads.get(g['loop'])
        if w.get('loop_thread') and (not lt or lt['thread_id'] != w['loop_thread']):
            probs.append('%s: task %s: its loop\'s thread %s, expected ident %s'
                         % (what, label(addr), lt, w['loop_thread']))
        if w['state'] == 'running':
            th = g.get('thread')
            if not th or th['thread_id'] != w['loop_thread']:
                probs.append('%s: running task %s: thread %s, expected ident %s'
                             % (what, label(addr), th, w['loop_thread']))
    cg = oracle.get('call_graph')
    for k, awaiters in (cg or {}).items():
        g = got.get(int(k))
        if g is None:
            continue
        gb = set(int(x['id'], 16) for x in g['awaited_by'])
        if not set(awaiters) <= gb:
            probs.append('%s: task %s: capture_call_graph says awaited by %s, cspy %s'
                         % (what, label(int(k)), [label(x) for x in awaiters],
                            [label(x) for x in sorted(gb)]))
    return probs


def probe(t, n):
    """build/tools/pyasync_probe on the target: its JSON."""
    tool = os.path.join(e2elib.REPO, os.environ.get('BUILD', 'build'), 'tools', 'pyasync_probe')
    if not os.access(tool, os.X_OK):
        raise Fail('missing %s (run make)' % tool)
    res = e2elib.run_cmd([tool, str(t.python_pid), str(n)], timeout=60)
    if res.rc != 0:
        raise Fail('$ %s\n  exit status %d: %s' % (res.shown, res.rc, res.err.strip()))
    return json.loads(res.out)


def fail_if(res, probs):
    if probs:
        raise Fail('$ %s\n%s' % (res.shown, '\n'.join('  ' + p for p in probs[:40])))


# ---- checks --------------------------------------------------------------

def check_tasks(s):
    need3(s)
    t = s.get_combined()
    if s.interp.minor < (3, 7):
        res = run_dump(t, expect_rc=1)
        errs = [l for l in res.err.splitlines() if l.startswith('cspy: error:')]
        if len(errs) != 1 or '3.6' not in errs[0] or 'pure-Python' not in errs[0]:
            raise Fail('$ %s\n  expected one error line about 3.6\'s C _asyncio, got: %s'
                       % (res.shown, res.err.strip()))
        return
    res = run_dump(t)
    fail_if(res, compare(t.oracle, one_proc(res), 'tasks'))
    n = len(t.oracle['tasks'])
    if res.secs > 10:
        raise Fail('$ %s\n  %d tasks took %.1f s (more than 10 s)' % (res.shown, n, res.secs))
    TIMES[s.interp.label] = (n, res.secs)
    pr = probe(t, 20)
    if not pr['running_consistent'] or pr['running_failed']:
        raise Fail('pyasync_probe: PYASYNC_RUNNING differs from the full read: %s' % pr)
    COSTS[s.interp.label + ' tasks'] = pr


def check_text(s):
    need37(s)
    t = s.get_combined()
    res = run_dump(t, as_json=False)
    out = res.out
    probs = []
    tasks = expected_tasks(t.oracle)
    n = len(tasks)
    m = re.search(r'^asyncio: (\d+) tasks? in (\d+) event loops?', out, re.M)
    if not m or int(m.group(1)) != n or int(m.group(2)) != 1:
        probs.append('no "asyncio: %d tasks in 1 event loop" line' % n)
    if not re.search(r'^Thread \d+ ', out, re.M):
        probs.append('the thread stacks are missing')
    blocks = {}
    cur = None
    for ln in out.splitlines():
        mm = re.match(r'^Task (0x[0-9a-f]+)(?: "(.*)")? \(([a-z]+)', ln)
        if mm:
            cur = blocks.setdefault(int(mm.group(1), 16), {'name': mm.group(2) or '',
                                                           'state': mm.group(3), 'frames': [],
                                                           'by': []})
            continue
        if cur is None:
            continue
        mm = re.match(r'^    awaited by task (0x[0-9a-f]+)', ln)
        if mm:
            cur['by'].append(int(mm.group(1), 16))
            continue
        mm = re.match(r'^    (\S+) \((.+):(\d+)\)$', ln)
        if mm:
            cur['frames'].append((mm.group(1), int(mm.group(3))))
            continue
        cur = None
    for w in tasks:
        b = blocks.get(w['addr'])
        if b is None:
            probs.append('task %#x "%s" not shown' % (w['addr'], w['name']))
            continue
        if b['name'] != w['name'] or b['state'] != w['state']:
            probs.append('task %#x: shown as "%s" (%s), expected "%s" (%s)'
                         % (w['addr'], b['name'], b['state'], w['name'], w['state']))
        if b['frames'] != [tuple(f) for f in w['frames']]:
            probs.append('task %#x "%s": frames %s, expected %s'
                         % (w['addr'], w['name'], b['frames'], w['frames']))
        if sorted(b['by']) != sorted(w['awaited_by']):
            probs.append('task %#x "%s": awaited by %s, expected %s'
                         % (w['addr'], w['name'], b['by'], w['awaited_by']))
    if 'Await tree' not in out:
        probs.append('no await tree')
    else:
        tree = out[out.index('Await tree'):]
        for w in tasks:
            for a in w['awaited_by']:
                if not re.search(r'\[%#x\]' % a, tree):
                    probs.append('await tree: no %#x' % a)
                    break
        if t.oracle['tasks'] and 'gather-parent' in out:
            # a gathered task sits under the gather parent, one level down
            if not re.search(r'^gather-parent \[.*\n(?:.*\n)*?[\u251c\u2514]\u2500\u2500 gathered-0 ',
                             tree, re.M):
                probs.append('await tree: gathered-0 not under gather-parent')
    fail_if(res, probs)


def check_nonblocking(s):
    need37(s)
    t = s.get_combined()
    res = run_dump(t, flags=['--nonblocking'])
    fail_if(res, compare(t.oracle, one_proc(res), 'nonblocking'))


def check_running(s):
    need37(s)
    t = s.start('running')
    res = run_dump(t)
    proc = one_proc(res)
    probs = compare(t.oracle, proc, 'running')
    run = [x for x in proc['asyncio']['tasks'] if x['state'] == 'running']
    if len(run) != 1:
        probs.append('expected one running task, got %d' % len(run))
    else:
        outer = run[0]['frames'][-1] if run[0]['frames'] else None
        main = [th for th in proc['threads'] if th['thread_id'] == run[0]['thread']['thread_id']] \
            if run[0].get('thread') else []
        if not main:
            probs.append('the running task\'s thread is not among the threads')
        elif outer is None:
            probs.append('the running task has no frames')
        else:
            # the thread's frames: the same coroutine frame, by name
            names = [f['name'] for f in main[0]['frames']]
            if outer['name'] not in names:
                probs.append('the running task\'s frame %s is not on its thread\'s stack %s'
                             % (outer['name'], names))
    fail_if(res, probs)
    # The join record/top --async make: the running task's outermost
    # coroutine frame is a frame of its thread's stack, by frame_addr
    # (build/tools/pyasync_probe, in one pause); and the PYASYNC_RUNNING
    # read gives the full read's running task and its awaiters.
    pr = probe(t, 50)
    if len(pr['running']) != 1 or not pr['running'][0]['in_thread_stack']:
        raise Fail('pyasync_probe: the running task\'s outer frame is not in its thread\'s '
                   'stack: %s' % pr)
    if not pr['running_consistent'] or pr['running_failed']:
        raise Fail('pyasync_probe: PYASYNC_RUNNING differs from the full read: %s' % pr)
    COSTS[s.interp.label + ' running'] = pr


def check_churn(s):
    need37(s)
    t = s.start('churn')
    bad = []
    ok = 0
    for i in range(CHURN_DUMPS):
        res = run_dump(t, flags=['--nonblocking'], expect_rc=None)
        if res.rc == 0:
            try:
                proc = json.loads(res.out)[0]
                assert proc['asyncio']['imported']
                ok += 1
            except Exception as e:
                bad.append('dump %d: exit 0 but bad JSON (%s)' % (i, e))
        elif res.rc == 1:
            errs = [l for l in res.err.splitlines() if l.strip()]
            if len(errs) != 1 or not errs[0].startswith('cspy: error:'):
                bad.append('dump %d: exit 1 with %r' % (i, res.err.strip()))
        else:
            bad.append('dump %d: exit status %d: %s' % (i, res.rc, res.err.strip()[-300:]))
    if not ok:
        bad.append('no dump of %d succeeded' % CHURN_DUMPS)
    if bad:
        raise Fail('\n'.join(bad[:10]))


def check_twoloops(s):
    need37(s)
    t = s.start('twoloops')
    res = run_dump(t)
    proc = one_proc(res)
    probs = compare(t.oracle, proc, 'twoloops')
    loops = proc['asyncio']['loops']
    if len(loops) != 2 or len(set(l['thread']['thread_id'] for l in loops if l['thread'])) != 2:
        probs.append('expected two loops in two threads: %s' % loops)
    fail_if(res, probs)


def check_pure(s):
    need3(s)
    t = s.start('pure')
    if t.oracle.get('c_asyncio'):
        raise Fail('the target still uses the C _asyncio')
    res = run_dump(t)
    fail_if(res, compare(t.oracle, one_proc(res), 'pure'))


def check_core(s):
    need37(s)
    why = e2elib.on_representative(s.interp)
    if why:
        raise NA(why)
    if s.interp.free_threaded:
        raise NA('gcore of a free-threaded build writes about 1 GB (the core tier covers '
                 'dump --core there)')
    if not shutil.which('gcore'):
        raise NA('gcore (gdb) is not installed')
    t = s.start('nested+gather+taskgroup+done', [10])
    prefix = os.path.join(t.dir, 'core')
    r = subprocess.run(['gcore', '-o', prefix, str(t.python_pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    path = '%s.%d' % (prefix, t.python_pid)
    if r.returncode != 0 or not os.path.exists(path):
        raise Fail('gcore -o %s %d failed (status %d):\n%s'
                   % (prefix, t.python_pid, r.returncode, indent(clip(r.stdout, 1500), 2)))
    try:
        root = ['--core-root', s.interp.root] if s.interp.root else []
        res = cspy(['dump', '--core', path, '--async', '--json'] + root, timeout=60)
        if res.rc != 0:
            raise Fail('$ %s\n  exit status %d: %s' % (res.shown, res.rc, res.err.strip()))
        res.doc = json.loads(res.out)
        fail_if(res, compare(t.oracle, one_proc(res), 'core'))
    finally:
        os.unlink(path)


def check_noasyncio(s):
    need3(s)
    t = s.start('none')
    if t.oracle.get('asyncio'):
        raise NA('this interpreter imports asyncio at start-up')
    res = run_dump(t, as_json=False)
    if 'asyncio is not imported' not in res.out:
        raise Fail('$ %s\n  no "asyncio is not imported" in:\n%s' % (res.shown, indent(clip(res.out), 4)))
    res = run_dump(t)
    a = one_proc(res)['asyncio']
    if a['imported'] or a['tasks'] or 'not imported' not in (a['message'] or ''):
        raise Fail('$ %s\n  expected "imported": false and a message: %s' % (res.shown, a))


def check_python2(s):
    if s.interp.minor >= (3, 0):
        raise NA('Python 3: the other checks cover it')
    t = Target(s.interp, 'nested.py')
    s.targets.append(t)
    t.wait_ready()
    for js in (False, True):
        res = run_dump(t, as_json=js, expect_rc=1)
        errs = [l for l in res.err.splitlines() if l.strip()]
        if len(errs) != 1 or not errs[0].startswith('cspy: error:') or 'needs Python 3' not in errs[0]:
            raise Fail('$ %s\n  expected one "cspy: error: ... needs Python 3" line, got %r'
                       % (res.shown, res.err))
        if res.out.strip() not in ('', '[]'):
            raise Fail('$ %s\n  expected no output, got %s' % (res.shown, clip(res.out, 500)))


CHECKS = [('tasks', check_tasks), ('text', check_text), ('nonblocking', check_nonblocking),
          ('running', check_running), ('churn', check_churn), ('twoloops', check_twoloops),
          ('pure', check_pure), ('core', check_core), ('noasyncio', check_noasyncio),
          ('python2', check_python2)]
TIMES = {}
COSTS = {}


def run_checks(interp, checks, results):
    s = Session(interp)
    label = interp.label
    try:
        for name, fn in checks:
            results[(label, name)] = e2elib.run_on(s, label, name, fn, 12)
    finally:
        s.close()


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('--python', action='append', metavar='VERSION', help='only these interpreters')
    ap.add_argument('-j', '--jobs', type=int, default=3, help='interpreters tested in parallel (default 3)')
    ap.add_argument('-v', '--verbose', action='store_true')
    OPTS = ap.parse_args()
    e2elib.OPTS = argparse.Namespace(targets_only=False, verbose=OPTS.verbose, k=OPTS.k)
    e2elib.handle_signals()
    t0 = time.time()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons(interps, notes, OPTS.python)
    print('cspy dump --async end-to-end tests: %s' % cspy_shown())
    e2elib.use_snapshot()
    e2elib.describe_interps(interps)
    e2elib.choose_representative(interps, every=bool(OPTS.python))
    results = {}
    checks = [(n, fn) for n, fn in CHECKS if e2elib.selected(n, OPTS.k)]
    todo = []
    for interp in interps:
        if not interp.supported():
            for n, _ in checks:
                results[(interp.label, n)] = ('n/a', 'Python %s is not supported by cspy' % interp.version)
        elif checks:
            todo.append(interp)
    # The slowest first (Debian's chroot, free-threaded), so the pool ends together.
    todo.sort(key=lambda i: (not i.root, not i.free_threaded))
    with concurrent.futures.ThreadPoolExecutor(max(1, OPTS.jobs)) as ex:
        for f in [ex.submit(run_checks, i, checks, results) for i in todo]:
            f.result()
    labels = [i.label for i in interps]
    e2elib.print_table(results, labels, [n for n, _ in checks], [], None, '-')
    if TIMES:
        print()
        print('dump --async of the tasks target (tasks, seconds): ' +
              ', '.join('%s %d %.2f' % (l, n, secs) for l, (n, secs) in sorted(TIMES.items())))
    if COSTS:
        print('PYASYNC_RUNNING read (build/tools/pyasync_probe, us per read; tasks in the '
              'process): ' + ', '.join('%s %.0f (%d)' % (k, v['running_us'], v['tasks'])
                                       for k, v in sorted(COSTS.items())))
    return e2elib.print_outcome(results, t0, [n for n, _ in CHECKS], notes)


if __name__ == '__main__':
    sys.exit(main())
