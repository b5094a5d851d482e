#!/usr/bin/env python3
"""The stream tier: output while recording (`record -f jsonl`, `--stream`,
`--period`, SIGUSR1) and reading jsonl back (`cspy report x.jsonl`).

    python3 tests/e2e/stream.py [-k PATTERN] [--python VERSION] [-j JOBS] [-v]

The target is tests/targets/stream/churn.py: a thread-per-request server in
miniature (a new named thread every ~25 ms), launched by cspy.

Per interpreter (2.7, 3.6, 3.12, 3.13, 3.14t and 3.15, when installed):
  pipe     `record --stream -r 200 -- PY churn.py 2.5 print` read through a pipe
           (the program's own output goes to cspy's stderr, not into the stream):
           the first sample line comes within 1 s of the head line and most
           lines come while the program still runs; every line is one JSON
           object whose first key is its kind; each frame, thread and stack
           is defined once, before its first use; no sample names an exited
           thread; the end line is last. `cspy report x.jsonl -f json`:
           the totals per stack (frame labels), per process, and the exited
           threads (the lanes' "exited" = the exit lines) equal the jsonl's;
           `-f chrometrace` has a timeline over the recording's time.
  sigint   SIGINT to cspy after 1 s (the program gets it too and ends with
           status 0): cspy exits 0, the jsonl file ends with the end line
           and reads back with no warning.
Version-independent (with the newest Python 3):
  period       `--period 0.3 -f json` while a reader polls the output every
               20 ms: every read is a complete JSON profile, its sample count
               never decreases, at least 3 versions are seen while cspy runs;
               no temporary file is left.
  sigusr1      `-f raw` without --period: SIGUSR1 gives a complete file within
               1 s while cspy and the program run on; a second SIGUSR1 a newer
               one; the final file has at least as many samples.
  target_exit  `--pid` of a program that exits after 1.5 s with -d 30: cspy
               ends, the jsonl is complete (end line) and reads back.
  killed       SIGKILL to cspy mid-recording, plain and .jsonl.gz: the file
               reads back with a warning (cut short), exit 0.
  hostile      jsonl files cut in the head line, garbage, undefined and huge
               ids, duplicates, negative and non-numeric values, a wrong
               format version, a 70000-deep stack, hostile strings: cspy
               report gives one clear error line (exit 1) or reads it, and
               never crashes; the hostile strings come back unchanged.
  errors       --period with standard output, --stream with another format,
               --period 0: one error line, exit 2 (usage) or 1; `-o x.jsonl --
               true` (never Python): exit 1 and no file left; --stream whose
               reader closes the pipe: the recording ends, "Broken pipe", a
               non-zero exit (the program's, which cspy ended).

Last line: "N passed, N failed". Processes are ended by their PID.
"""
import argparse
import concurrent.futures
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
from e2elib import Fail, clip, cspy, cspy_path, make_temp_dir, selected, spawn  # noqa: E402
from consumer_jsonl import check_jsonl, json_totals, jsonl_totals  # noqa: E402

OPTS = None
CHURN = os.path.join(e2elib.TARGETS, 'stream', 'churn.py')
WANTED = ['2.7', '3.6', '3.12', '3.13', '3.14t', '3.15']


