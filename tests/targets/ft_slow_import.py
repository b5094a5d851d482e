"""Target of record.py's ft_gil: imports cspy_slow_import (its directory is
argv[2]; built from slow_import.c), whose init takes 4 s, while a thread
spins; writes argv[1] + ".importing" before the import and argv[1] +
".imported" after it, then spins until killed. Free-threaded 3.13+."""
import os
import sys
import threading


def spin():
    x = 0
    while True:
        x += 1


def mark(path):
    with open(path + '.tmp', 'w') as f:
        f.write(str(os.getpid()))
    os.rename(path + '.tmp', path)


threading.Thread(target=spin, daemon=True).start()
sys.path.insert(0, sys.argv[2])
mark(sys.argv[1] + '.importing')
import cspy_slow_import  # noqa: E402,F401
mark(sys.argv[1] + '.imported')
spin()
