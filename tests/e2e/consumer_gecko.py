#!/usr/bin/env python3
"""record.py's `converted` check, gecko: the Firefox Profiler file that
`cspy report` rendered from one interpreter's `-f json` profile has the
structure of the processed format (version 57) and, per thread, the same
samples and leaf functions' samples as that JSON (tests/e2e/profcheck.py).
Python 3.6+ standard library only.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profcheck  # noqa: E402

FORMAT = 'gecko'
EXT = '.gecko.json'


def check(ctx, json_path, out_path, doc):
    try:
        with open(out_path, 'rb') as f:
            g = json.loads(f.read().decode('utf-8'))
    except (OSError, ValueError) as e:
        return ['%s: not valid JSON: %s' % (out_path, e)]
    problems = profcheck.gecko_structure(g)
    if problems:
        return problems
    return profcheck.gecko_totals_vs_json(g, doc)
