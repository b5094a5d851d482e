#!/usr/bin/env python3
"""End-to-end tests of `cspy dump` against every installed CPython.

    python3 tests/e2e/run.py [-k PATTERN] [--python VERSION] [-j JOBS]
                             [--targets-only] [-v]

For every interpreter found ($(pyenv root)/versions/*/bin/python, and the real
/usr/bin/python2*/python3* executables) and every check, the runner starts a
target program from tests/targets/ with that interpreter. The target records
its own stacks (the ORACLE: sys._current_frames() + traceback.extract_stack(),
thread names, native thread ids; see tests/targets/cspy_oracle.py) and then
blocks. The runner runs `$BUILD/cspy dump --pid PID [flags]` (BUILD defaults
to build/, relative to the repository root) and compares its output, as JSON
and as text, to the oracle exactly: function names, filenames, line numbers,
frame order and count, thread names and ids. Version-independent checks
(error messages, --help, the target is never left stopped, ...) run once.

Output: a table check x interpreter (ok / FAIL / n/a), the interpreters not
tested, the n/a reasons, the details of each failure (command, expected, got)
and last the line "N passed, N failed". Exit status 1 if anything failed.

--targets-only checks the targets alone (each writes a sane oracle under
every interpreter) without running cspy.

Every process the runner starts is ended by its PID (targets also by their
own process group), on success, on failure and at exit.
"""
import argparse
import atexit
import concurrent.futures
import copy
import fnmatch
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(REPO, 'tests', 'targets')
SUPPORTED = [(2, 7)] + [(3, m) for m in range(6, 16)]      # what cspy supports
WANTED = ['%d.%d' % v for v in SUPPORTED]                   # reported if missing
# Kinds reported missing when no interpreter of that kind was found (the
# provisioned ones: tests/pythons.sh, make pythons).
WANTED_KINDS = [('3.14t', lambda i: i.free_threaded and i.minor == (3, 14)),
                ('3.15t', lambda i: i.free_threaded and i.minor == (3, 15)),
                ('a debug build', lambda i: i.debug),
                ('a Python in a container (chroot)', lambda i: i.root),
                ('a shared 3.15', lambda i: i.shared and i.minor == (3, 15) and not i.free_threaded)]
READY_TIMEOUT = 20
CSPY_TIMEOUT = 30
SHORT_REPR = 40          # reprs up to this long must match exactly; longer may be truncated

OPTS = None              # parsed command line


# --------------------------------------------------------------------------
# Processes: every process we start is tracked and ended by PID.

_tracked = {}
_tracked_lock = threading.RLock()     # RLock: _on_signal may interrupt a holder
_spawn_lock = threading.RLock()      # held while a process is started and tracked
_stopping = []                      # non-empty once the runner is being stopped
_temp_dirs = set()


class Stopping(Exception):
    pass


def spawn(cmd, group=False, **kw):
    """subprocess.Popen + track, atomically with respect to _on_signal."""
    with _spawn_lock:
        if _stopping:
            raise Stopping()
        p = subprocess.Popen(cmd, **kw)
        track(p, group)
    return p


def make_temp_dir(prefix, root=None):
    d = tempfile.mkdtemp(prefix=prefix, dir=root)
    with _tracked_lock:
        _temp_dirs.add(d)
    return d


def remove_temp_dir(d):
    shutil.rmtree(d, ignore_errors=True)
    with _tracked_lock:
        _temp_dirs.discard(d)


def track(popen, group=False):
    with _tracked_lock:
        _tracked[popen.pid] = (popen, group)


def untrack(popen):
    with _tracked_lock:
        _tracked.pop(popen.pid, None)


def end_process(popen, group=False):
    """SIGKILL a process we started (and its process group if it leads one),
    then reap it."""
    if popen.poll() is None:
        if group:
            try:
                os.killpg(popen.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.kill(popen.pid, signal.SIGKILL)
        except OSError:
            pass
    elif group:
        try:
            os.killpg(popen.pid, signal.SIGKILL)   # leftovers of the group
        except OSError:
            pass
    try:
        popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    untrack(popen)


def end_all():
    with _tracked_lock:
        items = list(_tracked.values())
    for popen, group in items:
        end_process(popen, group)
    with _tracked_lock:
        dirs = list(_temp_dirs)
    for d in dirs:
        remove_temp_dir(d)


def _on_signal(signum, frame):
    _stopping.append(signum)
    with _spawn_lock:               # no process is being started now, nor later
        end_all()
    os._exit(128 + signum)


atexit.register(end_all)


# --------------------------------------------------------------------------
# /proc helpers

def proc_stat(pid, tid=None):
    """(state, ppid, session, flags) of a process or task, or None."""
    path = '/proc/%d/stat' % pid if tid is None else '/proc/%d/task/%d/stat' % (pid, tid)
    try:
        with open(path, 'rb') as f:
            data = f.read().decode('utf-8', 'replace')
    except OSError:
        return None
    rest = data[data.rindex(')') + 2:].split()
    return rest[0], int(rest[1]), int(rest[3]), int(rest[6])


def tasks(pid):
    try:
        return sorted(int(t) for t in os.listdir('/proc/%d/task' % pid))
    except OSError:
        return []


def stopped_tasks(pid):
    """[(tid, state)] of the tasks of pid in a stopped state (t or T)."""
    out = []
    for tid in tasks(pid):
        st = proc_stat(pid, tid)
        if st and st[0] in 'tT':
            out.append((tid, st[0]))
    return out


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in 'ZX'


# --------------------------------------------------------------------------
# Results

class Fail(Exception):
    """The check failed: the message says what was expected and what came."""


class NA(Exception):
    """The check does not apply (the message says why)."""


class TargetsOnly(Exception):
    """--targets-only: the target and its oracle are fine; cspy is not run."""


class Result(object):
    def __init__(self, cmd, rc, out, err, shown):
        self.cmd, self.rc, self.out, self.err, self.shown = cmd, rc, out, err, shown


def indent(text, n=4):
    pad = ' ' * n
    return '\n'.join(pad + line if line else line for line in text.split('\n'))


def clip(text, limit=3000):
    if len(text) <= limit:
        return text
    return text[:limit] + '\n... (%d more characters)' % (len(text) - limit)


# --------------------------------------------------------------------------
# Interpreters

class Interp(object):
    def __init__(self, path, source, info, root=None):
        self.path = path           # the command that starts it (a wrapper for a root)
        self.source = source       # pyenv, system, provisioned, debian
        self.root = root           # the root directory it runs in (chroot), or None
        self.version = info['version']
        self.vinfo = tuple(info['version_info'])
        self.free_threaded = bool(info.get('free_threaded'))
        self.debug = bool(info.get('debug'))
        self.home = '%s:%s' % (info['prefix'], info['exec_prefix'])
        self.prefix = info['prefix']
        self.executable = info.get('executable') or path   # as the process sees it
        self.shared = links_libpython(self.host_path(self.executable))
        self.label = self.version + ('t' if self.free_threaded else '') + ('d' if self.debug else '')

    @property
    def minor(self):
        return self.vinfo[:2]

    def supported(self):
        return self.minor in SUPPORTED and (not self.free_threaded or self.minor >= (3, 14))

    def host_path(self, path):
        """A path of the interpreter's own file system, as this machine sees it."""
        return self.root + path if self.root and path.startswith('/') else path

    def kind(self):
        """What kind of build this is, for the report."""
        k = ['shared' if self.shared else 'static']
        if self.free_threaded:
            k.append('free-threaded')
        if self.debug:
            k.append('debug')
        k.append({'pyenv': 'pyenv', 'system': "this machine's", 'provisioned': 'built from source',
                  'debian': 'Debian unstable'}.get(self.source, self.source))
        if self.root:
            k.append('in a container (chroot, own mount namespace)')
        return ', '.join(k)


PROBE = ('import sys, platform, json, sysconfig; '
         'print(json.dumps({"version": platform.python_version(), '
         '"version_info": list(sys.version_info[:3]), '
         '"prefix": sys.prefix, "exec_prefix": sys.exec_prefix, '
         '"executable": sys.executable, '
         '"debug": hasattr(sys, "gettotalrefcount"), '
         '"free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED"))}))')


def links_libpython(exe):
    """True when the executable loads libpython as a shared library (its
    DT_NEEDED names it); False for a static libpython (distros, python.org)."""
    try:
        r = subprocess.run(['readelf', '-d', os.path.realpath(exe)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=20)
        return b'libpython' in r.stdout
    except (OSError, subprocess.SubprocessError):
        return False


def pyenv_root():
    root = os.environ.get('PYENV_ROOT')
    if root and os.path.isdir(root):
        return root
    exe = shutil.which('pyenv')
    if exe:
        try:
            out = subprocess.run([exe, 'root'], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=20).stdout
            root = out.decode().strip()
            if root and os.path.isdir(root):
                return root
        except (OSError, subprocess.SubprocessError):
            pass
    return None


def pythons_cache():
    """Where tests/pythons.sh (make pythons) provisions interpreters."""
    return os.environ.get('CSPY_PYTHONS') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache'),
        'cspy-pythons')


def provisioned(notes):
    """[(command, source, root)] from the cache's manifest; notes get what
    could not be provisioned, with the reason tests/pythons.sh recorded."""
    cache = pythons_cache()
    manifest = os.path.join(cache, 'manifest')
    if not os.path.exists(manifest):
        notes.append('provisioned interpreters (3.14t, 3.15t, shared 3.15, Debian unstable '
                     '3.13/3.14/3.14-dbg/3.15 in a chroot): none in %s (run `make pythons`)' % cache)
        return []
    out = []
    with open(manifest) as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) != 4:
                continue
            name, kind, exe, root = parts
            if root and os.geteuid() != 0:
                notes.append('%s: runs in a chroot, which needs root' % name)
                continue
            out.append((exe, 'debian' if root else 'provisioned', root or None))
    for f in sorted(glob.glob(os.path.join(cache, 'failed', '*'))):
        with open(f) as fh:
            notes.append('%s: could not be provisioned: %s' % (os.path.basename(f), fh.read().strip()))
    return out


def discover():
    """([Interp], [note]) for every interpreter found; notes say what was
    skipped or not found."""
    notes = []
    cands = []
    root = pyenv_root()
    if root:
        cands += [(p, 'pyenv', None) for p in sorted(glob.glob(os.path.join(root, 'versions', '*', 'bin', 'python')))]
    else:
        notes.append('pyenv: not found (no PYENV_ROOT, no pyenv on PATH)')
    for p in sorted(glob.glob('/usr/bin/python2*') + glob.glob('/usr/bin/python3*')):
        name = os.path.basename(p)
        if not re.match(r'^python[23](\.\d+)?[a-z]?$', name):
            continue                       # -config scripts, -dbg wrappers, ...
        cands.append((p, 'system', None))
    cands += provisioned(notes)
    seen = {}
    interps = []
    for path, source, chroot in cands:
        real = os.path.realpath(path)
        if not (os.path.isfile(real) and os.access(real, os.X_OK)):
            notes.append('%s: not an executable' % path)
            continue
        if real in seen:
            continue
        seen[real] = path
        try:
            r = subprocess.run([path, '-c', PROBE], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30, env=target_env())
            info = json.loads(r.stdout.decode())
        except (OSError, ValueError, subprocess.SubprocessError) as e:
            notes.append('%s: does not run (%s)' % (path, e))
            continue
        interps.append(Interp(path, source, info, chroot))
    labels = {}
    for it in interps:
        if it.source == 'debian':
            it.label += '-deb'
        labels.setdefault(it.label, []).append(it)
    for label, group in labels.items():
        if len(group) > 1:
            for it in group:
                if it.source == 'system':
                    it.label = label + '-sys'
    interps.sort(key=lambda i: (i.vinfo, i.free_threaded, i.debug, i.source))
    minors = set('%d.%d' % i.minor for i in interps if not i.free_threaded)
    for w in WANTED:
        if w not in minors:
            notes.append('%s: not installed' % w)
    for what, has in WANTED_KINDS:
        if not any(has(i) for i in interps):
            notes.append('%s: not installed' % what)
    if os.environ.get('CSPY_E2E_SAN_COVER') == '1':
        interps = san_cover(interps, notes)
    return interps, notes


def shown_version(interp):
    """The version cspy shows for interp: "3.14.7", "3.14.7t" when free-threaded."""
    return interp.version + ('t' if interp.free_threaded else '')


# What the sanitizer run covers, one interpreter each (the newest that fits):
# both frame families, Python 2's strings, a shared and a static
# libpython, the 3.13+ debug offsets, a debug build in a container, and a
# free-threaded build (tagged references, thread-local bytecode).
SAN_COVER = [
    ('Python 2.7', lambda i: i.minor == (2, 7)),
    ('PyFrameObject frames (3.10)', lambda i: i.minor == (3, 10)),
    ('a shared 3.12 (subinterpreters joined by their C frame)',
     lambda i: i.minor == (3, 12) and i.shared),
    ('a debug build in a container (3.13+ debug offsets, static)',
     lambda i: i.minor >= (3, 13) and i.debug and i.root),
    ('the newest free-threaded build', lambda i: i.free_threaded),
]


def san_cover(interps, notes):
    """For a run that repeats the tiers under the sanitizers
    (CSPY_E2E_SAN_COVER=1, tests/run_all.sh's san tier): the interpreters
    of SAN_COVER, so that both frame families and every kind of build (static,
    shared, debug, free-threaded, in a chroot) run under the sanitizers in a
    fifth of the time; the decoders of the other versions are data-driven,
    and the line-table and object decoders are fuzzed under the same
    sanitizers. A kind not installed is named; so are the interpreters left
    out (the plain run tests every one)."""
    keep = []
    for what, fits in SAN_COVER:
        cands = [i for i in interps if i.supported() and fits(i)]
        if not cands:
            notes.append('%s: none installed for the sanitizer run' % what)
        elif cands[-1] not in keep:
            keep.append(cands[-1])
    for i in interps:
        if i not in keep:
            notes.append('%s: not in this run (the sanitizer run covers each frame family and '
                         'kind of build once; the plain run tests every one)' % i.label)
    return [i for i in interps if i in keep]


def default_interp(interps):
    """The interpreter of the version-independent checks: the newest
    supported Python 3 of pyenv or this machine (a plain build, run as is),
    else the newest supported one."""
    ok = [i for i in interps if i.supported()]
    py3 = [i for i in ok if i.minor >= (3, 0)] or ok
    plain = [i for i in py3 if i.source in ('pyenv', 'system')] or py3
    return plain[-1] if plain else None


def describe_interps(interps):
    """The interpreters under test, one per line, with their kind."""
    for i in interps:
        print('  %-16s %s  [%s]%s' % (i.label, i.path, i.kind(),
                                     '' if i.supported() else '  (not supported by cspy)'))


def target_env():
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('PYTHON'))
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    env['PYTHONIOENCODING'] = 'utf-8'
    env['LC_ALL'] = 'C.UTF-8'
    env['LANG'] = 'C.UTF-8'
    # An interpreter of a Debian root sees the repository (its targets) at the
    # same path (tests/pythons.sh's wrapper bind-mounts it, and /tmp).
    env['CSPY_CHROOT_BIND'] = REPO
    return env


# --------------------------------------------------------------------------
# cspy

def built_cspy():
    build = os.environ.get('BUILD') or 'build'
    if not os.path.isabs(build):
        build = os.path.join(REPO, build)
    return os.path.join(build, 'cspy')


_SNAPSHOT = []           # [path of the copy of the binary this run uses]


def snapshot_cspy():
    """Copy $BUILD/cspy to a private directory: the whole run uses one
    binary even if it is rebuilt meanwhile."""
    src = built_cspy()
    if not os.access(src, os.X_OK):
        return
    d = make_temp_dir('cspy-e2e-bin-')
    os.chmod(d, 0o755)
    dst = os.path.join(d, 'cspy')
    shutil.copy(src, dst)
    os.chmod(dst, 0o755)
    _SNAPSHOT.append(dst)


