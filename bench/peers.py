#!/usr/bin/env python3
"""`make bench`'s side by side (run by bench/run.py; `--only peers` alone): cspy,
CPython 3.15's own sampler and Austin on the same target, in the same run.

    python3 bench/peers.py [--smoke] [--out DIR] [--pythons 3.11,3.12,3.14,3.15]
                           [--seconds S] [--reps N] [--no-wait]

Every sampler attaches to the CPU mix (bench/workloads/cpumix.py, 22 frames
deep, shares 60/30/10, its work calibrated per interpreter like run.py's) in
nonblocking mode (none of them pauses the target), at 1 kHz, 10 kHz and as
fast as it can go:

  cspy      `cspy record --pid P --nonblocking -r RATE -f raw` (CSPY_STATS);
            as fast as possible: `-r 1000000` (capped at cspy's maximum).
  3.15      `python3.15 -m profiling.sampling attach -r RATE --collapsed P`,
            the sampler of the target's own interpreter (it attaches to a
            3.15 process only); as fast as possible: `-r 1000000` (1 us).
            A Debian-root target is sampled from inside its own root
            (nsenter into its mount namespace: /proc/P/maps names its files
            as that root sees them).
  austin    Debian unstable's austin (3.7.0, the newest release: CPython
            3.8-3.13), unpacked into the Debian root by tests/pythons.sh and
            run there (`austin -i US -p P`); as fast as possible: `-i 0`.

Per run: the sampler's CPU time (os.wait4 of its process: user + system; for
the 3.15 sampler that is its whole interpreter), the samples it reports and
its own sampling time (achieved rate), the leaf shares of share_60/30/10 vs
the workload's own measured shares (accuracy), and the workload's elapsed
time vs an unprofiled run of the same work (slowdown: one unprofiled run per
rate and repetition, before or after that rate's sampler runs, alternately).
"Steady" CPU takes away each sampler's start-up: the median CPU of the same
command attached at 1 Hz for 1 s (which is also the probe: a sampler that
cannot read an interpreter says so there). Medians of --reps runs (3).

Full mode writes bench/results/peers.md and peers.json (or into --out);
--smoke runs each sampler once, short, prints the tables and fails only
when a case does not RUN (a sampler that is absent or cannot read an
interpreter is "skipped: REASON"). Last line: "N passed, N failed".
Every process started is ended by PID.
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(REPO, 'tests', 'e2e'))
sys.path.insert(0, BENCH)                 # before tests/e2e, which has a run.py too
import run as benchrun                                             # noqa: E402
import e2elib                                                      # noqa: E402
from async_cost import LIVE, log, spawn, stop, wait_ready          # noqa: E402

WORKLOAD = os.path.join(BENCH, 'workloads', 'cpumix.py')
WANTED = ['3.11', '3.12', '3.14', '3.15']
RATES = [1000, 10000, 0]                   # 0: as fast as the sampler can
RATE_NAMES = {1000: '1 kHz', 10000: '10 kHz', 0: 'max'}
PEERS = ['cspy', 'py315', 'austin']
PEER_NAMES = {'cspy': 'cspy', 'py315': '3.15 sampler', 'austin': 'austin'}
SHARES = benchrun.SHARES
TMP = None


# --------------------------------------------------------------------------
# Interpreters: pyenv's first, then Debian unstable's (tests/pythons.sh), then
# the host's, then the other provisioned builds.

class Py(object):
    def __init__(self, minor, path, root):
        self.minor, self.path, self.root = minor, path, root   # root: a Debian root, or None
        self.version, self.ips = None, None
        self.inner = '/usr/bin/' + os.path.basename(path)[len('debian-'):] if root else None

    def shown(self):
        s = self.path
        root = e2elib.pyenv_root()
        if root:
            s = s.replace(root, '$(pyenv root)')
        return s.replace(e2elib.pythons_cache(), '$CSPY_PYTHONS')


def find_python(minor):
    cands = []
    root = e2elib.pyenv_root()
    if root:
        vers = sorted(os.listdir(os.path.join(root, 'versions'))) if os.path.isdir(
            os.path.join(root, 'versions')) else []
        cands += [(os.path.join(root, 'versions', v, 'bin', 'python'), None) for v in vers
                  if re.match(r'^%s\.\d+$' % re.escape(minor), v)]
    prov = e2elib.provisioned([])
    cands += [(exe, r) for exe, _, r in prov if r and os.path.basename(exe) == 'debian-python' + minor]
    cands.append(('/usr/bin/python' + minor, None))
    cands += [(exe, r) for exe, _, r in prov if not r and os.path.basename(exe) == 'python' + minor]
    for exe, r in cands:
        if os.access(exe, os.X_OK):
            return Py(minor, exe, r)
    return None


def target_env(extra_bind=()):
    env = e2elib.target_env()
    env['CSPY_CHROOT_BIND'] = ':'.join([REPO, TMP] + list(extra_bind))
    return env


def prefix_of(py):
    """The directory a host interpreter lives in (bind-mounted into the
    Debian root, so that austin there finds its files)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(py.path)))


