# -*- coding: utf-8 -*-
"""Workload: a CPU mix with known shares, DEPTH frames deep (default 22).

<module> -> main -> run_at_depth x (DEPTH - 4) -> work_loop -> share_60 /
share_30 / share_10. work_loop repeats rounds of 100 ms of burn loop split
60/30/10 between the three leaf functions (fixed iteration counts), and
measures the CPU time of each call itself (time.process_time; time.clock on
2.7): the shares in the result ('shares', in percent) are the reference the
profile's leaf counts are compared with. See wl_common.py for the options.
"""
from __future__ import division, print_function

import sys

import wl_common as wl

ROUND_S = 0.1


def share_60(n):
    i = 0
    while i < n:
        i += 1
    return i


def share_30(n):
    i = 0
    while i < n:
        i += 1
    return i


def share_10(n):
    i = 0
    while i < n:
        i += 1
    return i


PLAN = ((share_60, 0.6), (share_30, 0.3), (share_10, 0.1))


def work_loop(rounds, unit):
    cpu = wl.cpu_clock
    spent = dict((f.__name__, 0.0) for f, _ in PLAN)
    calls = [(f, f.__name__, int(unit * share)) for f, share in PLAN]
    for _ in range(rounds):
        for f, name, n in calls:
            t0 = cpu()
            f(n)
            spent[name] += cpu() - t0
    return spent


def run_at_depth(k, rounds, unit):
    if k > 0:
        return run_at_depth(k - 1, rounds, unit)
    return work_loop(rounds, unit)


def main(depth=22):
    a = wl.parse(lambda p: p.add_argument('--depth', type=int, default=depth))
    sys.setrecursionlimit(max(1000, a.depth + 100))
    rounds = max(1, int(round(a.seconds / ROUND_S)))
    unit = a.ips * ROUND_S
    wl.ready_and_wait(a)
    t0 = wl.clock()
    c0 = wl.cpu_clock()
    spent = run_at_depth(a.depth - 5, rounds, unit)
    elapsed = wl.clock() - t0
    cpu = wl.cpu_clock() - c0
    total = sum(spent.values()) or 1.0
    wl.finish(a, {'workload': 'cpumix', 'depth': a.depth, 'rounds': rounds, 'elapsed_s': elapsed,
                  'cpu_s': cpu, 'spent_s': spent,
                  'shares': dict((k, 100.0 * v / total) for k, v in spent.items())})


if __name__ == '__main__':
    # <module> + main + (depth - 5 + 1) x run_at_depth + work_loop + share_*
    main()