def cspy_path():
    return _SNAPSHOT[0] if _SNAPSHOT else built_cspy()


def cspy_shown():
    build = os.environ.get('BUILD') or 'build'
    return os.path.join(build, 'cspy')


def run_cmd(cmd, shown=None, timeout=CSPY_TIMEOUT, env=None):
    p = spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_process(p)
        raise Fail('timed out after %ss: %s' % (timeout, shown or ' '.join(cmd)))
    finally:
        end_process(p)
    return Result(cmd, p.returncode, out.decode('utf-8', 'replace'),
                  err.decode('utf-8', 'replace'), shown or ' '.join(cmd))


def require_cspy():
    if OPTS.targets_only:
        raise TargetsOnly()
    if not os.access(cspy_path(), os.X_OK):
        raise Fail('cspy binary not found: %s (build it with `make`)' % built_cspy())


def cspy(args, timeout=CSPY_TIMEOUT, env=None, prefix=(), exe=None):
    require_cspy()
    exe = exe or cspy_path()
    cmd = list(prefix) + [exe] + [str(a) for a in args]
    shown = ' '.join(list(prefix) + [cspy_shown() if exe == cspy_path() else exe] +
                     [str(a) for a in args])
    return run_cmd(cmd, shown, timeout, env)


# --------------------------------------------------------------------------
# Targets

class Target(object):
    def __init__(self, interp, script, args=(), via_sh=False, pyflags=(), exe=None, env=None,
                 prefix=(), dir_root=None):
        """prefix: a command that ends by exec'ing the python command line given
        as its last arguments (the target's PID is then python's, unless the
        prefix forks it: see start_in_pid_namespace). dir_root: where the
        target's directory (oracle, output) is made instead of the default
        temporary directory."""
        self.interp = interp
        self.dir = make_temp_dir('cspy-e2e-', dir_root)
        self.oracle_path = os.path.join(self.dir, 'oracle.json')
        self.argv = ([exe or interp.path] + list(pyflags) + [os.path.join(TARGETS, script), self.oracle_path] +
                     [str(a) for a in args])
        self.prefix = list(prefix)
        cmd = ['sh', '-c', '"$@"; true', 'sh'] + self.argv if via_sh else self.argv
        cmd = self.prefix + cmd
        self.log = open(os.path.join(self.dir, 'output'), 'w+b')
        tenv = target_env()
        tenv.update(env or {})
        self.proc = spawn(cmd, group=True, stdin=subprocess.DEVNULL, stdout=self.log,
                          stderr=subprocess.STDOUT, env=tenv, cwd=self.dir,
                          start_new_session=True)
        self.pid = self.proc.pid
        self.python_pid = self.pid   # the python process, as /proc here shows it
        self.ns_tids = {}            # in a PID namespace: {TID here: TID inside}
        self.oracle = None
        self.closed = False
        self.runnable = 0        # threads expected running (R) at a dump

    def output(self):
        self.log.flush()
        with open(os.path.join(self.dir, 'output'), 'rb') as f:
            return clip(f.read().decode('utf-8', 'replace'), 4000) or '(nothing)'

    def describe(self):
        return ' '.join(self.prefix + self.argv)

    def wait_ready(self, timeout=READY_TIMEOUT, exact_tasks=True):
        deadline = time.time() + timeout
        while not os.path.exists(self.oracle_path):
            if self.proc.poll() is not None:
                raise Fail('target exited with status %s before it was ready: %s\n'
                           'its output:\n%s' % (self.proc.returncode, self.describe(),
                                               indent(self.output())))
            if time.time() > deadline:
                raise Fail('target not ready after %ds: %s\nits output:\n%s'
                           % (timeout, self.describe(), indent(self.output())))
            time.sleep(0.02)
        with open(self.oracle_path) as f:
            self.oracle = json.load(f)
        if self.interp.root:
            # A chrooted target: its files (the Debian root's, and the bind
            # mounts of its own mount namespace) are seen from here there.
            for o in [self.oracle] + self.oracle['extra'].get('children', []):
                o.setdefault('view_root', '/proc/%d/root' % o['pid'])
        # The oracle thread exits after writing: wait until only the oracle's
        # threads are left, in the target and in its children.
        procs = [self.oracle] + self.oracle['extra'].get('children', [])
        for o in (procs if exact_tasks else []):
            want = len(o['threads'])
            end = time.time() + 5
            while len(tasks(o['pid'])) != want:
                if time.time() > end:
                    raise Fail('target %d has threads %s, its oracle %d: %s'
                               % (o['pid'], tasks(o['pid']), want, self.describe()))
                time.sleep(0.01)
        return self.oracle

    def pids(self):
        pids = [self.pid]
        if self.oracle:
            pids.append(self.oracle['pid'])
            pids += self.oracle['extra'].get('child_pids', [])
        return pids

    def close(self):
        if self.closed:                      # once: the PID may be reused after
            return
        self.closed = True
        for pid in self.pids()[1:]:
            st = proc_stat(pid)
            if st and st[2] == self.pid:     # still in the session we created
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        end_process(self.proc, group=True)
        self.log.close()
        remove_temp_dir(self.dir)


class Ctx(object):
    """One check run with one interpreter: starts targets, runs cspy, and
    collects problems; ends every target when done."""

    def __init__(self, interp):
        self.interp = interp
        self.targets = []
        self.problems = []

    def start(self, script, args=(), via_sh=False, pyflags=(), exe=None, env=None):
        t = Target(self.interp, script, args, via_sh, pyflags, exe=exe, env=env)
        self.targets.append(t)
        return t

    def close(self):
        for t in self.targets:
            t.close()

    def problem(self, res, items):
        if items:
            self.problems.append((res.shown if res else None, items))

    def finish(self):
        if self.problems:
            parts = []
            for cmd, items in self.problems:
                if cmd:
                    parts.append('$ ' + cmd)
                parts += [indent(i, 2) for i in items]
            raise Fail('\n'.join(parts))

    def dump(self, target, flags=(), as_json=False, pid=None):
        """Run cspy dump, require success and that the target is not left
        stopped; returns (Result, parsed output)."""
        pid = pid or target.python_pid
        settle(target)
        args = ['dump', '--pid', pid] + list(flags) + (['--json'] if as_json else [])
        res = cspy(args)
        if res.rc != 0:
            raise Fail('$ %s\n  exit status %d, expected 0\n  stderr: %s'
                       % (res.shown, res.rc, clip(res.err.strip(), 2000)))
        left = leftover_stops(target)
        if left:
            raise Fail('$ %s\n  cspy left the target stopped: %s' % (res.shown, left))
        try:
            parsed = json.loads(res.out) if as_json else parse_text(res.out)
        except ValueError as e:
            raise Fail('$ %s\n  output is not valid %s: %s\n  output:\n%s'
                       % (res.shown, 'JSON' if as_json else 'dump text', e,
                          indent(clip(res.out), 4)))
        if as_json and not isinstance(parsed, list):
            raise Fail('$ %s\n  JSON output is not an array' % res.shown)
        return res, parsed


def settle(target, timeout=2.0):
    """Wait (at most timeout) until no more of the target's threads are
    running or runnable than it is meant to have: a previous dump interrupts
    sleeping threads, which are runnable for a moment after it while they
    restart their system call, and a dump then rightly sees them 'R'."""
    if target.oracle is None or target.runnable is None:
        return
    end = time.time() + timeout
    while time.time() < end:
        running = 0
        for pid in target.pids():
            for tid in tasks(pid):
                st = proc_stat(pid, tid)
                if st and st[0] == 'R':
                    running += 1
        if running <= target.runnable:
            return
        time.sleep(0.01)


def leftover_stops(target):
    """Tasks of the target's processes still stopped 0.5 s after cspy ended."""
    end = time.time() + 0.5
    while True:
        left = []
        for pid in target.pids():
            left += [(pid, tid, st) for tid, st in stopped_tasks(pid)]
        if not left or time.time() > end:
            return left
        time.sleep(0.02)


# --------------------------------------------------------------------------
# Parsing cspy's text output

FFFD = u'\ufffd'
RE_PROC = re.compile(r'^Process (\d+): (.*)$')
RE_PY = re.compile(r'^Python v(\S+) \((.*)\)$')
RE_PARENT = re.compile(r'^Parent process: (\d+)$')
RE_THREAD = re.compile(r'^Thread (\d+)(?: \(ns (\d+)\))? \(([^)]*)\)(?:: "(.*)")?'
                       r'(?: \[interpreter (\d+)\])?$')
RE_FRAME = re.compile(r'^    (\S.*?) \((.*):(\d+)\)$')
RE_VAR = re.compile(r'^            ([^\s:]+): (.*)$')
STATUSES = ('idle', 'active', 'active+gil', 'idle+gil')


def parse_text(out):
    procs = []
    cur = thread = frame = None
    section = None
    for n, line in enumerate(out.split('\n'), 1):
        if not line.strip():
            continue
        m = RE_PROC.match(line)
        if m:
            cur = {'pid': int(m.group(1)), 'cmdline': m.group(2), 'version': None,
                   'exe': None, 'parent': None, 'threads': []}
            procs.append(cur)
            thread = frame = None
            continue
        if cur is None:
            raise ValueError('line %d before any "Process" line: %r' % (n, line))
        m = RE_PY.match(line)
        if m and thread is None:
            cur['version'], cur['exe'] = m.group(1), m.group(2)
            continue
        m = RE_PARENT.match(line)
        if m and thread is None:
            cur['parent'] = int(m.group(1))
            continue
        m = RE_THREAD.match(line)
        if m:
            thread = {'tid': int(m.group(1)), 'status': m.group(3), 'name': m.group(4),
                      'ns_tid': int(m.group(2)) if m.group(2) else None, 'frames': [],
                      'interp': int(m.group(5)) if m.group(5) else 0}
            cur['threads'].append(thread)
            frame = None
            continue
        m = RE_FRAME.match(line)
        if m and thread is not None:
            frame = {'name': m.group(1), 'file': m.group(2), 'line': int(m.group(3)),
                     'args': [], 'locals': []}
            thread['frames'].append(frame)
            section = None
            continue
        if line in ('        Arguments:', '        Locals:') and frame is not None:
            section = 'args' if 'Arg' in line else 'locals'
            continue
        m = RE_VAR.match(line)
        if m and section and frame is not None:
            frame[section].append((m.group(1), m.group(2)))
            continue
        raise ValueError('unexpected line %d: %r' % (n, line))
    return procs


def json_by_pid(threads):
    out = {}
    for t in threads:
        out.setdefault(t.get('pid'), []).append(t)
    return out


# --------------------------------------------------------------------------
# Expectations derived from the oracle

def expected_short(filename, root=''):
    """Short filename rule: relative to the parent of the top-most package
    directory (directories with __init__.py), else the basename. root: where
    the target's "/" is seen from here ('' = same view; '/proc/PID/root' for
    a target in another mount namespace)."""
    if not os.path.isabs(filename):
        return os.path.basename(filename)
    d = os.path.dirname(filename)
    top = None
    while d and d != '/' and os.path.isfile(root + os.path.join(d, '__init__.py')):
        top = d
        d = os.path.dirname(d)
    if top is None:
        return os.path.basename(filename)
    return os.path.relpath(filename, os.path.dirname(top))


def exp_frames(othread, root=''):
    """Oracle frames innermost first, as dicts (root: see expected_short)."""
    out = []
    for f in reversed(othread['frames']):
        out.append({'name': f['name'], 'qualname': f['qualname'], 'filename': f['filename'],
                    'short': expected_short(f['filename'], root), 'line': f['line']})
    return out


def fmt(name, filename, line):
    return '%s (%s:%s)' % (name, filename, line)


def frames_diff(what, exp, got):
    """exp, got: lists of 'name (file:line)' strings, innermost first."""
    if exp == got:
        return None
    n = 0
    while n < min(len(exp), len(got)) and exp[n] == got[n]:
        n += 1
    lo, hi = max(0, n - 2), n + 6
    lines = ['%s: frames differ at #%d (#0 = innermost); expected %d frames, got %d'
             % (what, n, len(exp), len(got))]
    lines.append('  expected:')
    lines += ['    #%d %s' % (i, exp[i]) for i in range(lo, min(hi, len(exp)))]
    if hi < len(exp):
        lines.append('    ... (%d more)' % (len(exp) - hi))
    lines.append('  got:')
    lines += ['    #%d %s' % (i, got[i]) for i in range(lo, min(hi, len(got)))]
    if hi < len(got):
        lines.append('    ... (%d more)' % (len(got) - hi))
    return '\n'.join(lines)


def tname(t):
    return '%s "%s"' % (t['native_id'], t['name'])


def exe_ok(oracle, exe):
    return exe in (oracle['executable'], oracle['real_executable'])


def compare_thread_sets(oracle, got_tids, problems):
    dups = sorted(set(t for t in got_tids if got_tids.count(t) > 1), key=str)
    if dups:
        problems.append('process %d: thread(s) %s listed more than once' % (oracle['pid'], dups))
    exp = [t['native_id'] for t in oracle['threads']]
    if sorted(exp) != sorted(got_tids):
        names = dict((t['native_id'], t['name']) for t in oracle['threads'])
        problems.append('process %d: threads differ\n  expected: %s\n  got:      %s'
                        % (oracle['pid'], ', '.join('%s "%s"' % (i, names[i]) for i in exp),
                           ', '.join(str(i) for i in got_tids)))
        return False
    if oracle['threads_ordered'] and exp != got_tids:
        problems.append('process %d: threads not in the interpreter\'s order\n'
                        '  expected: %s\n  got:      %s' % (oracle['pid'], exp, got_tids))
    return True


def compare_json(oracle, threads, problems, qualname=False, with_locals=False):
    """qualname: --qualname was given; the JSON "name" may then be co_name or
    co_qualname (the "qualname" field is checked on 3.11+ either way)."""
    """Compare the JSON thread objects of one process to its oracle."""
    pid = oracle['pid']
    if not threads:
        problems.append('process %d: no threads in the JSON output' % pid)
        return
    compare_thread_sets(oracle, [t.get('os_thread_id') for t in threads], problems)
    by_tid = dict((t.get('os_thread_id'), t) for t in threads)
    v311 = tuple(oracle['version_info'][:2]) >= (3, 11)
    for ot in oracle['threads']:
        gt = by_tid.get(ot['native_id'])
        if gt is None:
            continue
        what = 'thread %s' % tname(ot)
        for key, want in (('pid', pid), ('thread_name', ot['name']), ('thread_id', ot['ident'])):
            if gt.get(key) != want:
                problems.append('%s: "%s" expected %r, got %r' % (what, key, want, gt.get(key)))
        exp = exp_frames(ot, oracle.get('view_root', ''))
        gfr = gt.get('frames') or []
        e = [fmt(f['name'], f['filename'], f['line']) for f in exp]
        g = [fmt(f.get('name'), f.get('filename'), f.get('line')) for f in gfr]
        if qualname and len(exp) == len(gfr):
            g = [fmt(a['name'] if b.get('name') == a['qualname'] else b.get('name'),
                     b.get('filename'), b.get('line')) for a, b in zip(exp, gfr)]
        d = frames_diff(what + ' (JSON name, filename, line)', e, g)
        if d:
            problems.append(d)
        else:
            e = [f['short'] for f in exp]
            g = [f.get('short_filename') for f in gfr]
            for i, (a, b) in enumerate(zip(e, g)):
                if a != b:
                    problems.append('%s: frame #%d %s: short_filename expected %r, got %r'
                                    % (what, i, exp[i]['name'], a, b))
            if v311:
                for i, (a, b) in enumerate(zip(exp, gfr)):
                    if a['qualname'] != b.get('qualname'):
                        problems.append('%s: frame #%d %s: qualname expected %r, got %r'
                                        % (what, i, a['name'], a['qualname'], b.get('qualname')))
        for i, f in enumerate(gfr):
            if 'module' not in f or f['module'] is not None:
                problems.append('%s: frame #%d: "module" expected null, got %r'
                                % (what, i, f.get('module', '(missing)')))
                break
            if not with_locals and f.get('locals', 'missing') is not None:
                problems.append('%s: frame #%d: "locals" expected null without --locals, got %r'
                                % (what, i, f.get('locals', '(missing)')))
                break
    info = threads[0].get('process_info') or {}
    cmdline = ' '.join(oracle['cmdline'])
    for key, ok, want in (('pid', info.get('pid') == pid, pid),
                          ('command_line', info.get('command_line') == cmdline, cmdline),
                          ('python_version', info.get('python_version') == oracle['version'],
                           oracle['version']),
                          ('executable', exe_ok(oracle, info.get('executable')),
                           oracle['real_executable'])):
        if not ok:
            problems.append('process %d: process_info.%s expected %r, got %r'
                            % (pid, key, want, info.get(key)))


