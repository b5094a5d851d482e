#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The html tier: cspy's HTML report (`-f html`) from a live recording and
# from fixed profiles, checked in headless Chromium by
# tests/validate/html_check.js, plus checks of the file itself here.
#
#   python3 tests/html/run.py [--screenshots]
#
# Cases:
#   live      `cspy record -f html` of tests/html/target.py (its hot line
#             known from inside it): the sources were read while recording
#             (the target's file text, "<frozen ...>" not a file), the
#             hottest line by own samples is the hot line; in Chromium the
#             whole walk of html_check.js's "live" kind;
#   container the same target in its own mount namespace (unshare -m), its
#             file on a tmpfs mounted there only, recorded as cspy's JSON
#             and rendered by `cspy report`: the file is not at that path
#             outside, the report still holds its text (read through
#             /proc/PID/root) and the source view shows it; the same JSON
#             without its "sources": the view says the profile has none;
#             `cspy diff` of the two: a diff report with the source view;
#   hostile   frame names and source text with markup, "</script>",
#             invalid UTF-8, control characters, U+2028, a huge name and a
#             300 KB line (writers_tool --source): shown as text, nothing
#             runs, the file has exactly its own two </script> tags;
#   errors    a file with an error ("not found") and one without any source:
#             the source view says so;
#   select    two processes, three threads: the selector's process and
#             thread choices show their samples and frames;
#   big       12,000 distinct stacks: ready within 5 s; a stack 5,000
#             frames deep too; an empty profile;
#   diff      writers_tool --base: grown frame red, shrunk blue, the legend,
#             both counts on hover, a frame only the base had in the table;
#   splitmem  a saved profile with the python/native/system split and
#             --memory bytes (tests/e2e/splitmem.py) through `cspy report`:
#             the page's classes and memory equal the profile's; in
#             Chromium, widths in bytes grown (the default measure), shrunk
#             and samples, the totals, the split and bytes on hover, the
#             "By class" colours, the table's Py/Nat/Sys columns and stacked
#             bars, the source view's stacked bar per line.
# --screenshots writes docs/images/report.png, docs/images/diff.png and
# docs/images/memory.png (splitmem: memory grown, coloured by class).
#
# A missing node, playwright-core or Chromium is "skipped: REASON" (a
# failure with CSPY_REQUIRE_VALIDATORS=1); so is a missing unshare for the
# container case. Every process started here is ended by its PID. The last
# line is "N passed, N failed".
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get('BUILD', 'build')
CSPY = os.path.join(REPO, BUILD, 'cspy')
TOOL = os.path.join(REPO, BUILD, 'tools', 'writers_tool')
TARGET = os.path.join(REPO, 'tests', 'html', 'target.py')
VALIDATE = os.path.join(REPO, 'tests', 'validate')
CHROMIUM = os.environ.get('CSPY_CHROMIUM', '/usr/bin/chromium')
REQUIRE = os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1'
PY = shutil.which('python3') or sys.executable     # on PATH: record's command too
sys.path.insert(0, os.path.join(REPO, 'tests', 'e2e'))
import splitmem  # noqa: E402

passed = failed = 0


def ok(what):
    global passed
    passed += 1
    print('ok   ' + what)


def bad(what, detail=''):
    global failed
    failed += 1
    print('--- check [%s]' % what)
    print('FAIL %s%s' % (what, ': ' + detail if detail else ''))


def check(cond, what, detail=''):
    if cond:
        ok(what)
    else:
        bad(what, detail)


def skipped(reason):
    print('skipped: ' + reason)
    if REQUIRE:
        bad('CSPY_REQUIRE_VALIDATORS=1 and a validator is missing', reason)


def run(cmd, timeout=60, **kw):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()                # by its PID
        out, err = p.communicate()
        return 124, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace') + ' (timed out)'
    return p.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def page_data(path):
    with open(path, 'rb') as f:
        html = f.read().decode('utf-8')
    m = re.search(r'<script id="cspy-data" type="application/json">(.*?)</script>', html, re.S)
    return html, (json.loads(m.group(1)) if m else None)


def own_by_line(data, filename):
    """Own samples per line of filename: the innermost Python frame."""
    own = {}
    for s in data['stacks']:
        py = [data['frames'][i] for i in s[3:] if data['frames'][i][4] == 0]
        if py and py[-1][1] == filename:
            own[py[-1][3]] = own.get(py[-1][3], 0) + s[1]
    return own