class Ctx(e2elib.Ctx):
    def __init__(self, interp):
        e2elib.Ctx.__init__(self, interp)
        self.dir = make_temp_dir('cspy-stream-')
        self.procs = []

    def spawn(self, cmd, **kw):
        kw.setdefault('stdin', subprocess.DEVNULL)
        kw.setdefault('env', e2elib.target_env())
        p = spawn(cmd, **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            e2elib.end_process(p)
        e2elib.Ctx.close(self)
        e2elib.remove_temp_dir(self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)


def wait(p, timeout, what):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail('%s: still running after %s s' % (what, timeout))


# --------------------------------------------------------------------------
# jsonl

def report(ctx, src, fmt, out):
    res = cspy(['report', src, '-f', fmt, '-o', out])
    if res.rc != 0:
        raise Fail('$ %s\n  exit %d: %s' % (res.shown, res.rc, clip(res.err.strip(), 1500)))
    return res


def compare_report(ctx, path, objs, probs):
    """cspy report PATH -f json against the jsonl's own totals."""
    out = ctx.path('back.json')
    res = report(ctx, path, 'json', out)
    if 'Warning' in res.err:
        probs.append('reading back warned: %s' % res.err.strip()[:300])
    with open(out) as f:
        doc = json.load(f)
    a_stack, a_pid, a_exits = jsonl_totals(objs)
    b_stack, b_pid, b_exited = json_totals(doc)
    if a_stack != b_stack:
        diff = [(k, a_stack.get(k, 0), b_stack.get(k, 0)) for k in set(a_stack) | set(b_stack)
                if a_stack.get(k, 0) != b_stack.get(k, 0)]
        probs.append('totals per stack differ (jsonl vs report -f json), %d stacks, e.g. %s'
                     % (len(diff), diff[:3]))
    if a_pid != b_pid:
        probs.append('totals per process differ: %s vs %s' % (dict(a_pid), dict(b_pid)))
    if a_exits != b_exited:
        probs.append('%d exit lines, but the lanes of the report hold %d exited threads'
                     % (a_exits, b_exited))
    end = objs[-1].get('meta', {}) if objs and 'end' in objs[-1] else {}
    if end and doc['meta'].get('samples') != end.get('samples'):
        probs.append('meta.samples %s, the end line says %s' % (doc['meta'].get('samples'),
                                                                end.get('samples')))
    return doc


# --------------------------------------------------------------------------
# Per interpreter

def check_pipe(ctx):
    e2elib.require_cspy()
    # The program prints to its stdout: cspy sends that to stderr, away from the stream.
    cmd = [cspy_path(), 'record', '--stream', '-r', '200', '--', ctx.interp.path, CHURN, '2.5', 'print']
    t0 = time.time()
    p = ctx.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    arrivals = []           # (time, line)
    err = []
    te = threading.Thread(target=lambda: err.append(p.stderr.read()))
    te.start()
    for line in iter(p.stdout.readline, b''):
        arrivals.append((time.time(), line))
    rc = wait(p, 30, ' '.join(cmd))
    t_end = time.time()
    te.join()
    shown = 'cspy record --stream -r 200 -- %s churn.py 2.5 print' % ctx.interp.path
    probs = []
    if rc != 0:
        raise Fail('$ %s\n  exit %d\n  stderr: %s' % (shown, rc, clip(err[0].decode('utf-8', 'replace'), 1500)))
    text = b''.join(l for _, l in arrivals).decode('utf-8')
    objs, probs = check_jsonl(text)
    if b'request 3 done' not in err[0]:
        probs.append("the program's output is not on cspy's stderr")
    samples = [t for t, l in arrivals if l.startswith(b'{"t":')]
    if not samples:
        raise Fail('$ %s\n  no sample lines; stderr: %s' % (shown, err[0].decode()[:800]))
    head_t = arrivals[0][0]
    if samples[0] - head_t > 1.0:
        probs.append('the first sample line came %.2f s after the head line (at most 1 s)'
                     % (samples[0] - head_t))
    early = sum(1 for t in samples if t < t_end - 0.5)
    if early < len(samples) / 2:
        probs.append('only %d of %d sample lines came while recording (0.5 s before the end)'
                     % (early, len(samples)))
    exits = sum(1 for o in objs if 'exit' in o)
    threads = sum(1 for o in objs if 'thread' in o)
    if exits < 10 or threads < 10:
        probs.append('thread churn: %d thread lines and %d exit lines (at least 10 each expected)'
                     % (threads, exits))
    if not probs:
        path = ctx.path('x.jsonl')
        with open(path, 'w') as f:
            f.write(text)
        compare_report(ctx, path, objs, probs)
        trace = ctx.path('x.trace.json')
        report(ctx, path, 'chrometrace', trace)
        with open(trace) as f:
            ev = json.load(f)
        ev = ev['traceEvents'] if isinstance(ev, dict) else ev
        ts = [e['ts'] for e in ev if isinstance(e.get('ts'), (int, float)) and e.get('ph') != 'M']
        if len(ts) < 10 or max(ts) - min(ts) < 1.0e6:
            probs.append('report -f chrometrace: %d events over %.2f s (a timeline of >= 1 s expected)'
                         % (len(ts), (max(ts) - min(ts)) / 1e6 if ts else 0))
    if probs:
        raise Fail('$ %s\n' % shown + '\n'.join('  ' + x for x in probs))


def check_sigint(ctx):
    e2elib.require_cspy()
    out = ctx.path('i.jsonl')
    cmd = [cspy_path(), 'record', '-f', 'jsonl', '-o', out, '--', ctx.interp.path, CHURN, '20']
    # Its own session: the SIGINT is cspy's alone, which it passes on.
    p = ctx.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        raise Fail('cspy did not end within 15 s of SIGINT')
    shown = 'cspy record -f jsonl -o i.jsonl -- %s churn.py 20; SIGINT after 1 s' % ctx.interp.path
    if p.returncode != 0:
        raise Fail('$ %s\n  exit %d, expected 0\n  stderr: %s' % (shown, p.returncode,
                                                                clip(err.decode('utf-8', 'replace'), 1500)))
    with open(out) as f:
        objs, probs = check_jsonl(f.read())
    if not any('t' in o for o in objs):
        probs.append('no sample lines')
    if not probs:
        compare_report(ctx, out, objs, probs)
    if probs:
        raise Fail('$ %s\n' % shown + '\n'.join('  ' + x for x in probs))


# --------------------------------------------------------------------------
# Version-independent

def check_period(ctx):
    e2elib.require_cspy()
    out = ctx.path('p.json')
    cmd = [cspy_path(), 'record', '--period', '0.3', '-f', 'json', '-o', out, '--',
           ctx.interp.path, CHURN, '2.5']
    p = ctx.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    probs, seen, last = [], [], -1
    while p.poll() is None:
        try:
            with open(out, 'rb') as f:
                data = f.read()
        except (IOError, OSError):
            data = None
        if data is not None and p.poll() is None:
            try:
                doc = json.loads(data.decode('utf-8'))
                n = sum(s['count'] for s in doc['stacks'])
                if n < last:
                    probs.append('the sample count went down: %d after %d' % (n, last))
                if n != last:
                    seen.append(n)
                last = n
            except (ValueError, KeyError, TypeError) as e:
                probs.append('a read gave an incomplete or broken file (%d bytes): %s' % (len(data), e))
        time.sleep(0.02)
    _, err = p.communicate()
    shown = 'cspy record --period 0.3 -f json -o p.json -- PY churn.py 2.5 (polled every 20 ms)'
    if p.returncode != 0:
        probs.append('exit %d: %s' % (p.returncode, err.decode()[:800]))
    if len(seen) < 3:
        probs.append('only %d versions of the file seen while recording (%s)' % (len(seen), seen))
    left = [n for n in os.listdir(ctx.dir) if '.cspy-' in n]
    if left:
        probs.append('temporary files left: %s' % left)
    with open(out) as f:
        final = sum(s['count'] for s in json.load(f)['stacks'])
    if final < last:
        probs.append('the final profile has %d samples, fewer than a periodic one (%d)' % (final, last))
    if b'Wrote the profile so far' not in err:
        probs.append('stderr does not say a periodic write happened: %s' % err.decode()[:500])
    if probs:
        raise Fail('$ %s\n' % shown + '\n'.join('  ' + x for x in probs[:10]))


def raw_total(path):
    with open(path) as f:
        return sum(c for _, c in e2elib.parse_collapsed(f.read()))


def wait_file(path, newer_than, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            st = os.stat(path)
            if st.st_mtime_ns > newer_than:
                return time.time()
        except OSError:
            pass
        time.sleep(0.01)
    return None


def check_sigusr1(ctx):
    e2elib.require_cspy()
    out = ctx.path('u.txt')
    cmd = [cspy_path(), 'record', '-f', 'raw', '-o', out, '--', ctx.interp.path, CHURN, '4']
    p = ctx.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    shown = 'cspy record -f raw -o u.txt -- PY churn.py 4; SIGUSR1 at 1.2 s and 2.2 s'
    probs = []
    time.sleep(1.2)
    totals = []
    for _ in range(2):
        before = os.stat(out).st_mtime_ns if os.path.exists(out) else 0
        t = time.time()
        p.send_signal(signal.SIGUSR1)
        came = wait_file(out, before, 1.0)
        if came is None:
            probs.append('no new file within 1 s of SIGUSR1')
            break
        if p.poll() is not None:
            probs.append('cspy ended after SIGUSR1 (exit %s)' % p.returncode)
            break
        time.sleep(0.05)
        try:
            totals.append(raw_total(out))
        except (ValueError, Fail) as e:
            probs.append('the file written on SIGUSR1 does not parse: %s' % e)
        if OPTS and OPTS.verbose:
            sys.stderr.write('SIGUSR1 -> file in %.0f ms\n' % ((came - t) * 1000))
        time.sleep(0.8)
    _, err = p.communicate(timeout=20)
    if p.returncode != 0:
        probs.append('exit %d: %s' % (p.returncode, err.decode()[:800]))
    if len(totals) == 2 and not (0 < totals[0] < totals[1]):
        probs.append('sample totals of the two files: %s (increasing expected)' % totals)
    if totals and raw_total(out) < totals[-1]:
        probs.append('the final file has fewer samples (%d) than the last SIGUSR1 one (%d)'
                     % (raw_total(out), totals[-1]))
    if probs:
        raise Fail('$ %s\n' % shown + '\n'.join('  ' + x for x in probs))


def check_target_exit(ctx):
    e2elib.require_cspy()
    target = ctx.spawn([ctx.interp.path, CHURN, '1.5'], stdout=subprocess.DEVNULL)
    time.sleep(0.2)
    out = ctx.path('e.jsonl')
    res = cspy(['record', '--pid', target.pid, '-d', '30', '-f', 'jsonl', '-o', out], timeout=30)
    probs = []
    if res.rc != 0:
        probs.append('exit %d: %s' % (res.rc, res.err[:800]))
    with open(out) as f:
        objs, p2 = check_jsonl(f.read())
    probs += p2
    if not probs:
        compare_report(ctx, out, objs, probs)
    if probs:
        raise Fail('$ %s (the program exits after 1.5 s)\n' % res.shown + '\n'.join('  ' + x for x in probs))


def check_killed(ctx):
    e2elib.require_cspy()
    probs = []
    for name in ('k.jsonl', 'k.jsonl.gz'):
        out = ctx.path(name)
        cmd = [cspy_path(), 'record', '-r', '500', '-o', out, '--', ctx.interp.path, CHURN, '20']
        p = ctx.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        p.send_signal(signal.SIGKILL)
        p.wait()
        res = cspy(['report', out, '-f', 'raw', '-o', ctx.path('k.txt')])
        if res.rc != 0 or 'cut short' not in res.err:
            probs.append('$ %s (of a recording killed after 1.5 s)\n    exit %d (0 and a warning '
                         'expected): %s' % (res.shown, res.rc, res.err.strip()[:500]))
        elif raw_total(ctx.path('k.txt')) < 50:
            probs.append('%s: only %d samples read back' % (name, raw_total(ctx.path('k.txt'))))
    if probs:
        raise Fail('\n'.join(probs))


HEAD = ('{"cspy":{"version":"0","format":"jsonl","format_version":1},"meta":{"title":"t",'
        '"rate_hz":100}}\n')
FRAME = '{"frame":%s,"name":%s,"filename":"a.py","short_filename":"a.py","line":%s,"kind":"python"}\n'
THREAD = '{"thread":%s,"pid":1,"tid":%s,"name":"main","command_line":"x"}\n'
STACK = '{"stack":%s,"frames":%s}\n'
SAMPLE = '{"t":%s,"pid":1,"tid":2,"thread_id":%s,"stack_id":%s,"weight":%s}\n'
END = '{"end":true,"meta":{"title":"t","samples":1}}\n'
OK_BODY = FRAME % (0, '"f"', 1) + THREAD % (0, 2) + STACK % (0, '[0]')

EVIL = '<script>alert("x")</script>\u202e\u001b[31m\'"\\' + 'A' * 5000


def hostile_cases():
    """(name, text, expected): 'error' (exit 1, one line), 'ok' or 'warn'."""
    good = HEAD + OK_BODY + SAMPLE % (1, 0, 0, 1) + END
    return [
        ('good', good, 'ok'),
        ('cut in the head', good[:40], 'error'),
        ('cut in the last line', good[:-10], 'warn'),
        ('no end line', HEAD + OK_BODY + SAMPLE % (1, 0, 0, 1), 'warn'),
        ('garbage line', HEAD + OK_BODY + 'garbage\n' + END, 'error'),
        ('not an object', HEAD + '[1,2]\n' + END, 'error'),
        ('undefined stack', HEAD + OK_BODY + SAMPLE % (1, 0, 7, 1) + END, 'error'),
        ('undefined thread', HEAD + OK_BODY + SAMPLE % (1, 9, 0, 1) + END, 'error'),
        ('undefined frame', HEAD + FRAME % (0, '"f"', 1) + STACK % (0, '[0,1]') + END, 'error'),
        ('huge ids', HEAD + FRAME % (4294967295, '"f"', 1) + THREAD % (4294967295, 2) +
         STACK % (4294967295, '[4294967295]') + SAMPLE % (1, 4294967295, 4294967295, 1) + END, 'ok'),
        ('too big ids', HEAD + FRAME % (4294967296, '"f"', 1) + END, 'error'),
        ('negative id', HEAD + FRAME % (-1, '"f"', 1) + END, 'error'),
        ('frame twice', HEAD + OK_BODY + FRAME % (0, '"g"', 2) + END, 'error'),
        ('thread twice', HEAD + OK_BODY + THREAD % (0, 3) + END, 'error'),
        ('stack twice', HEAD + OK_BODY + STACK % (0, '[0]') + END, 'error'),
        ('weight 0', HEAD + OK_BODY + SAMPLE % (1, 0, 0, 0) + END, 'error'),
        ('weight huge', HEAD + OK_BODY + SAMPLE % (1, 0, 0, 2 ** 40) + END, 'error'),
        ('time negative', HEAD + OK_BODY + SAMPLE % (-5, 0, 0, 1) + END, 'error'),
        ('time a string', HEAD + OK_BODY + SAMPLE % ('"1"', 0, 0, 1) + END, 'error'),
        ('line a float', HEAD + FRAME % (0, '"f"', 1.5) + END, 'error'),
        ('unknown kind', HEAD + FRAME.replace('python', 'perl') % (0, '"f"', 1) + END, 'error'),
        ('version 2', HEAD.replace('"format_version":1', '"format_version":2') + END, 'error'),
        ('two heads', HEAD + HEAD + END, 'error'),
        ('exit of nothing', HEAD + OK_BODY + '{"exit":5,"at":1}\n' + END, 'error'),
        ('sample after exit', HEAD + OK_BODY + SAMPLE % (1, 0, 0, 1) + '{"exit":0,"at":1}\n' +
         SAMPLE % (2, 0, 0, 1) + END, 'error'),
        ('deep stack', HEAD + FRAME % (0, '"f"', 1) + STACK % (0, '[' + ','.join(['0'] * 70000) + ']') +
         END, 'error'),
        ('invalid UTF-8', HEAD + FRAME % (0, '"\xff\xfe"', 1) + END, 'error'),
        ('hostile name', HEAD + FRAME % (0, json.dumps(EVIL), 1) + THREAD % (0, 2) + STACK % (0, '[0]') +
         SAMPLE % (1, 0, 0, 3) + END, 'ok'),
        ('NUL in a name', HEAD + FRAME % (0, '"a\\u0000b"', 1) + END, 'ok'),
        ('empty', '', 'error'),
        ('only newlines', '\n\n\n', 'error'),
    ]


def check_hostile(ctx):
    e2elib.require_cspy()
    probs = []
    for i, (name, text, want) in enumerate(hostile_cases()):
        src = ctx.path('h%d.jsonl' % i)
        with open(src, 'wb') as f:
            f.write(text.encode('utf-8', 'surrogateescape') if '\xff' not in text
                    else text.encode('latin-1', 'replace'))
        out = ctx.path('h%d.json' % i)
        res = cspy(['report', src, '-f', 'json', '-o', out])
        lines = [l for l in res.err.splitlines() if l.strip()]
        if res.rc < 0 or res.rc >= 128:
            probs.append('%s: cspy crashed (exit %d): %s' % (name, res.rc, res.err[:300]))
            continue
        if want == 'error':
            if res.rc != 1 or not lines or not lines[0].startswith('cspy: error: cannot read'):
                probs.append('%s: exit %d, expected 1 with one error line; stderr: %s'
                             % (name, res.rc, res.err.strip()[:300]))
            elif len(lines) != 1:
                probs.append('%s: %d stderr lines, expected one: %s' % (name, len(lines), res.err[:300]))
            continue
        if res.rc != 0:
            probs.append('%s: exit %d, expected 0: %s' % (name, res.rc, res.err.strip()[:300]))
            continue
        warned = 'Warning' in res.err
        if warned != (want == 'warn'):
            probs.append('%s: %s' % (name, 'an unexpected warning: ' + res.err.strip()[:300] if warned
                                     else 'no warning about the cut'))
        if name == 'hostile name':
            with open(out) as f:
                doc = json.load(f)
            if doc['frames'][0]['name'] != EVIL:
                probs.append('hostile name: not read back unchanged: %r' % doc['frames'][0]['name'][:80])
    # gzip, cut anywhere inside: read back up to the cut, never a crash.
    good = (HEAD + OK_BODY + SAMPLE % (1, 0, 0, 1) * 200 + END).encode()
    gz = gzip.compress(good)
    for cut in (len(gz) // 3, len(gz) // 2, len(gz) - 9):
        src = ctx.path('cut%d.jsonl.gz' % cut)
        with open(src, 'wb') as f:
            f.write(gz[:cut])
        res = cspy(['report', src, '-f', 'raw', '-o', ctx.path('cut.txt')])
        if res.rc not in (0, 1) or (res.rc == 0 and 'cut short' not in res.err) or \
                (res.rc == 1 and 'cannot read' not in res.err):
            probs.append('gzip cut at %d of %d bytes: exit %d: %s' % (cut, len(gz), res.rc,
                                                                     res.err.strip()[:300]))
    if probs:
        raise Fail('\n'.join(probs))


def check_errors(ctx):
    e2elib.require_cspy()
    probs = []
    for args, want in ((['--period', '1', '-o', '-', '-f', 'json'], 1),
                       (['--stream', '-f', 'flamegraph'], 2),
                       (['--period', '0'], 2),
                       (['-f', 'nosuch'], 2)):
        res = cspy(['record'] + args + ['--', ctx.interp.path, CHURN, '0.5'])
        lines = [l for l in res.err.splitlines() if l.strip()]
        if res.rc != want or len(lines) != 1 or not lines[0].startswith('cspy: error:'):
            probs.append('$ %s\n    exit %d (expected %d with one error line): %s'
                         % (res.shown, res.rc, want, res.err.strip()[:400]))
        if args[1] == 'nosuch' and 'jsonl' not in res.err:
            probs.append('the unknown-format error does not list jsonl: %s' % res.err.strip())
    # The reader of the pipe goes away: the recording ends, one line says why, exit 1.
    cmd = [cspy_path(), 'record', '--stream', '-r', '500', '--', ctx.interp.path, CHURN, '20']
    p = ctx.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    for _ in range(3):
        p.stdout.readline()
    p.stdout.close()
    try:
        err = p.stderr.read().decode('utf-8', 'replace')
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        err = ''
    # (the exit status is the program's, ended by cspy's SIGINT, or 1)
    if p.returncode in (0, None) or 'Broken pipe; stopping' not in err:
        probs.append('record --stream whose reader went away: exit %s (expected non-zero) and stderr %r'
                     % (p.returncode, err[-400:]))
    # A program that never runs Python: one error line, no jsonl file left.
    out = ctx.path('never.jsonl')
    res = cspy(['record', '-o', out, '--', 'true'])
    if res.rc != 1 or os.path.exists(out):
        probs.append('$ %s\n    exit %d (expected 1), file %s (expected none): %s'
                     % (res.shown, res.rc, 'left' if os.path.exists(out) else 'absent', res.err.strip()[:300]))
    if probs:
        raise Fail('\n'.join(probs))


PER_VERSION = [('pipe', check_pipe), ('sigint', check_sigint)]
GLOBAL = [('period', check_period), ('sigusr1', check_sigusr1), ('target_exit', check_target_exit),
          ('killed', check_killed), ('hostile', check_hostile), ('errors', check_errors)]


def choose(interps, notes):
    """One interpreter per wanted version (2.7, 3.6, 3.12, 3.13, 3.14t,
    3.15): the first found (pyenv and this machine's before the others)."""
    if OPTS.python:
        return e2elib.select_pythons([i for i in interps if i.supported()], notes, OPTS.python)
    chosen = []
    order = {'pyenv': 0, 'system': 1, 'provisioned': 2, 'debian': 3}
    for w in WANTED:
        ft = w.endswith('t')
        minor = tuple(int(x) for x in w.rstrip('t').split('.'))
        cands = [i for i in interps if i.supported() and i.minor == minor and i.free_threaded == ft
                 and not i.debug]
        cands.sort(key=lambda i: order.get(i.source, 9))
        if cands:
            chosen.append(cands[0])
        else:
            notes.append('%s: not installed (wanted by the stream tier)' % w)
    return chosen


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN',
                    help='run only checks whose name contains PATTERN (or matches a glob); repeatable')
    ap.add_argument('--python', action='append', metavar='VERSION',
                    help='interpreters whose version starts with VERSION (default: %s)' % ', '.join(WANTED))
    ap.add_argument('-j', '--jobs', type=int, default=3, help='checks run in parallel (default 3)')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each result as it comes')
    OPTS = e2elib.OPTS = ap.parse_args()
    OPTS.targets_only = False
    e2elib.handle_signals()
    t0 = time.time()
    print('cspy stream tests (jsonl, --period, SIGUSR1): %s' % e2elib.cspy_shown())
    interps, notes = e2elib.discover()
    notes = [n for n in notes if 'not installed' not in n]
    chosen = choose(interps, notes)
    e2elib.use_snapshot('every check fails')
    e2elib.describe_interps(chosen)
    sys.stdout.flush()
    results = {}
    jobs = []
    for i in chosen:
        for name, fn in PER_VERSION:
            if selected(name, OPTS.k):
                jobs.append((i, i.label, name, fn))
    default = e2elib.default_interp(chosen or interps)
    gnames = [n for n, _ in GLOBAL if selected(n, OPTS.k)]
    for name, fn in GLOBAL:
        if not selected(name, OPTS.k):
            continue
        if default is None:
            results[('-', name)] = ('n/a', 'no supported interpreter found')
        else:
            jobs.append((default, '-', name, fn))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, OPTS.jobs)) as ex:
        futs = dict((ex.submit(e2elib.run_one, Ctx, i, name, fn, 14), (label, name))
                    for i, label, name, fn in jobs)
        for f in concurrent.futures.as_completed(futs):
            results[futs[f]] = f.result()
    labels = [i.label for i in chosen]
    names = [n for n, _ in PER_VERSION if selected(n, OPTS.k)]
    e2elib.print_table(results, labels, names, gnames, default.label if default else None, '-')
    return e2elib.print_outcome(results, t0, names + gnames, notes)


if __name__ == '__main__':
    sys.exit(main())
