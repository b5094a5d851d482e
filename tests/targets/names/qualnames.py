# -*- coding: utf-8 -*-
"""Target of the names tier (tests/e2e/names.py): methods of every kind for
`--qualname`, and the qualified names the interpreter itself gives them.

    python qualnames.py ORACLE_PATH

Threads (each ends waiting in wait_here, so its stack stays put):
  t1          Sub1.run -> Base.method (inherited) -> Base.klass_method
              (classmethod, cls = Sub1) -> Base.static_method (staticmethod) ->
              nested (a function inside it) -> plain_function -> wait_here
  t2          Sub2.run -> Base.prop (property getter) -> Base.__private
              (a private, mangled name) -> wait_here
  t3          Base.method called on a Sub2: the same inherited method as t1's
              through another class -> ... as t1
  MainThread  Outer.Inner.deep (a nested class) -> wait_here
The oracle (JSON, written atomically by a thread that then exits): per
thread, the names of its frames in this file, innermost first, as cspy
--qualname must show them: 3.11+ the code's co_qualname; before, the rule
cspy follows, found here from the live frame: a code whose first argument
(co_varnames[0]) is self or cls is a method of the class in type(self).__mro__
(or cls.__mro__) whose __dict__ holds, under co_name or its mangled
_Class__name, a function (or classmethod, staticmethod, property) whose
__code__ is the frame's code: that function's __qualname__ (2.7: the
class's __name__ + "." + co_name); anything else keeps co_name.
"""
from __future__ import print_function

import json
import os
import sys
import threading
import time

HERE = os.path.basename(__file__).rsplit('.', 1)[0]


def wait_here():
    while True:
        time.sleep(0.5)     # seldom awake: never caught changing its stack


def plain_function():
    return wait_here()


class Base(object):
    def method(self):
        return self.klass_method()

    @classmethod
    def klass_method(cls):
        return cls.static_method(3)

    @staticmethod
    def static_method(n):
        def nested():
            return plain_function()
        return nested()

    @property
    def prop(self):
        return self.__private()

    def __private(self):
        return wait_here()


class Sub1(Base):
    def run(self):
        return self.method()


class Sub2(Base):
    def run(self):
        return self.prop


class Outer(object):
    class Inner(object):
        def deep(self):
            return wait_here()


# ---- the oracle ------------------------------------------------------------

def unwrap(v):
    """The functions behind a class __dict__ value."""
    if isinstance(v, (classmethod, staticmethod)):
        return [v.__func__]
    if isinstance(v, property):
        return [f for f in (v.fget, v.fset, v.fdel) if f is not None]
    return [v]


def expected_name(frame):
    code = frame.f_code
    if hasattr(code, 'co_qualname'):
        return code.co_qualname
    if code.co_argcount < 1 or code.co_varnames[0] not in ('self', 'cls'):
        return code.co_name
    first = frame.f_locals.get(code.co_varnames[0])
    klass = first if code.co_varnames[0] == 'cls' else type(first)
    if not isinstance(klass, type):
        return code.co_name
    for k in klass.__mro__:
        keys = [code.co_name]
        if code.co_name.startswith('__') and not code.co_name.endswith('__'):
            keys.append('_%s%s' % (k.__name__.lstrip('_'), code.co_name))
        for key in keys:
            for f in unwrap(k.__dict__.get(key)):
                if getattr(f, '__code__', None) is code:
                    return getattr(f, '__qualname__', '%s.%s' % (k.__name__, code.co_name))
    return code.co_name


def write_oracle(path):
    time.sleep(0.2)
    me = threading.current_thread().ident
    names = dict((t.ident, t.name) for t in threading.enumerate())
    threads = []
    for ident, frame in sys._current_frames().items():
        if ident == me:
            continue
        stack = []
        while frame is not None:
            fn = os.path.basename(frame.f_code.co_filename).rsplit('.', 1)[0]
            if fn == HERE:
                stack.append(expected_name(frame))
            frame = frame.f_back
        threads.append({'name': names.get(ident), 'frames': stack})
    oracle = {'pid': os.getpid(), 'version': list(sys.version_info[:3]), 'extra': {},
              'threads': threads}
    with open(path + '.tmp', 'w') as f:
        json.dump(oracle, f)
    os.rename(path + '.tmp', path)


def main():
    for name, fn in (('t1', lambda: Sub1().run()), ('t2', lambda: Sub2().run()),
                     ('t3', lambda: Base.method(Sub2()))):
        t = threading.Thread(target=fn, name=name)
        t.daemon = True
        t.start()
    threading.Thread(target=write_oracle, args=(sys.argv[1],), name='oracle').start()
    Outer.Inner().deep()


if __name__ == '__main__':
    main()
