# -*- coding: utf-8 -*-
"""Target (launch mode: how cspy ends the program): SIGINT and SIGTERM
handlers that clean up and exit 5, or both signals ignored.

    python handlers.py ORACLE_PATH MARKER_PATH [--ignore]

The handlers are installed (SIG_IGN for both with --ignore), then the oracle
is written; the main thread spins in handlers_burn forever. A handler appends
"INT\\n" or "TERM\\n" to MARKER_PATH (flushed, fsynced: one line per call)
and calls sys.exit(5).
"""
from __future__ import print_function

import os
import signal
import sys

import rec_common as rc

MARKER = None


def on_signal(sig, frame):
    with open(MARKER, 'a') as f:
        f.write('INT\n' if sig == signal.SIGINT else 'TERM\n')
        f.flush()
        os.fsync(f.fileno())
    sys.exit(5)


def handlers_burn():
    while True:
        rc.spin_until(rc.clock() + 0.01)


def main():
    global MARKER
    path = rc.start()
    MARKER = sys.argv[2]
    ignore = sys.argv[3:] == ['--ignore']
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN if ignore else on_signal)
    rc.write(path, {})
    handlers_burn()


if __name__ == '__main__':
    main()
