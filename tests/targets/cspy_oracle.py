# -*- coding: utf-8 -*-
"""Shared helper of the cspy end-to-end targets (tests/targets/*.py).

Every target is started as `python TARGET.py ORACLE_PATH [args...]`, drives
its threads to a known blocking point and then records the ORACLE: what a
correct `cspy dump` must print for it, taken from the interpreter itself
(sys._current_frames() + traceback.extract_stack() for each thread, the
thread names from threading, the native thread ids from the threads
themselves). The oracle is written as JSON to ORACLE_PATH via a rename, so
the file appearing is the readiness signal. The target then blocks until the
test runner kills it (a SIGALRM safety net ends it after SAFETY_SECONDS).

How the oracle gets the innermost line right: each target thread calls
here() on the SAME line as its blocking call (`here(); time.sleep(FOREVER)`),
and the oracle is taken by a separate short-lived thread ("cspy-oracle") that
waits until every thread has called here() and two snapshots taken 100 ms
apart are identical. At that point every thread sits in its blocking call, so
its frames' f_lineno are exactly what a sampler sees. The oracle thread then
exits; the runner waits until /proc/PID/task holds exactly the oracle's
threads before it runs cspy.

Runs under Python 2.7 and 3.6+ (no f-strings).
"""
from __future__ import print_function

import json
import os
import platform
import signal
import sys
import threading
import time
import traceback

PY2 = sys.version_info[0] == 2
FOREVER = 100000          # seconds: targets block "forever" and are killed
SAFETY_SECONDS = 300      # SIGALRM (default action: terminate) if never killed

# SYS_gettid per machine, for Pythons older than 3.8 (no get_native_id).
_SYS_GETTID = {
    'x86_64': 186, 'amd64': 186, 'i386': 224, 'i686': 224,
    'aarch64': 178, 'arm64': 178, 'riscv64': 178, 'armv7l': 224,
    'ppc64le': 207, 'ppc64': 207, 's390x': 236,
}

_lock = threading.Lock()
_ready = {}               # thread ident -> native thread id


try:
    get_ident = threading.get_ident
except AttributeError:                  # Python 2.7
    import thread
    get_ident = thread.get_ident


# Resolved now: an import statement at run time would block on 2.7's global
# import lock while another thread is inside an import (import_block.py).
try:
    import ctypes
    _libc = ctypes.CDLL(None, use_errno=True)
except Exception:                       # only needed before 3.8
    _libc = None


def native_tid():
    f = getattr(threading, 'get_native_id', None)
    if f is not None:
        return f()
    return int(_libc.syscall(_SYS_GETTID[platform.machine()]))


def start():
    """Common start-up of a target: arm the safety alarm, return the oracle path."""
    signal.alarm(SAFETY_SECONDS)
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s ORACLE_PATH [args]\n' % sys.argv[0])
        sys.exit(2)
    return sys.argv[1]


def after_fork():
    """Call first thing in a forked child: forget the parent's threads."""
    global _lock
    _lock = threading.Lock()
    _ready.clear()
    signal.alarm(SAFETY_SECONDS)


def here():
    """Called by a thread on the line of its blocking call: 'I am there'."""
    with _lock:
        _ready[get_ident()] = native_tid()


def _text(s):
    if PY2 and isinstance(s, str):
        return s.decode('utf-8', 'replace')
    return s


def _thread_name(ident):
    t = threading._active.get(ident)
    if t is None:
        for t in threading.enumerate():
            if t.ident == ident:
                break
        else:
            return None
    return _text(t.name)


def _snapshot():
    """[(ident, [frame dicts outermost first])] in sys._current_frames() order
    (which is the interpreter's thread-list order on 3.6+)."""
    me = get_ident()
    out = []
    frames = sys._current_frames()
    for ident, frame in frames.items():
        if ident == me:
            continue
        summary = traceback.extract_stack(frame)
        chain = []
        f = frame
        while f is not None:
            chain.append(f)
            f = f.f_back
        chain.reverse()
        if len(chain) != len(summary):
            raise RuntimeError('extract_stack/f_back disagree: %d vs %d'
                               % (len(summary), len(chain)))
        stack = []
        for entry, fr in zip(summary, chain):
            filename, lineno, name = entry[0], entry[1], entry[2]
            stack.append({
                'filename': _text(filename),
                'line': lineno,
                'name': _text(name),
                'qualname': _text(getattr(fr.f_code, 'co_qualname', None)),
                'firstlineno': fr.f_code.co_firstlineno,
            })
        out.append((ident, stack))
    del frames, frame, f, chain
    return out


def _key(snap):
    return [(ident, [(s['filename'], s['line'], s['name']) for s in stack])
            for ident, stack in snap]


try:
    # Here, not in shown_version(): the oracle thread may take its snapshot
    # while the main thread holds the import lock (import_block.py), and
    # 2.7's import lock is global.
    import sysconfig
    _FREE_THREADED = bool(sysconfig.get_config_var('Py_GIL_DISABLED'))
except ImportError:
    _FREE_THREADED = False


def shown_version():
    """The version as cspy shows it: "3.14.7", "3.14.7t" on a free-threaded
    build (Py_GIL_DISABLED)."""
    return platform.python_version() + ('t' if _FREE_THREADED else '')


def _cmdline():
    with open('/proc/self/cmdline', 'rb') as f:
        parts = f.read().split(b'\0')
    if parts and parts[-1] == b'':
        parts.pop()
    return [p.decode('utf-8', 'replace') for p in parts]


