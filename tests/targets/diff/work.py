# SPDX-License-Identifier: MIT
#
# The target of the diff tier (tests/e2e/diff.py): a loop that splits its
# time between two functions of the same body, a() and b(), PCT to 100 - PCT
# of the iterations, for SECONDS, then exits. Two runs with 80 and 20 give a
# known oracle: a's share of the loop goes from 80 % to 20 %, b's the other
# way. Python 2.7 and 3.
#     python work.py PCT SECONDS
import sys
import threading  # noqa: F401  (names the main thread: MainThread)
import time


def a(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def b(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def main():
    pct = int(sys.argv[1])
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        a(pct * 50)
        b((100 - pct) * 50)


main()
