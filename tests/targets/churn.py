# -*- coding: utf-8 -*-
"""Target: threads come and go and stacks change all the time.

    python churn.py ORACLE_PATH

Threads "churner-0..2" start and join batches of 4 short-lived threads
("short-N") forever. Thread "changer" recurses to varying depths
(recurse_spin) forever. The main thread blocks in main_block. Only the main
thread's stack is stable; the oracle lists the five long-lived threads.
"""
from __future__ import print_function

import threading
import time

import cspy_oracle as oracle


def short_task(i):
    x = 0
    for k in range(2000):
        x += k
    return x


def churner():
    oracle.here()
    while True:
        ts = [threading.Thread(target=short_task, args=(i,), name='short-%d' % i)
              for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


def recurse_spin(n):
    if n:
        return recurse_spin(n - 1)
    return 0


def stack_changer():
    oracle.here()
    while True:
        for d in range(1, 60):
            recurse_spin(d)


def main_block():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    jobs = [(churner, 'churner-%d' % i) for i in range(3)] + [(stack_changer, 'changer')]
    for fn, name in jobs:
        t = threading.Thread(target=fn, name=name)
        t.daemon = True
        t.start()
    oracle.capture(path, nthreads=len(jobs) + 1, stable=False, only_registered=True)
    main_block()


if __name__ == '__main__':
    main()
