# -*- coding: utf-8 -*-
"""Target (--function, --include, --exclude, --nolineno, --full-filenames).

    python funcs.py ORACLE_PATH

The main thread loops forever: run_loop -> outer -> alpha (about 20 ms),
then beta (about 20 ms); alpha and beta spin over several lines, so their
leaf line varies. The oracle: each function's name, co_filename and
co_firstlineno (the module's too: 1), and the last line of each function.
Runs until killed.
"""
from __future__ import print_function

import os
import sys

import rec_common as rc

MODULE_FIRST = sys._getframe().f_code.co_firstlineno     # the <module> frame's first line


def alpha():
    end = rc.clock() + 0.02
    n = 0
    while rc.clock() < end:
        n += 1
        n -= 1
    return n


def beta():
    end = rc.clock() + 0.02
    n = 0
    while rc.clock() < end:
        n += 2
        n -= 2
    return n


def outer():
    alpha()
    beta()


def run_loop():
    while True:
        outer()


def last_lines():
    """{function name: its last line} from the source (for the oracle)."""
    with open(os.path.abspath(__file__)) as f:
        lines = f.read().split('\n')
    out = {}
    for f in (alpha, beta, outer, run_loop):
        first = f.__code__.co_firstlineno
        last = first
        for i in range(first, len(lines)):          # lines[i] is line i + 1
            if lines[i].startswith((' ', '\t')):
                last = i + 1
            elif lines[i].strip():
                break
        out[f.__name__] = last
    return out


def main():
    path = rc.start()
    rc.write(path, {
        'functions': [rc.func_info(f) for f in (alpha, beta, outer, run_loop, main)] +
                     [{'name': '<module>', 'filename': rc.cspy_oracle._text(__file__),
                       'firstlineno': MODULE_FIRST}],
        'last_lines': last_lines(),
        'file': os.path.abspath(__file__),
    })
    run_loop()


if __name__ == '__main__':
    main()
