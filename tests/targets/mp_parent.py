# -*- coding: utf-8 -*-
"""Target: a multiprocessing parent with 2 forked children (--subprocesses).

    python mp_parent.py ORACLE_PATH

Child i (multiprocessing 'fork', the only method on 2.7) records its own
oracle in ORACLE_PATH.child<i> and blocks in child_block(i). The parent
waits for both, then blocks in parent_block(); its oracle holds the
children's under extra['children'] and their PIDs under extra['child_pids'].
"""
from __future__ import print_function

import json
import multiprocessing
import time

import cspy_oracle as oracle


def child_block(i):
    oracle.here(); time.sleep(oracle.FOREVER)


def child_main(i, path):
    oracle.after_fork()
    oracle.capture('%s.child%d' % (path, i), nthreads=1)
    child_block(i)


def parent_block():
    oracle.here(); time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    if hasattr(multiprocessing, 'get_context'):
        ctx = multiprocessing.get_context('fork')
    else:
        ctx = multiprocessing
    procs = [ctx.Process(target=child_main, args=(i, path), name='child-%d' % i)
             for i in range(2)]
    for p in procs:
        p.daemon = False
        p.start()
    files = ['%s.child%d' % (path, i) for i in range(2)]

    def extra():
        children = []
        for f in files:
            with open(f) as fh:
                children.append(json.load(fh))
        return {'children': children, 'child_pids': [p.pid for p in procs]}

    oracle.capture(path, nthreads=1, wait_files=files, extra=extra)
    parent_block()


if __name__ == '__main__':
    main()
