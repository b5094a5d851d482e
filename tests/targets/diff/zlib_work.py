# SPDX-License-Identifier: MIT
#
# The --native target of the diff tier (tests/e2e/diff.py): compresses a
# buffer with zlib (C code of libz, much of it static functions without a
# symbol in .dynsym) for SECONDS, then exits; two runs load libz at
# different addresses (ASLR), so only stable native frame identities line
# the two up. Python 2.7 and 3.
#     python zlib_work.py SECONDS
import sys
import time
import zlib


def squeeze(data):
    return zlib.compress(data, 9)


def main():
    data = b''.join(str(i * 7919 % 10007).encode('ascii') for i in range(20000))
    end = time.time() + float(sys.argv[1])
    while time.time() < end:
        squeeze(data)


main()
