# -*- coding: utf-8 -*-
"""Target (speedscope's activeProfileIndex), launched: the main thread is
the first one sampled, another thread the busiest.

    python busiest.py ORACLE_PATH

The main thread spins for 0.3 s (warm_up), then starts "worker", which
spins for 1.2 s (worker_spin) while the main thread waits for it; the
oracle (both TIDs) is written at the end and the program exits.
"""
from __future__ import print_function

import threading

import rec_common as rc

TIDS = {}


def warm_up():
    rc.spin_until(rc.clock() + 0.3)


def worker_spin():
    TIDS['worker'] = rc.native_tid()
    rc.spin_until(rc.clock() + 1.2)


def main(path):
    TIDS['main'] = rc.native_tid()
    warm_up()
    t = threading.Thread(target=worker_spin, name='worker')
    t.start()
    t.join()
    rc.write(path, {'tids': TIDS})


if __name__ == '__main__':
    main(rc.start())
