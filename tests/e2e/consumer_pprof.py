#!/usr/bin/env python3
"""The pprof consumers, for cspy's -f pprof files: Google's pprof (-raw,
-traces, -top) and an independent decoder (the npm package pprof-format,
tests/validate/pprof_decode.js) read a pprof file, and what they read is
compared with cspy's own JSON of the same profile (doc).

What is expected, from the JSON: one sample per stack with a count; its
locations leaf first, one per frame that is not a synthetic root (name, the
full file name, the line or 0), each in the mapping "[python]" (Python
frames), the module's or "[native]" (native frames), "[asyncio task]" (task frames,
record --async) or none (other frames);
its values [count, count x period] with period = 1e9 / the measured rate
(ticks / duration, else rate_hz), rounded; its labels pid, thread_id,
ns_thread_id, exited_threads, thread_name, command_line from its thread, and
process/thread/interpreter from its synthetic roots. Equal (locations,
labels) are summed, as pprof does. A profile with the python/native/system
split (meta classified) has a sample per class of a stack with its samples
and the label class (first), and the rest (not classified) without it;
with --memory (meta memory) two more values, alloc_space and free_space
bytes (the default sample type), the stack's bytes shared among its
samples in proportion (the rest to the last): expected_bytes(doc).

  - decoded(path, doc): pprof_decode.js's output, exactly (every string,
    hostile ones included, values, labels in order, mappings, header);
  - raw(text, doc): `pprof -raw`: samples (values, locations as pprof prints
    them, label lines) and the period;
  - traces(text, doc): `pprof -traces -lines -sample_index=samples`: each
    trace's labels, frames and count;
  - top(text, doc, lines): `pprof -top [-lines] -sample_index=samples`
    with nothing dropped: flat and cum of each function (or line) and the
    total.
Names with a newline make pprof's text outputs ambiguous: for such a
profile only the totals of the text outputs are compared (the decoder still
compares everything).

Also the module of the per-interpreter `converted` check of
tests/e2e/record.py (FORMAT, EXT, check()). Python 3.6+ stdlib only.
"""
import collections
import gzip
import json
import os
import posixpath
import re
import subprocess

FORMAT = 'pprof'
EXT = '.pb.gz'

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VALIDATE = os.path.join(REPO, 'tests', 'validate')
TOOL_SCRIPT = os.path.join(VALIDATE, 'pprof_tool.sh')
DECODER = os.path.join(VALIDATE, 'pprof_decode.js')
SOURCE_EXTS = ('.c', '.h', '.cc', '.cpp', '.cxx', '.hh', '.hpp', '.hxx', '.S', '.s', '.rs', '.inc',
               '.m', '.mm', '.f', '.f90', '.go', '.pyx', '.pxd', '.pxi')
SYNTHETIC = {'process': 'process', 'thread': 'thread', 'interpreter': 'interpreter'}
# The same pprof options everywhere: counts (not time), nothing dropped.
PPROF_ALL = ['-sample_index=samples', '-nodecount=1000000', '-nodefraction=0', '-edgefraction=0']


