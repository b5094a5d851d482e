# -*- coding: utf-8 -*-
"""Imported by import_block.py: blocks at import time."""
from __future__ import print_function

import time

import cspy_oracle as oracle


def block_at_import():
    oracle.here(); time.sleep(oracle.FOREVER)


block_at_import()
