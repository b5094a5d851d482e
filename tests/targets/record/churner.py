# -*- coding: utf-8 -*-
"""Target: a thread-per-request server in miniature (memory of `cspy record`
must not grow with the threads ever seen; the e2e check record churn_memory
and the bench soak).

    python churner.py ORACLE_PATH THREADS [BUSY_MS] [CONCURRENCY]
    python churner.py ORACLE_PATH --seconds SECONDS [BUSY_MS] [CONCURRENCY]

Starts THREADS threads (or as many as fit in SECONDS), CONCURRENCY (default
4) at a time, each with the default name threading gives it ("Thread-123
(handle_request)" on 3.10+, "Thread-123" before), each spinning BUSY_MS
(default 3) ms in handle_request. With --seconds, the oracle {pid, ...} is
written first (a long run the bench attaches to); otherwise it is written at
the end with what the handlers measured: threads, busy_s (the wall time
spent in handle_request, summed), busy_cpu_s (their time on a CPU, from
/proc/thread-self/schedstat), names (the first five).
"""
from __future__ import print_function

import signal
import sys
import threading

import rec_common as rc

LOCK = threading.Lock()
BUSY = [0.0, 0.0]


def thread_cpu_s():
    """This thread's time on a CPU (the kernel's schedstat), in seconds."""
    try:
        with open('/proc/thread-self/schedstat') as f:
            return int(f.read().split()[0]) / 1e9
    except (IOError, OSError, ValueError, IndexError):
        return 0.0


def handle_request(busy_s):
    t0, c0 = rc.clock(), thread_cpu_s()
    rc.spin_until(t0 + busy_s)
    c1, t1 = thread_cpu_s(), rc.clock()
    with LOCK:
        BUSY[0] += t1 - t0
        BUSY[1] += c1 - c0


def main():
    path = rc.start()
    args = sys.argv[2:]
    seconds = None
    if args[0] == '--seconds':
        seconds = float(args[1])
        args = args[2:]
        count = None
    else:
        count = int(args.pop(0))
    busy = float(args[0]) / 1000 if args else 0.003
    conc = int(args[1]) if len(args) > 1 else 4
    if seconds is not None:
        rc.write(path, {'mode': 'seconds'})
        signal.alarm(int(seconds) + 120)
    end = rc.clock() + (seconds or 0)
    started, names = 0, []
    while (count is None and rc.clock() < end) or (count is not None and started < count):
        batch = []
        for _ in range(conc):
            t = threading.Thread(target=handle_request, args=(busy,))
            t.start()
            batch.append(t)
            if len(names) < 5:
                names.append(t.name)
        started += len(batch)
        for t in batch:
            t.join()
    if seconds is None:
        rc.write(path, {'threads': started, 'busy_s': BUSY[0], 'busy_cpu_s': BUSY[1],
                        'names': names})


if __name__ == '__main__':
    main()
