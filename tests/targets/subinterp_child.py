# -*- coding: utf-8 -*-
"""Run inside a subinterpreter by subinterp.py: records this interpreter's
own view of its stack (traceback.extract_stack(), outermost first), its
thread ids and interpreter id into a JSON file, on the line of the blocking
call, then blocks in sub_block(); busy: spins in spin() instead (the frames
recorded are then sub_spin's callers and sub_spin at the call of spin())."""
import json
import os
import threading
import time
import traceback


def interp_id():
    try:
        from concurrent import interpreters
        return interpreters.get_current().id
    except ImportError:
        pass
    try:
        import _interpreters
        c = _interpreters.get_current()
        return c[0] if isinstance(c, tuple) else int(c)
    except ImportError:
        import _xxsubinterpreters
        return int(_xxsubinterpreters.get_current())


def record(path):
    frames = [{'filename': f[0], 'line': f[1], 'name': f[2]}
              for f in traceback.extract_stack()[:-1]]    # without record() itself
    data = {'frames': frames, 'interp_id': interp_id(), 'ident': threading.get_ident(),
            'native_id': threading.get_native_id()}
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f)
    os.rename(tmp, path)


def sub_block(path):
    record(path); time.sleep(100000)


def spin():
    n = 0
    while True:
        n += 1


def sub_spin(path):
    record(path); spin()


def run(path, busy=False):
    if busy:
        sub_spin(path)
    sub_block(path)
