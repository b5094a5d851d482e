#!/usr/bin/env python3
"""Patch-release drift of every installed CPython 3.13+: cspy's built-in
layout table against the interpreter's own _Py_DebugOffsets.

    python3 tests/e2e/drift.py [-k PATTERN] [-v]

For 3.13+ cspy applies the target's _Py_DebugOffsets over its built-in table
(python/offsets.h), so a patch release that moves a field keeps working. This
check runs `$BUILD/tools/debug_offsets_drift` (default build/) on the ELF
that holds each interpreter's runtime (libpython for shared builds, the
executable for static ones), found under `$(pyenv root)/versions/3.1[3-9]*`,
the test-interpreter cache (`$CSPY_PYTHONS`, else
`${XDG_CACHE_HOME:-~/.cache}/cspy-pythons`: its builds and the Debian root's
/usr/bin) and /usr/bin. Each passes when the table and the debug offsets
agree, or when cspy reads and applies the debug offsets (they win); the
fields that differ are printed by name. It fails when an interpreter's debug
offsets are missing or refused, or its minor has no table.

Then, for every interpreter of any version whose headers are installed
(`include/python2.7`, `python3.X[t|d|m]` under the same places and
/usr/include) and when a C compiler is there, the layout probe
(tests/tools/probe/check_tables.py) compares the built-in table with the
headers, member by member: a difference fails, except in a 3.13+ member the
debug offsets override (printed only; they win at run time). See
docs/offsets.md.

Output: one block per interpreter, one line per include directory, then
"N passed, N failed" (exit 1 if any failed). Standard library only; starts
no Python process.
"""
import argparse
import fnmatch
import glob
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import e2elib  # noqa: E402  (pythons_cache, pyenv_root: one place)
sys.path.insert(0, os.path.join(REPO, "tests", "tools", "probe"))
import check_tables  # noqa: E402  (the layout probe against the tables)
MINORS = "3.1[3-9]"


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def runtime_elfs(prefix):
    """The ELF files holding a runtime under an install prefix: its libpython
    (shared builds) or else its python3.X executables (static builds)."""
    libs = [p for p in glob.glob(os.path.join(prefix, "lib", "libpython%s*.so.1.0" % MINORS))
            if is_elf(p)]
    if libs:
        return libs
    return [p for p in glob.glob(os.path.join(prefix, "bin", "python%s*" % MINORS))
            if not p.endswith("-config") and is_elf(p)]


def header_dirs():
    """Include directories of every interpreter installed (any version):
    pyenv's, the test-interpreter cache's builds and Debian root, and this
    machine's /usr/include."""
    pats = []
    root = e2elib.pyenv_root()
    if root:
        pats.append(os.path.join(root, "versions", "*", "include", "python[23].*"))
    cache = e2elib.pythons_cache()
    pats.append(os.path.join(cache, "*", "include", "python[23].*"))
    pats.append(os.path.join(cache, "sid", "usr", "include", "python[23].*"))
    pats.append("/usr/include/python[23].*")
    seen, out = set(), []
    for pat in pats:
        for d in sorted(glob.glob(pat)):
            real = os.path.realpath(d)
            if os.path.isfile(os.path.join(d, "Python.h")) and real not in seen:
                seen.add(real)
                out.append(d)
    return out


def discover():
    prefixes = []
    root = e2elib.pyenv_root()
    if root:
        prefixes += sorted(glob.glob(os.path.join(root, "versions", MINORS + "*")))
    cache = e2elib.pythons_cache()
    prefixes += sorted(p for p in glob.glob(os.path.join(cache, "*"))
                       if os.path.isdir(os.path.join(p, "lib")))
    prefixes.append(os.path.join(cache, "sid", "usr"))
    prefixes.append("/usr")
    seen, out = set(), []
    for prefix in prefixes:
        for elf in runtime_elfs(prefix):
            real = os.path.realpath(elf)
            if real not in seen:
                seen.add(real)
                out.append(elf)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", action="append", default=[], help="only ELF paths matching (glob or substring)")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    tool = os.path.join(REPO, os.environ.get("BUILD", "build"), "tools", "debug_offsets_drift")
    if not os.path.exists(tool):
        print("missing %s: run make first" % tool)
        print("0 passed, 1 failed")
        return 1
    elfs = discover()
    if args.k:
        elfs = [e for e in elfs if any(k in e or fnmatch.fnmatch(e, k) for k in args.k)]
    passed = failed = 0
    for elf in elfs:
        r = subprocess.run([tool, elf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, check=False)
        sys.stdout.write(r.stdout)
        if r.returncode == 0:
            passed += 1
        else:
            failed += 1
    if not elfs:
        print("no CPython 3.13+ installed: nothing to compare")
    # every version: the tables against the headers (layout probe)
    incs = header_dirs()
    if args.k:
        incs = [i for i in incs if any(k in i or fnmatch.fnmatch(i, k) for k in args.k)]
    if incs and not shutil.which(os.environ.get("CC", "cc")):
        print("headers: no C compiler (%s): the tables are not compared with the headers"
              % os.environ.get("CC", "cc"))
        incs = []
    for inc in incs:
        if check_tables.check(inc, tool, args.v):
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
