# -*- coding: utf-8 -*-
"""Target: 10 (or N) named threads ("worker-0" ..) plus the main thread.

    python threads10.py ORACLE_PATH [N]

Worker i recurses i times through step(), then blocks: even workers in
time.sleep (innermost frame is ours), odd workers in Event.wait() (innermost
frames are threading.py's). The main thread blocks in main_wait().
"""
from __future__ import print_function

import sys
import threading
import time

import cspy_oracle as oracle

NEVER = threading.Event()


def sleep_block(i):
    oracle.here(); time.sleep(oracle.FOREVER)


def event_block(i):
    oracle.here(); NEVER.wait()


def step(i, left):
    if left > 0:
        return step(i, left - 1)
    if i % 2 == 0:
        return sleep_block(i)
    return event_block(i)


def worker(i):
    step(i, i)


def main_wait():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    for i in range(n):
        t = threading.Thread(target=worker, args=(i,), name='worker-%d' % i)
        t.daemon = True
        t.start()
    oracle.capture(path, nthreads=n + 1)
    main_wait()


if __name__ == '__main__':
    main()
