# -*- coding: utf-8 -*-
"""Target: non-ASCII file name under Python 2.7 (whose identifiers and
thread names must be ASCII; co_filename is bytes, expected as its UTF-8
decoding). Python 3 runs uni_🐍.py instead.

    python uni27_🐍.py ORACLE_PATH

Thread "thread-snake": outer_function -> unicode_file_function.
Main thread: main_function, blocked in time.sleep.
"""
from __future__ import print_function

import threading
import time

import cspy_oracle as oracle


def unicode_file_function():
    oracle.here(); time.sleep(oracle.FOREVER)


def outer_function():
    return unicode_file_function()


def main_function():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    t = threading.Thread(target=outer_function, name='thread-snake')
    t.daemon = True
    t.start()
    oracle.capture(path, nthreads=2)
    main_function()


if __name__ == '__main__':
    main()