def live_case(tmp, cases, screenshots):
    # Run from a copy, by a relative name, as a user would (python3 app.py).
    info = os.path.join(tmp, 'info.json')
    out = os.path.join(tmp, 'live.html')
    shutil.copy(TARGET, os.path.join(tmp, 'app.py'))
    rc, so, se = run([CSPY, 'record', '-r', '250', '-o', out, '--', 'python3', 'app.py', 'info.json',
                      '2.5'], cwd=tmp)
    if rc != 0 or not os.path.exists(out):
        bad('live: cspy record -f html', 'rc %d: %s' % (rc, se[-600:]))
        return
    ok('live: cspy record -o live.html')
    with open(info) as f:
        inf = json.load(f)
    html, data = page_data(out)
    if data is None:
        bad('live: the page holds its data')
        return
    src = {s[0]: s for s in data['sources']}
    with open(TARGET, 'rb') as f:
        text = f.read().decode('utf-8')
    tf = inf['file']
    check(tf in src and src[tf][1] == text, 'live: the target\'s source was read while recording',
          repr(src.get(tf, 'none'))[:200])
    frozen = [k for k in src if k.startswith('<')]
    check(all(src[k][2] == 'not a file' for k in frozen), 'live: "<...>" files are not files',
          repr([src[k] for k in frozen][:3]))
    own = own_by_line(data, tf)
    hottest = max(own, key=own.get) if own else None
    check(hottest == inf['hot_line'], 'live: the hottest line is the target\'s hot line %d' % inf['hot_line'],
          'own by line: %r' % own)
    check(html.count('</script>') == 2, 'live: the file has only its own two </script>')
    # --no-sources: none read.
    bare = os.path.join(tmp, 'nosrc.json')
    rc, so, se = run([CSPY, 'record', '--no-sources', '-f', 'json', '-o', bare, '--', 'python3', 'app.py',
                      'info2.json', '0.3'], cwd=tmp)
    with open(bare) as f:
        doc = json.load(f)
    check(rc == 0 and 'sources' not in doc and doc['stacks'], 'live: record --no-sources reads no source',
          se[-300:])
    cases.append({'name': 'live', 'kind': 'live', 'file': out, 'search': '^spin ', 'thread': 'spinner',
                  'click': '^hot', 'file_name': tf, 'line': inf['hot_line'], 'hot_line': inf['hot_line'],
                  'screenshot': os.path.join(REPO, 'docs', 'images', 'report.png') if screenshots
                  else os.path.join(tmp, 'report.png')})
    # The spinner's code has no file: its frame's source view says so.
    cases.append({'name': 'live: code without a file', 'kind': 'error', 'file': out, 'click': '^spin ',
                  'error': '<spinner>: not a file'})


