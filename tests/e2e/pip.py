#!/usr/bin/env python3
"""The pip tier: cspy as a Python package, built and installed offline with
the tools Debian ships, then run from the virtualenvs it went into.

    python3 tests/e2e/pip.py [-k PATTERN] [-j JOBS] [-v]

The package is pyproject.toml + build_backend/cspy_backend.py (its own PEP
517 backend). The checks:

  - wheel_pip: Debian's `python3 -m pip wheel --no-index --no-build-isolation
    --no-deps -w DIR .`; the wheel holds exactly the binary (as
    cspy-VERSION.data/scripts/cspy, mode 755, the same bytes as the build's
    binary) and the dist-info (METADATA: name, the Makefile's VERSION, the
    README as description; WHEEL: its tags the file name's; LICENSE; RECORD:
    every file with its sha256 and size), no .py file; the tag is the one the
    binary earns, read from the ELF by readelf here (static: manylinux_2_17,
    manylinux2014, musllinux_1_1; dynamic: linux_ARCH only);
  - wheel_build: `python3 -m build --no-isolation --wheel`: the same bytes
    as pip's wheel (the archive is reproducible);
  - sdist: `python3 -m build --sdist` twice with SOURCE_DATE_EPOCH: equal
    bytes, every member at that time, what building needs in it and no build
    output; without SOURCE_DATE_EPOCH, 1980-01-01;
  - venv_wheel [Debian python3, a pyenv 3.12+]: `pip install --no-index
    WHEEL` into a fresh venv (the pyenv one made with its own pip, the others
    --without-pip --system-site-packages: the base's pip, which installs
    into the venv, and the venv made in a tenth of the time); VENV/bin/cspy dump --pid P and record -d 1 of a
    busy target run by that venv's python (its functions in the dump, samples
    of them in the profile); `pip uninstall -y cspy` removes bin/cspy;
  - install_dot: `pip install --no-index .` (with build isolation, as a user
    types it) into a venv of another pyenv Python;
  - venv_sdist: `pip install --no-index cspy-VERSION.tar.gz` into a venv
    of Debian's python3: a real build from the unpacked sdist in pip's temporary
    directory; the installed binary runs dump;
  - missing_deps: the backend with PKG_CONFIG_LIBDIR at an empty directory
    (no libelf, libdw, zlib), and with a PATH without make: one line naming
    what is missing and the Debian/Ubuntu and Fedora packages; through pip
    the same line reaches the user;
  - dynamic_fallback: a compiler that has no static archives (a wrapper that
    answers -print-file-name as gcc does for a missing file): the dynamic
    binary, tagged linux_ARCH, one line saying so; with -C static=yes, one
    line naming the archives and no wheel;
  - py27_pip: the wheel (py2.py3) installed by Python 2.7's pip, when that
    pip knows manylinux2014 (19.3+); n/a with the reason otherwise.

Every process started is ended by its PID (e2elib). Last line "N passed, N
failed". Python 3.6+ standard library only.
"""
import argparse
import base64
import concurrent.futures
import glob
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                      # noqa: E402
from e2elib import (Fail, NA, clip, end_process, indent, make_temp_dir,  # noqa: E402
                    parse_collapsed, parse_text, run_cmd, run_one, selected, spawn)

REPO = e2elib.REPO
BURN = os.path.join(e2elib.TARGETS, 'record', 'burn.py')
DEB_PY = '/usr/bin/python3'          # Debian's, with python3-pip, -venv, -build
TIMEOUT = 180                        # one pip or build run (the sdist compiles)
REQUIRE = os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1'
EPOCH = 1700000000

TREE_LOCK = threading.Lock()         # builds inside the tree (make static) one at a time
OPTS = None


