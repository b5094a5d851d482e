# -*- coding: utf-8 -*-
"""Target: keeps making progress, so a test can tell it was not left stopped.

    python progress.py ORACLE_PATH

The main thread and thread "ticker" each count; every ~10 ms the main
thread writes "MAIN TICKER" (both counters) to ORACLE_PATH.counter (via a
rename). Both threads sleep between ticks.
"""
from __future__ import print_function

import os
import threading
import time

import cspy_oracle as oracle

TICKS = [0]


def ticker():
    oracle.here()
    while True:
        TICKS[0] += 1
        time.sleep(0.005)


def tick(path):
    n = 0
    oracle.here()
    while True:
        n += 1
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d %d\n' % (n, TICKS[0]))
        os.rename(tmp, path)
        time.sleep(0.01)


def main():
    path = oracle.start()
    t = threading.Thread(target=ticker, name='ticker')
    t.daemon = True
    t.start()
    oracle.capture(path, nthreads=2, stable=False,
                   extra={'counter': path + '.counter'})
    tick(path + '.counter')


if __name__ == '__main__':
    main()