def compare_text(oracle, proc, problems, full=False, qualname=False):
    """Compare one parsed text process section to its oracle."""
    pid = oracle['pid']
    cmdline = ' '.join(oracle['cmdline'])
    if proc['cmdline'] != cmdline:
        problems.append('process %d: header "Process %d: ..." expected %r, got %r'
                        % (pid, pid, cmdline, proc['cmdline']))
    if proc['version'] != oracle['version'] or not exe_ok(oracle, proc['exe']):
        problems.append('process %d: header expected "Python v%s (%s)", got "Python v%s (%s)"'
                        % (pid, oracle['version'], oracle['real_executable'],
                           proc['version'], proc['exe']))
    compare_thread_sets(oracle, [t['tid'] for t in proc['threads']], problems)
    by_tid = dict((t['tid'], t) for t in proc['threads'])
    for ot in oracle['threads']:
        gt = by_tid.get(ot['native_id'])
        if gt is None:
            continue
        what = 'thread %s' % tname(ot)
        if gt['name'] != ot['name'] and not (ot['name'] is None and gt['name'] == ''):
            problems.append('%s: thread name expected "%s", got %r' % (what, ot['name'], gt['name']))
        if gt['status'] not in STATUSES:
            problems.append('%s: status %r is none of %s' % (what, gt['status'], STATUSES))
        exp = exp_frames(ot, oracle.get('view_root', ''))
        e = [fmt(f['qualname'] if qualname else f['name'],
                 f['filename'] if full else f['short'], f['line']) for f in exp]
        g = [fmt(f['name'], f['file'], f['line']) for f in gt['frames']]
        d = frames_diff(what + ' (text)', e, g)
        if d:
            problems.append(d)


def check_sanity(oracle, spec):
    """Check the oracle itself (a test bug otherwise): for each thread name,
    the innermost-first names of its frames that are in tests/targets/."""
    key = lambda n: (n is None, n or '')
    names = sorted((t['name'] for t in oracle['threads']), key=key)
    if names != sorted(spec, key=key):
        raise Fail('ORACLE (test bug): threads %s, expected %s' % (names, sorted(spec, key=key)))
    for t in oracle['threads']:
        own = [f['name'] for f in reversed(t['frames'])
               if os.path.realpath(f['filename']).startswith(os.path.realpath(TARGETS) + os.sep)]
        if own != spec[t['name']]:
            raise Fail('ORACLE (test bug): thread "%s" has own frames %s, expected %s'
                       % (t['name'], own, spec[t['name']]))


# --------------------------------------------------------------------------
# Per-version checks

def stack_check(ctx, script, spec, args=(), flags=(), full=False, qualname=False,
                text=True, json_=True, runnable=0, exe=None, env=None):
    """Start a target, check its oracle, dump it as JSON and as text and
    compare both to the oracle. Returns (target, json threads, text procs)."""
    t = ctx.start(script, args, exe=exe, env=env)
    t.runnable = runnable
    oracle = t.wait_ready()
    check_sanity(oracle, spec(ctx.interp) if callable(spec) else spec)
    js, tx = compare_dumps(ctx, t, flags, full=full, qualname=qualname, text=text, json_=json_)
    return t, js, tx


def compare_dumps(ctx, t, flags=(), full=False, qualname=False, text=True, json_=True,
                  note=None):
    """Dump a ready target as JSON and as text and compare both to its oracle
    (note: first line of each problem list). Returns (json threads, text procs)."""
    oracle = t.oracle
    require_cspy()
    js = tx = None
    with_locals = '--locals' in flags or '-l' in flags
    if json_:
        res, js = ctx.dump(t, flags, as_json=True)
        problems = []
        by_pid = json_by_pid(js)
        if set(by_pid) != {oracle['pid']}:
            problems.append('expected threads of process %d only, got processes %s'
                            % (oracle['pid'], sorted(by_pid, key=str)))
        compare_json(oracle, by_pid.get(oracle['pid'], []), problems, qualname=qualname,
                     with_locals=with_locals)
        ctx.problem(res, [note] + problems if note and problems else problems)
    if text:
        res, tx = ctx.dump(t, flags)
        problems = []
        if [p['pid'] for p in tx] != [oracle['pid']]:
            problems.append('expected one "Process %d" section, got %s'
                            % (oracle['pid'], [p['pid'] for p in tx]))
        else:
            compare_text(oracle, tx[0], problems, full=full, qualname=qualname)
        ctx.problem(res, [note] + problems if note and problems else problems)
    return js, tx


MAIN = ['main', '<module>']


def spec_nested(interp):
    return {'MainThread': ['level4', 'far_away', 'level3', 'level2', 'level1'] + MAIN}


def check_nested(ctx):
    stack_check(ctx, 'nested.py', spec_nested)
    ctx.finish()


def spec_threads10(interp, n=10):
    spec = {'MainThread': ['main_wait'] + MAIN}
    for i in range(n):
        spec['worker-%d' % i] = (['sleep_block' if i % 2 == 0 else 'event_block'] +
                                 ['step'] * (i + 1) + ['worker'])
    return spec


def check_threads10(ctx):
    stack_check(ctx, 'threads10.py', spec_threads10)
    ctx.finish()


def check_threads100(ctx):
    stack_check(ctx, 'threads10.py', spec_threads10(ctx.interp, 100), args=[100])
    ctx.finish()


def check_no_threading(ctx):
    """python -S, threading never imported: no thread names (JSON null)."""
    t = ctx.start('no_threading.py', pyflags=['-S'])
    oracle = t.wait_ready()
    if oracle['threading_imported']:
        raise Fail('ORACLE (test bug): threading was imported under -S')
    script = os.path.join(TARGETS, 'no_threading.py')
    with open(script) as f:
        lines = f.read().split('\n')
    frames = []
    for name, marker in (('<module>', '# MAIN'), ('main', '# CALL'), ('sleeper', '# BLOCK')):
        ln = [i + 1 for i, l in enumerate(lines) if l.endswith(marker)][0]
        frames.append({'filename': script, 'line': ln, 'name': name, 'qualname': name})
    oracle['threads'][0]['frames'] = frames
    oracle['version'] = shown_version(ctx.interp)
    require_cspy()
    res, js = ctx.dump(t, as_json=True)
    problems = []
    compare_json(oracle, js, problems)
    ctx.problem(res, problems)
    res, tx = ctx.dump(t)
    problems = []
    if len(tx) != 1:
        problems.append('expected one process, got %d' % len(tx))
    else:
        compare_text(oracle, tx[0], problems)
    ctx.problem(res, problems)
    ctx.finish()


def check_recursion(depth):
    def check(ctx):
        stack_check(ctx, 'recursion.py', {'MainThread': ['recurse'] * depth + MAIN}, args=[depth])
        ctx.finish()
    return check


def check_generators(ctx):
    stack_check(ctx, 'generators.py',
                {'MainThread': ['gen_leaf', 'gen_middle', 'consume'] + MAIN,
                 'coroutine': ['coro_worker', 'drive']})
    ctx.finish()


def check_async(ctx):
    stack_check(ctx, 'async_target.py',
                {'MainThread': ['inner', 'agen', 'middle', 'outer'] + MAIN})
    ctx.finish()


SPEC_METHODS = {'MainThread': ['inner_closure', 'deep', 'value', 'helper', 'build', 'run'] + MAIN}


def check_methods(ctx):
    stack_check(ctx, 'methods.py', SPEC_METHODS)
    ctx.finish()


def check_qualname(ctx):
    stack_check(ctx, 'methods.py', SPEC_METHODS, flags=['--qualname'], qualname=True)
    ctx.finish()


def spec_lambdas(interp):
    comp = interp.minor < (3, 12)         # comprehensions inlined from 3.12 (PEP 709)
    # ... and list comprehensions were inlined on 2.7 too (dict ones were not).
    lc = ['<listcomp>'] if comp and interp.minor >= (3, 0) else []
    return {'MainThread': ['<lambda>'] + lc + ['run_listcomp'] + MAIN,
            'genexpr': ['<lambda>', '<genexpr>', 'run_genexpr'],
            'dictcomp': ['<lambda>'] + (['<dictcomp>'] if comp else []) + ['run_dictcomp'],
            'nestedcomp': ['leaf'] + lc * 2 + ['run_nestedcomp']}


def check_lambdas(ctx):
    stack_check(ctx, 'lambdas.py', spec_lambdas)
    ctx.finish()


def check_unicode(ctx):
    if ctx.interp.minor >= (3, 0):
        script = u'uni_\U0001F40D.py'
        spec = {'MainThread': [u'ελληνικά'] + MAIN,
                u'поток-\U0001F40D': [u'кириллица', u'日本語の関数']}
    else:
        script = u'uni27_\U0001F40D.py'
        spec = {'MainThread': ['main_function'] + MAIN,
                'thread-snake': ['unicode_file_function', 'outer_function']}
    t, js, tx = stack_check(ctx, script, spec)
    # The file name itself, independent of the short-name rule.
    want = os.path.basename(script)
    for th in js:
        for f in th.get('frames') or []:
            if f.get('name') in spec['MainThread'][:1] and f.get('short_filename') != want:
                ctx.problem(None, ['frame %s: short_filename expected %r, got %r'
                                   % (f.get('name'), want, f.get('short_filename'))])
    ctx.finish()


SPEC_GIL_BUSY = dict([('MainThread', ['main_wait'] + MAIN), ('busy', ['spin', 'spin_outer'])] +
                     [('sleeper-%d' % i, ['doze']) for i in range(3)])


def check_gil_busy(ctx):
    t, js, tx = stack_check(ctx, 'gil_busy.py', SPEC_GIL_BUSY, runnable=1)
    names = dict((th['native_id'], th['name']) for th in t.oracle['threads'])
    problems, attempt, js, tx = gil_busy_retried(ctx, t, names, js, tx)
    if problems:
        ctx.problem(None, ['(--json and text dumps above, attempt %d)' % (attempt + 1)] +
                    problems)
    ctx.finish()


def gil_busy_retried(ctx, t, names, js, tx):
    """gil_busy_problems of the dumps js and tx. The busy thread holds the
    GIL nearly always, but not always: Python 2.7 drops and retakes it every
    100 bytecodes, 3.x on a switch request, and a pause can fall in between.
    A dump where no thread owns the GIL is therefore taken again (up to 5
    times); any other mismatch fails at once. Returns (problems, attempt,
    js, tx)."""
    for attempt in range(5):
        problems, nobody = gil_busy_problems(names, js, tx, ctx.interp.free_threaded)
        if not problems or not nobody:
            break
        _, js = ctx.dump(t, (), as_json=True)
        _, tx = ctx.dump(t, ())
    return problems, attempt, js, tx


def gil_busy_problems(names, js, tx, no_gil=False):
    """Mismatches of the gil_busy dumps, and whether no thread owned the GIL
    in one of them. no_gil: a free-threaded build without a GIL, where the
    busy thread is active and no thread owns a GIL."""
    problems = []
    json_owner = text_owner = False
    for th in js:
        json_owner = json_owner or bool(th.get('owns_gil'))
        name = names.get(th.get('os_thread_id'))
        if name is None:
            continue
        want = (True, not no_gil) if name == 'busy' else (False, False)
        got = (th.get('active'), th.get('owns_gil'))
        if got != want:
            problems.append('JSON thread "%s": (active, owns_gil) expected %s, got %s'
                            % (name, want, got))
    for th in (tx[0]['threads'] if tx else []):
        text_owner = text_owner or 'gil' in th['status']
        name = names.get(th['tid'])
        if name is None:
            continue
        want = ('active' if no_gil else 'active+gil') if name == 'busy' else 'idle'
        if th['status'] != want:
            problems.append('text thread "%s": status expected %r, got %r'
                            % (name, want, th['status']))
    return problems, not no_gil and not (json_owner and text_owner)


def build_py3(tree, str_as):
    """A Python 3 value from a Python 2 value's typed tree (see cspy_oracle._tree)."""
    k, v = tree['t'], tree['v']
    if k == 'const':
        return v
    if k == 'int':
        return int(v)
    if k == 'float':
        return float(v)
    if k == 'unicode':
        return v
    if k == 'str':
        return v if str_as == 'str' else v.encode('latin-1')
    if k == 'tuple':
        return tuple(build_py3(x, str_as) for x in v)
    if k == 'list':
        return [build_py3(x, str_as) for x in v]
    if k == 'dict':
        return dict((build_py3(a, str_as), build_py3(b, str_as)) for a, b in v)
    raise ValueError(k)


def acceptable_reprs(item):
    alts = [item['repr']]
    if 'tree' in item and item['tree']['t'] != 'other':
        # Python 2.7: its own repr, or Python 3 style (unicode as '...', str
        # as '...' or b'...', long without L).
        for mode in ('str', 'bytes'):
            r = repr(build_py3(item['tree'], mode))
            if r not in alts:
                alts.append(r)
    return alts


def repr_problem(item, got):
    """None if got is an acceptable repr for the oracle's local item."""
    if item.get('kind') == 'other':
        want = '<%s at 0x%x>' % (item['type'], item['id'])
        m = re.match(r'^<(\S+) at 0x([0-9a-fA-F]+)>$', got)
        if not m or m.group(1) != item['type'] or int(m.group(2), 16) != item['id']:
            return 'expected %r, got %r' % (want, clip(got, 300))
        return None
    alts = acceptable_reprs(item)
    if item.get('kind') == 'recursive':
        # Self-referential container: Python's own repr ('[1, [...]]'), or any
        # bounded form that opens like it and says where it stopped.
        if got in alts or (len(got) <= 2000 and got[:1] == alts[0][:1] and '...' in got):
            return None
        return 'expected %r or a bounded form with "...", got %r' % (alts[0], clip(got, 300))
    if item.get('repr_capped'):
        # The real repr is huge (recorded cut): cspy must truncate it.
        if '...' in got and len(got) <= 100000:
            prefix = got[:got.index('...')]
            if len(prefix) >= 2 and alts[0].startswith(prefix):
                return None
        return 'expected a truncated prefix of %r..., got %r' % (alts[0][:60], clip(got, 300))
    if got in alts:
        return None
    if '...' in got and max(len(a) for a in alts) > SHORT_REPR:
        prefix = got[:got.index('...')]
        if len(prefix) >= 2 and any(a.startswith(prefix) for a in alts):
            return None
        return 'truncated repr %r is not a prefix of %r' % (clip(got, 200), clip(alts[0], 200))
    return 'expected %s, got %r' % (' or '.join(repr(clip(a, 200)) for a in alts), clip(got, 300))


