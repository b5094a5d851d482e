# -*- coding: utf-8 -*-
"""Target (accuracy): three functions burn CPU in nominal shares 60/30/10.

    python shares.py ORACLE_PATH [SECONDS=10]

The main thread repeats, for SECONDS: share_60 for 60 ms, share_30 for 30
ms, share_10 for 10 ms, each spinning in its own frame (the leaf) on
clock() (time.perf_counter; time.time on 2.7). It measures the wall time
spent inside each call itself; that measurement (not the nominal shares) is
the oracle: {'spent': {name: seconds}, 'seconds': SECONDS, 'rounds': N}.
It also records the process's CPU time over the same period ('cpu', 'wall'):
well below the wall time means the machine was busy and the target was
often waiting for a CPU (the runner may then repeat the measurement). The
oracle is written when the work is done, then the target exits 0.
"""
from __future__ import print_function

import sys
import time

import rec_common as rc

cpu_clock = getattr(time, 'process_time', None) or time.clock     # 2.7: time.clock is CPU time

CHUNK = 0.1          # one round: 100 ms, several samples per function per round


def share_60(budget):
    end = rc.clock() + budget
    n = 0
    while rc.clock() < end:
        n += 1
    return n


def share_30(budget):
    end = rc.clock() + budget
    n = 0
    while rc.clock() < end:
        n += 1
    return n


def share_10(budget):
    end = rc.clock() + budget
    n = 0
    while rc.clock() < end:
        n += 1
    return n


def main():
    path = rc.start()
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    plan = ((share_60, 0.6), (share_30, 0.3), (share_10, 0.1))
    spent = dict((f.__name__, 0.0) for f, _ in plan)
    clock = rc.clock
    rounds = 0
    cpu0, wall0 = cpu_clock(), clock()
    t_end = clock() + seconds
    while clock() < t_end:
        for f, share in plan:
            t0 = clock()
            f(CHUNK * share)
            spent[f.__name__] += clock() - t0
        rounds += 1
    cpu, wall = cpu_clock() - cpu0, clock() - wall0
    rc.write(path, {'spent': spent, 'seconds': seconds, 'rounds': rounds, 'cpu': cpu, 'wall': wall,
                    'functions': [rc.func_info(f) for f, _ in plan]})


if __name__ == '__main__':
    main()
