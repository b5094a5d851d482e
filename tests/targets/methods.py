# -*- coding: utf-8 -*-
"""Target: methods of every kind (and qualified names on 3.11+).

    python methods.py ORACLE_PATH

<module> -> main -> Service.run (instance method) -> Service.build
(classmethod) -> Service.helper (staticmethod) -> Service.value (property
getter) -> Service.Nested.deep (method of a nested class) ->
make_closure.<locals>.inner_closure (closure), blocked in time.sleep.
"""
from __future__ import print_function

import time

import cspy_oracle as oracle


def make_closure():
    def inner_closure():
        oracle.here(); time.sleep(oracle.FOREVER)
    return inner_closure


class Service(object):
    class Nested(object):
        def deep(self):
            return make_closure()()

    def run(self):
        return self.build()

    @classmethod
    def build(cls):
        return cls.helper(cls())

    @staticmethod
    def helper(obj):
        return obj.value

    @property
    def value(self):
        return self.Nested().deep()


def main():
    path = oracle.start()
    oracle.capture(path, nthreads=1)
    Service().run()


if __name__ == '__main__':
    main()
