# -*- coding: utf-8 -*-
"""Workload: a mostly idle server-like loop.

The main thread waits in select() on a socket for 10 ms (nothing comes: a
timeout), then handles a "request" (handle_request: 0.5 ms of burn loop), a
fixed number of times: --seconds / 10.5 ms loops, so about 95% of the time
blocked. 'elapsed_s' is the loop's wall time; a profiler's cost shows as
extra latency. See wl_common.py.
"""
from __future__ import division, print_function

import select
import socket

import wl_common as wl

WAIT_S = 0.010
BURST_S = 0.0005


def handle_request(n):
    i = 0
    while i < n:
        i += 1
    return i


def serve(sock, loops, burst):
    for _ in range(loops):
        select.select([sock], [], [], WAIT_S)
        handle_request(burst)


def main():
    a = wl.parse()
    loops = max(1, int(a.seconds / (WAIT_S + BURST_S)))
    burst = int(a.ips * BURST_S)
    s1, s2 = socket.socketpair()
    wl.ready_and_wait(a)
    t0 = wl.clock()
    serve(s1, loops, burst)
    elapsed = wl.clock() - t0
    s1.close()
    s2.close()
    wl.finish(a, {'workload': 'idle', 'loops': loops, 'elapsed_s': elapsed})


if __name__ == '__main__':
    main()
