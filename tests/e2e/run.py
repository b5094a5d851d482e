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

This file holds the dump checks only; the machinery every suite shares
(processes, interpreters, targets and their oracles, the driver and the
report) is tests/e2e/e2elib.py.
"""
import argparse
import concurrent.futures
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                                    # noqa: E402
from e2elib import (CSPY_TIMEOUT, Ctx, FFFD, Fail, NA, REPO, SUBINTERP_NA, TARGETS, Target,  # noqa: E402
                    alive, busy_expected, busy_frames_problems, clip, cspy, cspy_path,
                    cspy_shown, default_interp, describe_interps, discover, end_process,
                    end_tracer, exp_frames, fmt, forget_temp_dir, frames_diff, handle_signals,
                    indent, leftover_stops, make_temp_dir, na_before, parse_text, pidns_ready,
                    print_outcome, print_table, proc_stat, remove_temp_dir, require_cspy,
                    run_cmd, run_one, select_pythons, selected, settle, shown_version, spawn,
                    start_in_pid_namespace, stopped_tasks, subinterp_oracle, target_env, tasks,
                    tracer_of, untrack, use_snapshot)


# --------------------------------------------------------------------------
# Comparing dump's output with the oracle

SHORT_REPR = 40          # reprs up to this long must match exactly; longer may be truncated
STATUSES = ('idle', 'active', 'active+gil', 'idle+gil')


def json_by_pid(threads):
    out = {}
    for t in threads:
        out.setdefault(t.get('pid'), []).append(t)
    return out


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
                # py-spy's label: "Parent Process PPID: CMDLINE".
                pcmd = [' '.join(q['cmdline']) for q in oracles if q['pid'] == o['ppid']]
                if p['parent'] != o['ppid'] or (pcmd and p['parent_cmdline'] != pcmd[0]):
                    problems.append('process %d: expected a line "Parent Process %d: %s", got '
                                    'parent %r, command line %r'
                                    % (o['pid'], o['ppid'], pcmd[0] if pcmd else '...',
                                       p['parent'], p['parent_cmdline']))
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
        m = re.search(r'Samples: (\d+) ticks, \d+ thread samples\. Errors: (\d+)', res.err)
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


def check_version(ctx):
    res = cspy(['--version'])
    problems = []
    if res.rc != 0:
        problems.append('exit status %d, expected 0' % res.rc)
    # "cspy X.Y.Z", then the build's features, "key: value" each (every
    # kind of build: tests/e2e/static.py's version).
    m = re.match(r'^cspy (\d+\.\d+\.\d+)\n(native unwinding|linking|architecture|compiler): ', res.out)
    if not m:
        problems.append('stdout expected "cspy X.Y.Z" then the build\'s features, got %r' % res.out)
    elif e2elib.makefile_version() and m.group(1) != e2elib.makefile_version():
        problems.append('version %s, Makefile says %s' % (m.group(1), e2elib.makefile_version()))
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
              '--full-filenames', '--qualname', '--threads', 'hexadecimal', 'Parent Process'):
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


def check_dump_option_forms(ctx):
    """--pid in hexadecimal (py-spy 0.4.1) as --pid X, --pid=X and -pX;
    --threads accepted (guides for py-spy write it); a flag given a value,
    and a bad PID, refused in one line."""
    t = ctx.start('nested.py')
    oracle = t.wait_ready()
    check_sanity(oracle, spec_nested(ctx.interp))
    require_cspy()
    hx = hex(oracle['pid'])
    for args in (['dump', '--pid', hx], ['dump', '--pid=' + hx, '--threads'],
                 ['dump', '-p' + hx.upper().replace('X', 'x'), '--threads', '--json'],
                 ['dump', '--threads', '--pid=%d' % oracle['pid'], '-j']):
        settle(t)
        res = e2elib.cspy(args)
        problems = []
        if res.rc != 0:
            problems.append('exit status %d, expected 0' % res.rc)
        elif '--json' in args or '-j' in args:
            compare_json(oracle, json_by_pid(json.loads(res.out)).get(oracle['pid'], []), problems)
        else:
            procs = e2elib.parse_text(res.out)
            if [p['pid'] for p in procs] != [oracle['pid']]:
                problems.append('expected one "Process %d" section' % oracle['pid'])
            else:
                compare_text(oracle, procs[0], problems)
        left = e2elib.leftover_stops(t)
        if left:
            problems.append('target left stopped: %s' % left)
        ctx.problem(res, problems)
    for args, needles in ((['dump', '--pid', hx, '--json=yes'], ["'--json' takes no value"]),
                          (['dump', '--pid', '0x'], ["invalid PID '0x'", 'hexadecimal']),
                          (['dump', '--pid=0xfffffffff'], ['invalid PID', 'hexadecimal'])):
        res = e2elib.cspy(args)
        lines = [l for l in res.err.split('\n') if l]
        if res.rc != 2 or len(lines) != 1 or not all(n in res.err for n in needles):
            ctx.problem(res, ['expected exit status 2 and one line with %s; got %d, stderr %r'
                              % (needles, res.rc, res.err)])
    ctx.finish()


def check_filter_help(ctx):
    """record's and top's --help name the filters and say what a REGEX is
    (a POSIX extended regular expression); -F/--function is a flag there."""
    for cmd in ('record', 'top'):
        res = e2elib.cspy([cmd, '--help'])
        problems = []
        flat = ' '.join(res.out.split())
        for n in ('--match-function REGEX', '--include REGEX', '--exclude REGEX',
                  'POSIX extended regular expression'):
            if n not in flat:
                problems.append('%s --help does not say %r' % (cmd, n))
        if re.search(r'--function [A-Z]', res.out):
            problems.append('%s --help shows --function with a value' % cmd)
        ctx.problem(res, problems)
    ctx.finish()


# Completion scripts: `cspy completions SHELL`.

def help_options(cmd):
    """Every option `cspy CMD --help` lists: ['--pid', '-p', ...]."""
    res = e2elib.cspy([cmd, '--help'])
    if res.rc != 0:
        raise Fail('$ %s\n  exit status %d' % (res.shown, res.rc))
    opts = []
    for line in res.out.split('\n'):
        m = re.match(r'^  (?:(-\w), )?(--[\w-]+)|^      (--[\w-]+)', line)
        if m:
            opts += [o for o in m.groups() if o]
    if '--help' not in opts or len(opts) < 4:
        raise Fail('$ %s\n  found only %s in the help' % (res.shown, opts))
    return opts


# The commands with options of their own (completions and help are py-spy's
# and have none), from cspy --help.
def commands():
    return [c for c in e2elib.help_commands() if c not in PYSPY_COMMANDS]


def completion_script(ctx, shell):
    d = e2elib.make_temp_dir('cspy-compl-')
    res = e2elib.cspy(['completions', shell])
    if res.rc != 0 or not res.out:
        raise Fail('$ %s\n  exit status %d, stderr %r' % (res.shown, res.rc, res.err))
    path = os.path.join(d, 'cspy.' + shell)
    with open(path, 'w') as f:
        f.write(res.out)
    return res, path


def script_sections(shell, text):
    """{command: the part of the script about it}."""
    out = {}
    for c in commands():
        if shell == 'bash':
            m = re.search(r'\) cmd=%s\n(.*?);;' % c, text, re.S)
        elif shell == 'zsh':
            m = re.search(r'^_cspy_%s\(\) \{\n(.*?)^\}' % c, text, re.S | re.M)
        else:
            m = re.search(r'((?:^complete .*__fish_seen_subcommand_from [a-z ]*\b%s\'.*\n)+)' % c,
                          text, re.M)
        out[c] = m.group(1) if m else ''
    return out


def option_problems(shell, text):
    problems = []
    secs = script_sections(shell, text)
    for c in commands():
        for o in help_options(c):
            if shell == 'fish':
                pat = (r'-l %s\b' % re.escape(o[2:])) if o.startswith('--') else (r'-s %s\b' % o[1])
            elif shell == 'zsh':
                pat = r"'\*%s[=+\[]" % re.escape(o)
            else:
                pat = r'(?:"| )%s(?:"| )' % re.escape(o)
            if not re.search(pat, secs[c]):
                problems.append('%s: %s %s is not in the script' % (shell, c, o))
    if shell == 'fish':
        for line in text.split('\n'):
            if line.endswith("-d ''"):
                problems.append('fish: an option without its help line: %s' % line)
    for w in e2elib.help_commands():
        if w not in text:
            problems.append('%s: command %s is not in the script' % (shell, w))
    return problems


def check_completions_bash(ctx):
    """The bash script: every option of every command's --help in it, `bash -n`,
    and real completions (COMP_WORDS/COMP_CWORD set, _cspy called)."""
    require_cspy()
    res, path = completion_script(ctx, 'bash')
    problems = option_problems('bash', res.out)
    cases = [(['cspy', 'record', '--r'], ['--rate']), (['cspy', 'rec', '--ra'], ['--rate']),
             (['cspy', ''], e2elib.help_commands()),
             (['cspy', 'dump', '--th'], ['--threads', '--thread']), (['cspy', 'top', '--match'], ['--match-function']),
             (['cspy', 'record', '-f', 'sp'], ['speedscope']),
             (['cspy', 'record', '--format', '=', 'ch'], ['chrometrace']),
             (['cspy', 'completions', ''], ['bash', 'zsh', 'fish']),
             (['cspy', 'record', '--', 'python', '--r'], [])]
    script = ['set -u', 'source %s' % path]
    for words, _ in cases:
        script.append('COMP_WORDS=(%s); COMP_CWORD=%d; COMPREPLY=(); _cspy; echo "${COMPREPLY[*]}"'
                      % (' '.join("'%s'" % w for w in words), len(words) - 1))
    for args in (['bash', '-n', path], ['bash', '-c', '\n'.join(script)]):
        r = run_plain(args)
        if r.returncode != 0:
            problems.append('$ %s: exit status %d, stderr %r' % (' '.join(args[:2]), r.returncode, r.stderr))
    out = r.stdout.split('\n')
    for i, (words, want) in enumerate(cases):
        got = out[i].split() if i < len(out) else None
        if got is None or sorted(got) != sorted(want):
            problems.append('completing %r: expected %s, got %s' % (' '.join(words), want, got))
    ctx.problem(res, problems)
    ctx.finish()


def run_plain(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=30)


def check_completions_zsh(ctx):
    """The zsh script: every option in it, `zsh -n`."""
    if not shutil.which('zsh'):
        raise NA('zsh is not installed (apt-get install zsh)')
    require_cspy()
    res, path = completion_script(ctx, 'zsh')
    problems = option_problems('zsh', res.out)
    if not res.out.startswith('#compdef cspy\n'):
        problems.append('the script does not start with "#compdef cspy"')
    r = run_plain(['zsh', '-n', path])
    if r.returncode != 0:
        problems.append('zsh -n: exit status %d, stderr %r' % (r.returncode, r.stderr))
    ctx.problem(res, problems)
    ctx.finish()


def check_completions_fish(ctx):
    """The fish script: every option in it, `fish -n`, and real completions
    (complete -C)."""
    if not shutil.which('fish'):
        raise NA('fish is not installed (apt-get install fish)')
    require_cspy()
    res, path = completion_script(ctx, 'fish')
    problems = option_problems('fish', res.out)
    r = run_plain(['fish', '-n', path])
    if r.returncode != 0:
        problems.append('fish -n: exit status %d, stderr %r' % (r.returncode, r.stderr))
    r = run_plain(['fish', '--no-config', '-c', 'source %s; complete -C "cspy record --ra"; '
                   'complete -C "cspy dump --th"' % path])
    got = [l.split('\t')[0] for l in r.stdout.split('\n') if l]
    if got != ['--rate', '--thread', '--threads']:
        problems.append('fish complete -C: expected --rate, --thread, --threads, got %s (stderr %r)'
                        % (got, r.stderr))
    ctx.problem(res, problems)
    ctx.finish()


def check_completions_install(ctx):
    """make install DESTDIR=D PREFIX=/usr: the binary and the three scripts
    where bash-completion, zsh and fish look for them."""
    require_cspy()
    d = e2elib.make_temp_dir('cspy-install-')
    build = os.environ.get('BUILD') or 'build'
    # -o: install the binary under test as it is, never rebuild it (BUILD=build-san)
    r = run_plain(['make', '-s', '-C', REPO, '-o', build + '/cspy', 'install', 'DESTDIR=' + d,
                   'PREFIX=/usr', 'BUILD=' + build])
    problems = []
    if r.returncode != 0:
        problems.append('make install: exit status %d, stderr %r' % (r.returncode, r.stderr[-2000:]))
    for rel, shell in (('usr/bin/cspy', None),
                       ('usr/share/bash-completion/completions/cspy', 'bash'),
                       ('usr/share/zsh/site-functions/_cspy', 'zsh'),
                       ('usr/share/fish/vendor_completions.d/cspy.fish', 'fish')):
        path = os.path.join(d, rel)
        if not os.path.isfile(path):
            problems.append('make install: no %s' % rel)
        elif shell:
            with open(path) as f:
                got = f.read()
            if got != e2elib.cspy(['completions', shell]).out:
                problems.append('%s differs from `cspy completions %s`' % (rel, shell))
    ctx.problem(None, problems)
    ctx.finish()


# docs/cli.md's table of py-spy 0.4's flags.

# py-spy 0.4.2's flags (its src/config.rs): command -> [(short, long, takes a value)].
PYSPY_04 = {
    'py-spy': [('-h', '--help', False), ('-V', '--version', False)],
    'record': [('-p', '--pid', True), ('', '--full-filenames', False), ('-o', '--output', True),
               ('-f', '--format', True), ('-d', '--duration', True), ('-r', '--rate', True),
               ('-s', '--subprocesses', False), ('-F', '--function', False),
               ('', '--nolineno', False), ('-t', '--threads', False), ('-g', '--gil', False),
               ('-i', '--idle', False), ('', '--capture', False), ('', '--hideprogress', False),
               ('-n', '--native', False), ('', '--nonblocking', False), ('-h', '--help', False)],
    'top': [('-p', '--pid', True), ('-r', '--rate', True), ('-s', '--subprocesses', False),
            ('', '--full-filenames', False), ('-g', '--gil', False), ('-i', '--idle', False),
            ('', '--delay', True), ('-n', '--native', False), ('', '--nonblocking', False),
            ('-h', '--help', False)],
    'dump': [('-p', '--pid', True), ('-c', '--core', True), ('', '--full-filenames', False),
             ('-l', '--locals', False), ('-j', '--json', False), ('-s', '--subprocesses', False),
             ('-n', '--native', False), ('', '--nonblocking', False), ('-h', '--help', False)],
}
PYSPY_COMMANDS = ('completions', 'help')
VALUES = {'PID': '1', 'FILE': 'x.out', 'FORMAT': 'raw', 'S': '1', 'N': '100', 'REGEX': 'x'}


def parse_cell(cell):
    """`CMD FLAGS [VALUE]` -> (command, [flags], value placeholder or None),
    or None for a cell without one."""
    m = re.match(r'^`([^`]*)`', cell.strip())
    if not m:
        return None
    words = m.group(1).replace(',', ' ').split()
    cmd, rest = words[0], words[1:]
    flags = [w for w in rest if w.startswith('-')]
    other = [w for w in rest if not w.startswith('-')]
    return cmd, flags, other


def read_flag_table():
    with open(os.path.join(REPO, 'docs', 'cli.md')) as f:
        text = f.read()
    m = re.search(r"^## py-spy 0\.4's flags\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        raise Fail("docs/cli.md: no section \"## py-spy 0.4's flags\"")
    rows = []
    for line in m.group(1).split('\n'):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 3 and cells[0].startswith('`'):
            rows.append((line, parse_cell(cells[0]), parse_cell(cells[1]), cells[2]))
    return rows


def check_cli_table(ctx):
    """docs/cli.md: every py-spy 0.4 flag has a row, and every flag of the cspy
    column parses: `cspy CMD FLAG [VALUE] --help` (and --flag=VALUE) prints
    the command's help and exits 0."""
    require_cspy()
    rows = read_flag_table()
    problems = []
    have = set()
    for line, py, cs, status in rows:
        if py:
            for f in py[1]:
                have.add((py[0], f))
            if py[0] == 'py-spy' and py[2]:
                have.add(('py-spy', py[2][0]))
        if cs is None:
            if not status.startswith('not yet') and '—' not in line:
                problems.append('row without a cspy cell or "—": %s' % line)
            continue
        cmd, flags, other = cs
        value = other[0] if other else None
        runs = []
        if cmd == 'cspy' and not flags:            # a command: `cspy completions SHELL`
            runs.append([{'SHELL': 'bash', '[COMMAND]': 'record'}.get(w, w) for w in other])
        elif cmd == 'cspy':
            runs += [[f] for f in flags]
        else:
            v = VALUES.get(value) if value else None
            if value and v is None:
                problems.append('no sample value for %s in: %s' % (value, line))
                continue
            for f in flags:
                runs.append([cmd, f] + ([v] if v else []) + ['--help'])
                if v and f.startswith('--'):
                    runs.append([cmd, '%s=%s' % (f, v), '--help'])
        for args in runs:
            res = e2elib.cspy(args)
            if res.rc != 0 or not res.out.strip():
                problems.append('docs/cli.md row %s\n  $ %s: exit status %d, stderr %r'
                                % (line.strip(), res.shown, res.rc, res.err))
    for cmd, flags in sorted(PYSPY_04.items()):
        for short, long_, _ in flags:
            for f in (short, long_):
                if f and (cmd, f) not in have:
                    problems.append('docs/cli.md: no row for py-spy 0.4\'s %s %s' % (cmd, f))
    for c in PYSPY_COMMANDS:
        if ('py-spy', c) not in have:
            problems.append('docs/cli.md: no row for py-spy 0.4\'s command %s' % c)
    ctx.problem(None, problems)
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
        forget_temp_dir(d)
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
    ('dump_option_forms', check_dump_option_forms),
    ('completions_bash', check_completions_bash),
    ('completions_zsh', check_completions_zsh),
    ('completions_fish', check_completions_fish),
    ('completions_install', check_completions_install),
    ('cli_table', check_cli_table),
    ('filter_help', check_filter_help),
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

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN',
                    help='run only checks whose name contains PATTERN (or matches a glob); repeatable')
    ap.add_argument('--python', action='append', metavar='VERSION',
                    help='only interpreters whose version starts with VERSION (e.g. 3.12, 2.7); repeatable')
    ap.add_argument('-j', '--jobs', type=int, default=4, help='checks run in parallel (default 4)')
    ap.add_argument('--targets-only', action='store_true',
                    help='check the targets and their oracles only, without cspy')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    opts = e2elib.OPTS = ap.parse_args()
    handle_signals()

    t0 = time.time()
    interps, notes = discover()
    interps = select_pythons(interps, notes, opts.python)
    print('cspy end-to-end tests: %s%s' % (cspy_shown(), ' (targets only)' if opts.targets_only else ''))
    if not opts.targets_only:
        use_snapshot()
    describe_interps(interps)

    jobs = []
    for i in interps:
        for name, fn, na in PER_VERSION:
            if selected(name, opts.k):
                reason = na(i) if na else None
                if not i.supported():
                    reason = 'Python %s is not supported by cspy' % i.version
                jobs.append((i, name, fn, reason))
    default = default_interp(interps)
    gjobs = []
    for name, fn in GLOBAL:
        if not selected(name, opts.k):
            continue
        if name == 'unsupported_version':
            fn = lambda ctx, a=interps: check_unsupported(ctx, a)
        if name == 'deleted_executable':
            fn = lambda ctx, a=interps: check_deleted_executable(ctx, a)
        if name == 'mount_namespace':
            fn = lambda ctx, a=interps: check_mount_namespace(ctx, a)
        gjobs.append((default, name, fn, None if default else 'no supported interpreter found'))

    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as ex:
        futs = {}
        # Slow ones first.
        order = sorted(jobs + gjobs, key=lambda j: j[1] not in (
            'sigkill_mid_read', 'recursion900', 'subprocesses', 'threads10', 'locals'))
        for interp, name, fn, reason in order:
            key = (interp.label if interp else '-', name)
            if reason:
                results[key] = ('n/a', reason)
            else:
                futs[ex.submit(run_one, Ctx, interp, name, fn)] = key
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()

    # Table: check x interpreter.
    labels = [i.label for i in interps]
    names = [n for n, _, _ in PER_VERSION if selected(n, opts.k)]
    gnames = [n for _, n, _, _ in gjobs]
    print_table(results, labels, names, gnames, default.label if default else None,
                '-' if default is None else default.label)
    return print_outcome(results, t0, names + gnames, notes)


if __name__ == '__main__':
    sys.exit(main())
