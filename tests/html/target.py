# SPDX-License-Identifier: MIT
#
# The live target of the html tier (tests/html/run.py): the main thread
# spends its time on one known line of hot() (a line whose builtin calls
# keep the interpreter on it), a thread named "spinner" runs spin() (code
# without a file, "<spinner>"); the
# line numbers come from the running code itself (sys._getframe) and are
# written as JSON to the file named by argv[1] before the work starts, so
# the test knows the hot line without parsing this file. argv[2]: seconds.
# Runs on Python 2.7 and 3.x.
import json
import sys
import threading
import time


def hot(n):
    first = sys._getframe().f_lineno
    x = 0
    for i in range(n):
        x += len(str(i) * 300) + len(repr(list(range(40))))
    return x, first + 3


# The spinner's code has no file ("<spinner>", as exec'd code has): its
# samples never land on this file's lines, whatever the scheduler does.
SPIN = """
def spin(stop):
    while not stop.is_set():
        sum(range(20000))
"""
exec(compile(SPIN, "<spinner>", "exec"))


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    stop = threading.Event()
    t = threading.Thread(target=spin, args=(stop,), name="spinner")  # noqa: F821 (exec)
    t.start()
    _, hot_line = hot(1)
    with open(out + ".tmp", "w") as f:
        json.dump({"file": __file__, "hot_line": hot_line,
                   "hot_def": hot.__code__.co_firstlineno}, f)
    import os
    os.rename(out + ".tmp", out)
    end = time.time() + seconds
    while time.time() < end:
        hot(200)
    stop.set()
    t.join()


main()
