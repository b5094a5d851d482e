# -*- coding: utf-8 -*-
"""Target of `cspy top` (tests/e2e/top.py, times): one busy thread 300
frames deep, so that sampling at a high rate falls behind.

    python deep.py ORACLE_PATH

The main thread recurses 300 levels in dive() and spins forever in spin()
at the bottom; the oracle (pid) is written from there.

Runs under Python 2.7 and 3.6+ (no f-strings).
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cspy_oracle                                   # noqa: E402

DEPTH = 300


def spin(path):
    cspy_oracle.write_json(path, {'pid': os.getpid(), 'extra': {}, 'threads': []})
    n = 0
    while True: n += 1                    # noqa: E701


def dive(n, path):
    if n <= 1:
        return spin(path)
    return dive(n - 1, path)


def main():
    path = cspy_oracle.start()
    dive(DEPTH, path)


if __name__ == '__main__':
    main()