def container_case(tmp, cases):
    if not shutil.which('unshare') or os.geteuid() != 0:
        skipped('container: needs unshare and root (a mount namespace)')
        return
    inside = os.path.join(tmp, 'ns')
    os.mkdir(inside)
    info = os.path.join(tmp, 'ns-info.json')
    saved = os.path.join(tmp, 'ns.json')
    out = os.path.join(tmp, 'ns.html')
    script = ('mount -t tmpfs cspy-html "$1" && cp "$2" "$1/ns_target.py" && '
              'exec "$3" "$1/ns_target.py" "$4" 1.5')
    cmd = [CSPY, 'record', '-r', '200', '-f', 'json', '-o', saved, '--', 'unshare', '-m', '--propagation', 'private',
           'sh', '-c', script, 'sh', inside, TARGET, PY, info]
    rc, so, se = run(cmd)
    ns_file = os.path.join(inside, 'ns_target.py')
    if rc != 0 or not os.path.exists(saved):
        bad('container: cspy record -f json of a target in a mount namespace', 'rc %d: %s' % (rc, se[-600:]))
        return
    rc, so, se = run([CSPY, 'report', saved, '-o', out])
    if rc != 0 or not os.path.exists(out):
        bad('container: cspy report ns.json -o ns.html', 'rc %d: %s' % (rc, se[-600:]))
        return
    # The same profile saved without its sources: the view says so.
    with open(saved) as f:
        doc = json.load(f)
    doc.pop('sources', None)
    bare = os.path.join(tmp, 'bare.json')
    with open(bare, 'w') as f:
        json.dump(doc, f)
    rc, so, se = run([CSPY, 'report', bare, '-o', os.path.join(tmp, 'bare.html')])
    check(rc == 0, 'container: cspy report of a profile without sources', se)
    cases.append({'name': 'report without sources', 'kind': 'error', 'file': os.path.join(tmp, 'bare.html'),
                  'click': '^hot ', 'error': 'no source in this profile'})
    check(not os.path.exists(ns_file), 'container: the target\'s file is not at its path outside')
    html, data = page_data(out)
    src = {s[0]: s for s in (data or {}).get('sources', [])}
    with open(TARGET, 'rb') as f:
        text = f.read().decode('utf-8')
    check(ns_file in src and src[ns_file][1] == text,
          'container: its source read through /proc/PID/root (into cspy JSON, then cspy report)', repr(src.get(ns_file))[:300])
    cases.append({'name': 'container', 'kind': 'source', 'file': out, 'click': '^hot ',
                  'text': 'def hot(n):', 'name_text': 'hot (', 'name_re': '^hot '})
    # `cspy diff` of that recording and its copy without sources: a diff
    # report whose source view still shows the file.
    dout = os.path.join(tmp, 'ns-diff.html')
    rc, so, se = run([CSPY, 'diff', bare, saved, '-o', dout])
    if rc != 0 or not os.path.exists(dout):
        bad('container: cspy diff -o ns-diff.html', 'rc %d: %s' % (rc, se[-400:]))
        return
    ok('container: cspy diff -o ns-diff.html')
    cases.append({'name': 'container, cspy diff', 'kind': 'source', 'file': dout, 'click': '^hot ',
                  'text': 'def hot(n):', 'name_text': 'hot (', 'name_re': '^hot '})


HOSTILE_NAMES = [
    r'<img src=x onerror="window.__pwned=1"> (hostile.py:3)',
    r'</script><script>window.__pwned=1</script> (hostile.py:5)',
    r'bad\xff\xfebytes\x01ctl (hostile.py:7)',
    r'sep\xe2\x80\xa8line<!-- (hostile.py:9)',
    r'"quotes\' & &amp\; \x00nul (hostile.py:11)',
]


def hostile_case(tmp, cases):
    src = os.path.join(tmp, 'hostile_src.py')
    with open(src, 'wb') as f:
        f.write(b'# hostile source\n'
                b'x = "</script><script>window.__pwned=1</script>"\n'
                b'<img src=x onerror="window.__pwned=1">\n'
                b'<!-- <script>window.__pwned=1</script>\n'
                b'bad bytes \xff\xfe\xc3 and a NUL \x00 and a control \x01\n'
                b'line separator \xe2\x80\xa8 here\n'
                + b'long = "' + b'A' * 300000 + b'"\n'
                + b'end\n' * 10)
    stacks = os.path.join(tmp, 'hostile.txt')
    huge = 'h' * 20000
    with open(stacks, 'w') as f:
        for i, n in enumerate(HOSTILE_NAMES):
            f.write('main (app.py:1);%s %d\n' % (n, 10 + i))
        f.write('main (app.py:1);%s (app.py:2) 3\n' % huge)
        f.write('main (app.py:1);lost (missing.py:7) 4\n')
        f.write('main (app.py:1);nosrc (nosrc.py:1) 4\n')
    out = os.path.join(tmp, 'hostile.html')
    rc, so, se = run([TOOL, '-f', 'html', '-t', '</title><script>window.__pwned=1</script>',
                      '--source', '/src/hostile.py=' + src,
                      '--source-error', '/src/missing.py=not found', '-o', out, stacks])
    if rc != 0:
        bad('hostile: writers_tool -f html', se)
        return
    html, data = page_data(out)
    check(data is not None and html.count('</script>') == 2 and '<!--' not in html.split('<body>')[1]
          and '\u2028' not in html, 'hostile: no name or text ends the data or opens markup')
    names = [f[0] for f in data['frames']] if data else []
    check('</script><script>window.__pwned=1</script>' in names and huge in names
          and 'sep\u2028line<!--' in names and 'bad\ufffd\ufffdbytes\x01ctl' in names,
          'hostile: names round-trip through the data (invalid UTF-8 as U+FFFD)', repr(names)[:300])
    text = [s[1] for s in data['sources'] if s[0] == '/src/hostile.py'] if data else []
    check(text and '</script><script>' in text[0] and 'A' * 300000 in text[0],
          'hostile: source text round-trips through the data')
    cases.append({'name': 'hostile', 'kind': 'hostile', 'file': out, 'click': '^</script>',
                  'text': 'x = "</script><script>window.__pwned=1</script>"',
                  'name_text': '<img src=x onerror="window.__pwned=1">', 'name_re': '^<img'})
    cases.append({'name': 'errors: a file not found', 'kind': 'error', 'file': out, 'click': '^lost ',
                  'error': '/src/missing.py: not found'})
    cases.append({'name': 'errors: a file without source', 'kind': 'error', 'file': out,
                  'click': '^nosrc ', 'error': 'no source in this profile'})


