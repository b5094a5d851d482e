#!/usr/bin/env python3
"""End-to-end tests of `cspy dump --core FILE` on every installed CPython.

    python3 tests/e2e/core.py [-k PATTERN] [--python VERSION] [-j JOBS] [-v]

Uses the e2e library (tests/e2e/e2elib.py) and the comparisons of the dump
suite (tests/e2e/run.py): the core of a process must dump exactly as the
process itself would, against the same ORACLE (tests/targets/cspy_oracle.py).

Per interpreter, two targets, each cored once by each means and the core
reused by its checks (cores are large: each is deleted when its
interpreter is done; gdb is slow on a free-threaded build, whose gcore
writes its whole reserved heap, about 1 GB, so it is made once):
  threads10.py (main + 10 workers blocked at known points):
    gcore         `gcore -o PREFIX PID` (gdb), then `dump --core` as text and
                  --json compared with the oracle as run.py compares a live
                  dump: thread set and order, names, idents, TIDs, every
                  frame (name, file, short file, line, qualname), the header
                  (pid, command line from the core's stack, version,
                  executable) and "(core file FILE)"; every thread idle (all
                  are blocked: their registers in the core say so)
    gcore_native  `dump --core --native`: every thread's merged stack has
                  the oracle's Python frames in order and a native frame
                  (libc's wait) innermost; no merge error
    kernel        the same target then killed with SIGABRT (RLIMIT_CORE
                  unlimited, cwd its own directory): the kernel's core
                  (which lacks the read-only file mappings: read from the
                  files on disk) dumps as gcore's did, text and --json;
                  n/a when /proc/sys/kernel/core_pattern pipes to a program
    kernel_native `--native` on the kernel's core, as gcore_native
A gcore check is n/a when gdb says it could not read part of the memory
(gdb 13 on a process in another mount namespace leaves zeros in the
core's thread stacks): the kernel checks then cover that interpreter.
  locals_target.py, killed with SIGABRT (its kernel core; gcore's when
  core_pattern pipes to a program):
    locals        `dump --core --locals`, text and --json: every argument and
                  local of the oracle, reprs as run.py's check_locals wants
The Debian unstable interpreters run in a chroot (their own mount
namespace): their cores name the files inside it, and every dump of them
passes `--core-root ROOT` (the container case).

Version-independent (once):
  missing_file  the target runs a copy of the interpreter's executable from a
                temporary directory; after the core is made the copy is
                changed in its first page ("does not match"), then deleted
                ("missing"): one error line naming it, exit 1, each; then the
                core cut to half its size: one line saying it is truncated
  not_core      a text file, an ELF executable (cspy itself), a missing path,
                a directory: one line each, exit 1
  not_python    the core of `sleep`: one line, "not a Python process", exit 1
  busy_status   gil_busy.py's gcore and kernel core: the spinning thread is
                active, the sleepers idle (STATUS from the registers)
  no_proc       `dump --core --native --locals` under strace: no /proc file
                opened, no ptrace, no process_vm_readv
  options       --core with --pid, --subprocesses, --nonblocking; --core-root
                without --core: one usage line each, exit 2; `dump --help`
                lists --core and --core-root

Output: a table check x interpreter, the n/a reasons, the failure details,
and last the line "N passed, N failed" (exit status 1 if any failed).
"""
import argparse
import concurrent.futures
import copy
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                                   # noqa: E402
import run                                                      # noqa: E402
from e2elib import (Fail, NA, Target, clip, cspy, cspy_shown, end_process,  # noqa: E402
                    exp_frames, fmt, frames_diff, indent, make_temp_dir, parse_text,
                    remove_temp_dir, require_cspy, spawn)

OPTS = None
GCORE_TIMEOUT = 60


