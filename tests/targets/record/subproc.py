# -*- coding: utf-8 -*-
"""Target (--subprocesses): Python children forked before and after cspy
attaches, and a non-Python child.

    python subproc.py ORACLE_PATH

The parent forks child 0 (multiprocessing, 'fork'), which spins in
burn_before; starts `sleep` (not Python: cspy must skip it quietly); writes
the oracle {pid, child_before, sleep_pid}; then waits in parent_wait
(sleeping) until the file ORACLE_PATH.go exists (the runner creates it once
cspy is sampling), forks child 1, which spins in burn_after, writes
ORACLE_PATH.after {pid: child 1's PID} and sleeps in parent_wait forever.
Every child is in the parent's process group; the runner ends them by PID.
"""
from __future__ import print_function

import multiprocessing
import os
import subprocess
import time

import rec_common as rc


def burn_before():
    n = 0
    while True:
        n += 1


def burn_after():
    n = 0
    while True:
        n += 1


def child(i):
    import signal
    signal.alarm(rc.SAFETY_SECONDS)
    (burn_before, burn_after)[i]()


def parent_wait(path):
    while not os.path.exists(path):
        time.sleep(0.01)


def main():
    path = rc.start()
    if hasattr(multiprocessing, 'get_context'):
        mp = multiprocessing.get_context('fork')
    else:
        mp = multiprocessing
    c0 = mp.Process(target=child, args=(0,), name='child-before')
    c0.daemon = False
    c0.start()
    sl = subprocess.Popen(['sleep', str(rc.SAFETY_SECONDS)])
    rc.write(path, {'child_before': c0.pid, 'sleep_pid': sl.pid,
                    'extra': {'child_pids': [c0.pid, sl.pid]}})
    parent_wait(path + '.go')
    c1 = mp.Process(target=child, args=(1,), name='child-after')
    c1.daemon = False
    c1.start()
    rc.cspy_oracle.write_json(path + '.after', {'pid': c1.pid})
    parent_wait(path + '.never')


if __name__ == '__main__':
    main()