def compare_locals(recorded, frames_got, what, problems, from_json, addr=False):
    """recorded: oracle frame_locals() entries; frames_got: innermost-first
    frames of the thread (JSON dicts or parsed text frames)."""
    for rec in recorded:
        fn = rec['function']
        frame = None
        for f in frames_got:
            if f.get('name') == fn:
                frame = f
                break
        if frame is None:
            problems.append('%s: no frame %s' % (what, fn))
            continue
        if from_json:
            got = frame.get('locals')
            if not isinstance(got, list):
                problems.append('%s: frame %s: "locals" expected a list, got %r' % (what, fn, got))
                continue
            got = [(g.get('name'), g.get('arg'), g.get('repr'), g.get('addr', '(missing)'))
                   for g in got]
        else:
            got = ([(n, True, r, None) for n, r in frame['args']] +
                   [(n, False, r, None) for n, r in frame['locals']])
        exp_names = [i['name'] for i in rec['locals']]
        got_names = [g[0] for g in got]
        if sorted(exp_names) != sorted(got_names):
            problems.append('%s: frame %s: local names differ\n  expected: %s\n  got:      %s'
                            % (what, fn, exp_names, got_names))
        by_name = dict((g[0], g) for g in got)
        for item in rec['locals']:
            g = by_name.get(item['name'])
            if g is None:
                continue
            if g[1] != item['arg']:
                problems.append('%s: frame %s: %s: expected %s, shown as %s'
                                % (what, fn, item['name'],
                                   'an argument' if item['arg'] else 'a local',
                                   'an argument' if g[1] else ('a local' if g[1] is False else repr(g[1]))))
            p = repr_problem(item, g[2]) if isinstance(g[2], str) else 'repr %r is not a string' % (g[2],)
            if p:
                problems.append('%s: frame %s: %s: %s' % (what, fn, item['name'], p))
            if addr:
                got_addr = g[3]
                if isinstance(got_addr, str):
                    try:
                        got_addr = int(got_addr, 0)
                    except ValueError:
                        pass
                if got_addr != item['id']:
                    problems.append('%s: frame %s: %s: "addr" expected 0x%x (its id()), got %r'
                                    % (what, fn, item['name'], item['id'], g[3]))


def check_locals(ctx):
    t, js, tx = stack_check(ctx, 'locals_target.py',
                            {'MainThread': ['locals_fn', 'caller'] + MAIN},
                            flags=['--locals'])
    recorded = t.oracle['extra']['frames']
    main = t.oracle['threads'][0]['native_id']
    problems = []
    for th in js:
        if th.get('os_thread_id') == main:
            compare_locals(recorded, th.get('frames') or [], 'JSON', problems, True)
    ctx.problem(None, ['--locals --json:'] + problems if problems else [])
    problems = []
    for th in (tx[0]['threads'] if tx else []):
        if th['tid'] == main:
            compare_locals(recorded, th['frames'], 'text', problems, False)
    ctx.problem(None, ['--locals (text):'] + problems if problems else [])
    ctx.finish()


def check_locals_addr(ctx):
    """--locals --json: each local's "addr" is the object's address (id())."""
    t, js, tx = stack_check(ctx, 'locals_target.py',
                            {'MainThread': ['locals_fn', 'caller'] + MAIN},
                            flags=['--locals'], text=False)
    recorded = t.oracle['extra']['frames']
    main = t.oracle['threads'][0]['native_id']
    problems = []
    for th in js:
        if th.get('os_thread_id') == main:
            compare_locals(recorded, th.get('frames') or [], 'JSON', problems, True, addr=True)
    addr_only = [p for p in problems if '"addr"' in p]
    if len(addr_only) > 6:
        addr_only = addr_only[:6] + ['... (%d more like these)' % (len(addr_only) - 6)]
    ctx.problem(None, ['--locals --json:'] + addr_only if addr_only else [])
    ctx.finish()


def check_json_vs_text(ctx):
    t = ctx.start('threads10.py')
    t.wait_ready()
    check_sanity(t.oracle, spec_threads10(ctx.interp))
    require_cspy()
    rj, js = ctx.dump(t, as_json=True)
    rt, tx = ctx.dump(t)
    problems = []
    by_pid = json_by_pid(js)
    if sorted(by_pid, key=str) != sorted(p['pid'] for p in tx):
        problems.append('processes: JSON %s, text %s' % (sorted(by_pid, key=str), [p['pid'] for p in tx]))
    for p in tx:
        jthreads = by_pid.get(p['pid'], [])
        info = (jthreads[0].get('process_info') or {}) if jthreads else {}
        for key, tv in (('command_line', p['cmdline']), ('python_version', p['version']),
                        ('executable', p['exe'])):
            if info.get(key) != tv:
                problems.append('process %d: JSON process_info.%s %r, text header %r'
                                % (p['pid'], key, info.get(key), tv))
        jt = [th.get('os_thread_id') for th in jthreads]
        tt = [th['tid'] for th in p['threads']]
        if jt != tt:
            problems.append('process %d: thread order: JSON %s, text %s' % (p['pid'], jt, tt))
        jby = dict((th.get('os_thread_id'), th) for th in jthreads)
        for th in p['threads']:
            j = jby.get(th['tid'])
            if j is None:
                continue
            status = ('active' if j.get('active') else 'idle') + ('+gil' if j.get('owns_gil') else '')
            if status != th['status']:
                problems.append('thread %d: JSON active=%r owns_gil=%r, text status %r'
                                % (th['tid'], j.get('active'), j.get('owns_gil'), th['status']))
            if j.get('thread_name') != th['name']:
                problems.append('thread %d: JSON name %r, text name %r'
                                % (th['tid'], j.get('thread_name'), th['name']))
            e = [fmt(f.get('name'), f.get('short_filename'), f.get('line')) for f in j.get('frames') or []]
            g = [fmt(f['name'], f['file'], f['line']) for f in th['frames']]
            d = frames_diff('thread %d (JSON vs text)' % th['tid'], e, g)
            if d:
                problems.append(d)
    ctx.problem(None, ['$ %s\n$ %s' % (rj.shown, rt.shown)] + problems if problems else [])
    # And both against the oracle.
    p1 = []
    compare_json(t.oracle, by_pid.get(t.oracle['pid'], []), p1)
    ctx.problem(rj, p1)
    p2 = []
    if tx:
        compare_text(t.oracle, tx[0], p2)
    ctx.problem(rt, p2)
    ctx.finish()


def subinterp_oracle(t):
    """The oracle of subinterp.py with the runner's whole stack: its frames in
    the main interpreter (sys._current_frames() there) followed by the
    subinterpreter's own view of its frames (traceback.extract_stack() run
    inside it). NA when the target has no subinterpreters."""
    o = t.wait_ready(exact_tasks=False)
    if o['extra'].get('na'):
        raise NA(o.get('na') or 'no subinterpreters')
    o = t.wait_ready()
    ex = o['extra']
    sub = ex['sub']
    problems = []
    if sub['native_id'] != ex['runner_native_id']:
        problems.append('the subinterpreter ran on thread %s, not the runner %s'
                        % (sub['native_id'], ex['runner_native_id']))
    if ex['main_interp'] != 0 or sub['interp_id'] != ex['run_interp'] or \
            ex['run_interp'] in (0, ex['idle_interp']):
        problems.append('interpreter ids: main %r, run %r (seen inside %r), idle %r'
                        % (ex['main_interp'], ex['run_interp'], sub['interp_id'],
                           ex['idle_interp']))
    names = sorted(th['name'] for th in o['threads'])
    if names != ['MainThread', 'runner']:
        problems.append('threads %s, expected MainThread and runner' % names)
    if problems:
        raise Fail('ORACLE (test bug): ' + '; '.join(problems))
    merged = json.loads(json.dumps(o))
    merged['threads_ordered'] = False
    for th in merged['threads']:
        th['interp'] = ex['main_interp']
        if th['native_id'] == ex['runner_native_id']:
            th['frames'] = th['frames'] + [dict(f, qualname=f['name']) for f in sub['frames']]
            th['interp'] = sub['interp_id']
    return merged


SUBINTERP_NA = ('before 3.10 a thread state has no C stack address: the state that '
                '_xxsubinterpreters borrows from the thread that made the interpreter cannot be '
                'told from that thread\'s own')


def check_subinterp(ctx):
    """An idle subinterpreter, a thread ("runner") running code in another
    (3.10-3.12 _xxsubinterpreters, 3.13 _interpreters, 3.14 concurrent.interpreters)
    and the main thread asleep: dump shows both threads, each whole (the
    runner: the subinterpreter's frames above its main-interpreter frames),
    and the interpreter each one runs in (JSON interpreter_id, the text's
    "[interpreter N]" for any but the main one), as the interpreters
    themselves see it."""
    t = ctx.start('subinterp.py')
    t.oracle = subinterp_oracle(t)
    js, tx = compare_dumps(ctx, t)
    problems = []
    for th in t.oracle['threads']:
        what = 'thread %s' % tname(th)
        got = [j.get('interpreter_id', '(missing)') for j in js
               if j.get('os_thread_id') == th['native_id']]
        if got != [th['interp']]:
            problems.append('%s: JSON interpreter_id expected %r, got %s' % (what, th['interp'], got))
        got = [x['interp'] for p in tx for x in p['threads'] if x['tid'] == th['native_id']]
        if got != [th['interp']]:
            problems.append('%s: text "[interpreter N]" expected %s, got %s'
                            % (what, th['interp'] or '(none: the main one)', got))
    ctx.problem(None, problems)
    ctx.finish()


def check_subinterp_native(ctx):
    """dump --native --json of subinterp.py: each thread's Python frames
    (native false), in the merged order, are its whole stack as in
    `subinterp`, with no native_error: the eval loops of both interpreters
    on the runner's C stack take the subinterpreter's frames, then the
    main interpreter's, in the order the join put them. n/a where --native
    does not merge a one-interpreter target (nested.py) either."""
    t = ctx.start('subinterp.py')
    t.oracle = subinterp_oracle(t)
    require_cspy()
    # The control: one interpreter (nested.py). Where --native does not
    # merge even there, this check does not apply.
    c = ctx.start('nested.py')
    c.wait_ready()
    settle(c)
    res = cspy(['dump', '--pid', c.python_pid, '--native', '--json'])
    if res.rc != 0 and 'without libdw' in res.err:
        raise NA('this cspy is built without libdw: %s' % res.err.strip())
    if res.rc != 0:
        raise Fail('$ %s\n  exit status %d, expected 0\n  stderr: %s'
                   % (res.shown, res.rc, clip(res.err.strip(), 2000)))
    errs = [j.get('native_error') for j in json.loads(res.out) if j.get('native_error')]
    if errs:
        raise NA('--native does not merge on this interpreter without subinterpreters either '
                 '(nested.py: %s)' % errs[0])
    settle(t)
    res = cspy(['dump', '--pid', t.python_pid, '--native', '--json'])
    if res.rc != 0:
        raise Fail('$ %s\n  exit status %d, expected 0\n  stderr: %s'
                   % (res.shown, res.rc, clip(res.err.strip(), 2000)))
    js = json.loads(res.out)
    problems = []
    by_tid = dict((j.get('os_thread_id'), j) for j in js)
    for th in t.oracle['threads']:
        what = 'thread %s' % tname(th)
        j = by_tid.get(th['native_id'])
        if j is None:
            problems.append('%s: missing' % what)
            continue
        if j.get('native_error') is not None:
            problems.append('%s: native_error %r' % (what, j.get('native_error')))
        e = [fmt(f['name'], f['filename'], f['line']) for f in exp_frames(th, t.oracle.get('view_root', ''))]
        g = [fmt(f.get('name'), f.get('filename'), f.get('line')) for f in j.get('frames') or []
             if f.get('native') is False]
        d = frames_diff(what + ' (Python frames of the merged stack)', e, g)
        if d:
            problems.append(d)
    ctx.problem(res, problems)
    ctx.finish()


def pid_order(p):
    """Numeric order of PIDs (a PID wrap puts a child below its parent),
    anything that is not a PID last."""
    return (0, p, '') if isinstance(p, int) else (1, 0, str(p))


def compare_family(ctx, res, oracles, parent_pid, parsed, as_json, extra_pids=()):
    """-s output: exactly the oracles' processes, each once, each right;
    children show their parent."""
    problems = []
    if as_json:
        by_pid = json_by_pid(parsed)
        got = sorted(by_pid, key=pid_order)
    else:
        got = [p['pid'] for p in parsed]
        by_pid = {}
        for p in parsed:
            if p['pid'] in by_pid:
                problems.append('process %d shown more than once' % p['pid'])
            by_pid[p['pid']] = p
    want = sorted(o['pid'] for o in oracles)
    if sorted(set(got), key=pid_order) != want:
        problems.append('processes: expected %s, got %s' % (want, got))
    for o in oracles:
        p = by_pid.get(o['pid'])
        if p is None:
            continue
        if as_json:
            compare_json(o, p, problems)
            if o['pid'] != parent_pid or o['pid'] in extra_pids:
                pp = (p[0].get('process_info') or {}).get('parent_pid')
                if pp != o['ppid']:
                    problems.append('process %d: process_info.parent_pid expected %d, got %r'
                                    % (o['pid'], o['ppid'], pp))
        else:
            compare_text(o, p, problems)
            if o['pid'] != parent_pid or o['pid'] in extra_pids:
                if p['parent'] != o['ppid']:
                    problems.append('process %d: expected a line "Parent process: %d", got %r'
                                    % (o['pid'], o['ppid'], p['parent']))
    ctx.problem(res, problems)


def check_subprocesses(ctx):
    t = ctx.start('mp_parent.py')
    oracle = t.wait_ready()
    check_sanity(oracle, {'MainThread': ['parent_block'] + MAIN})
    children = oracle['extra']['children']
    for c in children:
        check_sanity(c, {c['threads'][0]['name']: ['child_block', 'child_main'] + MAIN})
        if c['ppid'] != oracle['pid']:
            raise Fail('ORACLE (test bug): child %d has parent %d' % (c['pid'], c['ppid']))
    require_cspy()
    for flag in ('--subprocesses', '-s'):
        res, js = ctx.dump(t, [flag], as_json=True)
        compare_family(ctx, res, [oracle] + children, oracle['pid'], js, True)
    res, tx = ctx.dump(t, ['--subprocesses'])
    compare_family(ctx, res, [oracle] + children, oracle['pid'], tx, False)
    ctx.finish()


SPEC_PKG = {'MainThread': ['leaf', 'call_back', 'entry'] + MAIN}


def check_package(ctx):
    t, js, tx = stack_check(ctx, 'pkg_main.py', SPEC_PKG)
    want = [('leaf', 'pkg/sub/mod.py'), ('call_back', 'pkg/sub/__init__.py'),
            ('entry', 'pkg/sub/mod.py'), ('main', 'pkg_main.py')]
    problems = []
    for th in js:
        got = [(f.get('name'), f.get('short_filename')) for f in (th.get('frames') or [])][:4]
        if got != want:
            problems.append('JSON short filenames expected %s, got %s' % (want, got))
    for th in (tx[0]['threads'] if tx else []):
        got = [(f['name'], f['file']) for f in th['frames']][:4]
        if got != want:
            problems.append('text short filenames expected %s, got %s' % (want, got))
    ctx.problem(None, problems)
    ctx.finish()


def check_full_filenames(ctx):
    stack_check(ctx, 'pkg_main.py', SPEC_PKG, flags=['--full-filenames'], full=True)
    ctx.finish()


def check_nonblocking(ctx):
    stack_check(ctx, 'nested.py', spec_nested, flags=['--nonblocking'])
    ctx.finish()


def spec_control_flow(interp):
    return {'except': ['in_except'], 'finally': ['in_finally'], 'with': ['in_with'],
            'loop': ['in_loop'], 'decorated': ['decorated', 'wrapper', 'wrapper', '<lambda>'],
            'class_body': ['Blocking', 'make_class'],
            'MainThread': ['blocker_in_expr', 'long_expression'] + MAIN}


