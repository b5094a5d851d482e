# -*- coding: utf-8 -*-
"""Target of the --native tests (tests/e2e/native.py).

    python native_target.py ORACLE_PATH EXT_DIR [forever|nounwind|burn SECONDS]

EXT_DIR holds the compiled cspy_native_test extension. The main thread runs
<module> -> outer() -> C burn_then_call(middle) -> Python middle() ->
C spin() (forever: the runner kills the process); with `nounwind` C
spin_nounwind() (forever, where the CFI ends the native stack); with `burn
SECONDS` C spin_for(SECONDS), then it exits.

The oracle is written synchronously from middle() (spin holds the GIL, so
cspy_oracle's snapshot thread could never run): the Python frames from
traceback.extract_stack(), taken on the same line as the call into C, plus
the pid and native thread id, in cspy_oracle's format. Works on 2.7 and 3.6+.
"""
from __future__ import print_function

import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cspy_oracle as oracle                    # noqa: E402

PATH = oracle.start()
sys.path.insert(0, sys.argv[2])
import cspy_native_test as ext                  # noqa: E402

MODE = sys.argv[3] if len(sys.argv) > 3 else 'forever'


def write_oracle(summary):
    frames = []
    for entry in summary:
        frames.append({'filename': oracle._text(entry[0]), 'line': entry[1],
                       'name': oracle._text(entry[2]), 'qualname': None, 'firstlineno': None})
    data = {
        'pid': os.getpid(),
        'ppid': os.getppid(),
        'executable': oracle._text(sys.executable),
        'real_executable': oracle._text(os.path.realpath(sys.executable)),
        'version': '%d.%d.%d' % tuple(sys.version_info[:3]),
        'version_info': list(sys.version_info[:3]),
        'argv': [oracle._text(a) for a in sys.argv],
        'cmdline': [],
        'threads_ordered': True,
        'threads': [{'ident': oracle.get_ident(), 'native_id': oracle.native_tid(),
                     'name': 'MainThread', 'frames': frames}],
        'extra': {'ext': os.path.abspath(ext.__file__)},
    }
    oracle.write_json(PATH, data)


def middle():
    if MODE == 'forever':
        write_oracle(traceback.extract_stack()); ext.spin()
    elif MODE == 'nounwind':
        write_oracle(traceback.extract_stack()); ext.spin_nounwind()
    else:
        write_oracle(traceback.extract_stack()); ext.spin_for(float(sys.argv[4]))


def outer():
    return ext.burn_then_call(middle)


outer()
