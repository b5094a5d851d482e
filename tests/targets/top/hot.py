# -*- coding: utf-8 -*-
"""Target of `cspy top` (tests/e2e/top.py): known hot functions.

    python hot.py ORACLE_PATH [SECONDS [STATUS]]

MainThread: work() calls hot_70(0.07) then hot_30(0.03) in a loop; each
spins on the clock in a one-line loop (so by line, each has one hot line),
with its argument `budget` and locals `end`, `n`. Thread "sleeper":
sleepy_wait() in time.sleep. The target measures the wall time it spent in
each hot function itself and rewrites ORACLE_PATH + '.spent' every 0.25 s:
{"hot_70": seconds, "hot_30": seconds}. The oracle (written once both
threads run): pid, threads [{role, tid, name}], the functions' names, files
and first lines. Without SECONDS it runs until killed; with SECONDS it exits
after that long with STATUS (default 3).

Runs under Python 2.7 and 3.6+ (no f-strings).
"""
from __future__ import print_function

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cspy_oracle                                   # noqa: E402

clock = getattr(time, 'perf_counter', time.time)     # 2.7: time.time
_tids = {}
_lock = threading.Lock()


def register(role):
    with _lock:
        _tids[role] = (cspy_oracle.native_tid(), threading.current_thread().name)


def hot_70(budget):
    end = clock() + budget
    n = 0
    while clock() < end: n += 1           # noqa: E701 (one line: one hot line)
    return n


def hot_30(budget):
    end = clock() + budget
    n = 0
    while clock() < end: n += 1           # noqa: E701
    return n


def sleepy_wait():
    register('sleeper')
    while True:
        time.sleep(100)


def write_spent(path, spent):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('{"hot_70": %r, "hot_30": %r}' % (spent['hot_70'], spent['hot_30']))
    os.rename(tmp, path)


def work(oracle_path, seconds):
    register('main')
    spent = {'hot_70': 0.0, 'hot_30': 0.0}
    t_end = clock() + seconds if seconds else None
    next_write = 0.0
    wrote_oracle = False
    while True:
        t0 = clock()
        hot_70(0.07)
        t1 = clock()
        hot_30(0.03)
        t2 = clock()
        spent['hot_70'] += t1 - t0
        spent['hot_30'] += t2 - t1
        if t2 >= next_write:
            write_spent(oracle_path + '.spent', spent)
            next_write = t2 + 0.25
        if not wrote_oracle and len(_tids) == 2:
            cspy_oracle.write_json(oracle_path, {
                'pid': os.getpid(), 'extra': {},
                'version_info': list(sys.version_info[:3]),
                'threads': [{'role': r, 'tid': t, 'name': n} for r, (t, n) in sorted(_tids.items())],
                'functions': dict((f.__name__, {'file': f.__code__.co_filename,
                                                'firstlineno': f.__code__.co_firstlineno})
                                  for f in (hot_70, hot_30, work, sleepy_wait)),
            })
            wrote_oracle = True
        if t_end is not None and t2 >= t_end:
            return


def main():
    path = cspy_oracle.start()
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    status = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    s = threading.Thread(target=sleepy_wait, name='sleeper')
    s.daemon = True
    s.start()
    work(path, seconds)
    sys.exit(status)


if __name__ == '__main__':
    main()
