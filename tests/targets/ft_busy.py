# -*- coding: utf-8 -*-
"""Target: several threads busy in pure Python at once (truly in parallel
on a free-threaded build; taking turns at the GIL elsewhere).

    python ft_busy.py ORACLE_PATH MODE [N]

MODE "distinct": thread "busy-K" (K = 0..N-1, N <= 4, default 3) runs
outer_K -> spin_K, a function of its own. MODE "same": every thread
"busy-K" runs outer -> hot, the SAME function: on 3.14t each thread then
executes its own copy of the bytecode (thread-local bytecode, a frame's
tlbc_index > 0). MainThread: main_wait in time.sleep.

The oracle (tests/targets/cspy_oracle.py, taken without waiting for stable
stacks: the busy threads never stop) holds every thread's stack as the
interpreter saw it; the callers' lines are exact, the innermost line of a
busy thread is wherever its loop was. extra.loops maps each busy thread's
native id to [function, lo, hi]: the lines its loop can be on, from the
function's own co_lines() (every line after the one that registers).
Needs Python 3.10+ (co_lines).
"""
from __future__ import print_function

import sys
import threading
import time

import cspy_oracle as oracle

_lock = threading.Lock()
loops = {}


def here_busy():
    """Called by a busy function just before its loop: register the lines
    the loop can be on, and "I am there"."""
    f = sys._getframe(1)
    lines = [ln for _, _, ln in f.f_code.co_lines() if ln is not None and ln > f.f_lineno]
    with _lock:
        loops[str(oracle.native_tid())] = [f.f_code.co_name, min(lines), max(lines)]
    oracle.here()


def spin_0():
    n = 0
    here_busy()
    while True:
        n += 1
        if n > 1000000:
            n = 0


def spin_1():
    n = 0
    here_busy()
    while True:
        n += 3
        if n > 1000000:
            n = 1


def spin_2():
    n = 0
    here_busy()
    while True:
        n += 5
        if n > 1000000:
            n = 2


def spin_3():
    n = 0
    here_busy()
    while True:
        n += 7
        if n > 1000000:
            n = 3


def outer_0():
    spin_0()


def outer_1():
    spin_1()


def outer_2():
    spin_2()


def outer_3():
    spin_3()


def hot(k):
    n = k
    here_busy()
    while True:
        n += 1
        if n > 1000000:
            n = k


def outer(k):
    hot(k)


def main_wait():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    mode = sys.argv[2] if len(sys.argv) > 2 else 'distinct'
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    distinct = (outer_0, outer_1, outer_2, outer_3)
    for k in range(n):
        if mode == 'same':
            t = threading.Thread(target=outer, args=(k,), name='busy-%d' % k)
        else:
            t = threading.Thread(target=distinct[k], name='busy-%d' % k)
        t.daemon = True
        t.start()
    oracle.capture(path, nthreads=n + 1, extra=lambda: {'loops': dict(loops), 'mode': mode},
                   stable=False)
    main_wait()


if __name__ == '__main__':
    main()
