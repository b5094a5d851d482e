# -*- coding: utf-8 -*-
"""Workload: 100 busy threads sharing a fixed total of work (--seconds of
burn loop, 1/100 each; with the GIL they take turns: all 100 live until
near the end). They are started first and wait on an event, so every sample
sees 101 threads. 'elapsed_s': from releasing them to joining them. See
wl_common.py."""
from __future__ import division, print_function

import wl_common as wl

NTHREADS = 100


def thread_worker(n, start):
    start.wait()
    i = 0
    while i < n:
        i += 1
    return i


def main():
    a = wl.parse()
    elapsed = wl.run_released(a, thread_worker, NTHREADS, 'w')
    wl.finish(a, {'workload': 'threads100', 'threads': NTHREADS + 1, 'elapsed_s': elapsed})

if __name__ == '__main__':
    main()
