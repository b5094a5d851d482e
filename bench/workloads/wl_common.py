# -*- coding: utf-8 -*-
"""Shared by the benchmark workloads (bench/workloads/*.py); Python 2.7 and 3.x.

Every workload is started as

    python WORKLOAD.py --result FILE [--seconds S] [--ips N] [--ready FILE --go FILE]

and does a FIXED amount of work: S seconds' worth of the burn loop at N
iterations per second (N comes from `--calibrate`, run once per interpreter
by bench/run.py without a profiler, so the profiled and the unprofiled runs
do exactly the same work). It times itself and writes a JSON result to
--result when done: its wall time for the work ('elapsed_s'), its process
CPU time ('proc_cpu_s', os.times), and what the workload adds (per-function
CPU time for the CPU mix). With --ready/--go (attach mode) it writes the
ready file when started, then waits until the go file exists (the driver
creates it once the profiler has attached) before it starts the work and
its clock. A SIGALRM ends a workload left behind.

    python WORKLOAD.py --calibrate     prints the burn loop's iterations/s
"""
from __future__ import division, print_function

import argparse
import json
import os
import signal
import sys
import threading
import time

clock = getattr(time, 'perf_counter', time.time)                 # 2.7: time.time
cpu_clock = getattr(time, 'process_time', None) or time.clock    # 2.7: clock() is CPU time
SAFETY_S = 1200


def burn(n):
    """The burn loop every workload uses (each leaf function has its own
    copy, so that it is the leaf frame); this one is for calibration."""
    i = 0
    while i < n:
        i += 1
    return i


def calibrate():
    n = 100000
    while True:
        t0 = cpu_clock()
        burn(n)
        dt = cpu_clock() - t0
        if dt > 0.1:
            break
        n *= 2
    best = dt
    for _ in range(2):
        t0 = cpu_clock()
        burn(n)
        best = min(best, cpu_clock() - t0)
    return n / best


def parse(extra=None):
    p = argparse.ArgumentParser()
    p.add_argument('--result')
    p.add_argument('--seconds', type=float, default=2.0,
                   help='work, in seconds of the burn loop at --ips')
    p.add_argument('--ips', type=float, default=0, help='burn-loop iterations per second')
    p.add_argument('--ready', help='attach mode: write this file when started')
    p.add_argument('--go', help='attach mode: start the work when this file exists')
    p.add_argument('--calibrate', action='store_true')
    if extra:
        extra(p)
    a = p.parse_args()
    if a.calibrate:
        print('%.0f' % calibrate())
        sys.exit(0)
    signal.alarm(SAFETY_S)
    if not a.ips:
        a.ips = calibrate()
    return a


def write_json(path, data):
    tmp = '%s.tmp%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(data, f)
    os.rename(tmp, path)


def ready_and_wait(a):
    """Attach mode: say we are ready, then wait for the go file."""
    if a.ready:
        write_json(a.ready, {'pid': os.getpid()})
    if a.go:
        end = clock() + 120
        while not os.path.exists(a.go):
            if clock() > end:
                sys.stderr.write('no go file after 120 s\n')
                sys.exit(3)
            time.sleep(0.001)


def run_released(a, worker, nthreads, prefix):
    """Start nthreads threads worker(n, start) named PREFIX0, PREFIX1, ...,
    sharing the work (n = a.ips * a.seconds / nthreads iterations each) and
    waiting on the event start; once the driver says go (ready_and_wait),
    release them and return the seconds until all have been joined."""
    per = int(a.ips * a.seconds / nthreads)
    start = threading.Event()
    ths = [threading.Thread(target=worker, args=(per, start), name='%s%d' % (prefix, i))
           for i in range(nthreads)]
    for t in ths:
        t.start()
    ready_and_wait(a)
    t0 = clock()
    start.set()
    for t in ths:
        t.join()
    return clock() - t0


def finish(a, data):
    t = os.times()
    data.setdefault('pid', os.getpid())
    data['version'] = '%d.%d.%d' % tuple(sys.version_info[:3])
    data['proc_cpu_s'] = t[0] + t[1]
    data['ips'] = a.ips
    data['seconds'] = a.seconds
    if a.result:
        write_json(a.result, data)
