# -*- coding: utf-8 -*-
"""Target (hostile names, Python 3.8+): functions whose names and file name
hold markup, quotes, "]]>", a newline and a lone surrogate.

    python hostile.py ORACLE_PATH

The functions are compiled from source with the file name
FILENAME (weird<&"']]>.py); after definition their code objects get the
names in NAMES (code.replace(co_name=...)). The main thread loops forever
calling each in turn (about 20 ms of spinning each). The lone surrogate
\\udcff cannot be encoded in UTF-8: a profiler must write U+FFFD for it.
The oracle: {'names': NAMES, 'filename': FILENAME, 'firstlines': [...]}
(JSON escapes the surrogate). Runs until killed.
"""
from __future__ import print_function

import rec_common as rc

FILENAME = 'weird<&"\']]>.py'
NAMES = [
    'tag<script>alert(1)</script>',
    'amp&lt;&"\'cdata]]>end',
    'nl\nbad\udcff<script>x',
]

SOURCE = '''
def h0(clock):
    end = clock() + 0.02
    while clock() < end:
        pass


def h1(clock):
    end = clock() + 0.02
    while clock() < end:
        pass


def h2(clock):
    end = clock() + 0.02
    while clock() < end:
        pass


def hostile_loop(funcs, clock):
    while True:
        for f in funcs:
            f(clock)
'''


def main():
    path = rc.start()
    ns = {}
    exec(compile(SOURCE, FILENAME, 'exec'), ns)
    funcs = [ns['h0'], ns['h1'], ns['h2']]
    for f, name in zip(funcs, NAMES):
        f.__code__ = f.__code__.replace(co_name=name)
    rc.write(path, {'names': [f.__code__.co_name for f in funcs], 'filename': FILENAME,
                    'firstlines': [f.__code__.co_firstlineno for f in funcs],
                    'loop': rc.func_info(ns['hostile_loop'])})
    ns['hostile_loop'](funcs, rc.clock)


if __name__ == '__main__':
    main()