def check_control_flow(ctx):
    stack_check(ctx, 'control_flow.py', spec_control_flow)
    ctx.finish()


def check_callbacks(ctx):
    t, js, tx = stack_check(ctx, 'callbacks.py',
                            {'sorted': ['key_fn', 'sort_thread'],
                             'map': ['key_fn', '<lambda>', 'map_thread'],
                             'exec': ['key_fn', 'exec_thread'],
                             None: ['raw_worker'],
                             'MainThread': ['on_signal', 'trigger'] + MAIN})
    ctx.finish()


def check_import_block(ctx):
    stack_check(ctx, 'import_block.py',
                {'MainThread': ['block_at_import', '<module>'] + MAIN})
    ctx.finish()


# --------------------------------------------------------------------------
# Several threads running at once (free-threaded builds: truly in parallel)

FT_HELPERS = ('here', 'here_busy')      # the targets' own "I am there" calls


def busy_expected(oracle):
    """{native_id: (oracle thread, frames innermost first, loop)} of an
    ft_busy.py oracle. Its snapshot did not wait for stable stacks: a thread
    caught inside here()/here_busy() has those frames removed. loop:
    [function, lo, hi] for a busy thread (its innermost line is anywhere in
    lo..hi), else None (its stack is exact)."""
    loops = oracle['extra']['loops']
    out = {}
    for ot in oracle['threads']:
        exp = exp_frames(ot)
        while exp and exp[0]['name'] in FT_HELPERS and \
                os.path.basename(exp[0]['filename']) in ('cspy_oracle.py', 'ft_busy.py'):
            exp = exp[1:]
        out[ot['native_id']] = (ot, exp, loops.get(str(ot['native_id'])))
    return out


def busy_frames_problems(what, exp, loop, got):
    """got: [(name, filename, line)] innermost first, filename as shown."""
    e = [fmt(f['name'], f['filename'], f['line']) for f in exp]
    g = [fmt(*f) for f in got]
    if loop:
        name, lo, hi = loop
        if not got or got[0][0] != name or not (lo <= got[0][2] <= hi):
            return ['%s: innermost frame expected %s on a line in %d..%d (its loop), got %s'
                    % (what, name, lo, hi, g[:1] or 'no frame')]
        e, g = e[1:], g[1:]
    d = frames_diff(what + ' (the frames under the innermost)' if loop else what, e, g)
    return [d] if d else []


def busy_dump_problems(ctx, t, js, tx):
    """Problems of one JSON and one text dump of an ft_busy.py target (stack
    problems, activity problems)."""
    ft = ctx.interp.free_threaded
    exp = busy_expected(t.oracle)
    stacks, activity = [], []
    got = json_by_pid(js).get(t.oracle['pid'], [])
    compare_thread_sets(t.oracle, [th.get('os_thread_id') for th in got], stacks)
    owners = 0
    for th in got:
        e = exp.get(th.get('os_thread_id'))
        if e is None:
            continue
        ot, frames, loop = e
        what = 'JSON thread %s' % tname(ot)
        if th.get('thread_name') != ot['name']:
            stacks.append('%s: thread_name %r' % (what, th.get('thread_name')))
        stacks += busy_frames_problems(what, frames, loop, [
            (f.get('name'), f.get('filename'), f.get('line')) for f in th.get('frames') or []])
        owners += bool(th.get('owns_gil'))
        # Free-threaded: every busy thread runs (or waits for a CPU in user
        # space), all paused at once, none holds a GIL.
        if ft and loop and not th.get('active'):
            activity.append('%s: busy, expected active' % what)
        if not loop and th.get('active'):
            activity.append('%s: asleep, expected idle' % what)
    if ft and owners:
        stacks.append('free-threaded without a GIL: %d thread(s) said to own the GIL' % owners)
    if not ft and owners > 1:
        stacks.append('%d threads said to own the GIL' % owners)
    procs = tx or []
    if len(procs) != 1:
        stacks.append('text: expected one process section, got %d' % len(procs))
    for th in (procs[0]['threads'] if len(procs) == 1 else []):
        e = exp.get(th['tid'])
        if e is None:
            stacks.append('text: thread %s is not in the oracle' % th['tid'])
            continue
        ot, frames, loop = e
        what = 'text thread %s' % tname(ot)
        stacks += busy_frames_problems(what, [dict(f, filename=f['short']) for f in frames], loop,
                                       [(f['name'], f['file'], f['line']) for f in th['frames']])
        if ft and 'gil' in th['status']:
            stacks.append('%s: status %r on a build without a GIL' % (what, th['status']))
    return stacks, activity


def check_ft_busy(mode):
    def check(ctx):
        """Three threads busy at once (MODE distinct: each in its own
        function; same: all in one function, each with its own bytecode copy
        on 3.14t) and the main thread asleep: each of 3 dumps (JSON and
        text) shows every thread with its whole stack, the busy ones in
        their loop's lines (from co_lines()) under exact callers."""
        t = ctx.start('ft_busy.py', [mode, 3])
        t.runnable = 3
        t.wait_ready()
        funcs = sorted(v[0] for v in t.oracle['extra']['loops'].values())
        if funcs != (['hot'] * 3 if mode == 'same' else ['spin_0', 'spin_1', 'spin_2']):
            raise Fail('ORACLE (test bug): loops %s' % t.oracle['extra']['loops'])
        for attempt in range(3):
            for tries in range(3):
                res, js = ctx.dump(t, (), as_json=True)
                _, tx = ctx.dump(t, ())
                stacks, activity = busy_dump_problems(ctx, t, js, tx)
                if stacks or not activity:
                    break
            ctx.problem(res, stacks + activity)
            if ctx.problems:
                break
        ctx.finish()
    return check


PIDNS_SH = 'mount -t tmpfs tmpfs /tmp && exec "$@"'


def pidns_prefix():
    """The command that runs a target in its own PID namespace with its own
    /proc and a private, empty /tmp, as a container does (python is PID 1
    there); raises NA with the reason when that is not possible here."""
    if os.geteuid() != 0:
        raise NA('needs root for unshare --pid --mount (running as uid %d)' % os.geteuid())
    unshare = shutil.which('unshare')
    if not unshare:
        raise NA('unshare (util-linux) not found on PATH')
    cmd = [unshare, '--fork', '--pid', '--mount', '--mount-proc', '--propagation', 'private',
           '--', 'sh', '-c', PIDNS_SH, 'sh']
    probe = run_cmd(cmd + ['true'])
    if probe.rc != 0:
        raise NA('$ %s: exit status %d: %s' % (probe.shown, probe.rc, probe.err.strip()))
    return cmd


def shared_dir_root():
    """A directory outside /tmp (the namespaced target has its own /tmp) where
    the target writes its oracle for the runner to read."""
    tmp = os.path.realpath('/tmp')
    for d in (os.environ.get('CSPY_E2E_SHARED_DIR'), '/dev/shm', '/var/tmp'):
        if d and os.path.isdir(d) and os.access(d, os.W_OK | os.X_OK):
            real = os.path.realpath(d)
            if real != tmp and not real.startswith(tmp + os.sep):
                return d
    raise NA('no writable directory outside /tmp (/dev/shm, /var/tmp or $CSPY_E2E_SHARED_DIR) '
             'to share the oracle with a target whose /tmp is private')