# --------------------------------------------------------------------------
# The samplers: each gives its command line, a readiness test and a parser.

def austin_in_root():
    """(the austin binary inside the Debian root, the wrapper that runs it
    there), or (None, why)."""
    cache = e2elib.pythons_cache()
    inner = '/opt/austin/usr/bin/austin'
    if os.access(os.path.join(cache, 'sid') + inner, os.X_OK) and \
            os.access(os.path.join(cache, 'bin', 'debian-austin'), os.X_OK):
        return inner, os.path.join(cache, 'bin', 'debian-austin')
    why = benchrun.read_text(os.path.join(cache, 'austin.failed')).strip()
    return None, why or 'not provisioned in %s (run `make pythons`: tests/pythons.sh)' % cache


def exited(p):
    """Has p exited? (not reaped: os.wait4 gets its rusage later)."""
    try:
        return os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def reap(p, timeout):
    """Wait for p with os.wait4: (exit status, its CPU seconds, user + system)."""
    end = time.time() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            LIVE.pop(p.pid, None)
            return p.returncode, ru.ru_utime + ru.ru_stime
        if time.time() > end:
            raise RuntimeError('the sampler did not exit within %.0f s of the target' % timeout)
        time.sleep(0.005)


def in_root(py, pid, argv):
    """argv run inside the Debian root of the target pid: its own mount
    namespace and root (nsenter execs: the PID is the sampler's)."""
    return ['nsenter', '--target', pid, '--mount', '--root', '--wd'] + argv


def sampler_cmd(peer, py, rate, pid, d, probe=False):
    """(argv, env, ready(p) -> bool) of one sampler attached to pid.
    probe: the start-up run (1 Hz for 1 s)."""
    out = os.path.join(d, 'profile')
    if peer == 'cspy':
        r = '1' if probe else str(rate or 1000000)
        argv = [benchrun.CSPY, 'record', '--pid', pid, '--nonblocking', '-r', r, '-f', 'raw', '-o', out,
                '--hideprogress'] + (['-d', '1'] if probe else [])
        env = dict(os.environ, CSPY_STATS=os.path.join(d, 'stats.json'))
        return argv, env, lambda p: 'Sampling process' in benchrun.read_text(os.path.join(d, 'stderr'))
    if peer == 'py315':
        r = '1' if probe else str(rate or 1000000)
        args = ['-m', 'profiling.sampling', 'attach', '-r', r, '--collapsed', '-o', out] + \
            (['-d', '1'] if probe else []) + [str(pid)]
        argv = in_root(py, pid, [py.inner] + args) if py.root else [py315_host(py)] + args

        def ready(p):
            # Its unwinder module is loaded: the sampling loop starts a few
            # ms later (finding the target's runtime).
            if '_remote_debugging' in benchrun.read_text('/proc/%d/maps' % p.pid):
                time.sleep(0.05)
                return True
            return False
        return argv, target_env(), ready
    if peer == 'austin':
        inner, wrapper = austin_in_root()
        args = ['-i', '1s' if probe else str(int(round(1e6 / rate))) if rate else '0', '-p', str(pid), '-o', out] + \
            (['-x', '1'] if probe else [])
        argv = in_root(py, pid, [inner] + args) if py.root else [wrapper] + args
        return argv, target_env([prefix_of(py)]), \
            lambda p: re.search(r'^P\d', benchrun.read_text(out), re.M) is not None
    raise ValueError(peer)


def py315_host(py):
    return py.path


def leaf_of(frame):
    """austin ('file:func:line') and the 3.15 sampler ('base:func:line')."""
    parts = frame.rsplit(':', 2)
    return parts[1] if len(parts) == 3 else None