def pip_env(extra=None):
    """The environment of a pip or build run: offline (no index, no
    find-links from the machine's settings), no version check."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith('PIP_') and not k.startswith('PYTHON'))
    env.update({'PIP_NO_INDEX': '1', 'PIP_DISABLE_PIP_VERSION_CHECK': '1',
                'PIP_NO_CACHE_DIR': '1', 'PYTHONDONTWRITEBYTECODE': '1', 'LC_ALL': 'C.UTF-8'})
    env.pop('SOURCE_DATE_EPOCH', None)
    env.update(extra or {})
    return env


def run(cmd, env=None, cwd=None, timeout=TIMEOUT):
    """Run a command to its end; (rc, stdout+stderr text)."""
    p = spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
              env=env or pip_env(), cwd=cwd, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_process(p, group=True)
        raise Fail('timed out after %d s: %s' % (timeout, ' '.join(cmd)))
    finally:
        end_process(p, group=True)
    return p.returncode, out.decode('utf-8', 'replace')


def must(cmd, what, **kw):
    rc, out = run(cmd, **kw)
    if rc != 0:
        raise Fail('%s: `%s` exited with status %d:\n%s'
                   % (what, ' '.join(cmd), rc, indent(clip(out, 4000))))
    return out


def need_tool(ok, what):
    """NA when a tool .ci/run installs is missing (Fail under
    CSPY_REQUIRE_VALIDATORS=1)."""
    if not ok:
        if REQUIRE:
            raise Fail('%s is missing (.ci/run installs it)' % what)
        raise NA('%s is missing (apt-get install it; .ci/run does)' % what)


def has_module(py, mod):
    return os.access(py, os.X_OK) and subprocess.run(
        [py, '-c', 'import ' + mod], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=pip_env()).returncode == 0


# --------------------------------------------------------------------------
# Things built once and shared by the checks (built by the first that needs one)

class Once(object):
    def __init__(self, fn):
        self.fn, self.lock, self.done, self.value, self.error = fn, threading.Lock(), False, None, None

    def get(self):
        with self.lock:
            if not self.done:
                try:
                    self.value = self.fn()
                except (Fail, NA) as e:
                    self.error = e
                self.done = True
        if isinstance(self.error, NA):
            raise NA(str(self.error))
        if self.error is not None:
            raise Fail('needs what another step builds, which failed:\n' + indent(str(self.error), 2))
        return self.value


def build_pip_wheel():
    need_tool(has_module(DEB_PY, 'pip'), "Debian's pip (python3-pip)")
    d = make_temp_dir('cspy-pip-wheel-')
    with TREE_LOCK:
        out = must([DEB_PY, '-m', 'pip', 'wheel', '--no-index', '--no-build-isolation', '--no-deps',
                    '-v', '-w', d, '.'], 'pip wheel', cwd=REPO)
    wheels = glob.glob(os.path.join(d, '*.whl'))
    if len(wheels) != 1:
        raise Fail('pip wheel wrote %s, expected one wheel' % os.listdir(d))
    return wheels[0], out


def build_sdist():
    need_tool(has_module(DEB_PY, 'build'), "Debian's python3-build")
    d = make_temp_dir('cspy-pip-sdist-')
    must([DEB_PY, '-m', 'build', '--no-isolation', '--sdist', '--outdir', d, '.'], 'build --sdist',
         cwd=REPO, env=pip_env({'SOURCE_DATE_EPOCH': str(EPOCH)}))
    return os.path.join(d, 'cspy-%s.tar.gz' % e2elib.makefile_version())


WHEEL = Once(build_pip_wheel)
SDIST = Once(build_sdist)


def pyenv_pythons():
    """pyenv's 3.12+ interpreters with pip, newest first."""
    root = e2elib.pyenv_root()
    out = []
    for py in glob.glob(os.path.join(root or '/nonexistent', 'versions', '3.*', 'bin', 'python')):
        m = re.search(r'/versions/3\.(\d+)\.(\d+)/', py)
        if m and int(m.group(1)) >= 12:
            out.append(((3, int(m.group(1)), int(m.group(2))), py))
    return [py for _, py in sorted(out, reverse=True)]


# --------------------------------------------------------------------------
# Reading ELF files and wheels

