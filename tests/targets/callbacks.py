# -*- coding: utf-8 -*-
"""Target: Python called back from C, code compiled at run time, a signal
handler, and a thread unknown to the threading module.

    python callbacks.py ORACLE_PATH

Thread "sorted": sort_thread -> sorted() (C) -> key_fn.
Thread "map": map_thread -> list(map()) (C) -> <lambda> -> key_fn.
Thread "exec": exec_thread -> exec() -> <module> of '<generated>' ->
generated -> key_fn.
Raw thread (_thread.start_new_thread: no threading name): raw_worker.
Main thread: main -> trigger, interrupted by SIGUSR1 -> on_signal.
"""
from __future__ import print_function

import os
import signal
import threading
import time

try:
    import _thread as rawthread
except ImportError:                 # Python 2.7
    import thread as rawthread

import cspy_oracle as oracle


def key_fn(x):
    if x == 2:
        oracle.here(); time.sleep(oracle.FOREVER)
    return x


def sort_thread():
    return sorted([3, 2, 1], key=key_fn)


def map_thread():
    return list(map(lambda v: key_fn(v), [1, 2]))


GENERATED = '''\
def generated(f):
    x = 1
    return f(2)


generated(key_fn)
'''


def exec_thread():
    code = compile(GENERATED, '<generated>', 'exec')
    exec(code, {'key_fn': key_fn})


def raw_worker():
    oracle.here(); time.sleep(oracle.FOREVER)


def on_signal(signum, frame):
    oracle.here(); time.sleep(oracle.FOREVER)


def trigger():
    os.kill(os.getpid(), signal.SIGUSR1)
    while True:
        time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    for fn, name in ((sort_thread, 'sorted'), (map_thread, 'map'), (exec_thread, 'exec')):
        t = threading.Thread(target=fn, name=name)
        t.daemon = True
        t.start()
    rawthread.start_new_thread(raw_worker, ())
    signal.signal(signal.SIGUSR1, on_signal)
    oracle.capture(path, nthreads=5)
    trigger()


if __name__ == '__main__':
    main()
