# -*- coding: utf-8 -*-
"""Target: frames in a package, for short filenames.

    python pkg_main.py ORACLE_PATH

<module> (pkg_main.py) -> main -> entry (pkg/sub/mod.py) -> call_back
(pkg/sub/__init__.py) -> leaf (pkg/sub/mod.py), blocked in time.sleep.
"""
from __future__ import print_function

import cspy_oracle as oracle
from pkg.sub import mod


def main():
    path = oracle.start()
    oracle.capture(path, nthreads=1)
    mod.entry()


if __name__ == '__main__':
    main()