def pprof_binary(build=True):
    """(path, None) or (None, why): Google's pprof, built once from Debian's
    sources by tests/validate/pprof_tool.sh (build=False: only if built)."""
    try:
        p = subprocess.run([TOOL_SCRIPT] + ([] if build else ['--check']), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, 'tests/validate/pprof_tool.sh: %s' % e
    if p.returncode != 0:
        return None, (p.stderr.strip() or 'tests/validate/pprof_tool.sh failed').splitlines()[-1]
    return p.stdout.strip(), None


def decoder_missing():
    """None, or why pprof_decode.js cannot run."""
    if subprocess.call(['sh', '-c', 'command -v node'], stdout=subprocess.DEVNULL) != 0:
        return 'node is not installed'
    if not os.path.isdir(os.path.join(VALIDATE, 'node_modules', 'pprof-format')):
        return 'tests/validate/node_modules/pprof-format is missing (cd tests/validate && npm ci)'
    return None


def period_of(meta):
    ticks, dur, rate = meta.get('ticks') or 0, meta.get('duration_ns') or 0, meta.get('rate_hz') or 0
    r = ticks * 1e9 / dur if ticks and dur else rate if rate > 0 else 0
    if r <= 0:
        return None
    return max(1, int(1e9 / r + 0.5))


def mapping_of(fr, file):
    if fr['kind'] == 'python':
        return '[python]'
    if fr['kind'] == 'native':
        module = fr['line'] < 0 and file and not file.endswith(SOURCE_EXTS)
        return file if module else '[native]'
    if fr['kind'] == 'task':            # an asyncio task (record --async)
        return '[asyncio task]'
    return None


CLASSES = ('python', 'native', 'system')


def pieces(doc, s):
    """The samples the writer makes of stack s: [(count, class or None,
    grow, shrink)], as src/writers/pprof.c shares them."""
    meta = doc['meta']
    count, left, out = s['count'], s['count'], []
    if meta.get('classified'):
        for c in CLASSES:
            n = min((s.get('classes') or {}).get(c, 0), left)
            if n:
                out.append([n, c, 0, 0])
            left -= n
    if left or not out:
        out.append([left, None, 0, 0])
    if meta.get('memory') and not meta.get('diff'):
        mem = s.get('memory') or {}
        g_left, s_left = mem.get('grow', 0), mem.get('shrink', 0)
        for i, pc in enumerate(out):
            share = pc[0] / count if count else 1.0
            last = i + 1 == len(out)
            g = g_left if last else int(float(mem.get('grow', 0)) * share)
            sh = s_left if last else int(float(mem.get('shrink', 0)) * share)
            pc[2], pc[3] = min(g, g_left), min(sh, s_left)
            g_left -= pc[2]
            s_left -= pc[3]
    return out


def memory_of(doc):
    return bool(doc['meta'].get('memory') and not doc['meta'].get('diff'))


def expected_bytes(doc):
    """{(locations, labels): (grow, shrink)} of a --memory profile."""
    return _expected(doc)[2]


def expected(doc):
    """{(locations, labels): count} and the period (None: unknown rate).
    A location is (name, file, line, mapping), leaf first; labels are
    (key, value) pairs in the writer's order."""
    out, period, _ = _expected(doc)
    return out, period


def _expected(doc):
    frames, threads = doc['frames'], doc['threads']
    out, nbytes = collections.Counter(), {}
    mem = memory_of(doc)
    for s in doc['stacks']:
        if not s['count'] and not (mem and any((s.get('memory') or {}).values())):
            continue
        locs, roots = [], []
        for i in s['frames']:
            fr = frames[i]
            if fr['kind'] in SYNTHETIC:
                roots.append((SYNTHETIC[fr['kind']], fr['name'] or '?'))
                continue
            file = fr['filename'] or fr['short_filename']
            locs.append((fr['name'], file, max(fr['line'], 0), mapping_of(fr, file)))
        th = threads[s['thread']]
        labels = list(roots)
        for key, field in (('pid', 'pid'), ('thread_id', 'tid'), ('ns_thread_id', 'ns_tid'),
                           ('exited_threads', 'exited')):
            if th.get(field, 0) > 0:
                labels.append((key, th[field]))
        if th.get('name'):
            labels.append(('thread_name', th['name']))
        if th.get('command_line'):
            labels.append(('command_line', th['command_line']))
        for n, cls, grow, shrink in pieces(doc, s):
            key = (tuple(reversed(locs)), tuple(([('class', cls)] if cls else []) + labels))
            out[key] += n
            if mem:
                g0, s0 = nbytes.get(key, (0, 0))
                nbytes[key] = (g0 + grow, s0 + shrink)
    return out, period_of(doc['meta']), nbytes


def texts_unsafe(doc):
    """Does any string pprof prints hold a line break (text outputs ambiguous)?"""
    strs = [f['name'] for f in doc['frames']] + [f['filename'] for f in doc['frames']]
    for t in doc['threads']:
        strs += [t.get('name') or '', t.get('command_line') or '']
    return any('\n' in s or '\r' in s for s in strs)


def diff_counters(what, want, got, limit=6):
    problems = []
    for k in sorted(set(want) | set(got), key=repr):
        if want.get(k, 0) != got.get(k, 0):
            problems.append('%s: %r: expected %d, pprof has %d' % (what, k, want.get(k, 0), got.get(k, 0)))
    if len(problems) > limit:
        problems = problems[:limit] + ['%s: ... %d more differences' % (what, len(problems) - limit)]
    return problems


def run_decoder(path, timeout=60):
    """(pprof_decode.js's output, parsed, None) or (None, problem)."""
    p = subprocess.run(['node', DECODER, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if p.returncode != 0:
        return None, 'pprof-format: %s' % p.stderr.decode('utf-8', 'replace').strip()[:2000]
    return json.loads(p.stdout.decode('utf-8')), None


def decoded(d, doc):
    """Problems of d, the file as pprof-format decodes it (run_decoder)."""
    want, period = expected(doc)
    meta = doc['meta']
    problems = []
    kind = 'wall' if meta.get('idle_included') else 'cpu'
    types = [['samples', 'count']] + ([[kind, 'nanoseconds']] if period else [])
    mem = memory_of(doc)
    if mem:
        types += [['alloc_space', 'bytes'], ['free_space', 'bytes']]
    if d['sample_types'] != types:
        problems.append('sample types %s, expected %s' % (d['sample_types'], types))
    if period and (d['period'] != period or d['period_type'] != [kind, 'nanoseconds']):
        problems.append('period %s %s, expected %d %s nanoseconds' % (d['period'], d['period_type'],
                                                                     period, kind))
    if d['default_sample_type'] != ('alloc_space' if mem else kind if period else 'samples'):
        problems.append('default sample type %r' % d['default_sample_type'])
    if int(d['time_nanos']) != meta.get('start_unix_ns', 0) or \
       int(d['duration_nanos']) != meta.get('duration_ns', 0):
        problems.append('time %s / duration %s, expected %s / %s' % (
            d['time_nanos'], d['duration_nanos'], meta.get('start_unix_ns'), meta.get('duration_ns')))
    if not d['comments'] or not d['comments'][0].startswith('cspy '):
        problems.append('comments %r: the first is not "cspy VERSION"' % d['comments'][:3])
    got, gbytes = collections.Counter(), {}
    for s in d['samples']:
        if period and s['values'][1] != s['values'][0] * period:
            problems.append('sample values %s: not [count, count x %d]' % (s['values'], period))
        locs = tuple((l['name'], l['file'], l['line'], l['mapping']) for l in s['locations'])
        key = (locs, tuple(tuple(l) for l in s['labels']))
        got[key] += s['values'][0]
        if mem:
            g0, s0 = gbytes.get(key, (0, 0))
            gbytes[key] = (g0 + int(s['values'][-2]), s0 + int(s['values'][-1]))
    if mem:
        problems += diff_counters('pprof-format alloc_space',
                                  collections.Counter({k: v[0] for k, v in expected_bytes(doc).items()}),
                                  collections.Counter({k: v[0] for k, v in gbytes.items()}))
        problems += diff_counters('pprof-format free_space',
                                  collections.Counter({k: v[1] for k, v in expected_bytes(doc).items()}),
                                  collections.Counter({k: v[1] for k, v in gbytes.items()}))
    return problems + diff_counters('pprof-format sample', want, got)


def raw_loc_text(loc):
    """A location as `pprof -raw` prints it (after "M=N "): name file:line
    s=START, and "(SYSTEM_NAME)" when it differs from the name (cspy writes
    none)."""
    name, file, line, _ = loc
    return '%s %s:%d s=0%s' % (name, file, line, '()' if name else '')


def raw_label_lines(labels):
    """The label lines of a sample in `pprof -raw`: strings, then numbers,
    each "key:[v1 v2]" sorted by key."""
    strs, nums = collections.OrderedDict(), collections.OrderedDict()
    for k, v in labels:
        (nums if isinstance(v, int) else strs).setdefault(k, []).append(str(v))
    out = []
    for d in (strs, nums):
        if d:
            out.append(' '.join(sorted('%s:[%s]' % (k, ' '.join(v)) for k, v in d.items())))
    return tuple(out)


def raw(text, doc):
    """Problems of `pprof -raw` output."""
    want, period = expected(doc)
    lines = text.split('\n')
    problems = []
    m = re.search(r'^Period: (\d+)$', text, re.M)
    if period and (not m or int(m.group(1)) != period):
        problems.append('-raw: period %s, expected %d' % (m and m.group(1), period))
    try:
        s0, l0, m0 = lines.index('Samples:'), lines.index('Locations'), lines.index('Mappings')
    except ValueError:
        return problems + ['-raw: no Samples/Locations/Mappings sections']
    # pprof drops a sample without locations (an empty stack, as a launch's
    # first samples can have) when it reads the file
    want = collections.Counter({k: v for k, v in want.items() if k[0]})
    total = sum(want.values())
    sample_re = re.compile(r'^((?: +-?\d+)+): ((?:\d+ )*)$')
    samples, cur = [], None
    for ln in lines[s0 + 2:l0]:
        mm = sample_re.match(ln)
        if mm:
            cur = [[int(v) for v in mm.group(1).split()], [int(i) for i in mm.group(2).split()], []]
            samples.append(cur)
        elif cur is not None and ln.startswith(' ' * 16):
            cur[2].append(ln[16:])
    got_total = sum(s[0][0] for s in samples)
    if got_total != total:
        problems.append('-raw: %d samples in all, expected %d' % (got_total, total))
    nvalues = (2 if period else 1) + (2 if memory_of(doc) else 0)
    for s in samples:
        if period and (len(s[0]) != nvalues or s[0][1] != s[0][0] * period):
            problems.append('-raw: sample values %s: not [count, count x %d%s]'
                            % (s[0], period, ', grown, shrunk' if memory_of(doc) else ''))
    if texts_unsafe(doc):
        return problems
    mappings = {}
    for ln in lines[m0 + 1:]:
        mm = re.match(r'^(\d+): 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (.*)$', ln)
        if mm:
            mappings[mm.group(1)] = mm.group(2).rsplit(' ', 2)[0]
    locs = {}
    for ln in lines[l0 + 1:m0]:
        mm = re.match(r'^ *(\d+): 0x[0-9a-f]+ (?:M=(\d+) )?(.*)$', ln)
        if mm:
            locs[int(mm.group(1))] = (mm.group(3), mappings.get(mm.group(2)))
    got, got_b = collections.Counter(), collections.Counter()
    for values, ids, labels in samples:
        if any(i not in locs for i in ids):
            problems.append('-raw: a sample names locations %s not all listed' % ids)
            continue
        key = (tuple(locs[i] for i in ids), tuple(labels))
        got[key] += values[0]
        if memory_of(doc) and len(values) >= 2:
            got_b[key + ('grown',)] += values[-2]
            got_b[key + ('shrunk',)] += values[-1]
    want_raw, want_b = collections.Counter(), collections.Counter()
    wbytes = expected_bytes(doc) if memory_of(doc) else {}
    for (wl, labels), n in want.items():
        key = (tuple((raw_loc_text(l), l[3]) for l in wl), raw_label_lines(labels))
        want_raw[key] += n
        if memory_of(doc):
            g, sh = wbytes.get((wl, labels), (0, 0))
            want_b[key + ('grown',)] += g
            want_b[key + ('shrunk',)] += sh
    return problems + diff_counters('-raw sample', want_raw, got) + \
        diff_counters('-raw bytes', +want_b, +got_b)


def go_clean(path):
    """Go's filepath.Clean, which pprof applies to file names in its
    reports ("./nptl/x.c" -> "nptl/x.c")."""
    r = posixpath.normpath(path)
    return '/' + r.lstrip('/') if r.startswith('//') else r


def node_text(loc, lines):
    """A frame as pprof names it in -traces/-top: "name file:line" with
    -lines (file alone without a line; the file name cleaned as Go does),
    else the name."""
    name, file, line, _ = loc
    if not lines:
        return name
    file = go_clean(file) if file else file
    return '%s %s:%d' % (name, file, line) if line else '%s %s' % (name, file) if file else name


def traces(text, doc):
    """Problems of `pprof -traces -lines -sample_index=samples` output."""
    want, _ = expected(doc)
    sep = '-----------+-------------------------------------------------------'
    blocks = text.split(sep + '\n')[1:]
    got = collections.Counter()
    total = 0
    for b in blocks:
        labels, frames, count = [], [], None
        for ln in b.rstrip('\n').split('\n'):
            if ln == sep:
                continue
            if count is None:
                v = re.match(r'^ *(\d+)   (.*)$', ln)
                lab = re.match(r'^ *(\S+):  (.*)$', ln)
                if v:
                    count = int(v.group(1))
                    frames.append(v.group(2))
                elif lab:
                    labels.append((lab.group(1), lab.group(2)))
            else:
                frames.append(ln[13:])
        total += count or 0
        got[(tuple(frames), tuple(labels))] += count or 0
    problems = []
    want = collections.Counter({k: v for k, v in want.items() if k[0]})    # as in raw()
    if total != sum(want.values()):
        problems.append('-traces: %d samples in all, expected %d' % (total, sum(want.values())))
    if texts_unsafe(doc):
        return problems
    want_t = collections.Counter()
    for (wl, labels), n in want.items():
        if not wl:
            continue        # pprof -traces leaves out a sample without locations
        strs, nums = collections.OrderedDict(), collections.OrderedDict()
        for k, v in labels:
            (nums if isinstance(v, int) else strs).setdefault(k, []).append(str(v))
        # Sorted as pprof prints them: "%10s:  %s", the key padded.
        order = lambda kv: '%10s:  %s' % kv
        lab = sorted(((k, ' '.join(v)) for k, v in strs.items()), key=order) + \
            sorted(((k, ' '.join(v)) for k, v in nums.items()), key=order)
        want_t[(tuple(node_text(l, True) for l in wl), tuple(lab))] += n
    got.pop(((), ()), None)
    return problems + diff_counters('-traces trace', want_t, got)


def top(text, doc, lines):
    """Problems of `pprof -top [-lines] -sample_index=samples` output with
    nothing dropped: each row's flat and cum, and the total."""
    want, _ = expected(doc)
    total = sum(want.values())
    problems = []
    mm = re.search(r'Total samples = (\d+)', text)
    if not mm or int(mm.group(1)) != total:
        problems.append('-top: total %s, expected %d' % (mm and mm.group(1), total))
    if texts_unsafe(doc):
        return problems
    flat, cum = collections.Counter(), collections.Counter()
    for (wl, _), n in want.items():
        if wl:
            flat[node_text(wl[0], lines)] += n
        for name in set(node_text(l, lines) for l in wl):
            cum[name] += n
    gflat, gcum = collections.Counter(), collections.Counter()
    row = re.compile(r'^ *(\d+) +\S+% +\S+% +(\d+) +\S+%  (.*)$')
    for ln in text.split('\n'):
        r = row.match(ln)
        if r:
            gflat[r.group(3)] += int(r.group(1))
            gcum[r.group(3)] += int(r.group(2))
    what = '-top%s' % (' -lines' if lines else '')
    return problems + diff_counters(what + ' flat', +flat, +gflat) + diff_counters(what + ' cum', cum, gcum)


def run_pprof(binary, args, path, timeout=60):
    """(output, None) or (None, problem)."""
    p = subprocess.run([binary] + args + [path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=dict(os.environ, PPROF_TMPDIR=os.path.dirname(path) or '.',
                                                 HOME=os.path.dirname(path) or '.'))
    if p.returncode != 0:
        return None, 'pprof %s: exit %d: %s' % (' '.join(args), p.returncode,
                                                p.stderr.decode('utf-8', 'replace').strip()[:1000])
    return p.stdout.decode('utf-8', 'replace'), None


def all_checks(binary, path, doc, which=('raw', 'traces', 'top', 'top-lines', 'decoder'), cache=None):
    """Problems of every consumer named in which that can run; a consumer
    that cannot run (no pprof binary: binary None; no node) is skipped here
    (the caller says so). cache: a dict keeping each consumer's output of
    path, to compare the same file with several docs."""
    cache = {} if cache is None else cache
    problems = []
    with open(path, 'rb') as f:
        head = f.read(2)
    if head != b'\x1f\x8b':
        return ['%s is not gzip-compressed (starts with %r)' % (path, head)]
    try:
        with gzip.open(path, 'rb') as f:
            inner = f.read(2)
        if inner[:2] == b'\x1f\x8b':
            problems.append('%s is gzip-compressed twice' % path)
    except (OSError, EOFError) as e:
        return ['%s: gzip: %s' % (path, e)]
    runs = {'raw': (['-raw'], raw), 'traces': (['-traces', '-lines'] + PPROF_ALL[:1], traces),
            'top': (['-top'] + PPROF_ALL, lambda t, d: top(t, d, False)),
            'top-lines': (['-top', '-lines'] + PPROF_ALL, lambda t, d: top(t, d, True))}
    for w in which:
        if w == 'decoder':
            if decoder_missing():
                continue
            if w not in cache:
                cache[w] = run_decoder(path)
            d, err = cache[w]
            problems += [err] if err else decoded(d, doc)
            continue
        if not binary:
            continue
        args, fn = runs[w]
        if w not in cache:
            cache[w] = run_pprof(binary, args, path)
        out, err = cache[w]
        problems += [err] if err else fn(out, doc)
    return problems


_SKIP_SAID = set()


def check(ctx, json_path, out_path, doc):
    """The converted check's hook: `pprof -raw` and pprof-format on this
    interpreter's profile. A consumer that cannot run is a problem when
    CSPY_REQUIRE_VALIDATORS=1, else it is left out and said so once per run
    ("skipped: REASON" on stdout): the other formats of the check still run."""
    binary, why = pprof_binary(build=False)
    missing = decoder_missing()
    problems = []
    for absent, what in ((None if binary else why, 'pprof'), (missing, 'pprof-format')):
        if not absent:
            continue
        if os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1':
            problems.append('%s is required (CSPY_REQUIRE_VALIDATORS=1) but: %s' % (what, absent))
        elif what not in _SKIP_SAID:
            _SKIP_SAID.add(what)
            print('skipped: %s checks of the converted pprof files: %s' % (what, absent))
    return problems + all_checks(binary, out_path, doc, which=('raw', 'traces', 'decoder'))
