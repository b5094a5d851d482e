#!/usr/bin/env python3
"""Checks of cspy's Firefox Profiler (gecko) and pstats outputs, shared by
the gecko tier (tests/e2e/gecko.py) and the per-interpreter consumers of
record.py (consumer_gecko.py, consumer_pstats.py). Each function returns a
list of problem strings (empty: fine).

  - gecko_structure(doc): the processed profile format, version 57, as the
    Firefox Profiler's own type definitions describe it (src/types/
    profile.ts at that version): the top-level keys, meta's fields and
    categories (a grey default, known colours, subcategory 0), per thread
    its fields and tables, every table's columns present with the table's
    length, every index in range (samples -> stackTable -> frameTable ->
    funcTable -> resourceTable, names -> shared.stringArray, categories),
    prefixes before their stacks, samples sorted by time, pids strings,
    tids unique per process, at most one main thread per process;
  - gecko_totals_vs_json(gecko, doc): per thread, the samples (weights) and
    each leaf function's samples equal those of cspy's JSON of the same
    profile (doc); the "(idle)" gap samples weigh 0; a sample without a
    frame (an empty stack: null in gecko) counts as "(no frame)";
  - gecko_vs_cpython(ours, theirs): the same top-level keys, meta fields,
    thread fields, table columns and version numbers as a profile written
    by CPython 3.15's own sampler, except the documented differences
    (COLUMNS_CPYTHON_ONLY, KEYS_CSPY_ONLY);
  - pstats_expected(doc): the stats dict that cspy's pstats writer must
    give for cspy's JSON doc (the semantics of src/writers/pstats.h);
    pstats_vs_expected(loaded, expected, period): counts equal, times
    within rounding; PSTATS_LOADER: a program that any Python 3 (and 2.7)
    runs to load a file with pstats.Stats and print what it holds as JSON.

Python 3.6+ standard library only.
"""
import json

PROCESSED_VERSION = 57
GECKO_VERSION = 32
COLORS = {'transparent', 'purple', 'green', 'orange', 'yellow', 'lightblue', 'blue', 'brown',
          'magenta', 'red', 'lightred', 'darkgrey', 'grey'}
META_REQUIRED = ['interval', 'startTime', 'processType', 'product', 'stackwalk', 'version',
                 'preprocessedProfileVersion', 'markerSchema', 'categories']
THREAD_REQUIRED = ['processType', 'processStartupTime', 'processShutdownTime', 'registerTime',
                   'unregisterTime', 'pausedRanges', 'name', 'isMainThread', 'pid', 'tid',
                   'samples', 'markers', 'stackTable', 'frameTable', 'funcTable',
                   'resourceTable', 'nativeSymbols']
# Columns per table at version 57 (length aside).
TABLES = {
    'samples': ['stack', 'time', 'weight', 'weightType'],
    'stackTable': ['frame', 'prefix'],
    'frameTable': ['address', 'inlineDepth', 'category', 'subcategory', 'func', 'nativeSymbol',
                   'innerWindowID', 'line', 'column'],
    'funcTable': ['name', 'isJS', 'relevantForJS', 'resource', 'fileName', 'lineNumber',
                  'columnNumber'],
    'resourceTable': ['lib', 'name', 'host', 'type'],
    'nativeSymbols': ['libIndex', 'address', 'name', 'functionSize'],
    'markers': ['data', 'name', 'startTime', 'endTime', 'phase', 'category'],
}
SCALAR_COLUMNS = {('samples', 'weight'), ('samples', 'weightType')}
# What CPython 3.15's sampler writes and cspy does not, each with the reason.
COLUMNS_CPYTHON_ONLY = {
    'samples.eventDelay': 'optional (responsiveness); CPython writes only nulls',
    'stackTable.category': 'removed from the format at version 53 (the frame\'s category counts)',
    'stackTable.subcategory': 'removed from the format at version 53',
    'frameTable.implementation': 'removed from the format at version 54',
    'frameTable.optimizations': 'not in the format (ignored by the profiler)',
    'shared.sources': 'a version 58 table, rebuilt by the 57->58 upgrader from funcTable.fileName',
}
# What cspy writes and CPython's does not: optional fields of the format.
KEYS_CSPY_ONLY = {
    'meta.profilingStartTime': 'optional: the recorded range (ms after startTime)',
    'meta.profilingEndTime': 'optional: the recorded range (ms after startTime)',
    'meta.arguments': 'optional: the profiled command line',
}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _idx(v, n, nullable=False, minus_one=False):
    if v is None:
        return nullable
    if minus_one and v == -1:
        return True
    return _is_int(v) and 0 <= v < n


