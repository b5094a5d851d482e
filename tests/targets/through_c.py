# -*- coding: utf-8 -*-
"""Target: Python called back from C, blocked (tests/e2e/static.py).

    python through_c.py ORACLE_PATH

Main thread: <module> -> main -> outer -> sorted() (C: builtin_sorted,
the list sort) -> key function inner, blocked in time.sleep. So `dump`
shows four Python frames, and `dump --native` a C frame between inner and
outer (the sort, when the interpreter has symbols) and the C library's
sleep above inner. The oracle (cspy_oracle.py) holds the Python frames
only, as traceback.extract_stack() sees them.

Runs under Python 2.7 and 3.6+ (no f-strings).
"""
from __future__ import print_function

import time

import cspy_oracle as oracle


def inner(item):
    oracle.here(); time.sleep(oracle.FOREVER)      # noqa: E702 (one line: the oracle's line)
    return item


def outer():
    return sorted([2, 1], key=inner)


def main():
    path = oracle.start()
    oracle.capture(path, nthreads=1)
    outer()


if __name__ == '__main__':
    main()
