#!/usr/bin/env python3
"""Compare cspy's built-in layout tables with CPython headers.

    python3 tests/tools/probe/check_tables.py [-v] INCLUDE_DIR...

For each INCLUDE_DIR (an interpreter's include/pythonX.Y[t|d|m], or a source
tree's Include/ with its top directory as PYCONFIG_DIR after a colon:
`Include:.`), the layout probe (probe.sh, layout_probe.c) prints what the
headers give for each struct py_layout member, and
`$BUILD/tools/debug_offsets_drift --table X.Y.Z[t]` (default build/) prints
the table cspy uses for that version. Every member the probe prints must
equal the table's, except that on 3.13+ a member fed by the target's
_Py_DebugOffsets may differ (a patch release moved it; the debug offsets win
at run time): that is printed, not failed. `tag_bits` passes when the table
masks at least the headers' bits. On 3.13+ the field list cspy reads
_Py_DebugOffsets with (debug_fields_3NN in src/python/offsets.c) must also
equal the struct's declaration in the headers, field by field. Members the
table sets that the headers cannot give (docs/offsets.md says where they come
from) are listed with -v.

Output: one line per directory ("ok", or the differing members), then
"N passed, N failed"; exit status 1 if any failed. Standard library only;
tests/e2e/drift.py runs it over every interpreter installed.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
# probe lines that are not py_layout members
NOT_MEMBERS = {"version", "free_threaded", "ts_holds_gil"}
# what a table holds for a member it does not set (ABSENT in offsets.c): -1,
# or these
UNSET = {"managed_dict_off": 0, "managed_values_off": 0, "dict_values_prefix": 0,
         "owner_generator": 1, "owner_skip_min": 256, "tag_bits": 0, "code_size": 0,
         "tpflags_managed_dict": 0, "tpflags_inline_values": 0, "debug_offsets_size": 0,
         "py2_unicode_size": 0, "uni_kind_shift": 2, "uni_compact_bit": 5, "uni_ascii_bit": 6}


def probe(inc):
    """{member: (value, what)} from the headers, or raise RuntimeError."""
    inc, _, cfg = inc.partition(":")
    cmd = [os.path.join(HERE, "probe.sh"), inc] + ([cfg] if cfg else [])
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, check=False)
    if r.returncode:
        raise RuntimeError("probe not built: " + r.stdout.strip()[-300:])
    out = {}
    for line in r.stdout.splitlines():
        f = line.split(None, 2)
        if len(f) >= 2 and re.match(r"-?\d+$", f[1]):
            out[f[0]] = (int(f[1]), f[2] if len(f) > 2 else "")
    if "version" not in out:
        raise RuntimeError("probe printed no version")
    return out


def version_of(hdr):
    """("3.15.0t", "3.15.0rc1t"): the table's version, and the one shown."""
    v = hdr["version"][0]
    t = "t" if hdr.get("free_threaded", (0,))[0] else ""
    base = "%d.%d.%d" % (v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff)
    level = {0xa: "a", 0xb: "b", 0xc: "rc"}.get((v >> 4) & 0xf, "")
    return base + t, base + (level + str(v & 0xf) if level else "") + t


