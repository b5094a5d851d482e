# -*- coding: utf-8 -*-
"""Target: locals of every supported type, for --locals.

    python locals_target.py ORACLE_PATH

<module> -> main -> caller(x) -> locals_fn(args...), blocked in
time.sleep. The oracle (extra['frames']) holds, for locals_fn and caller,
each bound local in co_varnames order with repr(), id() and whether it is an
argument. `late` is assigned only after the blocking call: cspy must not
show it. On 2.7 'str' is bytes and text literals are unicode (u'...').
"""
from __future__ import print_function

import sys
import time

import cspy_oracle as oracle

RECORDED = []


class Widget(object):
    pass


def locals_fn(a_none, a_true, a_false, a_small, a_neg, a_big, a_float):
    l_zero = 0
    l_negbig = -(2 ** 70)
    l_float = 1e100
    l_inf = float('inf')
    l_ascii = 'hello world'
    l_quote = "it's"
    l_escapes = 'tab\there\nnewline\\'
    l_empty = ''
    l_latin1 = u'h\xe9llo'
    l_ucs2 = u'\u043a\u0438\u0440\u0438\u043b\u043b\u0438\u0446\u0430'
    l_ucs4 = u'\U0001F40D snake'
    l_bytes = b'\x00\xffab'
    l_tuple = (1, 'two', None, 3.5)
    l_single = (1,)
    l_empty_tuple = ()
    l_list = [1, 2, 3]
    l_empty_list = []
    l_dict = {'a': 1}
    l_empty_dict = {}
    l_obj = Widget()
    l_long_list = list(range(1000))
    l_long_str = 'x' * 5000
    RECORDED.append(oracle.frame_locals(sys._getframe()))
    oracle.here(); time.sleep(oracle.FOREVER)
    late = 1
    return late


def caller(x):
    y = 'caller-local'
    RECORDED.append(oracle.frame_locals(sys._getframe()))
    return locals_fn(None, True, False, 7, -42, 2 ** 100, 3.25)


def main():
    path = oracle.start()
    oracle.capture(path, nthreads=1, extra=lambda: {'frames': RECORDED})
    caller(7)


if __name__ == '__main__':
    main()