def select_case(tmp, cases):
    stacks = os.path.join(tmp, 'procs.txt')
    with open(stacks, 'w') as f:
        f.write('!cmdline python3 server.py\n!thread 10 10 MainThread\nserve (server.py:5) 30\n'
                '!thread 10 11 worker\nwork (server.py:9) 20\n'
                '!cmdline python3 batch.py\n!thread 20 20 MainThread\nbatch (batch.py:3) 50\n')
    out = os.path.join(tmp, 'procs.html')
    rc, so, se = run([TOOL, '-f', 'html', '-o', out, stacks])
    if rc != 0:
        bad('select: writers_tool -f html of two processes', se)
        return
    cases.append({'name': 'select', 'kind': 'select', 'file': out,
                  'select': [['p20', 50, 'batch'], ['p10', 50, 'serve'], ['t1', 20, 'work'],
                             ['all', 100, 'serve']]})


def big_case(tmp, cases):
    out = os.path.join(tmp, 'big.html')
    rc, so, se = run([TOOL, '-f', 'html', '--synth', '12000,300000', '-o', out])
    if rc != 0:
        bad('big: writers_tool --synth', se)
        return
    html, data = page_data(out)
    n = len(data['stacks']) if data else 0
    check(n >= 10000, 'big: %d distinct stacks' % n)
    cases.append({'name': 'big', 'kind': 'big', 'file': out, 'max_ms': 5000})
    # A stack 5,000 frames deep: drawn (the canvas stays within what
    # browsers allow), no error.
    deep = os.path.join(tmp, 'deep.txt')
    with open(deep, 'w') as f:
        f.write(';'.join('f%d (deep.py:%d)' % (i, i) for i in range(5000)) + ' 7\n')
        f.write('main (app.py:1) 3\n')
    out = os.path.join(tmp, 'deep.html')
    rc, so, se = run([TOOL, '-f', 'html', '-o', out, deep])
    check(rc == 0, 'deep: writers_tool -f html of a 5,000-frame stack', se)
    cases.append({'name': 'deep', 'kind': 'big', 'file': out, 'max_ms': 5000, 'deepest': 5000})
    # No samples at all: the page still builds, says so, no error.
    empty = os.path.join(tmp, 'empty.txt')
    open(empty, 'w').close()
    out = os.path.join(tmp, 'empty.html')
    rc, so, se = run([TOOL, '-f', 'html', '-o', out, empty])
    check(rc == 0, 'empty: writers_tool -f html of an empty profile', se)
    cases.append({'name': 'empty', 'kind': 'big', 'file': out, 'max_ms': 5000})


def diff_case(tmp, cases, screenshots):
    new = os.path.join(tmp, 'new.txt')
    base = os.path.join(tmp, 'base.txt')
    with open(new, 'w') as f:
        f.write('main (app.py:3);handle (app.py:8);grow (app.py:10) 60\n'
                'main (app.py:3);handle (app.py:8);shrink (app.py:20) 20\n'
                'main (app.py:3);same (app.py:30) 20\n')
    with open(base, 'w') as f:
        f.write('main (app.py:3);handle (app.py:8);grow (app.py:10) 20\n'
                'main (app.py:3);handle (app.py:8);shrink (app.py:20) 50\n'
                'main (app.py:3);same (app.py:30) 20\n'
                'main (app.py:3);gone (app.py:40) 10\n')
    out = os.path.join(tmp, 'diff.html')
    rc, so, se = run([TOOL, '-f', 'html', '-t', 'app.py: base vs new', '--base', base, '-o', out, new])
    if rc != 0:
        bad('diff: writers_tool --base', se)
        return
    html, data = page_data(out)
    check(data and data['meta']['diff'] and data['meta']['base_total'] == 100,
          'diff: the data is a differential profile')
    cases.append({'name': 'diff', 'kind': 'diff', 'file': out, 'grew': '^grow ', 'shrank': '^shrink ',
                  'gone': 'gone',
                  'screenshot': os.path.join(REPO, 'docs', 'images', 'diff.png') if screenshots
                  else os.path.join(tmp, 'diff.png')})


