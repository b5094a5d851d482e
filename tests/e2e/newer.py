#!/usr/bin/env python3
"""A newer Python minor than cspy knows, on a real interpreter.

    python3 tests/e2e/newer.py [--python EXE]... [-v]

Builds cspy with its newest table left out (`make OMIT_NEWEST=1
BUILD=build-omit`, the build-time switch of src/python/offsets.c), so that
the newest installed minor (3.15 today) is "a newer minor than cspy knows",
and dumps a target of every installed 3.13+ interpreter with it: the
provisioned ones of tests/pythons.sh (the manifest of `$CSPY_PYTHONS`, else
`${XDG_CACHE_HOME:-~/.cache}/cspy-pythons`) and `$(pyenv root)/versions/3.1[3-9]*`,
or the --python executables given. The target is tests/targets/nested.py,
whose oracle is the interpreter's own traceback.extract_stack().

The live checks themselves (pyproc__validate) are also run on every target,
with each 3.13+ built-in table in turn (build/tools/validate_as): the table of
its own minor and build must pass, every other one must be refused. For an
interpreter the OMIT_NEWEST build does know, that is all. For one it does not, `cspy dump --json` must print exactly one warning line
("... is newer than cspy knows ...") and then either the right stack (each
thread's functions and lines equal to the oracle's) or a clear refusal
(non-zero exit, one "cspy: error: ... cannot read it" line, no thread on
stdout: nothing, or --json's empty list) -- never a wrong stack. Output: one line per interpreter, then
"N passed, N failed". Every target is ended by its PID's process group.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import e2elib  # noqa: E402  (pythons_cache, pyenv_root: one place)
TARGET = os.path.join(REPO, "tests", "targets", "nested.py")
BUILD = os.environ.get("BUILD_OMIT", "build-omit")


def interpreters():
    out = []
    try:
        with open(os.path.join(e2elib.pythons_cache(), "manifest")) as f:
            for line in f.read().splitlines():
                cols = line.split("\t")
                if len(cols) >= 3 and os.access(cols[2], os.X_OK):
                    out.append((cols[0], cols[2]))
    except OSError:
        pass
    root = e2elib.pyenv_root()
    if root:
        for d in sorted(glob.glob(os.path.join(root, "versions", "3.1[3-9]*"))):
            exe = os.path.join(d, "bin", "python3")
            if os.access(exe, os.X_OK):
                out.append(("pyenv " + os.path.basename(d), exe))
    return out


def start_target(exe, oracle):
    env = dict(os.environ, CSPY_CHROOT_BIND=REPO)
    p = subprocess.Popen([exe, TARGET, oracle], cwd=REPO, env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and p.poll() is None and not os.path.exists(oracle):
        time.sleep(0.05)
    if not os.path.exists(oracle):
        return p, None
    with open(oracle) as f:
        data = json.load(f)
    # the oracle's own thread must be gone before cspy looks
    while time.time() < deadline:
        try:
            if len(os.listdir("/proc/%d/task" % p.pid)) == len(data["threads"]):
                break
        except OSError:
            break
        time.sleep(0.02)
    return p, data


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    p.wait()


def compare(oracle, threads):
    """None when every oracle thread's stack is cspy's, else what differs."""
    by_tid = {t.get("os_thread_id"): t for t in threads}
    for t in oracle["threads"]:
        got = by_tid.get(t["native_id"])
        if got is None:
            return "thread %s missing" % t["native_id"]
        want = [(f["name"], f["line"]) for f in reversed(t["frames"])]
        have = [(f["name"], f["line"]) for f in got["frames"]]
        if want != have:
            return "thread %s: expected %s, got %s" % (t["native_id"], want, have)
    return None


def validate_matrix(pid, version_info):
    """The live checks of a newer minor (build/tools/validate_as) on this
    real process with each 3.13+ table: exactly one table of its own minor
    (GIL or free-threaded) must pass, every other one must be refused."""
    tool = os.path.join(REPO, os.environ.get("BUILD", "build"), "tools", "validate_as")
    if not os.access(tool, os.X_OK):
        return False, "missing %s (run make)" % tool
    own = "%d.%d" % tuple(version_info[:2])
    passed, refused, wrong = [], [], []
    for minor in ("3.13", "3.14", "3.15"):
        for table in (minor, minor + "t"):
            r = subprocess.run([tool, str(pid), table], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, check=False)
            if r.returncode == 0:
                (passed if minor == own else wrong).append(table)
            elif r.returncode == 1:
                refused.append(table)
            else:
                return False, "validate_as %s: %s" % (table, r.stdout.strip())
    if wrong or len(passed) != 1:
        return False, "passed with %s (only one table of %s may)" % (passed + wrong, own)
    return True, "%s passes, %s refused" % (passed[0], " ".join(refused))


def check(label, exe, cspy, verbose):
    tmp = tempfile.mkdtemp(prefix="cspy-newer-", dir="/tmp")
    oracle_path = os.path.join(tmp, "oracle.json")
    p, oracle = start_target(exe, oracle_path)
    try:
        if oracle is None:
            return None, "target did not start: %s" % p.stderr.read().decode()[-300:]
        r = subprocess.run([cspy, "dump", "--pid", str(p.pid), "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
        matrix = validate_matrix(p.pid, oracle["version_info"])
    finally:
        stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    lines = r.stderr.splitlines()
    warnings = [l for l in lines if l.startswith("cspy: warning:")]
    ver = oracle["version"]
    if verbose:
        sys.stdout.write(r.stderr)
    ok, why = matrix
    if not ok:
        return False, "%s: live checks: %s" % (ver, why)
    if not warnings and r.returncode == 0:
        return True, "%s: known to this build; live checks: %s" % (ver, why)
    if len(warnings) != 1 or "newer than cspy knows" not in warnings[0]:
        return False, "%s: expected one 'newer than cspy knows' warning, got %s" % (ver, lines)
    if r.returncode == 0:
        why = compare(oracle, json.loads(r.stdout))
        if why:
            return False, "%s: WRONG STACK: %s" % (ver, why)
        return True, "%s: read with the older layout, stacks equal the oracle's; live checks: %s" % (
            ver, matrix[1])
    errors = [l for l in lines if l.startswith("cspy: error:")]
    if r.stdout.strip() not in ("", "[]") or len(errors) != 1 or "cannot read it" not in errors[0]:
        return False, "%s: refusal not clean: exit %d, stdout %r, stderr %s" % (
            ver, r.returncode, r.stdout[:200], lines)
    return True, "%s: refused cleanly (exit %d): %s; live checks: %s" % (
        ver, r.returncode, errors[0], matrix[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", action="append", default=[], help="interpreter executable")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    mk = subprocess.run(["make", "-s", "-C", REPO, "OMIT_NEWEST=1", "BUILD=" + BUILD,
                         BUILD + "/cspy"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        universal_newlines=True)
    cspy = os.path.join(REPO, BUILD, "cspy")
    if mk.returncode or not os.access(cspy, os.X_OK):
        print(mk.stdout[-2000:])
        print("0 passed, 1 failed")
        return 1
    interps = [(e, e) for e in args.python] or interpreters()
    passed = failed = 0
    for label, exe in interps:
        ok, msg = check(label, exe, cspy, args.v)
        print("%-24s %s %s" % (label, {True: "ok  ", False: "FAIL", None: "n/a "}[ok], msg))
        if ok:
            passed += 1
        elif ok is False:
            failed += 1
    if passed + failed == 0:
        print("no interpreter newer than the OMIT_NEWEST build: nothing checked")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
