#!/usr/bin/env python3
"""End-to-end tests of the static binary (`make static`: build-static/cspy)
run from a root that holds nothing but itself, as in a slim container.

    python3 tests/e2e/static.py [-k PATTERN] [--python VERSION] [--all] [-j JOBS] [-v]

Uses the e2e library (tests/e2e/e2elib.py) for interpreter discovery,
process tracking, targets and the report, and the dump comparisons of
tests/e2e/run.py. First `make static` (nothing to do when it is built).
The EMPTY ROOT is a temporary directory holding only a copy of the binary
(/cspy) and two empty directories, /proc and /tmp. Each cspy command runs
as `unshare --mount -- sh -c 'mount --bind /proc R/proc && chroot R /cspy
ARGS'`: its own mount namespace, this machine's /proc (so it sees the
target's PID), no file of this machine, no library, no loader. The target
runs outside, with its own interpreter (a Debian-unstable one runs in its
chroot root: another container).

Per interpreter (by default a selection covering every kind: pyenv 2.7,
3.6, 3.11, 3.12, 3.13, this machine's python3.11, a Debian-unstable one in
its chroot, a free-threaded one, the shared 3.15; --all: every one):
  dump           tests/targets/through_c.py (<module> -> main -> outer ->
                 sorted() -> key function inner, in time.sleep): `dump
                 --json` and `dump` equal the target's own oracle
                 (traceback.extract_stack), as run.py compares them
  native         `dump --native`: the same Python frames in order, a frame
                 of the C library above inner (its sleep), and, when the
                 interpreter has a symbol table, the C sort (a frame named
                 *sort*) between inner and outer
  record         tests/targets/top/hot.py: `record -d 1 -f raw -o /tmp/...`
                 (the file lands in the root's /tmp): hot_70 is in more
                 samples than hot_30, both together in at least 80 %
                 (record, record_native and top: a second attempt when the
                 first fails, as the machine's load may starve the target)
  record_native  the same with --native, and some hot_70 stack has a native
                 frame above it (clock_gettime (libc.so.6), ...)
  top            TERM=dumb, stdout a pipe: `top --duration 1 --delay 0.4`
                 prints plain tables (no ESC byte); the last one's first two
                 rows are hot_70, hot_30
Version-independent:
  elf_static     readelf: no PT_INTERP, no dynamic section (so no DT_NEEDED)
  stripped       no .symtab in the binary; build-static/cspy.debug holds it,
                 named by the binary's .gnu_debuglink
  empty_root     the root holds exactly /cspy, /proc and /tmp (so no libdw,
                 libelf, libz, libstdc++, libc, loader); cspy --version runs
                 there, the dynamic $BUILD/cspy cannot (control)
  version        --version of the static binary (in the root), of $BUILD/cspy
                 and of the NO_LIBDW=1 build (build-nolibdw/, built when
                 missing): first line "cspy VERSION" (the Makefile's), then
                 "native unwinding: libdw V" (V = pkg-config's libdw) or
                 "none", "linking: static" or "dynamic", the architecture,
                 the compiler
  no_dlopen      the static binary never loads libdebuginfod: libdw's dlopen
                 goes to __wrap_dlopen (in its symbols); under strace, with
                 DEBUGINFOD_URLS set, `dump --native` opens no libdebuginfod
                 file, while $BUILD/cspy (the control: the same libdw) does
                 (the target: this machine's python3, which has no local
                 debug file, so libdw asks debuginfod)
  launched_env   `record --native -- python ...` with DEBUGINFOD_URLS set:
                 the launched program still has it
  launch_denied  `record -- python ...` under a seccomp filter refusing
                 process_vm_readv, without CAP_SYS_PTRACE (a container's
                 defaults): one "permission denied ... CAP_SYS_PTRACE" line
                 within seconds, exit 1, the program ended
  pidns          the container case of `kubectl debug --target` and
                 `docker run --pid=container:NAME`: through_c.py as PID 1 of
                 its own PID namespace; cspy joins that namespace (nsenter
                 --pid), mounts its own /proc in the empty root and dumps
                 PID 1: JSON and text equal the oracle with the ids inside
                 (with the default interpreter, and with a Debian-unstable one
                 in its chroot: pidns_chroot)

Last line: "N passed, N failed" (exit 1 if any failed). Every process is
ended by its PID; the root is removed at the end.
"""
import argparse
import concurrent.futures
import copy
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                                    # noqa: E402
import run as dumpcheck                                          # noqa: E402
from e2elib import Fail, NA, REPO, clip, indent                 # noqa: E402

