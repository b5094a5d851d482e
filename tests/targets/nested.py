# -*- coding: utf-8 -*-
"""Target: nested calls on the main thread, including a call split over
several lines and a frame from far_lines.py (line numbers > 1000, a
400-line gap inside one function).

    python nested.py ORACLE_PATH

Main thread: <module> -> main -> level1 -> level2 -> level3 -> far_away
-> level4, blocked in time.sleep.
"""
from __future__ import print_function

import time

import cspy_oracle as oracle
import far_lines


def level4(flag):
    oracle.here(); time.sleep(oracle.FOREVER)


def level3(n):
    return far_lines.far_away(level4)


def level2(a, b, c):
    return level3(a + b + c)


def level1():
    return level2(
        1,
        2,
        3,
    )


def main():
    path = oracle.start()
    oracle.capture(path, nthreads=1)
    level1()


if __name__ == '__main__':
    main()
