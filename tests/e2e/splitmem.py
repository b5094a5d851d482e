# SPDX-License-Identifier: MIT
"""A small saved profile (cspy's JSON) with the python/native/system split
(meta "classified", stack "classes") and --memory bytes (meta "memory",
stack "memory": grow and shrink), for the checks of every output of them
driven by `cspy report PROFILE -f FORMAT` (pprof.py's split_memory,
tests/html/run.py's split_memory case). No sampling: the numbers are the
profile's, so each format's numbers must equal these.

write(path) writes it; STACKS holds each stack's (thread, functions root
first, count, (python, native, system), (grow, shrink)); the helpers add
them up by function, by class and by thread. Python 3.6+ standard library.
"""
import json

SOURCE = ('import threading\n\n'
          'def grow_big():\n    return [0] * (25 * 1024 * 1024)\n\n'
          'def grow_small():\n    return bytearray(50 << 20)\n\n'
          'def free_it(x):\n    del x[:]\n\n'
          'def main():\n    grow_big()\n    grow_small()\n    free_it([])\n')
FILE = '/srv/app/alloc.py'
SHORT = 'alloc.py'
# name -> line of the frame in the stacks
LINES = {'main': 13, 'grow_big': 4, 'grow_small': 7, 'free_it': 10, 'worker': 13}
THREADS = [(100, 100, 'MainThread'), (100, 101, 'worker')]
MIB = 1 << 20
STACKS = [
    (0, ['main', 'grow_big'], 50, (30, 15, 5), (200 * MIB, 0)),
    (0, ['main', 'grow_small'], 30, (10, 20, 0), (50 * MIB, 2 * MIB)),
    (0, ['main', 'free_it'], 20, (2, 3, 15), (0, 100 * MIB)),
    (0, ['main'], 4, (0, 0, 0), (0, 0)),            # idle: not classified
    (1, ['worker', 'grow_small'], 10, (1, 8, 1), (10 * MIB, 1 * MIB)),
]
CLASSES = ['python', 'native', 'system']


def doc():
    names = []
    for s in STACKS:
        for n in s[1]:
            if n not in names:
                names.append(n)
    frames = [{'name': n, 'filename': FILE, 'short_filename': SHORT, 'line': LINES[n], 'kind': 'python'}
              for n in names]
    stacks = []
    for th, fns, count, cls, mem in STACKS:
        stacks.append({'thread': th, 'frames': [names.index(n) for n in fns], 'count': count,
                       'classes': dict(zip(CLASSES, cls)),
                       'memory': {'grow': mem[0], 'shrink': mem[1]}})
    total = sum(s[2] for s in STACKS)
    return {
        'cspy': {'version': 'test', 'format_version': 1},
        'meta': {'title': 'python3 alloc.py', 'command_line': 'python3 alloc.py',
                 'python_version': '3.12.3', 'rate_hz': 100, 'start_unix_ns': 1712345678901234567,
                 'duration_ns': 1000000000, 'samples': total, 'errors': 0, 'ticks': 100,
                 'gil_only': False, 'idle_included': True, 'native': False, 'mode': 'wall',
                 'exception_only': False, 'gc_frames': False, 'classified': True, 'memory': True},
        'frames': frames,
        'threads': [{'pid': p, 'tid': t, 'name': n, 'command_line': 'python3 alloc.py',
                     'samples': sum(s[2] for s in STACKS if s[0] == i)}
                    for i, (p, t, n) in enumerate(THREADS)],
        'stacks': stacks,
        'sources': [{'filename': FILE, 'text': SOURCE}],
    }


def write(path):
    with open(path, 'w') as f:
        json.dump(doc(), f)


def leaf_totals(index):
    """{leaf function: sum of field `index` of its stacks} (2: count;
    ('cls', i): class i; ('mem', i): grow (0) or shrink (1))."""
    out = {}
    for s in STACKS:
        v = s[2] if index == 'count' else s[3][index[1]] if index[0] == 'cls' else s[4][index[1]]
        out[s[1][-1]] = out.get(s[1][-1], 0) + v
    return out


def total(index):
    return sum(leaf_totals(index).values())


if __name__ == '__main__':      # tests/validate/run_formats.sh: write it to argv[1]
    import sys
    write(sys.argv[1])
