#!/usr/bin/env python3
"""`make bench`: cspy's costs and accuracy on fixed workloads, as markdown.

    python3 bench/run.py [--smoke] [--out DIR] [--pythons 3.12,3.11] [--no-austin]
                         [--only cpumix,...,peers] [--no-dump]

Full mode (the default; 20-30 minutes on a 2-core machine) writes
bench/results/bench.md (and bench.json, and dump.md from bench/dump_time.py).
--smoke runs a reduced matrix with short workloads (about a second per case,
a minute or two in all) into a temporary directory (removed afterwards; the
tables are printed), and its last line is "N passed, N failed": a case fails
when it does not RUN (cspy or a workload crashed or timed out, no stats
file, no samples, no profile), never because a performance target is missed.

What is measured, and how, is in bench/README.md. In short: the workloads of
bench/workloads/ do a fixed amount of work and time themselves; cspy records
them (`cspy record -f raw`, attach or launch, each rate, blocking and
--nonblocking, each interpreter) with CSPY_STATS=FILE, which gives cspy's own
CPU time, process_vm_readv calls, samples, lag, time to the first sample and
peak RSS; the raw profile gives the measured shares of the CPU mix.

Interpreters: `pyenv root`/versions/*/bin/python and /usr/bin/python3.N, one
per minor version (pyenv's first), of 2.7, 3.8, 3.11, 3.12, 3.13. Every
process started is ended by PID (SIGTERM, then SIGKILL) at the end, on error
and on SIGINT/SIGTERM/SIGHUP. In full mode, before each case, the run waits
while a test suite (tests/run_all.sh) is running, since it would distort the
timings and the suite's own timing checks would suffer (an end-to-end suite
tests/e2e/*.py of any checkout counts too).
"""
import argparse
import atexit
import contextlib
import glob
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = os.path.join(REPO, 'bench', 'workloads')
RESULTS = os.path.join(REPO, 'bench', 'results')
WANTED = ['2.7', '3.8', '3.11', '3.12', '3.13', '3.14', '3.15', '3.14t']
# The smoke run only proves every case runs: the oldest, a 3.11+ frame
# family, the newest and free-threaded (make test's end-to-end tiers read
# every interpreter).
SMOKE_WANTED = ['2.7', '3.12', '3.15', '3.14t']
MAX_RATE = 1000000                 # "as fast as possible" (--rate's cap)
RATE_NAMES = {100: '100 Hz', 1000: '1 kHz', 10000: '10 kHz', MAX_RATE: 'max'}

OPTS = None
LIVE = {}                          # pid -> Popen: every process we started and not yet reaped
TMP = None
WAITED = [0.0]                     # seconds spent waiting for test suites


def build_dir():
    b = os.environ.get('BUILD') or 'build'
    return b if os.path.isabs(b) else os.path.join(REPO, b)


CSPY = os.path.join(build_dir(), 'cspy')
PROFILE_BENCH = os.path.join(build_dir(), 'bench', 'profile_bench')
FLOOR = os.path.join(build_dir(), 'bench', 'floor')


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Processes: all started in their own session, all ended by PID.

def spawn(cmd, **kw):
    kw.setdefault('stdin', subprocess.DEVNULL)
    kw.setdefault('start_new_session', True)
    p = subprocess.Popen([str(c) for c in cmd], **kw)
    LIVE[p.pid] = p
    return p


def stop(p, grace=5.0):
    """End a process we started: SIGTERM (cspy then writes its profile and
    ends a launched program), SIGKILL after `grace` seconds; its process
    group too (a launched program)."""
    if p is None:
        return
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    LIVE.pop(p.pid, None)


def stop_all():
    for p in list(LIVE.values()):
        stop(p, grace=2.0)
    if TMP and os.path.isdir(TMP) and not (OPTS and OPTS.keep):
        shutil.rmtree(TMP, ignore_errors=True)


def on_signal(sig, frame):
    raise SystemExit(128 + sig)


