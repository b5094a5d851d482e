#!/usr/bin/env python3
"""The library of the end-to-end suites (run.py: dump, record.py, top.py,
native.py, drift.py, newer.py): what they share, written once.

  - processes: every process a suite starts is tracked (spawn, track) and
    ended by its PID (end_process; end_all at exit and on SIGINT, SIGTERM,
    SIGHUP), with the temporary directories (make_temp_dir);
  - interpreters: discover() finds every installed CPython (pyenv, this
    machine's, the ones tests/pythons.sh provisioned; CSPY_E2E_SAN_COVER=1:
    the sanitizer run's selection), Interp says what each is;
  - cspy: the binary of $BUILD (copied once per run: snapshot_cspy), run with
    a timeout (cspy, run_cmd);
  - targets: Target starts a program of tests/targets/ that writes its
    ORACLE, Ctx is one check's set of targets and problems (the suites
    subclass it), dump's text parsed (parse_text), the oracle's expected
    frames and their comparison (exp_frames, frames_diff), targets in their
    own PID namespace (start_in_pid_namespace, pidns_ready);
  - collapsed stacks (record's raw format): parse_collapsed;
  - the driver: which checks -k selects (selected), one check run with its
    verdict (run_one: ok, FAIL or n/a), which interpreters --python selects
    (select_pythons), the representative interpreters that the checks of
    cspy's own behaviour run on (REPRESENTATIVE, choose_representative,
    on_representative), and the report: the check x interpreter table, n/a
    reasons, failures ("--- check [interpreter]"), time, and the last line
    "N passed, N failed" (print_table, print_outcome).

Python 3.6+ standard library only. Not a suite: it runs nothing itself.
"""
import atexit
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

OPTS = None     # the suite's parsed command line (its main sets it): targets_only, verbose


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


def forget_temp_dir(d):
    """Leave d in place: it is no longer removed at exit (a check that found
    it unsafe to remove says so)."""
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


# The representative interpreters: the checks of cspy's own behaviour (its
# command line, the launched program's end and signals, options that only
# filter or relabel what was read, output files) run on these, not on every
# interpreter; what is read from an interpreter (stacks, threads, GIL, idle,
# subprocesses, namespaces, native, exit races) is checked on every one. One
# interpreter per thing that could change such a check's outcome: Python 2's
# signal module and strings, the oldest Python 3, this machine's own static
# build run as is, a shared libpython, the container wrapper (chroot) with
# a debug build's slow start-up, and a free-threaded build.
# Each entry: (what it stands for, fits(interp), which one: 'oldest'/'newest').
REPRESENTATIVE = [
    ('Python 2', lambda i: i.minor == (2, 7), 'newest'),
    ('the oldest Python 3', lambda i: (3, 0) <= i.minor and not i.free_threaded and not i.root,
     'oldest'),
    ("this machine's own build, run as is", lambda i: i.source == 'system', 'newest'),
    ('the newest shared libpython (pyenv)', lambda i: i.source == 'pyenv' and i.shared, 'newest'),
    ('a debug build in a container (chroot wrapper)', lambda i: i.debug and i.root, 'newest'),
    ('the newest free-threaded build', lambda i: i.free_threaded, 'newest'),
]
# Under the sanitizers (CSPY_E2E_SAN_COVER=1) these checks run on two of
# them: a memory error in code that does not depend on the interpreter
# shows on any one, and the plain run has run them on every representative.
SAN_REPRESENTATIVE = ('Python 2', 'the newest free-threaded build')
REP_REASON = ("cspy's own behaviour, not the interpreter's: run on the representative "
              "interpreters only (e2elib.REPRESENTATIVE)")
_REP = {'labels': None, 'lines': [], 'of': 0}


