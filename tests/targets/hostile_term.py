# -*- coding: utf-8 -*-
"""Target (terminal escapes, 2.7 and 3.6+): a function, its file name and a
thread name that hold terminal control sequences.

    python hostile_term.py ORACLE_PATH

The function is compiled from source with the file name FILENAME (ESC [31m,
BEL, a newline) and its code object renamed to NAME (ESC [31m, BEL, a
newline, and the C1 control U+009B CSI, written as UTF-8); a thread named
THREAD (an OSC "set the window title" sequence ended by BEL, and a newline)
and the main thread block in it. A terminal that received these raw would
turn red, ring, get a new title or clear the screen. The oracle holds the
names as the interpreter has them (on 2.7 the UTF-8 bytes decoded).
"""
from __future__ import print_function

import sys
import threading
import types

import cspy_oracle as oracle

PY2 = sys.version_info[0] == 2
C1 = '\xc2\x9b' if PY2 else u'\u009b'           # CSI as UTF-8 (2.7: str is bytes)
FILENAME = 'esc\x1b[31mred\x07bell\nnl.py'
NAME = 'evil\x1b[31mred\x07bell\nnl' + C1 + '2J'
THREAD = 'thr\x1b]0;owned\x07\nx'

SOURCE = '''
def hostile_block(oracle):
    oracle.here(); oracle.time.sleep(oracle.FOREVER)
'''


def renamed(code, name):
    """code with co_name = name (code.replace from 3.8, the constructor before)."""
    if hasattr(code, 'replace'):
        return code.replace(co_name=name)
    args = [code.co_argcount] + ([] if PY2 else [code.co_kwonlyargcount])
    args += [code.co_nlocals, code.co_stacksize, code.co_flags, code.co_code, code.co_consts,
             code.co_names, code.co_varnames, code.co_filename, name, code.co_firstlineno,
             code.co_lnotab, code.co_freevars, code.co_cellvars]
    return types.CodeType(*args)


def main():
    path = oracle.start()
    ns = {}
    exec(compile(SOURCE, FILENAME, 'exec'), ns)
    block = ns['hostile_block']
    block.__code__ = renamed(block.__code__, NAME)
    t = threading.Thread(target=block, args=(oracle,), name=THREAD)
    t.daemon = True
    t.start()
    oracle.capture(path, nthreads=2, extra={'name': oracle._text(NAME),
                                            'filename': oracle._text(FILENAME),
                                            'thread': oracle._text(THREAD)})
    block(oracle)


if __name__ == '__main__':
    main()
