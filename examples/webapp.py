# A small stand-in for a web server, bundled with cspy to try it on:
# a main thread waiting for "requests", two worker threads, one of them
# busy serving: each request renders (Python code), compresses its page
# (zlib: C code) and checks its template files (os.stat: system calls);
# every tenth one also builds a report into a cache that grows to about
# 100 MB and is then dropped (memory). Runs on Python 2.7 and 3.x. Stop it with Ctrl-C.
from __future__ import print_function

import os
import threading
import time
import zlib

PAGE = b"<li>item</li>" * 20000         # about 260 KB
CACHE = []


def fibonacci(n):
    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)


def render(n):
    return fibonacci(20)


def compress_page():
    return zlib.compress(PAGE, 6)


def check_templates():
    for _ in range(300):
        os.stat(__file__)


def build_report():
    CACHE.append([(i, "row %d" % i) for i in range(20000)])
    if len(CACHE) >= 40:
        del CACHE[:]


def handle_request(n):
    render(n)
    compress_page()
    check_templates()
    if n % 10 == 0:
        build_report()


def busy_worker():
    n = 0
    while True:
        n += 1
        handle_request(n)


def idle_worker(event):
    event.wait()


def serve_forever():
    event = threading.Event()
    for target, args, name in ((busy_worker, (), "worker-busy"),
                               (idle_worker, (event,), "worker-idle")):
        worker = threading.Thread(target=target, args=args, name=name)
        worker.daemon = True    # so that Ctrl-C (SIGINT) ends the program
        worker.start()
    while True:
        time.sleep(0.5)


if __name__ == "__main__":
    print("webapp running; pid", __import__("os").getpid())
    try:
        serve_forever()
    except KeyboardInterrupt:
        pass
