# -*- coding: utf-8 -*-
"""Target of the names tier (tests/e2e/names.py): a server in miniature for
`--thread REGEX`.

    python server.py ORACLE_PATH

Threads, each waiting (sleeping) in a function of its own, so that the
functions in a profile tell which threads were kept:
  MainThread       main_wait
  janitor          janitor_wait
  dispatcher       dispatcher_loop: starts a thread per "request" every 40 ms,
                   named worker-N, which waits in handle_request for 120 ms
                   and exits (about three alive at any time)
  pending          before_rename; renamed (Thread.name = ...) to
                   "worker-renamed" RENAME_AFTER seconds after the oracle is
                   written, then waits in after_rename
  (no name)        raw_os_wait: started with _thread.start_new_thread, so it
                   has no threading name; it sets its OS name (comm) to
                   "rawos" through /proc/thread-self/comm
The oracle (JSON, written atomically once every thread runs): pid, version,
the raw thread's TID and OS name, when the rename happens. Python 2.7 and 3.
"""
from __future__ import print_function

import json
import os
import sys
import threading
import time

try:
    import _thread as thread_mod
except ImportError:              # 2.7
    import thread as thread_mod

RENAME_AFTER = 0.4
SLICE = 0.02
raw = {}


def nap():
    time.sleep(SLICE)


def main_wait():
    while True:
        nap()


def janitor_wait():
    while True:
        nap()


def handle_request(n):
    end = time.time() + 0.12
    while time.time() < end:
        nap()
    return n


def dispatcher_loop():
    n = 0
    while True:
        threading.Thread(target=handle_request, args=(n,), name='worker-%d' % n).start()
        n += 1
        time.sleep(0.04)


def before_rename(at):
    while time.time() < at[0]:
        nap()


def after_rename():
    while True:
        nap()


def renamed_thread(at):
    before_rename(at)
    threading.current_thread().name = 'worker-renamed'
    after_rename()


def raw_os_wait():
    while True:
        nap()


def raw_thread():
    tid = int(os.readlink('/proc/thread-self').split('/')[-1])
    with open('/proc/thread-self/comm', 'w') as f:
        f.write('rawos')
    with open('/proc/thread-self/comm') as f:
        raw['comm'] = f.read().strip()
    raw['tid'] = tid
    raw_os_wait()


def start(fn, name, args=()):
    t = threading.Thread(target=fn, name=name, args=args)
    t.daemon = True
    t.start()


def main():
    path = sys.argv[1]
    at = [float('inf')]
    start(janitor_wait, 'janitor')
    start(renamed_thread, 'pending', (at,))
    thread_mod.start_new_thread(raw_thread, ())
    while 'tid' not in raw:
        time.sleep(0.005)
    start(dispatcher_loop, 'dispatcher')
    time.sleep(0.1)
    now = time.time()
    at[0] = now + RENAME_AFTER
    oracle = {'pid': os.getpid(), 'version': list(sys.version_info[:3]), 'extra': {},
              'raw_tid': raw['tid'], 'raw_comm': raw['comm'], 'rename_at': at[0], 'ready': now}
    with open(path + '.tmp', 'w') as f:
        json.dump(oracle, f)
    os.rename(path + '.tmp', path)
    main_wait()


if __name__ == '__main__':
    main()
