# -*- coding: utf-8 -*-
"""Target: one thread busy in pure Python (holding the GIL) beside sleepers.

    python gil_busy.py ORACLE_PATH

Thread "busy": spin_outer -> spin, looping forever on ONE line (so its
innermost line is the same whenever it is sampled). Threads "sleeper-0..2"
and the main thread sleep in time.sleep. Expected: busy is active and owns
the GIL (it is the only runnable thread); sleepers are idle, without GIL.
"""
from __future__ import print_function

import threading
import time

import cspy_oracle as oracle


def spin():
    n = 0
    oracle.here()
    while True: n += 1


def spin_outer():
    spin()


def doze(i):
    oracle.here(); time.sleep(oracle.FOREVER)


def main_wait():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    for i in range(3):
        t = threading.Thread(target=doze, args=(i,), name='sleeper-%d' % i)
        t.daemon = True
        t.start()
    t = threading.Thread(target=spin_outer, name='busy')
    t.daemon = True
    t.start()
    oracle.capture(path, nthreads=5)
    main_wait()


if __name__ == '__main__':
    main()
