# -*- coding: utf-8 -*-
"""Target (the times check): the main thread spinning under a deep stack,
which cspy cannot sample 100,000 times a second, so sampling falls behind.

    python deep_busy.py ORACLE_PATH DEPTH

deep() calls itself until DEPTH frames of it are on the stack; the innermost
writes the oracle and spins (spin_deep) until killed.
"""
from __future__ import print_function

import sys

import rec_common as rc


def spin_deep(path):
    rc.write(path, {'tid': rc.native_tid()})
    n = 0
    while True:
        n += 1


def deep(path, n):
    if n <= 1:
        return spin_deep(path)
    return deep(path, n - 1)


if __name__ == '__main__':
    p = rc.start()
    depth = int(sys.argv[2])
    sys.setrecursionlimit(max(1000, depth + 200))
    deep(p, depth)
