#!/usr/bin/env python3
"""End-to-end tests of `--native` (dump, record, top) on every installed CPython.

    python3 tests/e2e/native.py [-k PATTERN] [--python VERSION] [--skip NAME]
                                [--cost] [-v]

Uses the e2e library (tests/e2e/e2elib.py) for interpreter discovery,
process tracking, the target class and the report.

For every interpreter, the C extension tests/targets/native/cspy_native_test.c
is compiled with that interpreter's headers (-O2 -g -fPIC -shared, into a
temporary directory), plus a copy stripped with `strip --strip-all`. The
target tests/targets/native/native_target.py runs <module> -> outer() ->
C burn_then_call(middle) -> C invoke_callback (static) -> Python middle() ->
C spin() (a CPU loop, forever); middle() writes the ORACLE (its Python frames
from traceback.extract_stack(), on the line of the call into C) before it
calls spin(). The C lines are found in the source by their CSPY_* markers.

Per interpreter:
  dump           `dump --native` text: exactly spin (cspy_native_test.c:SPIN),
                 middle, invoke_callback (...:INVOKE), burn_then_call
                 (...:CALL), outer, <module> (Python frames as in the oracle)
  dump_json      the same stack in `dump --native --json` (native flags,
                 module, lines)
  stripped       the stripped build: spin (cspy_native_test.so), middle,
                 cspy_native_test.so+0xOFFSET (cspy_native_test.so)
                 [static: not in .dynsym; OFFSET: its start in the file],
                 burn_then_call (cspy_native_test.so), outer, <module>
  label_stable   the stripped build in two runs: invoke_callback (no symbol)
                 has the same label cspy_native_test.so+0xOFFSET in both
  inline         tests/targets/native/cspy_inline_test.c (-O2 -g, through
                 ctypes, tests/targets/native/inline_target.py): the static
                 inline inner_work is its own frame (its body's line), then
                 outer_spin at the line of the inlined call, then f, <module>
  errors         the C-heavy tests/targets/native/workload.py (threads in
                 zlib, hashlib, json, sorted with a Python key; the main
                 thread recursing): `record --native -v -d 1` has under 1 %
                 errors of the thread samples, -v's "Errors by reason"
                 counts add up to Errors, each thread's oracle frames (root
                 to loop function) are in the profile
  builtin_rule   the same profile: no nameless frame of the interpreter;
                 with symbols (shared builds) compress_loop -> zlib_compress
                 and sort_loop -> builtin_sorted ... -> key; a stripped
                 static build: sort_loop -> key
  perf           3.12+: `errors` under `python -X perf`, and no frame named
                 by an address alone (the trampolines are not shown)
  record         `record -n -f raw -d 2`: spin is the leaf of > 80 % of the
                 samples, the merged stack is the one above, "Errors: 0"
  top            `top --native --duration 2` (stdout a pipe: plain text)
                 shows spin (cspy_native_test.c:SPIN)
Version-independent:
  nonblocking_refused   --native --nonblocking: one error line, exit 2
                        (dump, record, top), before any sampling
  merge_error           a native stack that does not match (unwinding stops
                        in spin_nounwind, whose CFI ends the stack): dump
                        says so and shows the Python frames, record counts
                        errors and adds no stack; both exit 0
  no_libdw              `make NO_LIBDW=1` into build-nolibdw/ builds, does not
                        link libdw, dumps Python stacks, and refuses --native
                        (dump, record, top) saying it was built without libdw

--cost also measures cspy's CPU per sample (`record -v`, 100 Hz, 5 s) with
and without --native on the spinning target, as a table (no pass/fail).

Output: a table check x interpreter, the n/a reasons, the failure details,
and last the line "N passed, N failed" (exit status 1 if any failed).
"""
import argparse
import concurrent.futures
import json
import os
import re
import platform
import shutil
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                      # noqa: E402
from e2elib import (Fail, NA, Stopping, clip, cspy, cspy_shown, indent,  # noqa: E402
                    leftover_stops, make_temp_dir, parse_collapsed, remove_temp_dir)

REPO = e2elib.REPO
NTARGETS = os.path.join(e2elib.TARGETS, 'native')
EXT_SRC = os.path.join(NTARGETS, 'cspy_native_test.c')
EXT_SO = 'cspy_native_test.so'
NOLIBDW_BUILD = 'build-nolibdw'

OPTS = None
COST = {}                 # label -> (python-only us/sample, native us/sample)


def marker_line(marker, src=EXT_SRC):
    with open(src) as f:
        for n, line in enumerate(f, 1):
            if marker in line:
                return n
    raise Fail('marker %s not found in %s' % (marker, src))


# --------------------------------------------------------------------------
# Building the extension