def core_pattern_na():
    """The reason a kernel core cannot be taken here, or None."""
    try:
        with open('/proc/sys/kernel/core_pattern') as f:
            pat = f.read().strip()
    except OSError as e:
        return 'cannot read /proc/sys/kernel/core_pattern: %s' % e
    if pat.startswith('|'):
        return 'core_pattern pipes to %s' % pat[1:].split()[0]
    if '/' in pat or '%' in pat.replace('%p', ''):
        return 'core_pattern is %r, not a plain file name' % pat
    soft = resource.getrlimit(resource.RLIMIT_CORE)[0]
    if soft != resource.RLIM_INFINITY and soft < (1 << 30):
        return 'RLIMIT_CORE is %d bytes and cannot be raised (its hard limit)' % soft
    return None


def gcore(pid, prefix, strict=True):
    """Core of pid with gdb's gcore; its path. strict: NA when gdb could not
    read all of the memory (but the vsyscall page, which nothing reads)."""
    if not shutil.which('gcore'):
        raise NA('gcore (gdb) is not installed')
    r = subprocess.run(['gcore', '-o', prefix, str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=GCORE_TIMEOUT)
    path = '%s.%d' % (prefix, pid)
    out = r.stdout.decode('utf-8', 'replace')
    if r.returncode != 0 or not os.path.exists(path):
        raise Fail('gcore -o %s %d failed (status %d):\n%s'
                   % (prefix, pid, r.returncode, indent(clip(out))))
    failed = [l.strip() for l in out.split('\n') if 'Memory read failed for corefile section' in l
              and not l.strip().endswith('at 0xffffffffff600000.')]
    if failed and strict:
        # gdb 13 on a process in another mount namespace (the chroot):
        # it could not read some of the memory and left zeros in the core.
        os.unlink(path)
        raise NA('gdb\'s gcore could not read all of the memory (%d regions, e.g. "%s"): the '
                 'core holds zeros there; the kernel core checks cover this interpreter'
                 % (len(failed), failed[0]))
    return path


def root_args(interp):
    return ['--core-root', interp.root] if interp.root else []


class Session(object):
    """One interpreter: its targets and their cores, made once."""

    def __init__(self, interp):
        self.interp = interp
        self.targets = {}
        self.cores = {}
        self.na = {}

    def target(self, script):
        t = self.targets.get(script)
        if t is None:
            t = Target(self.interp, script)
            self.targets[script] = t
            t.wait_ready()
            if self.interp.root:
                # Files are read from the root on disk, the process may be gone.
                t.oracle['view_root'] = self.interp.root
                t.oracle['real_executable'] = self.interp.root + t.oracle['real_executable']
                t.oracle['executable'] = self.interp.root + t.oracle['executable']
        return t

    def gcore(self, script):
        key = ('gcore', script)
        if key in self.na:
            raise NA(self.na[key])          # tried once: not again
        if key not in self.cores:
            t = self.target(script)
            try:
                self.cores[key] = gcore(t.python_pid, os.path.join(t.dir, 'gcore'))
            except NA as e:
                self.na[key] = str(e)
                raise
        return self.target(script), self.cores[key]

    def kernel_core(self, script):
        key = ('kernel', script)
        if key not in self.cores:
            why = core_pattern_na()
            if why:
                raise NA(why)
            t = self.target(script)
            os.kill(t.python_pid, signal.SIGABRT)
            try:
                t.proc.wait(30)
            except subprocess.TimeoutExpired:
                raise Fail('target %d did not end after SIGABRT' % t.python_pid)
            names = [n for n in os.listdir(t.dir) if n == 'core' or n.startswith('core.')]
            if not names:
                raise Fail('the kernel wrote no core into %s after SIGABRT (exit status %s, '
                           'RLIMIT_CORE %s)' % (t.dir, t.proc.returncode,
                                                resource.getrlimit(resource.RLIMIT_CORE)))
            self.cores[key] = os.path.join(t.dir, names[0])
        return self.target(script), self.cores[key]

    def close(self):
        for path in self.cores.values():
            try:
                os.unlink(path)
            except OSError:
                pass
        for t in self.targets.values():
            t.close()


def dump_core(s, path, flags=(), as_json=False):
    """cspy dump --core PATH [--core-root] FLAGS: must succeed; (res, parsed)."""
    require_cspy()
    args = ['dump', '--core', path] + root_args(s.interp) + list(flags) + (['--json'] if as_json else [])
    res = cspy(args)
    if res.rc != 0:
        raise Fail('$ %s\n  exit status %d, expected 0\n  stderr: %s'
                   % (res.shown, res.rc, clip(res.err.strip(), 2000)))
    try:
        parsed = json.loads(res.out) if as_json else parse_text(res.out)
    except ValueError as e:
        raise Fail('$ %s\n  output is not valid %s: %s\n  output:\n%s'
                   % (res.shown, 'JSON' if as_json else 'dump text', e, indent(clip(res.out), 4)))
    return res, parsed


def compare_core(s, t, path, flags=(), with_locals=False):
    """dump --core as JSON and as text, compared with t's oracle as run.py
    compares a live dump. Returns (json threads, text process)."""
    oracle = t.oracle
    out = []
    pr = []
    res, js = dump_core(s, path, flags, as_json=True)
    problems = []
    by_pid = run.json_by_pid(js)
    if set(by_pid) != {oracle['pid']}:
        problems.append('expected threads of process %d only, got processes %s'
                        % (oracle['pid'], sorted(by_pid, key=str)))
    threads = by_pid.get(oracle['pid'], [])
    run.compare_json(oracle, threads, problems, with_locals=with_locals)
    info = (threads[0].get('process_info') or {}) if threads else {}
    if info.get('core_file') != path:
        problems.append('process_info.core_file expected %r, got %r' % (path, info.get('core_file')))
    if problems:
        pr.append('$ %s\n%s' % (res.shown, '\n'.join(indent(p, 2) for p in problems)))
    out.append(js)
    res, tx = dump_core(s, path, flags)
    problems = []
    suffix = ' (core file %s)' % path
    if [p['pid'] for p in tx] != [oracle['pid']]:
        problems.append('expected one "Process %d" section, got %s'
                        % (oracle['pid'], [p['pid'] for p in tx]))
    elif not tx[0]['cmdline'].endswith(suffix):
        problems.append('header "Process %d: ..." does not end with %r: %r'
                        % (oracle['pid'], suffix, tx[0]['cmdline']))
    else:
        proc = dict(tx[0], cmdline=tx[0]['cmdline'][:-len(suffix)])
        run.compare_text(oracle, proc, problems)
    if problems:
        pr.append('$ %s\n%s' % (res.shown, '\n'.join(indent(p, 2) for p in problems)))
    out.append(tx)
    if pr:
        raise Fail('\n'.join(pr))
    return out


THREADS = 'threads10.py'


def all_idle(path, tx):
    """Every thread of threads10.py is blocked (sleep, wait, join): its
    registers in the core say so (STATUS from NT_PRSTATUS)."""
    busy = ['%d %s' % (t['tid'], t['status']) for p in tx for t in p['threads']
            if not t['status'].startswith('idle')]
    if busy:
        raise Fail('dump --core %s: every thread is blocked in a system call, but these are '
                   'shown active: %s' % (path, ', '.join(busy)))


def check_gcore(s):
    t, path = s.gcore(THREADS)
    run.check_sanity(t.oracle, run.spec_threads10(s.interp))
    js, tx = compare_core(s, t, path)
    all_idle(path, tx)


def check_kernel(s):
    t, path = s.kernel_core(THREADS)
    js, tx = compare_core(s, t, path)
    all_idle(path, tx)


def check_locals(s):
    t, path = (s.gcore if core_pattern_na() else s.kernel_core)('locals_target.py')
    run.check_sanity(t.oracle, {'MainThread': ['locals_fn', 'caller'] + run.MAIN})
    js, tx = compare_core(s, t, path, ['--locals'], with_locals=True)
    recorded = t.oracle['extra']['frames']
    main = t.oracle['threads'][0]['native_id']
    problems = []
    for th in js:
        if th.get('os_thread_id') == main:
            run.compare_locals(recorded, th.get('frames') or [], 'JSON', problems, True)
    for th in (tx[0]['threads'] if tx else []):
        if th['tid'] == main:
            run.compare_locals(recorded, th['frames'], 'text', problems, False)
    if problems:
        raise Fail('--core --locals:\n' + '\n'.join(indent(p, 2) for p in problems))


def check_gcore_native(s):
    t, path = s.gcore(THREADS)
    native_problems(s, t, path)


def check_kernel_native(s):
    t, path = s.kernel_core(THREADS)
    native_problems(s, t, path)


def native_problems(s, t, path):
    res, js = dump_core(s, path, ['--native'], as_json=True)
    oracle = t.oracle
    by_tid = dict((th.get('os_thread_id'), th) for th in js)
    problems = []
    for ot in oracle['threads']:
        th = by_tid.get(ot['native_id'])
        if th is None:
            problems.append('thread %s missing' % ot['native_id'])
            continue
        frames = th.get('frames') or []
        py = [fmt(f.get('name'), f.get('filename'), f.get('line')) for f in frames
              if not f.get('native')]
        exp = [fmt(f['name'], f['filename'], f['line'])
               for f in exp_frames(ot, oracle.get('view_root', ''))]
        d = frames_diff('thread %s (Python frames of the merged stack)' % ot['native_id'], exp, py)
        if d:
            problems.append(d + '\n  JSON: %s' % clip(json.dumps(th), 1500))
            continue
        if not frames or not frames[0].get('native'):
            problems.append('thread %s: innermost frame %r is not native (the wait in libc)'
                            % (ot['native_id'], frames[0] if frames else None))
    if problems:
        raise Fail('$ %s\n%s' % (res.shown, '\n'.join(indent(p, 2) for p in problems)))


PER_VERSION = [
    ('gcore', check_gcore),
    ('gcore_native', check_gcore_native),
    ('kernel', check_kernel),
    ('kernel_native', check_kernel_native),
    ('locals', check_locals),
]


# --------------------------------------------------------------------------
# Version-independent checks

def expect_error(res, needles, status=1):
    problems = []
    if res.rc != status:
        problems.append('exit status %d, expected %d' % (res.rc, status))
    lines = [l for l in res.err.split('\n') if l.strip()]
    if len(lines) != 1:
        problems.append('expected exactly one line on stderr, got %d' % len(lines))
    if not lines or not lines[0].startswith('cspy: error: '):
        problems.append('stderr does not start with "cspy: error: "')
    for n in needles:
        if n.lower() not in res.err.lower():
            problems.append('stderr does not contain %r' % n)
    if res.out.strip():
        problems.append('stdout is not empty: %r' % clip(res.out, 300))
    if problems:
        return '$ %s\n%s\n  stderr: %r' % (res.shown, '\n'.join(indent(p, 2) for p in problems),
                                           clip(res.err, 1000))
    return None


def check_missing_file(s):
    interp = s.interp
    if interp.root:
        raise NA('%s runs in a chroot: a copy of its executable outside it would not find its '
                 'libraries' % interp.label)
    d = make_temp_dir('cspy-e2e-core-')
    try:
        exe = os.path.join(d, os.path.basename(interp.host_path(os.path.realpath(interp.executable))))
        shutil.copy2(os.path.realpath(interp.host_path(interp.executable)), exe)
        t = Target(interp, THREADS, exe=exe)
        try:
            t.wait_ready()
            path = gcore(t.python_pid, os.path.join(d, 'core'), strict=False)
        finally:
            t.close()
        # Another file at its path (e.g. rebuilt since), then none.
        with open(exe, 'r+b') as f:
            f.seek(64)
            f.write(b'rebuilt')
        pr = []
        p = expect_error(cspy(['dump', '--core', path]), [exe, 'does not match'])
        if p:
            pr.append(p)
        os.unlink(exe)
        p = expect_error(cspy(['dump', '--core', path]), [exe, 'missing'])
        if p:
            pr.append(p)
        size = os.path.getsize(path)
        with open(path, 'r+b') as f:
            f.truncate(size // 2)
        p = expect_error(cspy(['dump', '--core', path]), [path, 'truncated'])
        if p:
            pr.append(p)
        if pr:
            raise Fail('\n'.join(pr))
    finally:
        remove_temp_dir(d)


def check_not_core(s):
    d = make_temp_dir('cspy-e2e-core-')
    try:
        text = os.path.join(d, 'notes.txt')
        with open(text, 'w') as f:
            f.write('not a core\n')
        pr = []
        for path, needles in ((text, [text, 'not an ELF core file']),
                              (e2elib.cspy_path(), ['not a core file']),
                              (os.path.join(d, 'nothing'), ['nothing', 'No such file']),
                              (d, [d, 'directory'])):
            p = expect_error(cspy(['dump', '--core', path]), needles)
            if p:
                pr.append(p)
        if pr:
            raise Fail('\n'.join(pr))
    finally:
        remove_temp_dir(d)


def check_not_python(s):
    d = make_temp_dir('cspy-e2e-core-')
    p = spawn(['sleep', '100'], group=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(0.1)
        path = gcore(p.pid, os.path.join(d, 'core'), strict=False)
        end_process(p, group=True)
        err = expect_error(cspy(['dump', '--core', path]), ['not a Python process', 'sleep'])
        if err:
            raise Fail(err)
    finally:
        end_process(p, group=True)
        remove_temp_dir(d)


def check_options(s):
    pr = []
    for args, needles in ((['--core', 'x', '--pid', '1'], ['not both']),
                          (['--core', 'x', '--subprocesses'], ['--subprocesses']),
                          (['--core', 'x', '--nonblocking'], ['--nonblocking']),
                          (['--pid', '1', '--core-root', '/'], ['--core-root'])):
        p = expect_error(cspy(['dump'] + args), needles, status=2)
        if p:
            pr.append(p)
    res = cspy(['dump', '--help'])
    if res.rc != 0 or '--core FILE' not in res.out or '--core-root DIR' not in res.out:
        pr.append('$ %s\n  exit status %d; expected --core FILE and --core-root DIR in:\n%s'
                  % (res.shown, res.rc, indent(clip(res.out), 4)))
    if pr:
        raise Fail('\n'.join(pr))


def check_no_proc(s):
    """dump --core --native --locals under strace: no file of /proc opened,
    no ptrace, no process_vm_readv (the process is gone; a live process with
    its PID must not be read instead)."""
    if not shutil.which('strace'):
        raise NA('strace is not installed')
    t, path = (s.gcore if core_pattern_na() else s.kernel_core)(THREADS)
    trace = os.path.join(t.dir, 'strace.txt')
    require_cspy()
    # Under the sanitizers: LeakSanitizer stops the world with ptrace at
    # exit, which strace holds (and its runtime reads /proc/self/maps).
    env = dict(os.environ)
    env['ASAN_OPTIONS'] = ':'.join(o for o in [env.get('ASAN_OPTIONS', ''), 'detect_leaks=0'] if o)
    res = cspy(['dump', '--core', path, '--native', '--locals'] + root_args(s.interp),
               prefix=['strace', '-f', '-qq', '-o', trace, '-e',
                       'trace=open,openat,ptrace,process_vm_readv'], env=env)
    with open(trace) as f:
        calls = f.read().split('\n')
    # cspy's own /proc/self (the libc's and the sanitizers' reads) is not the
    # dumped process's.
    bad = [c for c in calls if ('/proc/' in c and '"/proc/self/' not in c and
                                '"/proc/thread-self/' not in c)
           or 'ptrace(' in c or 'process_vm_readv(' in c]
    if res.rc != 0 or bad or len([c for c in calls if c.strip()]) < 3:
        raise Fail('$ %s\n  exit status %d; /proc, ptrace or process_vm_readv used:\n%s\n'
                   '  strace saw %d calls' % (res.shown, res.rc, indent('\n'.join(bad[:10]), 4),
                                              len(calls)))


def check_busy_status(s):
    """gil_busy.py (a thread spinning in Python beside sleepers), by gdb and
    by the kernel: in both cores the spinning thread is active (its
    registers: user space), every other one idle."""
    t = s.target('gil_busy.py')
    cores = []
    try:
        cores.append(s.gcore('gil_busy.py')[1])
    except NA:
        pass
    if not core_pattern_na():
        cores.append(s.kernel_core('gil_busy.py')[1])
    if not cores:
        raise NA('neither a gcore nor a kernel core could be made here')
    names = dict((th['native_id'], th['name']) for th in t.oracle['threads'])
    pr = []
    for path in cores:
        res, tx = dump_core(s, path)
        got = dict((th['tid'], th['status']) for p in tx for th in p['threads'])
        for tid, name in sorted(names.items()):
            want = 'active' if name == 'busy' else 'idle'
            if not got.get(tid, '').startswith(want):
                pr.append('$ %s\n  thread %s "%s": status %r, expected %s'
                          % (res.shown, tid, name, got.get(tid), want))
    if pr:
        raise Fail('\n'.join(pr))


GLOBAL = [
    ('busy_status', check_busy_status),
    ('missing_file', check_missing_file),
    ('no_proc', check_no_proc),
    ('not_core', check_not_core),
    ('not_python', check_not_python),
    ('options', check_options),
]


# --------------------------------------------------------------------------

def run_checks(interp, checks, results):
    s = Session(interp)
    label = interp.label if interp else '-'
    try:
        for name, fn in checks:
            results[(label, name)] = e2elib.run_on(s, label, name, fn, 14)
    finally:
        s.close()


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('--python', action='append', metavar='VERSION', help='only these interpreters')
    ap.add_argument('-j', '--jobs', type=int, default=3,
                    help='interpreters tested in parallel (default 3)')
    ap.add_argument('-v', '--verbose', action='store_true')
    OPTS = ap.parse_args()
    e2elib.OPTS = argparse.Namespace(targets_only=False, verbose=OPTS.verbose, k=OPTS.k)
    e2elib.handle_signals()
    # The targets' kernel cores: inherited by every process started.
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    t0 = time.time()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons(interps, notes, OPTS.python)
    print('cspy dump --core end-to-end tests: %s' % cspy_shown())
    e2elib.use_snapshot()
    e2elib.describe_interps(interps)

    results = {}
    checks = [(n, fn) for n, fn in PER_VERSION if e2elib.selected(n, OPTS.k)]
    todo = []
    for interp in interps:
        if not interp.supported():
            for n, _ in checks:
                results[(interp.label, n)] = ('n/a', 'Python %s is not supported by cspy' % interp.version)
        elif checks:
            todo.append(interp)
    with concurrent.futures.ThreadPoolExecutor(max(1, OPTS.jobs)) as ex:
        for f in [ex.submit(run_checks, i, checks, results) for i in todo]:
            f.result()
    default = e2elib.default_interp([i for i in interps if i.supported() and i.minor >= (3, 0)])
    gnames = [n for n, _ in GLOBAL if e2elib.selected(n, OPTS.k)]
    if gnames and default:
        run_checks(default, [(n, fn) for n, fn in GLOBAL if n in gnames], results)
    elif gnames:
        for n in gnames:
            results[('-', n)] = ('n/a', 'no supported Python 3 interpreter found')
    labels = [i.label for i in interps]
    e2elib.print_table(results, labels, [n for n, _ in checks], gnames,
                       default.label if default else None, default.label if default else '-')
    return e2elib.print_outcome(results, t0, [n for n, _ in PER_VERSION] + [n for n, _ in GLOBAL],
                                notes)


if __name__ == '__main__':
    sys.exit(main())