def table(tool, version):
    """{member: (value, fed by the debug offsets)}, or raise RuntimeError."""
    r = subprocess.run([tool, "--table", version], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if r.returncode:
        raise RuntimeError(r.stdout.strip())
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        out[f[0]] = (int(f[1]), len(f) > 2 and f[2] == "debug")
    return out


def compare(hdr, tab):
    """(failed, [difference lines], [members checked], [members only in the table])."""
    failed, diffs, checked = False, [], []
    for name, (want, what) in hdr.items():
        if name in NOT_MEMBERS or name not in tab:
            continue
        val, fed = tab[name]
        checked.append(name)
        if name == "tag_bits" and val & want == want:
            continue
        if val != want:
            failed = failed or not fed
            diffs.append("  %s table=%d headers=%d (%s)%s" % (
                name, val, want, what,
                ": the debug offsets win" if fed else ": FAIL, cspy reads it from the table"))
    unchecked = sorted(n for n, (v, _) in tab.items()
                       if v != UNSET.get(n, -1) and n not in hdr)
    return failed, diffs, checked, unchecked


# cspy's names of the _Py_DebugOffsets fields (src/python/offsets.c,
# debug_fields_3NN: "group.field") against the header's struct members
DEBUG_GROUPS = {
    "rt": "runtime_state", "is": "interpreter_state", "ts": "thread_state",
    "es": "err_stackitem", "if": "interpreter_frame", "co": "code_object",
    "ob": "pyobject", "tp": "type_object", "ht": "heap_type_object", "tu": "tuple_object",
    "li": "list_object", "se": "set_object", "di": "dict_object", "fl": "float_object",
    "lo": "long_object", "by": "bytes_object", "un": "unicode_object", "gc": "gc",
    "ge": "gen_object", "ll": "llist_node", "db": "debugger_support"}
DEBUG_ALIASES = {"is.gil_enabled": "gil_runtime_state_enabled",
                 "is.gil_locked": "gil_runtime_state_locked",
                 "is.gil_holder": "gil_runtime_state_holder"}


def header_debug_fields(inc):
    """The uint64 fields of _Py_DebugOffsets in declaration order, as
    "group.member" ("cookie" etc. alone), from the headers; None if absent."""
    inc = inc.partition(":")[0]
    for name in ("pycore_debug_offsets.h", "pycore_runtime.h"):
        try:
            with open(os.path.join(inc, "internal", name)) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"typedef struct _Py_DebugOffsets \{(.*?)\n\} _Py_DebugOffsets;", text, re.S)
        if not m:
            continue
        body = re.sub(r"//[^\n]*|/\*.*?\*/", "", m.group(1), flags=re.S)
        out, group = [], None
        for tok in re.finditer(r"struct\s*\w*\s*\{|\}\s*(\w+)\s*;|(?:uint64_t|char)\s+(\w+)", body):
            if tok.group(0).startswith("struct"):
                group = []
            elif tok.group(1):
                out += [tok.group(1) + "." + f for f in group]
                group = None
            elif group is not None:
                group.append(tok.group(2))
            else:
                out.append(tok.group(2))
        return out
    return None


def cspy_debug_fields(minor):
    """cspy's list for a minor version ("13"), in the header's names; None if none."""
    with open(os.path.join(REPO, "src", "python", "offsets.c")) as f:
        text = f.read()
    m = re.search(r"debug_fields_3%s\[\][^=]*=((?:\s*\"[^\"]*\")+)\s*;" % minor, text)
    if not m:
        return None
    out = []
    for name in "".join(re.findall(r'"([^"]*)"', m.group(1))).split():
        g, _, f = name.partition(".")
        f = DEBUG_ALIASES.get(name, f)
        out.append(f if g == "hdr" else DEBUG_GROUPS.get(g, "?" + g) + "." + f)
    return out


def compare_debug(inc, ver):
    """[difference lines] between cspy's _Py_DebugOffsets shape and the headers'."""
    hdr = header_debug_fields(inc)
    if hdr is None:
        return ["  _Py_DebugOffsets: not found in the headers"]
    mine = cspy_debug_fields(ver.split(".")[1])
    if mine is None:
        return ["  _Py_DebugOffsets: src/python/offsets.c has no field list for %s" % ver]
    out = []
    for i in range(max(len(hdr), len(mine))):
        a = mine[i] if i < len(mine) else "(none)"
        b = hdr[i] if i < len(hdr) else "(none)"
        if a != b:
            out.append("  _Py_DebugOffsets field %d: cspy %s, headers %s" % (i, a, b))
    return out


def check(inc, tool, verbose=False):
    """Print the comparison for one include directory; True when it passes."""
    try:
        hdr = probe(inc)
        ver, shown = version_of(hdr)
        tab = table(tool, ver)
    except RuntimeError as e:
        print("%s: FAIL: %s" % (inc, e))
        return False
    failed, diffs, checked, unchecked = compare(hdr, tab)
    shape = ""
    if "debug_offsets_size" in hdr:
        d = compare_debug(inc, ver)
        failed = failed or bool(d)
        diffs += d
        shape = "; _Py_DebugOffsets: %d fields" % len(header_debug_fields(inc) or [])
    print("%s %s: %s (%d members from the headers%s)" % (
        inc, shown, "FAIL" if failed else "ok" if not diffs else "ok, with drift", len(checked),
        shape))
    for d in diffs:
        print(d)
    if verbose:
        for name in checked:
            print("  %s %d %s" % (name, hdr[name][0], hdr[name][1]))
        print("  not from the headers: %s" % " ".join(unchecked))
    return not failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", action="store_true", help="list every member and its source")
    ap.add_argument("inc", nargs="+", help="INCLUDE_DIR[:PYCONFIG_DIR]")
    args = ap.parse_args()
    tool = os.path.join(REPO, os.environ.get("BUILD", "build"), "tools", "debug_offsets_drift")
    if not os.path.exists(tool):
        print("missing %s: run make first" % tool)
        return 1
    ok = sum(check(inc, tool, args.v) for inc in args.inc)
    print("%d passed, %d failed" % (ok, len(args.inc) - ok))
    return 0 if ok == len(args.inc) else 1


if __name__ == "__main__":
    sys.exit(main())
