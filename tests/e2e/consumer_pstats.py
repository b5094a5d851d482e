#!/usr/bin/env python3
"""record.py's `converted` check, pstats: the file that `cspy report`
rendered from one interpreter's `-f json` profile is loaded by pstats.Stats
in that same interpreter (Python 2.7's too), and every entry's primitive
and total counts, own and cumulative times, and callers equal what the
JSON gives (the semantics of src/writers/pstats.h; tests/e2e/profcheck.py).
Python 3.6+ standard library only.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib  # noqa: E402
import profcheck  # noqa: E402

FORMAT = 'pstats'
EXT = '.pstats'


def check(ctx, json_path, out_path, doc):
    interp = getattr(ctx, 'interp', None)
    exe = interp.path if interp is not None else sys.executable
    r = e2elib.run_cmd([exe, '-c', profcheck.PSTATS_LOADER, out_path], timeout=60,
                       env=e2elib.target_env())
    if r.rc != 0:
        return ['pstats.Stats(%s) in %s: exit %d: %s' % (out_path, exe, r.rc, r.err.strip()[-1500:])]
    try:
        got = json.loads(r.out.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        return ['the pstats loader printed no JSON (%s): %r' % (e, r.out[-300:])]
    return profcheck.pstats_vs_expected(got['stats'], profcheck.pstats_expected(doc),
                                        profcheck.sample_period(doc))
