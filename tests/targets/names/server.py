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
  pending          before_rename until the file ORACLE_PATH.go exists (the
                   test makes it once cspy samples), then renamed
                   (Thread.name = ...) to "worker-renamed"; waits in
                   after_rename
  (no name)        raw_os_wait: started with _thread.start_new_thread, so it
                   has no threading name; it sets its OS name (comm) to
                   "rawos" through /proc/thread-self/comm
The oracle (JSON, written atomically once every thread runs): pid, version,
the raw thread's TID and OS name. Python 2.7 and 3.
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

SLICE = 0.25
raw = {}

# Each thread sleeps in time.sleep straight from a function of its own: a
# function two threads share (its frame objects recycled from one thread to
# the other before 3.11) could let the torn read of a thread that wakes while
# cspy reads it (only running threads are paused) show another's frames.


def main_wait():
    while True:
        time.sleep(SLICE)


def janitor_wait():
    while True:
        time.sleep(SLICE)


def handle_request(n):
    time.sleep(0.12)
    return n


def dispatcher_loop():
    n = 0
    while True:
        threading.Thread(target=handle_request, args=(n,), name='worker-%d' % n).start()
        n += 1
        time.sleep(0.04)


def before_rename(go):
    while not os.path.exists(go):
        time.sleep(0.05)


def after_rename():
    while True:
        time.sleep(SLICE)


def renamed_thread(go):
    before_rename(go)
    threading.current_thread().name = 'worker-renamed'
    after_rename()


def raw_os_wait():
    while True:
        time.sleep(SLICE)


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
    start(janitor_wait, 'janitor')
    start(renamed_thread, 'pending', (path + '.go',))
    thread_mod.start_new_thread(raw_thread, ())
    while 'tid' not in raw:
        time.sleep(0.005)
    start(dispatcher_loop, 'dispatcher')
    time.sleep(0.1)
    oracle = {'pid': os.getpid(), 'version': list(sys.version_info[:3]), 'extra': {},
              'raw_tid': raw['tid'], 'raw_comm': raw['comm']}
    with open(path + '.tmp', 'w') as f:
        json.dump(oracle, f)
    os.rename(path + '.tmp', path)
    main_wait()


if __name__ == '__main__':
    main()
