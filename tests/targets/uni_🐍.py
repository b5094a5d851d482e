# -*- coding: utf-8 -*-
"""Target: non-ASCII function names, file name and thread name (Python 3).

    python uni_🐍.py ORACLE_PATH

Thread "поток-🐍": 日本語の関数 -> кириллица, blocked in time.sleep.
Main thread: ελληνικά, blocked in time.sleep.
(Python 2.7 has no non-ASCII identifiers: it runs uni27_🐍.py instead.)
"""
from __future__ import print_function

import threading
import time

import cspy_oracle as oracle


def кириллица():
    oracle.here(); time.sleep(oracle.FOREVER)


def 日本語の関数():
    return кириллица()


def ελληνικά():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    t = threading.Thread(target=日本語の関数, name='поток-🐍')
    t.daemon = True
    t.start()
    oracle.capture(path, nthreads=2)
    ελληνικά()


if __name__ == '__main__':
    main()
