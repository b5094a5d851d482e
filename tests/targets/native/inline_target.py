# -*- coding: utf-8 -*-
"""Target of the --native inline check (tests/e2e/native.py).

    python inline_target.py ORACLE_PATH LIBRARY

Loads LIBRARY (cspy_inline_test.c, built -O2 -g) with ctypes and calls
outer_spin(), which spins forever in the function inlined into it; ctypes
lets the GIL go during the call, so the oracle thread takes the Python
stack (f, <module>) on the line of the call. 2.7 and 3.6+.
"""
from __future__ import print_function

import ctypes
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cspy_oracle as oracle                    # noqa: E402

PATH = oracle.start()
lib = ctypes.CDLL(sys.argv[2])


def f():
    oracle.capture(PATH, 1)
    oracle.here(); lib.outer_spin()


f()