def gecko_structure(doc):
    p = []
    if not isinstance(doc, dict):
        return ['the file is not a JSON object']
    for k in ('meta', 'libs', 'threads', 'shared'):
        if k not in doc:
            p.append('top level: no %r' % k)
    if p:
        return p
    meta = doc['meta']
    for k in META_REQUIRED:
        if k not in meta:
            p.append('meta: no %r' % k)
    if meta.get('preprocessedProfileVersion') != PROCESSED_VERSION:
        p.append('meta.preprocessedProfileVersion %r, expected %d'
                 % (meta.get('preprocessedProfileVersion'), PROCESSED_VERSION))
    if not (_is_num(meta.get('interval')) and meta['interval'] > 0):
        p.append('meta.interval %r is not a positive number' % meta.get('interval'))
    if not _is_num(meta.get('startTime')):
        p.append('meta.startTime %r is not a number' % meta.get('startTime'))
    cats = meta.get('categories') or []
    if not any(isinstance(c, dict) and c.get('color') == 'grey' for c in cats):
        p.append('meta.categories: no grey (default) category')
    for i, c in enumerate(cats):
        if not (isinstance(c, dict) and isinstance(c.get('name'), str) and c.get('color') in COLORS
                and isinstance(c.get('subcategories'), list) and c['subcategories']
                and all(isinstance(s, str) for s in c['subcategories'])):
            p.append('meta.categories[%d] is malformed: %r' % (i, c))
    strings = doc['shared'].get('stringArray')
    if not (isinstance(strings, list) and all(isinstance(s, str) for s in strings)):
        return p + ['shared.stringArray is not a list of strings']
    nstr = len(strings)
    mains = {}
    tids = set()
    for ti, t in enumerate(doc['threads']):
        where = 'threads[%d] (%r)' % (ti, t.get('name'))
        for k in THREAD_REQUIRED:
            if k not in t:
                p.append('%s: no %r' % (where, k))
        if any(k not in t for k in THREAD_REQUIRED):
            continue
        if not isinstance(t['pid'], str):
            p.append('%s: pid %r is not a string' % (where, t['pid']))
        if not (_is_int(t['tid']) or isinstance(t['tid'], str)):
            p.append('%s: tid %r' % (where, t['tid']))
        if (t['pid'], t['tid']) in tids:
            p.append('%s: tid %r twice in process %s' % (where, t['tid'], t['pid']))
        tids.add((t['pid'], t['tid']))
        if t['isMainThread'] is True:
            mains[t['pid']] = mains.get(t['pid'], 0) + 1
        lens = {}
        for table, cols in TABLES.items():
            tab = t[table]
            n = tab.get('length') if isinstance(tab, dict) else None
            if not _is_int(n) or n < 0:
                p.append('%s.%s: no length' % (where, table))
                continue
            lens[table] = n
            for c in cols:
                if c not in tab:
                    if not (table == 'samples' and c == 'time' and 'timeDeltas' in tab):
                        p.append('%s.%s: no column %r' % (where, table, c))
                    continue
                if (table, c) in SCALAR_COLUMNS:
                    continue
                if not isinstance(tab[c], list) or len(tab[c]) != n:
                    p.append('%s.%s.%s: %s values, length says %d' % (
                        where, table, c, len(tab[c]) if isinstance(tab[c], list) else 'not a list of', n))
        if len(lens) != len(TABLES) or any(x.startswith(where) and 'values' in x for x in p):
            continue
        s, st, fr, fu, rs = (t['samples'], t['stackTable'], t['frameTable'], t['funcTable'],
                             t['resourceTable'])
        bad = []
        if s['weightType'] not in ('samples', 'tracing-ms', 'bytes'):
            bad.append('samples.weightType %r' % s['weightType'])
        w = s['weight']
        if w is not None and not (isinstance(w, list) and len(w) == s['length']
                                  and all(_is_num(x) and x >= 0 for x in w)):
            bad.append('samples.weight is neither null nor %d numbers >= 0' % s['length'])
        times = s.get('time')
        if times is not None:
            if not all(_is_num(x) for x in times):
                bad.append('samples.time has a non-number')
            elif any(times[i] < times[i - 1] for i in range(1, len(times))):
                i = next(i for i in range(1, len(times)) if times[i] < times[i - 1])
                bad.append('samples.time not sorted: [%d] %r after %r' % (i, times[i], times[i - 1]))
        for i, v in enumerate(s['stack']):
            if not _idx(v, st['length'], nullable=True):
                bad.append('samples.stack[%d] = %r out of range' % (i, v))
                break
        for i in range(st['length']):
            if not _idx(st['frame'][i], fr['length']):
                bad.append('stackTable.frame[%d] = %r out of range' % (i, st['frame'][i]))
                break
            pre = st['prefix'][i]
            if not (pre is None or (_is_int(pre) and 0 <= pre < i)):
                bad.append('stackTable.prefix[%d] = %r: not null nor an earlier stack' % (i, pre))
                break
        for i in range(fr['length']):
            if not _idx(fr['func'][i], fu['length']):
                bad.append('frameTable.func[%d] = %r out of range' % (i, fr['func'][i]))
                break
            c = fr['category'][i]
            if c is not None:
                if not _idx(c, len(cats)):
                    bad.append('frameTable.category[%d] = %r out of range' % (i, c))
                    break
                sc = fr['subcategory'][i]
                if not _idx(sc, len(cats[c].get('subcategories') or [])):
                    bad.append('frameTable.subcategory[%d] = %r not a subcategory of %r'
                               % (i, sc, cats[c].get('name')))
                    break
            ln = fr['line'][i]
            if ln is not None and not (_is_int(ln) and ln > 0):
                bad.append('frameTable.line[%d] = %r' % (i, ln))
                break
        for i in range(fu['length']):
            if not _idx(fu['name'][i], nstr):
                bad.append('funcTable.name[%d] = %r not a string index' % (i, fu['name'][i]))
                break
            if not _idx(fu['fileName'][i], nstr, nullable=True):
                bad.append('funcTable.fileName[%d] = %r' % (i, fu['fileName'][i]))
                break
            if not _idx(fu['resource'][i], rs['length'], minus_one=True):
                bad.append('funcTable.resource[%d] = %r out of range' % (i, fu['resource'][i]))
                break
            if not (isinstance(fu['isJS'][i], bool) and isinstance(fu['relevantForJS'][i], bool)):
                bad.append('funcTable.isJS/relevantForJS[%d] not booleans' % i)
                break
        for i in range(rs['length']):
            if not _idx(rs['name'][i], nstr):
                bad.append('resourceTable.name[%d] = %r not a string index' % (i, rs['name'][i]))
                break
        p += ['%s: %s' % (where, b) for b in bad]
    for pid, n in mains.items():
        if n > 1:
            p.append('process %s has %d main threads' % (pid, n))
    return p


