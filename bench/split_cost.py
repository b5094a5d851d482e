#!/usr/bin/env python3
"""`make bench`'s python/native/system split case (run by bench/run.py): what
classifying each active sample costs, blocking and nonblocking.

    python3 bench/split_cost.py [--smoke] [--pythons 3.12,3.14] [--seconds S] [--rate HZ]

The workload is tests/targets/split_target.py running one phase for the
whole recording: phase_python (a pure-Python loop) or phase_stat (os.stat
in a loop: a system call every few microseconds, the case where the split
says "system" most). cspy attaches (`record --pid -f raw`, RATE Hz, S
seconds; --smoke: 0.5 s) four ways: blocking and --nonblocking, each with
the split (the default) and with --no-split. CSPY_STATS gives cspy's CPU
per sample (start-up taken away: CPU per sample after the first; compared
with the --no-split run before it), cspy's own time classifying (split_s
per classified sample: a figure the machine's load hardly moves, unlike the
CPU per sample and the hold of a blocking run, which a busy machine's
scheduling of the ptrace stops moves by tens of microseconds), the stat
reads per classified sample, and the pause ("hold": paused_s / pauses). With the split, blocking reads the
registers the pause took anyway and one byte of bytecode (the innermost
instruction; in the same batched read as the stack); nonblocking reads
each active thread's /proc/PID/task/TID/stat (a kept-open descriptor) and
the same byte.

Prints a markdown table; the last line is "N passed, N failed": a case
fails when it does not RUN (cspy died, no samples), never because of a
figure. Every process started is ended by PID.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import async_cost  # noqa: E402  (its python(), spawn() and stop(): one copy)

REPO = os.path.dirname(HERE)
TARGET = os.path.join(REPO, 'tests', 'targets', 'split_target.py')
log = async_cost.log


def run(py, phase, extra, seconds, rate, tmp):
    """One recording: its CSPY_STATS, or raises RuntimeError."""
    d = tempfile.mkdtemp(dir=tmp)
    oracle = os.path.join(d, 'oracle.json')
    with open(oracle + '.go', 'w'):
        pass
    w = async_cost.spawn([py, TARGET, oracle, seconds + 30, phase], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=d)
    try:
        async_cost.wait_ready(w, oracle)
        return async_cost.record_stats(w.pid, extra, seconds, rate, d)[0]
    finally:
        async_cost.stop(w)
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
    tmp = tempfile.mkdtemp(prefix='cspy-split-cost-')
    passed = failed = 0
    L = ['| Python | workload | mode | cspy record | samples | achieved Hz | CPU µs/sample '
         '| vs --no-split | classifying µs/sample | stat reads/sample | hold µs (pause) |',
         '|' + '---|' * 11]
    try:
        for minor in (opts.pythons or ('3.12' if opts.smoke else '3.12,3.14')).split(','):
            py = async_cost.python(minor)
            if not py:
                L.append('| %s | – | – | not installed |%s' % (minor, ' |' * 7))
                continue
            for phase in ('phase_python', 'phase_stat'):
                for mode, mflags in (('blocking', []), ('nonblocking', ['--nonblocking'])):
                    base = None
                    for label, extra in (('--no-split', ['--no-split']), ('split (default)', [])):
                        name = 'Python %s, %s, %s, %s' % (minor, phase, mode, label)
                        try:
                            s = run(py, phase, mflags + extra, seconds, opts.rate, tmp)
                        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                            failed += 1
                            log('  FAIL  %s: %s' % (name, e))
                            L.append('| %s | %s | %s | %s | failed: %s |%s'
                                     % (minor, phase, mode, label, str(e)[:150], ' |' * 6))
                            continue
                        passed += 1
                        k = s['samples']
                        us = (s['cpu_s'] - s['startup_cpu_s']) / max(1, k - 1) * 1e6
                        hold = s['paused_s'] / s['pauses'] * 1e6 if s.get('pauses') else None
                        log('  ok    %s: %.1f µs/sample' % (name, us))
                        cost = '–' if base is None else '%+.1f' % (us - base)
                        if extra:
                            base = us
                        ks = s.get('split_samples', 0)
                        L.append('| %s | %s | %s | %s | %d | %.0f | %.1f | %s | %s | %s | %s |' % (
                            minor, phase, mode, label, k, k / s['elapsed_s'], us, cost,
                            '%.2f' % (s['split_s'] / ks * 1e6) if ks else '–',
                            '%.2f' % (s['split_stat_reads'] / float(ks)) if ks else '–',
                            '%.1f' % hold if hold is not None else '–'))
    finally:
        for p in list(async_cost.LIVE.values()):
            async_cost.stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    print('python/native/system split cost, %d Hz, %g s per run%s (bench/split_cost.py):'
          % (opts.rate, seconds, ', smoke run: not results' if opts.smoke else ''))
    print()
    print('\n'.join(L))
    print()
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
