# -*- coding: utf-8 -*-
"""Target of `cspy top` (tests/e2e/top.py, thread_cycle): a thread-per-request
server, for the t/T/A keys.

    python server.py ORACLE_PATH

First ten "setup-N" threads run one after the other, each spinning 30 ms
in setup_work() (their lane of exited threads has samples only at the
start). Then thread "burner" spins in burn() forever, while the main
thread, like an accept loop, starts a thread per request (default names:
"Thread-N", 3.10+ "Thread-N (handle_request)") that spins 3 ms in
handle_request(), joins it and sleeps 5 ms, forever. The oracle (written
after 40 requests): pid, threads [{role, tid, name}] of main and burner.

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


# Each spins in its own one-line loop: its own row by %Own.
def setup_work():
    end = clock() + 0.03
    while clock() < end: pass             # noqa: E701


def handle_request():
    end = clock() + 0.003
    while clock() < end: pass             # noqa: E701


def burn():
    _tids['burner'] = (cspy_oracle.native_tid(), threading.current_thread().name)
    while True: pass                      # noqa: E701


def main():
    path = cspy_oracle.start()
    _tids['main'] = (cspy_oracle.native_tid(), threading.current_thread().name)
    for i in range(10):
        t = threading.Thread(target=setup_work, name='setup-%d' % i)
        t.start()
        t.join()
    b = threading.Thread(target=burn, name='burner')
    b.daemon = True
    b.start()
    served = 0
    while True:
        t = threading.Thread(target=handle_request)
        t.start()
        t.join()
        served += 1
        if served == 40:
            cspy_oracle.write_json(path, {
                'pid': os.getpid(), 'extra': {},
                'threads': [{'role': r, 'tid': t, 'name': n} for r, (t, n) in sorted(_tids.items())],
            })
        time.sleep(0.005)


if __name__ == '__main__':
    main()
