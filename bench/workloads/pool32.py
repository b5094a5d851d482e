# -*- coding: utf-8 -*-
"""Workload: a pool of 32 Python worker processes (multiprocessing.Pool),
the many-processes case of `cspy record --subprocesses`.

    python pool32.py --ready FILE [--busy] [--seconds S] [--ips N] [--result FILE]

Server-like (the default): every 10 ms the parent hands the pool 4 short
jobs (0.5 ms of the burn loop each) and waits for them, so the 32 workers
mostly wait for work and each does a short burst now and then (about 20 %
of one core in all). --busy: 64 jobs of 5 ms always in flight, every worker
busy. The pool is warmed (every worker started and has run a job) before
the ready file is written; then it serves for S seconds of wall time
(--seconds, default 600: the driver ends it by SIGTERM) and exits; its
workers die with it (PR_SET_PDEATHSIG, set in each). --result: a JSON with
the jobs done, its wall time and the parent's CPU time (os.times).
Python 2.7 and 3.x; workers start by the interpreter's default method
(fork, or forkserver on 3.14+: the workers are then the forkserver's
children, still the parent's descendants)."""
from __future__ import division, print_function

import argparse
import ctypes
import multiprocessing
import os
import signal
import sys
import time

import wl_common as wl

NPROC = 32
PERIOD_S = 0.010
JOBS, JOB_S = 4, 0.0005                 # server-like
BUSY_JOBS, BUSY_JOB_S = 64, 0.005       # --busy


def die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def burst(n):
    i = 0
    while i < n:
        i += 1
    return i


def on_term(sig, frame):
    raise SystemExit(0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ready')
    p.add_argument('--result')
    p.add_argument('--busy', action='store_true')
    p.add_argument('--seconds', type=float, default=600.0, help='wall time to serve')
    p.add_argument('--ips', type=float, default=0)
    a = p.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(wl.SAFETY_S)
    ips = a.ips or wl.calibrate()
    jobs, job_s = (BUSY_JOBS, BUSY_JOB_S) if a.busy else (JOBS, JOB_S)
    n = int(ips * job_s)
    pool = multiprocessing.Pool(NPROC, initializer=die_with_parent)
    done = 0
    t0 = wl.clock()
    try:
        pool.map(burst, [1] * (4 * NPROC), chunksize=1)     # every worker started
        if a.ready:
            wl.write_json(a.ready, {'pid': os.getpid()})
        t0 = wl.clock()
        end = t0 + a.seconds
        if a.busy:
            pending = [pool.apply_async(burst, (n,)) for _ in range(jobs)]
            while wl.clock() < end:
                pending.pop(0).get()
                done += 1
                pending.append(pool.apply_async(burst, (n,)))
        else:
            tick = t0
            while wl.clock() < end:
                pool.map(burst, [n] * jobs, chunksize=1)
                done += jobs
                tick += PERIOD_S
                left = tick - wl.clock()
                if left > 0:
                    time.sleep(left)
                else:
                    tick = wl.clock()
    except SystemExit:
        pass
    elapsed = wl.clock() - t0
    t = os.times()
    if a.result:
        wl.write_json(a.result, {'workload': 'pool32-busy' if a.busy else 'pool32', 'processes': NPROC + 1,
                                 'jobs': done, 'elapsed_s': elapsed, 'proc_cpu_s': t[0] + t[1],
                                 'version': '%d.%d.%d' % tuple(sys.version_info[:3])})
    # Not pool.terminate(): its worker handler may start a new worker while
    # it ends the others, which then waits for a lock forever. The workers
    # die with this process (die_with_parent).
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
