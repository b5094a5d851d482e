# -*- coding: utf-8 -*-
"""Target: generators and generator-based coroutines (works on 2.7).

    python generators.py ORACLE_PATH

Main thread: consume() iterates gen_middle(), which iterates gen_leaf(),
which blocks while producing its second item.
Thread "coroutine": drive() send()s into coro_worker(), which blocks when
it receives 'block'.
"""
from __future__ import print_function

import threading
import time

import cspy_oracle as oracle


def gen_leaf():
    yield 1
    oracle.here(); time.sleep(oracle.FOREVER)
    yield 2


def gen_middle():
    for x in gen_leaf():
        yield x * 10


def consume():
    total = 0
    for v in gen_middle():
        total += v
    return total


def coro_worker():
    total = 0
    while True:
        item = (yield total)
        if item == 'block':
            oracle.here(); time.sleep(oracle.FOREVER)
        total += item


def drive():
    c = coro_worker()
    next(c)
    c.send(1)
    c.send('block')


def main():
    path = oracle.start()
    t = threading.Thread(target=drive, name='coroutine')
    t.daemon = True
    t.start()
    oracle.capture(path, nthreads=2)
    consume()


if __name__ == '__main__':
    main()
