# -*- coding: utf-8 -*-
"""Target of the `split` tier (tests/e2e/split.py): one thread that runs
phases whose python / native / system split is known from inside.

    python split_target.py ORACLE_PATH [PHASE_SECONDS [PHASE,...]]

It prepares its inputs, writes the ORACLE (pid, one thread), waits until
ORACLE_PATH + ".go" exists (the recordings have started), then runs each
phase for PHASE_SECONDS (default 0.5) of wall time, in its own function:

  phase_python  a pure-Python loop (integer arithmetic): python
  phase_zlib    zlib.compress of 4 MiB: native (libz, or zlib built in)
  phase_sha256  hashlib.sha256 of 16 MiB: native (libcrypto or _sha256)
  phase_sorted  sorted() of 200000 floats: native (list_sort, in the
                interpreter, called by a call instruction)
  phase_read    readinto() of /dev/zero in 64 MiB blocks: system
  phase_stat    os.stat of its own file in a loop: system, with the Python
                around each call
  phase_mixed   in one thread, by turns of about a millisecond: mixed_python
                (a pure-Python loop), mixed_stat (os.stat in a loop) and
                mixed_touch (1 MiB of fresh anonymous memory written: page
                faults, kernel time without a system call): the python
                function is python though its neighbours run in the kernel
  phase_python_mt, phase_gil_free
                at once, in two threads: the main thread's pure-Python loop
                (python) while another compresses with zlib, which lets the
                GIL go around deflate (native: a thread running without the
                GIL, which a pause of the GIL holder alone does not stop)

A list of phase names runs only those (bench/split_cost.py: one phase for
as long as a recording lasts).

For each phase it measures its own wall time (perf_counter) and its CPU
time in user and system mode (os.times(): the process's, and it has one
thread), and writes them to ORACLE_PATH + ".result" (JSON: a list of
{"name", "wall_s", "user_s", "sys_s", "ops"}), then exits. Runs under
Python 2.7 and 3.6+.
"""
from __future__ import print_function

import hashlib
import io
import mmap
import os
import random
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cspy_oracle  # noqa: E402

clock = getattr(time, 'perf_counter', time.time)
ORACLE = cspy_oracle.start()
PHASE_S = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
HERE_FILE = os.path.abspath(__file__)


def phase_python(deadline, data):
    ops = 0
    while clock() < deadline:
        x = 0
        for i in range(20000):
            x += i * i % 7
        ops += 1
    return ops


def phase_zlib(deadline, data):
    ops = 0
    while clock() < deadline:
        zlib.compress(data['z'], 6)
        ops += 1
    return ops


def phase_sha256(deadline, data):
    ops = 0
    while clock() < deadline:
        hashlib.sha256(data['h']).digest()
        ops += 1
    return ops


def phase_sorted(deadline, data):
    ops = 0
    while clock() < deadline:
        sorted(data['s'])
        ops += 1
    return ops


def phase_read(deadline, data):
    ops = 0
    f = data['zero']
    while clock() < deadline:
        f.readinto(data['buf'])
        ops += 1
    return ops


def phase_stat(deadline, data):
    ops = 0
    while clock() < deadline:
        os.stat(HERE_FILE)
        ops += 1
    return ops


def mixed_python():
    x = 0
    for i in range(15000):
        x += i * i % 7
    return x


def mixed_stat():
    for _ in range(100):
        os.stat(HERE_FILE)


def mixed_touch(block):
    mm = mmap.mmap(-1, len(block))      # fresh pages: each written one faults
    mm.write(block)
    mm.close()


def phase_mixed(deadline, data):
    ops = 0
    while clock() < deadline:
        mixed_python()
        mixed_stat()
        mixed_touch(data['block'])
        ops += 1
    return ops


def phase_python_mt(deadline, data):
    ops = 0                             # phase_python's loop (not a call of it: its own frames)
    while clock() < deadline:
        x = 0
        for i in range(20000):
            x += i * i % 7
        ops += 1
    return ops


def phase_gil_free(deadline, data):
    ops = 0
    while clock() < deadline:
        zlib.compress(data['z'], 6)
        ops += 1
    return ops


def threads_phase(deadline, data):
    """phase_python_mt here while phase_gil_free runs in another thread."""
    box = {}
    th = threading.Thread(target=lambda: box.setdefault('ops', phase_gil_free(deadline, data)),
                          name='gil_free')
    th.start()
    ops = phase_python_mt(deadline, data)
    th.join()
    return ops + box.get('ops', 0)


PHASES = (phase_python, phase_zlib, phase_sha256, phase_sorted, phase_read, phase_stat,
          threads_phase, phase_mixed)


def prepare():
    rnd = random.Random(17)
    words = [('%x' % rnd.getrandbits(24)).encode() for _ in range(4096)]
    z = b' '.join(rnd.choice(words) for _ in range(600000))[:4 << 20]
    buf = bytearray(64 << 20)
    zero = io.open('/dev/zero', 'rb', buffering=0)
    zero.readinto(buf)                  # its pages touched once, before the phases
    return {'z': z, 'h': os.urandom(16 << 20), 's': [rnd.random() for _ in range(200000)],
            'buf': buf, 'zero': zero, 'block': b'\x01' * (1 << 20)}


def wait_go():
    end = clock() + 60
    while not os.path.exists(ORACLE + '.go'):
        if clock() > end:
            sys.exit('no .go file after 60 s')
        time.sleep(0.005)


def main():
    data = prepare()
    cspy_oracle.write_json(ORACLE, {'pid': os.getpid(), 'version': sys.version.split()[0],
                                    'threads': [{}], 'extra': {}})
    wait_go()
    out = []
    only = sys.argv[3].split(',') if len(sys.argv) > 3 else None
    for fn in PHASES if not only else [f for f in PHASES if f.__name__ in only]:
        t0, w0 = os.times(), clock()
        ops = fn(w0 + PHASE_S, data)
        t1, w1 = os.times(), clock()
        out.append({'name': fn.__name__, 'wall_s': w1 - w0, 'user_s': t1[0] - t0[0],
                    'sys_s': t1[1] - t0[1], 'ops': ops})
    cspy_oracle.write_json(ORACLE + '.result', out)


if __name__ == '__main__':
    main()
