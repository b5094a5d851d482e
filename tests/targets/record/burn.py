# -*- coding: utf-8 -*-
"""Target (attach mode: signals, SIGKILL of the target, several PIDs, legacy
command lines, unwritable output): one thread spinning forever.

    python burn.py ORACLE_PATH

MainThread: burn_outer -> burn_loop, spinning in pure Python. The oracle
(pid, tid) is written from inside burn_loop. Runs until killed.
"""
from __future__ import print_function

import rec_common as rc


def burn_loop(path):
    rc.write(path, {'tid': rc.native_tid(),
                    'functions': [rc.func_info(burn_loop), rc.func_info(burn_outer)]})
    n = 0
    while True:
        n += 1


def burn_outer(path):
    burn_loop(path)


if __name__ == '__main__':
    burn_outer(rc.start())
