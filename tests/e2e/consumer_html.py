# SPDX-License-Identifier: MIT
#
# The HTML report in record.py's `converted` check (one recording per
# interpreter, saved as cspy's JSON, rendered by `cspy report -f html`):
# the page's data (the <script id="cspy-data" type="application/json">
# element, read as the page reads it) parses and says what the JSON says:
# the same frames (names, files, lines), the same stacks and counts, the
# sources the JSON carries (text or error, file by file), the target's
# busy function named, its file's text read while recording (equal to the
# file where it is at that path here; an interpreter in a chroot has it
# only inside); the split and the bytes per stack, when the profile has them;
# and the file has no "</script>" but its own two.
# The page itself is driven in Chromium by the html tier (tests/html/).
import json
import os
import re

FORMAT = 'html'
EXT = '.html'

KINDS = ['python', 'native', 'process', 'thread', 'interpreter', 'other', 'task']


def check(ctx, json_path, out_path, doc):
    with open(out_path, 'rb') as f:
        html = f.read().decode('utf-8', 'replace')
    m = re.search(r'<script id="cspy-data" type="application/json">(.*?)</script>', html, re.S)
    if not m:
        return ['no data element in the page']
    try:
        data = json.loads(m.group(1))
    except ValueError as e:
        return ['the page\'s data does not parse: %s' % e]
    problems = []
    if html.count('</script>') != 2:
        problems.append('%d "</script>" in the file, expected 2' % html.count('</script>'))
    want = [(f['name'], f['filename'], f['line'], f['kind']) for f in doc['frames']]
    got = [(f[0], f[1], f[3], KINDS[f[4]] if 0 <= f[4] < len(KINDS) else f[4]) for f in data['frames']]
    if want != got:
        problems.append('frames differ from the JSON\'s: %d vs %d, first %r vs %r'
                        % (len(got), len(want), got[:1], want[:1]))
    ws = sorted((s['thread'], tuple(s['frames']), s['count']) for s in doc['stacks'])
    gs = sorted((s[0], tuple(s[3:]), s[1]) for s in data['stacks'] if s[1])
    if ws != gs:
        problems.append('stacks differ from the JSON\'s: %d vs %d' % (len(gs), len(ws)))
    # The split (meta classified) and --memory bytes: beside the stacks, in
    # their order.
    for key, flag, of in (('classes', 'classified', lambda s: [s['classes'][c] for c in
                                                                  ('python', 'native', 'system')]),
                          ('memory', 'memory', lambda s: [s['memory']['grow'], s['memory']['shrink']])):
        if not doc['meta'].get(flag):
            if data.get(key) is not None:
                problems.append('the page has "%s" for a profile without %s' % (key, flag))
            continue
        if not isinstance(data.get(key), list) or len(data[key]) != len(data['stacks']):
            problems.append('the page has no "%s" beside its stacks' % key)
            continue
        want = sorted((s['thread'], tuple(s['frames']), tuple(of(s))) for s in doc['stacks'])
        got = sorted((s[0], tuple(s[3:]), tuple(v)) for s, v in zip(data['stacks'], data[key]) if s[1])
        if want != got:
            problems.append('the page\'s "%s" differ from the JSON\'s' % key)
    wsrc = dict((s['filename'], (s.get('text'), s.get('error'))) for s in doc.get('sources', []))
    gsrc = dict((s[0], (s[1], s[2])) for s in data['sources'])
    if wsrc != gsrc:
        problems.append('sources differ from the JSON\'s: %d vs %d files, differing: %s'
                        % (len(gsrc), len(wsrc), sorted(k for k in set(wsrc) | set(gsrc)
                                                       if wsrc.get(k) != gsrc.get(k))[:3]))
    busy = [f for f in data['frames'] if f[0] == 'busy_spin']
    if not busy:
        problems.append('busy_spin not among the page\'s frames')
        return problems
    # The target's own file was read while recording (through
    # /proc/PID/root: also for an interpreter in a chroot, whose file is
    # not at that path here) and is the file's text where it is here.
    fn = busy[0][1]
    text, error = gsrc.get(fn, (None, 'no source entry'))
    if text is None:
        problems.append('no source text for the target\'s file %s: %s' % (fn, error))
    elif os.path.isfile(fn):
        with open(fn, 'rb') as f:
            disk = f.read().decode('utf-8', 'replace')
        if disk != text:
            problems.append('the source of %s differs from the file (%d vs %d characters)'
                            % (fn, len(text), len(disk)))
    return problems