def children_of(pid):
    """Direct children of pid (/proc/PID/task/*/children, else a /proc scan)."""
    kids = []
    for tid in tasks(pid):
        try:
            with open('/proc/%d/task/%d/children' % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            kids = None
            break
    if kids is None:
        kids = [int(d) for d in os.listdir('/proc') if d.isdigit() and
                (proc_stat(int(d)) or (None, None))[1] == pid]
    return sorted(kids)


def nspid(pid, tid=None):
    """The NSpid: ids of a process or thread, outermost (this /proc's) first."""
    path = '/proc/%d/status' % pid if tid is None else '/proc/%d/task/%d/status' % (pid, tid)
    try:
        with open(path) as f:
            for line in f:
                if line.startswith('NSpid:'):
                    return [int(x) for x in line.split()[1:]]
    except OSError:
        pass
    return []


def start_in_pid_namespace(ctx, script, args=(), exe=None, env=None, interp=None):
    """Start a target under pidns_prefix(), its directory outside /tmp. Wait
    for it with pidns_ready()."""
    prefix = pidns_prefix()
    t = Target(interp or ctx.interp, script, args, exe=exe, env=env, prefix=prefix,
               dir_root=shared_dir_root())
    ctx.targets.append(t)
    return t


def pidns_ready(t, timeout=READY_TIMEOUT, tid_key='native_id'):
    """Wait for a target started by start_in_pid_namespace and turn its oracle
    into the ids seen here: the oracle's pid and native thread ids are those
    inside the namespace (python is PID 1 there). python is the unshare
    process's child; its threads' ids inside come from their NSpid: lines
    (the kernel's own mapping, the test's oracle for it). Sets t.python_pid,
    t.ns_tids {TID here: TID inside}; the oracle gets 'pid' and each thread
    'native_id' as seen here, the originals as 'ns_pid' and 'ns_native_id'
    (tid_key: the oracle's key of a thread's native id, if not native_id)."""
    oracle = t.wait_ready(timeout, exact_tasks=False)
    end = time.time() + 5
    kids = children_of(t.pid)
    while len(kids) != 1 and time.time() < end:
        time.sleep(0.02)
        kids = children_of(t.pid)
    if len(kids) != 1:
        raise Fail('ORACLE (test bug): unshare %d has children %s, expected one python: %s'
                   % (t.pid, kids, t.describe()))
    host = kids[0]
    ids = nspid(host)
    if len(ids) < 2 or ids[0] != host or ids[-1] != oracle['pid']:
        raise Fail('ORACLE (test bug): python %d has NSpid %s, expected [%d, ..., %d] (its pid '
                   'inside, from the oracle): not in its own PID namespace' % (host, ids, host,
                                                                               oracle['pid']))
    try:
        with open('/proc/%d/mountinfo' % host) as f:
            private_tmp = any(l.split()[4] == '/tmp' and ' - tmpfs ' in l for l in f)
    except OSError:
        private_tmp = False
    if not private_tmp or not os.path.isdir('/proc/%d/root%s' % (host, t.dir)):
        raise Fail('ORACLE (test bug): python %d has no tmpfs on /tmp, or does not see %s'
                   % (host, t.dir))
    want = len(oracle['threads'])
    while True:
        mapping = dict(((nspid(host, tid)[-1:] or [0])[0], tid) for tid in tasks(host))
        if len(tasks(host)) == want and all(th[tid_key] in mapping
                                            for th in oracle['threads']):
            break
        if time.time() > end:
            raise Fail('target %d has threads %s (inside: %s), its oracle %s: %s'
                       % (host, tasks(host), sorted(mapping),
                          [th[tid_key] for th in oracle['threads']], t.describe()))
        time.sleep(0.01)
    t.python_pid = host
    t.ns_tids = dict((v, k) for k, v in mapping.items())
    oracle['ns_pid'] = oracle['pid']
    oracle['pid'] = host
    for th in oracle['threads']:
        th['ns_native_id'] = th[tid_key]
        th[tid_key] = mapping[th[tid_key]]
    return oracle


def ns_tid_problems(t, js, tx):
    """The namespace ids shown by a dump (JSON "ns_tid", text "(ns N)") must be
    the threads' ids inside (t.ns_tids)."""
    problems = []
    for th in js or []:
        tid = th.get('os_thread_id')
        if th.get('ns_tid') != t.ns_tids.get(tid):
            problems.append('JSON thread %s "%s": "ns_tid" expected %r, got %r'
                            % (tid, th.get('thread_name'), t.ns_tids.get(tid),
                               th.get('ns_tid', '(missing)')))
    for th in (tx[0]['threads'] if tx else []):
        if th.get('ns_tid') != t.ns_tids.get(th['tid']):
            problems.append('text thread %s "%s": "(ns N)" expected %r, got %r'
                            % (th['tid'], th['name'], t.ns_tids.get(th['tid']), th.get('ns_tid')))
    return problems


def check_pid_namespace(ctx):
    """gil_busy.py as PID 1 of its own PID namespace with a private /tmp (a
    container): its native ids are ids inside. The dumps must match the
    oracle exactly with the TIDs seen here (JSON and text), show each
    thread's id inside ("ns_tid", "(ns N)"), and show the busy thread
    active+gil, the sleepers idle (as gil_busy). The same with
    --nonblocking (no pause, so no fs_base to map a pthread to its TID:
    <= 3.10 read glibc's TID, an id inside too)."""
    t = start_in_pid_namespace(ctx, 'gil_busy.py')
    t.runnable = 1
    oracle = pidns_ready(t)
    check_sanity(oracle, SPEC_GIL_BUSY)
    note = '(python %d is PID %d in its namespace; threads here: inside %s)' % (
        oracle['pid'], oracle['ns_pid'], sorted(t.ns_tids.items()))
    js, tx = compare_dumps(ctx, t, note=note)
    names = dict((th['native_id'], th['name']) for th in oracle['threads'])
    problems, attempt, js, tx = gil_busy_retried(ctx, t, names, js, tx)
    problems += ns_tid_problems(t, js, tx)
    if problems:
        ctx.problem(None, [note, '(--json and text dumps above, attempt %d)' % (attempt + 1)] +
                    problems)
    js, tx = compare_dumps(ctx, t, ['--nonblocking'], note=note)
    problems = ns_tid_problems(t, js, tx)
    busy = [th for th in js or [] if th.get('thread_name') == 'busy']
    if not busy or not busy[0].get('active'):
        problems.append('JSON thread "busy": expected active (it spins), got %s'
                        % (busy[0].get('active') if busy else '(missing)'))
    if problems:
        ctx.problem(None, [note, '(--nonblocking --json and text dumps above)'] + problems)
    ctx.finish()


def check_venv(ctx):
    """The target runs with DIR/bin/python of a virtual environment
    (`python -m venv --without-pip DIR`): a symlink to the base interpreter,
    sys.executable is the venv's path. Exact match as in nested; the header
    names the executable as the venv path or its real path (what
    /proc/PID/exe resolves to)."""
    if ctx.interp.root:
        raise NA('a venv made in a chroot links to the root\'s python, which runs only in it')
    d = make_temp_dir('cspy-e2e-venv-')
    try:
        venv = os.path.join(d, 'venv')
        r = run_cmd([ctx.interp.path, '-m', 'venv', '--without-pip', venv], timeout=120,
                    env=target_env())
        if r.rc != 0 and 'No module named' in r.err:
            raise NA('%s -m venv: %s' % (ctx.interp.path, r.err.strip().split('\n')[-1]))
        vpy = os.path.join(venv, 'bin', 'python')
        if r.rc != 0 or not os.path.exists(vpy):
            raise Fail('$ %s\n  cannot create the virtual environment (exit status %d, '
                       '%s %s)\n  stderr: %s' % (r.shown, r.rc, vpy,
                                                  'exists' if os.path.exists(vpy) else 'missing',
                                                  clip(r.err.strip(), 2000)))
        t = ctx.start('nested.py', exe=vpy)
        oracle = t.wait_ready()
        check_sanity(oracle, spec_nested(ctx.interp))
        real = os.path.realpath(vpy)
        try:
            proc_exe = os.readlink('/proc/%d/exe' % t.pid)
        except OSError as e:
            proc_exe = '(%s)' % e
        if (oracle['executable'], oracle['real_executable']) != (vpy, real):
            raise Fail('ORACLE (test bug): sys.executable %r (real path %r) in the venv, '
                       'expected %r (%r)' % (oracle['executable'], oracle['real_executable'],
                                             vpy, real))
        if proc_exe not in (vpy, real):
            raise Fail('ORACLE (test bug): /proc/%d/exe is %r, expected %r or %r'
                       % (t.pid, proc_exe, vpy, real))
        # compare_json/compare_text accept oracle['executable'] (vpy) or
        # oracle['real_executable'] (its real path) as the executable.
        compare_dumps(ctx, t, note='(venv %s, /proc/%d/exe -> %s)' % (venv, t.pid, proc_exe))
    finally:
        remove_temp_dir(d)
    ctx.finish()


def term_escaped(s):
    """s as cspy escapes text for a terminal (util/termsafe.h), written
    independently: \\n \\r \\t, \\xNN for other C0 and DEL, \\u00NN for C1."""
    out = []
    for ch in s:
        c = ord(ch)
        if ch in '\n\r\t':
            out.append({'\n': '\\n', '\r': '\\r', '\t': '\\t'}[ch])
        elif c < 0x20 or c == 0x7f:
            out.append('\\x%02x' % c)
        elif 0x80 <= c < 0xa0:
            out.append('\\u%04x' % c)
        else:
            out.append(ch)
    return ''.join(out)


def raw_controls(text, keep='\n'):
    """The control characters (C0 but keep, DEL, C1) and U+FFFD (a byte that
    was not UTF-8) in text, as a sorted list of their reprs."""
    return sorted(set(repr(ch) for ch in text if (ord(ch) < 0x20 and ch not in keep) or
                      0x7f <= ord(ch) < 0xa0 or ch == FFFD))


def check_terminal_escapes(ctx):
    """hostile_term.py: a function, its file and a thread named with ESC [31m,
    BEL, a newline (and CSI U+009B in the function). dump's text must hold no
    control character but its own newlines, show each name escaped
    (\\x1b[31m ...) on the line where it belongs, and keep its layout; the
    JSON keeps the exact names."""
    t = ctx.start('hostile_term.py')
    o = t.wait_ready()
    x = o['extra']
    require_cspy()
    settle(t)
    res = cspy(['dump', '--pid', t.pid])
    problems = []
    if res.rc != 0:
        problems.append('exit status %d, expected 0; stderr: %s' % (res.rc, clip(res.err, 500)))
    bad = raw_controls(res.out)
    if bad:
        problems.append('raw control characters in the text: %s' % ', '.join(bad))
    try:
        procs = parse_text(res.out)
    except ValueError as e:
        procs = []
        problems.append('the text layout is broken: %s' % e)
    if procs:
        threads = procs[0]['threads']
        names = sorted(th['name'] or '' for th in threads)
        want = sorted([term_escaped(x['thread']), 'MainThread'])
        if names != want:
            problems.append('thread names %r, expected %r' % (names, want))
        for th in threads:
            f0 = th['frames'][0] if th['frames'] else {}
            if (f0.get('name'), f0.get('file')) != (term_escaped(x['name']), term_escaped(x['filename'])):
                problems.append('thread %r: innermost frame %r (%r), expected %r (%r)'
                                % (th['name'], f0.get('name'), f0.get('file'),
                                   term_escaped(x['name']), term_escaped(x['filename'])))
    if problems:
        problems.append('output:\n' + indent(clip(res.out, 2000), 2))
    ctx.problem(res, problems)
    res, js = ctx.dump(t, as_json=True)
    problems = []
    compare_json(o, js, problems)
    ctx.problem(res, problems)
    ctx.finish()


def na_before(minor, reason):
    return lambda interp: reason if interp.minor < minor else None




# --------------------------------------------------------------------------
# Version-independent checks

def expect_error(ctx, res, needles):
    problems = []
    if res.rc == 0:
        problems.append('exit status 0, expected non-zero')
    lines = [l for l in res.err.split('\n') if l.strip()]
    if len(lines) != 1:
        problems.append('expected exactly one line on stderr, got %d' % len(lines))
    if not lines or not lines[0].startswith('cspy: error: '):
        problems.append('stderr does not start with "cspy: error: "')
    for n in needles:
        if n.lower() not in res.err.lower():
            problems.append('stderr does not contain %r' % n)
    if problems:
        problems.append('stderr: %r' % clip(res.err, 1000))
    ctx.problem(res, problems)


def start_plain(cmd):
    return spawn(cmd, group=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL, start_new_session=True)


def check_no_such_pid(ctx):
    require_cspy()
    pid = None
    for _ in range(20):
        p = start_plain(['true'])
        p.wait()
        untrack(p)
        if not os.path.exists('/proc/%d' % p.pid):
            pid = p.pid
            break
    if pid is None:
        raise NA('could not find a free PID')
    expect_error(ctx, cspy(['dump', '--pid', pid]), ['no such process'])
    ctx.finish()


def check_not_python(ctx):
    require_cspy()
    p = start_plain(['sleep', '100'])
    try:
        end = time.time() + 5
        while os.path.realpath('/proc/%d/exe' % p.pid).endswith('python3') and time.time() < end:
            time.sleep(0.01)                 # until exec is done
        time.sleep(0.05)
        expect_error(ctx, cspy(['dump', '--pid', p.pid]), ['not a Python process', 'sleep'])
    finally:
        end_process(p, group=True)
    ctx.finish()


def check_hostile_comm(ctx):
    """A process whose name (comm, /proc/PID/stat) holds ESC [31m and BEL is
    not Python: the error of dump, record and top quotes its name escaped,
    with no raw control character on stderr."""
    require_cspy()
    d = make_temp_dir('cspy-e2e-comm-')
    try:
        exe = os.path.join(d, 'sl\x1b[31m\x07p')
        shutil.copy(shutil.which('sleep'), exe)
        p = start_plain([exe, '100'])
        try:
            end = time.time() + 5
            while 'sl\x1b' not in (open('/proc/%d/comm' % p.pid).read()) and time.time() < end:
                time.sleep(0.01)            # until exec is done
            for args in (['dump', '--pid', p.pid], ['record', '-d', '1', '-o', os.path.join(d, 'x.svg'),
                                                    '--pid', p.pid],
                         ['top', '-d', '1', '--pid', p.pid]):
                res = cspy(args)
                expect_error(ctx, res, ['not a Python process', 'sl\\x1b[31m\\x07p'])
                bad = raw_controls(res.err)
                if bad:
                    ctx.problem(res, ['raw control characters on stderr: %s' % ', '.join(bad)])
        finally:
            end_process(p, group=True)
    finally:
        remove_temp_dir(d)
    ctx.finish()


def check_unsupported(ctx, interps):
    """Unsupported Python versions: any installed interpreter outside what cspy
    supports, and the fakes built from tests/targets/fake_python.c (a 3.16,
    newer than cspy, whose _Py_DebugOffsets are zeros: tried with one warning
    and refused; and a 2.6)."""
    tested = 0
    for interp in [i for i in interps if not i.supported()]:
        t = Target(interp, 'nested.py')
        ctx.targets.append(t)
        t.wait_ready()
        require_cspy()
        expect_error(ctx, cspy(['dump', '--pid', t.pid]), ['unsupported', interp.version])
        tested += 1
    src = os.path.join(TARGETS, 'fake_python.c')
    cc = shutil.which(os.environ.get('CC') or 'cc') or shutil.which('gcc')
    if os.path.exists(src) and cc:
        require_cspy()
        d = make_temp_dir('cspy-e2e-fake-')
        try:
            for name, defs, want in (
                    ('python3.16', ['-DFAKE_VERSION=0x031000f0'],
                     ['newer than cspy knows', '3.16', 'cannot read it']),
                    ('python2.6', ['-DFAKE_OLD'], ['unsupported', '2.6'])):
                exe = os.path.join(d, name)
                r = run_cmd([cc, '-rdynamic'] + defs + ['-o', exe, src], timeout=60)
                if r.rc != 0:
                    raise Fail('cannot build %s from %s:\n%s' % (name, src, r.err))
                p = spawn([exe], group=True, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
                try:
                    end = time.time() + 5
                    while os.path.realpath('/proc/%d/exe' % p.pid) != exe and time.time() < end:
                        time.sleep(0.01)
                    time.sleep(0.05)
                    r = cspy(['dump', '--pid', p.pid])
                    # a newer minor: one warning line, then the one-line error
                    warned = [l for l in r.err.splitlines() if l.startswith('cspy: warning:')]
                    if len(warned) != (1 if name == 'python3.16' else 0):
                        raise Fail('%s: expected %s warning line, got %r' % (
                            name, 'one' if name == 'python3.16' else 'no', r.err))
                    rest = copy.copy(r)
                    rest.err = ''.join(l for l in r.err.splitlines(True)
                                       if not l.startswith('cspy: warning:'))
                    expect_error(ctx, rest, want)
                finally:
                    end_process(p, group=True)
                tested += 1
        finally:
            remove_temp_dir(d)
    if not tested:
        raise NA('no unsupported interpreter installed and no C compiler for fake_python.c')
    ctx.finish()


def find_kernel_thread():
    try:
        with open('/proc/2/comm') as f:
            if f.read().strip() == 'kthreadd':
                return 2
    except OSError:
        pass
    for d in os.listdir('/proc'):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[3] & 0x00200000:      # PF_KTHREAD
                return int(d)
    return None


def expect_error_all(ctx, pid, needles):
    """dump, record and top on pid: each fails in one line with the needles
    (record leaves no output file behind)."""
    d = make_temp_dir('cspy-e2e-')
    try:
        out = os.path.join(d, 'profile.txt')
        expect_error(ctx, cspy(['dump', '--pid', pid]), needles)
        expect_error(ctx, cspy(['record', '-d', '1', '-f', 'raw', '-o', out, '--pid', pid]),
                     needles)
        if os.path.exists(out):
            ctx.problems.append(('cspy record --pid %d' % pid, ['left an output file behind']))
        expect_error(ctx, cspy(['top', '-d', '1', '--pid', pid]), needles)
    finally:
        remove_temp_dir(d)


def check_kernel_thread(ctx):
    pid = find_kernel_thread()
    if pid is None:
        raise NA('no kernel thread visible in /proc (PID namespace?)')
    require_cspy()
    expect_error_all(ctx, pid, ['kernel thread'])
    ctx.finish()


def check_zombie(ctx):
    t = ctx.start('zombie.py')
    oracle = t.wait_ready()
    zpid = oracle['extra']['zombie_pid']
    end = time.time() + 5
    while (proc_stat(zpid) or ('?',))[0] != 'Z':
        if time.time() > end:
            raise Fail('ORACLE (test bug): %d is not a zombie: %s' % (zpid, proc_stat(zpid)))
        time.sleep(0.01)
    require_cspy()
    expect_error_all(ctx, zpid, ['zombie', 'not reaped'])
    ctx.finish()


def tracer_of(pid, tid):
    try:
        with open('/proc/%d/task/%d/status' % (pid, tid)) as f:
            for line in f:
                if line.startswith('TracerPid:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def check_traced(ctx):
    """A target traced by strace -f: dump, record and top (pausing) fail at
    once naming the tracer; --nonblocking dump and record still work."""
    strace = shutil.which('strace')
    if not strace:
        raise NA('strace is not installed (apt-get install strace)')
    t = ctx.start('nested.py')
    oracle = t.wait_ready()
    check_sanity(oracle, spec_nested(ctx.interp))
    require_cspy()
    tr = spawn([strace, '-f', '-p', str(t.pid), '-o', '/dev/null'], stdin=subprocess.DEVNULL,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = make_temp_dir('cspy-e2e-')
    try:
        end = time.time() + 10
        while not all(tracer_of(t.pid, tid) == tr.pid for tid in tasks(t.pid)):
            if time.time() > end or tr.poll() is not None:
                raise Fail('strace -f -p %d did not attach to every thread: TracerPid %s'
                           % (t.pid, [tracer_of(t.pid, tid) for tid in tasks(t.pid)]))
            time.sleep(0.02)
        needles = ['already traced by PID %d (strace)' % tr.pid, '--nonblocking']
        out = os.path.join(d, 'profile.txt')
        expect_error(ctx, cspy(['dump', '--pid', t.pid]), needles)
        expect_error(ctx, cspy(['record', '-d', '1', '-f', 'raw', '-o', out, '--pid', t.pid]),
                     needles)
        expect_error(ctx, cspy(['top', '-d', '1', '--pid', t.pid]), needles)
        # Without pausing, strace is no obstacle: the exact stacks, and a profile.
        compare_dumps(ctx, t, ['--nonblocking'])
        res = cspy(['record', '--nonblocking', '--idle', '-d', '1', '-r', '50', '-f', 'raw',
                    '-o', out, '--pid', t.pid])
        m = re.search(r'Samples: (\d+) Errors: (\d+)', res.err)
        problems = []
        if res.rc != 0:
            problems.append('exit status %d, expected 0' % res.rc)
        if not m or int(m.group(1)) < 10 or int(m.group(2)) != 0:
            problems.append('expected at least 10 samples and no error: %r' % clip(res.err, 500))
        try:
            with open(out) as f:
                raw = f.read()
        except OSError:
            raw = ''
        if 'level4' not in raw:
            problems.append('the profile does not show level4: %r' % clip(raw, 500))
        ctx.problem(res, problems)
        left = leftover_stops(t)
        if left:
            ctx.problems.append((None, ['the target was left stopped: %s' % left]))
    finally:
        end_tracer(tr)
        remove_temp_dir(d)
    ctx.finish()


def end_tracer(tr):
    """End a tracer (strace) started by a check: SIGTERM first, so that it
    detaches from its tracee, then by PID as every process."""
    try:
        os.kill(tr.pid, signal.SIGTERM)
        tr.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        pass
    end_process(tr)


def check_shell_script(ctx):
    t = ctx.start('nested.py', via_sh=True)
    oracle = t.wait_ready()
    if oracle['ppid'] != t.pid:
        raise Fail('ORACLE (test bug): python %d is not the child of sh %d' % (oracle['pid'], t.pid))
    require_cspy()
    expect_error(ctx, cspy(['dump', '--pid', t.pid]), ['--subprocesses', str(oracle['pid'])])
    ctx.finish()


def check_shell_script_subprocesses(ctx):
    t = ctx.start('nested.py', via_sh=True)
    oracle = t.wait_ready()
    require_cspy()
    res, js = ctx.dump(t, ['--subprocesses'], as_json=True)
    compare_family(ctx, res, [oracle], t.pid, js, True, extra_pids=[oracle['pid']])
    res, tx = ctx.dump(t, ['--subprocesses'])
    compare_family(ctx, res, [oracle], t.pid, tx, False, extra_pids=[oracle['pid']])
    ctx.finish()


def check_permission_denied(ctx):
    if os.geteuid() != 0:
        raise NA('needs root (to run cspy as nobody against a root-owned target)')
    try:
        import pwd
        pwd.getpwnam('nobody')
    except KeyError:
        raise NA('no user nobody on this machine')
    if shutil.which('setpriv'):
        prefix = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']
        try:
            import grp
            grp.getgrnam('nogroup')
        except KeyError:
            prefix[2] = '--regid=nobody'
    elif shutil.which('runuser'):
        prefix = ['runuser', '-u', 'nobody', '--']
    else:
        raise NA('neither setpriv nor runuser is installed')
    t = ctx.start('nested.py')
    t.wait_ready()
    require_cspy()
    d = make_temp_dir('cspy-e2e-nobody-')
    try:
        os.chmod(d, 0o755)
        exe = os.path.join(d, 'cspy')
        shutil.copy(cspy_path(), exe)
        os.chmod(exe, 0o755)
        res = cspy(['dump', '--pid', t.pid], prefix=prefix, exe=exe)
    finally:
        remove_temp_dir(d)
    expect_error(ctx, res, ['permission denied', 'CAP_SYS_PTRACE', 'sudo'])
    ctx.finish()


def makefile_version():
    try:
        with open(os.path.join(REPO, 'Makefile')) as f:
            m = re.search(r'^VERSION\s*:?=\s*(\S+)', f.read(), re.M)
            return m.group(1) if m else None
    except OSError:
        return None


def check_version(ctx):
    res = cspy(['--version'])
    problems = []
    if res.rc != 0:
        problems.append('exit status %d, expected 0' % res.rc)
    m = re.match(r'^cspy (\d+\.\d+\.\d+)\n?$', res.out)
    if not m:
        problems.append('stdout expected "cspy X.Y.Z", got %r' % res.out)
    elif makefile_version() and m.group(1) != makefile_version():
        problems.append('version %s, Makefile says %s' % (m.group(1), makefile_version()))
    ctx.problem(res, problems)
    ctx.finish()


def check_help(ctx):
    res = cspy(['--help'])
    problems = []
    if res.rc != 0:
        problems.append('exit status %d, expected 0' % res.rc)
    for n in ('usage', 'dump'):
        if n not in res.out.lower():
            problems.append('stdout does not mention %r:\n%s' % (n, indent(clip(res.out, 1500))))
    ctx.problem(res, problems)
    ctx.finish()


def check_dump_help(ctx):
    res = cspy(['dump', '--help'])
    problems = []
    if res.rc != 0:
        problems.append('exit status %d, expected 0' % res.rc)
    for n in ('--pid', '--json', '--locals', '--subprocesses', '--nonblocking',
              '--full-filenames', '--qualname'):
        if n not in res.out:
            problems.append('stdout does not mention %s' % n)
    if problems:
        problems.append('stdout:\n' + indent(clip(res.out, 2000)))
    ctx.problem(res, problems)
    ctx.finish()


def check_unknown_flag(ctx):
    # Unknown flags and commands: non-zero exit and a usage hint.
    for args in (['dump', '--pid', '1', '--no-such-flag'], ['--no-such-flag'],
                 ['no-such-command']):
        res = cspy(args)
        problems = []
        if res.rc == 0:
            problems.append('exit status 0, expected non-zero')
        both = (res.err + res.out).lower()
        if 'usage' not in both and '--help' not in both:
            problems.append('no usage hint ("usage" or "--help") in the output; stderr: %r'
                            % clip(res.err, 500))
        ctx.problem(res, problems)
    # Missing or malformed --pid: non-zero exit and an error or a usage hint.
    for args in (['dump'], ['dump', '--pid', 'abc']):
        res = cspy(args)
        problems = []
        if res.rc == 0:
            problems.append('exit status 0, expected non-zero')
        both = (res.err + res.out).lower()
        if 'usage' not in both and '--help' not in both and 'cspy: error: ' not in res.err:
            problems.append('neither an error ("cspy: error: ...") nor a usage hint; stderr: %r'
                            % clip(res.err, 500))
        ctx.problem(res, problems)
    ctx.finish()


def read_counter(path):
    for _ in range(50):
        try:
            with open(path) as f:
                a, b = f.read().split()
                return int(a), int(b)
        except (OSError, ValueError):
            time.sleep(0.01)
    raise Fail('cannot read the progress counter %s' % path)


def progress_problem(t, within=1.0):
    """None if both counters of the progress target advance within `within` s."""
    path = t.oracle['extra']['counter']
    a = read_counter(path)
    end = time.time() + within
    while time.time() < end:
        time.sleep(0.05)
        b = read_counter(path)
        if b[0] > a[0] and b[1] > a[1]:
            return None
    return 'target made no progress in %.1f s (counters %s then %s)' % (within, a, read_counter(path))


def check_subprocesses_tree(ctx):
    t = ctx.start('fork_tree.py')
    oracle = t.wait_ready()
    check_sanity(oracle, {'MainThread': ['leaf_block', 'run_level'] + MAIN})
    kids = oracle['extra']['children']
    for c, depth in zip(kids, (2, 3)):
        check_sanity(c, {c['threads'][0]['name']: ['leaf_block'] + ['run_level'] * depth + MAIN})
    require_cspy()
    res, js = ctx.dump(t, ['--subprocesses'], as_json=True)
    compare_family(ctx, res, [oracle] + kids, oracle['pid'], js, True)
    res, tx = ctx.dump(t, ['--subprocesses'])
    compare_family(ctx, res, [oracle] + kids, oracle['pid'], tx, False)
    ctx.finish()


def check_long_cmdline(ctx):
    stack_check(ctx, 'nested.py', spec_nested,
                args=['--tag', 'x' * 6000, 'with space', u'\u00fcn\u00efc\u00f6d\u00e9-\U0001F40D'])
    ctx.finish()


def check_stopped_target(ctx):
    """A target the user stopped (SIGSTOP) is dumped (or refused cleanly) and
    is still stopped afterwards; it runs again on SIGCONT."""
    t = ctx.start('progress.py')
    t.runnable = None
    t.wait_ready()
    require_cspy()
    os.kill(t.pid, signal.SIGSTOP)
    problems = []
    try:
        end = time.time() + 2
        while any((proc_stat(t.pid, tid) or ('?',))[0] != 'T' for tid in tasks(t.pid)):
            if time.time() > end:
                raise Fail('target did not stop on SIGSTOP (test problem)')
            time.sleep(0.01)
        res = cspy(['dump', '--pid', t.pid], timeout=10)
        if res.rc == 0:
            try:
                procs = parse_text(res.out)
                names = sorted(th['name'] for th in procs[0]['threads'])
                if names != ['MainThread', 'ticker']:
                    problems.append('threads expected MainThread and ticker, got %s' % names)
            except (ValueError, IndexError) as e:
                problems.append('unparseable output (%s):\n%s' % (e, indent(clip(res.out, 1500))))
        elif not res.err.startswith('cspy: error: '):
            problems.append('exit status %d without a "cspy: error: " message; stderr: %r'
                            % (res.rc, clip(res.err, 500)))
        time.sleep(0.2)
        states = [(tid, (proc_stat(t.pid, tid) or ('gone',))[0]) for tid in tasks(t.pid)]
        if any(st != 'T' for _, st in states):
            problems.append('the target was stopped (T) before the dump; after it its threads are %s '
                            '(expected all still T: the dump must not resume or keep tracing it)'
                            % states)
    finally:
        os.kill(t.pid, signal.SIGCONT)
    pr = progress_problem(t, within=2.0)
    if pr:
        problems.append('after SIGCONT: ' + pr)
    ctx.problem(res, problems)
    ctx.finish()


CFRAME_WINDOW_MAX = 2      # of the churners' entries in 100 blocking dumps (3 per dump)
FT_NAMELESS_MAX = 3        # of 100 blocking dumps of a free-threaded build (see check_churn)


def check_churn(ctx):
    """Threads starting and ending, stacks changing: every blocking dump is
    a consistent snapshot (the blocked main thread exact, the recursing
    thread well-formed); --nonblocking dumps never crash or hang."""
    t = ctx.start('churn.py')
    t.runnable = None
    oracle = t.wait_ready(exact_tasks=False)
    main = [th for th in oracle['threads'] if th['name'] == 'MainThread'][0]
    always = {'MainThread', 'changer', 'churner-0', 'churner-1', 'churner-2'}
    # A short thread has no name yet (or no more) while it starts or ends:
    # threading registers it in _active after its OS thread started.
    allowed = always | set('short-%d' % i for i in range(4)) | {None}
    require_cspy()
    kinds = {}          # kind of anomaly -> [count, first example]
    cframe_window = ctx.interp.minor in ((3, 11), (3, 12))

    def note(kind, example):
        k = kinds.setdefault(kind, [0, example])
        k[0] += 1

    # Threads churn, so readiness cannot wait for an exact task list: the
    # oracle's own short-lived thread may still be ending. Start once a dump
    # no longer shows it (bounded).
    end = time.time() + 10
    while True:
        res, js = ctx.dump(t, as_json=True)
        if 'cspy-oracle' not in [th.get('thread_name') for th in js]:
            break
        if time.time() > end:
            raise Fail('churn.py: the oracle thread "cspy-oracle" did not end within 10 s')
        time.sleep(0.05)

    ndumps = 100
    for i in range(ndumps):
        res, js = ctx.dump(t, as_json=True)
        names = [th.get('thread_name') for th in js]
        tids = [th.get('os_thread_id') for th in js]
        if ctx.interp.free_threaded and names and set(names) == {None}:
            # Without a GIL a thread may be paused in the middle of changing
            # threading._active: that dict cannot be read in this dump, and
            # no thread has a name (the thread set is still checked by TID
            # below). Tolerated in at most FT_NAMELESS_MAX dumps.
            note('no thread names (threading._active caught mid-change, no GIL)', 'dump #%d' % (i + 1))
        elif not always <= set(names) or set(names) - allowed:
            note('unexpected thread set', '%s' % names)
        for tid in sorted(set(x for x in tids if tids.count(x) > 1), key=str):
            note('a TID listed more than once', 'dump #%d: TID %s listed %d times: %s' % (
                i + 1, tid, tids.count(tid),
                ', '.join('"%s" thread_id=%s with %d frames' % (
                    th.get('thread_name'), th.get('thread_id'), len(th.get('frames') or []))
                    for th in js if th.get('os_thread_id') == tid)))
        for th in js:
            if not isinstance(th.get('os_thread_id'), int) or th.get('os_thread_id') <= 0:
                note('os_thread_id not a TID', 'dump #%d: "%s" thread_id=%s os_thread_id=%r, %d frames %s'
                     % (i + 1, th.get('thread_name'), th.get('thread_id'), th.get('os_thread_id'),
                        len(th.get('frames') or []),
                        [f.get('name') for f in th.get('frames') or []][:4]))
        for th in js:
            frames = th.get('frames') or []
            if th.get('os_thread_id') == main['native_id'] and th.get('thread_name') == 'MainThread':
                e = [fmt(f['name'], f['filename'], f['line']) for f in exp_frames(main)]
                g = [fmt(f.get('name'), f.get('filename'), f.get('line')) for f in frames]
                d = frames_diff('dump #%d: MainThread (blocked)' % (i + 1), e, g)
                if d:
                    note('blocked main thread stack wrong', d)
            elif th.get('thread_name') == 'changer':
                own = [f.get('name') for f in frames
                       if not str(f.get('filename')).endswith('threading.py')]
                k = len(own) - 1
                if not own or own != ['recurse_spin'] * k + ['stack_changer'] or k > 60:
                    note('inconsistent stack', 'dump #%d: thread "changer": %s' % (i + 1, own))
            elif str(th.get('thread_name')).startswith('churner'):
                if not frames and cframe_window:
                    # 3.11/3.12 enter the eval loop by pointing
                    # tstate->cframe at a C-stack cframe a few instructions
                    # before setting its current_frame: a pause there sees
                    # no frame at all (never a wrong one). Rare: counted,
                    # and at most CFRAME_WINDOW_MAX such entries pass.
                    note('empty stack (the eval loop entry window)',
                         'dump #%d: thread "%s" (TID %s)' % (i + 1, th.get('thread_name'),
                                                             th.get('os_thread_id')))
                elif 'churner' not in [f.get('name') for f in frames]:
                    note('long-lived thread without its frames',
                         'dump #%d: thread "%s" (TID %s): frames %s' % (
                             i + 1, th.get('thread_name'), th.get('os_thread_id'),
                             [f.get('name') for f in frames]))
    window = kinds.get('empty stack (the eval loop entry window)')
    if window and window[0] <= CFRAME_WINDOW_MAX:
        del kinds['empty stack (the eval loop entry window)']
    nameless = kinds.get('no thread names (threading._active caught mid-change, no GIL)')
    if nameless and nameless[0] <= FT_NAMELESS_MAX:
        del kinds['no thread names (threading._active caught mid-change, no GIL)']
    if kinds:
        ctx.problem(res, ['%d blocking dumps (all threads should be paused: a consistent snapshot):'
                          % ndumps] +
                    ['%s: in %d dump entries; first: %s' % (k, v[0], v[1])
                     for k, v in sorted(kinds.items())])
    for i in range(20):
        res = cspy(['dump', '--pid', t.pid, '--nonblocking', '--json'])
        problems = []
        if res.rc < 0 or res.rc > 128:
            problems.append('killed by signal %d' % abs(res.rc if res.rc < 0 else res.rc - 128))
        elif res.rc != 0 and not res.err.startswith('cspy: error: '):
            problems.append('exit status %d without a "cspy: error: " message; stderr: %r'
                            % (res.rc, clip(res.err, 500)))
        elif res.rc == 0:
            try:
                if not isinstance(json.loads(res.out), list):
                    problems.append('JSON output is not an array')
            except ValueError as e:
                problems.append('invalid JSON (%s): %s' % (e, clip(res.out, 500)))
        ctx.problem(res, problems)
        if problems:
            break
    ctx.finish()


def check_deleted_executable(ctx, interps):
    """The interpreter's executable was deleted after the target started
    (Python upgraded under a running program): the dump still works; the
    executable may be shown with " (deleted)"."""
    chosen = []
    for i in interps:
        if i.source == 'system' and i.supported():
            chosen.append(i)          # a static build: the symbols are in the executable
            break
    if ctx.interp not in chosen:
        chosen.append(ctx.interp)
    for interp in chosen:
        d = make_temp_dir('cspy-e2e-exe-')
        try:
            exe = os.path.join(d, os.path.basename(os.path.realpath(interp.path)))
            shutil.copy(os.path.realpath(interp.path), exe)
            t = Target(interp, 'nested.py', exe=exe, env={'PYTHONHOME': interp.home})
            ctx.targets.append(t)
            oracle = t.wait_ready()
            os.unlink(exe)
        finally:
            remove_temp_dir(d)
        check_sanity(oracle, spec_nested(interp))
        oracle['real_executable'] = exe + ' (deleted)'     # either form is fine
        require_cspy()
        res, js = ctx.dump(t, as_json=True)
        problems = []
        compare_json(oracle, js, problems)
        ctx.problem(res, ['(%s, copied to %s and deleted)' % (interp.label, exe)] + problems
                    if problems else [])
    ctx.finish()


MOUNT_NS_SH = 'mkdir -p "$1" && mount --bind "$2" "$1" && shift 2 && exec "$@"'


def remove_hidden(d, hidden):
    """Remove the temporary directory d holding the mount point hidden, unless
    hidden is not an empty directory here (the bind mount leaked into our
    mount namespace: removing it would delete the interpreter)."""
    if os.path.ismount(hidden) or (os.path.isdir(hidden) and os.listdir(hidden)):
        with _tracked_lock:
            _temp_dirs.discard(d)
        return False
    remove_temp_dir(d)
    return True


def check_mount_namespace(ctx, interps):
    """A container-like target: its interpreter runs from HIDDEN, an empty
    directory here onto which the interpreter's prefix is bind-mounted in the
    target's own mount namespace only (`unshare --mount`): its executable,
    libpython (LD_LIBRARY_PATH, RUNPATH would pick the visible prefix) and
    stdlib paths do not exist for cspy, which must go through /proc/PID/root
    or /proc/PID/map_files. Exact match as in nested; filenames and short
    filenames as the target sees them. Done with the newest pyenv 3.x with a
    shared libpython and with a pyenv 2.7 if installed."""
    if os.geteuid() != 0:
        raise NA('needs root for unshare --mount and mount --bind (running as uid %d)'
                 % os.geteuid())
    unshare = shutil.which('unshare')
    if not unshare:
        raise NA('unshare (util-linux) not found on PATH')
    probe = run_cmd([unshare, '--mount', '--propagation', 'private', '--', 'true'])
    if probe.rc != 0:
        raise NA('$ %s: exit status %d: %s' % (probe.shown, probe.rc, probe.err.strip()))
    shared = [i for i in interps if i.source == 'pyenv' and i.supported() and i.shared]
    chosen = [i for i in shared if i.minor >= (3, 0)][-1:] + \
        [i for i in shared if i.minor == (2, 7)][-1:]
    if not chosen:
        raise NA('no supported pyenv interpreter with a shared libpython')
    for interp in chosen:
        d = make_temp_dir('cspy-e2e-mnt-')
        hidden = os.path.join(d, 'hidden')
        os.mkdir(hidden)
        realdir = os.path.realpath(interp.prefix)
        t = None
        try:
            t = Target(interp, 'nested.py', exe=os.path.join(hidden, 'bin', 'python'),
                       env={'LD_LIBRARY_PATH': os.path.join(hidden, 'lib')},
                       prefix=[unshare, '--mount', '--propagation', 'private', '--',
                               'sh', '-c', MOUNT_NS_SH, 'sh', hidden, realdir])
            ctx.targets.append(t)
            oracle = t.wait_ready()
            check_sanity(oracle, spec_nested(interp))
            bug = []
            if oracle['pid'] != t.pid:
                bug.append('python is %d, not the started process %d' % (oracle['pid'], t.pid))
            if os.path.lexists(os.path.join(hidden, 'bin', 'python')) or os.listdir(hidden):
                bug.append('%s is not empty here: %s' % (hidden, sorted(os.listdir(hidden))))
            try:
                with open('/proc/%d/maps' % t.pid) as f:
                    paths = set(l.split(None, 5)[5].strip() for l in f if len(l.split(None, 5)) == 6)
            except OSError as e:
                paths = set()
                bug.append('cannot read /proc/%d/maps: %s' % (t.pid, e))
            under = lambda top: sorted(p for p in paths if p.startswith(top + os.sep))
            libs = [p for p in under(hidden) if os.path.basename(p).startswith('libpython')]
            if not any(p.startswith(os.path.join(hidden, 'bin') + os.sep) for p in under(hidden)):
                bug.append('/proc/%d/maps has no executable under %s/bin: %s'
                           % (t.pid, hidden, sorted(paths)))
            if not libs:
                bug.append('/proc/%d/maps has no libpython under %s: %s'
                           % (t.pid, hidden, sorted(paths)))
            if under(realdir):
                bug.append('/proc/%d/maps has files of %s at their visible path: %s'
                           % (t.pid, realdir, under(realdir)))
            if bug:
                raise Fail('ORACLE (test bug): %s (%s)\n%s\nits output:\n%s'
                           % (interp.label, t.describe(), '\n'.join('  ' + b for b in bug),
                              indent(t.output())))
            # Short filenames: __init__.py files are looked up as the target sees them.
            oracle['view_root'] = '/proc/%d/root' % t.pid
            compare_dumps(ctx, t, note='(%s, prefix %s bind-mounted on %s in the target\'s '
                                       'mount namespace only)' % (interp.label, realdir, hidden))
        finally:
            if t is not None:
                t.close()                 # the namespace and its mount go with the process
            if not remove_hidden(d, hidden):
                raise Fail('%s is not empty after the target ended (bind mount leaked into '
                           'our mount namespace?); %s left in place' % (hidden, d))
    ctx.finish()


def check_untouched(ctx):
    t = ctx.start('progress.py')
    t.runnable = None
    t.wait_ready()
    require_cspy()
    for flags, as_json in (([], False), (['--locals'], False), ([], True)):
        res, _ = ctx.dump(t, flags, as_json=as_json)       # fails if left stopped
        problems = []
        if not alive(t.pid):
            problems.append('target is gone after the dump')
        p = progress_problem(t)
        if p:
            problems.append(p)
        ctx.problem(res, problems)
    ctx.finish()


def check_sigkill(ctx):
    t = ctx.start('progress.py')
    t.wait_ready()
    require_cspy()
    env = dict(os.environ, CSPY_TEST_STALL_MS='3000')
    cmd = [cspy_path(), 'dump', '--pid', str(t.pid)]
    shown = 'CSPY_TEST_STALL_MS=3000 %s dump --pid %d, then SIGKILL it' % (cspy_shown(), t.pid)
    p = spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        end = time.time() + 2
        seen = []
        while time.time() < end and not seen and p.poll() is None:
            seen = stopped_tasks(t.pid)
            time.sleep(0.005)
        if not seen:
            raise Fail('$ %s\n  no thread of the target entered a stopped state (t) within 2 s '
                       '(cspy %s); is the CSPY_TEST_STALL_MS hook there?'
                       % (shown, 'still running' if p.poll() is None else
                          'exited with %s' % p.returncode))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    finally:
        end_process(p)
    end = time.time() + 1
    left = stopped_tasks(t.pid)
    while left and time.time() < end:
        time.sleep(0.01)
        left = stopped_tasks(t.pid)
    problems = []
    if left:
        problems.append('1 s after cspy was killed, target threads still stopped: %s '
                        '(seen stopped while cspy ran: %s)' % (left, seen))
    else:
        pr = progress_problem(t)
        if pr:
            problems.append(pr)
    if problems:
        ctx.problems.append((shown, problems))
    ctx.finish()


def check_nonblocking_no_stop(ctx):
    t = ctx.start('progress.py')
    t.wait_ready()
    require_cspy()
    env = dict(os.environ, CSPY_TEST_STALL_MS='500')
    cmd = [cspy_path(), 'dump', '--pid', str(t.pid), '--nonblocking']
    shown = 'CSPY_TEST_STALL_MS=500 %s dump --pid %d --nonblocking' % (cspy_shown(), t.pid)
    seen = []
    for _ in range(5):
        p = spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, env=env, start_new_session=True)
        try:
            end = time.time() + CSPY_TIMEOUT
            while p.poll() is None and time.time() < end:
                seen += stopped_tasks(t.pid)
                time.sleep(0.002)
            out, err = p.communicate(timeout=5)
        finally:
            end_process(p)
        if p.returncode != 0:
            raise Fail('$ %s\n  exit status %s\n  stderr: %s' % (shown, p.returncode, err.decode()[:1000]))
        if 'Thread' not in out.decode('utf-8', 'replace'):
            raise Fail('$ %s\n  no thread in the output:\n%s' % (shown, indent(out.decode()[:1000])))
    if seen:
        ctx.problems.append((shown, ['target threads seen stopped during --nonblocking dumps: %s'
                                     % sorted(set(seen))]))
    ctx.finish()


PER_VERSION = [
    ('nested', check_nested, None),
    ('threads10', check_threads10, None),
    ('threads100', check_threads100, None),
    ('no_threading', check_no_threading, None),
    ('recursion50', check_recursion(50), None),
    ('recursion900', check_recursion(900), None),
    ('generators', check_generators, None),
    ('async', check_async, na_before((3, 5), 'async def needs Python 3.5+')),
    ('methods', check_methods, None),
    ('qualname', check_qualname, na_before((3, 11), 'co_qualname exists from 3.11')),
    ('lambdas_comprehensions', check_lambdas, None),
    ('unicode', check_unicode, None),
    ('gil_busy', check_gil_busy, None),
    ('pid_namespace', check_pid_namespace, None),
    ('locals', check_locals, None),
    ('locals_addr', check_locals_addr, None),
    ('json_vs_text', check_json_vs_text, None),
    ('subprocesses', check_subprocesses, None),
    ('package_short_filename', check_package, None),
    ('full_filenames', check_full_filenames, None),
    ('nonblocking', check_nonblocking, None),
    ('control_flow', check_control_flow, None),
    ('callbacks', check_callbacks, None),
    ('import_block', check_import_block, None),
    ('subinterp', check_subinterp, na_before((3, 10), SUBINTERP_NA)),
    ('subinterp_native', check_subinterp_native, na_before((3, 10), SUBINTERP_NA)),
    ('churn', check_churn, None),
    ('venv', check_venv, na_before((3, 0), 'no venv module')),
    ('terminal_escapes', check_terminal_escapes, None),
    ('traced', check_traced, None),
    ('ft_busy_distinct', check_ft_busy('distinct'), na_before((3, 10), 'the target needs co_lines()')),
    ('ft_busy_same', check_ft_busy('same'), na_before((3, 10), 'the target needs co_lines()')),
]


GLOBAL = [
    ('no_such_pid', check_no_such_pid),
    ('not_python', check_not_python),
    ('hostile_comm', check_hostile_comm),
    ('unsupported_version', None),            # needs the interpreter list
    ('kernel_thread', check_kernel_thread),
    ('zombie', check_zombie),
    ('shell_script', check_shell_script),
    ('shell_script_subprocesses', check_shell_script_subprocesses),
    ('permission_denied', check_permission_denied),
    ('version', check_version),
    ('help', check_help),
    ('dump_help', check_dump_help),
    ('unknown_flag', check_unknown_flag),
    ('subprocesses_tree', check_subprocesses_tree),
    ('long_cmdline', check_long_cmdline),
    ('stopped_target', check_stopped_target),
    ('deleted_executable', None),             # needs the interpreter list
    ('mount_namespace', None),                # needs the interpreter list
    ('target_untouched', check_untouched),
    ('sigkill_mid_read', check_sigkill),
    ('nonblocking_no_stop', check_nonblocking_no_stop),
]


# --------------------------------------------------------------------------
# Driver

def run_one(interp, name, fn):
    ctx = Ctx(interp)
    t0 = time.time()
    try:
        fn(ctx)
        status, detail = 'ok', None
    except Stopping:
        status, detail = 'FAIL', 'interrupted'
    except TargetsOnly:
        if ctx.targets:
            status, detail = 'ok', None
        else:
            status, detail = 'n/a', 'cspy not run (--targets-only)'
    except NA as e:
        status, detail = 'n/a', str(e)
    except Fail as e:
        status, detail = 'FAIL', str(e)
    except Exception:
        status, detail = 'FAIL', 'internal error of the test (a test bug):\n' + traceback.format_exc()
    finally:
        ctx.close()
    note_time(interp.label if interp else '-', name, t0)
    if OPTS.verbose:
        sys.stderr.write('%-5s %-10s %-26s %.1fs\n' % (status, interp.label if interp else '-',
                                                       name, time.time() - t0))
    return status, detail


def selected(name):
    if not OPTS.k:
        return True
    return any(fnmatch.fnmatch(name, p) if any(c in p for c in '*?[') else p in name
               for p in OPTS.k)


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN',
                    help='run only checks whose name contains PATTERN (or matches a glob); repeatable')
    ap.add_argument('--python', action='append', metavar='VERSION',
                    help='only interpreters whose version starts with VERSION (e.g. 3.12, 2.7); repeatable')
    ap.add_argument('-j', '--jobs', type=int, default=4, help='checks run in parallel (default 4)')
    ap.add_argument('--targets-only', action='store_true',
                    help='check the targets and their oracles only, without cspy')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    OPTS = ap.parse_args()
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)

    t0 = time.time()
    interps, notes = discover()
    if OPTS.python:
        skipped = [i for i in interps if not any(
            i.version.startswith(v) or i.label.startswith(v) for v in OPTS.python)]
        interps = [i for i in interps if i not in skipped]
        notes += ['%s: not selected (--python)' % i.label for i in skipped]
    print('cspy end-to-end tests: %s%s' % (cspy_shown(), ' (targets only)' if OPTS.targets_only else ''))
    if not OPTS.targets_only:
        snapshot_cspy()
        if not _SNAPSHOT:
            print('NOTE: %s does not exist: every cspy check fails (run `make`)' % built_cspy())
    describe_interps(interps)

    jobs = []
    for i in interps:
        for name, fn, na in PER_VERSION:
            if selected(name):
                reason = na(i) if na else None
                if not i.supported():
                    reason = 'Python %s is not supported by cspy' % i.version
                jobs.append((i, name, fn, reason))
    default = default_interp(interps)
    gjobs = []
    for name, fn in GLOBAL:
        if not selected(name):
            continue
        if name == 'unsupported_version':
            fn = lambda ctx, a=interps: check_unsupported(ctx, a)
        if name == 'deleted_executable':
            fn = lambda ctx, a=interps: check_deleted_executable(ctx, a)
        if name == 'mount_namespace':
            fn = lambda ctx, a=interps: check_mount_namespace(ctx, a)
        gjobs.append((default, name, fn, None if default else 'no supported interpreter found'))

    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
        futs = {}
        # Slow ones first.
        order = sorted(jobs + gjobs, key=lambda j: j[1] not in (
            'sigkill_mid_read', 'recursion900', 'subprocesses', 'threads10', 'locals'))
        for interp, name, fn, reason in order:
            key = (interp.label if interp else '-', name)
            if reason:
                results[key] = ('n/a', reason)
            else:
                futs[ex.submit(run_one, interp, name, fn)] = key
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()

    # Table: check x interpreter.
    labels = [i.label for i in interps]
    names = [n for n, _, _ in PER_VERSION if selected(n)]
    gnames = [n for _, n, _, _ in gjobs]
    print_table(results, labels, names, gnames, default.label if default else None,
                '-' if default is None else default.label)
    return print_outcome(results, t0, names + gnames, notes)


def print_table(results, labels, names, gnames, default_label, gkey):
    """The check x interpreter table, then the version-independent checks
    (run with default_label, stored under (gkey, name))."""
    print()
    if names and labels:
        w = max(len(n) for n in names) + 2
        cw = max(7, max(len(l) for l in labels) + 2)
        print(''.ljust(w) + ''.join(l.ljust(cw) for l in labels))
        for n in names:
            print(n.ljust(w) + ''.join(results.get((l, n), ('-', None))[0].ljust(cw) for l in labels))
    if gnames:
        print()
        print('version-independent checks (with %s):' % (default_label or 'none'))
        w = max(len(n) for n in gnames) + 2
        for n in gnames:
            print('  ' + n.ljust(w) + results.get((gkey, n), ('-', None))[0])


_times = {}
_times_lock = threading.Lock()


def note_time(label, name, t0):
    """Record how long a check took (summed per interpreter and per check at the end)."""
    with _times_lock:
        _times[(label or '-', name)] = time.time() - t0


def print_times():
    """Where the suite's time went: per interpreter and the slowest checks
    (the suite must stay well inside make test's budget)."""
    if not _times:
        return
    per = {}
    for (label, _), secs in _times.items():
        per[label] = per.get(label, 0) + secs
    print()
    print('time per interpreter (check seconds, summed; checks run in parallel): ' +
          ', '.join('%s %.0f' % (l, per[l]) for l in sorted(per, key=lambda l: -per[l])))
    slow = sorted(_times.items(), key=lambda kv: -kv[1])[:8]
    print('slowest checks: ' + ', '.join('%s [%s] %.0f' % (n, l, secs) for (l, n), secs in slow))


def print_outcome(results, t0, names, notes=()):
    """The end of a suite's report: interpreters not tested, n/a checks,
    failures (in the order of names), the time and the "N passed, N failed"
    line. Ends every process the suite started; returns the exit status."""
    if notes:
        print()
        print('interpreters not tested:')
        for n in notes:
            print('  ' + n)
    nas = sorted((k, v[1]) for k, v in results.items() if v[0] == 'n/a')
    if nas:
        print()
        print('n/a:')
        for (label, name), why in nas:
            print('  %s on %s: %s' % (name, label, why))
    fails = [(k, v[1]) for k, v in results.items() if v[0] == 'FAIL']
    order = dict((n, i) for i, n in enumerate(names))
    fails.sort(key=lambda kv: (order.get(kv[0][1], 999), kv[0][0]))
    if fails:
        print()
        print('failures:')
        for (label, name), detail in fails:
            print()
            print('--- %s [%s]' % (name, label))
            print(indent(detail.rstrip(), 2))
    npass = sum(1 for v in results.values() if v[0] == 'ok')
    print_times()
    print()
    print('(%.0f s)' % (time.time() - t0))
    print('%d passed, %d failed' % (npass, len(fails)))
    sys.stdout.flush()
    end_all()
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
