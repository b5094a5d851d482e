# -*- coding: utf-8 -*-
"""Target (--gil, --idle, --threads, formats): one busy thread, one sleeper.

    python threads_mix.py ORACLE_PATH

Thread "busy-worker": busy_outer -> busy_spin, spinning in pure Python
(runnable, holds the GIL). Thread "sleeper": sleepy_wait in time.sleep.
MainThread: main_wait in time.sleep. The oracle, written once all three are
at their place: threads [{role, name, tid}] (tid = native thread id) and the
functions' first lines. Runs until killed.
"""
from __future__ import print_function

import threading
import time

import rec_common as rc

_reg = rc.ThreadRegistry()
register = _reg.register


def busy_spin():
    register('busy')
    n = 0
    while True:
        n += 1


def busy_outer():
    busy_spin()


def sleepy_wait():
    register('sleeper')
    time.sleep(rc.FOREVER)


def main_wait(path):
    register('main')
    deadline = time.time() + 20
    while len(_reg.tids) < 3:
        if time.time() > deadline:
            raise SystemExit('threads did not start')
        time.sleep(0.01)
    time.sleep(0.2)                  # the busy thread is in its loop
    rc.write(path, {
        'threads': [{'role': r, 'tid': t, 'name': n} for r, (t, n) in sorted(_reg.tids.items())],
        'functions': [rc.func_info(f) for f in (busy_spin, busy_outer, sleepy_wait, main_wait)],
    })
    time.sleep(rc.FOREVER)


def main():
    path = rc.start()
    t = threading.Thread(target=busy_outer, name='busy-worker')
    t.daemon = True
    t.start()
    s = threading.Thread(target=sleepy_wait, name='sleeper')
    s.daemon = True
    s.start()
    main_wait(path)


if __name__ == '__main__':
    main()
