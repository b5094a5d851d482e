# -*- coding: utf-8 -*-
"""Target: lambdas and comprehensions.

    python lambdas.py ORACLE_PATH

Main thread: a list comprehension calls a lambda, which blocks.
Thread "genexpr": sum() over a generator expression calling a lambda.
Thread "dictcomp": a dict comprehension calling a lambda defined inside it.
Thread "nestedcomp": nested list comprehensions over several lines.
Comprehensions are frames of their own (<listcomp>, <dictcomp>) before 3.12
and inlined from 3.12 on; the oracle (extract_stack) follows automatically.
"""
from __future__ import print_function

import threading
import time

import cspy_oracle as oracle


def run_listcomp():
    block = lambda i: (oracle.here(), time.sleep(oracle.FOREVER))
    return [block(i) for i in range(3)]


def run_genexpr():
    g = lambda x: (oracle.here(), time.sleep(oracle.FOREVER))[1]
    return sum(g(x) for x in [1, 2])


def run_dictcomp():
    return {k: (lambda: (oracle.here(), time.sleep(oracle.FOREVER)))() for k in 'ab'}


def leaf(j):
    oracle.here(); time.sleep(oracle.FOREVER)


def run_nestedcomp():
    return [
        [leaf(j) for j in [0]]
        for i in [0]
    ]


def main():
    path = oracle.start()
    for fn, name in ((run_genexpr, 'genexpr'), (run_dictcomp, 'dictcomp'),
                     (run_nestedcomp, 'nestedcomp')):
        t = threading.Thread(target=fn, name=name)
        t.daemon = True
        t.start()
    oracle.capture(path, nthreads=4)
    run_listcomp()


if __name__ == '__main__':
    main()
