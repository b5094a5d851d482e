# -*- coding: utf-8 -*-
"""Target of the `modes` tier (tests/e2e/modes.py): threads that each do
one kind of work for --mode wall|cpu|gil|exception and <GC> frames.

    python modes_target.py ORACLE_PATH

  exc_worker    raises and catches in a loop, and computes inside the
                `except` block (in_handler, in a generator gen_handler run by
                handled_once: the exc_info chain has the generator's empty
                item above the handled exception, 3.7+);
  plain_worker  the same computation, never in an exception (plain_work);
  nogil_worker  compresses random bytes: on a CPU without holding the GIL
                (zlib lets it go around deflate(); nogil_hash);
  raiser        while ORACLE_PATH.raise exists (then the other workers wait):
                json.loads of a 200000-string array with an error at its end:
                while the scanner frees the list, the error is raised (and
                none is handled), in json's raw_decode as while it builds it;
  sleeper       asleep in time.sleep (sleeper_wait);
  gc_worker     gc.collect() over a heap of reference cycles, then a sleep
                (gc_pass): a known share of the time in collections.

Automatic collections are off (gc.disable()), so every collection is the
gc_worker's. The target measures from inside what cspy must find and
rewrites STATUS (ORACLE_PATH + ".status", JSON, by a rename) every 50 ms,
cumulative since the start: "wall_s", "gc_s" (time inside collections:
gc.callbacks' start and stop on 3.3+, the gc.collect() call timed on 2.7),
"gc_call_s" (the gc.collect() calls timed: with the waits for the GIL
around them, and the time another thread held the GIL while the callbacks'
Python code let it go mid-collection, which gc_s misses),
"gc_n" (collections), "handler_s" and "exc_loop_s" (the exc_worker's time in
its except block, and in its loop), "exc_info" (the name of the exception type
sys.exc_info() returns in in_handler: ValueError). The ORACLE (see cspy_oracle.py) is
written once every thread runs. Runs under Python 2.7 and 3.6+.
"""
from __future__ import print_function

import gc
import json
import os
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cspy_oracle  # noqa: E402

clock = getattr(time, 'perf_counter', time.time)
ORACLE = sys.argv[1]
STATUS = ORACLE + '.status'
RAISE = ORACLE + '.raise'
stats = {'gc_s': 0.0, 'gc_call_s': 0.0, 'gc_n': 0, 'handler_s': 0.0, 'exc_loop_s': 0.0}
started = {}
T0 = clock()


RAISING = [False]       # RAISE exists: the main thread looks every 50 ms (os.path.exists
                        # raises and handles an exception inside: not in the workers)


def paused():
    """While RAISE exists only the raiser runs (the raised-exception check)."""
    if RAISING[0]:
        time.sleep(0.02)
        return True
    return False


def compute(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def in_handler():
    if 'exc_info' not in stats:     # what sys.exc_info() sees here: the oracle's
        stats['exc_info'] = getattr(sys.exc_info()[0], '__name__', None)
    return compute(20000)


def gen_handler():
    # A running generator pushes its own (empty) item on the thread's
    # exc_info chain (3.7+): the handled exception is the next one down.
    in_handler()
    yield


def handled_once():
    try:
        raise ValueError('modes')
    except ValueError:
        t = clock()
        for _ in gen_handler():
            pass
        stats['handler_s'] += clock() - t


def exc_worker():
    started['exc'] = True
    while True:
        if paused():
            continue
        t = clock()
        handled_once()
        stats['exc_loop_s'] += clock() - t


DOC = '[' + '"ab",' * 200000 + ']'     # a trailing comma: an error at its very end


def raiser():
    # While RAISE (ORACLE_PATH + ".raise") exists, and the other workers
    # wait: json.loads(DOC), whose C
    # scanner builds a list of 200000 strings, meets the error at the end and
    # frees the list while the error is the thread's raised exception
    # (curexc_type, current_exception); none is handled then (2.7 keeps a
    # handled one until sys.exc_clear()). Building and freeing both show as
    # json's raw_decode at the line of its call of the scanner.
    clear = getattr(sys, 'exc_clear', lambda: None)
    started['raiser'] = True
    while True:
        if not RAISING[0]:
            time.sleep(0.02)
            continue
        try:
            json.loads(DOC)
        except ValueError:
            pass
        clear()


def plain_work():
    return compute(20000)


def plain_worker():
    started['plain'] = True
    while True:
        if not paused():
            plain_work()


def nogil_hash(buf):
    return zlib.compress(buf, 9)        # deflate() runs without the GIL


def nogil_worker():
    buf = os.urandom(1 << 18)
    started['nogil'] = True
    while True:
        if not paused():
            nogil_hash(buf)


def sleeper_wait():
    time.sleep(3600)


def sleeper():
    started['sleeper'] = True
    while True:
        sleeper_wait()


class Node(object):
    def __init__(self):
        self.ref = self


HEAP = []
_gc_t = [0.0]


def gc_callback(phase, info):
    if phase == 'start':
        _gc_t[0] = clock()
    else:
        stats['gc_s'] += clock() - _gc_t[0]
        stats['gc_n'] += 1


def gc_pass():
    t = clock()
    gc.collect()
    d = clock() - t
    stats['gc_call_s'] += d
    if not hasattr(gc, 'callbacks'):
        stats['gc_s'] += d
        stats['gc_n'] += 1
    time.sleep(max(0.005, 3 * d))     # about a quarter of the time collecting


def gc_worker():
    for _ in range(60000):
        HEAP.append(Node())
    # About 10-30 ms a collection, also on slow (debug) builds: many
    # collections in a short recording.
    t = clock()
    gc.collect()
    d = clock() - t
    if d > 0.03:
        del HEAP[int(len(HEAP) * 0.015 / d):]
    started['gc'] = True
    while True:
        if not paused():
            gc_pass()


def main():
    gc.disable()
    if hasattr(gc, 'callbacks'):
        gc.callbacks.append(gc_callback)
    cspy_oracle.start()
    for name, fn in (('exc_worker', exc_worker), ('plain_worker', plain_worker),
                     ('nogil_worker', nogil_worker), ('sleeper', sleeper),
                     ('gc_worker', gc_worker), ('raiser', raiser)):
        th = threading.Thread(target=fn, name=name)
        th.daemon = True
        th.start()
    while len(started) < 6:
        time.sleep(0.01)
    cspy_oracle.write_json(ORACLE, {'pid': os.getpid(), 'version': sys.version.split()[0],
                                    'threads': [{} for _ in range(7)], 'extra': {}})
    while True:
        RAISING[0] = os.path.exists(RAISE)
        s = dict(stats)
        s['wall_s'] = clock() - T0
        cspy_oracle.write_json(STATUS, s)
        time.sleep(0.05)


if __name__ == '__main__':
    main()