def parse_profile(peer, d, stdout):
    """{samples, sampling_s, leaves} from the sampler's own output."""
    text = benchrun.read_text(os.path.join(d, 'profile'))
    leaves = {}
    if peer == 'cspy':
        st = benchrun.read_json(os.path.join(d, 'stats.json'))
        if not st:
            raise RuntimeError('no CSPY_STATS file')
        return {'samples': st['samples'], 'sampling_s': st['elapsed_s'],
                'leaves': benchrun.leaf_counts(text), 'stats': st}
    if peer == 'py315':
        m = re.search(r'Captured ([\d,.]+) samples? in ([\d.,]+) seconds', stdout)
        if not m:
            raise RuntimeError('no "Captured N samples" line: %s' % stdout.strip()[-300:])
        for line in text.splitlines():
            stack, _, n = line.rpartition(' ')
            leaf = leaf_of(stack.split(';')[-1])
            if leaf and n.isdigit():
                leaves[leaf] = leaves.get(leaf, 0) + int(n)
        return {'samples': int(re.sub(r'[,.]', '', m.group(1))),
                'sampling_s': float(m.group(2).replace(',', '')), 'leaves': leaves}
    # austin 3: one line per thread and sample, 'P<pid>;T<iid>:<tid>;frame;... <us>'
    samples = 0
    for line in text.splitlines():
        if not line.startswith('P'):
            continue
        samples += 1
        frames = line.rsplit(' ', 1)[0].split(';')[2:]
        leaf = frames and leaf_of(frames[-1])
        if leaf:
            leaves[leaf] = leaves.get(leaf, 0) + 1
    m = re.search(r'^# duration: (\d+)', text, re.M)
    return {'samples': samples, 'sampling_s': int(m.group(1)) / 1e6 if m else None, 'leaves': leaves}


# --------------------------------------------------------------------------
# Runs

def workload(py, seconds, d, attach):
    res = os.path.join(d, 'result.json')
    argv = [py.path, WORKLOAD, '--result', res, '--seconds', '%g' % seconds, '--ips', '%.0f' % py.ips]
    if attach:
        argv += ['--ready', os.path.join(d, 'ready'), '--go', os.path.join(d, 'go')]
    errf = open(os.path.join(d, 'target.stderr'), 'wb')
    try:
        return spawn(argv, stdout=errf, stderr=errf, env=target_env()), res
    finally:
        errf.close()


def unprofiled(py, seconds):
    d = tempfile.mkdtemp(prefix='none-', dir=TMP)
    try:
        w, res = workload(py, seconds, d, False)
        try:
            w.wait(timeout=60 + 10 * seconds)
        finally:
            stop(w)
        r = benchrun.read_json(res)
        if w.returncode != 0 or not r:
            raise RuntimeError('unprofiled workload: status %s: %s' % (
                w.returncode, benchrun.read_text(os.path.join(d, 'target.stderr'))[-300:]))
        return r
    finally:
        shutil.rmtree(d, ignore_errors=True)


def profiled(peer, py, rate, seconds):
    """One attach run: a dict of the figures, or RuntimeError."""
    d = tempfile.mkdtemp(prefix='%s-' % peer, dir=TMP)
    procs = []
    try:
        w, res = workload(py, seconds, d, True)
        procs.append(w)
        wait_ready(w, os.path.join(d, 'ready'))
        argv, env, ready = sampler_cmd(peer, py, rate, w.pid, d)
        with open(os.path.join(d, 'stdout'), 'wb') as o, open(os.path.join(d, 'stderr'), 'wb') as e:
            s = spawn(argv, stdout=o, stderr=e, env=env)
        procs.append(s)
        end = time.time() + 30
        while not ready(s):
            if exited(s) or time.time() > end:
                reap(s, 5)
                raise RuntimeError('%s did not start sampling (status %s): %s' % (
                    peer, s.returncode, (benchrun.read_text(os.path.join(d, 'stderr')) +
                                         benchrun.read_text(os.path.join(d, 'stdout'))).strip()[-300:]))
            time.sleep(0.002)
        open(os.path.join(d, 'go'), 'w').close()
        w.wait(timeout=60 + 20 * seconds)
        status, cpu = reap(s, 30)
        out = benchrun.read_text(os.path.join(d, 'stdout'))
        if status != 0:
            raise RuntimeError('%s exited with status %s: %s' % (
                peer, status, (benchrun.read_text(os.path.join(d, 'stderr')) + out).strip()[-300:]))
        result = benchrun.read_json(res)
        if w.returncode != 0 or not result:
            raise RuntimeError('workload: status %s' % w.returncode)
        got = parse_profile(peer, d, out)
        if not got['samples']:
            raise RuntimeError('%s reported no samples' % peer)
        got.update(cpu_s=cpu, result=result)
        return got
    finally:
        for p in procs[::-1]:
            stop(p)
        shutil.rmtree(d, ignore_errors=True)


