# -*- coding: utf-8 -*-
"""A C-heavy target of the --native tests (tests/e2e/native.py: errors,
perf, builtin_rule).

    python workload.py ORACLE_PATH

Four threads loop in C: zlib.compress, hashlib.sha256, json round trips and
sorted() with a Python key (C calling back into Python); the main thread
recurses in Python (fib), entering and leaving the eval loop all the time.
The oracle (cspy_oracle.capture, not waiting for stable stacks) is taken
once every thread is in its loop: the runner checks that each thread's
function appears in the profile. Runs until killed. 2.7 and 3.6+.
"""
from __future__ import print_function

import hashlib
import json
import os
import random
import sys
import threading
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cspy_oracle as oracle                    # noqa: E402

PATH = oracle.start()
rnd = random.Random(1)
DATA = bytes(bytearray(rnd.randrange(256) for _ in range(100000)))
OBJ = [{'a': i, 'b': str(i) * 3, 'c': [i, i + 0.5]} for i in range(2000)]
NUMS = [rnd.random() for _ in range(20000)]


def compress_loop():
    oracle.here()
    while True:
        zlib.compress(DATA, 6)


def hash_loop():
    oracle.here()
    while True:
        hashlib.sha256(DATA).hexdigest()


def json_loop():
    oracle.here()
    while True:
        json.loads(json.dumps(OBJ))


def key(x):
    return -x


def sort_loop():
    oracle.here()
    while True:
        sorted(NUMS, key=key)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


for f in (compress_loop, hash_loop, json_loop, sort_loop):
    t = threading.Thread(target=f, name=f.__name__)
    t.daemon = True
    t.start()
oracle.capture(PATH, 5, stable=False)
oracle.here()
while True:
    fib(18)
