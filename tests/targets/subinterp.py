# -*- coding: utf-8 -*-
"""Target: subinterpreters (3.10+).

    python subinterp.py ORACLE_PATH [busy]

An idle subinterpreter exists; the thread "runner" runs code in another
subinterpreter (3.14: concurrent.interpreters, 3.13: _interpreters, 3.12:
_xxsubinterpreters, also 3.10/3.11), which blocks in subinterp_child.sub_block(); the main
thread blocks in main_wait(). The code in the subinterpreter records its own
view (traceback.extract_stack(), its thread ids and interpreter id) into a
file next to the oracle (with "busy" it spins in
subinterp_child.spin() instead of blocking); the oracle's extra holds it as 'sub', with the
interpreter ids ('main_interp', 'idle_interp', 'run_interp'). The runner's
whole stack is its frames in the main interpreter (in the oracle's threads)
followed by the subinterpreter's. A Python without subinterpreters writes
an oracle whose extra says 'na' and why.
"""
from __future__ import print_function

import os
import sys
import threading

import cspy_oracle as oracle

HERE = os.path.dirname(os.path.abspath(__file__))


def api():
    """(name, create(), run(interp, code), id_of(interp), current_id())."""
    try:
        from concurrent import interpreters as m      # 3.14+
        return ('concurrent.interpreters', m.create, lambda i, c: i.exec(c),
                lambda i: i.id, lambda: m.get_current().id)
    except ImportError:
        pass
    try:
        import _interpreters as m                      # 3.13
        def cur():
            c = m.get_current()
            return c[0] if isinstance(c, tuple) else int(c)
        return ('_interpreters', m.create, m.exec, int, cur)
    except ImportError:
        pass
    try:
        import _xxsubinterpreters as m                 # 3.10-3.12
        return ('_xxsubinterpreters', m.create, m.run_string, int,
                lambda: int(m.get_current()))
    except ImportError:
        return None


def main_wait():
    oracle.here(); oracle.time.sleep(oracle.FOREVER)


def main():
    path = oracle.start()
    a = api()
    if a is None or sys.version_info < (3, 10):
        oracle.write_json(path, {'pid': os.getpid(), 'na': 'no subinterpreter module, or '
                                 'Python < 3.10 (%s)' % sys.version.split()[0], 'threads': [],
                                 'extra': {'na': True}})
        oracle.time.sleep(oracle.FOREVER)
        return
    name, create, run, id_of, current_id = a
    sub_path = path + '.sub.json'
    main_native = threading.get_native_id()
    idle = create()
    busy = create()
    code = ('import sys; sys.path.insert(0, %r); import subinterp_child; '
            'subinterp_child.run(%r, %r)' % (HERE, sub_path, sys.argv[2:] == ['busy']))

    def runner():
        oracle.here(); run(busy, code)

    t = threading.Thread(target=runner, name='runner')
    t.daemon = True
    t.start()

    def extra():
        import json
        with open(sub_path) as f:
            sub = json.load(f)
        return {'api': name, 'sub': sub, 'main_interp': current_id(),
                'idle_interp': id_of(idle), 'run_interp': id_of(busy),
                'runner_native_id': t.native_id, 'main_native_id': main_native}
    oracle.capture(path, nthreads=2, wait_files=[sub_path], extra=extra)
    main_wait()


if __name__ == '__main__':
    main()
