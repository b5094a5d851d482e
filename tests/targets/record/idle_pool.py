# -*- coding: utf-8 -*-
"""Target (--subprocesses, many processes that wait): a parent with five
forked children, four of which wait for work that never comes (blocked in
a pipe read) while one spins in burn_child; the parent waits too.

    python idle_pool.py ORACLE_PATH

The oracle {pid, idle: [4 PIDs], busy: PID} is written once every child
runs; each child dies with the parent's SIGALRM (SAFETY_SECONDS) at the
latest. The runner ends every PID.
"""
from __future__ import print_function

import os
import signal
import time

import rec_common as rc


def burn_child():
    n = 0
    while True:
        n += 1


def wait_for_work(fd):
    while True:
        if not os.read(fd, 1):
            os._exit(0)


def main():
    path = rc.start()
    r, w = os.pipe()
    started_r, started_w = os.pipe()
    idle, busy = [], 0
    for i in range(5):
        pid = os.fork()
        if pid == 0:
            signal.alarm(rc.SAFETY_SECONDS)
            os.close(started_r)
            os.write(started_w, b'x')
            if i == 4:
                burn_child()
            wait_for_work(r)
        if i == 4:
            busy = pid
        else:
            idle.append(pid)
    for _ in range(5):
        os.read(started_r, 1)
    rc.write(path, {'idle': idle, 'busy': busy, 'extra': {'child_pids': idle + [busy]}})
    while True:
        time.sleep(rc.FOREVER)


if __name__ == '__main__':
    main()
