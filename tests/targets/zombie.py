# -*- coding: utf-8 -*-
"""Target: makes a zombie. Forks a child that exits at once and never waits
for it. The zombie's PID is oracle['extra']['zombie_pid'].

    python zombie.py ORACLE_PATH
"""
from __future__ import print_function

import os
import time

import cspy_oracle as oracle


def parent_block():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    oracle.capture(path, nthreads=1, extra={'zombie_pid': pid})
    parent_block()


if __name__ == '__main__':
    main()