STATIC_BUILD = 'build-static'
NOLIBDW_BUILD = 'build-nolibdw'
ROOT_SH = 'mount --bind /proc "$0/proc" && exec chroot "$0" "$@"'
PIDNS_ROOT_SH = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
OPTS = None
ROOT = []                 # [the empty root's path]
BUILT = {}                # 'static': None or the reason the build failed
SIZES = []                # the sizes check_stripped measured, for the report


def static_exe():
    return os.path.join(REPO, STATIC_BUILD, 'cspy')


def make(args, what):
    """Run make in the repository; Fail with its output when it fails."""
    cmd = ['make', '-s', '-j2'] + args
    if os.environ.get('WERROR'):
        cmd.append('WERROR=' + os.environ['WERROR'])
    r = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    if r.returncode != 0:
        raise Fail('%s: $ %s\n  failed:\n%s' % (what, ' '.join(cmd),
                                                 indent(clip(r.stdout.decode('utf-8', 'replace')))))


def need_static():
    if BUILT.get('static_missing'):
        raise NA('no static archives to build it with%s'
                 % BUILT['static'].split('make static: no static library for', 1)[1].split('\n')[0])
    if BUILT.get('static'):
        raise Fail(BUILT['static'])
    if not ROOT:
        raise Fail('no empty root (see the setup error above)')


def make_root():
    """The empty root: /cspy (a copy of the static binary), /proc, /tmp."""
    r = e2elib.make_temp_dir('cspy-static-root-')
    os.chmod(r, 0o755)
    shutil.copy(static_exe(), os.path.join(r, 'cspy'))
    os.chmod(os.path.join(r, 'cspy'), 0o755)
    os.mkdir(os.path.join(r, 'proc'), 0o555)
    os.mkdir(os.path.join(r, 'tmp'))
    os.chmod(os.path.join(r, 'tmp'), 0o1777)
    ROOT.append(r)


def in_root(args, env=None, timeout=30, pidns_of=None, exe='/cspy'):
    """Run cspy ARGS in the empty root (its own mount namespace, this
    machine's /proc bind-mounted); pidns_of: in the PID namespace of that
    process instead, with that namespace's own /proc."""
    need_static()
    if os.geteuid() != 0:
        raise NA('the empty root needs root (unshare --mount, mount, chroot); running as uid %d'
                 % os.geteuid())
    prefix = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c',
              PIDNS_ROOT_SH if pidns_of else ROOT_SH, ROOT[0]]
    if pidns_of:
        prefix = ['nsenter', '--target', str(pidns_of), '--pid', '--'] + prefix
    args = [str(a) for a in args]
    shown = '%s[empty root%s] %s %s' % ('TERM=%s ' % env['TERM'] if env and 'TERM' in env else '',
                                        ', PID namespace of %s' % pidns_of if pidns_of else '',
                                        exe, ' '.join(args))
    return e2elib.run_cmd(prefix + [exe] + args, shown, timeout, env)


def expect_rc0(res):
    if res.rc != 0:
        raise Fail('$ %s\n  exit status %d, expected 0\n  stderr: %s\n  stdout: %s'
                   % (res.shown, res.rc, clip(res.err.strip(), 1500), clip(res.out.strip(), 1500)))


def not_left_stopped(target, res):
    left = e2elib.leftover_stops(target)
    if left:
        raise Fail('$ %s\n  cspy left the target stopped: %s' % (res.shown, left))


# --------------------------------------------------------------------------
# Per interpreter: one session of two targets

class Session(object):
    def __init__(self, interp):
        self.interp = interp
        self.ctx = e2elib.Ctx(interp)
        self.blocked = self.ctx.start('through_c.py')
        self.hot = self.ctx.start(os.path.join('top', 'hot.py'))
        self.oracle = self.blocked.wait_ready()
        self.hot_oracle = self.hot.wait_ready(exact_tasks=False)
        want = {'MainThread': ['inner', 'outer', 'main', '<module>']}
        dumpcheck.check_sanity(self.oracle, want)

    def close(self):
        self.ctx.close()


def compare_dumps(oracle, run, target=None):
    """run(flags) -> Result of a dump of oracle's process; both forms
    compared with the oracle as run.py compares them."""
    problems = []
    res = run(['--json'])
    expect_rc0(res)
    if target:
        not_left_stopped(target, res)
    try:
        js = json.loads(res.out)
    except ValueError as e:
        raise Fail('$ %s\n  not JSON (%s):\n%s' % (res.shown, e, indent(clip(res.out))))
    by_pid = dumpcheck.json_by_pid(js)
    p = []
    if set(by_pid) != {oracle['pid']}:
        p.append('expected threads of process %d only, got %s' % (oracle['pid'], sorted(by_pid, key=str)))
    dumpcheck.compare_json(oracle, by_pid.get(oracle['pid'], []), p)
    if p:
        problems += ['$ ' + res.shown] + p
    res = run([])
    expect_rc0(res)
    try:
        tx = e2elib.parse_text(res.out)
    except ValueError as e:
        raise Fail('$ %s\n  not dump text (%s):\n%s' % (res.shown, e, indent(clip(res.out))))
    p = []
    if [x['pid'] for x in tx] != [oracle['pid']]:
        p.append('expected one "Process %d" section, got %s' % (oracle['pid'], [x['pid'] for x in tx]))
    else:
        dumpcheck.compare_text(oracle, tx[0], p)
    if p:
        problems += ['$ ' + res.shown] + p
    if problems:
        raise Fail('\n'.join(problems))


