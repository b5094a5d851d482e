#!/usr/bin/env python3
"""`make bench`'s long runs (run by bench/run.py after the other cases): cspy's memory over a long record of a
thread-per-request server (the soak), and the rate record reaches with
1,000 threads.

    python3 bench/soak.py [--smoke] [--minutes M] [--python VERSION] [--out FILE]
                          [--only soak|threads1000]

Soak: tests/targets/record/churner.py (threads of 3 ms of CPU each, 4 at a
time, each a new thread with threading's default name) recorded in attach
mode at 1 kHz, `-f json`, for M minutes (default 10; --smoke: 6 seconds);
cspy's VmRSS (/proc/PID/status) is read every 10 s (--smoke: every 0.5 s).
The verdict compares the RSS at the end with the RSS after the warm-up (2
minutes; --smoke: the first fifth): "flat after warm-up" when it grew by
less than FLAT_KB. The profile's thread entries and the exited threads its
lanes hold are reported too.

threads1000: a process of 1,000 threads, each spinning 0.05 ms then
sleeping 100 ms (half a CPU in all: a few running at any moment, the
machine not saturated), recorded at 100 Hz for 10 s
(--smoke: 2 s), blocking and --nonblocking, with CSPY_STATS: the achieved
rate (samples / elapsed_s) and cspy's CPU per sample.

Prints a markdown report; without --smoke it is also written to --out
(default bench/results/soak.md). The last line is "N passed, N failed": a
case fails when it does not RUN (no samples, no profile, cspy died), never
because of a figure. Every process started is ended by PID.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'bench'))
# Processes: started in their own session and ended by PID, as in run.py.
from run import log, spawn, stop, stop_all  # noqa: E402
CHURNER = os.path.join(REPO, 'tests', 'targets', 'record', 'churner.py')
FLAT_KB = 256
THREADS1000 = r'''
import sys, threading, time
clock = getattr(time, 'perf_counter', time.time)
go = threading.Event()
def worker():
    go.wait()
    while True:
        end = clock() + 0.00005
        while clock() < end:
            pass
        time.sleep(0.1)
for i in range(1000):
    t = threading.Thread(target=worker, name='w%d' % i)
    t.daemon = True
    t.start()
go.set()
open(sys.argv[1], 'w').close()
time.sleep(3600)
'''
def build_dir():
    b = os.environ.get('BUILD') or 'build'
    return b if os.path.isabs(b) else os.path.join(REPO, b)


CSPY = os.path.join(build_dir(), 'cspy')


def python(version):
    try:
        root = subprocess.check_output(['pyenv', 'root'], universal_newlines=True).strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.environ.get('PYENV_ROOT', '')
    found = sorted(glob.glob(os.path.join(root, 'versions', version + '*', 'bin', 'python'))) if root else []
    found += sorted(glob.glob('/usr/bin/python' + version))
    return found[0] if found else None


def wait_file(path, p, timeout):
    end = time.time() + timeout
    while not os.path.exists(path):
        if p.poll() is not None or time.time() > end:
            return False
        time.sleep(0.02)
    return True


def rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def soak(py, seconds, every, warmup, tmp):
    """The soak: (markdown lines, ok, why)."""
    oracle, out, stats = (os.path.join(tmp, n) for n in ('oracle.json', 'soak.json', 'soak-stats.json'))
    target = spawn([py, CHURNER, oracle, '--seconds', seconds + 30], stdout=subprocess.DEVNULL)
    c = None
    try:
        if not wait_file(oracle, target, 30):
            return [], False, 'the churner did not start'
        c = spawn([CSPY, 'record', '--pid', target.pid, '-r', '1000', '-f', 'json', '-o', out,
                   '-d', '%g' % seconds, '--hideprogress'], stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL, env=dict(os.environ, CSPY_STATS=stats))
        t0 = time.time()
        series = []
        while c.poll() is None:
            t = time.time() - t0
            if not series or t >= series[-1][0] + every:
                r = rss_kb(c.pid)
                if r is not None and c.poll() is None:
                    series.append((t, r))
                    log('  soak %6.1f s  VmRSS %6d kB' % (t, r))
            time.sleep(min(0.2, every / 5))
        c.wait()
    finally:
        if c:
            stop(c)
        stop(target)
    try:
        with open(stats) as f:
            st = json.load(f)
        with open(out) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return [], False, 'no profile or stats: %s (cspy status %s)' % (e, c.returncode)
    if c.returncode != 0 or not st.get('samples'):
        return [], False, 'cspy status %s, %s samples' % (c.returncode, st.get('samples'))
    entries = [t for t in doc['threads'] if t['pid'] == target.pid]
    exited = sum(t.get('exited', 0) for t in entries)
    after = [r for t, r in series if t >= warmup]
    base = after[0] if after else None
    growth = series[-1][1] - base if base is not None else None
    verdict = ('flat after warm-up' if growth is not None and growth < FLAT_KB else
               'GROWS after warm-up' if growth is not None else 'too short to say')
    L = ['## Soak: a thread-per-request server recorded at 1 kHz for %s' % (
             '%.0f minutes' % (seconds / 60) if seconds >= 60 else '%g s' % seconds), '',
         '`cspy record --pid PID -r 1000 -f json -d %g` of `tests/targets/record/churner.py` (Python %s): '
         'threads of 3 ms of CPU each, 4 at a time, each a new thread. cspy\'s VmRSS every %g s.' % (
             seconds, py_version(py), every), '',
         '| time (s) | VmRSS (kB) |', '|---|---|']
    L += ['| %.1f | %d |' % (t, r) for t, r in series]
    L += ['', '- samples: %d (%.0f Hz achieved), errors: %d, cspy CPU: %.1f s, peak RSS (CSPY_STATS): %d kB' % (
              st['samples'], st['samples'] / st['elapsed_s'], st['errors'], st['cpu_s'], st['peak_rss_kb']),
          '- threads the profile holds for the target: %d entries; its lanes of exited threads hold %d threads: %s' % (
              len(entries), exited, ', '.join('"%s" (%d)' % (t['name'], t['exited']) for t in entries if t.get('exited'))),
          '- RSS after the warm-up (%g s): %s kB; at the end: %d kB; growth: %s kB (bound %d kB)' % (
              warmup, base, series[-1][1], growth, FLAT_KB),
          '- **verdict: %s**' % verdict, '']
    return L, True, ''


def py_version(py):
    try:
        return subprocess.check_output([py, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                                       universal_newlines=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return py


def threads1000(py, seconds, tmp):
    """1,000 threads at 100 Hz: (markdown lines, ok, why)."""
    script, ready = os.path.join(tmp, 't1000.py'), os.path.join(tmp, 't1000.ready')
    with open(script, 'w') as f:
        f.write(THREADS1000)
    target = spawn([py, script, ready], stdout=subprocess.DEVNULL)
    rows, why = [], ''
    try:
        if not wait_file(ready, target, 60):
            return [], False, 'the 1,000-thread target did not start'
        time.sleep(0.5)
        for mode, extra in (('blocking', []), ('--nonblocking', ['--nonblocking'])):
            stats = os.path.join(tmp, 't1000-%d.json' % len(rows))
            c = spawn([CSPY, 'record', '--pid', target.pid, '-r', '100', '-d', '%g' % seconds, '-f', 'raw',
                       '-o', os.path.join(tmp, 't1000.txt'), '--hideprogress'] + extra,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, CSPY_STATS=stats))
            try:
                c.wait(timeout=seconds + 60)
            finally:
                stop(c)
            try:
                with open(stats) as f:
                    st = json.load(f)
            except (OSError, ValueError) as e:
                why = 'no stats (%s), status %s' % (e, c.returncode)
                break
            if not st.get('samples'):
                why = 'no samples'
                break
            hz = st['samples'] / st['elapsed_s']
            rows.append('| %s | %.0f | %.0f %% | %.0f | %.2f | %.1f | %s | %s |' % (
                mode, hz, hz, st['thread_samples'] / st['samples'], st['cpu_s'] / st['elapsed_s'],
                st['cpu_s'] / st['samples'] * 1e3,
                '%.0f' % (st['paused_s'] / st['pauses'] * 1e6) if st.get('pauses') else '–',
                '%.0f' % (st['state_reads'] / float(st['samples'])) if 'state_reads' in st else '–'))
            log('  threads1000 %s: %.0f Hz' % (mode, hz))
    finally:
        stop(target)
    L = ['## 1,000 threads at 100 Hz', '',
         '`cspy record --pid PID -r 100 -d %g -f raw` of 1,000 threads (Python %s), each spinning 0.05 ms '
         'then sleeping 100 ms (half a CPU in all).' % (seconds, py_version(py)), '',
         '| mode | achieved Hz | of 100 asked | threads per sample | cspy CPU (cores) | ms per sample '
         '| held µs per pause | run-state files read per sample |',
         '|---|---|---|---|---|---|---|---|'] + rows + ['']
    return L, not why, why


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--minutes', type=float, default=10.0)
    ap.add_argument('--python', default='3.12')
    ap.add_argument('--out', default=os.path.join(REPO, 'bench', 'results', 'soak.md'))
    ap.add_argument('--only', choices=('soak', 'threads1000'))
    opts = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    py = python(opts.python)
    if not py or not os.access(CSPY, os.X_OK):
        log('no Python %s or no %s' % (opts.python, CSPY))
        print('0 passed, 1 failed')
        return 1
    tmp = tempfile.mkdtemp(prefix='cspy-soak-')
    if CSPY.startswith(REPO + os.sep):
        try:
            commit = subprocess.check_output(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'],
                                             universal_newlines=True).strip()
        except (OSError, subprocess.CalledProcessError):
            commit = '?'
        which = '%s (commit %s)' % (os.path.relpath(CSPY, REPO), commit)
    else:
        which = 'a cspy outside this checkout (BUILD)'
    passed, failed, L = 0, 0, ['# cspy soak and 1,000 threads%s' % (' (smoke run: not results)' if opts.smoke else ''),
                               '', 'Run %s, %s, load average at the start %s.' % (
                                   time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), which,
                                   open('/proc/loadavg').read().split()[0]), '']
    try:
        cases = []
        if opts.only != 'threads1000':
            seconds = 6.0 if opts.smoke else opts.minutes * 60
            cases.append(('soak', lambda: soak(py, seconds, 0.5 if opts.smoke else 10.0,
                                               seconds / 5 if opts.smoke else min(120.0, seconds / 5), tmp)))
        if opts.only != 'soak':
            cases.append(('threads1000', lambda: threads1000(py, 2.0 if opts.smoke else 10.0, tmp)))
        for name, fn in cases:
            lines, ok, why = fn()
            L += lines
            if ok:
                passed += 1
            else:
                failed += 1
                L += ['%s failed to run: %s' % (name, why), '']
                log('  FAIL %s: %s' % (name, why))
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    text = '\n'.join(L)
    print(text)
    if not opts.smoke:
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
        with open(opts.out, 'w') as f:
            f.write(text + '\n')
        print('(written to %s)' % opts.out)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
