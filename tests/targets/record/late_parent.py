# -*- coding: utf-8 -*-
"""Target (--subprocesses): a descendant that becomes Python late.

    python late_parent.py ORACLE_PATH LATE_PYTHON_BINARY

Starts LATE_PYTHON_BINARY (tests/targets/record/late_python.c, compiled by
the runner): a C program that loads this interpreter's libpython with dlopen
only once the file ORACLE_PATH.go exists, then runs late_burn() (spinning)
and writes ORACLE_PATH.loaded when it starts it. Writes the oracle {pid,
child: the C program's PID, libpython} and sleeps in parent_wait. The
runner ends the child by PID. Needs a shared build (libpython as a library).
"""
from __future__ import print_function

import os
import subprocess
import sys
import sysconfig
import time

import rec_common as rc

CHILD_CODE = '''
import os, signal, time
signal.alarm(%(safety)d)
def late_burn():
    n = 0
    while True:
        n += 1
open(%(loaded)r, 'w').close()
late_burn()
'''


def libpython():
    libdir = sysconfig.get_config_var('LIBDIR')
    name = sysconfig.get_config_var('INSTSONAME') or sysconfig.get_config_var('LDLIBRARY')
    return os.path.join(libdir, name)


def parent_wait(path):
    while not os.path.exists(path):
        time.sleep(0.01)


def main():
    path = rc.start()
    env = dict(os.environ)
    env['PYTHONHOME'] = sys.prefix if sys.prefix == sys.exec_prefix else \
        '%s:%s' % (sys.prefix, sys.exec_prefix)
    env.pop('PYTHONPATH', None)
    lib = libpython()
    code = CHILD_CODE % {'safety': rc.SAFETY_SECONDS, 'loaded': path + '.loaded'}
    child = subprocess.Popen([sys.argv[2], path + '.go', lib, code], env=env)
    rc.write(path, {'child': child.pid, 'libpython': lib,
                    'extra': {'child_pids': [child.pid]}})
    parent_wait(path + '.never')


if __name__ == '__main__':
    main()
