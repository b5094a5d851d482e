# -*- coding: utf-8 -*-
"""Target: locals of every supported type, for --locals.

    python locals_target.py ORACLE_PATH

<module> -> main -> caller(x) -> locals_fn(args...), blocked in
time.sleep. The oracle (extra['frames']) holds, for locals_fn and caller,
each bound local in co_varnames order with repr(), id() and whether it is an
argument. `late` is assigned only after the blocking call: cspy must not
show it. On 2.7 'str' is bytes and text literals are unicode (u'...').
Types outside the supported set (here set) are expected as <typename at 0x...>.
Self-referential containers must not hang cspy (recursion markers or any
bounded "..." form accepted); huge ones must be truncated.
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
    l_point1 = 0.1
    l_third = 1.0 / 3
    l_negzero = -0.0
    l_e16 = 1e16
    l_big_float = 123456789.0
    l_tiny = 5e-324
    l_nan = float('nan')
    l_digit_edge = 2 ** 30
    l_digit_edge2 = 2 ** 60 - 1
    l_neg63 = -(2 ** 63)
    l_ten20 = 10 ** 20
    l_256 = 256
    l_neg5 = -5
    l_bothquotes = 'a\'b"c'
    l_nonprint = u'a\xa0b\u200bc\x7fd\x07'
    l_nested = {'k': [1, (2, 'x')], 'n': None}
    l_intkeys = {1: 'a', (1, 2): None}
    l_long_tuple = tuple(range(500))
    l_long_dict = dict((i, i) for i in range(500))
    l_long_bytes = b'y' * 3000
    l_set = set([1, 2])
    l_self_list = [1]
    l_self_list.append(l_self_list)
    l_self_dict = {'a': 1}
    l_self_dict['self'] = l_self_dict
    l_deep = []
    for _ in range(100):
        l_deep = [l_deep]
    l_huge_list = list(range(10 ** 6))
    l_huge_str = 'z' * (10 ** 7)
    RECORDED.append(oracle.frame_locals(sys._getframe(),
                                        recursive=('l_self_list', 'l_self_dict')))
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
