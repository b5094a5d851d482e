#!/usr/bin/env python
"""Print the call-family opcodes of the interpreter running this script, as
a line of the C table in src/python/opcodes.c.

The python/native/system split (src/sampler/classify.c) asks, for a thread
whose PC is in the interpreter but outside its eval loop, whether the
innermost Python frame's current instruction calls into C: then the C code
is a builtin (native), else a helper of that instruction (python). The
opcode numbers differ per minor version, and 3.11+ rewrite instructions into
specialized ones at run time (PRECALL_NO_KW_BUILTIN_O, CALL_LEN ...): the
numbers come from the interpreter's own `opcode`/`dis` modules, every name
with CALL in it except the ones that only push a Python frame (CALL_PY_*,
PRECALL_PYFUNC, CALL_BOUND_METHOD_*), 3.8's CALL_FINALLY (a jump) and
the 3.6-3.8 BUILD_*_WITH_CALL.

    for p in python2.7 python3.6 ... python3.15; do $p tools/opcode_calls.py; done

Python 2.7 and 3.6+, standard library only.
"""
import dis
import opcode
import sys


def names():
    m = dict(opcode.opmap)
    for extra in (getattr(dis, '_all_opmap', None), getattr(opcode, '_specialized_opmap', None)):
        if extra:
            m.update(extra)
    return m


def is_call(name):
    if 'CALL' not in name or name.startswith('BUILD_') or name == 'CALL_FINALLY':
        return False
    return not ('_PY_' in name or 'PYFUNC' in name or 'BOUND_METHOD' in name)


def main():
    calls = sorted(set(num for name, num in names().items() if is_call(name) and 0 <= num < 256))
    words = [0, 0, 0, 0]
    for n in calls:
        words[n // 64] |= 1 << (n % 64)
    print('\t{ 0x%x%02x, { %s } },\t/* %s */' % (
        sys.version_info[0], sys.version_info[1],
        ', '.join('0x%016xull' % w for w in words),
        ' '.join(str(n) for n in calls)))


if __name__ == '__main__':
    main()