def readelf(path, flags):
    try:
        r = subprocess.run(['readelf', '-W'] + flags + [path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    except OSError:
        raise Fail('readelf (binutils) not found: cannot judge the wheel\'s tag')
    return r.stdout.decode('utf-8', 'replace')


def expected_tag(binary):
    """The tag the binary earns, judged here by readelf: (tag, static)."""
    hdr = readelf(binary, ['-h'])
    m = re.search(r'Machine:\s+(.*)', hdr)
    machine = m.group(1).strip() if m else '?'
    arch = {'Advanced Micro Devices X86-64': 'x86_64', 'AArch64': 'aarch64'}.get(machine)
    if arch is None:
        raise NA('the tag of a %s binary is not judged here' % machine)
    static = 'INTERP' not in readelf(binary, ['-l'])
    m = re.search(r'OS: Linux, ABI: (\d+)\.(\d+)\.(\d+)', readelf(binary, ['-n']))
    kernel = tuple(int(x) for x in m.groups()) if m else None
    if static and kernel and kernel <= (3, 10, 0):
        plats = ['manylinux_2_17_' + arch, 'manylinux2014_' + arch, 'musllinux_1_1_' + arch]
    else:
        plats = ['linux_' + arch]
    return 'py2.py3-none-' + '.'.join(plats), static


def record_problems(zf):
    """What is wrong with a wheel's RECORD."""
    di = 'cspy-%s.dist-info/' % e2elib.makefile_version()
    rec = zf.read(di + 'RECORD').decode()
    problems = []
    listed = {}
    for line in rec.splitlines():
        parts = line.rsplit(',', 2)
        if len(parts) != 3:
            problems.append('RECORD line %r is not PATH,HASH,SIZE' % line)
            continue
        listed[parts[0]] = parts[1:]
    names = zf.namelist()
    for n in names:
        if n not in listed:
            problems.append('%s is in the wheel, not in RECORD' % n)
    for n, (h, size) in sorted(listed.items()):
        if n not in names:
            problems.append('RECORD lists %s, not in the wheel' % n)
        elif n == di + 'RECORD':
            if (h, size) != ('', ''):
                problems.append('RECORD lists itself with %r, expected ",,"' % ','.join((h, size)))
        else:
            data = zf.read(n)
            want = 'sha256=' + base64.urlsafe_b64encode(
                hashlib.sha256(data).digest()).rstrip(b'=').decode()
            if h != want or size != str(len(data)):
                problems.append('%s: RECORD says %s,%s, the file is %s,%d' % (n, h, size, want, len(data)))
    return problems


def check_wheel_file(path, binary):
    """Everything a wheel must be; binary: the build's own, which it must
    carry byte for byte."""
    ver = e2elib.makefile_version()
    problems = []
    tag, static = expected_tag(binary)
    want_name = 'cspy-%s-%s.whl' % (ver, tag)
    if os.path.basename(path) != want_name:
        problems.append('wheel named %s, expected %s (the binary is %s)'
                        % (os.path.basename(path), want_name, 'static' if static else 'dynamic'))
    di = 'cspy-%s.dist-info/' % ver
    script = 'cspy-%s.data/scripts/cspy' % ver
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        want = sorted([script] + [di + n for n in ('METADATA', 'WHEEL', 'LICENSE', 'RECORD')])
        if names != want:
            problems.append('wheel holds %s, expected %s' % (names, want))
        py = [n for n in names if n.endswith(('.py', '.pyc'))]
        if py:
            problems.append('Python files in the wheel: %s' % py)
        problems += record_problems(zf)
        if script in names:
            mode = zf.getinfo(script).external_attr >> 16
            if mode & 0o777 != 0o755 or not mode & 0o100000:
                problems.append('%s has mode %o in the zip, expected a regular file 755' % (script, mode))
            with open(binary, 'rb') as f:
                if zf.read(script) != f.read():
                    problems.append('%s differs from %s' % (script, binary))
        meta = zf.read(di + 'METADATA').decode('utf-8') if di + 'METADATA' in names else ''
        head, _, body = meta.partition('\n\n')
        fields = [tuple(l.split(': ', 1)) for l in head.splitlines()]
        with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
            readme = f.read()
        for want_field in [('Name', 'cspy'), ('Version', ver), ('License', 'MIT'),
                           ('License-File', 'LICENSE'),
                           ('Description-Content-Type', 'text/markdown')]:
            if want_field not in fields:
                problems.append('METADATA has no "%s: %s"' % want_field)
        if body != readme:
            problems.append('METADATA\'s description is not README.md')
        wheel = zf.read(di + 'WHEEL').decode() if di + 'WHEEL' in names else ''
        tags = sorted(l[5:] for l in wheel.splitlines() if l.startswith('Tag: '))
        py_t, abi, plats = tag.split('-')
        want_tags = sorted('%s-%s-%s' % (p, abi, pl) for p in py_t.split('.') for pl in plats.split('.'))
        if tags != want_tags:
            problems.append('WHEEL tags %s, expected %s' % (tags, want_tags))
        if 'Root-Is-Purelib: false' not in wheel.splitlines():
            problems.append('WHEEL does not say Root-Is-Purelib: false')
        with open(os.path.join(REPO, 'LICENSE'), 'rb') as f:
            if di + 'LICENSE' in names and zf.read(di + 'LICENSE') != f.read():
                problems.append('dist-info/LICENSE is not LICENSE')
    return problems


# --------------------------------------------------------------------------
# A venv, a target in it, cspy from it

def make_venv(base, with_pip):
    """A fresh venv of base. Without its own pip it sees base's
    (--system-site-packages): pip still installs into the venv (and it is
    made in a tenth of the time)."""
    d = make_temp_dir('cspy-pip-venv-')
    v = os.path.join(d, 'venv')
    cmd = [base, '-m', 'venv'] + ([] if with_pip else ['--without-pip', '--system-site-packages']) + [v]
    must(cmd, 'venv')
    return v


def pip_in(venv, args, **kw):
    return must([os.path.join(venv, 'bin', 'python'), '-m', 'pip'] + args,
                'pip ' + args[0] + ' in a venv', **kw)


def start_burn(venv):
    """burn.py run by the venv's python; (process, oracle)."""
    d = make_temp_dir('cspy-pip-target-')
    oracle = os.path.join(d, 'oracle.json')
    p = spawn([os.path.join(venv, 'bin', 'python'), BURN, oracle], stdin=subprocess.DEVNULL,
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e2elib.target_env(),
              start_new_session=True, group=True)
    end = time.time() + e2elib.READY_TIMEOUT
    while not os.path.exists(oracle):
        if p.poll() is not None or time.time() > end:
            end_process(p, group=True)
            raise Fail('the target %s did not get ready' % BURN)
        time.sleep(0.02)
    return p, d


def dump_and_record(venv, dump_only=False):
    """VENV/bin/cspy dump and record of burn.py run by the venv's python."""
    cspy = os.path.join(venv, 'bin', 'cspy')
    p, d = start_burn(venv)
    try:
        r = run_cmd([cspy, 'dump', '--pid', str(p.pid)])
        if r.rc != 0:
            raise Fail('$ %s\n  exit status %d: %s' % (r.shown, r.rc, r.err.strip()))
        procs = parse_text(r.out)
        frames = [f['name'] for f in procs[0]['threads'][0]['frames']] if procs and procs[0]['threads'] else []
        if frames[:2] != ['burn_loop', 'burn_outer']:
            raise Fail('$ %s\n  innermost frames %s, expected burn_loop, burn_outer:\n%s'
                       % (r.shown, frames[:4], indent(clip(r.out, 2000))))
        if dump_only:
            return
        out = os.path.join(d, 'out.txt')
        r = run_cmd([cspy, 'record', '-d', '1', '-r', '100', '-f', 'raw', '-o', out, '--pid', str(p.pid)])
        if r.rc != 0 or not os.path.exists(out):
            raise Fail('$ %s\n  exit status %d: %s' % (r.shown, r.rc, r.err.strip()))
        with open(out) as f:
            stacks = parse_collapsed(f.read(), out)
        total = sum(c for _, c in stacks)
        burn = sum(c for s, c in stacks if any(fr.startswith('burn_loop ') for fr in s))
        if total < 20 or burn < 0.9 * total:
            raise Fail('$ %s\n  %d samples, %d in burn_loop: expected at least 20, 90 %% in burn_loop'
                       % (r.shown, total, burn))
    finally:
        end_process(p, group=True)


# --------------------------------------------------------------------------
# The checks

def check_wheel_pip(ctx):
    path, out = WHEEL.get()
    binary = os.path.join(REPO, 'build-static', 'cspy')
    if 'cspy build: no static library' in out:
        binary = os.path.join(REPO, 'build', 'cspy')
    problems = check_wheel_file(path, binary)
    if problems:
        raise Fail('%s:\n%s' % (path, indent('\n'.join(problems), 2)))


def check_wheel_build(ctx):
    need_tool(has_module(DEB_PY, 'build'), "Debian's python3-build")
    path, _ = WHEEL.get()
    d = make_temp_dir('cspy-pip-build-')
    with TREE_LOCK:
        must([DEB_PY, '-m', 'build', '--no-isolation', '--wheel', '--outdir', d, '.'],
             'build --wheel', cwd=REPO)
    got = glob.glob(os.path.join(d, '*.whl'))
    if [os.path.basename(g) for g in got] != [os.path.basename(path)]:
        raise Fail('python -m build wrote %s, pip wheel %s' % (os.listdir(d), os.path.basename(path)))
    with open(got[0], 'rb') as a, open(path, 'rb') as b:
        if a.read() != b.read():
            raise Fail('the wheels of python -m build and pip wheel differ (not reproducible)')


def check_sdist(ctx):
    path = SDIST.get()
    ver = e2elib.makefile_version()
    base = 'cspy-%s/' % ver
    problems = []
    again = make_temp_dir('cspy-pip-sdist2-')
    must([DEB_PY, '-c', 'import sys; sys.path.insert(0, "build_backend"); import cspy_backend; '
          'print(cspy_backend.build_sdist(sys.argv[1]))', again], 'build_sdist', cwd=REPO,
         env=pip_env({'SOURCE_DATE_EPOCH': str(EPOCH)}))
    with open(path, 'rb') as a, open(os.path.join(again, os.path.basename(path)), 'rb') as b:
        if a.read() != b.read():
            problems.append('two sdists built with the same SOURCE_DATE_EPOCH differ')
    with open(path, 'rb') as f:
        head = f.read(10)
    if head[:2] != b'\x1f\x8b' or struct.unpack('<I', head[4:8])[0] != EPOCH:
        problems.append('the gzip header\'s time is not SOURCE_DATE_EPOCH: %r' % head)
    with tarfile.open(path) as tf:
        members = tf.getmembers()
    names = [m.name for m in members]
    for need in ['PKG-INFO', 'pyproject.toml', 'Makefile', 'LICENSE', 'README.md',
                 'build_backend/cspy_backend.py', 'src/main.c']:
        if base + need not in names:
            problems.append('no %s%s in the sdist' % (base, need))
    bad = [n for n in names if not n.startswith(base) or
           re.search(r'/build[^/]*/|\.(o|a|d|pyc|whl)$|__pycache__', n[len(base):] + '/')]
    if bad:
        problems.append('members outside %s or build output: %s' % (base, bad[:10]))
    times = set(m.mtime for m in members)
    if times != {EPOCH}:
        problems.append('member times %s, expected only SOURCE_DATE_EPOCH %d' % (sorted(times)[:5], EPOCH))
    owners = set((m.uid, m.gid, m.uname, m.gname) for m in members)
    if owners != {(0, 0, '', '')}:
        problems.append('member owners %s, expected root (0, 0) without names' % owners)
    # Without SOURCE_DATE_EPOCH: 1980-01-01.
    plain = make_temp_dir('cspy-pip-sdist3-')
    must([DEB_PY, '-c', 'import sys; sys.path.insert(0, "build_backend"); import cspy_backend; '
          'print(cspy_backend.build_sdist(sys.argv[1]))', plain], 'build_sdist', cwd=REPO)
    with tarfile.open(os.path.join(plain, os.path.basename(path))) as tf:
        times = set(m.mtime for m in tf.getmembers())
    if times != {315532800}:
        problems.append('without SOURCE_DATE_EPOCH, member times %s, expected 1980-01-01 (315532800)'
                        % sorted(times)[:5])
    if problems:
        raise Fail('%s:\n%s' % (path, indent('\n'.join(problems), 2)))


def check_venv_wheel(base, own_pip):
    def check(ctx):
        if not os.access(base, os.X_OK):
            raise NA('%s not found' % base)
        need_tool(has_module(base, 'pip') and has_module(base, 'venv'), '%s with pip and venv' % base)
        path, _ = WHEEL.get()
        v = make_venv(base, with_pip=own_pip)
        pip_in(v, ['install', '--no-index', path])
        cspy = os.path.join(v, 'bin', 'cspy')
        if not os.access(cspy, os.X_OK):
            raise Fail('pip install put no executable bin/cspy in the venv: %s' % os.listdir(os.path.dirname(cspy)))
        dump_and_record(v)
        pip_in(v, ['uninstall', '-y', 'cspy'])
        if os.path.exists(cspy):
            raise Fail('pip uninstall -y cspy left %s' % cspy)
        rc, out = run([os.path.join(v, 'bin', 'python'), '-m', 'pip', 'show', 'cspy'])
        if rc == 0:
            raise Fail('pip show cspy still finds it after pip uninstall:\n' + indent(out))
    return check


def check_install_dot(ctx):
    pys = pyenv_pythons()
    if len(pys) < 2:
        raise NA('needs a second pyenv Python 3.12+ (found %s)' % (pys or 'none'))
    v = make_venv(pys[1], with_pip=False)
    with TREE_LOCK:
        out = pip_in(v, ['install', '--no-index', '.'], cwd=REPO)
    binary = os.path.join(REPO, 'build-static', 'cspy')
    if 'no static library' in out:
        binary = os.path.join(REPO, 'build', 'cspy')
    cspy = os.path.join(v, 'bin', 'cspy')
    with open(cspy, 'rb') as a, open(binary, 'rb') as b:
        if a.read() != b.read():
            raise Fail('pip install . installed a bin/cspy that is not %s' % binary)
    r = run_cmd([cspy, '--version'])
    if r.rc != 0 or e2elib.makefile_version() not in r.out:
        raise Fail('$ %s: exit status %d, output %r; expected the version %s'
                   % (r.shown, r.rc, r.out, e2elib.makefile_version()))


def check_venv_sdist(ctx):
    need_tool(has_module(DEB_PY, 'pip') and has_module(DEB_PY, 'venv'), "Debian's python3-pip and -venv")
    path = SDIST.get()
    v = make_venv(DEB_PY, with_pip=False)
    out = pip_in(v, ['install', '--no-index', '-v', path])
    cspy = os.path.join(v, 'bin', 'cspy')
    if not os.access(cspy, os.X_OK):
        raise Fail('pip install of the sdist put no bin/cspy in the venv:\n' + indent(clip(out)))
    if 'cspy build: make' not in out:
        raise Fail('pip install of the sdist did not build (no make in its output):\n' + indent(clip(out)))
    _, static = expected_tag(cspy)
    said_dynamic = 'no static library' in out
    if static == said_dynamic:
        raise Fail('the installed binary is %s, but the build output %s'
                   % ('static' if static else 'dynamic',
                      'says the static archives are missing' if said_dynamic
                      else 'says nothing of a dynamic build'))
    dump_and_record(v, dump_only=True)


def backend_wheel(env, settings=None):
    """build_wheel of the backend run directly with env: (rc, stderr lines,
    wheels written)."""
    d = make_temp_dir('cspy-pip-backend-')
    code = ('import sys; sys.path.insert(0, "build_backend"); import cspy_backend; '
            'cspy_backend.build_wheel(sys.argv[1], %r)' % (settings,))
    p = spawn([sys.executable, '-c', code, d], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, env=env, cwd=REPO, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        end_process(p, group=True)
    return p.returncode, err.decode('utf-8', 'replace').splitlines(), os.listdir(d)


def one_line(what, rc, lines, wheels, names, packages):
    """Problems of a stopped build: one stderr line, naming names and
    packages, no wheel."""
    problems = []
    if rc == 0 or wheels:
        problems.append('exit status %d, wrote %s: expected a failure and no wheel' % (rc, wheels))
    if len(lines) != 1:
        problems.append('%d lines on stderr, expected one:\n%s' % (len(lines), indent('\n'.join(lines[:20]))))
    text = '\n'.join(lines)
    for n in names + packages:
        if n not in text:
            problems.append('the message does not name %r' % n)
    return ['%s: %s' % (what, p) for p in problems]


def check_missing_deps(ctx):
    empty = make_temp_dir('cspy-pip-pcdir-')
    problems = []
    env = pip_env({'PKG_CONFIG_LIBDIR': empty, 'PKG_CONFIG_PATH': ''})
    rc, lines, wheels = backend_wheel(env)
    problems += one_line('PKG_CONFIG_LIBDIR=(empty)', rc, lines, wheels, ['libelf', 'libdw', 'zlib', 'jansson'],
                         ['apt-get install libelf-dev libdw-dev zlib1g-dev libjansson-dev',
                          'dnf install elfutils-libelf-devel elfutils-devel zlib-devel jansson-devel'])
    # A PATH with the compiler and pkg-config but no make.
    bindir = make_temp_dir('cspy-pip-path-')
    for tool in ('cc', 'pkg-config'):
        real = shutil.which(tool)
        if real is None:
            raise Fail('%s not found on PATH' % tool)
        os.symlink(real, os.path.join(bindir, tool))
    rc, lines, wheels = backend_wheel(pip_env({'PATH': bindir}))
    problems += one_line('PATH without make', rc, lines, wheels, ['make'],
                         ['apt-get install make', 'dnf install make'])
    if lines and ('libelf' in lines[0] or 'pkg-config' in lines[0]):
        problems.append('PATH without make: names more than make: %s' % lines[0])
    # What a user of pip sees.
    d = make_temp_dir('cspy-pip-nodeps-')
    rc, out = run([DEB_PY, '-m', 'pip', 'wheel', '--no-index', '--no-build-isolation', '--no-deps',
                   '-w', d, '.'], env=env, cwd=REPO)
    if rc == 0 or not re.search(r'cspy build: missing .*libelf.*apt-get install', out):
        problems.append('pip wheel with PKG_CONFIG_LIBDIR=(empty): exit status %d, and its output '
                        'does not show the line:\n%s' % (rc, indent(clip(out, 3000))))
    if problems:
        raise Fail('\n'.join(problems))


def check_dynamic_fallback(ctx):
    """A compiler without static archives: gcc answers -print-file-name=X
    with X itself when it finds no such file."""
    real = shutil.which('cc')
    d = make_temp_dir('cspy-pip-cc-')
    wrapper = os.path.join(d, 'cc-nostatic')
    with open(wrapper, 'w') as f:
        f.write('#!/bin/sh\n# cc, as on a system without static archives.\n'
                'case "$1" in -print-file-name=*.a) echo "${1#-print-file-name=}"; exit 0;; esac\n'
                'exec %s "$@"\n' % real)
    os.chmod(wrapper, 0o755)
    env = pip_env({'CC': wrapper})
    with TREE_LOCK:
        rc, lines, wheels = backend_wheel(env, {'static': 'yes'})
        problems = one_line('-C static=yes', rc, lines, wheels, ['no static library for', 'libelf.a'],
                            ['apt-get install', 'dnf install'])
        out = must([DEB_PY, '-m', 'pip', 'wheel', '--no-index', '--no-build-isolation', '--no-deps',
                    '-v', '-w', d, '.'], 'pip wheel (no static archives)', cwd=REPO, env=env)
    notes = [l.strip() for l in out.splitlines() if 'no static library for' in l]
    if len(notes) != 1 or 'dynamic' not in notes[0]:
        problems.append('expected one line saying the dynamic binary is built, got %s' % notes)
    wheels = glob.glob(os.path.join(d, '*.whl'))
    if len(wheels) != 1:
        raise Fail('\n'.join(problems + ['pip wheel wrote %s' % os.listdir(d)]))
    problems += check_wheel_file(wheels[0], os.path.join(REPO, 'build', 'cspy'))
    if '-linux_' not in os.path.basename(wheels[0]) or 'manylinux' in wheels[0]:
        problems.append('the dynamic wheel is %s, expected a linux_ARCH tag' % os.path.basename(wheels[0]))
    if problems:
        raise Fail('\n'.join(problems))


def check_py27_pip(ctx):
    root = e2elib.pyenv_root()
    pys = sorted(glob.glob(os.path.join(root or '/nonexistent', 'versions', '2.7*', 'bin', 'python')))
    if not pys:
        raise NA('no pyenv Python 2.7')
    py = pys[-1]
    r = run_cmd([py, '-c', 'import pip; print(pip.__version__)'], env=pip_env())
    ver = tuple(int(x) for x in re.findall(r'\d+', r.out)[:2]) if r.rc == 0 else ()
    if ver < (19, 3):
        raise NA('%s has pip %s, which predates manylinux2014 (pip 19.3); the last pip for 2.7, '
                 '20.3.4, installs the wheel, but is not available offline' % (py, r.out.strip() or 'none'))
    path, _ = WHEEL.get()
    d = make_temp_dir('cspy-pip-py27-')
    must([py, '-m', 'pip', 'install', '--no-index', '--prefix', d, path], 'pip install on 2.7')
    r = run_cmd([os.path.join(d, 'bin', 'cspy'), '--version'])
    if r.rc != 0 or e2elib.makefile_version() not in r.out:
        raise Fail('$ %s: exit status %d, output %r' % (r.shown, r.rc, r.out))


def checks():
    pys = pyenv_pythons()
    second = pys[0] if pys else '(a pyenv Python 3.12+)'
    label = lambda p: ('pyenv %s' % re.search(r'/versions/([^/]+)/', p).group(1) if '/versions/' in p
                       else 'Debian %s' % os.path.basename(os.path.realpath(p)))
    # The sdist install (a full build) first: it runs next to the others.
    return [('venv_sdist', check_venv_sdist),
            ('wheel_pip', check_wheel_pip),
            ('wheel_build', check_wheel_build),
            ('sdist', check_sdist),
            ('venv_wheel [%s]' % label(DEB_PY), check_venv_wheel(DEB_PY, False)),
            ('venv_wheel [%s, its own pip]' % label(second), check_venv_wheel(second, True)),
            ('install_dot', check_install_dot),
            ('missing_deps', check_missing_deps),
            ('dynamic_fallback', check_dynamic_fallback),
            ('py27_pip', check_py27_pip)]


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN',
                    help='run only checks whose name contains PATTERN (or matches a glob); repeatable')
    ap.add_argument('-j', '--jobs', type=int, default=2, help='checks run in parallel (default 2)')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    OPTS = ap.parse_args()
    OPTS.targets_only = False
    e2elib.OPTS = OPTS
    e2elib.handle_signals()
    t0 = time.time()
    print('cspy as a Python package (pyproject.toml, build_backend/): pip and build, offline')
    todo = [(n, fn) for n, fn in checks() if selected(n, OPTS.k)]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
        futs = dict((ex.submit(run_one, e2elib.Ctx, None, n, fn, 34), n) for n, fn in todo)
        for f in concurrent.futures.as_completed(futs):
            results[('-', futs[f])] = f.result()
    names = [n for n, _ in todo]
    e2elib.print_table(results, [], [], names, 'the tools named', '-')
    return e2elib.print_outcome(results, t0, names)


if __name__ == '__main__':
    sys.exit(main())
