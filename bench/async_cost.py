#!/usr/bin/env python3
"""`make bench`'s `record --async` case (run by bench/run.py): what attributing
samples to asyncio tasks costs per sample, with 100 and 10,000 tasks.

    python3 bench/async_cost.py [--smoke] [--pythons 3.12,3.14] [--tasks 100,10000]
                                [--seconds S] [--rate HZ]

The workload is tests/targets/asyncrec_target.py in its `many N` mode: two
tasks spin in turn (burn_alpha 3 ms, burn_beta 1 ms, then an await), one
waits on an event, and N more sleep. cspy attaches (`record --pid -f raw`,
blocking, RATE Hz, S seconds; --smoke: 0.5 s) three ways: without --async
(the baseline), with --async (the running task's stack: the reader reads
the running tasks and their awaiters), and with --async --idle (every task,
each sample). CSPY_STATS gives cspy's CPU (start-up taken away: CPU per
sample after the first), the pause ("hold": paused_s / pauses, what the
target is stopped for), the task reads (how many: one per sample in which a
running thread was in an event loop; async_read_s per read: the reader's
time, in the pause without --idle, after it with --idle) and the task
stacks built from each (async_join_s per read: cspy's own), and the
joined/unjoined samples.

Prints a markdown table; the last line is "N passed, N failed": a case
fails when it does not RUN (cspy died, no samples), never because of a
figure. Every process started is ended by PID.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(REPO, 'tests', 'targets', 'asyncrec_target.py')
BUILD = os.environ.get('BUILD') or 'build'
CSPY = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD), 'cspy')
LIVE = {}


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


def stop(p):
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
            p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.kill(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    LIVE.pop(p.pid, None)


def spawn(cmd, **kw):
    p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL, start_new_session=True, **kw)
    LIVE[p.pid] = p
    return p


def python(minor):
    """$(pyenv root)/versions/MINOR.*/bin/python, else /usr/bin/pythonMINOR."""
    try:
        root = subprocess.check_output(['pyenv', 'root'], universal_newlines=True,
                                       stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.environ.get('PYENV_ROOT', '')
    c = sorted(glob.glob(os.path.join(root, 'versions', minor + '.*', 'bin', 'python'))) if root else []
    c = [p for p in c if re.search(r'/%s\.\d+/bin' % re.escape(minor), p)]
    if not c and os.access('/usr/bin/python' + minor, os.X_OK):
        c = ['/usr/bin/python' + minor]
    if not c:
        # What make pythons provisioned (tests/pythons.sh): a build of its
        # own, else Debian unstable's (run in its root, which sees the
        # repository at its own path).
        sys.path.insert(0, os.path.join(REPO, 'tests', 'e2e'))
        import e2elib
        os.environ['CSPY_CHROOT_BIND'] = REPO
        names = ('python' + minor, 'debian-python' + minor)
        c = sorted((exe for exe, _, _ in e2elib.provisioned([]) if os.path.basename(exe) in names),
                   key=lambda exe: os.path.basename(exe).startswith('debian'))
    return c[0] if c else None


def wait_ready(w, path):
    """Wait (up to 60 s) until the workload w has written path."""
    end = time.time() + 60
    while not os.path.exists(path):
        if w.poll() is not None or time.time() > end:
            raise RuntimeError('the workload did not start (status %s)' % w.poll())
        time.sleep(0.02)


def record_stats(pid, extra, seconds, rate, d):
    """cspy record --pid PID -f raw for seconds at rate with extra options
    (files in d): (its CSPY_STATS, its stderr), or raises RuntimeError when
    it failed or took no sample. Shared by the memory_cost.py and
    split_cost.py cases."""
    stats = os.path.join(d, 'stats.json')
    c = spawn([CSPY, 'record', '--pid', pid, '-r', rate, '-d', seconds, '-f', 'raw', '-o',
               os.path.join(d, 'p.txt'), '--hideprogress'] + extra,
              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
              env=dict(os.environ, CSPY_STATS=stats))
    try:
        _, err = c.communicate(timeout=seconds + 60)
    finally:
        stop(c)
    err = err.decode('utf-8', 'replace')
    if c.returncode != 0 or not os.path.exists(stats):
        raise RuntimeError('cspy status %s: %s' % (c.returncode, err[-300:]))
    with open(stats) as f:
        s = json.load(f)
    if not s.get('samples'):
        raise RuntimeError('no samples')
    return s, err


def run(py, ntasks, extra, seconds, rate, tmp):
    """One recording: its CSPY_STATS, or raises RuntimeError."""
    d = tempfile.mkdtemp(dir=tmp)
    oracle = os.path.join(d, 'oracle.json')
    w = spawn([py, TARGET, oracle, 'many', ntasks], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              cwd=d)
    try:
        wait_ready(w, oracle)
        s, err = record_stats(w.pid, extra, seconds, rate, d)
        note = re.search(r'cspy> --async: (.*)', err)
        s['note'] = note.group(1) if note else ''
        return s
    finally:
        stop(w)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--pythons', help='minor versions (default 3.12,3.14; --smoke: 3.12)')
    ap.add_argument('--tasks', default='100,10000')
    ap.add_argument('--seconds', type=float)
    ap.add_argument('--rate', type=int, default=1000)
    opts = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    seconds = opts.seconds or (0.5 if opts.smoke else 3.0)
    tmp = tempfile.mkdtemp(prefix='cspy-async-cost-')
    passed = failed = 0
    notes = []
    L = ['| Python | tasks | cspy record | samples | achieved Hz | CPU µs/sample | task reads '
         '| µs per task read | µs per join | hold µs (pause) | task stacks (joined / not) '
         '| pending-task samples |',
         '|' + '---|' * 12]
    try:
        for minor in (opts.pythons or ('3.12' if opts.smoke else '3.12,3.14')).split(','):
            py = python(minor)
            if not py:
                L.append('| %s | – | not installed | | | | | | | |' % minor)
                continue
            for n in [int(x) for x in opts.tasks.split(',')]:
                for label, extra in (('without --async', []), ('--async', ['--async']),
                                     ('--async --idle', ['--async', '--idle'])):
                    name = 'Python %s, %d tasks, %s' % (minor, n, label)
                    try:
                        s = run(py, n, extra, seconds, opts.rate, tmp)
                    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                        failed += 1
                        log('  FAIL  %s: %s' % (name, e))
                        L.append('| %s | %d | %s | failed: %s |%s' % (minor, n, label, str(e)[:150], ' |' * 8))
                        continue
                    passed += 1
                    k = s['samples']
                    us = (s['cpu_s'] - s['startup_cpu_s']) / max(1, k - 1) * 1e6
                    ar = s.get('async_reads', 0)
                    read_us = s.get('async_read_s', 0) / ar * 1e6 if ar else None
                    hold = s['paused_s'] / s['pauses'] * 1e6 if s.get('pauses') else None
                    log('  ok    %s: %.1f µs/sample%s' % (name, us, '; ' + s['note'] if s['note'] else ''))
                    join_us = s.get('async_join_s', 0) / ar * 1e6 if ar else None
                    L.append('| %s | %d | %s | %d | %.0f | %.1f | %s | %s | %s | %s | %s | %s |' % (
                        minor, n, label, k, k / s['elapsed_s'], us, ar if extra else '–',
                        '%.1f' % read_us if read_us is not None else '–',
                        '%.1f' % join_us if join_us is not None else '–',
                        '%.1f' % hold if hold is not None else '–',
                        '%d / %d' % (s.get('async_joined', 0), s.get('async_unjoined', 0)) if extra else '–',
                        s.get('async_pending', 0) if '--idle' in extra else '–'))
                    if s['note']:
                        notes.append('%s: cspy said: %s' % (name, re.sub(r'process \d+: ', '', s['note'])))
    finally:
        for p in list(LIVE.values()):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    print('`record --async` cost, blocking, %d Hz, %g s per run%s (bench/async_cost.py):'
          % (opts.rate, seconds, ', smoke run: not results' if opts.smoke else ''))
    print()
    print('\n'.join(L))
    print()
    for n in notes:
        print('- ' + n)
    if notes:
        print()
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