def startup(peer, py, w, n):
    """The sampler attached to the waiting workload w at 1 Hz for 1 s, n
    times: ([CPU seconds], None), or (None, why it cannot sample py)."""
    cpus = []
    for _ in range(n):
        d = tempfile.mkdtemp(prefix='startup-', dir=TMP)
        try:
            argv, env, _ = sampler_cmd(peer, py, 1, w.pid, d, probe=True)
            with open(os.path.join(d, 'stdout'), 'wb') as o, open(os.path.join(d, 'stderr'), 'wb') as e:
                s = spawn(argv, stdout=o, stderr=e, env=env)
            try:
                status, cpu = reap(s, 30)
            finally:
                stop(s)
            text = (benchrun.read_text(os.path.join(d, 'stderr')) + benchrun.read_text(os.path.join(d, 'stdout')))
            if status != 0:
                text = re.sub(r'\x1b\[[0-9;]*m', '', text)
                # Its words, without austin's banner (drawn with _, | and backslashes).
                lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not re.search(r'[_|\\]{2}', ln)
                         and not re.match(r'^[\W_]*$', ln)]
                words = re.sub(r'^\W+', '', ' '.join(lines))
                # The first sentence says it.
                return None, 'exit status %d: "%s"' % (status, re.split(r'(?<=\.) ', words)[0][:240])
            cpus.append(cpu)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return cpus, None


def py315_elsewhere(py, w, smoke):
    """The note for the 3.15 sampler on another version: in its own words
    where a Debian 3.15 shares py's root (w: a waiting workload of py)."""
    note = '3.15 sampler on %s: n/a: it attaches to a 3.15 process only' % py.version
    p315 = find_python('3.15')
    if smoke or not (py.root and p315 and p315.root == py.root):
        return note + '.'
    probe = Py(py.minor, py.path, py.root)
    probe.inner = p315.inner
    _, why = startup('py315', probe, w, 1)
    return '%s (%s).' % (note, why or 'it did not say so: it sampled')


# --------------------------------------------------------------------------
# Figures

def accuracy(leaves, result):
    n = sum(leaves.get(k, 0) for k in SHARES)
    if not n or not result or 'shares' not in result:
        return None, 0
    return max(abs(100.0 * leaves.get(k, 0) / n - result['shares'][k]) for k in SHARES), n


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec='%.1f'):
    return '–' if x is None else spec % x


def summarize(runs, base, start_cpu, rate):
    """Medians of a cell's runs."""
    out = {'runs': len(runs)}
    out['us_all'] = med([r['cpu_s'] / r['samples'] * 1e6 for r in runs])
    out['us'] = med([max(0.0, r['cpu_s'] - start_cpu) / r['samples'] * 1e6 for r in runs]) \
        if start_cpu is not None else None
    out['hz'] = med([r['samples'] / r['sampling_s'] for r in runs if r['sampling_s']])
    out['samples'] = med([r['samples'] for r in runs])
    acc = [accuracy(r['leaves'], r['result']) for r in runs]
    out['accuracy'] = med([a for a, _ in acc])
    out['leaf_n'] = med([n for _, n in acc])
    sl = [100.0 * (r['result']['elapsed_s'] / b['elapsed_s'] - 1) for r, b in zip(runs, base) if b]
    out['slowdown'] = (statistics.median(sl), min(sl), max(sl), len(sl)) if sl else None
    return out


def sigma(n):
    """Sampling error of a 60 % share from n samples, in points."""
    return 100.0 * math.sqrt(0.24 / n) if n else None


