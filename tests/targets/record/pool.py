# -*- coding: utf-8 -*-
"""Target (launch mode: the end of a program with worker processes): a
multiprocessing Pool of 2 workers kept busy, as a user's script would.

    python pool.py ORACLE_PATH

The oracle {pid, workers: [PID, PID]} is written once both workers run;
then the main thread hands the pool batches of pool_work (CPU for 20 ms
each) forever. On SIGINT (KeyboardInterrupt) the pool is terminated and
joined, as `with Pool() as pool:` does, and the exception goes on: the
program ends as a Ctrl-C ends it. A worker killed under the pool, or the
pool's pipes closed while a worker writes (the parent SIGKILLed), would
print BrokenPipeError / EOFError tracebacks: the test looks for those.
"""
from __future__ import print_function

import multiprocessing
import os

import rec_common as rc


def pool_work(n):
    rc.spin_until(rc.clock() + 0.02)
    return os.getpid()


def main():
    path = rc.start()
    # 'fork' everywhere (3.14's default, forkserver, starts slowly on a debug
    # build; 2.7 has no contexts).
    ctx = multiprocessing.get_context('fork') if hasattr(multiprocessing, 'get_context') \
        else multiprocessing
    pool = ctx.Pool(2)
    try:
        workers = [p.pid for p in pool._pool]
        pool.map_async(pool_work, range(4)).get(60)
        rc.write(path, {'workers': workers})
        while True:
            # get() with a timeout: on 2.7 a wait without one defers SIGINT.
            pool.map_async(pool_work, range(8)).get(60)
    finally:
        pool.terminate()
        pool.join()


if __name__ == '__main__':
    main()
