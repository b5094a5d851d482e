#!/usr/bin/env python3
"""The pprof tier: cspy's -f pprof files read by Google's pprof (built
offline from Debian's sources by tests/validate/pprof_tool.sh) and by an
independent decoder (npm pprof-format, tests/validate/pprof_decode.js), and
what they read compared with cspy's own JSON of THE SAME profile
(tests/e2e/consumer_pprof.py says what is compared):

  - fixed inputs through build/tools/writers_tool (-f json and -f pprof of
    one input): the golden inputs, hostile names (markup, quotes, newline,
    invalid UTF-8, control characters, a 5000-byte name), threads with
    process/thread/interpreter roots, native frames and a lane of exited
    threads, and 2000 synthetic stacks over 4 threads;
  - live recordings of the default interpreter, recorded once with -f json
    and rendered with `cspy report p.json -f pprof`: several threads with
    --idle (wall time), --native, --threads --subprocesses (roots become
    labels);
  - `record -f pprof` itself: to a name without an extension, to .pb.gz
    and to .pprof, the file is gzip once and pprof reads it;
  - the checks can fail: a profile compared with a JSON whose counts,
    labels and names were altered is refused by every consumer;
  - split_memory: a saved profile with the python/native/system split and
    --memory bytes (tests/e2e/splitmem.py) through `cspy report -f pprof`:
    every consumer above (class labels, alloc_space and free_space values),
    `pprof -top -sample_index=alloc_space|free_space -unit=B` each leaf
    function's bytes, `-tagfocus=class=C` each class's samples, and an
    altered split or byte count is noticed.

  python3 tests/e2e/pprof.py [-k PATTERN] [-v]

A consumer that cannot run (no go/pprof sources, no node or node_modules)
makes its checks n/a with the reason, and a failure when
CSPY_REQUIRE_VALIDATORS=1 (CI installs them). Last line "N passed, N failed".
"""
import argparse
import copy
import gzip
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import consumer_pprof as cp  # noqa: E402
import e2elib  # noqa: E402
import splitmem  # noqa: E402

REQUIRE = os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1'
TOOL = None         # writers_tool
PPROF = [None, None]        # (binary, why missing)
DECODER_MISSING = [None]
WORK = None
DUR = '1'

# writers_tool inputs (see tests/tools/writers_tool.c for the syntax).
HOSTILE = (
    b'!title <script>alert("x&y")</script> ]]> \xff\x01 tab\tend\n'
    b'!command_line python3 "evil;name".py\n'
    b'!cmdline python3 <evil>.py \xfe\n'
    b'!rate 250\n'
    b'<module> (evil.py:1);<script>alert(1)</script> (x.py:1) 3\n'
    b'<module> (evil.py:1);a & b "q" \'q\' (x.py:2);]]> (cdata.py:3) 2\n'
    b'<module> (evil.py:1);semi\\;colon (s.py:4);new\\nline (n.py:5) 2\n'
    b'<module> (evil.py:1);bad\\xffutf8 (u.py:6) 1\n'
    b'<module> (evil.py:1);bad\xfe raw (u\xc3.py:7) 1\n'
    b'<module> (evil.py:1);ctl\\x01\\x1b\\x7f\\x09 (c.py:7) 1\n'
    b'<module> (evil.py:1);na\xc3\xafve \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80 (uni.py:8) 2\n'
    b'<module> (evil.py:1);' + b'L' * 5000 + b' (long.py:1) 1\n'
    b'!thread 1 2 Wo"rk<er> \xff & ]]>\n'
    b'<module> (evil.py:1);<script>alert(1)</script> (x.py:1) 4\n'
    b'other:\\x00 1\n'
    b'native:s=0() (/lib/x y.so) 1\n'
)
ROOTS = (
    '!rate 200\n!cmdline python3 server.py --port 80\n'
    'process:process 1:"python3 server.py";interp:interpreter (0);thread:thread (1): MainThread;'
    'main (s.py:1);serve (s.py:5) 7\n'
    'process:process 1:"python3 server.py";interp:interpreter (0);thread:thread (1): MainThread;'
    'main (s.py:1);native:PyObject_Call (/usr/lib/libpython3.12.so.1.0);'
    'native:epoll_wait (/build/glibc/epoll_wait.c:30) 3\n'
    '!thread 1 2 Worker-1\n'
    'process:process 1:"python3 server.py";interp:interpreter (1);thread:thread (2): Worker-1;'
    'work (w.py:3);other:<truncated> 2\n'
    '!cmdline python3 child.py\n!thread 77 78 child-main\n'
    'process:process 1:"python3 server.py";process:process 77:"python3 child.py";'
    'child (c.py:1) 5\n'
    'process:process 1:"python3 server.py";process:process 77:"python3 child.py";'
    'native:memcpy (libc.so.6) 2\n'
)