def _leaf_name(t, strings, stack):
    fr = t['stackTable']['frame'][stack]
    fu = t['frameTable']['func'][fr]
    return strings[t['funcTable']['name'][fu]]


def gecko_threads(doc):
    """{(pid, tid or name): (samples, {leaf function: samples}, idle samples)}
    with the weights; lanes of exited threads (tid above every real one)
    are keyed by their name."""
    strings = doc['shared']['stringArray']
    out = {}
    for t in doc['threads']:
        s = t['samples']
        w = s['weight'] if s['weight'] is not None else [1] * s['length']
        total = 0
        leaves = {}
        idle = 0
        for i, stack in enumerate(s['stack']):
            if stack is None:
                # a sample of the thread without a frame (an empty stack)
                total += w[i]
                leaves['(no frame)'] = leaves.get('(no frame)', 0) + w[i]
                continue
            name = _leaf_name(t, strings, stack)
            if name == '(idle)' and t['stackTable']['prefix'][stack] is None:
                idle += 1
                if w[i] != 0:
                    leaves['(idle) with weight %r' % w[i]] = 1
                continue
            total += w[i]
            leaves[name] = leaves.get(name, 0) + w[i]
        key = (int(t['pid']), t['tid'] if t['tid'] < 4194304 else t['name'])
        out[key] = (total, leaves, idle)
    return out


