# -*- coding: utf-8 -*-
"""Target (launch mode: exit status, --capture, PR_SET_PDEATHSIG, sudo,
legacy command lines): print, burn CPU, exit.

    python launch.py ORACLE_PATH [--say MARKER] [--burn SECONDS]
                                 [--exit STATUS] [--forever]

--say: print MARKER to stdout and to stderr first (flushed). The oracle
{pid, uid, gid, euid, egid} is written next; then launch_burn spins for
SECONDS (default 1), or forever with --forever; then the target exits with
STATUS (default 0).
"""
from __future__ import print_function

import os
import sys

import rec_common as rc


def launch_burn(seconds):
    end = rc.clock() + seconds
    n = 0
    while rc.clock() < end:
        n += 1
    return n


def main():
    path = rc.start()
    args = sys.argv[2:]
    say, burn, status, forever = None, 1.0, 0, False
    while args:
        a = args.pop(0)
        if a == '--say':
            say = args.pop(0)
        elif a == '--burn':
            burn = float(args.pop(0))
        elif a == '--exit':
            status = int(args.pop(0))
        elif a == '--forever':
            forever = True
        else:
            sys.exit('unknown argument %r' % a)
    if say:
        sys.stdout.write(say + ' (stdout)\n')
        sys.stdout.flush()
        sys.stderr.write(say + ' (stderr)\n')
        sys.stderr.flush()
    rc.write(path, {'uid': os.getuid(), 'gid': os.getgid(), 'euid': os.geteuid(),
                    'egid': os.getegid(), 'tid': rc.native_tid()})
    while True:
        launch_burn(burn)
        if not forever:
            break
    sys.exit(status)


if __name__ == '__main__':
    main()