def na_or_fail(why):
    """A consumer is missing: n/a, or a failure when CI requires it."""
    if REQUIRE:
        raise e2elib.Fail('required (CSPY_REQUIRE_VALIDATORS=1) but %s' % why)
    raise e2elib.NA(why)


def consumers():
    """Which consumers run; n/a (or a failure) when none can."""
    which = []
    if PPROF[0]:
        which += ['raw', 'traces', 'top', 'top-lines']
    elif REQUIRE:
        raise e2elib.Fail('pprof required (CSPY_REQUIRE_VALIDATORS=1) but: %s' % PPROF[1])
    if not DECODER_MISSING[0]:
        which.append('decoder')
    elif REQUIRE:
        raise e2elib.Fail('pprof-format required (CSPY_REQUIRE_VALIDATORS=1) but: %s'
                          % DECODER_MISSING[0])
    if not which:
        na_or_fail('no consumer: %s; %s' % (PPROF[1], DECODER_MISSING[0]))
    return which


def compare(json_path, pb_path, what):
    with open(json_path) as f:
        doc = json.load(f)
    problems = cp.all_checks(PPROF[0], pb_path, doc, consumers())
    if problems:
        raise e2elib.Fail('%s:\n%s' % (what, '\n'.join('  ' + p for p in problems)))
    return doc


