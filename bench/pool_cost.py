#!/usr/bin/env python3
"""`make bench`'s many-processes case (run by bench/run.py, `--only pool32`):
what `cspy record --subprocesses` costs on a pool of 32 Python workers.

    python3 bench/pool_cost.py [--smoke] [--pythons 3.12] [--runs N] [--rate HZ]

The workload is bench/workloads/pool32.py: multiprocessing.Pool(32) serving
short jobs (server-like: 4 jobs of 0.5 ms every 10 ms, the workers mostly
wait) or `--busy` (every worker busy). cspy attaches to the parent
(`record --pid PID --subprocesses -r RATE -f raw`, blocking or
`--nonblocking`) twice on the same running pool: for D1 and for D2 seconds
(1 and 5; --smoke: 0.5 and 1.5). CSPY_STATS gives cspy's own CPU time
(rusage) and the sampling time: "% of a core" is cpu_s ÷ elapsed_s of the
D2 run (attaching to 33 processes included), "steady" the difference of the
two runs, (cpu2 − cpu1) ÷ (elapsed2 − elapsed1): what sampling costs once
attached. Medians of --runs runs (3; --smoke 1). Also: process samples per
second (one per process per tick), the share of them that were quiet (the
process used no CPU since its last sample: nothing read, see
proc/threadstate.h), per-thread run-state files read per process sample,
and in blocking mode the hold per pause (mean; median, from CSPY_STATS's
counts per microsecond up to 2,000) and the share of the pauses begun
together with other processes' (pauses_begun: see sampler/snapshot.h).

Prints a markdown table; the last line is "N passed, N failed": a case
fails when it does not RUN (cspy died, no samples), never because of a
figure. Every process started is ended by PID (the workers die with their
parent: PR_SET_PDEATHSIG).
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from async_cost import LIVE, log, python, record_stats, spawn, stop, wait_ready   # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD = os.path.join(REPO, 'bench', 'workloads', 'pool32.py')


def ips(py):
    out = subprocess.check_output([py, os.path.join(REPO, 'bench', 'workloads', 'cpumix.py'), '--calibrate'],
                                  universal_newlines=True)
    return float(out.strip())


def one(py, n_ips, busy, extra, d1, d2, rate, tmp):
    """Two recordings (d1 s, d2 s) of one running pool: their CSPY_STATS."""
    d = tempfile.mkdtemp(dir=tmp)
    ready = os.path.join(d, 'ready')
    w = spawn([py, WORKLOAD, '--ready', ready, '--ips', '%.0f' % n_ips] + (['--busy'] if busy else []),
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
    try:
        wait_ready(w, ready)
        out = []
        for secs in (d1, d2):
            rd = tempfile.mkdtemp(dir=d)
            s, _ = record_stats(w.pid, ['--subprocesses'] + extra, secs, rate, rd)
            out.append(s)
        return out
    finally:
        stop(w)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--pythons', default='3.12')
    ap.add_argument('--runs', type=int)
    ap.add_argument('--rate', type=int, default=100)
    opts = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    d1, d2 = (0.5, 1.5) if opts.smoke else (1.0, 5.0)
    runs = opts.runs or (1 if opts.smoke else 3)
    cases = [('server-like', False, 'blocking', [])]
    if not opts.smoke:
        cases += [('server-like', False, '--nonblocking', ['--nonblocking']),
                  ('busy', True, 'blocking', []), ('busy', True, '--nonblocking', ['--nonblocking'])]
    tmp = tempfile.mkdtemp(prefix='cspy-pool-cost-')
    passed = failed = 0
    L = ['| Python | pool | cspy record | runs | % of a core (with attach) | % of a core (steady) '
         '| process samples/s | quiet | state reads per process sample | hold µs (pause) '
         '| hold µs median | pauses begun together |',
         '|' + '---|' * 12]
    try:
        for minor in opts.pythons.split(','):
            py = python(minor)
            if not py:
                L.append('| %s | – | not installed |%s' % (minor, ' |' * 9))
                continue
            n_ips = ips(py)
            for pool, busy, label, extra in cases:
                name = 'Python %s, pool of 32 %s, %s' % (minor, pool, label)
                got, why = [], ''
                for _ in range(runs):
                    try:
                        got.append(one(py, n_ips, busy, extra, d1, d2, opts.rate, tmp))
                    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                        why = str(e) or 'timed out'
                        break
                if why:
                    failed += 1
                    log('  FAIL  %s: %s' % (name, why))
                    L.append('| %s | %s | %s | failed: %s |%s' % (minor, pool, label, why[:150], ' |' * 8))
                    continue
                passed += 1
                med = statistics.median
                total = med([b['cpu_s'] / b['elapsed_s'] * 100 for a, b in got])
                steady = med([(b['cpu_s'] - a['cpu_s']) / (b['elapsed_s'] - a['elapsed_s']) * 100
                              for a, b in got])
                rate = med([b['samples'] / b['elapsed_s'] for a, b in got])
                quiet = med([100.0 * b.get('quiet_samples', 0) / b['samples'] for a, b in got])
                sreads = med([float(b.get('state_reads', 0)) / b['samples'] for a, b in got])
                holds = [b['paused_s'] / b['pauses'] * 1e6 for a, b in got if b.get('pauses')]
                p50s = [b['pause_p50_us'] for a, b in got if b.get('pauses')]
                begun = [100.0 * b.get('pauses_begun', 0) / b['pauses'] for a, b in got if b.get('pauses')]
                log('  ok    %s: %.2f %% of a core (steady %.2f %%)' % (name, total, steady))
                L.append('| %s | %s | %s | %d | %.2f | %.2f | %.0f | %.0f %% | %.2f | %s | %s | %s |' % (
                    minor, pool, label, len(got), total, steady, rate, quiet, sreads,
                    '%.0f' % med(holds) if holds else '–',
                    ('%.0f' % med(p50s) + ('+' if med(p50s) >= 2000 else '')) if p50s else '–',
                    '%.0f %%' % med(begun) if begun else '–'))
    finally:
        for p in list(LIVE.values()):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    print('`record --subprocesses` on a pool of 32 workers (bench/workloads/pool32.py), %d Hz, attach, '
          '%g s and %g s runs (bench/pool_cost.py):' % (opts.rate, d1, d2))
    print('')
    print('\n'.join(L))
    print('')
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
