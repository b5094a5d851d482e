# -*- coding: utf-8 -*-
"""Module of the cspy end-to-end target pkg_main.py: shown as pkg/sub/mod.py."""
from __future__ import print_function

import time

import cspy_oracle as oracle
from pkg.sub import call_back


def leaf():
    oracle.here(); time.sleep(oracle.FOREVER)


def entry():
    return call_back(leaf)
