"""A thread-per-request server in miniature, for the stream tier
(tests/e2e/stream.py): for SECONDS (argv[1]) the main thread computes in
`serve` and starts a short-lived thread per "request" (named
"request-N", computing in `handle` for ~15 ms), so threads start and exit
all the time and their ids churn. With "print" as argv[2] it prints a line
to stdout per request (cspy's --stream must keep it out of its own
output); else nothing. Ctrl-C (SIGINT) ends it with status 0. Python 2.7
and 3.
"""
import sys
import threading
import time


def spin(ms):
    end = time.time() + ms / 1000.0
    n = 0
    while time.time() < end:
        n += 1
    return n


def handle(ms):
    return spin(ms)


def serve(seconds, chatty):
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        t = threading.Thread(target=handle, args=(15,), name='request-%d' % i)
        t.start()
        spin(10)
        t.join()
        if chatty:
            sys.stdout.write('request %d done\n' % i)
            sys.stdout.flush()
        i += 1


def main():
    try:
        serve(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0, sys.argv[2:3] == ['print'])
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
