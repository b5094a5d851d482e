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

When the interpreter's headers are installed beside it (`include/python3.X[t]`
with `internal/`) and a C compiler is there, the layout probe
(tests/tools/probe/probe.sh) also compares the built-in table with the
headers, fields the debug offsets do not carry included: a difference in one
of those (cspy reads it from the table) fails; one in a field the debug
offsets override is printed only. `tag_bits` passes when cspy masks at least
the header's bits.

Output: one block per interpreter, then "N passed, N failed" (exit 1 if any
failed). Standard library only; starts no Python process.
"""
import argparse
import fnmatch
import glob
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import e2elib  # noqa: E402  (pythons_cache, pyenv_root: one place)
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


def probe_headers(elf, version_line, tool):
    """Compare the built-in table with the interpreter's headers: (ok, lines)."""
    m = re.search(r" (\d+)\.(\d+)\.\S*?(t?):", version_line)
    if not m:
        return True, []
    minor = "%s.%s" % (m.group(1), m.group(2))
    suffix = m.group(3)
    real = os.path.realpath(elf)
    prefix = os.path.dirname(os.path.dirname(real))
    # the headers' directory is named as the ELF: python3.14t, python3.14d, ...
    named = re.search(r"python(3\.\d+[a-z]*)", os.path.basename(real))
    inc = os.path.join(prefix, "include", "python" + (named.group(1) if named else minor + suffix))
    if not os.path.isdir(os.path.join(inc, "internal")):
        return True, ["  headers: not installed (%s)" % inc]
    probe = subprocess.run([os.path.join(REPO, "tests", "tools", "probe", "probe.sh"), inc],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, check=False)
    if probe.returncode:
        return True, ["  headers: probe not built: %s" % probe.stdout.strip()[-200:]]
    table = subprocess.run([tool, "--table", minor + suffix], stdout=subprocess.PIPE,
                           universal_newlines=True, check=False).stdout
    hdr = dict(l.split()[:2] for l in probe.stdout.splitlines() if len(l.split()) >= 2)
    ok, diffs, n = True, [], 0
    for line in table.splitlines():
        f = line.split()
        name, val, fed = f[0], int(f[1]), len(f) > 2
        if name not in hdr:
            continue
        n += 1
        want = int(hdr[name])
        if name == "tag_bits" and val & want == want:
            continue
        if val != want:
            ok = ok and fed
            diffs.append("  headers: %s table=%d headers=%d%s" % (
                name, val, want, " (the debug offsets win)" if fed else " (FAIL: read from the table)"))
    if not diffs:
        return True, ["  headers: table agrees with %s (%d fields)" % (inc, n)]
    return ok, diffs


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
        hok, lines = probe_headers(elf, r.stdout.splitlines()[0] if r.stdout else "", tool)
        for line in lines:
            print(line)
        if r.returncode == 0 and hok:
            passed += 1
        else:
            failed += 1
    if not elfs:
        print("no CPython 3.13+ installed: nothing to compare")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
