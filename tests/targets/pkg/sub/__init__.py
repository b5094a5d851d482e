# Sub-package of the cspy end-to-end target pkg_main.py.


def call_back(fn):
    return fn()
