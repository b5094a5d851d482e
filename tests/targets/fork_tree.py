# -*- coding: utf-8 -*-
"""Target: a tree of processes for --subprocesses: this process (level 0)
forks a child (level 1), which forks a grandchild (level 2); level 0 also
runs a non-Python child (sleep), which cspy must leave out.

    python fork_tree.py ORACLE_PATH

Level N records its oracle in ORACLE_PATH.levelN and blocks in
leaf_block(N); level 0's oracle holds the others under extra['children'].
"""
from __future__ import print_function

import json
import os
import subprocess
import time

import cspy_oracle as oracle


def leaf_block(level):
    oracle.here(); time.sleep(oracle.FOREVER)


def run_level(level, path):
    files = []
    if level < 2:
        pid = os.fork()
        if pid == 0:
            oracle.after_fork()
            try:
                run_level(level + 1, path)
            finally:
                os._exit(1)
        files = ['%s.level%d' % (path, level + 1)]
    mine = path if level == 0 else '%s.level%d' % (path, level)
    extra = None
    if level == 0:
        sleeper = subprocess.Popen(['sleep', '1000'])

        def extra():
            children = []
            for f in files + ['%s.level2' % path]:
                with open(f) as fh:
                    children.append(json.load(fh))
            return {'children': children,
                    'child_pids': [c['pid'] for c in children] + [sleeper.pid],
                    'non_python_pid': sleeper.pid}
    oracle.capture(mine, nthreads=1, wait_files=files, extra=extra)
    leaf_block(level)


def main():
    path = oracle.start()
    run_level(0, path)


if __name__ == '__main__':
    main()