def splitmem_case(tmp, cases, screenshots):
    js, out = os.path.join(tmp, 'splitmem.json'), os.path.join(tmp, 'splitmem.html')
    splitmem.write(js)
    rc, so, se = run([CSPY, 'report', js, '-f', 'html', '-o', out, '-q'])
    if rc != 0:
        bad('splitmem: cspy report -f html', se)
        return
    html, data = page_data(out)
    want_cls = [list(s[3]) for s in splitmem.STACKS]
    want_mem = [list(s[4]) for s in splitmem.STACKS]
    check(data and data['meta']['classified'] and data['meta']['memory'] and
          data['classes'] == want_cls and data['memory'] == want_mem,
          'splitmem: the page carries each stack\'s split and bytes',
          data and json.dumps([data.get('classes'), data.get('memory')]))
    leaf = lambda field: {k: v for k, v in splitmem.leaf_totals(field).items() if v}
    cases.append({'name': 'splitmem', 'kind': 'splitmem', 'file': out,
                  'grow': leaf(('mem', 0)), 'shrink': leaf(('mem', 1)), 'count': leaf('count'),
                  'cls': {k: [splitmem.leaf_totals(('cls', i)).get(k, 0) for i in range(3)]
                          for k in splitmem.leaf_totals('count')},
                  'grow_total': splitmem.total(('mem', 0)), 'shrink_total': splitmem.total(('mem', 1)),
                  'samples': splitmem.total('count'), 'line': splitmem.LINES['grow_big'],
                  'screenshot': os.path.join(REPO, 'docs', 'images', 'memory.png') if screenshots
                  else os.path.join(tmp, 'memory.png')})


def browser_missing():
    if not shutil.which('node'):
        return 'node not installed'
    if not os.path.isdir(os.path.join(VALIDATE, 'node_modules', 'playwright-core')):
        return 'tests/validate/node_modules/playwright-core missing (cd tests/validate && npm ci)'
    if not os.access(CHROMIUM, os.X_OK):
        return '%s missing (apt-get install chromium)' % CHROMIUM
    return None


def main():
    screenshots = '--screenshots' in sys.argv[1:]
    for exe in (CSPY, TOOL):
        if not os.access(exe, os.X_OK):
            bad('%s built' % exe, 'run make first')
            print('%d passed, %d failed' % (passed, failed))
            return 1
    rc, so, se = run([CSPY, 'record', '-f', 'nope', '-o', '/dev/null', '--', 'true'])
    check(rc != 0 and 'html' in se, 'an unknown format names html among the formats', se.strip())
    tmp = tempfile.mkdtemp(prefix='cspy-html-')
    try:
        cases = []
        live_case(tmp, cases, screenshots)
        container_case(tmp, cases)
        hostile_case(tmp, cases)
        select_case(tmp, cases)
        big_case(tmp, cases)
        diff_case(tmp, cases, screenshots)
        splitmem_case(tmp, cases, screenshots)
        missing = browser_missing()
        if missing:
            skipped('Chromium checks: ' + missing)
        else:
            spec = os.path.join(tmp, 'spec.json')
            with open(spec, 'w') as f:
                json.dump(cases, f)
            p = subprocess.Popen(['node', 'html_check.js', spec], cwd=VALIDATE, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
            try:
                out, _ = p.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
            lines = out.decode('utf-8', 'replace').splitlines()
            for line in lines[:-1]:
                if line.startswith('ok   '):
                    ok('Chromium: ' + line[5:])
                elif line.startswith('FAIL '):
                    bad('Chromium: ' + line[5:].split(': ')[0], line[5:])
                else:
                    print('     ' + line)
            if not lines or not re.match(r'^\d+ passed, \d+ failed$', lines[-1]):
                bad('Chromium: html_check.js reported no result', '\n'.join(lines[-5:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
