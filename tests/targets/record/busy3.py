# -*- coding: utf-8 -*-
"""Target (blocking mode with several running threads): three busy threads.

    python busy3.py ORACLE_PATH

Threads "busy-0".."busy-2": outer_N -> spin_N, each spinning in pure
Python, taking turns at the GIL. MainThread: main_wait in time.sleep. The
oracle, written once all three spin: threads [{n, name, tid}]. Runs until
killed.
"""
from __future__ import print_function

import threading
import time

import rec_common as rc

_reg = rc.ThreadRegistry()
register = _reg.register


def spin_0():
    register(0)
    i = 0
    while True:
        i += 1


def spin_1():
    register(1)
    i = 0
    while True:
        i += 1


def spin_2():
    register(2)
    i = 0
    while True:
        i += 1


def outer_0():
    spin_0()


def outer_1():
    spin_1()


def outer_2():
    spin_2()


def main_wait(path):
    deadline = time.time() + 20
    while len(_reg.tids) < 3:
        if time.time() > deadline:
            raise SystemExit('threads did not start')
        time.sleep(0.01)
    time.sleep(0.2)
    rc.write(path, {'threads': [{'n': n, 'tid': t, 'name': nm} for n, (t, nm) in sorted(_reg.tids.items())]})
    time.sleep(rc.FOREVER)


def main():
    path = rc.start()
    for n, fn in enumerate((outer_0, outer_1, outer_2)):
        t = threading.Thread(target=fn, name='busy-%d' % n)
        t.daemon = True
        t.start()
    main_wait(path)


if __name__ == '__main__':
    main()
