#!/usr/bin/env python3
"""cspy's CPU per sample and achieved rate, one busy thread 22 or 300 deep,
attach, --nonblocking, for two builds side by side (issue 18's frames part).

    python3 bench/frames_cost.py [--runs 3] [--seconds 2] [--case '1 kHz'] BEFORE AFTER PYTHON...

BEFORE and AFTER are cspy binaries; each PYTHON an interpreter (a path, or a
wrapper such as tests/pythons.sh's debian-python3.14: the workload directory
is bound into its root through CSPY_CHROOT_BIND). For every interpreter and
case (cpumix and deep300, as fast as possible = -r 1000000, and 1 kHz) the
builds run in turn, RUNS times, each on a fresh workload (bench/workloads/,
started with --ready: its PID; the work starts at once). The figure is the
steady CPU per sample: CSPY_STATS (cpu_s - startup_cpu_s) / samples, cspy's
own rusage, which other processes on the machine barely move; the rate is
samples / elapsed_s; the run-state files read per sample (CSPY_STATS state_reads)
and the samples whose run state a moving frame proved (state_proofs, docs/cli.md).
Medians; the load average before and after. Markdown on stdout.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WL = os.path.join(HERE, 'workloads')
CASES = [('cpumix', 1000000, '22-deep max'), ('deep300', 1000000, '300-deep max'),
         ('cpumix', 1000, '22-deep 1 kHz'), ('deep300', 1000, '300-deep 1 kHz')]


def start(py, wl, tmp):
    ready = os.path.join(tmp, 'ready')
    if os.path.exists(ready):
        os.unlink(ready)
    env = dict(os.environ, CSPY_CHROOT_BIND=HERE)
    p = subprocess.Popen([py, os.path.join(WL, wl + '.py'), '--result', os.path.join(tmp, 'res'),
                          '--seconds', '600', '--ips', '20000000', '--ready', ready],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    end = time.time() + 30
    while not os.path.exists(ready):
        if time.time() > end or p.poll() is not None:
            p.kill()
            raise SystemExit('%s %s: no ready file' % (py, wl))
        time.sleep(0.01)
    time.sleep(0.2)
    with open(ready) as f:
        return p, json.load(f)['pid']


def one(cspy, py, wl, rate, seconds, tmp):
    p, pid = start(py, wl, tmp)
    st = os.path.join(tmp, 'stats')
    try:
        subprocess.run([cspy, 'record', '--pid', str(pid), '--nonblocking', '-r', str(rate),
                        '-d', str(seconds), '-f', 'raw', '-o', os.path.join(tmp, 'out.raw')],
                       env=dict(os.environ, CSPY_STATS=st), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True, timeout=seconds + 60)
    finally:
        p.kill()
        p.wait()
    with open(st) as f:
        s = json.load(f)
    n = s['samples']
    return ((s['cpu_s'] - s.get('startup_cpu_s', 0)) / n * 1e6, n / s['elapsed_s'], s['vm_reads'] / n,
            s.get('state_reads', 0) / n, s.get('state_proofs', 0) / n)


def version(py):
    env = dict(os.environ, CSPY_CHROOT_BIND=HERE)
    out = subprocess.run([py, '-c', 'import sys; print(sys.version.split()[0])'], env=env,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    return '%s (%s)' % (out or '?', os.path.basename(py))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seconds', type=float, default=2)
    ap.add_argument('--case', action='append', help='only cases whose name contains this (repeatable)')
    ap.add_argument('before')
    ap.add_argument('after')
    ap.add_argument('pythons', nargs='+')
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='frames_cost.')
    print('load average at start: %s' % ' '.join(open('/proc/loadavg').read().split()[:3]))
    print()
    print('| python | case | before µs/sample | after µs/sample | after/before | before rate | after rate | vm_reads/sample before, after | state reads/sample before, after | proved/sample after |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for py in a.pythons:
        label = version(py)
        for wl, rate, case in CASES:
            if a.case and not any(c in case for c in a.case):
                continue
            res = {'before': [], 'after': []}
            for _ in range(a.runs):
                for which in ('before', 'after'):
                    res[which].append(one(getattr(a, which), py, wl, rate, a.seconds, tmp))
            med = {k: [statistics.median(x[i] for x in v) for i in range(5)] for k, v in res.items()}
            b, f = med['before'], med['after']
            print('| %s | %s | %.2f | %.2f | %.2f | %.1f kHz | %.1f kHz | %.2f, %.2f | %.2f, %.2f | %.2f |' % (
                label, case, b[0], f[0], f[0] / b[0], b[1] / 1e3, f[1] / 1e3, b[2], f[2], b[3], f[3], f[4]))
            sys.stdout.flush()
    print()
    print('load average at end: %s' % ' '.join(open('/proc/loadavg').read().split()[:3]))


if __name__ == '__main__':
    main()
