# SPDX-License-Identifier: MIT
#
# The target of the diff tier (tests/e2e/diff.py): a loop whose every
# 50 ms of CPU time is split between two functions of the same body, a()
# for PCT % of it and b() for the rest, each spinning until its share of
# CPU time has passed, for SECONDS of wall time, then exits. A split of CPU
# time holds however fast the interpreter is and however loaded the
# machine: a split by iterations (short periods) aliases with the sampler
# when both fight for a CPU, a split of wall time counts the time the
# target waited for one. Two runs with 80 and 20 give a known oracle: a's
# share of the loop goes from 80 % to 20 %, b's the other way. Python 2.7
# and 3.
#     python work.py PCT SECONDS
import sys
import threading  # noqa: F401  (names the main thread: MainThread)
import time

PERIOD = 0.05
# this process's CPU time: time.process_time (3.3+), else 2.7's time.clock
cpu = getattr(time, 'process_time', None) or time.clock


def a(seconds):
    end = cpu() + seconds
    n = 0
    while cpu() < end:
        n += 1
    return n


def b(seconds):
    end = cpu() + seconds
    n = 0
    while cpu() < end:
        n += 1
    return n


def main():
    pct = int(sys.argv[1])
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        a(PERIOD * pct / 100.0)
        b(PERIOD * (100 - pct) / 100.0)


main()