def verdicts(c, p, rate, floor):
    """cspy (c) against a peer (p) on the same interpreter at rate."""
    out = []
    if rate:
        if c['us'] is None or p['us'] is None:
            out.append(('CPU/sample ≤ 1/3 of the peer (steady)', 'not measured', 'n/a'))
        else:
            lim = p['us'] / 3
            text = 'cspy %.1f µs vs ⅓ × %.1f = %.1f µs (ratio %.2f)' % (c['us'], p['us'], lim, p['us'] / c['us'])
            v = 'PASS' if c['us'] <= lim else 'FAIL'
            f = floor and floor.get(rate)
            if f:
                text += '; floor %.1f µs (wake-up + one 10-page read)' % f['read10_us']
                if v == 'FAIL' and lim < f['read10_us']:
                    v = 'FAIL (below the floor)'
            out.append(('CPU/sample ≤ 1/3 of the peer (steady)', text, v))
    if c['accuracy'] is not None and p['accuracy'] is not None:
        m = 2 * math.hypot(sigma(c['leaf_n']) or 0, sigma(p['leaf_n']) or 0)
        out.append(('accuracy no worse (± 2σ sampling error)', '%.2f vs %.2f points (2σ = %.2f)' % (
            c['accuracy'], p['accuracy'], m), 'PASS' if c['accuracy'] <= p['accuracy'] + m else 'FAIL'))
    if c['hz'] and p['hz']:
        out.append(('achieved rate no worse (1 % margin)', '%.0f vs %.0f Hz' % (c['hz'], p['hz']),
                    'PASS' if c['hz'] >= 0.99 * p['hz'] else 'FAIL'))
    return out


def measure_floor(py, seconds):
    """bench/floor.c on a running CPU mix: {rate: figures}, or None."""
    if not os.access(benchrun.FLOOR, os.X_OK):
        return None, 'no %s (make bench builds it)' % os.path.relpath(benchrun.FLOOR, REPO)
    d = tempfile.mkdtemp(prefix='floor-', dir=TMP)
    w, _ = workload(py, 600, d, False)
    out = {}
    try:
        time.sleep(0.3)
        for rate in (1000, 10000, 0):
            p = subprocess.run([benchrun.FLOOR, str(w.pid), str(rate), '%g' % seconds], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True, timeout=60 + 4 * seconds)
            if p.returncode != 0:
                return None, 'floor: status %d: %s' % (p.returncode, p.stderr.strip()[-200:])
            out[rate] = json.loads(p.stdout)
    finally:
        stop(w)
        shutil.rmtree(d, ignore_errors=True)
    return out, None


# --------------------------------------------------------------------------

