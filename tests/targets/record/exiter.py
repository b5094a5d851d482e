# -*- coding: utf-8 -*-
"""Target (launch mode: the exit status survives a race with the sampler):
busy threads, and the process ends at a chosen moment.

    python exiter.py ORACLE_PATH HOW VALUE SECONDS THREADS

The oracle {pid, start (time.time() at start)} is written first; THREADS
daemon threads spin in exiter_busy (started after the fork); the main thread
spins in exiter_main. After SECONDS: HOW = exit: the main thread calls
sys.exit(VALUE); _exit: the main thread calls os._exit(VALUE); signal: a
process it forked at the start kills it with signal VALUE (its default
action restored first), from outside, at the worst moment: as soon as its
main thread is seized by a tracer (cspy pausing it; TracerPid in
/proc/PID/status), or 1 s later; kill: the main thread kills the process
with signal VALUE itself.
"""
from __future__ import print_function

import os
import signal
import sys
import threading
import time

import rec_common as rc


def exiter_busy():
    """Busy in the kernel without the GIL: the threads compete with the
    main thread for the one CPU, not for the GIL."""
    with open('/dev/zero', 'rb', 0) as f:
        while True:
            f.read(1 << 20)


def exiter_main(seconds):
    return rc.spin_until(rc.clock() + seconds)


def exiter_forks(seconds):
    """Fork and reap children that exit at once, with 64 MiB of memory
    touched: each fork copies its page tables in the kernel, where a pause
    waits for the thread's stop the longest."""
    ballast = bytearray(64 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    end = rc.clock() + seconds
    while rc.clock() < end:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return len(ballast)


def tracer(pid):
    """TracerPid of pid's main thread, 0 if none (or gone)."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('TracerPid:'):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError):
        pass
    return 0


def main():
    path = rc.start()
    how, value, seconds, threads = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    start = time.time()
    rc.write(path, {'start': start})
    if how == 'signal':
        if value != signal.SIGKILL:
            signal.signal(value, signal.SIG_DFL)
        parent = os.getpid()
        if os.fork() == 0:
            time.sleep(max(0.0, seconds - (time.time() - start)))
            # The worst moment: while a tracer (cspy) has it seized.
            end = time.time() + 1.0
            while time.time() < end and tracer(parent) == 0:
                pass
            os.kill(parent, value)
            os._exit(0)
    if threads and hasattr(os, 'sched_setaffinity'):
        # All on one CPU: the main thread often waits for it, so that a
        # pause waits long for its stop (the window of the race).
        os.sched_setaffinity(0, [sorted(os.sched_getaffinity(0))[0]])
    for _ in range(threads):
        t = threading.Thread(target=exiter_busy)
        t.daemon = True
        t.start()
    if how == 'signal':
        exiter_forks(seconds + 10)
        os._exit(99)            # not reached
    exiter_main(seconds)
    if how == 'exit':
        sys.exit(value)
    elif how == '_exit':
        os._exit(value)
    elif how == 'kill':
        if value != signal.SIGKILL:
            signal.signal(value, signal.SIG_DFL)
        os.kill(os.getpid(), value)
        time.sleep(10)
        os._exit(99)            # not reached
    sys.exit('unknown HOW %r' % how)


if __name__ == '__main__':
    main()
