#!/usr/bin/env python3
"""`make bench`'s `record --memory` case (run by bench/run.py): what reading
the resident memory and attributing its changes costs per sample.

    python3 bench/memory_cost.py [--smoke] [--pythons 3.12,3.14] [--seconds S] [--rate HZ]

The workload (written to a temporary file, Python 2.7 and 3.x) churns
memory without end: it allocates a 33 MB bytes object (above glibc's
largest mmap threshold: mapped apart, so freeing it returns it), keeps the
last four, frees the oldest, and spins 5 ms in between, so the resident
size changes at nearly every sample. cspy attaches (`record --pid -f raw`,
RATE Hz, S seconds; --smoke: 0.5 s) four ways: blocking and --nonblocking,
each without and with --memory. CSPY_STATS gives cspy's CPU per sample
after the first (start-up taken away), mem_s (the reads of statm and the
attributions, timed inside cspy) and the bytes attributed.

Prints a markdown table; the last line is "N passed, N failed": a case
fails when it does not RUN (cspy died, no samples, --memory attributed
nothing), never because of a figure. Every process started is ended by PID.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'bench'))
from async_cost import LIVE, log, python, record_stats, spawn, stop, wait_ready   # noqa: E402

CHURN = '''import sys, time
open(sys.argv[1], 'w').close()
keep = []
while True:
    keep.append(b'x' * (33 * 1000 * 1000))
    if len(keep) > 4:
        keep.pop(0)
    end = time.time() + 0.005
    while time.time() < end:
        pass
'''


def run(py, extra, seconds, rate, tmp):
    """One recording: its CSPY_STATS, or raises RuntimeError."""
    d = tempfile.mkdtemp(dir=tmp)
    script, ready = os.path.join(d, 'churn.py'), os.path.join(d, 'ready')
    with open(script, 'w') as f:
        f.write(CHURN)
    w = spawn([py, script, ready], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
    try:
        wait_ready(w, ready)
        time.sleep(0.1)
        s = record_stats(w.pid, extra, seconds, rate, d)[0]
        if '--memory' in extra and not s.get('mem_grown'):
            raise RuntimeError('--memory attributed no growth')
        return s
    finally:
        stop(w)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--pythons', help='minor versions (default 3.12,3.14; --smoke: 3.12)')
    ap.add_argument('--seconds', type=float)
    ap.add_argument('--rate', type=int, default=1000)
    opts = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    seconds = opts.seconds or (0.5 if opts.smoke else 3.0)
    tmp = tempfile.mkdtemp(prefix='cspy-memory-cost-')
    passed = failed = 0
    L = ['| Python | cspy record | samples | achieved Hz | CPU µs/sample | --memory µs/sample '
         '(mem_s) | grown MB | shrunk MB | pending MB |',
         '|' + '---|' * 9]
    try:
        for minor in (opts.pythons or ('3.12' if opts.smoke else '3.12,3.14')).split(','):
            py = python(minor)
            if not py:
                L.append('| %s | not installed |%s' % (minor, ' |' * 7))
                continue
            for label, extra in (('blocking', []), ('blocking --memory', ['--memory']),
                                 ('--nonblocking', ['--nonblocking']),
                                 ('--nonblocking --memory', ['--nonblocking', '--memory'])):
                name = 'Python %s, %s' % (minor, label)
                try:
                    s = run(py, extra, seconds, opts.rate, tmp)
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                    failed += 1
                    log('  FAIL  %s: %s' % (name, e))
                    L.append('| %s | %s | failed: %s |%s' % (minor, label, str(e)[:150], ' |' * 6))
                    continue
                passed += 1
                k = s['samples']
                us = (s['cpu_s'] - s['startup_cpu_s']) / max(1, k - 1) * 1e6
                mem = '--memory' in extra
                log('  ok    %s: %.1f µs/sample' % (name, us))
                L.append('| %s | %s | %d | %.0f | %.1f | %s | %s | %s | %s |' % (
                    minor, label, k, k / s['elapsed_s'], us,
                    '%.2f' % (s.get('mem_s', 0) / k * 1e6) if mem else '–',
                    '%.0f' % (s.get('mem_grown', 0) / 1e6) if mem else '–',
                    '%.0f' % (s.get('mem_shrunk', 0) / 1e6) if mem else '–',
                    '%+.0f' % (s.get('mem_pending', 0) / 1e6) if mem else '–'))
    finally:
        for p in list(LIVE.values()):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    print('`record --memory` cost, %d Hz, %g s per run%s (bench/memory_cost.py):'
          % (opts.rate, seconds, ', smoke run: not results' if opts.smoke else ''))
    print()
    print('\n'.join(L))
    print()
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