def json_threads(doc):
    """The same view of cspy's JSON profile doc."""
    frames = doc['frames']
    threads = doc['threads']
    out = {}
    per = {}
    for s in doc['stacks']:
        if not s['count']:
            continue
        d = per.setdefault(s['thread'], {})
        name = frames[s['frames'][-1]]['name'] if s['frames'] else '(no frame)'
        d[name] = d.get(name, 0) + s['count']
    for i, t in enumerate(threads):
        if i not in per:
            continue
        key = (t['pid'], t['tid']) if t['tid'] else (t['pid'], None)
        if key[1] is None:
            key = (t['pid'], '%s (%d exited threads)' % (t['name'] or '?', t.get('exited', 0)))
        out[key] = (sum(per[i].values()), per[i], 0)
    return out


def gecko_totals_vs_json(gecko, doc):
    p = []
    g = gecko_threads(gecko)
    j = json_threads(doc)
    lanes_g = dict((k, v) for k, v in g.items() if isinstance(k[1], str))
    lanes_j = dict((k, v) for k, v in j.items() if isinstance(k[1], str))
    if lanes_j and not all(k in lanes_g for k in lanes_j):
        # The JSON may not say how many threads a lane holds: match lanes by pid and order.
        lj = sorted(lanes_j.items())
        lg = sorted(lanes_g.items())
        for (kj, vj), (kg, vg) in zip(lj, lg):
            j.pop(kj)
            j[kg] = vj
    for k in sorted(set(g) | set(j), key=str):
        if k not in g:
            p.append('thread %r: %d samples in the JSON, none in the gecko file' % (k, j[k][0]))
            continue
        if k not in j:
            p.append('thread %r: %d samples in the gecko file, none in the JSON' % (k, g[k][0]))
            continue
        if g[k][0] != j[k][0]:
            p.append('thread %r: %d samples in the gecko file, %d in the JSON' % (k, g[k][0], j[k][0]))
        if g[k][1] != j[k][1]:
            diff = sorted((n, g[k][1].get(n, 0), j[k][1].get(n, 0))
                          for n in set(g[k][1]) | set(j[k][1]) if g[k][1].get(n, 0) != j[k][1].get(n, 0))
            p.append('thread %r: leaf samples differ (function, gecko, JSON): %r' % (k, diff[:8]))
    return p


def _keys(prefix, d):
    return set(prefix + k for k in d)


def gecko_vs_cpython(ours, theirs):
    """The key sets compared as gecko_structure's doc says."""
    p = []
    if ours['meta'].get('version') != theirs['meta'].get('version'):
        p.append('meta.version %r, CPython writes %r' % (ours['meta'].get('version'),
                                                         theirs['meta'].get('version')))
    if ours['meta'].get('preprocessedProfileVersion') != theirs['meta'].get('preprocessedProfileVersion'):
        p.append('meta.preprocessedProfileVersion %r, CPython writes %r'
                 % (ours['meta'].get('preprocessedProfileVersion'),
                    theirs['meta'].get('preprocessedProfileVersion')))
    a = _keys('', ours) | _keys('meta.', ours['meta']) | _keys('shared.', ours['shared'])
    b = _keys('', theirs) | _keys('meta.', theirs['meta']) | _keys('shared.', theirs['shared'])
    if ours['threads'] and theirs['threads']:
        t1, t2 = ours['threads'][0], theirs['threads'][0]
        a |= _keys('thread.', t1)
        b |= _keys('thread.', t2)
        for table in TABLES:
            if isinstance(t1.get(table), dict):
                a |= _keys(table + '.', t1[table])
            if isinstance(t2.get(table), dict):
                b |= _keys(table + '.', t2[table])
    elif not theirs['threads']:
        p.append("CPython's profile has no thread to compare with")
    for k in sorted(b - a):
        if k not in COLUMNS_CPYTHON_ONLY:
            p.append('%s: CPython writes it, cspy does not' % k)
    for k in sorted(a - b):
        if k not in KEYS_CSPY_ONLY:
            p.append('%s: cspy writes it, CPython does not' % k)
    return p


# --------------------------------------------------------------------------
# pstats

