# -*- coding: utf-8 -*-
"""Workload: 8 threads, 4 busy and 4 sleeping.

All 8 are started first (the busy ones wait on an event), so every sample
sees 9 threads. The 4 busy threads (busy_worker) share the work (--seconds
of burn loop in total, a quarter each; with the GIL they take turns); the 4
sleepers (sleeper) wake every 50 ms until the busy ones are done.
'elapsed_s': from releasing the busy threads to joining them. See
wl_common.py.
"""
from __future__ import division, print_function

import threading
import time

import wl_common as wl


def busy_worker(n, start):
    start.wait()
    i = 0
    while i < n:
        i += 1
    return i


def sleeper(stop):
    while not stop.is_set():
        time.sleep(0.05)


def main(nbusy=4, nsleep=4, name='threads8'):
    a = wl.parse()
    stop = threading.Event()
    sleepers = [threading.Thread(target=sleeper, args=(stop,), name='sleeper-%d' % i)
                for i in range(nsleep)]
    for t in sleepers:
        t.start()
    elapsed = wl.run_released(a, busy_worker, nbusy, 'busy-')
    stop.set()
    for t in sleepers:
        t.join()
    wl.finish(a, {'workload': name, 'threads': nbusy + nsleep + 1, 'elapsed_s': elapsed})


if __name__ == '__main__':
    main()
