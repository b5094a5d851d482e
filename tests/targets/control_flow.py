# -*- coding: utf-8 -*-
"""Target: blocking points inside control-flow constructs, to exercise line
numbers from every part of the line tables (exception handlers, finally
blocks, with bodies, nested loops, multi-line expressions), decorator
wrappers and class bodies.

    python control_flow.py ORACLE_PATH

Thread "except": in_except, blocked inside an except clause.
Thread "finally": in_finally, blocked inside a finally clause.
Thread "with": in_with, blocked inside two nested with bodies.
Thread "loop": in_loop, blocked deep inside nested for/while loops.
Thread "decorated": decorated <- wrapper <- wrapper (two decorators).
Thread "class_body": make_class -> class body "Blocking".
Main thread: long_expression -> blocker_in_expr (call in a multi-line
expression).
"""
from __future__ import print_function

import functools
import threading
import time

import cspy_oracle as oracle


def in_except():
    try:
        raise ValueError('x')
    except ValueError:
        oracle.here(); time.sleep(oracle.FOREVER)


def in_finally():
    try:
        pass
    finally:
        oracle.here(); time.sleep(oracle.FOREVER)


class Managed(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def in_with():
    with Managed():
        with Managed() as m:
            oracle.here(); time.sleep(oracle.FOREVER)


def in_loop():
    total = 0
    for i in range(10):
        for j in range(10):
            total += i * j
            if i == 3 and j == 4:
                while True:
                    oracle.here(); time.sleep(oracle.FOREVER)
    return total


def deco(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@deco
@deco
def decorated(x):
    oracle.here(); time.sleep(oracle.FOREVER)


def make_class():
    class Blocking(object):
        attr = 1
        oracle.here(); time.sleep(oracle.FOREVER)
    return Blocking


def blocker_in_expr(v):
    oracle.here(); time.sleep(oracle.FOREVER)


def long_expression():
    return (1 +
            2 +
            sum([3,
                 4]) +
            blocker_in_expr(
                5))


def main():
    path = oracle.start()
    for fn, name in ((in_except, 'except'), (in_finally, 'finally'), (in_with, 'with'),
                     (in_loop, 'loop'), (lambda: decorated(1), 'decorated'),
                     (make_class, 'class_body')):
        t = threading.Thread(target=fn, name=name)
        t.daemon = True
        t.start()
    oracle.capture(path, nthreads=7)
    long_expression()


if __name__ == '__main__':
    main()