def main():
    global TMP
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--out', help='directory for peers.md and peers.json (default bench/results; '
                    '--smoke: none, printed)')
    ap.add_argument('--pythons', help='minor versions (default %s; --smoke: 3.12,3.15)' % ','.join(WANTED))
    ap.add_argument('--seconds', type=float, help='work per run (default 1.5; --smoke 0.5)')
    ap.add_argument('--reps', type=int, help='runs per cell (default 3; --smoke 1)')
    ap.add_argument('--no-wait', action='store_true', help='do not wait while a test suite runs')
    opts = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    seconds = opts.seconds or (0.5 if opts.smoke else 1.5)
    reps = opts.reps or (1 if opts.smoke else 3)
    wanted = (opts.pythons or ('3.12,3.15' if opts.smoke else ','.join(WANTED))).split(',')
    TMP = tempfile.mkdtemp(prefix='cspy-peers-')
    t_start, load0 = time.time(), benchrun.loadavg()
    passed = failed = 0
    failures, notes, raw = [], [], []
    cells = {}                 # (minor, peer, rate) -> summary
    rows = []

    def case(name, ok, why=''):
        nonlocal passed, failed
        if ok:
            passed += 1
            log('  ok    %s' % name)
        else:
            failed += 1
            failures.append('%s: %s' % (name, why))
            log('  FAIL  %s: %s' % (name, why))

    waited = [0.0]

    def quiet():
        if opts.smoke or opts.no_wait:
            return
        t0 = time.time()
        while benchrun.suite_running():
            log('  (a test suite is running: waiting)')
            time.sleep(10)
        waited[0] += time.time() - t0

    pys = []
    try:
        if not os.access(benchrun.CSPY, os.X_OK):
            case('cspy binary', False, 'not found: %s (run make)' % benchrun.CSPY)
            wanted = []
        for minor in wanted:
            py = find_python(minor)
            if not py:
                notes.append('Python %s: not installed: skipped.' % minor)
                continue
            try:
                py.version = subprocess.check_output(
                    [py.path, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                    env=target_env(), universal_newlines=True).strip()
                py.ips = float(subprocess.check_output([py.path, WORKLOAD, '--calibrate'], env=target_env(),
                                                       universal_newlines=True).strip())
            except (OSError, subprocess.CalledProcessError, ValueError) as e:
                case('calibrate %s' % minor, False, str(e))
                continue
            pys.append(py)

        floor = None
        host = next((p for p in pys if not p.root), pys[0] if pys else None)
        if host and not opts.smoke:
            quiet()
            floor, why = measure_floor(host, 1.0)
            case('machine floor (bench/floor.c)', floor is not None, why)

        for py in pys:
            # Which samplers read this interpreter, and their start-up CPU.
            quiet()
            able, start_cpu = [], {}
            d = tempfile.mkdtemp(prefix='probe-', dir=TMP)
            w, _ = workload(py, 600, d, True)
            try:
                wait_ready(w, os.path.join(d, 'ready'))
                for peer in PEERS:
                    if peer == 'austin' and not austin_in_root()[0]:
                        notes.append('austin on %s: skipped: %s.' % (py.version, austin_in_root()[1]))
                        continue
                    if peer == 'py315' and py.minor != '3.15':
                        notes.append(py315_elsewhere(py, w, opts.smoke))
                        continue
                    cpus, why = startup(peer, py, w, 1 if opts.smoke else reps)
                    if why:
                        notes.append('%s cannot sample %s: skipped: %s.' % (PEER_NAMES[peer], py.version, why))
                        log('  skip  %s on %s: %s' % (peer, py.version, why))
                        if peer == 'cspy':
                            case('cspy start-up on %s' % py.version, False, why)
                        continue
                    able.append(peer)
                    start_cpu[peer] = med(cpus)
            except RuntimeError as e:
                case('workload on %s' % py.version, False, str(e))
                continue
            finally:
                stop(w)
                shutil.rmtree(d, ignore_errors=True)
            rates = [1000] if opts.smoke else RATES
            got = dict(((peer, rate), []) for rate in rates for peer in able)
            base = dict((k, []) for k in got)
            for rep in range(reps):
                for k, rate in enumerate(rates):
                    # One unprofiled run per rate and repetition, next to the
                    # samplers' runs (before them or after, alternately); the
                    # samplers' order turns with the repetition.
                    group = able[rep % len(able):] + able[:rep % len(able)] if able else []
                    seq = group if opts.smoke else ['none'] + group if (rep + k) % 2 == 0 else group + ['none']
                    b, done = None, []
                    for peer in seq:
                        quiet()
                        if peer == 'none':
                            try:
                                b = unprofiled(py, seconds)
                            except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                                case('unprofiled %s (run %d)' % (py.version, rep + 1), False, str(e) or 'timed out')
                            continue
                        name = '%s %s %s (run %d)' % (PEER_NAMES[peer], py.version, RATE_NAMES[rate], rep + 1)
                        try:
                            r = profiled(peer, py, rate, seconds)
                        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                            case(name, False, str(e) or 'timed out')
                            continue
                        case(name, True)
                        got[(peer, rate)].append(r)
                        done.append((peer, r))
                    for peer, r in done:
                        base[(peer, rate)].append(b)
                        raw.append({'python': py.version, 'sampler': peer, 'rate': rate,
                                    'cpu_s': r['cpu_s'], 'samples': r['samples'], 'sampling_s': r['sampling_s'],
                                    'leaves': r['leaves'], 'result': r['result'], 'cspy_stats': r.get('stats'),
                                    'unprofiled': b, 'startup_cpu_s': start_cpu.get(peer)})
            for (peer, rate), runs in got.items():
                if runs:
                    s = summarize(runs, base[(peer, rate)], start_cpu.get(peer), rate)
                    cells[(py.minor, peer, rate)] = s
                    rows.append((py, peer, rate, s))
    finally:
        for p in list(LIVE.values()):
            stop(p)
        shutil.rmtree(TMP, ignore_errors=True)

    # The report.
    took = time.time() - t_start
    cpu, ncpu, kernel = benchrun.machine()
    L = ['# cspy side by side with CPython 3.15\'s sampler and Austin%s' % (
        ' (smoke run: short, one run each; not results)' if opts.smoke else ''), '',
        'Written by `bench/peers.py`%s on %s in %.1f min%s. Machine: %s, %s cores, Linux %s. Load average '
        '(1, 5, 15 min) at the start %s, at the end %s. cspy commit %s. How it is measured: `bench/README.md` '
        '("Side by side").' % (' --smoke' if opts.smoke else '', time.strftime('%Y-%m-%d %H:%M'), took / 60,
                               ' (of which %.1f min waiting for test suites to end)' % (waited[0] / 60)
                               if waited[0] >= 30 else '', cpu, ncpu, kernel, load0, benchrun.loadavg(),
                               benchrun.git_commit()), '',
        'Pythons: %s.' % ', '.join('%s (`%s`%s)' % (p.version, p.shown(), ', in its Debian root' if p.root else '')
                                   for p in pys), '',
        'Every sampler attaches to the running CPU mix (22 frames deep; %g s of work per run), nonblocking; '
        '%d run%s per cell, medians. CPU µs/sample: the sampler\'s rusage (os.wait4; user + system; for the '
        '3.15 sampler its whole interpreter) ÷ the samples it reports; "steady" takes away its start-up (the '
        'same command at 1 Hz for 1 s, median). Achieved Hz: its samples ÷ its own sampling time. Accuracy: '
        'max |share of share_60/30/10 among leaf samples − the workload\'s own measured share|, points '
        '(σ: the sampling error of a 60 %% share from that many leaf samples). Slowdown: the workload\'s own '
        'elapsed time vs an unprofiled run of the same work next to it (before or after, alternately). '
        '"max": cspy `-r 1000000` '
        '(capped at its maximum), the 3.15 sampler `-r 1000000`, austin `-i 0`.' % (
            seconds, reps, '' if reps == 1 else 's'), '']
    if floor:
        L += ['Machine floor (`bench/floor.c`, on the running CPU mix of %s): 1 kHz %.1f µs bare wake-up, %.1f µs '
              'with one 10-page read; 10 kHz %.1f / %.1f µs; no sleeping: %.1f µs per 10-page read.' % (
                  host.version, floor[1000]['sleep_us'], floor[1000]['read10_us'], floor[10000]['sleep_us'],
                  floor[10000]['read10_us'], floor[0]['read10_us']), '']
    L += ['| Python | sampler | rate | runs | samples | achieved Hz | CPU µs/sample: steady (whole process) '
          '| ÷ cspy (steady) | accuracy, points (σ) | slowdown % median (min – max) |', '|' + '---|' * 10]
    for py, peer, rate, s in rows:
        c = cells.get((py.minor, 'cspy', rate))
        ratio = s['us'] / c['us'] if c and c['us'] and s['us'] is not None else None
        sl = s['slowdown']
        L.append('| %s | %s | %s | %d | %.0f | %.0f | %s (%s) | %s | %s (%s) | %s |' % (
            py.version, PEER_NAMES[peer], RATE_NAMES[rate], s['runs'], s['samples'], s['hz'] or 0,
            fmt(s['us']), fmt(s['us_all']), '1' if peer == 'cspy' else fmt(ratio, '%.2f'),
            fmt(s['accuracy'], '%.2f'), fmt(sigma(s['leaf_n']), '%.2f'),
            '%+.1f (%+.1f – %+.1f)' % sl[:3] if sl else '–'))
    tg = []
    for py in pys:
        for peer in ('py315', 'austin'):
            for rate in RATES:
                c, p = cells.get((py.minor, 'cspy', rate)), cells.get((py.minor, peer, rate))
                if c and p:
                    for what, text, v in verdicts(c, p, rate, floor):
                        tg.append('| %s | %s | %s | %s | %s | %s |' % (py.version, PEER_NAMES[peer], RATE_NAMES[rate],
                                                                   what, text, v))
    if tg and not opts.smoke:
        L += ['', '## Targets (issue 18: cspy ≤ ⅓ of either peer\'s CPU per sample at 1 and 10 kHz, no worse '
              'on accuracy or achieved rate; same interpreter)', '',
              '| Python | peer | rate | target | measured | verdict |', '|---|---|---|---|---|---|'] + tg
    if notes:
        L += ['', '## Not compared', ''] + ['- ' + n for n in notes]
    if failures:
        L += ['', '## Cases that failed to run', ''] + ['- ' + f.replace('\n', ' ') for f in failures]
    text = '\n'.join(L) + '\n'
    if not opts.smoke:
        out = opts.out or os.path.join(BENCH, 'results')
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, 'peers.md'), 'w') as f:
            f.write(text)
        with open(os.path.join(out, 'peers.json'), 'w') as f:
            json.dump({'floor': floor, 'runs': raw, 'seconds': seconds, 'reps': reps}, f, indent=1)
    print(text)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