def wait_for(pred, timeout, step=0.005):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def ancestors():
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open('/proc/%d/stat' % pid) as f:
                pid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def suite_running():
    try:
        out = subprocess.run(['pgrep', '-f', r'tests/run_all\.sh|tests/e2e/[a-z_]+\.py'], stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.split()
    except OSError:
        return False
    mine = ancestors()
    return any(int(p) not in mine for p in out)


def wait_quiet():
    """Full mode: no measurement while a test suite runs on this machine."""
    if OPTS.smoke or not suite_running():
        return
    log('  (a test suite is running: waiting for it to finish)')
    t0 = time.time()
    while suite_running():
        time.sleep(10)
    time.sleep(2)
    WAITED[0] += time.time() - t0


# --------------------------------------------------------------------------
# Interpreters

def interpreters():
    try:
        root = subprocess.check_output(['pyenv', 'root'], universal_newlines=True,
                                       stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.environ.get('PYENV_ROOT', '')
    cands = sorted(glob.glob(os.path.join(root, 'versions', '*', 'bin', 'python'))) if root else []
    cands += [p for p in sorted(glob.glob('/usr/bin/python3.*'))
              if re.match(r'python3\.\d+$', os.path.basename(p))]
    # What make pythons provisioned (tests/pythons.sh): Debian unstable's
    # (run in their root, which sees the repository at its own path) and
    # the free-threaded builds.
    spec = importlib.util.spec_from_file_location('e2elib', os.path.join(REPO, 'tests', 'e2e', 'e2elib.py'))
    e2e = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(e2e)
    os.environ['CSPY_CHROOT_BIND'] = REPO
    cands += [exe for exe, _, _ in e2e.provisioned([])]
    wanted = OPTS.pythons.split(',') if OPTS.pythons else SMOKE_WANTED if OPTS.smoke else WANTED
    found = {}
    for py in cands:
        try:
            v = subprocess.check_output([py, '-c', "import sys, sysconfig; print('%d.%d.%d' % "
                                         "sys.version_info[:3] + ('t' if sysconfig.get_config_var("
                                         "'Py_GIL_DISABLED') else '') + ('d' if hasattr(sys, "
                                         "'gettotalrefcount') else ''))"],
                                        universal_newlines=True, stderr=subprocess.DEVNULL).strip()
        except (OSError, subprocess.CalledProcessError):
            continue
        if v.endswith('d'):
            continue                  # a debug build: not what users run at speed
        minor = '.'.join(v.split('.')[:2]).rstrip('t') + ('t' if v.endswith('t') else '')
        if minor in wanted and minor not in found:
            shown = py.replace(root, '$(pyenv root)') if root else py
            found[minor] = {'minor': minor, 'version': v, 'path': py,
                            'shown': shown.replace(e2e.pythons_cache(), '$CSPY_PYTHONS')}
    missing = [m for m in wanted if m not in found]
    pys = [found[m] for m in wanted if m in found]
    return pys, missing


def calibrate(py):
    out = subprocess.check_output([py['path'], os.path.join(WORKLOADS, 'cpumix.py'), '--calibrate'],
                                  universal_newlines=True)
    return float(out.strip())


# --------------------------------------------------------------------------
# One run

class Run(object):
    """One execution of a workload, profiled by cspy or austin, or not."""

    def __init__(self, tool, py, wl, mode, rate, nb, seconds, flags=()):
        self.tool, self.py, self.wl, self.mode, self.rate, self.nb = tool, py, wl, mode, rate, nb
        self.flags = tuple(flags)
        self.seconds = seconds
        self.ok = False
        self.why = ''
        self.stats = None
        self.result = None
        self.leaves = None        # leaf function -> samples
        self.lag_warning = False
        self.wall = None
        self.rusage_cpu = None    # austin: its own CPU time (wait4)
        self.lines = None         # austin: output lines
        self.tool_wall = None     # austin: its wall time, start to exit
        self.with_frames = None   # austin: lines with at least one frame

    def label(self):
        if self.tool == 'none':
            return '%s %s unprofiled' % (self.py['minor'], self.wl)
        return '%s %s %s %s %s %s%s' % (self.tool, self.py['minor'], self.wl, self.mode,
                                        RATE_NAMES.get(self.rate, self.rate),
                                        'nonblocking' if self.nb else 'blocking',
                                        ''.join(' ' + f for f in self.flags))


def wl_cmd(py, wl, res, seconds, extra=()):
    return [py['path'], os.path.join(WORKLOADS, wl + '.py'), '--result', res,
            '--seconds', '%g' % seconds, '--ips', '%.0f' % py['ips']] + list(extra)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def timeout_for(seconds):
    return 60 + 20 * seconds


def run_case(tool, py, wl, mode, rate, nb, seconds, flags=()):
    """Run `wl` once under `tool` ('cspy', 'austin' or 'none'); a Run.
    flags: more cspy options (e.g. --native)."""
    r = Run(tool, py, wl, mode, rate, nb, seconds, flags)
    d = tempfile.mkdtemp(prefix='run-', dir=TMP)
    res, stats, prof = os.path.join(d, 'result.json'), os.path.join(d, 'stats.json'), \
        os.path.join(d, 'profile.txt')
    errf = open(os.path.join(d, 'stderr'), 'wb')
    env = dict(os.environ, CSPY_STATS=stats, PYTHONDONTWRITEBYTECODE='1')
    cspy_args = [CSPY, 'record', '-r', rate, '-f', 'raw', '-o', prof, '--hideprogress'] + \
        (['--nonblocking'] if nb else []) + list(flags)
    if mode == 'attach' and rate == MAX_RATE and not nb:
        # Pausing as fast as possible holds the program nearly all the
        # time: its work would not end within the timeout. cspy stops
        # after a while instead; the work then ends unpaused. The
        # per-sample figures do not depend on the length.
        cspy_args += ['-d', '%g' % max(1.0, 2 * seconds)]
    interval_us = max(1, int(round(1e6 / rate))) if rate else 0
    procs = []
    t0 = time.time()
    try:
        if tool == 'none':
            w = spawn(wl_cmd(py, wl, res, seconds), stdout=errf, stderr=errf, env=env)
            procs.append(w)
            w.wait(timeout=timeout_for(seconds))
            if w.returncode != 0:
                raise RuntimeError('workload exited with status %s' % w.returncode)
        elif mode == 'launch' and tool == 'cspy':
            c = spawn(cspy_args + ['--'] + wl_cmd(py, wl, res, seconds),
                      stdout=errf, stderr=errf, env=env)
            procs.append(c)
            c.wait(timeout=timeout_for(seconds))
            if c.returncode != 0:
                raise RuntimeError('cspy exited with status %s' % c.returncode)
        elif mode == 'launch':
            a0 = time.time()
            c = spawn(['austin', '-i', interval_us, '-o', prof] + wl_cmd(py, wl, res, seconds),
                      stdout=errf, stderr=errf, env=env)
            procs.append(c)
            wait_austin(r, c, a0, timeout_for(seconds))
        else:
            ready, go = os.path.join(d, 'ready'), os.path.join(d, 'go')
            w = spawn(wl_cmd(py, wl, res, seconds, ['--ready', ready, '--go', go]),
                      stdout=errf, stderr=errf, env=env)
            procs.append(w)
            if not wait_for(lambda: os.path.exists(ready) or w.poll() is not None, 60):
                raise RuntimeError('workload not ready after 60 s')
            if w.poll() is not None:
                raise RuntimeError('workload exited with status %s before it was ready' % w.returncode)
            if tool == 'cspy':
                cerr = os.path.join(d, 'cspy.stderr')
                with open(cerr, 'wb') as cerrf:
                    c = spawn(cspy_args + ['--pid', w.pid], stdout=errf, stderr=cerrf, env=env)
                procs.append(c)
                if not wait_for(lambda: 'Sampling process' in read_text(cerr) or c.poll() is not None, 30):
                    raise RuntimeError('cspy did not start sampling within 30 s')
                if c.poll() is not None:
                    raise RuntimeError('cspy exited with status %s: %s' % (c.returncode, read_text(cerr).strip()[-500:]))
            else:
                a0 = time.time()
                c = spawn(['austin', '-i', interval_us, '-p', w.pid, '-o', prof],
                          stdout=errf, stderr=errf, env=env)
                procs.append(c)
                time.sleep(0.3)         # austin's own start-up wait is 100 ms
                if c.poll() is not None:
                    raise RuntimeError('austin exited with status %s' % c.returncode)
            open(go, 'w').close()
            w.wait(timeout=timeout_for(seconds))
            if w.returncode != 0:
                raise RuntimeError('workload exited with status %s' % w.returncode)
            if tool == 'austin':
                wait_austin(r, c, a0, 30)
            else:
                c.wait(timeout=30)
                if c.returncode != 0:
                    raise RuntimeError('cspy exited with status %s: %s'
                                       % (c.returncode, read_text(cerr).strip()[-500:]))
        r.wall = time.time() - t0
        r.result = read_json(res)
        if r.result is None:
            raise RuntimeError('no workload result')
        if tool == 'cspy':
            r.stats = read_json(stats)
            if r.stats is None:
                raise RuntimeError('no CSPY_STATS file')
            if not r.stats.get('samples'):
                raise RuntimeError('no samples')
            text = read_text(prof)
            if not text.strip():
                raise RuntimeError('empty profile')
            r.leaves = leaf_counts(text)
            allerr = read_text(os.path.join(d, 'stderr')) + read_text(os.path.join(d, 'cspy.stderr'))
            r.lag_warning = 'falling behind' in allerr
        elif tool == 'austin':
            text = read_text(prof)
            r.lines, r.with_frames, r.leaves = austin_counts(text)
            if not r.lines:
                raise RuntimeError('austin wrote no samples')
            if mode == 'launch':
                # os.wait4's rusage includes the target (austin's child,
                # reaped by austin): take away what the target measured of
                # itself (os.times at its end; its exit is not counted).
                r.rusage_cpu = max(0.0, r.rusage_cpu - r.result['proc_cpu_s'])
        r.ok = True
    except subprocess.TimeoutExpired:
        r.why = 'timed out'
    except RuntimeError as e:
        r.why = str(e)
    finally:
        for p in procs[::-1]:
            stop(p)
        errf.close()
        if not r.ok:
            tail = read_text(os.path.join(d, 'stderr')).strip()
            if tail:
                r.why += ' (stderr: %s)' % tail[-300:].replace('\n', ' | ')
        shutil.rmtree(d, ignore_errors=True)
    return r


def wait_austin(r, c, a0, timeout):
    """Reap austin with os.wait4: its own rusage (plus its reaped child's)."""
    end = time.time() + timeout
    while time.time() < end:
        pid, status, ru = os.wait4(c.pid, os.WNOHANG)
        if pid:
            c.returncode = os.waitstatus_to_exitcode(status) \
                if hasattr(os, 'waitstatus_to_exitcode') else status
            LIVE.pop(c.pid, None)
            r.rusage_cpu = ru.ru_utime + ru.ru_stime
            r.tool_wall = time.time() - a0
            return
        time.sleep(0.01)
    raise RuntimeError('austin did not exit in time')


RE_RAW = re.compile(r'^(.*) (\d+)$')


def leaf_name(label):
    return label.rsplit(' (', 1)[0] if label.endswith(')') else label


def leaf_counts(text):
    out = {}
    for line in text.splitlines():
        m = RE_RAW.match(line)
        if m:
            leaf = leaf_name(m.group(1).split(';')[-1])
            out[leaf] = out.get(leaf, 0) + int(m.group(2))
    return out


def austin_counts(text):
    """austin 1.x: one line per thread and sample: 'Thread ID;fn (file);L12;... METRIC'."""
    lines, with_frames, out = 0, 0, {}
    for line in text.splitlines():
        if not line.startswith('Thread '):
            continue
        lines += 1
        frames = [f for f in line.rsplit(' ', 1)[0].split(';')[1:] if not re.match(r'^L\d+$', f)]
        if frames:
            with_frames += 1
            leaf = leaf_name(frames[-1])
            out[leaf] = out.get(leaf, 0) + 1
    return lines, with_frames, out


SHARES = ('share_60', 'share_30', 'share_10')


def accuracy(r):
    """Max |measured share - workload's own share| in points, or None."""
    if not r.ok or not r.result or 'shares' not in r.result or not r.leaves:
        return None
    n = sum(r.leaves.get(k, 0) for k in SHARES)
    if n == 0:
        return None
    return max(abs(100.0 * r.leaves.get(k, 0) / n - r.result['shares'][k]) for k in SHARES)


# --------------------------------------------------------------------------
# The matrix

class Cell(object):
    def __init__(self, wl, mode, rate, nb, seconds, pairs=0, flags=()):
        self.wl, self.mode, self.rate, self.nb, self.seconds, self.pairs = wl, mode, rate, nb, seconds, pairs
        self.flags = tuple(flags)       # more cspy options (--native)


def plan(smoke, pys):
    """{minor: [Cell]} (see README: "pruning")."""
    out = {}
    newest = pys[-1]['minor'] if pys else None
    for py in pys:
        m = py['minor']
        cells = []
        if smoke:
            cells += [Cell('cpumix', 'launch', 1000, True, 1.0),
                      Cell('cpumix', 'attach', 100, False, 1.0)]
            if m == newest:
                cells += [Cell('cpumix', 'launch', 100, False, 0.5, pairs=1),
                          Cell('cpumix', 'attach', 10000, True, 0.5),
                          Cell('cpumix', 'attach', MAX_RATE, True, 0.5),
                          Cell('threads8', 'attach', 100, False, 0.5)]
            if m == newest or m == pys[0]['minor']:
                cells += [Cell(w, 'launch', 1000, True, 0.5)
                          for w in ('deep300', 'threads8', 'threads100', 'idle')]
        else:
            # Sized for 20-30 minutes on 2 cores (about 6 s per run with
            # start-up): the targets' cells everywhere, slowdown pairs for
            # the 100 Hz blocking targets everywhere and for 1 kHz on 3.11+.
            new = tuple(int(x) for x in m.rstrip('t').split('.')) >= (3, 11)
            S = 2.0
            for rate in (100, 1000, 10000, MAX_RATE):
                for nb in (False, True):
                    # Blocking at high rates slows the target a lot: less
                    # work, same per-sample figures.
                    s = S * (0.25 if rate == MAX_RATE and not nb else 0.5 if rate == 10000 and not nb else 1)
                    cells.append(Cell('cpumix', 'attach', rate, nb, s))
            cells += [Cell('cpumix', 'launch', 100, False, S, pairs=9 if new else 5),
                      # Accuracy at 100 Hz: 2 s give 200 samples, whose
                      # sampling error alone is about 3.5 points on a 60 %
                      # share; 10 s give 1000 (about 1.5 points).
                      Cell('cpumix', 'launch', 100, True, 5 * S),
                      Cell('cpumix', 'launch', 1000, False, S),
                      Cell('cpumix', 'launch', 1000, True, S, pairs=5 if new else 0),
                      Cell('cpumix', 'launch', 10000, True, S),
                      Cell('cpumix', 'launch', MAX_RATE, True, S)]
            if new:             # issue 18: --native's cost beside the same cell without it
                cells.append(Cell('cpumix', 'attach', 1000, False, S, flags=('--native',)))
            S = 1.5             # the other workloads
            cells += [Cell('deep300', 'attach', 1000, nb, S) for nb in (False, True)]
            cells += [Cell('deep300', 'launch', rate, True, S) for rate in (100, MAX_RATE)]
            cells += [Cell('threads8', 'launch', 100, nb, S) for nb in (False, True)]
            cells += [Cell('threads8', 'attach', 1000, True, S)]
            cells += [Cell('threads100', 'launch', 100, False, S, pairs=9 if new else 0),
                      Cell('threads100', 'launch', 100, True, S),
                      Cell('threads100', 'attach', 100, True, S)]
            cells += [Cell('idle', 'launch', 100, False, S, pairs=5 if new else 0),
                      Cell('idle', 'attach', 1000, True, S)]
        out[m] = cells
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class CellResult(object):
    def __init__(self, py, cell):
        self.py, self.cell = py, cell
        self.runs, self.base = [], []
        self.failures = []

    def ok_runs(self):
        return [r for r in self.runs if r.ok]

    def metric(self, f):
        return med([f(r) for r in self.ok_runs()])

    def summary(self, startup):
        """The figures of the table (medians over the profiled runs)."""
        st = startup.get((self.py['minor'], self.cell.wl)) or {}
        s0 = st.get('cpu_s', 0.0)
        r0, t0 = st.get('vm_reads', 0), st.get('thread_samples', 0)
        runs = self.ok_runs()
        if not runs:
            return None

        def g(k):
            return lambda r: r.stats[k]
        accs = [a for a in (accuracy(r) for r in runs) if a is not None]
        samples = self.metric(g('samples'))
        achieved = self.metric(lambda r: r.stats['samples'] / r.stats['elapsed_s'] if r.stats['elapsed_s'] else None)
        out = {
            'runs': len(runs), 'samples': samples, 'achieved_hz': achieved,
            'ratio': achieved / self.cell.rate if achieved else None,
            'max_lag_ms': self.metric(lambda r: r.stats['max_lag_s'] * 1e3),
            'lag_warning': any(r.lag_warning for r in runs),
            'us': self.metric(lambda r: r.stats['cpu_s'] / r.stats['samples'] * 1e6),
            'us_steady': self.metric(lambda r: max(0.0, r.stats['cpu_s'] - s0) / r.stats['samples'] * 1e6),
            'reads': self.metric(lambda r: r.stats['vm_reads'] / r.stats['samples']),
            'reads_thread': self.metric(lambda r: r.stats['vm_reads'] / r.stats['thread_samples']
                                        if r.stats['thread_samples'] else None),
            'reads_thread_steady': self.metric(
                lambda r: max(0.0, r.stats['vm_reads'] - r0) / (r.stats['thread_samples'] - t0)
                if r.stats['thread_samples'] > t0 else None),
            'threads': self.metric(lambda r: r.stats['thread_samples'] / r.stats['samples']),
            'kept': self.metric(lambda r: sum(r.leaves.values()) / float(r.stats['thread_samples'])
                                if r.stats['thread_samples'] else None),
            'errors': sum(r.stats['errors'] for r in runs),
            'accuracy': self.metric(accuracy),
            'accuracy_max': max(accs) if accs else None,
            'rss_kb': self.metric(g('peak_rss_kb')),
            # Blocking mode: how long each pause held the program up, and
            # that as a share of the run's wall time (the slowdown floor).
            'held_us': self.metric(lambda r: r.stats['paused_s'] / r.stats['pauses'] * 1e6
                                   if r.stats.get('pauses') else None),
            'held_pct': self.metric(lambda r: 100.0 * r.stats['paused_s'] / r.stats['elapsed_s']
                                    if r.stats.get('pauses') and r.stats['elapsed_s'] else None),
        }
        sl, cl = [], []
        for r, b in zip(self.runs, self.base):
            if r.ok and b.ok and b.result['elapsed_s'] > 0:
                sl.append(100.0 * (r.result['elapsed_s'] / b.result['elapsed_s'] - 1))
            if r.ok and b.ok and b.result.get('proc_cpu_s', 0) > 0:
                cl.append(100.0 * (r.result['proc_cpu_s'] / b.result['proc_cpu_s'] - 1))
        out['slowdown'] = (statistics.median(sl), min(sl), max(sl), len(sl)) if sl else None
        # Issue 18: the program's own CPU time for the same work, pair by
        # pair, beside the wall time. On this VM it moves as much as the
        # wall time (±15 % over a 2 s run); the verdict is the share of the
        # run the pauses held it (cspy's count, first interrupt to let-go).
        out['cpu_slowdown'] = (statistics.median(cl), min(cl), max(cl), len(cl)) if cl else None
        out['held_p50'] = self.metric(lambda r: r.stats.get('pause_p50_us') if r.stats.get('pauses') else None)
        out['held_p90'] = self.metric(lambda r: r.stats.get('pause_p90_us') if r.stats.get('pauses') else None)
        return out


class Counter(object):
    def __init__(self):
        self.passed, self.failed, self.failures = 0, 0, []

    def case(self, name, ok, why=''):
        if ok:
            self.passed += 1
            log('  ok    %s' % name)
        else:
            self.failed += 1
            self.failures.append('%s: %s' % (name, why))
            log('  FAIL  %s: %s' % (name, why))


def run_cell(py, cell, counter):
    cr = CellResult(py, cell)
    wait_quiet()
    if cell.pairs:
        for i in range(cell.pairs):
            order = ('none', 'cspy') if i % 2 == 0 else ('cspy', 'none')
            got = {}
            for tool in order:
                got[tool] = run_case(tool, py, cell.wl, cell.mode, cell.rate, cell.nb, cell.seconds,
                                     cell.flags)
            cr.runs.append(got['cspy'])
            cr.base.append(got['none'])
    else:
        cr.runs.append(run_case('cspy', py, cell.wl, cell.mode, cell.rate, cell.nb, cell.seconds,
                                cell.flags))
    for r in cr.runs + cr.base:
        if not r.ok:
            cr.failures.append(r.why)
    name = cr.runs[0].label() + (' (%d pairs)' % cell.pairs if cell.pairs else '')
    bad = [r for r in cr.runs + cr.base if not r.ok]
    counter.case(name, not bad, '; '.join('%s: %s' % (r.label(), r.why) for r in bad))
    return cr


@contextlib.contextmanager
def ready_workload(py, wl, prefix, lifetime):
    """A workload started for attach mode, once it is ready (its ready file
    written): yields (Popen, its temporary directory); both are removed
    afterwards. RuntimeError when it does not start."""
    wait_quiet()
    d = tempfile.mkdtemp(prefix=prefix, dir=TMP)
    ready = os.path.join(d, 'ready')
    w = spawn(wl_cmd(py, wl, os.path.join(d, 'res.json'), lifetime, ['--ready', ready]),
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for(lambda: os.path.exists(ready) or w.poll() is not None, 60) or w.poll() is not None:
            raise RuntimeError('workload did not start')
        yield w, d
    finally:
        stop(w)
        shutil.rmtree(d, ignore_errors=True)


def record_stats(pid, d, args, stats, timeout):
    """`CSPY_STATS=stats cspy record --pid PID ARGS --nonblocking -f raw` into
    d; its stats, or RuntimeError when it failed or took no sample."""
    c = spawn([CSPY, 'record', '--pid', pid] + args + ['--nonblocking', '-f', 'raw', '-o',
                                                        os.path.join(d, 'p.txt'), '--hideprogress'],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, CSPY_STATS=stats))
    try:
        c.wait(timeout=timeout)
    finally:
        stop(c)
    s = read_json(stats)
    if c.returncode != 0 or not s or not s.get('samples'):
        raise RuntimeError('cspy record --pid %s: status %s, stats %s' % (' '.join(map(str, args)),
                                                                         c.returncode, s))
    return s


def measure_startup(py, wl, n, counter):
    """Attach to a running workload for 50 ms, n times: cspy's start-up cost
    (CPU, reads; subtracted for the steady-state figures) and the time from
    `cspy record --pid` to the first sample."""
    runs, why = [], ''
    try:
        with ready_workload(py, wl, 'startup-', 600) as (w, d):
            time.sleep(0.3)                 # threads started, in the work loop
            for i in range(n):
                runs.append(record_stats(w.pid, d, ['-r', '100', '-d', '0.05'],
                                         os.path.join(d, 'stats%d.json' % i), 30))
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        why = str(e) or 'timed out'
    counter.case('cspy %s %s attach start-up (%d runs)' % (py['minor'], wl, n), not why, why)
    if why:
        return None
    return {'cpu_s': med([s['cpu_s'] for s in runs]), 'vm_reads': med([s['vm_reads'] for s in runs]),
            'thread_samples': med([s['thread_samples'] for s in runs]),
            'first_sample_s': [s['first_sample_s'] for s in runs]}


def measure_floor(py, seconds, counter):
    """The machine's floor under any sampler's CPU per sample (bench/floor.c),
    on a running CPU-mix workload: {rate: {sleep_us, read1_us, read10_us}}
    for 1 kHz, 10 kHz and 0 (as fast as possible, no sleeping)."""
    out, why = {}, ''
    try:
        with ready_workload(py, 'cpumix', 'floor-', 600) as (w, d):
            for rate in (1000, 10000, 0):
                p = subprocess.run([FLOOR, str(w.pid), str(rate), str(seconds)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, universal_newlines=True,
                                   timeout=60 + 4 * seconds)
                if p.returncode != 0:
                    raise RuntimeError('floor: status %d: %s' % (p.returncode, p.stderr.strip()[-300:]))
                out[rate] = json.loads(p.stdout)
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
        why = str(e) or 'timed out'
    counter.case('machine floor (bench/floor.c, Python %s CPU mix)' % py['minor'], not why, why)
    return None if why else out


def measure_rss(py, seconds, counter):
    """cspy's peak RSS after a long run at the highest rate (attach,
    nonblocking) on the CPU mix."""
    s, why = None, ''
    try:
        with ready_workload(py, 'cpumix', 'rss-', seconds * 3 + 60) as (w, d):
            s = record_stats(w.pid, d, ['-r', MAX_RATE, '-d', '%g' % seconds],
                             os.path.join(d, 'stats.json'), seconds + 60)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        why = str(e) or 'timed out'
    counter.case('cspy %s peak RSS run (%g s at max rate)' % (py['minor'], seconds), not why, why)
    return s


def austin_probe(py):
    """None if austin samples this interpreter, else the reason."""
    d = tempfile.mkdtemp(prefix='austin-probe-', dir=TMP)
    out = os.path.join(d, 'a.txt')
    script = os.path.join(d, 'p.py')
    with open(script, 'w') as f:
        f.write('import time\ndef spin():\n    end = time.time() + 0.5\n    while time.time() < end:\n'
                '        pass\nspin()\n')
    p = spawn(['austin', '-i', '1000', '-o', out, py['path'], script],
              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        msg = p.communicate(timeout=20)[0].decode('utf-8', 'replace')
    except subprocess.TimeoutExpired:
        msg = 'timed out'
    finally:
        stop(p)
    lines, _, leaves = austin_counts(read_text(out))
    shutil.rmtree(d, ignore_errors=True)
    if leaves.get('spin'):
        return None
    last = [l for l in msg.splitlines() if l.strip() and not l.startswith(('\U0001f552', '\U0001f422', '\U0001f480'))]
    return 'status %s, %d samples, none in the spinning function%s' % (
        p.returncode, lines, (': "%s"' % last[-1].strip()) if last else '')


# --------------------------------------------------------------------------
# Report

def fmt(x, spec='%.1f', none='–'):
    return none if x is None else spec % x


def machine():
    cpu = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu, os.cpu_count(), platform.release()


def loadavg():
    try:
        with open('/proc/loadavg') as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return '?'


def git_commit():
    try:
        c = subprocess.check_output(['git', '-C', REPO, 'rev-parse', '--short=12', 'HEAD'],
                                    universal_newlines=True).strip()
        dirty = subprocess.run(['git', '-C', REPO, 'diff', '--quiet', 'HEAD', '--', 'src'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        return c + (' (+ uncommitted changes in src/)' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return '?'


def cell_table(wl, results, startup):
    rows = [r for r in results if r.cell.wl == wl]
    if not rows:
        return []
    lines = ['| Python | mode | rate | pausing | runs | samples | achieved Hz (÷ requested) | max lag ms '
             '| cspy CPU µs/sample: all (steady) | reads/sample | reads/thread-sample (steady) '
             '| threads/sample | kept in profile | accuracy: max err, points | slowdown % median (min – max) '
             '| program held µs/pause (% of time) | errors |', '|' + '---|' * 17]
    for cr in rows:
        s = cr.summary(startup)
        c = cr.cell
        head = '| %s | %s | %s | %s ' % (cr.py['version'], c.mode, RATE_NAMES[c.rate],
                                         ('--nonblocking' if c.nb else 'blocking')
                                         + ''.join(' ' + f for f in c.flags))
        if not s:
            lines.append(head + '| 0 | failed: %s |' % '; '.join(cr.failures)[:300].replace('|', '/')
                         + ' |' * 11)
            continue
        ratio = '' if c.rate == MAX_RATE else ' (%.3f)' % s['ratio']
        sl = s['slowdown']
        held = ('%.1f (%.2f %%)' % (s['held_us'], s['held_pct'])
                if s['held_us'] is not None and s['held_pct'] is not None else '–')
        lines.append(head + '| %d | %.0f | %.0f%s | %s%s | %s (%s) | %s | %s (%s) | %s | %s | %s | %s | %s | %d |' % (
            s['runs'], s['samples'], s['achieved_hz'], ratio,
            fmt(s['max_lag_ms'], '%.2f'), ' ⚠ lag warning' if s['lag_warning'] else '',
            fmt(s['us']), fmt(s['us_steady']), fmt(s['reads'], '%.2f'), fmt(s['reads_thread'], '%.2f'),
            fmt(s['reads_thread_steady'], '%.2f'), fmt(s['threads'], '%.1f'),
            fmt(s['kept'] and 100 * s['kept'], '%.0f %%'),
            fmt(s['accuracy'], '%.2f') if s['accuracy'] is None or s['runs'] == 1
            else '%.2f (worst %.2f)' % (s['accuracy'], s['accuracy_max']),
            '%+.1f (%+.1f – %+.1f), %d pairs' % sl if sl else '–', held, s['errors']))
    return lines


def find(results, wl, minor, mode, rate, nb, flags=()):
    for cr in results:
        c = cr.cell
        if (c.wl, cr.py['minor'], c.mode, c.rate, c.nb, c.flags) == (wl, minor, mode, rate, nb, tuple(flags)):
            return cr
    return None


def held_text(s):
    """How long the pauses held the program, as text for a slowdown row."""
    if not s or s.get('held_us') is None or s.get('held_pct') is None:
        return ''
    return '; the pauses held the program %.1f µs each, %.2f %% of the run' % (s['held_us'], s['held_pct'])


def floor_text(floor, rate):
    """The machine's floor at a rate, as text for a CPU-per-sample row."""
    f = floor and floor.get(rate)
    if not f:
        return ''
    if rate:
        return ('; the floor on this machine at %s: %.1f µs for the bare timer wake-up, %.1f µs with one '
                '1-page read, %.1f µs with one 10-page read (`bench/floor.c`)'
                % (RATE_NAMES.get(rate, rate), f['sleep_us'], f['read1_us'], f['read10_us']))
    return ('; the floor without sleeping: %.1f µs for one 1-page read, %.1f µs for one 10-page read '
            '(`bench/floor.c`)' % (f['read1_us'], f['read10_us']))


ISSUE18_MINORS = ('3.11', '3.12', '3.14', '3.15')


def deep_floor_text(floor, s22):
    """What the floor (bench/floor.c, no sleeping) leaves a 300-deep sample
    within 2x of a 22-deep one of s22 µs: the read of its frames' 32 KiB more
    (deep_us - read10_us) is taken from the budget first."""
    f = floor and floor.get(0)
    if not f or 'deep_us' not in f or not s22:
        return ''
    extra = f['deep_us'] - f['read10_us']
    return ('; the floor: reading the 32 KiB more of a 300-deep stack costs %.1f µs alone (%.1f vs '
            '%.1f µs, `bench/floor.c`), so 2x leaves %.1f µs, %.1f ns per frame, for the walk of 278 '
            'frames more' % (extra, f['deep_us'], f['read10_us'], s22 - extra,
                             max(0.0, (s22 - extra) * 1000 / 278)))


def targets18_table(results, startup, floor=None):
    """Issue 18's targets on 3.11, 3.12, 3.14 and 3.15: [(target, measured
    text, PASS/FAIL/n/a)]."""
    rows = []

    def summ(*k, **kw):
        cr = find(results, *k, **kw)
        return cr.summary(startup) if cr and cr.ok_runs() else None

    for minor in ISSUE18_MINORS:
        def add(name, value, limit, text, le=True):
            if value is None:
                rows.append((name + ' (%s)' % minor, 'not measured', 'n/a'))
            else:
                ok = value <= limit if le else value >= limit
                rows.append((name + ' (%s)' % minor, text, 'PASS' if ok else 'FAIL'))

        s = summ('cpumix', minor, 'launch', 100, False)
        add('Default mode (blocking, 100 Hz, one busy thread): the program held ≤ 50 µs per pause (median)',
            s and s['held_p50'], 50.0, s and s['held_p50'] is not None and
            '%.0f µs median, %.0f µs p90; %.1f µs mean, %.2f %% of the run' % (
                s['held_p50'], s['held_p90'], s['held_us'], s['held_pct']))
        add('Default mode: slowdown ≤ 1 % (the share of the run the program was held in pauses)',
            s and s['held_pct'], 1.0, s and s['held_pct'] is not None and
            '%.2f %% held; beside it, the pairs: the program\'s CPU time for the same work %s, '
            'its wall time %s' % (
                s['held_pct'],
                '%+.2f %% (%+.2f – %+.2f, %d pairs)' % s['cpu_slowdown'] if s['cpu_slowdown'] else '-',
                '%+.1f %% (%+.1f – %+.1f)' % s['slowdown'][:3] if s['slowdown'] else '-'))
        s = summ('threads100', minor, 'launch', 100, False)
        add('100 threads at 100 Hz, blocking: cspy CPU ≤ 150 µs per sample (steady)',
            s and s['us_steady'], 150.0, s and '%.1f µs' % s['us_steady'])
        add('100 threads at 100 Hz, blocking: held ≤ 300 µs per pause (median)',
            s and s['held_p50'], 300.0, s and s['held_p50'] is not None and
            '%.0f µs median, %.0f µs p90' % (s['held_p50'], s['held_p90']))
        s = summ('threads100', minor, 'launch', 100, True)
        add('100 threads at 100 Hz, --nonblocking: cspy CPU ≤ 150 µs per sample (steady)',
            s and s['us_steady'], 150.0, s and '%.1f µs' % s['us_steady'])
        s22 = summ('cpumix', minor, 'attach', MAX_RATE, True)
        add('22-deep, as fast as possible: ≥ 150 kHz sustained (attach, --nonblocking)',
            s22 and s22['achieved_hz'], 150000.0, s22 and '%.0f Hz at %.2f µs per sample' % (
                s22['achieved_hz'], s22['us_steady']), le=False)
        s22l = summ('cpumix', minor, 'launch', MAX_RATE, True)
        s300 = summ('deep300', minor, 'launch', MAX_RATE, True)
        ratio = s22l and s300 and s22l['us_steady'] and s300['us_steady'] / s22l['us_steady']
        add('300-deep within 2x of 22-deep, as fast as possible (launch, --nonblocking, CPU per sample)',
            ratio or None, 2.0, ratio and '%.2fx (%.2f µs vs %.2f µs)%s' % (
                ratio, s300['us_steady'], s22l['us_steady'], deep_floor_text(floor, s22l['us_steady'])))
        sn = summ('cpumix', minor, 'attach', 1000, False, flags=('--native',))
        sp = summ('cpumix', minor, 'attach', 1000, False)
        ratio = sn and sp and sp['us_steady'] and sn['us_steady'] / sp['us_steady']
        add('--native ≤ 1.5x the Python-only CPU per sample (attach, 1 kHz, blocking)',
            ratio or None, 1.5, ratio and '%.2fx (%.2f µs vs %.2f µs)' % (ratio, sn['us_steady'],
                                                                        sp['us_steady']))
    return rows


def targets_table(results, startup, first_sample, rss, floor=None):
    """[(target, measured text, PASS/FAIL/n/a)] for 3.11 and 3.12."""
    rows = []

    def summ(*k):
        cr = find(results, *k)
        return cr.summary(startup) if cr else None

    for minor in ('3.11', '3.12', '3.13'):
        tgt = minor in ('3.11', '3.12')

        def add(name, value, limit, text, le=True, only=tgt):
            if not only:
                return
            if value is None:
                rows.append((name + ' (%s)' % minor, 'not measured', 'n/a'))
            else:
                ok = value <= limit if le else value >= limit
                rows.append((name + ' (%s)' % minor, text, 'PASS' if ok else 'FAIL'))

        s = summ('cpumix', minor, 'attach', 1000, True)
        add('22-deep stack: cspy CPU ≤ 4 µs/sample (attach, 1 kHz, --nonblocking, steady)',
            s and s['us_steady'], 4.0, s and '%.2f µs (%.2f µs incl. start-up)%s' % (
                s['us_steady'], s['us'], floor_text(floor, 1000)))
        add('22-deep stack: ≤ 3 process_vm_readv per thread per sample (steady)',
            s and s['reads_thread_steady'], 3.0, s and '%.2f' % s['reads_thread_steady'], only=True)
        s = summ('cpumix', minor, 'attach', MAX_RATE, True)
        add('22-deep stack: cspy CPU ≤ 4 µs/sample (attach, as fast as possible, --nonblocking, steady)',
            s and s['us_steady'], 4.0, s and '%.2f µs at %.0f Hz%s' % (
                s['us_steady'], s['achieved_hz'], floor_text(floor, 0)))
        s = summ('deep300', minor, 'attach', 1000, True)
        add('300-deep stack: cspy CPU ≤ 40 µs/sample (attach, 1 kHz, --nonblocking, steady)',
            s and s['us_steady'], 40.0, s and '%.2f µs (%.2f µs incl. start-up)%s' % (
                s['us_steady'], s['us'], floor_text(floor, 1000)), only=True)
        s = summ('deep300', minor, 'launch', MAX_RATE, True)
        add('300-deep stack: cspy CPU ≤ 40 µs/sample (launch, as fast as possible, --nonblocking, steady)',
            s and s['us_steady'], 40.0, s and '%.2f µs at %.0f Hz' % (s['us_steady'], s['achieved_hz']),
            only=True)
        s = summ('cpumix', minor, 'attach', 10000, True)
        if tgt:
            if not s:
                rows.append(('10 kHz sustained: achieved ≥ 0.98 × requested, no lag warning (%s)' % minor,
                             'not measured', 'n/a'))
            else:
                ok = s['ratio'] >= 0.98 and not s['lag_warning']
                rows.append(('10 kHz sustained: achieved ≥ 0.98 × requested, no lag warning (%s)' % minor,
                             '%.0f Hz = %.3f×, max lag %.2f ms, %s' % (
                                 s['achieved_hz'], s['ratio'], s['max_lag_ms'],
                                 'lag warning' if s['lag_warning'] else 'no warning'),
                             'PASS' if ok else 'FAIL'))
        s = summ('cpumix', minor, 'launch', 1000, True)
        add('CPU mix accuracy at 1 kHz: max error ≤ 1 point (launch, --nonblocking, median of runs)',
            s and s['accuracy'], 1.0, s and s['accuracy'] is not None and '%.2f points (worst run %.2f)' % (
                s['accuracy'], s['accuracy_max']))
        s = summ('cpumix', minor, 'launch', 100, True)
        add('CPU mix accuracy at 100 Hz: max error ≤ 3 points (launch, --nonblocking, median of runs)',
            s and s['accuracy'], 3.0, s and s['accuracy'] is not None and '%.2f points (worst run %.2f)' % (
                s['accuracy'], s['accuracy_max']))
        s = summ('cpumix', minor, 'launch', 100, False)
        sl = s and s['slowdown']
        add('Target slowdown ≤ 1 % at 100 Hz blocking (CPU mix)', sl and sl[0], 1.0,
            sl and '%+.2f %% (%+.2f – %+.2f, %d pairs)%s' % (sl + (held_text(s),)))
        s = summ('threads100', minor, 'launch', 100, False)
        sl = s and s['slowdown']
        add('100 threads, 100 Hz blocking: slowdown ≤ 5 %', sl and sl[0], 5.0,
            sl and '%+.2f %% (%+.2f – %+.2f, %d pairs)%s' % (sl + (held_text(s),)))
        fs = first_sample.get(minor)
        add('Attach (`cspy record --pid`) to first sample ≤ 20 ms', fs and statistics.median(fs) * 1e3, 20.0,
            fs and '%.1f ms (median of %d; %.1f – %.1f)' % (statistics.median(fs) * 1e3, len(fs),
                                                              min(fs) * 1e3, max(fs) * 1e3))
    if rss:
        s = rss['stats']
        text = '%.1f MiB after %d samples (%.0f Hz for %.0f s, Python %s)' % (
            s['peak_rss_kb'] / 1024.0, s['samples'], s['samples'] / s['elapsed_s'], s['elapsed_s'],
            rss['version'])
        verdict = 'PASS' if s['peak_rss_kb'] <= 64 * 1024 else 'FAIL'
        if s['samples'] < 1000000:
            text += ' — fewer than 1 M samples'
            verdict = verdict + ' (short run)' if verdict == 'PASS' else verdict
        rows.append(('cspy peak RSS after 1 M samples ≤ 64 MiB', text, verdict))
    else:
        rows.append(('cspy peak RSS after 1 M samples ≤ 64 MiB', 'not measured', 'n/a'))
    return rows


# --------------------------------------------------------------------------

def main():
    global OPTS, TMP
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true', default=os.environ.get('BENCH_SMOKE') == '1')
    ap.add_argument('--out', help='directory for bench.md (default: bench/results, or a temporary '
                    'directory with --smoke)')
    ap.add_argument('--pythons', help='minor versions, e.g. 3.12,3.11 (default %s; --smoke: %s)' % (','.join(WANTED), ','.join(SMOKE_WANTED)))
    ap.add_argument('--only', help='workloads to run (default all)')
    ap.add_argument('--no-austin', action='store_true')
    ap.add_argument('--no-dump', action='store_true', help='skip bench/dump_time.py')
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    OPTS = ap.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    atexit.register(stop_all)
    TMP = tempfile.mkdtemp(prefix='cspy-bench-')
    load0 = loadavg()
    out_dir = OPTS.out or (TMP if OPTS.smoke else RESULTS)
    t_start = time.time()
    counter = Counter()
    if not os.access(CSPY, os.X_OK):
        log('cspy binary not found: %s (run make)' % CSPY)
        print('0 passed, 1 failed')
        return 1

    wait_quiet()
    pys, missing = interpreters()
    log('cspy bench (%s): %s; Pythons %s%s' % ('smoke' if OPTS.smoke else 'full', CSPY,
                                               ', '.join(p['version'] for p in pys),
                                               ('; not installed: ' + ', '.join(missing)) if missing else ''))
    for py in list(pys):
        try:
            py['ips'] = calibrate(py)
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            counter.case('calibrate %s' % py['minor'], False, str(e))
            pys.remove(py)
    only = set(OPTS.only.split(',')) if OPTS.only else None

    # Start-up cost and attach-to-first-sample, per interpreter and workload.
    startup, first_sample = {}, {}
    cells = plan(OPTS.smoke, pys)
    for py in pys:
        wls = sorted(set(c.wl for c in cells[py['minor']] if not only or c.wl in only))
        for wl in wls:
            n = (5 if wl == 'cpumix' else 3) if not OPTS.smoke else 1
            st = measure_startup(py, wl, n, counter)
            if st:
                startup[(py['minor'], wl)] = st
                if wl == 'cpumix':
                    first_sample[py['minor']] = st['first_sample_s']

    results = []
    for py in pys:
        for cell in cells[py['minor']]:
            if only and cell.wl not in only:
                continue
            cr = run_cell(py, cell, counter)
            results.append(cr)
            s = cr.summary(startup)
            if s:
                log('        %.0f samples, %.0f Hz, %.1f µs/sample (steady %.1f), %.2f reads/thread-sample%s%s'
                    % (s['samples'], s['achieved_hz'], s['us'], s['us_steady'], s['reads_thread'],
                       ', accuracy %.2f' % s['accuracy'] if s['accuracy'] is not None else '',
                       ', slowdown %+.1f %%' % s['slowdown'][0] if s['slowdown'] else ''))

    # Peak RSS after 1 M samples: long enough at the max rate seen.
    rss = None
    rss_py = next((p for m in ('3.12', '3.11') for p in pys if p['minor'] == m), pys[-1] if pys else None)
    if rss_py and (not only or 'cpumix' in only):
        cr = find(results, 'cpumix', rss_py['minor'], 'attach', MAX_RATE, True)
        s = cr and cr.summary(startup)
        hz = s['achieved_hz'] if s else 10000
        seconds = 1.0 if OPTS.smoke else min(300.0, round(1.05e6 / hz + 2))
        st = measure_rss(rss_py, seconds, counter)
        if st:
            rss = {'stats': st, 'version': rss_py['version']}

    # The machine's floor under any sampler (timer wake-up, one read).
    floor = measure_floor(rss_py, 0.3 if OPTS.smoke else 3.0, counter) if rss_py else None

    # Output formats: 1 M samples, 10 k distinct stacks.
    pb_text = ''
    wait_quiet()
    pb_args = [PROFILE_BENCH] + (['100000', '1000'] if OPTS.smoke else ['1000000', '10000']) + [TMP]
    try:
        p = subprocess.run(pb_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=300)
        pb_text = p.stdout.strip()
        counter.case('profile_bench (output formats)', p.returncode == 0 and '| raw |' in pb_text,
                     'status %s: %s' % (p.returncode, p.stderr.strip()[-300:]))
    except (OSError, subprocess.TimeoutExpired) as e:
        counter.case('profile_bench (output formats)', False, str(e))

    # austin on the same workloads, where it can sample.
    austin_lines, austin_notes = [], []
    if OPTS.no_austin:
        austin_notes.append('austin: not run (--no-austin).')
    elif not shutil.which('austin'):
        austin_notes.append('austin: not on PATH, skipped (Debian: apt-get install austin).')
        log('  skip  austin: not on PATH')
    else:
        try:
            aver = subprocess.run(['austin', '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True).stdout.strip()
        except OSError:
            aver = 'austin'
        austin_notes.append('%s (%s).' % (aver, shutil.which('austin')))
        able = []
        for py in pys:
            why = austin_probe(py)
            if why:
                austin_notes.append('austin cannot sample %s: %s.' % (py['version'], why))
                log('  note  austin cannot sample %s: %s' % (py['version'], why))
            else:
                able.append(py)
                austin_notes.append('austin samples %s.' % py['version'])
        if OPTS.smoke:
            able = able[:1]
            acells = [Cell('cpumix', 'launch', 1000, True, 1.0)]
        else:
            acells = [r.cell for r in results if r.cell.nb]
        austin_lines = ['| Python | workload | mode | rate | austin samples | with frames | austin Hz | cspy Hz '
                        '| austin µs/sample | cspy µs/sample (all) | austin ÷ cspy CPU/sample '
                        '| austin accuracy (points) | cspy accuracy |', '|' + '---|' * 13]
        for py in able:
            seen = set()
            for c in acells:
                if (c.wl, c.mode, c.rate) in seen:
                    continue
                seen.add((c.wl, c.mode, c.rate))
                wait_quiet()
                ar = run_case('austin', py, c.wl, c.mode, c.rate, True, c.seconds)
                counter.case(ar.label(), ar.ok, ar.why)
                if not ar.ok:
                    austin_lines.append('| %s | %s | %s | %s | failed: %s |%s' % (
                        py['version'], c.wl, c.mode, RATE_NAMES[c.rate], ar.why[:200].replace('|', '/'),
                        ' |' * 8))
                    continue
                cr = find(results, c.wl, py['minor'], c.mode, c.rate, True)
                cs = cr.summary(startup) if cr else None
                nth = ar.result.get('threads', 1)
                asamples = ar.lines / float(nth)
                ahz = asamples / ar.tool_wall
                aus = ar.rusage_cpu / asamples * 1e6
                austin_lines.append('| %s | %s | %s | %s | %.0f | %.0f %% | %.0f | %s | %.1f%s | %s | %s | %s | %s |' % (
                    py['version'], c.wl, c.mode, RATE_NAMES[c.rate], asamples, 100.0 * ar.with_frames / ar.lines,
                    ahz, fmt(cs and cs['achieved_hz'], '%.0f'), aus, ' (approx.)' if c.mode == 'launch' else '',
                    fmt(cs and cs['us']), fmt(aus / cs['us'] if cs and cs['us'] else None, '%.2f'),
                    fmt(accuracy(ar), '%.2f'), fmt(cs and cs['accuracy'], '%.2f')))

    # dump timing (bench/dump_time.py).
    dump_text = ''
    if not OPTS.no_dump and not only:
        wait_quiet()
        try:
            p = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'dump_time.py'),
                                '1' if OPTS.smoke else '10'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, timeout=600, cwd=REPO,
                               env=dict(os.environ, BUILD=build_dir()))
            dump_text = p.stdout.strip()
            counter.case('dump_time.py', p.returncode == 0 and '| Python |' in dump_text,
                         'status %s: %s' % (p.returncode, p.stderr.strip()[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            counter.case('dump_time.py', False, str(e))

    # The soak (RSS over a long record of a thread-per-request server) and
    # 1,000 threads at 100 Hz (bench/soak.py, results/soak.md).
    soak_text = ''
    if not only:
        wait_quiet()
        try:
            p = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'soak.py')] +
                               (['--smoke'] if OPTS.smoke else ['--out', os.path.join(out_dir, 'soak.md')]),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               timeout=1800, cwd=REPO, env=dict(os.environ, BUILD=build_dir()))
            soak_text = p.stdout.strip()
            counter.case('soak.py', p.returncode == 0 and '0 failed' in soak_text,
                         'status %s: %s' % (p.returncode, (p.stderr.strip() or soak_text)[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            counter.case('soak.py', False, str(e))

    # record --async: its cost per sample with 100 and 10,000 tasks
    # (bench/async_cost.py; --only asyncio runs it alone).
    async_text = ''
    if not only or 'asyncio' in only:
        wait_quiet()
        try:
            p = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'async_cost.py')] +
                               (['--smoke'] if OPTS.smoke else []) +
                               (['--pythons', OPTS.pythons] if OPTS.pythons else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               timeout=1800, cwd=REPO, env=dict(os.environ, BUILD=build_dir()))
            async_text = p.stdout.strip()
            counter.case('async_cost.py', p.returncode == 0 and ' 0 failed' in async_text,
                         'status %s: %s' % (p.returncode, (p.stderr.strip() or async_text)[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            counter.case('async_cost.py', False, str(e))

    # record --memory: its cost per sample (bench/memory_cost.py; --only
    # memory runs it alone).
    memory_text = ''
    if not only or 'memory' in only:
        wait_quiet()
        try:
            p = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'memory_cost.py')] +
                               (['--smoke'] if OPTS.smoke else []) +
                               (['--pythons', OPTS.pythons] if OPTS.pythons else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               timeout=1800, cwd=REPO, env=dict(os.environ, BUILD=build_dir()))
            memory_text = p.stdout.strip()
            counter.case('memory_cost.py', p.returncode == 0 and ' 0 failed' in memory_text,
                         'status %s: %s' % (p.returncode, (p.stderr.strip() or memory_text)[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            counter.case('memory_cost.py', False, str(e))

    # The python/native/system split: its cost per sample, blocking and
    # nonblocking (bench/split_cost.py; --only split runs it alone).
    split_text = ''
    if not only or 'split' in only:
        wait_quiet()
        try:
            p = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'split_cost.py')] +
                               (['--smoke'] if OPTS.smoke else []) +
                               (['--pythons', OPTS.pythons] if OPTS.pythons else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               timeout=1800, cwd=REPO, env=dict(os.environ, BUILD=build_dir()))
            split_text = p.stdout.strip()
            counter.case('split_cost.py', p.returncode == 0 and ' 0 failed' in split_text,
                         'status %s: %s' % (p.returncode, (p.stderr.strip() or split_text)[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            counter.case('split_cost.py', False, str(e))

    # --subprocesses on a pool of 32 workers: cspy's CPU as a share of one
    # core (bench/pool_cost.py; --only pool32 runs it alone).
    pool_text = ''
    if not only or 'pool32' in only:
        wait_quiet()
        try:
            p = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'pool_cost.py')] +
                               (['--smoke'] if OPTS.smoke else []) +
                               (['--pythons', OPTS.pythons] if OPTS.pythons else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               timeout=1800, cwd=REPO, env=dict(os.environ, BUILD=build_dir()))
            pool_text = p.stdout.strip()
            counter.case('pool_cost.py', p.returncode == 0 and ' 0 failed' in pool_text,
                         'status %s: %s' % (p.returncode, (p.stderr.strip() or pool_text)[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            counter.case('pool_cost.py', False, str(e))

    # Side by side with CPython 3.15's sampler and Austin (bench/peers.py,
    # results/peers.md; --only peers runs it alone).
    peers_text = ''
    if not only or 'peers' in only:
        wait_quiet()
        try:
            p = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'peers.py')] +
                               (['--smoke'] if OPTS.smoke else ['--out', out_dir]) +
                               (['--pythons', OPTS.pythons] if OPTS.pythons else []),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               timeout=1800, cwd=REPO, env=dict(os.environ, BUILD=build_dir()))
            peers_text = p.stdout.strip()
            counter.case('peers.py', p.returncode == 0 and '\n0 passed' not in peers_text and
                         ' 0 failed' in peers_text,
                         'status %s: %s' % (p.returncode, (p.stderr.strip() or peers_text)[-300:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            counter.case('peers.py', False, str(e))

    # The report.
    took = time.time() - t_start
    cpu, ncpu, kernel = machine()
    L = ['# cspy benchmarks%s' % (' (smoke run: short workloads, reduced matrix; not results)' if OPTS.smoke else ''),
         '',
         'Written by `make bench` (`bench/run.py`%s) on %s in %.0f min%s. Machine: %s, %s cores, Linux %s. '
         'Load average (1, 5, 15 min) at the start %s, at the end %s. '
         'cspy commit %s, binary `%s`. How each figure is measured: `bench/README.md`.' % (
             ' --smoke' if OPTS.smoke else '', time.strftime('%Y-%m-%d %H:%M'), took / 60,
             ' (of which %.0f min waiting for test suites to end)' % (WAITED[0] / 60) if WAITED[0] else '',
             cpu, ncpu, kernel,
             load0, loadavg(), git_commit(), os.path.relpath(CSPY, REPO)),
         '',
         'Pythons: %s.%s' % (', '.join('%s (`%s`)' % (p['version'], p['shown']) for p in pys),
                             (' Not installed: %s.' % ', '.join(missing)) if missing else ''),
         '']
    L += ['## Targets', '',
          'Issue 5\'s targets (Python 3.11/3.12, single thread, medians), and the vm-read and '
          '300-deep targets also for 3.13.', '',
          '| target | measured | verdict |', '|---|---|---|']
    for name, val, verdict in targets_table(results, startup, first_sample, rss, floor):
        L.append('| %s | %s | %s |' % (name, val or 'not measured', verdict))
    L.append('')
    L += ['## Issue 18\'s targets', '',
          'Python 3.11, 3.12, 3.14, 3.15; medians. The slowdown\'s verdict is the share of the run '
          'the program was held in pauses (cspy\'s count of each pause, from the first interrupt to '
          'the let-go): on this VM both the wall time and the program\'s own CPU time for the same '
          'work move by ±15 % between runs of 2 s, so their pairs are shown beside it, not judged.',
          '', '| target | measured | verdict |', '|---|---|---|']
    for name, val, verdict in targets18_table(results, startup, floor):
        L.append('| %s | %s | %s |' % (name, val or 'not measured', verdict))
    L.append('')
    titles = {'cpumix': 'CPU mix, 22 frames deep (60/30/10 %)',
              'deep300': 'CPU mix at the bottom of a 300-deep recursion',
              'threads8': '8 threads: 4 busy, 4 sleeping',
              'threads100': '100 busy threads (fixed total work)',
              'idle': 'Mostly idle server loop (select 10 ms, 0.5 ms bursts)'}
    for wl in ('cpumix', 'deep300', 'threads8', 'threads100', 'idle'):
        t = cell_table(wl, results, startup)
        if t:
            L += ['## %s (`bench/workloads/%s.py`)' % (titles[wl], wl), ''] + t + ['']
    L += ['## Attach to first sample', '',
          '`first_sample_s` of CSPY_STATS: from the start of `cspy record --pid PID` (after exec) to its '
          'first sample, attaching to the running CPU mix; start-up CPU is the CPU time of such a 50 ms run '
          '(subtracted in the "steady" columns).', '',
          '| Python | workload | first sample ms: median (min – max) | start-up CPU ms | start-up reads |',
          '|---|---|---|---|---|']
    for (minor, wl), st in sorted(startup.items()):
        fs = st['first_sample_s']
        ver = next(p['version'] for p in pys if p['minor'] == minor)
        L.append('| %s | %s | %.1f (%.1f – %.1f) | %.1f | %.0f |' % (
            ver, wl, statistics.median(fs) * 1e3, min(fs) * 1e3, max(fs) * 1e3, st['cpu_s'] * 1e3, st['vm_reads']))
    L.append('')
    L += ['## Peak RSS of a long run', '']
    if rss:
        s = rss['stats']
        L.append('Python %s, CPU mix, attach, `--nonblocking -r %d` (as fast as possible) for %.0f s: %d samples '
                 '(%.0f Hz), peak RSS %.1f MiB, writing the raw profile took %.1f ms.' % (
                     rss['version'], MAX_RATE, s['elapsed_s'], s['samples'], s['samples'] / s['elapsed_s'],
                     s['peak_rss_kb'] / 1024.0, s['write_s'] * 1e3))
    else:
        L.append('Not measured.')
    L += ['', '## Output formats (`bench/profile_bench.c`)', '',
          'Time of each writer (`writers/writer.h`) for a synthetic profile (%s), file written to a temporary '
          'directory; fflush/fclose included. The `diff:` rows: `cspy diff` of two such profiles (the same stacks, '
          'mixed otherwise): agg/diff lining them up, then each writer that shows a diff.' % ('1 M samples, 10 k distinct stacks of 18–22 frames, 4 threads'
                                                  if not OPTS.smoke else '100 k samples, 1 k stacks'), '',
          pb_text or 'Not measured.', '']
    L += ['## austin', '']
    L += ['- ' + n for n in austin_notes]
    if len(austin_lines) > 2:
        L += ['', 'Same workloads and runs as cspy\'s `--nonblocking` cells (austin never pauses the target): '
              '`austin -i 1e6/RATE µs [-p PID | COMMAND]`. austin\'s CPU is its rusage (os.wait4); in launch '
              'mode that includes its child, the target, whose own CPU time (os.times at its end) is taken '
              'away (approx.). Its samples are its output lines ÷ the workload\'s threads ("with frames": '
              'lines with at least one Python frame); its rate those samples ÷ its wall time (start to exit; '
              'attach mode includes 0.3 s before the work starts). Ratios: austin ÷ cspy.', ''] + austin_lines
    L.append('')
    if dump_text:
        L += ['## `cspy dump` time (`bench/dump_time.py`)', '', dump_text, '']
    if async_text:
        L += ['## `record --async` (`bench/async_cost.py`)', '', async_text, '']
    if memory_text:
        L += ['## `record --memory` (`bench/memory_cost.py`)', '', memory_text, '']
    if split_text:
        L += ['## The python/native/system split (`bench/split_cost.py`)', '', split_text, '']
    if pool_text:
        L += ['## Many processes: `--subprocesses` on a pool of 32 (`bench/pool_cost.py`)', '', pool_text, '']
    if peers_text:
        # Its own title dropped, its sections one level down.
        L += ['## Side by side with CPython 3.15\'s sampler and Austin (`bench/peers.py`)', ''] + [
            '#' + ln if ln.startswith('## ') else ln for ln in peers_text.splitlines()[2:]
            if not re.match(r'^\d+ passed, \d+ failed$', ln)] + ['']
    L += ['## Matrix and pruning', '',
          'Full run, on every Python: the CPU mix in attach mode at every rate (100 Hz, 1 kHz, 10 kHz, max = '
          '`-r %d`) × blocking/`--nonblocking`, in launch mode at 100 Hz (both), 1 kHz (both), 10 kHz and max '
          '(`--nonblocking`); 2 s of work per run (launch 100 Hz `--nonblocking`, the 100 Hz accuracy cell: 10 s; attach blocking at 10 kHz 1 s, at max 0.5 s, with cspy stopped after 1 s (`-d 1`): pausing the '
          'target that often holds it nearly all the time; the per-sample figures do not depend on the length). The other '
          'workloads, 1.5 s per run: deep300 attach 1 kHz (both), launch 100 Hz and max `--nonblocking`; '
          'threads8 launch 100 Hz (both), attach 1 kHz `--nonblocking`; threads100 launch 100 Hz (both), '
          'attach 100 Hz `--nonblocking`; idle launch 100 Hz blocking, attach 1 kHz `--nonblocking`. '
          'Slowdown (interleaved unprofiled/profiled pairs, launch mode): the CPU mix at 100 Hz blocking on '
          'every Python (9 pairs on 3.11+, 5 before); on 3.11+ also the CPU mix at 1 kHz `--nonblocking` '
          '(5 pairs), 100 threads (9) and the idle loop (5) at 100 Hz blocking. Other cells are one run. '
          'Several runs: medians. The machine floor (`bench/floor.c`): CPU per iteration of a bare timer '
          'loop at the rate, and of the same loop with one `process_vm_readv` of 1 or 10 pages of the '
          'running CPU-mix workload, or of the 10 pages and 32 KiB more (the frames a 300-deep stack '
          'adds).' % MAX_RATE, '']
    if counter.failures:
        L += ['## Cases that failed to run', ''] + ['- ' + f.replace('\n', ' ') for f in counter.failures] + ['']
    text = '\n'.join(L)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'bench.md'), 'w') as f:
        f.write(text)
    if not OPTS.smoke:
        if dump_text:
            with open(os.path.join(out_dir, 'dump.md'), 'w') as f:
                f.write(dump_text + '\n')
        raw = [{'python': cr.py['version'], 'workload': cr.cell.wl, 'mode': cr.cell.mode, 'rate': cr.cell.rate,
                'nonblocking': cr.cell.nb, 'stats': [r.stats for r in cr.runs],
                'result': [r.result for r in cr.runs], 'unprofiled': [b.result for b in cr.base]}
               for cr in results]
        with open(os.path.join(out_dir, 'bench.json'), 'w') as f:
            json.dump({'startup': {'%s %s' % k: v for k, v in startup.items()}, 'cells': raw,
                       'rss': rss, 'floor': floor}, f, indent=1)
    print(text)
    if soak_text:
        print('\n' + soak_text)
    if OPTS.smoke:
        print('\n(smoke run: written to a temporary directory, now removed; took %.0f s)' % took)
    else:
        print('\nWritten to %s (took %.1f min)' % (os.path.join(out_dir, 'bench.md'), took / 60))
    print('%d passed, %d failed' % (counter.passed, counter.failed))
    return 1 if counter.failed else 0


if __name__ == '__main__':
    sys.exit(main())