def tool_case(name, args, data=None):
    """writers_tool -f json and -f pprof of one input; compared."""
    d = e2elib.make_temp_dir('cspy-pprof-', WORK)
    if data is not None:
        inp = os.path.join(d, 'input.txt')
        with open(inp, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        args = [inp]
    for fmt, out in (('json', 'cspy.json'), ('pprof', 'p.pb.gz')):
        p = subprocess.run([TOOL, '-f', fmt, '-o', os.path.join(d, out)] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise e2elib.Fail('writers_tool -f %s %s: %s' % (fmt, ' '.join(args), p.stderr.decode()))
    doc = compare(os.path.join(d, 'cspy.json'), os.path.join(d, 'p.pb.gz'), name)
    if not doc['stacks']:
        raise e2elib.Fail('%s: no stacks: nothing was compared' % name)


def report_to_pprof(ctx, json_path, out):
    """cspy report JSON -f pprof -o out (the same run as the JSON)."""
    r = e2elib.cspy(['report', json_path, '-f', 'pprof', '-o', out])
    if r.rc != 0:
        if 'report' in r.err and ('unknown' in r.err.lower() or 'usage' in r.err.lower()):
            raise e2elib.NA('`cspy report` is not in this build: %s' % r.err.strip()[:200])
        raise e2elib.Fail('$ %s\n  exit %d: %s' % (r.shown, r.rc, r.err.strip()[:1000]))


def live_case(ctx, script, flags, want):
    """Record script once with -f json and flags, render it as pprof with
    cspy report, compare; want(doc) names what the profile must hold."""
    consumers()
    t = ctx.start(script)
    t.wait_ready()
    d = t.dir
    js, pb = os.path.join(d, 'p.json'), os.path.join(d, 'p.pb.gz')
    r = e2elib.cspy(['record', '-f', 'json', '-o', js, '-d', DUR, '-r', '200'] + flags +
                    ['--pid', t.python_pid])
    if r.rc != 0:
        raise e2elib.Fail('$ %s\n  exit %d: %s' % (r.shown, r.rc, r.err.strip()[:1000]))
    report_to_pprof(ctx, js, pb)
    doc = compare(js, pb, 'cspy report %s -f pprof' % js)
    missing = want(doc)
    if missing:
        raise e2elib.Fail('the profile lacks what this case is about: %s' % missing)


def kinds(doc):
    return set(doc['frames'][i]['kind'] for s in doc['stacks'] if s['count'] for i in s['frames'])


def check_live_idle_threads(ctx):
    def want(doc):
        tids = set(doc['threads'][s['thread']]['tid'] for s in doc['stacks'] if s['count'])
        if not doc['meta']['idle_included']:
            return 'meta.idle_included'
        return None if len(tids) >= 5 else 'samples of 5+ threads (%d)' % len(tids)
    live_case(ctx, 'threads10.py', ['--idle'], want)


def check_live_native(ctx):
    def want(doc):
        return None if 'native' in kinds(doc) else 'native frames'
    live_case(ctx, 'threads10.py', ['--native', '--idle'], want)


def check_live_roots(ctx):
    def want(doc):
        k = kinds(doc)
        pids = set(doc['threads'][s['thread']]['pid'] for s in doc['stacks'] if s['count'])
        if 'process' not in k or 'thread' not in k:
            return 'process and thread roots (kinds %s)' % sorted(k)
        return None if len(pids) >= 2 else 'samples of 2+ processes'
    live_case(ctx, 'mp_parent.py', ['--subprocesses', '--threads', '--idle'], want)


def check_record_gzip(ctx):
    """record -f pprof: gzip once whatever the name, and pprof reads it."""
    consumers()
    t = ctx.start('threads10.py')
    t.wait_ready()
    problems = []
    for name, flags in (('noext', ['-f', 'pprof']), ('p.pb.gz', []), ('p.pprof', []),
                        ('p.pb', [])):
        out = os.path.join(t.dir, name)
        r = e2elib.cspy(['record', '-o', out, '-d', '0.5', '--idle'] + flags + ['--pid', t.python_pid])
        if r.rc != 0:
            problems.append('$ %s: exit %d: %s' % (r.shown, r.rc, r.err.strip()[:500]))
            continue
        with open(out, 'rb') as f:
            data = f.read()
        if data[:2] != b'\x1f\x8b':
            problems.append('%s: not gzip' % name)
            continue
        if gzip.decompress(data)[:2] == b'\x1f\x8b':
            problems.append('%s: gzip twice' % name)
        if PPROF[0]:
            res, err = cp.run_pprof(PPROF[0], ['-raw'], out)
            if err or 'Samples:' not in res:
                problems.append('%s: %s' % (name, err or 'pprof -raw shows no samples'))
    if problems:
        raise e2elib.Fail('\n'.join(problems))


def check_can_fail(ctx):
    """Altered JSON (a count, a label, a name, the period) is refused by
    every consumer that runs: the comparisons are not vacuous."""
    which = consumers()
    d = e2elib.make_temp_dir('cspy-pprof-', WORK)
    js, pb = os.path.join(d, 'cspy.json'), os.path.join(d, 'p.pb.gz')
    for fmt, out in (('json', js), ('pprof', pb)):
        subprocess.run([TOOL, '-f', fmt, '-o', out, os.path.join(e2elib.REPO, 'tests', 'golden',
                                                                 'json', 'input.txt')], check=True)
    with open(js) as f:
        doc = json.load(f)
    cache = {}
    if cp.all_checks(PPROF[0], pb, doc, which, cache):
        raise e2elib.Fail('the unaltered profile is refused')
    alter = {
        'count': lambda x: x['stacks'][0].__setitem__('count', x['stacks'][0]['count'] + 1),
        'thread name': lambda x: x['threads'][0].__setitem__('name', 'other'),
        'frame name': lambda x: [f.__setitem__('name', f['name'] + 'x') for f in x['frames']
                                 if f['kind'] == 'python'],
        'rate': lambda x: x['meta'].__setitem__('rate_hz', x['meta']['rate_hz'] * 2),
    }
    problems = []
    for what, fn in alter.items():
        for w in which:
            bad = copy.deepcopy(doc)
            fn(bad)
            if what == 'rate' and w in ('traces', 'top', 'top-lines'):
                continue        # counts only: the period is not in these outputs
            if what == 'thread name' and w.startswith('top'):
                continue        # -top shows no labels
            if not cp.all_checks(PPROF[0], pb, bad, [w], cache):
                problems.append('%s: an altered %s is not noticed' % (w, what))
    if problems:
        raise e2elib.Fail('\n'.join(problems))


def check_split_memory(ctx):
    """The split (class labels) and --memory bytes (alloc_space,
    free_space) of tests/e2e/splitmem.py's profile, read by every consumer."""
    which = consumers()
    d = e2elib.make_temp_dir('cspy-pprof-', WORK)
    js, pb = os.path.join(d, 'splitmem.json'), os.path.join(d, 'splitmem.pb.gz')
    splitmem.write(js)
    report_to_pprof(ctx, js, pb)
    doc = compare(js, pb, 'cspy report splitmem.json -f pprof')
    problems = []
    if PPROF[0]:
        opts = ['-top', '-unit=B', '-nodecount=1000000', '-nodefraction=0', '-edgefraction=0']
        for index, field in (('alloc_space', ('mem', 0)), ('free_space', ('mem', 1))):
            out, err = cp.run_pprof(PPROF[0], opts + ['-sample_index=' + index], pb)
            if err:
                problems.append(err)
                continue
            got = {}
            for ln in out.split('\n'):
                m = re.match(r'^ *(\d+)B? +\S+% +\S+% +\d+B? +\S+%  (\S+)$', ln)
                if m and int(m.group(1)):
                    got[m.group(2)] = int(m.group(1))
            want = {k: v for k, v in splitmem.leaf_totals(field).items() if v}
            if got != want:
                problems.append('pprof -top -sample_index=%s: %r, expected %r' % (index, got, want))
        for i, c in enumerate(splitmem.CLASSES):
            out, err = cp.run_pprof(PPROF[0], ['-top', '-sample_index=samples', '-tagfocus=class=' + c], pb)
            m = re.search(r'Showing nodes accounting for (\d+),', out or '')
            want = splitmem.total(('cls', i))
            if err or not m or int(m.group(1)) != want:
                problems.append('pprof -tagfocus=class=%s: %s, expected %d samples'
                                % (c, err or (m and m.group(1)), want))
    # can fail: an altered split and altered bytes are noticed
    cache = {}
    for what, fn in (('class split', lambda x: (x['stacks'][0]['classes'].__setitem__('python', 29),
                                                x['stacks'][0]['classes'].__setitem__('native', 16))),
                     ('bytes grown', lambda x: x['stacks'][1]['memory'].__setitem__('grow', 1)),
                     ('bytes shrunk', lambda x: x['stacks'][2]['memory'].__setitem__('shrink', 7))):
        bad = copy.deepcopy(doc)
        fn(bad)
        for w in [w for w in which if w in ('raw', 'decoder')]:
            if not cp.all_checks(PPROF[0], pb, bad, [w], cache):
                problems.append('%s: an altered %s is not noticed' % (w, what))
    if problems:
        raise e2elib.Fail('\n'.join(problems))


def fixed(name, args=None, data=None):
    return lambda ctx: (consumers(), tool_case(name, args or [], data))


CHECKS = [
    ('golden_json', fixed('golden json', ['tests/golden/json/input.txt'])),
    ('golden_speedscope', fixed('golden speedscope', ['tests/golden/speedscope/input.txt'])),
    ('golden_chrometrace', fixed('golden chrometrace', ['tests/golden/chrometrace/input.txt'])),
    ('hostile', fixed('hostile names', data=HOSTILE)),
    ('roots_native', fixed('roots, native frames', data=ROOTS)),
    ('synth_2000', fixed('2000 synthetic stacks', ['--synth', '2000,20000,3'])),
    ('can_fail', check_can_fail),
    ('split_memory', check_split_memory),
    ('record_gzip', check_record_gzip),
    ('live_idle_threads', check_live_idle_threads),
    ('live_native', check_live_native),
    ('live_roots', check_live_roots),
]


def main():
    global TOOL, WORK
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-k', action='append', default=[], help='run the checks matching (substring/glob)')
    ap.add_argument('-v', '--verbose', action='store_true')
    ap.add_argument('--targets-only', action='store_true', help=argparse.SUPPRESS)
    e2elib.OPTS = ap.parse_args()
    e2elib.handle_signals()
    os.chdir(e2elib.REPO)
    t0 = time.time()
    build = os.environ.get('BUILD') or 'build'
    TOOL = os.path.join(e2elib.REPO, build, 'tools', 'writers_tool')
    WORK = e2elib.make_temp_dir('cspy-pprof-work-')
    e2elib.use_snapshot()
    PPROF[0], PPROF[1] = cp.pprof_binary(build=True)
    DECODER_MISSING[0] = cp.decoder_missing()
    print('pprof: %s' % PPROF[0] if PPROF[0] else
          'skipped: the checks with Google\'s pprof (-raw, -traces, -top): %s' % PPROF[1])
    print('pprof-format: %s' % ('yes' if not DECODER_MISSING[0] else
                                'skipped: the checks with pprof-format: %s' % DECODER_MISSING[0]))
    interps, _ = e2elib.discover()
    interp = e2elib.default_interp(interps)
    passed = failed = 0
    failures, nas = [], []
    for name, fn in CHECKS:
        if not e2elib.selected(name, e2elib.OPTS.k):
            continue
        if name.startswith(('live', 'record')) and interp is None:
            status, detail = 'n/a', 'no Python interpreter found'
        else:
            status, detail = e2elib.run_one(e2elib.Ctx, interp, name, fn)
        print('%-5s %s%s' % (status, name, ' (%s)' % detail if status == 'n/a' else ''))
        if status == 'FAIL':
            failed += 1
            failures.append((name, detail))
        else:
            passed += status == 'ok'
            if status == 'n/a':
                nas.append(name)
    for name, detail in failures:
        print('--- %s [%s]' % (name, interp.label if interp else '-'))
        print(e2elib.indent(detail or '', 2))
    e2elib.end_all()
    e2elib.remove_temp_dir(WORK)
    print('time: %.1f s' % (time.time() - t0))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
