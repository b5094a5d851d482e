# -*- coding: utf-8 -*-
"""Target: 10 named threads ("worker-0" .. "worker-9") plus the main thread.

    python threads10.py ORACLE_PATH

Worker i recurses i times through step(), then blocks: even workers in
time.sleep (innermost frame is ours), odd workers in Event.wait() (innermost
frames are threading.py's). The main thread blocks in main_wait().
"""
from __future__ import print_function

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
    for i in range(10):
        t = threading.Thread(target=worker, args=(i,), name='worker-%d' % i)
        t.daemon = True
        t.start()
    oracle.capture(path, nthreads=11)
    main_wait()


if __name__ == '__main__':
    main()
