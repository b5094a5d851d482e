# -*- coding: utf-8 -*-
"""Target: a process that never imports threading (run with python -S), so
there are no thread names to find. It does not use cspy_oracle (which
imports threading): it writes a minimal oracle itself, and the runner knows
its stack from the # BLOCK / # CALL / # MAIN markers below.

    python -S no_threading.py ORACLE_PATH
"""
import json
import os
import signal
import sys
import time

try:
    import _thread as rawthread
except ImportError:                 # Python 2.7
    import thread as rawthread


def sleeper():
    time.sleep(100000)  # BLOCK


def main():
    signal.alarm(300)
    with open('/proc/self/cmdline', 'rb') as f:
        cmdline = [a.decode('utf-8', 'replace') for a in f.read().split(b'\0')[:-1]]
    oracle = {
        'pid': os.getpid(), 'ppid': os.getppid(),
        'executable': sys.executable, 'real_executable': os.path.realpath(sys.executable),
        'version_info': list(sys.version_info[:3]), 'cmdline': cmdline,
        'threads_ordered': True, 'extra': {},
        'threading_imported': 'threading' in sys.modules,
        'threads': [{'ident': rawthread.get_ident(), 'native_id': os.getpid(),
                     'name': None, 'frames': []}],
    }
    tmp = sys.argv[1] + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(oracle, f)
    os.rename(tmp, sys.argv[1])
    sleeper()  # CALL


main()  # MAIN