def check_dump(s):
    pid = s.oracle['pid']
    compare_dumps(s.oracle, lambda flags: in_root(['dump', '--pid', pid] + flags), s.blocked)


RE_NFRAME = re.compile(r'^    (\S.*?) \((.*)\)$')
RE_PYLOC = re.compile(r'^(.*\.py):(\d+)$')


def native_frames(out):
    """[(name, location, is_python)] of the first thread of a dump --native text."""
    frames = []
    for line in out.split('\n'):
        if line.startswith('Thread ') and frames:
            break
        m = RE_NFRAME.match(line)
        if m:
            frames.append((m.group(1), m.group(2), bool(RE_PYLOC.match(m.group(2)))))
    return frames


def has_symtab(pid):
    """Whether the ELF that holds the target's interpreter (libpython, else
    the executable) has a symbol table (its static C functions are named)."""
    path = '/proc/%d/exe' % pid
    try:
        with open('/proc/%d/maps' % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and os.path.basename(parts[5]).startswith('libpython'):
                    path = '/proc/%d/map_files/%s' % (pid, parts[0])
                    break
    except OSError:
        pass
    r = subprocess.run(['readelf', '-SW', path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return ' .symtab ' in r.stdout.decode('utf-8', 'replace')


def check_native(s):
    pid = s.oracle['pid']
    res = in_root(['dump', '--native', '--pid', pid])
    expect_rc0(res)
    not_left_stopped(s.blocked, res)
    frames = native_frames(res.out)
    exp = [e2elib.fmt(f['name'], f['short'], f['line'])
           for f in e2elib.exp_frames(s.oracle['threads'][0], s.oracle.get('view_root', ''))]
    got = ['%s (%s)' % (n, loc) for n, loc, py in frames if py]
    problems = []
    d = e2elib.frames_diff('the Python frames of dump --native', exp, got)
    if d:
        problems.append(d)
    first_py = next((i for i, f in enumerate(frames) if f[2]), len(frames))
    above = frames[:first_py]
    if not any('libc' in loc for _, loc, _ in above):
        problems.append('no frame of the C library (its sleep) above the innermost Python frame; '
                        'above it: %s' % (['%s (%s)' % f[:2] for f in above] or 'nothing'))
    if has_symtab(pid):
        names = [f[0] for f in frames]
        if 'inner' in names and 'outer' in names:
            between = frames[names.index('inner') + 1:names.index('outer')]
            if not any('sort' in n for n, _, py in between if not py):
                problems.append('the interpreter has a symbol table, yet no C frame named *sort* '
                                'between inner and outer: %s' % (['%s (%s)' % f[:2] for f in between]
                                                                   or 'nothing'))
    if problems:
        raise Fail('$ %s\n%s\n  output:\n%s' % (res.shown, indent('\n'.join(problems), 2),
                                               indent(clip(res.out))))


def record_raw(s, native):
    """record -d 1 -f raw of hot.py in the root; (Result, stacks)."""
    need_static()
    name = 'rec-%s-%d-%s.txt' % (s.interp.label, os.getpid(), 'native' if native else 'py')
    out = os.path.join(ROOT[0], 'tmp', name)
    args = ['record', '--pid', s.hot_oracle['pid'], '-d', '1', '-f', 'raw', '-o', '/tmp/' + name]
    res = in_root(args + (['--native'] if native else []))
    try:
        expect_rc0(res)
        not_left_stopped(s.hot, res)
        try:
            with open(out) as f:
                text = f.read()
        except OSError as e:
            raise Fail('$ %s\n  no output file in the root (%s): %s' % (res.shown, out, e))
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass
    return res, e2elib.parse_collapsed(text, res.shown)


def hot_problems(stacks):
    def has(st, fn):
        return any(f.startswith(fn + ' (') for f in st)
    total = sum(c for _, c in stacks)
    h70 = sum(c for st, c in stacks if has(st, 'hot_70'))
    h30 = sum(c for st, c in stacks if has(st, 'hot_30'))
    if total < 50 or h70 <= h30 or (h70 + h30) * 10 < total * 8:
        return ['%d samples (expected about 100), hot_70 in %d, hot_30 in %d: expected hot_70 in '
                'more than hot_30, both in at least 80 %% (the target spends 70 %% and 30 %% of '
                'its wall time in them)' % (total, h70, h30)]
    return []


def twice(check):
    """A sampled share is a measurement: one retry when a loaded machine
    (the whole suite, other jobs) starved the target or the sampler; the
    failure is the second one's, with the first's summary."""
    def run(s):
        try:
            check(s)
        except Fail as first:
            try:
                check(s)
            except Fail as second:
                raise Fail('%s\n(the first attempt failed too:\n%s)' % (
                    second, indent(clip(str(first), 1500), 2)))
    return run


def record_check(s, native):
    res, stacks = record_raw(s, native)
    p = hot_problems(stacks)
    if native:
        natives = 0
        for st, c in stacks:
            names = [f.split(' (')[0] for f in st]
            if 'hot_70' in names and any(not re.search(r'\.py:\d+\)$', f)
                                         for f in st[names.index('hot_70') + 1:]):
                natives += c
        if not natives:
            p.append('no hot_70 sample has a native frame above it (e.g. clock_gettime (libc.so.6))')
    if p:
        top = sorted(stacks, key=lambda x: -x[1])[:5]
        raise Fail('$ %s\n%s\n  the largest stacks:\n%s' % (
            res.shown, indent('\n'.join(p), 2),
            indent('\n'.join('%s %d' % (';'.join(st), c) for st, c in top), 4)))


@twice
def check_record(s):
    record_check(s, False)


@twice
def check_record_native(s):
    record_check(s, True)


# (with the python/native/system split: %Py %Nat %Sys columns before the function)
RE_TOPROW = re.compile(r'^\s*[\d.]+%\s+[\d.]+%\s+\S+\s+\S+\s+(?:(?:\d+%|-)\s+(?:\d+%|-)\s+(?:\d+%|-)\s+)?'
                       r'(\S+) \(')


@twice
def check_top(s):
    env = dict(os.environ, TERM='dumb')
    res = in_root(['top', '--pid', s.hot_oracle['pid'], '--duration', '1', '--delay', '0.4'],
                  env=env)
    expect_rc0(res)
    not_left_stopped(s.hot, res)
    problems = []
    if '\x1b' in res.out or '\x1b' in res.err:
        problems.append('an ESC byte in the output (TERM=dumb, a pipe: plain text expected)')
    tables = res.out.split('Total Samples')[1:]
    if not tables:
        problems.append('no table ("Total Samples ...") in the output')
    else:
        rows = [m.group(1) for m in map(RE_TOPROW.match, tables[-1].split('\n')) if m]
        if rows[:2] != ['hot_70', 'hot_30']:
            problems.append('last table: first rows %s, expected hot_70, hot_30' % rows[:4])
    if problems:
        raise Fail('$ %s\n%s\n  stdout:\n%s' % (res.shown, indent('\n'.join(problems), 2),
                                               indent(clip(res.out, 2500))))


PER_VERSION = [
    ('dump', check_dump),
    ('native', check_native),
    ('record', check_record),
    ('record_native', check_record_native),
    ('top', check_top),
]


# --------------------------------------------------------------------------
# Version-independent

def check_elf_static(interp):
    need_static()
    exe = static_exe()
    problems = []
    ph = subprocess.run(['readelf', '-lW', exe], stdout=subprocess.PIPE).stdout.decode()
    dyn = subprocess.run(['readelf', '-dW', exe], stdout=subprocess.PIPE).stdout.decode()
    if 'Program Headers' not in ph:
        problems.append('readelf -lW shows no program headers:\n%s' % indent(clip(ph, 1000)))
    if 'INTERP' in ph:
        problems.append('a PT_INTERP (a dynamic loader is needed):\n%s' % indent(clip(ph, 2000)))
    if 'There is no dynamic section' not in dyn or 'NEEDED' in dyn:
        problems.append('a dynamic section:\n%s' % indent(clip(dyn, 2000)))
    if problems:
        raise Fail('%s:\n%s' % (exe, indent('\n'.join(problems), 2)))


def check_stripped(interp):
    need_static()
    exe = static_exe()
    dbg = exe + '.debug'
    problems = []
    sec = subprocess.run(['readelf', '-SW', exe], stdout=subprocess.PIPE).stdout.decode()
    if ' .symtab ' in sec:
        problems.append('%s has a .symtab: not stripped' % exe)
    link = subprocess.run(['readelf', '-p', '.gnu_debuglink', exe], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT).stdout.decode('latin-1')
    if 'cspy.debug' not in link:
        problems.append('%s: .gnu_debuglink does not name cspy.debug:\n%s' % (exe, indent(link)))
    if not os.path.isfile(dbg):
        problems.append('%s: missing' % dbg)
    else:
        syms = subprocess.run(['readelf', '-sW', dbg], stdout=subprocess.PIPE).stdout.decode()
        if not re.search(r' FUNC +GLOBAL +DEFAULT +\d+ main$', syms, re.M):
            problems.append('%s: no symbol main in its .symtab' % dbg)
    if problems:
        raise Fail('\n'.join(problems))
    SIZES.append('static binary %s: %d bytes (stripped), %s: %d bytes'
                 % (os.path.relpath(exe, REPO), os.path.getsize(exe), os.path.relpath(dbg, REPO),
                    os.path.getsize(dbg)))


def check_empty_root(interp):
    need_static()
    r = ROOT[0]
    found = []
    for d, dirs, files in os.walk(r):
        for n in dirs + files:
            rel = os.path.relpath(os.path.join(d, n), r)
            if not re.match(r'^tmp/rec-[^/]*\.txt$', rel):    # record's outputs, meanwhile
                found.append(rel)
    problems = []
    if sorted(found) != ['cspy', 'proc', 'tmp']:
        problems.append('the root %s holds %s, expected exactly cspy, proc/, tmp/' % (r, sorted(found)))
    libs = [f for f in found if re.search(r'lib(dw|elf|z|stdc\+\+|bz2|lzma|c)\b|ld-linux', f)]
    if libs:
        problems.append('libraries in the root: %s' % libs)
    res = in_root(['--version'])
    if res.rc != 0 or not res.out.startswith('cspy '):
        problems.append('$ %s\n  exit status %d, stdout %r, stderr %r'
                        % (res.shown, res.rc, res.out[:200], res.err[:300]))
    # Control: the dynamic build cannot start there (no loader, no library).
    dyn = e2elib.built_cspy()
    if os.access(dyn, os.X_OK):
        shutil.copy(dyn, os.path.join(r, 'tmp', 'cspy-dynamic'))
        try:
            c = in_root(['--version'], exe='/tmp/cspy-dynamic')
        finally:
            os.unlink(os.path.join(r, 'tmp', 'cspy-dynamic'))
        if c.rc == 0:
            problems.append('control: $ %s\n  the dynamic build ran in the root (exit 0): the '
                            'root is not empty of libraries' % c.shown)
    if problems:
        raise Fail('\n'.join(problems))


def libdw_version():
    r = subprocess.run(['pkg-config', '--modversion', 'libdw'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return r.stdout.decode().strip() if r.returncode == 0 else None


def version_problems(res, native, linking):
    """native: the libdw version expected, or None for 'none'."""
    p = []
    if res.rc != 0:
        p.append('exit status %d, expected 0' % res.rc)
    lines = res.out.rstrip('\n').split('\n')
    want_arch = {'amd64': 'x86_64', 'arm64': 'aarch64'}.get(platform.machine(), platform.machine())
    exp = ['cspy %s' % e2elib.makefile_version(),
           'native unwinding: libdw %s (--native)' % native if native else
           'native unwinding: none (built with NO_LIBDW=1: no --native)',
           'linking: ' + linking,
           'architecture: ' + want_arch]
    if lines[:4] != exp:
        p.append('expected the lines\n%s\n  got\n%s' % (indent('\n'.join(exp)), indent(res.out)))
    if len(lines) != 5 or not re.match(r'^compiler: (gcc|clang) \S', lines[4]):
        p.append('the fifth and last line: "compiler: gcc|clang VERSION" expected, got %r'
                 % lines[4:])
    return ['$ ' + res.shown] + p if p else []


def check_version(interp):
    need_static()
    dw = libdw_version()
    if not dw:
        raise Fail('pkg-config --modversion libdw failed: the oracle of the libdw version')
    problems = version_problems(in_root(['--version']), dw,
                                'static (every library built in)')
    problems += version_problems(e2elib.cspy(['--version']), dw, 'dynamic')
    make(['NO_LIBDW=1', 'BUILD=' + NOLIBDW_BUILD, NOLIBDW_BUILD + '/cspy'], 'the NO_LIBDW=1 build')
    problems += version_problems(e2elib.cspy(['-V'], exe=os.path.join(REPO, NOLIBDW_BUILD, 'cspy')),
                                 None, 'dynamic')
    if problems:
        raise Fail('\n'.join(problems))


def strace_opens(exe, args, env):
    """The file names exe ARGS opened (strace -f), and the Result."""
    if not shutil.which('strace'):
        why = 'strace not found on PATH (.ci/run installs it)'
        if os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1':
            raise Fail(why + ' (CSPY_REQUIRE_VALIDATORS=1)')
        raise NA(why)
    log = os.path.join(e2elib.make_temp_dir('cspy-static-strace-'), 'trace')
    res = e2elib.run_cmd(['strace', '-f', '-qq', '-o', log, '-e', 'trace=open,openat', exe] +
                         [str(a) for a in args], 'DEBUGINFOD_URLS=%s strace -f %s %s' % (
                             env['DEBUGINFOD_URLS'], exe, ' '.join(str(a) for a in args)), env=env)
    with open(log) as f:
        names = re.findall(r'open(?:at)?\([^"]*"([^"]*)"', f.read())
    return res, names


def check_no_dlopen(interp):
    need_static()
    problems = []
    syms = subprocess.run(['readelf', '-sW', static_exe() + '.debug'], stdout=subprocess.PIPE)
    names = set(l.split()[-1] for l in syms.stdout.decode().split('\n') if len(l.split()) >= 8)
    if '__wrap_dlopen' not in names:
        problems.append('%s.debug: no __wrap_dlopen (not linked with -Wl,--wrap=dlopen)' % static_exe())
    # At run time: a process whose modules have no local debug file (libc's
    # has none on Debian unless libc6-dbg is there): libdw asks debuginfod.
    ctx = e2elib.Ctx(interp)
    try:
        t = ctx.start('through_c.py')
        o = t.wait_ready()
        env = dict(os.environ, DEBUGINFOD_URLS='http://127.0.0.1:9/')
        args = ['dump', '--native', '--pid', o['pid']]
        res, opened = strace_opens(static_exe(), args, env)
        if res.rc != 0:
            problems.append('$ %s\n  exit status %d: %s' % (res.shown, res.rc, res.err.strip()))
        bad = [n for n in opened if 'debuginfod' in n]
        if bad:
            problems.append('$ %s\n  the static binary opened %s' % (res.shown, bad))
        cres, copened = strace_opens(e2elib.cspy_path(), args, env)
        control = [n for n in copened if 'libdebuginfod' in n]
    finally:
        ctx.close()
    if problems:
        raise Fail('\n'.join(problems))
    if not control:
        why = ('the control (%s, the dynamic build) did not open libdebuginfod (libdebuginfod1 '
               'not installed? .ci/run installs it), so the run-time part proves nothing here'
               % cres.shown)
        if os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1':
            raise Fail(why + ' (CSPY_REQUIRE_VALIDATORS=1)')
        raise NA(why)


def check_launched_env(interp):
    """A launched program keeps DEBUGINFOD_URLS (cspy clears it only for
    itself, after the launch)."""
    need_static()
    d = e2elib.make_temp_dir('cspy-static-env-')
    out = os.path.join(d, 'env')
    code = ('import os, sys, time\nv = os.environ.get("DEBUGINFOD_URLS", "(unset)")\n'
            'open(sys.argv[1], "w").write(v)\nend = time.time() + 0.6\n'
            'while time.time() < end: pass\n')
    env = dict(os.environ, DEBUGINFOD_URLS='http://127.0.0.1:9/')
    res = e2elib.cspy(['record', '--native', '-f', 'raw', '-o', os.path.join(d, 'rec.txt'), '--',
                       interp.path, '-c', code, out], env=env, exe=static_exe())
    expect_rc0(res)
    try:
        with open(out) as f:
            got = f.read()
    except OSError as e:
        raise Fail('$ %s\n  the launched program wrote nothing (%s)' % (res.shown, e))
    if got != env['DEBUGINFOD_URLS']:
        raise Fail('$ %s\n  the launched program saw DEBUGINFOD_URLS=%r, expected %r'
                   % (res.shown, got, env['DEBUGINFOD_URLS']))


# A seccomp filter as a container runtime's default one without
# CAP_SYS_PTRACE: process_vm_readv (x86-64: 310) fails with EPERM; the
# rest runs. Installed by python (ctypes, prctl), then exec of argv[1:].
SECCOMP_EXEC = r"""
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
ins = [(0x20, 0, 0, 4), (0x15, 0, 3, 0xC000003E), (0x20, 0, 0, 0), (0x15, 0, 1, 310),
       (0x06, 0, 0, 0x00050000 | 1), (0x06, 0, 0, 0x7FFF0000)]
buf = ctypes.create_string_buffer(b''.join(struct.pack('HBBI', *i) for i in ins))
prog = struct.pack('HxxxxxxQ', len(ins), ctypes.addressof(buf))
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.c_char_p(prog), 0, 0):
    sys.exit('seccomp: %s' % os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
"""


def check_launch_denied(interp):
    """`record -- python ...` where cspy may not read even its own child
    (as in a container without SYS_PTRACE: no CAP_SYS_PTRACE, a seccomp
    filter refusing process_vm_readv): one permission line within seconds,
    exit status 1, the program ended; not a 30 s wait for "no Python
    interpreter"."""
    need_static()
    if platform.machine() != 'x86_64':
        raise NA('the seccomp filter of this check names x86-64 system calls')
    if not shutil.which('setpriv'):
        raise NA('setpriv (util-linux) not found on PATH')
    d = e2elib.make_temp_dir('cspy-static-denied-')
    code = 'import os, sys, time\nopen(sys.argv[1], "w").write(str(os.getpid()))\ntime.sleep(60)\n'
    mark = os.path.join(d, 'pid')
    cmd = ['setpriv', '--inh-caps=-sys_ptrace', '--bounding-set=-sys_ptrace',
           sys.executable, '-c', SECCOMP_EXEC, static_exe(), 'record', '-o', os.path.join(d, 'p.txt'),
           '-f', 'raw', '--', interp.path, '-c', code, mark]
    t0 = time.time()
    res = e2elib.run_cmd(cmd, 'setpriv --bounding-set=-sys_ptrace [seccomp: no process_vm_readv] '
                         'cspy record -f raw -- %s -c ...' % interp.path, timeout=20)
    took = time.time() - t0
    problems = []
    lines = [l for l in res.err.split('\n') if l.startswith('cspy: error:')]
    if res.rc != 1:
        problems.append('exit status %d, expected 1' % res.rc)
    if len(lines) != 1 or 'permission denied reading process' not in lines[0] or \
            'CAP_SYS_PTRACE' not in lines[0]:
        problems.append('expected one line "cspy: error: permission denied reading process N: '
                        '... CAP_SYS_PTRACE ...", got stderr:\n%s' % indent(clip(res.err, 1500)))
    if took > 10:
        problems.append('took %.1f s (expected the error after about 1 s)' % took)
    try:
        with open(mark) as f:
            pid = int(f.read())
        end = time.time() + 5
        while e2elib.alive(pid) and time.time() < end:
            time.sleep(0.05)
        if e2elib.alive(pid):
            problems.append('the launched program (PID %d) is still running' % pid)
    except (OSError, ValueError):
        problems.append('the launched program did not start (no %s)' % mark)
    if problems:
        raise Fail('$ %s\n%s' % (res.shown, indent('\n'.join(problems), 2)))


def pidns_check(interp):
    """through_c.py as PID 1 of its own PID namespace; cspy in that
    namespace, in the empty root with its own /proc."""
    need_static()
    ctx = e2elib.Ctx(interp)
    try:
        t = e2elib.start_in_pid_namespace(ctx, 'through_c.py')
        o = e2elib.pidns_ready(t)
        inside = copy.deepcopy(o)
        inside['pid'] = o['ns_pid']
        for th in inside['threads']:
            th['native_id'] = th['ns_native_id']
        compare_dumps(inside, lambda flags: in_root(['dump', '--pid', inside['pid']] + flags,
                                                    pidns_of=t.python_pid), t)
    finally:
        ctx.close()


def check_pidns(interp):
    pidns_check(interp)


def check_pidns_chroot(interp):
    if interp is None:
        raise NA('no Debian-unstable interpreter in a chroot (make pythons provisions them)')
    pidns_check(interp)


GLOBAL = [
    ('elf_static', check_elf_static),
    ('stripped', check_stripped),
    ('empty_root', check_empty_root),
    ('version', check_version),
    ('no_dlopen', check_no_dlopen),
    ('launched_env', check_launched_env),
    ('launch_denied', check_launch_denied),
    ('pidns', check_pidns),
    ('pidns_chroot', check_pidns_chroot),
]


# --------------------------------------------------------------------------
# Driver

def default_selection(interps):
    """One interpreter of each kind that matters (the docstring's list)."""
    keep = []
    for i in interps:
        if not i.supported():
            continue
        if i.source == 'pyenv' and i.minor in ((2, 7), (3, 6), (3, 11), (3, 12), (3, 13)):
            keep.append(i)
        elif i.source == 'system' and i.minor == (3, 11):
            keep.append(i)
        elif i.source == 'provisioned' and i.shared and i.minor == (3, 15) and not i.free_threaded:
            keep.append(i)
    chroot = [i for i in interps if i.supported() and i.root and not i.debug]
    ft = [i for i in interps if i.supported() and i.free_threaded]
    keep += chroot[-1:] + ft[-1:]
    return [i for i in interps if i in keep]


def run_session(interp, checks, results):
    s = None
    try:
        s = Session(interp)
    except Exception as e:
        st, why = ('n/a', str(e)) if isinstance(e, NA) else (
            'FAIL', str(e) if isinstance(e, Fail) else traceback.format_exc())
        for name, _ in checks:
            results[(interp.label, name)] = (st, 'the targets did not start: ' + why)
        return
    try:
        for name, fn in checks:
            results[(interp.label, name)] = run_fn(interp, name, lambda: fn(s))
    finally:
        s.close()


def run_fn(interp, name, fn):
    t0 = time.time()
    try:
        fn()
        r = ('ok', None)
    except NA as e:
        r = ('n/a', str(e))
    except Fail as e:
        r = ('FAIL', str(e))
    except e2elib.Stopping:
        r = ('FAIL', 'interrupted')
    except Exception:
        r = ('FAIL', 'internal error of the test:\n' + traceback.format_exc())
    e2elib.note_time(interp.label if interp else '-', name, t0)
    if OPTS.verbose:
        sys.stderr.write('%-5s %-10s %-16s %.1fs\n' % (r[0], interp.label if interp else '-', name,
                                                      time.time() - t0))
    return r


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('--python', action='append', metavar='VERSION', help='only these interpreters')
    ap.add_argument('--all', action='store_true', help='every interpreter, not the default selection')
    ap.add_argument('-j', '--jobs', type=int, default=4, help='interpreters checked in parallel (default 4)')
    ap.add_argument('-v', '--verbose', action='store_true')
    OPTS = ap.parse_args()
    e2elib.OPTS = argparse.Namespace(targets_only=False, verbose=OPTS.verbose, k=OPTS.k)
    e2elib.handle_signals()
    t0 = time.time()

    print('cspy static binary tests: %s/cspy in an empty root' % STATIC_BUILD)
    try:
        make(['static'], 'make static')
        make_root()
    except Fail as e:
        BUILT['static'] = str(e)
        # No static archives (the Makefile names them before compiling):
        # a missing tool, so n/a with the reason, as elsewhere; .ci/run
        # installs them, and there (CSPY_REQUIRE_VALIDATORS=1) it fails.
        if ('make static: no static library for' in str(e)
                and os.environ.get('CSPY_REQUIRE_VALIDATORS') != '1'):
            BUILT['static_missing'] = True
        print('NOTE: ' + str(e))
    print('make static: %.1f s' % (time.time() - t0))
    e2elib.use_snapshot('the dynamic build\'s checks (version, controls) fail')
    interps, notes = e2elib.discover()
    if OPTS.python:
        interps = e2elib.select_pythons(interps, notes, OPTS.python)
    elif not OPTS.all:
        sel = default_selection(interps)
        notes += ['%s: not in this tier\'s selection (one of each kind; --all runs every one)'
                  % i.label for i in interps if i not in sel]
        interps = sel
    e2elib.describe_interps(interps)

    checks = [(n, fn) for n, fn in PER_VERSION if e2elib.selected(n, OPTS.k)]
    gchecks = [(n, fn) for n, fn in GLOBAL if e2elib.selected(n, OPTS.k)]
    supported = [i for i in interps if i.supported()]
    default = e2elib.default_interp(supported)
    chroot = [i for i in supported if i.root and not i.debug]
    # no_dlopen needs an interpreter without local debug files: Debian's own.
    system = [i for i in supported if i.source == 'system' and i.minor >= (3, 0)]
    gkey = default.label if default else '-'
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
        futs = []
        for n, fn in gchecks:
            # pidns_chroot runs with a Debian-unstable interpreter (n/a
            # without one), the others with the default interpreter.
            who = (chroot[-1] if chroot else None) if n == 'pidns_chroot' else default
            if n == 'no_dlopen' and system:
                who = system[-1]
            if who is None and n != 'pidns_chroot':
                results[(gkey, n)] = ('n/a', 'no supported Python 3 interpreter found')
                continue
            futs.append(((gkey, n), ex.submit(run_fn, who, n, lambda fn=fn, w=who: fn(w))))
        for i in interps:
            if not i.supported():
                for n, _ in checks:
                    results[(i.label, n)] = ('n/a', 'Python %s is not supported by cspy' % i.version)
            elif checks:
                futs.append((None, ex.submit(run_session, i, checks, results)))
        for key, f in futs:
            r = f.result()
            if key:
                results[key] = r

    labels = [i.label for i in interps]
    e2elib.print_table(results, labels, [n for n, _ in checks], [n for n, _ in gchecks],
                       gkey + (', pidns_chroot with %s' % chroot[-1].label if chroot else ''), gkey)
    if SIZES:
        print()
        for s in SIZES:
            print(s)
    return e2elib.print_outcome(results, t0, [n for n, _ in PER_VERSION] + [n for n, _ in GLOBAL], notes)


if __name__ == '__main__':
    sys.exit(main())