def choose_representative(interps, every=False):
    """Fix the representative interpreters among interps (the run's
    supported ones): one per REPRESENTATIVE entry (SAN_REPRESENTATIVE's
    under the sanitizers); every=True (--python: the interpreters were
    named) makes each of them representative. Returns the lines that say
    which were chosen and why (print_outcome prints them too)."""
    ok = [i for i in interps if i.supported()]
    lines = []
    if every:
        chosen = list(ok)
        lines.append('every interpreter selected (--python names them)')
    else:
        chosen = []
        san = os.environ.get('CSPY_E2E_SAN_COVER') == '1'
        for what, fits, which in REPRESENTATIVE:
            if san and what not in SAN_REPRESENTATIVE:
                continue
            cands = [i for i in ok if fits(i)]
            if not cands:
                lines.append('%s: none in this run' % what)
                continue
            pick = cands[0] if which == 'oldest' else cands[-1]
            if pick not in chosen:
                chosen.append(pick)
            lines.append('%s: %s' % (what, pick.label))
        if not chosen and ok:
            chosen.append(default_interp(ok))
            lines.append('none of the kinds above: %s' % chosen[0].label)
        if san:
            lines.append('(sanitizer run: %s only)' % ' and '.join(SAN_REPRESENTATIVE))
    _REP['labels'] = set(i.label for i in chosen)
    _REP['lines'] = lines
    _REP['of'] = len(ok)
    return lines


def on_representative(interp):
    """The n/a reason of a check scoped to the representative interpreters
    (choose_representative) when interp is not one of them, else None."""
    if _REP['labels'] is None:
        raise RuntimeError('choose_representative() was not called (a test bug)')
    return None if interp.label in _REP['labels'] else REP_REASON


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


def makefile_version():
    """The Makefile's VERSION (what cspy --version and the packages must
    say), or None when the tree has no such line."""
    try:
        with open(os.path.join(REPO, 'Makefile')) as f:
            m = re.search(r'^VERSION\s*:?=\s*(\S+)', f.read(), re.M)
            return m.group(1) if m else None
    except OSError:
        return None


def write_bytes(d, name, content):
    """Write content (bytes) to d/name; returns the path (the bad input
    files of `cspy report`/`cspy diff` checks)."""
    path = os.path.join(d, name)
    with open(path, 'wb') as f:
        f.write(content)
    return path