def build_ext(interp, d, stripped):
    """Compile the extension for interp into d; returns its path."""
    out = e2elib.build_ext(interp, EXT_SRC, os.path.join(d, EXT_SO))
    if stripped:
        r = subprocess.run(['strip', '--strip-all', out], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise Fail('strip --strip-all %s failed: %s' % (out, r.stdout.decode()))
        syms = subprocess.run(['nm', out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
        if b'no symbols' not in syms:
            raise Fail('%s still has a symbol table after strip: %s' % (out, clip(syms.decode(), 300)))
    return out


class Session(object):
    """One interpreter, one extension build, one spinning target."""

    def __init__(self, interp, stripped=False, mode=('forever',), pidns=False):
        """pidns: the target runs as PID 1 of its own PID namespace with a
        private /tmp (e2elib's start_in_pid_namespace), the extension in a
        directory outside /tmp."""
        self.interp = interp
        self.ctx = e2elib.Ctx(interp)
        self.dir = make_temp_dir('cspy-native-', e2elib.shared_dir_root() if pidns else None)
        self.ext = build_ext(interp, self.dir, stripped)
        script = os.path.join('native', 'native_target.py')
        if pidns:
            self.target = e2elib.start_in_pid_namespace(self.ctx, script,
                                                        args=[self.dir] + list(mode),
                                                        interp=interp)
        else:
            self.target = self.ctx.start(script, args=[self.dir] + list(mode))
        self.target.runnable = None         # it spins: always running
        if pidns:
            self.oracle = e2elib.pidns_ready(self.target, timeout=30)
        else:
            self.oracle = self.target.wait_ready(timeout=30)
        got = os.path.realpath(self.oracle['extra']['ext'])
        if got != os.path.realpath(self.ext):
            raise Fail('the target loaded %s, not the extension built for it (%s)' % (got, self.ext))

    def close(self):
        self.ctx.close()
        remove_temp_dir(self.dir)


# --------------------------------------------------------------------------
# Expectations

RE_TFRAME = re.compile(r'^    (\S.*?) \(([^()]*?)(?::(\d+))?\)$')
RE_OFFSET = re.compile(r'^%s\+0x[0-9a-f]+$' % re.escape(EXT_SO))


def expected_stack(s, stripped):
    """[(name or regex, file, line or None)] innermost first."""
    py = e2elib.exp_frames(s.oracle['threads'][0])      # innermost first: middle, outer, <module>
    names = [f['name'] for f in py]
    if names[:2] != ['middle', 'outer']:
        raise Fail('unexpected oracle stack %s' % names)
    if stripped:
        c = lambda name: (name, EXT_SO, None)
        mid = (RE_OFFSET, EXT_SO, None)
    else:
        c = lambda name: (name, 'cspy_native_test.c', LINES[name])
        mid = c('invoke_callback')
    pyf = lambda f: (f['name'], f['short'], f['line'])
    return [c('spin'), pyf(py[0]), mid, c('burn_then_call')] + [pyf(f) for f in py[1:]]


def show(stack):
    out = []
    for name, f, line in stack:
        n = name.pattern if hasattr(name, 'pattern') else name
        out.append('%s (%s)' % (n, f if line is None else '%s:%s' % (f, line)))
    return out


def matches(exp, got):
    if len(exp) != len(got):
        return False
    for (en, ef, el), (gn, gf, gl) in zip(exp, got):
        if hasattr(en, 'match'):
            if not en.match(gn):
                return False
        elif en != gn:
            return False
        if ef != gf or el != gl:
            return False
    return True


def stack_problem(what, exp, got):
    if matches(exp, got):
        return None
    return e2elib.frames_diff(what, show(exp), show(got)) or \
        '%s: expected %s, got %s' % (what, show(exp), show(got))


def parse_native_text(out):
    """Frames of the single thread of a `dump --native` text output."""
    frames, threads, other = [], 0, []
    for line in out.split('\n'):
        if line.startswith('Thread '):
            threads += 1
            continue
        m = RE_TFRAME.match(line)
        if m:
            frames.append((m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None))
        elif line.startswith('    '):
            other.append(line)
    return threads, frames, other


def run_dump(s, flags):
    e2elib.settle(s.target)
    res = cspy(['dump', '--pid', s.target.python_pid] + list(flags))
    if res.rc != 0:
        raise Fail('$ %s\n  exit status %d, expected 0\n  stderr: %s'
                   % (res.shown, res.rc, clip(res.err.strip(), 2000)))
    left = leftover_stops(s.target)
    if left:
        raise Fail('$ %s\n  cspy left the target stopped: %s' % (res.shown, left))
    return res


# --------------------------------------------------------------------------
# Per-interpreter checks (each gets a Session)

def check_dump(s, stripped=False):
    res = run_dump(s, ['--native'])
    threads, frames, other = parse_native_text(res.out)
    pr = []
    if threads != 1:
        pr.append('expected 1 thread, got %d' % threads)
    if other:
        pr.append('lines that are not frames: %s' % other)
    p = stack_problem('merged stack', expected_stack(s, stripped), frames)
    if p:
        pr.append(p)
    if pr:
        raise Fail('$ %s\n%s\n  output:\n%s' % (res.shown, indent('\n'.join(pr), 2), indent(res.out)))
    return res.out


def check_stripped(s):
    return check_dump(s, stripped=True)


def check_dump_json(s):
    res = run_dump(s, ['-n', '--json'])
    try:
        doc = json.loads(res.out)
        th = doc[0]
        frames = th['frames']
    except (ValueError, LookupError, TypeError) as e:
        raise Fail('$ %s\n  not the expected JSON (%s):\n%s' % (res.shown, e, indent(clip(res.out))))
    pr = []
    got = [(f['name'], f['short_filename'], f['line'] if f['line'] >= 0 else None) for f in frames]
    p = stack_problem('merged stack (JSON)', expected_stack(s, False), got)
    if p:
        pr.append(p)
    kinds = [f.get('native') for f in frames]
    if kinds != [True, False, True, True] + [False] * (len(frames) - 4):
        pr.append('"native" flags %s, expected native for spin, invoke_callback, burn_then_call only'
                  % kinds)
    for f in frames:
        if f.get('native') and (f.get('module') != EXT_SO or not f.get('filename', '').endswith(
                'cspy_native_test.c') or not isinstance(f.get('address'), int)):
            pr.append('native frame %s: module %r (expected %r), filename %r, address %r'
                      % (f['name'], f.get('module'), EXT_SO, f.get('filename'), f.get('address')))
    if th.get('native_error') is not None:
        pr.append('native_error: %r, expected null' % th.get('native_error'))
    if pr:
        raise Fail('$ %s\n%s' % (res.shown, indent('\n'.join(pr), 2)))


RE_WROTE = re.compile(r"^cspy> Wrote (\S+) data to '(.*)'\. Samples: (\d+) ticks, \d+ thread samples\. Errors: (\d+)$", re.M)
# Steady state: after the start-up (attach, symbols, first sample).
RE_CPU = re.compile(r'^cspy> start-up \(attach, first sample\) ([\d.]+) ms of CPU; '
                    r'then ([\d.]+) us per sample$', re.M)


def record_raw(s, flags, dur='2', env=None):
    d = make_temp_dir('cspy-native-rec-')
    try:
        out = os.path.join(d, 'p.txt')
        res = cspy(['record', '-f', 'raw', '-o', out, '-d', dur] + list(flags) + ['--pid', s.target.python_pid],
                   timeout=60, env=env)
        text = open(out).read() if os.path.exists(out) else None
    finally:
        remove_temp_dir(d)
    if res.rc != 0 or text is None:
        raise Fail('$ %s\n  exit status %d (expected 0), output file %s\n  stderr: %s'
                   % (res.shown, res.rc, 'written' if text is not None else 'missing',
                      clip(res.err.strip(), 2000)))
    m = RE_WROTE.search(res.err)
    if not m:
        raise Fail('$ %s\n  no "Wrote ... Samples: N Errors: M" line\n  stderr: %s'
                   % (res.shown, clip(res.err.strip(), 2000)))
    stacks = [(list(st), count) for st, count in parse_collapsed(text, res.shown)]
    return res, int(m.group(3)), int(m.group(4)), stacks


def label(name, f, line):
    return '%s (%s)' % (name, f if line is None else '%s:%s' % (f, line))


def check_record(s):
    res, samples, errors, stacks = record_raw(s, ['-n'])
    total = sum(c for _, c in stacks)
    spin = sum(c for st, c in stacks if st and st[-1].startswith('spin ('))
    exp = [label(*f) for f in reversed(expected_stack(s, False))]      # root first
    full = sum(c for st, c in stacks if st == exp)
    pr = []
    if errors != 0:
        pr.append('Errors: %d, expected 0' % errors)
    if samples < 20:
        pr.append('only %d samples in 2 s at 100 Hz' % samples)
    if total == 0 or spin * 100 < 80 * total:
        pr.append('spin is the leaf of %d of %d samples, expected > 80 %%' % (spin, total))
    if total and full * 100 < 80 * total:
        pr.append('the full merged stack\n      %s\n    is in %d of %d samples, expected > 80 %%'
                  % (';'.join(exp), full, total))
    if pr:
        top = sorted(stacks, key=lambda sc: -sc[1])[:8]
        raise Fail('$ %s\n%s\n  profile (top stacks):\n%s'
                   % (res.shown, indent('\n'.join(pr), 2),
                      indent('\n'.join('%5d  %s' % (c, ';'.join(st)) for st, c in top), 4)))


def check_top(s):
    res = cspy(['top', '--native', '--duration', '2', '--pid', s.target.python_pid], timeout=60)
    want = 'spin (cspy_native_test.c:%d)' % LINES['spin']
    pr = []
    if res.rc != 0:
        pr.append('exit status %d, expected 0; stderr: %s' % (res.rc, clip(res.err.strip(), 1000)))
    rows = [l for l in res.out.split('\n') if want in l]
    if not rows:
        pr.append('no row %r in the output' % want)
    elif not re.match(r'^\s*(\d+\.\d+)%', rows[-1]) or float(re.match(r'^\s*(\d+\.\d+)%',
                                                                       rows[-1]).group(1)) < 80:
        pr.append('%r has less than 80 %% own time: %r' % (want, rows[-1]))
    if pr:
        raise Fail('$ %s\n%s\n  stdout:\n%s' % (res.shown, indent('\n'.join(pr), 2),
                                                indent(clip(res.out, 3000))))


def check_pidns_dump(s):
    """The target in its own PID namespace (a container): `dump --native`
    gives the exact merged stack (as dump), under the header
    "Thread TID (ns N) (active...)", TID as seen here and N inside."""
    out = check_dump(s)
    th = s.oracle['threads'][0]
    want = 'Thread %d (ns %d) (active' % (th['native_id'], th['ns_native_id'])
    heads = [l for l in out.split('\n') if l.startswith('Thread ')]
    if len(heads) != 1 or not heads[0].startswith(want):
        raise Fail('dump --native --pid %d: thread header %s, expected one starting with %r\n'
                   '  output:\n%s' % (s.target.python_pid, heads, want, indent(out)))
    return out


def measure_cost(s):
    """cspy's CPU per sample at 100 Hz for 5 s, Python only and --native."""
    out = []
    for flags in ([], ['--native']):
        res, samples, errors, _ = record_raw(s, flags + ['-v'], dur='5')
        m = RE_CPU.search(res.err)
        if not m:
            raise Fail('$ %s\n  no CPU line on stderr' % res.shown)
        out.append(float(m.group(2)))
    COST[s.interp.label] = tuple(out)


# --------------------------------------------------------------------------
# The C-heavy workload (tests/targets/native/workload.py): error share,
# reasons, the one rule for the interpreter's frames, -X perf

RE_REASONS = re.compile(r'^cspy> Errors by reason \((\d+)\):$', re.M)
RE_REASON = re.compile(r'^cspy>\s+(\d+)  (\S.*)$', re.M)
RE_RULES = re.compile(r'^cspy: unwind rules check \(pid \d+\): (\d+) stacks by rules, (\d+) by libdwfl '
                      r'alone, (\d+) differed; (\d+) names and (\d+) inlined-callee look-ups from a '
                      r'known function, (\d+) differed$', re.M)
# The unwind-rule cache (native/unwind_dwfl.c) applies where return addresses are plain words
RULES_ARCH = platform.machine() in ('x86_64', 'amd64')
WORK = {}                 # (interp label, pyflags) -> (res, errors, stacks, oracle)


def workload(interp, pyflags=(), attempt=0):
    """record --native -v -d 1 of the workload (once per interpreter, flags
    and attempt: attempt N > 0 is a new recording, for the checks that look
    for stacks a matter of chance in one second): (Result, errors, stacks,
    oracle). With CSPY_UNWIND_RULES=check: every stack unwound by the cached
    unwind rules is unwound by libdwfl too (whose stack is kept), and cspy
    says at the end how many differed (check_error_share)."""
    key = (interp.label, tuple(pyflags), attempt)
    if key not in WORK:
        ctx = e2elib.Ctx(interp)
        try:
            t = ctx.start(os.path.join('native', 'workload.py'), pyflags=pyflags)
            t.runnable = None
            orc = t.wait_ready(timeout=60, exact_tasks=False)
            env = dict(os.environ, CSPY_UNWIND_RULES='check')
            res, _, errors, stacks = record_raw(argparse.Namespace(target=t), ['--native', '-v'],
                                                dur='1', env=env)
            WORK[key] = (res, errors, stacks, orc)
        finally:
            ctx.close()
    return WORK[key]


def check_error_share(interp, pyflags=()):
    """Under 1 % of the thread samples are errors (one error is let pass in a
    run of fewer than 100: a sanitizer build takes 50-70 samples in the
    second, where one error is already 1.5 %); -v counts every error by
    reason (the counts add up to Errors); each thread's Python frames of the
    oracle, from its root to its loop function, are in the profile; the
    stacks the cached unwind rules gave are libdwfl's (none differed, and on
    x86-64 some were given: CSPY_UNWIND_RULES=check, see workload). A thread
    that waits for the GIL is idle when sampled: on a loaded machine one
    second may miss a loop of it, so up to three recordings are taken while
    a frame is missing, their samples and errors added up."""
    errors = kept = 0
    stacks = []
    for attempt in range(3):
        res, more_errors, more, orc = workload(interp, pyflags, attempt)
        stacks.extend(more)
        errors += more_errors
        kept += sum(c for _, c in more)
        pr = []
        head = RE_REASONS.search(res.err)
        counts = [int(m.group(1)) for m in RE_REASON.finditer(res.err)]
        if more_errors and (not head or int(head.group(1)) != more_errors or sum(counts) != more_errors):
            pr.append('Errors: %d, but the reasons printed by -v %s add up to %d'
                      % (more_errors, 'are missing' if not head else '', sum(counts)))
        if not more_errors and head:
            pr.append('no error, but a line "Errors by reason"')
        rules = RE_RULES.search(res.err)
        if rules and int(rules.group(3)):
            pr.append('%s of the stacks unwound by the cached unwind rules differ from libdwfl\'s'
                      % rules.group(3))
        if rules and int(rules.group(6)):
            pr.append('%s of the names or inlined callees found from a known function differ from '
                      'libdwfl\'s and dwarf_getscopes\'' % rules.group(6))
        elif RULES_ARCH and (not rules or not int(rules.group(1))):
            pr.append('no stack was unwound by the cached unwind rules (CSPY_UNWIND_RULES=check: %s)'
                      % (rules.group(0) if rules else 'no line'))
        labels = set(l for st, _ in stacks for l in st)
        loops = ('compress_loop', 'hash_loop', 'json_loop', 'sort_loop', '<module>')
        missing = []
        for th in orc['threads']:
            for f in th['frames']:              # outermost first
                want = '%s (' % f['name']
                base = os.path.basename(f['filename'])
                if not any(l.startswith(want) and base in l for l in labels):
                    missing.append('thread %s: its frame %s (%s) is in no stack'
                                   % (th['name'], f['name'], base))
                if f['name'] in loops:
                    break
        if pr or not missing:
            break
    pr.extend(missing)
    if errors > 1 and errors * 100 >= errors + kept:
        pr.append('Errors: %d of %d thread samples (%.1f %%), expected under 1 %%'
                  % (errors, errors + kept, 100.0 * errors / max(1, errors + kept)))
    if pr:
        top = sorted(stacks, key=lambda sc: -sc[1])[:6]
        raise Fail('$ %s   (%d recordings)\n%s\n  stderr:\n%s\n  profile (top stacks):\n%s'
                   % (res.shown, attempt + 1, indent('\n'.join(pr), 2), indent(clip(res.err, 1500), 4),
                      indent('\n'.join('%5d  %s' % (c, ';'.join(st)) for st, c in top), 4)))
    return errors, kept


def check_errors(s):
    check_error_share(s.interp)


def check_perf(s):
    """python -X perf (3.12+): the perf trampolines are merged through and
    never shown (no frame named by an address alone)."""
    if s.interp.minor < (3, 12):
        raise NA('-X perf (perf trampolines) is 3.12+')
    check_error_share(s.interp, ['-X', 'perf'])
    res, errors, stacks, _ = workload(s.interp, ['-X', 'perf'])
    bare = sorted(set(l for st, _ in stacks for l in st if re.match(r'^0x[0-9a-f]+', l)))
    if bare:
        raise Fail('$ %s\n  frames named by an address (a trampoline shown?): %s' % (res.shown, bare[:5]))


RE_PY_NAMELESS = re.compile(r'^(python|libpython)[\d.]+[a-z]*(\.so[\d.]*)?\+0x')


def check_builtin_rule(s):
    """One rule for the interpreter's frames on static and shared builds:
    its named functions are shown between eval calls as an extension's are
    (shared pyenv builds: sort_loop -> builtin_sorted ... -> key; zlib's
    zlib_compress under compress_loop, built in or not), its nameless ones
    never (a distribution's stripped static build: sort_loop -> key). The
    stacks sought are a matter of chance in one second (the thread may be
    waiting for the GIL whenever it is sampled): up to five recordings,
    their stacks together (three were seen to miss sort_loop's key under
    load, on a plain and on a sanitizer build)."""
    exe = s.interp.host_path(s.interp.executable)
    sections = subprocess.run(['readelf', '-S', '-W', exe], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE).stdout.decode('utf-8', 'replace')
    has_syms = s.interp.shared or '.symtab' in sections
    stacks = []

    def follows(a, b, between=None):
        for st, _ in stacks:
            for i in range(len(st) - 1):
                if st[i].startswith(a + ' ('):
                    rest = st[i + 1:]
                    j = next((k for k, l in enumerate(rest) if l.startswith(b + ' (')), None)
                    if j is not None and (between is None or any(l.startswith(between + ' (')
                                                                 for l in rest[:j])):
                        if between is not None or j == 0:
                            return True
        return False

    for attempt in range(5):
        res, errors, more, _ = workload(s.interp, (), attempt)
        stacks.extend(more)
        pr = []
        if has_syms:
            if not (follows('compress_loop', 'zlib_compress') or
                    follows('compress_loop', 'PyZlib_compress')):           # 2.7's name
                pr.append('no stack with compress_loop -> zlib_compress')
            if not follows('sort_loop', 'key', between='builtin_sorted'):
                pr.append('no stack with sort_loop -> builtin_sorted ... -> key')
        elif not follows('sort_loop', 'key'):
            pr.append('no stack with sort_loop -> key (the stripped interpreter\'s frames hidden)')
        if not pr:
            break
    nameless = sorted(set(l for st, _ in stacks for l in st if RE_PY_NAMELESS.match(l)))
    if nameless:
        pr.append('nameless frames of the interpreter shown: %s' % nameless[:5])
    if pr:
        top = sorted(stacks, key=lambda sc: -sc[1])[:8]
        raise Fail('$ %s   (%d recordings)\n%s\n  profile (top stacks):\n%s'
                   % (res.shown, attempt + 1, indent('\n'.join(pr), 2),
                      indent('\n'.join('%5d  %s' % (c, ';'.join(st)) for st, c in top), 4)))


def check_label_stable(s):
    """A function without a symbol (the stripped build's static
    invoke_callback) has the same label, module+0xOFFSET, in two runs."""
    first = check_dump(s, stripped=True)
    t2 = s.ctx.start(os.path.join('native', 'native_target.py'), args=[s.dir, 'forever'])
    t2.runnable = None
    t2.wait_ready(timeout=30)
    res = run_dump(argparse.Namespace(target=t2), ['--native'])
    got = []
    for out in (first, res.out):
        _, frames, _ = parse_native_text(out)
        got.append(frames[2][0] if len(frames) > 2 else None)
    if got[0] != got[1] or not got[0] or not RE_OFFSET.match(got[0]):
        raise Fail('invoke_callback (no symbol) labelled %r in one run and %r in the next; '
                   'expected one label %s+0xOFFSET\n  second run:\n%s'
                   % (got[0], got[1], EXT_SO, indent(res.out)))


INLINE_SRC = os.path.join(NTARGETS, 'cspy_inline_test.c')


def check_inline(s):
    """A static inline function (inner_work, inlined into outer_spin of a
    library built -O2 -g, called through ctypes) is a frame of its own:
    inner_work (cspy_inline_test.c:LINE in its body), then outer_spin at the
    line of the call it was inlined at, then the Python frames."""
    lib = os.path.join(s.dir, 'libcspy_inline_test.so')
    cmd = [os.environ.get('CC') or 'cc', '-O2', '-g', '-fPIC', '-shared', '-o', lib, INLINE_SRC]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0:
        raise Fail('$ %s\n  failed:\n%s' % (' '.join(cmd), indent(r.stdout.decode('utf-8', 'replace'))))
    t = s.ctx.start(os.path.join('native', 'inline_target.py'), args=[lib])
    t.runnable = None
    orc = t.wait_ready(timeout=30)
    res = run_dump(argparse.Namespace(target=t), ['--native'])
    _, frames, _ = parse_native_text(res.out)
    first, last = marker_line('CSPY_INNER_FIRST', INLINE_SRC), marker_line('CSPY_INNER_LAST', INLINE_SRC)
    call = marker_line('CSPY_OUTER_CALL', INLINE_SRC)
    src = os.path.basename(INLINE_SRC)
    py = [f['name'] for f in e2elib.exp_frames(orc['threads'][0])]
    pr = []
    if len(frames) < 2 or frames[0][:2] != ('inner_work', src) or not (
            frames[0][2] and first <= frames[0][2] <= last):
        pr.append('innermost frame %s, expected inner_work (%s:%d..%d)'
                  % (show(frames[:1]), src, first, last))
    if len(frames) < 2 or frames[1] != ('outer_spin', src, call):
        pr.append('second frame %s, expected outer_spin (%s:%d)' % (show(frames[1:2]), src, call))
    names = [f[0] for f in frames]
    if names[-len(py):] != py:
        pr.append('outermost frames %s, expected the Python frames %s' % (names[-len(py):], py))
    if pr:
        raise Fail('$ %s\n%s\n  output:\n%s' % (res.shown, indent('\n'.join(pr), 2), indent(res.out)))


PER_VERSION = [
    ('dump', check_dump, False),
    ('dump_json', check_dump_json, False),
    ('record', check_record, False),
    ('top', check_top, False),
    ('stripped', check_stripped, True),
    ('label_stable', check_label_stable, True),
    ('errors', check_errors, False),
    ('inline', check_inline, False),
    ('builtin_rule', check_builtin_rule, False),
    ('perf', check_perf, False),
    ('pidns_dump', check_pidns_dump, 'pidns'),
    ('pidns_record', check_record, 'pidns'),
]


# --------------------------------------------------------------------------
# Version-independent checks

def expect_refusal(res, needles, code=2):
    lines = [l for l in res.err.strip().split('\n') if l]
    pr = []
    if res.rc != code:
        pr.append('exit status %s, expected %d' % (res.rc, code))
    if len(lines) != 1 or not lines[0].startswith('cspy: error: '):
        pr.append('expected one line "cspy: error: ..." on stderr, got %r' % res.err)
    for n in needles:
        if n not in res.err:
            pr.append('stderr does not say %r' % n)
    if res.out.strip():
        pr.append('unexpected stdout: %r' % clip(res.out, 300))
    return ['$ %s\n%s' % (res.shown, indent('\n'.join(pr), 2))] if pr else []


def refusal_commands(pid, d):
    return [
        ['dump', '--native', '--pid', pid],
        ['record', '-n', '-f', 'raw', '-o', os.path.join(d, 'x.txt'), '-d', '5', '--pid', pid],
        ['top', '--native', '-d', '5', '--pid', pid],
    ]


def check_nonblocking_refused(s):
    d = make_temp_dir('cspy-native-nb-')
    pr = []
    try:
        for args in refusal_commands(s.target.pid, d):
            args = args[:1] + ['--nonblocking'] + args[1:]
            t0 = time.time()
            res = cspy(args)
            pr += expect_refusal(res, ['--native', '--nonblocking', 'paused'])
            if time.time() - t0 > 2:
                pr.append('$ %s\n  took %.1f s: the refusal must come before sampling'
                          % (res.shown, time.time() - t0))
        if os.path.exists(os.path.join(d, 'x.txt')):
            pr.append('record wrote an output file although it refused')
    finally:
        remove_temp_dir(d)
    if pr:
        raise Fail('\n'.join(pr))


def check_no_libdw(s):
    build = os.path.join(REPO, NOLIBDW_BUILD)
    cmd = ['make', '-s', '-j2', 'BUILD=' + NOLIBDW_BUILD, 'NO_LIBDW=1', NOLIBDW_BUILD + '/cspy']
    if os.environ.get('WERROR'):
        cmd.insert(4, 'WERROR=' + os.environ['WERROR'])
    r = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    if r.returncode != 0:
        raise Fail('$ %s\n  failed:\n%s' % (' '.join(cmd), indent(clip(r.stdout.decode('utf-8', 'replace')))))
    exe = os.path.join(build, 'cspy')
    pr = []
    dyn = subprocess.run(['readelf', '-d', exe], stdout=subprocess.PIPE).stdout.decode()
    if 'libdw' in dyn:
        pr.append('%s links libdw:\n%s' % (exe, indent(dyn)))
    d = make_temp_dir('cspy-native-nolibdw-')
    try:
        for args in refusal_commands(s.target.pid, d):
            res = cspy(args, exe=exe)
            pr += expect_refusal(res, ['--native is not available in this build of cspy '
                                       '(built without libdw)'])
        res = cspy(['dump', '--pid', s.target.pid], exe=exe)
        _, frames, _ = parse_native_text(res.out)
        want = [(f['name'], f['short'], f['line']) for f in e2elib.exp_frames(s.oracle['threads'][0])]
        if res.rc != 0 or frames != want:
            pr.append('$ %s\n  exit status %d; expected the Python stack %s, got %s\n  stderr: %s'
                      % (res.shown, res.rc, show(want), show(frames), clip(res.err, 500)))
    finally:
        remove_temp_dir(d)
    if pr:
        raise Fail('\n'.join(pr))


def check_merge_error(s):
    """A thread whose native stack does not match its Python stack (here:
    unwinding stops in spin_nounwind, whose CFI marks the end of the stack):
    dump says so and shows the Python frames; record counts errors, adds no
    stack, and exits 0. Never a crash."""
    n = Session(s.interp, mode=('nounwind',))
    try:
        pr = []
        res = run_dump(n, ['--native'])
        threads, frames, other = parse_native_text(res.out)
        want = [(f['name'], f['short'], f['line']) for f in e2elib.exp_frames(n.oracle['threads'][0])]
        note = '    <no native stack: the native and Python stacks did not match>'
        if other != [note] or frames != want:
            pr.append('$ %s\n  expected the line %r and the Python stack %s\n  output:\n%s'
                      % (res.shown, note, show(want), indent(res.out)))
        res, samples, errors, stacks = record_raw(n, ['--native'])
        if errors < 10 or errors > samples or stacks:
            pr.append('$ %s\n  Samples: %d Errors: %d, %d stacks in the profile; expected errors '
                      '(at least 10, at most the samples) and no stack' % (res.shown, samples, errors,
                                                                           len(stacks)))
        if pr:
            raise Fail('\n'.join(pr))
    finally:
        n.close()


GLOBAL = [
    ('nonblocking_refused', check_nonblocking_refused),
    ('merge_error', check_merge_error),
    ('no_libdw', check_no_libdw),
]


# --------------------------------------------------------------------------

def run_checks(interp, checks, stripped, results, stacks, pidns=False):
    """Run checks (name, fn) on one Session; a failure to set it up fails
    (or n/a's) every one of them."""
    s = None
    try:
        s = Session(interp, stripped=stripped, pidns=pidns)
    except (Fail, NA, Stopping) as e:
        st = 'n/a' if isinstance(e, NA) else 'FAIL'
        for name, _ in checks:
            results[(interp.label, name)] = (st, str(e))
        return
    except Exception:
        for name, _ in checks:
            results[(interp.label, name)] = ('FAIL', 'internal error of the test:\n' + traceback.format_exc())
        return
    try:
        for name, fn in checks:
            t0 = time.time()
            try:
                r = fn(s)
                if isinstance(r, str) and name in ('dump', 'stripped', 'pidns_dump'):
                    stacks[(interp.label, name)] = r
                results[(interp.label, name)] = ('ok', None)
            except NA as e:
                results[(interp.label, name)] = ('n/a', str(e))
            except Fail as e:
                results[(interp.label, name)] = ('FAIL', str(e))
            except Stopping:
                results[(interp.label, name)] = ('FAIL', 'interrupted')
            except Exception:
                results[(interp.label, name)] = ('FAIL', 'internal error of the test:\n' +
                                                 traceback.format_exc())
            e2elib.note_time(interp.label, name, t0)
            if OPTS.verbose:
                sys.stderr.write('%-5s %-10s %-22s %.1fs\n' % (results[(interp.label, name)][0],
                                                               interp.label, name, time.time() - t0))
    finally:
        s.close()


def selected(name):
    """-k selects it and --skip does not leave it out."""
    return name not in (OPTS.skip or []) and e2elib.selected(name, OPTS.k)


def main():
    global OPTS, LINES
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('--skip', action='append', metavar='NAME', help='leave out this check (repeatable)')
    ap.add_argument('--python', action='append', metavar='VERSION', help='only these interpreters')
    ap.add_argument('--cost', action='store_true', help='also measure CPU per sample with and without --native')
    ap.add_argument('--show', action='store_true', help='print the merged stacks seen by `dump --native`')
    ap.add_argument('-j', '--jobs', type=int, default=2,
                    help='interpreters checked in parallel (default 2)')
    ap.add_argument('-v', '--verbose', action='store_true')
    OPTS = ap.parse_args()
    e2elib.OPTS = argparse.Namespace(targets_only=False, verbose=OPTS.verbose, k=None)
    e2elib.handle_signals()
    LINES = {'spin': marker_line('CSPY_SPIN_LINE'), 'invoke_callback': marker_line('CSPY_INVOKE_LINE'),
             'burn_then_call': marker_line('CSPY_CALL_LINE')}

    t0 = time.time()
    interps, notes = e2elib.discover()
    interps = e2elib.select_pythons(interps, notes, OPTS.python)
    print('cspy --native end-to-end tests: %s' % cspy_shown())
    e2elib.use_snapshot()
    if not shutil.which(os.environ.get('CC') or 'cc'):
        print('NOTE: no C compiler: every per-version check fails')
    e2elib.describe_interps(interps)

    results, stacks = {}, {}
    checks = [(n, fn) for n, fn, _ in PER_VERSION if selected(n)]

    def one_interp(interp):
        """Every per-version check of one interpreter (its own sessions,
        extension builds and temporary directories: interpreters can run
        side by side)."""
        if not interp.supported():
            for n, _ in checks:
                results[(interp.label, n)] = ('n/a', 'Python %s is not supported by cspy' % interp.version)
            return
        plain = [(n, fn) for n, fn, st in PER_VERSION if st is False and selected(n)]
        strip = [(n, fn) for n, fn, st in PER_VERSION if st is True and selected(n)]
        pidns = [(n, fn) for n, fn, st in PER_VERSION if st == 'pidns' and selected(n)]
        if OPTS.cost:
            plain.append(('cost', measure_cost))
        if plain:
            run_checks(interp, plain, False, results, stacks)
        if strip:
            run_checks(interp, strip, True, results, stacks)
        if pidns:
            run_checks(interp, pidns, False, results, stacks, pidns=True)

    jobs = 1 if OPTS.cost else max(1, OPTS.jobs)     # --cost measures: alone
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for f in [ex.submit(one_interp, i) for i in interps]:
            f.result()
    supported = [i for i in interps if i.supported() and i.minor >= (3, 0)]
    default = e2elib.default_interp(supported)
    gnames = [n for n, _ in GLOBAL if selected(n)]
    if gnames and default:
        run_checks(default, [(n, fn) for n, fn in GLOBAL if selected(n)], False, results, stacks)
    elif gnames:
        for n in gnames:
            results[('-', n)] = ('n/a', 'no supported Python 3 interpreter found')

    labels = [i.label for i in interps]
    names = [n for n, _ in checks] + (['cost'] if OPTS.cost else [])
    e2elib.print_table(results, labels, names, gnames, default.label if default else None,
                       default.label if default else '-')
    if OPTS.show and stacks:
        print()
        print('merged stacks (dump --native):')
        for (l, n), out in sorted(stacks.items()):
            print('  [%s, %s]' % (l, n))
            print(indent('\n'.join(x for x in out.split('\n') if x.startswith('    ')), 2))
    if COST:
        print()
        print('cspy CPU per sample after start-up (record -v, 100 Hz, 5 s, one spinning thread):')
        print('  %-10s %12s %12s %8s' % ('python', 'Python-only', '--native', 'ratio'))
        for l in labels:
            if l in COST:
                a, b = COST[l]
                print('  %-10s %9.1f us %9.1f us %7.1fx' % (l, a, b, b / a if a else 0))
    return e2elib.print_outcome(results, t0, [n for n, _, _ in PER_VERSION] + [n for n, _ in GLOBAL], notes)


if __name__ == '__main__':
    sys.exit(main())
