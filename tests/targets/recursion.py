# -*- coding: utf-8 -*-
"""Target: recursion N deep on the main thread.

    python recursion.py ORACLE_PATH N

recurse() calls itself until N frames of it are on the stack, then blocks.
"""
from __future__ import print_function

import sys
import time

import cspy_oracle as oracle


def recurse(n):
    if n <= 1:
        oracle.here(); time.sleep(oracle.FOREVER)
    return recurse(n - 1) + 1


def main():
    path = oracle.start()
    depth = int(sys.argv[2])
    sys.setrecursionlimit(max(1000, depth + 200))
    oracle.capture(path, nthreads=1, extra={'depth': depth})
    recurse(depth)


if __name__ == '__main__':
    main()
