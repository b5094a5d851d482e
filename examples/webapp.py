# A small stand-in for a web server, bundled with cspy to try it on:
# a main thread waiting for "requests", two worker threads, one of them
# busy computing. Runs on Python 2.7 and 3.x. Stop it with Ctrl-C.
from __future__ import print_function

import threading
import time


def fibonacci(n):
    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)


def handle_request(n):
    return fibonacci(n)


def busy_worker():
    while True:
        handle_request(22)


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