def write_json(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.rename(tmp, path)


def _take(path, nthreads, extra, wait_files, stable, timeout, only_registered):
    deadline = time.time() + timeout
    why = 'starting'
    while True:
        if time.time() > deadline:
            raise RuntimeError('oracle not ready after %ss: %s' % (timeout, why))
        with _lock:
            ready = dict(_ready)
        missing = [p for p in wait_files if not os.path.exists(p)]
        if len(ready) < nthreads:
            why = '%d of %d threads reached their blocking point' % (len(ready), nthreads)
        elif missing:
            why = 'waiting for %s' % missing
        else:
            s1 = _snapshot()
            if only_registered:
                s1 = [(i, st) for i, st in s1 if i in ready]
            if set(i for i, _ in s1) != set(ready):
                why = 'live threads %s != registered %s' % (
                    sorted(i for i, _ in s1), sorted(ready))
            else:
                if not stable:
                    break
                time.sleep(0.1)
                s2 = _snapshot()
                if only_registered:
                    s2 = [(i, st) for i, st in s2 if i in ready]
                if _key(s1) == _key(s2):
                    break
                why = 'stacks still changing'
        time.sleep(0.02)

    threads = []
    for ident, stack in s1:
        threads.append({
            'ident': ident,
            'native_id': ready[ident],
            'name': _thread_name(ident),
            'frames': stack,            # outermost first, as extract_stack
        })
    if callable(extra):
        extra = extra()
    data = {
        'pid': os.getpid(),
        'ppid': os.getppid(),
        'executable': _text(sys.executable),
        'real_executable': _text(os.path.realpath(sys.executable)),
        'version': shown_version(),
        'version_info': list(sys.version_info[:3]),
        'argv': [_text(a) for a in sys.argv],
        'cmdline': _cmdline(),
        'threads_ordered': sys.version_info >= (3, 6),
        'threads': threads,
        'extra': extra or {},
    }
    write_json(path, data)


def capture(path, nthreads, extra=None, wait_files=(), stable=True, timeout=15,
            only_registered=False):
    """Start the oracle thread (returns at once). nthreads: how many threads
    (besides the oracle thread) must call here() before the snapshot; extra:
    a JSON-able dict or a callable returning one, stored as oracle['extra'];
    wait_files: files that must exist first (children's oracles); stable:
    wait for two identical snapshots; only_registered: record only the
    threads that called here() (others come and go)."""
    def run():
        try:
            _take(path, nthreads, extra, wait_files, stable, timeout, only_registered)
        except BaseException:
            sys.stderr.write('cspy_oracle: failed to record the oracle\n')
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(3)
    t = threading.Thread(target=run, name='cspy-oracle')
    t.daemon = True
    t.start()
    return t


# --- locals ---------------------------------------------------------------

def _tree(v):
    """Typed description of a Python 2 value, from which the runner derives
    the Python-3-style reprs that are also acceptable on 2.7."""
    if v is None or isinstance(v, bool):
        return {'t': 'const', 'v': v}
    if isinstance(v, (int, long)):                       # noqa: F821 (py2 only)
        return {'t': 'int', 'v': str(v)}
    if isinstance(v, float):
        return {'t': 'float', 'v': repr(v)}
    if isinstance(v, unicode):                           # noqa: F821
        return {'t': 'unicode', 'v': v}
    if isinstance(v, str):
        return {'t': 'str', 'v': v.decode('latin-1')}
    if isinstance(v, tuple):
        return {'t': 'tuple', 'v': [_tree(x) for x in v]}
    if isinstance(v, list):
        return {'t': 'list', 'v': [_tree(x) for x in v]}
    if isinstance(v, dict):
        return {'t': 'dict', 'v': [[_tree(k), _tree(x)] for k, x in v.items()]}
    return {'t': 'other', 'v': type(v).__name__}


_REPR_TYPES = (type(None), bool, int, float, str, bytes, tuple, list, dict)
if PY2:
    _REPR_TYPES += (long, unicode)                      # noqa: F821


REPR_CAP = 10000          # longer reprs are recorded cut (cspy must truncate them)


def frame_locals(frame, recursive=()):
    """Oracle for the --locals output of one frame: every bound local, in
    co_varnames order, with repr(), id() and whether it is an argument.
    recursive: names of self-referential containers."""
    code = frame.f_code
    nargs = code.co_argcount + getattr(code, 'co_kwonlyargcount', 0)
    if code.co_flags & 0x04:
        nargs += 1
    if code.co_flags & 0x08:
        nargs += 1
    values = frame.f_locals
    out = []
    for i, name in enumerate(code.co_varnames[:code.co_nlocals]):
        if name not in values:
            continue                    # not bound yet: cspy must omit it
        v = values[name]
        r = repr(v)
        item = {
            'name': name,
            'arg': i < nargs,
            'repr': _text(r[:REPR_CAP]),
            'repr_capped': len(r) > REPR_CAP,
            'id': id(v),
            'type': type(v).__name__,
            # 'value': cspy shows a Python repr; 'other': <typename at 0x...>
            'kind': ('recursive' if name in recursive else
                     'value' if type(v) in _REPR_TYPES else 'other'),
        }
        if PY2 and len(r) <= REPR_CAP and name not in recursive:
            item['tree'] = _tree(v)
        out.append(item)
    return {'function': code.co_name, 'firstlineno': code.co_firstlineno,
            'locals': out}