def gzip_files(d, stem, data, keep):
    """d/STEM.gz, data gzip'd, and d/cut-STEM.gz, its first len(data) //
    keep bytes (a gzip stream cut short); returns both paths."""
    import gzip
    gz = os.path.join(d, stem + '.gz')
    with gzip.open(gz, 'wb') as f:
        f.write(data)
    with open(gz, 'rb') as f:
        cut = write_bytes(d, 'cut-' + stem + '.gz', f.read()[:len(data) // keep])
    return gz, cut


def help_commands(exe=None):
    """The commands `cspy --help` lists, in its order (the oracle for the
    completion scripts and the man pages: a command added to cspy is
    checked without editing the tests)."""
    res = cspy(['--help'], exe=exe)
    m = re.search(r'^Commands:\n((?:  \S.*\n)+)', res.out, re.M)
    if res.rc != 0 or not m:
        raise Fail('$ %s\n  no "Commands:" section in the help (exit status %d)' % (res.shown, res.rc))
    return [line.split()[0] for line in m.group(1).splitlines()]


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


def include_dirs(interp):
    """The interpreter's include directories (Python.h; pyconfig.h, which
    Debian keeps apart), as this machine sees them (a chrooted one's are in
    its root)."""
    r = subprocess.run([interp.path, '-c', 'import sysconfig; p = sysconfig.get_paths(); '
                        'print(p["include"]); print(p["platinclude"])'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=target_env(),
                       timeout=30)
    incs = r.stdout.decode().split()
    if r.returncode != 0 or not incs:
        raise Fail('cannot ask %s for its include directory: %s' % (interp.path, r.stderr.decode()))
    return [interp.host_path(i) for i in dict.fromkeys(incs)]


def build_ext(interp, src, out):
    """Compile the C extension module src for interp (-O2 -g) into out (a
    name.so imports as name); NA without the interpreter's Python.h."""
    incs = include_dirs(interp)
    if not os.path.exists(os.path.join(incs[0], 'Python.h')):
        raise NA('no Python.h in %s (install the headers, e.g. python3-dev)' % incs[0])
    cmd = [os.environ.get('CC') or 'cc', '-O2', '-g', '-fPIC', '-shared'] + ['-I' + i for i in incs]
    if interp.root:
        # Debian's pyconfig.h includes <x86_64-linux-gnu/pythonX.Y/pyconfig.h>:
        # the root's /usr/include, searched after this machine's own headers.
        cmd += ['-idirafter', interp.host_path('/usr/include')]
    cmd += ['-o', out, src]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0:
        raise Fail('$ %s\n  failed:\n%s' % (' '.join(cmd), indent(r.stdout.decode('utf-8', 'replace'))))
    return out


def require_cspy():
    if OPTS is not None and OPTS.targets_only:
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
RE_PARENT = re.compile(r"^Parent Process (\d+): (.*)$")
RE_THREAD = re.compile(r'^Thread (\d+)(?: \(ns (\d+)\))? \(([^)]*)\)(?:: "(.*)")?'
                       r'(?: \[interpreter (\d+)\])?$')
RE_FRAME = re.compile(r'^    (\S.*?) \((.*):(\d+)\)$')
RE_VAR = re.compile(r'^            ([^\s:]+): (.*)$')


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
                   'exe': None, 'parent': None, 'parent_cmdline': None, 'threads': []}
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
            cur['parent_cmdline'] = m.group(2)
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


# --------------------------------------------------------------------------
# Targets in their own PID namespace (as in a container)

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


# --------------------------------------------------------------------------
# Small helpers of several suites

def na_before(minor, reason):
    return lambda interp: reason if interp.minor < minor else None


def tracer_of(pid, tid):
    try:
        with open('/proc/%d/task/%d/status' % (pid, tid)) as f:
            for line in f:
                if line.startswith('TracerPid:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def end_tracer(tr):
    """End a tracer (strace) started by a check: SIGTERM first, so that it
    detaches from its tracee, then by PID as every process."""
    try:
        os.kill(tr.pid, signal.SIGTERM)
        tr.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        pass
    end_process(tr)


# --------------------------------------------------------------------------
# Driver: what every suite's main does alike

def cell(result):
    """A result as the table shows it: its status; "rep" for a check run on
    the representative interpreters only (not this one)."""
    return 'rep' if result[0] == 'n/a' and result[1] == REP_REASON else result[0]


def print_table(results, labels, names, gnames, default_label, gkey):
    """The check x interpreter table, then the version-independent checks
    (run with default_label, stored under (gkey, name))."""
    print()
    if names and labels:
        w = max(len(n) for n in names) + 2
        cw = max(7, max(len(l) for l in labels) + 2)
        print(''.ljust(w) + ''.join(l.ljust(cw) for l in labels))
        for n in names:
            print(n.ljust(w) + ''.join(cell(results.get((l, n), ('-', None))).ljust(cw)
                                       for l in labels))
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
    per_check = {}
    for (label, name), secs in _times.items():
        runs = per_check.setdefault(name, [0.0, 0])
        runs[0] += secs
        runs[1] += 1
    print('time per check (check seconds summed over its interpreters; times run): ' +
          ', '.join('%s %.0f (%d)' % (n, per_check[n][0], per_check[n][1])
                    for n in sorted(per_check, key=lambda n: -per_check[n][0])))
    print('check seconds in all: %.0f' % sum(_times.values()))


def print_outcome(results, t0, names, notes=()):
    """The end of a suite's report: interpreters not tested, n/a checks,
    failures (in the order of names), the time and the "N passed, N failed"
    line. Ends every process the suite started; returns the exit status."""
    if notes:
        print()
        print('interpreters not tested:')
        for n in notes:
            print('  ' + n)
    reps = sorted(set(k[1] for k, v in results.items() if v[0] == 'n/a' and v[1] == REP_REASON))
    if reps:
        print()
        print('ran on %d of %d interpreters (cspy\'s own behaviour, not the interpreter\'s; '
              'e2elib.REPRESENTATIVE, tests/e2e/README.md): %s'
              % (len(_REP['labels'] or ()), _REP['of'], ', '.join(reps)))
        for line in _REP['lines']:
            print('  ' + line)
    nas = sorted((k, v[1]) for k, v in results.items() if v[0] == 'n/a' and v[1] != REP_REASON)
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


def selected(name, patterns):
    """Whether check name is selected by the -k patterns (a substring, or a
    glob when it has *, ? or [); every check when there are none."""
    if not patterns:
        return True
    return any(fnmatch.fnmatch(name, p) if any(c in p for c in '*?[') else p in name
               for p in patterns)


def matches_python(interp, versions):
    """Whether --python VERSION (repeatable) selects interp: its version or
    label starts with one of them."""
    return any(interp.version.startswith(v) or interp.label.startswith(v) for v in versions)


def select_pythons(interps, notes, versions):
    """The interpreters --python selects (all when versions is empty); the
    others are added to notes as "not selected"."""
    if not versions:
        return interps
    skipped = [i for i in interps if not matches_python(i, versions)]
    notes += ['%s: not selected (--python)' % i.label for i in skipped]
    return [i for i in interps if i not in skipped]


def handle_signals(first=None):
    """SIGINT, SIGTERM and SIGHUP end every process started, then the suite;
    first() is called before (top.py: its tmux server)."""
    def handler(signum, frame):
        if first:
            first()
        _on_signal(signum, frame)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)


def use_snapshot(what='every cspy check fails'):
    """Copy the binary for this run (snapshot_cspy); say so when there is none."""
    snapshot_cspy()
    if not _SNAPSHOT:
        print('NOTE: %s does not exist: %s (run `make`)' % (built_cspy(), what))


def run_on(obj, label, name, fn, width=26):
    """Run check fn(obj) (obj: a ctx, or a session the caller keeps for
    several checks); its (status, detail): ('ok', None), ('FAIL', why) or
    ('n/a', why). Its time is noted; -v prints the verdict as it comes."""
    t0 = time.time()
    try:
        fn(obj)
        status, detail = 'ok', None
    except Stopping:
        status, detail = 'FAIL', 'interrupted'
    except TargetsOnly:
        if getattr(obj, 'targets', None):
            status, detail = 'ok', None
        else:
            status, detail = 'n/a', 'cspy not run (--targets-only)'
    except NA as e:
        status, detail = 'n/a', str(e)
    except Fail as e:
        status, detail = 'FAIL', str(e)
    except Exception:
        status, detail = 'FAIL', 'internal error of the test (a test bug):\n' + traceback.format_exc()
    note_time(label, name, t0)
    if OPTS is not None and OPTS.verbose:
        sys.stderr.write('%-5s %-10s %-*s %.1fs\n' % (status, label, width, name, time.time() - t0))
    return status, detail


def run_one(ctx_class, interp, name, fn, width=26):
    """Run check fn(ctx) with a new ctx_class(interp) (run_on); the ctx is
    closed (its targets ended) whatever happens."""
    ctx = ctx_class(interp)
    try:
        return run_on(ctx, interp.label if interp else '-', name, fn, width)
    finally:
        ctx.close()


# --------------------------------------------------------------------------
# Collapsed stacks (record -f raw)

RE_COLLAPSED = re.compile(r'^(.*) (\d+)$')


def parse_collapsed(text, source='raw'):
    """[(frames root first as a tuple, count)] of collapsed-stack text
    ("frame;frame;... COUNT" per line; the last line may be empty); Fail
    naming the first lines that are not."""
    stacks = []
    bad = []
    lines = text.split('\n')
    for n, line in enumerate(lines, 1):
        if not line and n == len(lines):
            continue
        m = RE_COLLAPSED.match(line)
        if not m or not m.group(1):
            bad.append('line %d: %r' % (n, line[:300]))
            continue
        stacks.append((tuple(m.group(1).split(';')), int(m.group(2))))
    if bad:
        raise Fail('%s: lines that are not "frame;frame;... COUNT":\n%s'
                   % (source, indent('\n'.join(bad[:10]), 2)))
    return stacks
