# -*- coding: utf-8 -*-
"""Target: the main thread blocks while importing a module (frames of the
import machinery between ours on 3.x).

    python import_block.py ORACLE_PATH

<module> -> main -> (import) -> <module> of blocking_module.py ->
block_at_import.
"""
from __future__ import print_function

import cspy_oracle as oracle


def main():
    path = oracle.start()
    oracle.capture(path, nthreads=1)
    import blocking_module
    return blocking_module


if __name__ == '__main__':
    main()