def sample_period(doc):
    """Seconds per sample, as profile_sample_rate() gives it."""
    m = doc['meta']
    if m.get('ticks') and m.get('duration_ns'):
        return m['duration_ns'] / 1e9 / m['ticks']
    return 1.0 / m['rate_hz'] if m.get('rate_hz') else 0.01


def pstats_key(f):
    has_file = f['filename'] != '' and f['kind'] in ('python', 'native')
    return (f['filename'] if has_file else '~', f['line'] if has_file and f['line'] > 0 else 0,
            f['name'])


def pstats_expected(doc):
    """{key: [cc, nc, {caller: [nc, cc]}]} from cspy's JSON doc. A stack
    without frames has no entry to count in."""
    keys = [pstats_key(f) for f in doc['frames']]
    out = {}
    for s in doc['stacks']:
        c = s['count']
        fr = s['frames']
        if not c or not fr:
            continue
        seen = set()
        edges = set()
        for k, fid in enumerate(fr):
            key = keys[fid]
            e = out.setdefault(key, [0, 0, {}])
            if key not in seen:
                seen.add(key)
                e[1] += c
            if k:
                caller = keys[fr[k - 1]]
                ed = e[2].setdefault(caller, [0, 0])
                if (caller, key) not in edges:
                    edges.add((caller, key))
                    ed[0] += c
                if k + 1 == len(fr):
                    ed[1] += c
        out[keys[fr[-1]]][0] += c
    return out


def _close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def pstats_vs_expected(loaded, expected, period):
    """loaded: [[file, line, name], [cc, nc, tt, ct, [[caller key, [nc, cc, tt, ct]], ...]]]
    as PSTATS_LOADER prints it."""
    p = []
    got = {}
    for key, v in loaded:
        got[tuple(key)] = v
    for key in sorted(set(got) | set(expected), key=str):
        if key not in got:
            p.append('%r: expected (cc %d, nc %d), not in the file' % (key, expected[key][0],
                                                                       expected[key][1]))
            continue
        if key not in expected:
            p.append('%r: in the file, not in the profile' % (key,))
            continue
        cc, nc, tt, ct, callers = got[key]
        ecc, enc, ecallers = expected[key]
        if (cc, nc) != (ecc, enc):
            p.append('%r: (cc, nc) = (%d, %d), expected (%d, %d)' % (key, cc, nc, ecc, enc))
        if not (_close(tt, ecc * period) and _close(ct, enc * period)):
            p.append('%r: (tt, ct) = (%r, %r), expected (%r, %r)' % (key, tt, ct, ecc * period,
                                                                     enc * period))
        gc = dict((tuple(k), v) for k, v in callers)
        if set(gc) != set(ecallers):
            p.append('%r: callers %r, expected %r' % (key, sorted(gc), sorted(ecallers)))
            continue
        for ck, (enc2, ecc2) in ecallers.items():
            nc2, cc2, tt2, ct2 = gc[ck]
            if (nc2, cc2) != (enc2, ecc2) or not (_close(tt2, ecc2 * period) and _close(ct2, enc2 * period)):
                p.append('%r called by %r: %r, expected (%d, %d, %r, %r)'
                         % (key, ck, gc[ck], enc2, ecc2, ecc2 * period, enc2 * period))
        if len(p) > 12:
            p.append('...')
            break
    return p


# Run by the interpreter under test: python -c PSTATS_LOADER FILE. Prints
# one JSON line: the stats (keys and values as lists), the totals pstats
# computed, and whether print_stats/sort_stats/print_callers ran. Written
# for Python 2.7 and 3.x alike.
PSTATS_LOADER = r'''
import json, pstats, sys
class Sink(object):
    n = 0
    def write(self, text):
        self.n += len(text)
    def flush(self):
        pass
out = Sink()
st = pstats.Stats(sys.argv[1], stream=out)
rows = []
for k, v in st.stats.items():
    cc, nc, tt, ct, callers = v
    rows.append([list(k), [cc, nc, tt, ct, [[list(ck), list(cv)] for ck, cv in callers.items()]]])
st.sort_stats('cumulative').print_stats()
st.print_callers()
st.sort_stats('tottime').print_stats(5)
print(json.dumps({'stats': rows, 'total_calls': st.total_calls, 'prim_calls': st.prim_calls,
                  'total_tt': st.total_tt, 'printed': out.n}))
'''
