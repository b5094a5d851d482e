# -*- coding: utf-8 -*-
"""Shared helper of the `cspy record` targets (tests/targets/record/*.py).

Every target is started as `python TARGET.py ORACLE_PATH [args...]`. It
writes its ORACLE (what the test needs to know about it: PIDs, native thread
ids and names, the first lines of its functions, the CPU time it measured
itself ...) as JSON to ORACLE_PATH, atomically (tmp file + rename, so the
file appearing means "ready"). Targets that run "forever" are ended by the
test runner by PID; a SIGALRM after SAFETY_SECONDS ends them otherwise.

Runs under Python 2.7 and 3.6+ (no f-strings).
"""
from __future__ import print_function

import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))          # tests/targets: cspy_oracle
import cspy_oracle                                   # noqa: E402

SAFETY_SECONDS = 300
FOREVER = 100000
clock = getattr(time, 'perf_counter', time.time)     # 2.7: time.time
native_tid = cspy_oracle.native_tid


class ThreadRegistry(object):
    """Threads that report themselves in place: register(key) from the
    thread records (native thread id, thread name) under key."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tids = {}

    def register(self, key):
        with self.lock:
            self.tids[key] = (native_tid(), threading.current_thread().name)


def start():
    """Arm the safety alarm; return the oracle path."""
    signal.alarm(SAFETY_SECONDS)
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s ORACLE_PATH [args]\n' % sys.argv[0])
        sys.exit(2)
    return sys.argv[1]


def write(path, data):
    """Write the oracle (adds pid, ppid, cmdline, version; 'extra' as the
    dump suite's Target class expects)."""
    data.setdefault('pid', os.getpid())
    data.setdefault('ppid', os.getppid())
    data.setdefault('cmdline', cspy_oracle._cmdline())
    data.setdefault('version_info', list(sys.version_info[:3]))
    data.setdefault('extra', {})
    cspy_oracle.write_json(path, data)


def func_info(f):
    """Name, co_filename and first line of a function (code object)."""
    code = getattr(f, '__code__', f)
    return {'name': cspy_oracle._text(code.co_name),
            'filename': cspy_oracle._text(code.co_filename),
            'firstlineno': code.co_firstlineno}


def spin_until(end):
    """Busy loop (this frame is the leaf) until clock() >= end."""
    n = 0
    while clock() < end:
        n += 1
    return n
