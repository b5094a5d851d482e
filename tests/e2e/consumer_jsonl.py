#!/usr/bin/env python3
"""The jsonl consumer of record.py's `converted` check, and the reader of
jsonl that the stream tier (tests/e2e/stream.py) shares: the rules of the
format (docs/formats.md, jsonl) checked line by line, and the totals per
stack, per process and the exited threads, to compare with cspy's JSON.

converted: a `-f json` recording rendered by `cspy report -f jsonl` must
follow the rules, hold the JSON's meta in its end line, its totals per
stack and process and its lanes' exited counts, and read back (`cspy
report x.jsonl -f json`) to the same totals. Python 3.6+ standard library.
"""
import collections
import json
import os

FORMAT = 'jsonl'
EXT = '.jsonl'
KINDS = ('cspy', 'frame', 'thread', 'stack', 't', 'exit', 'end', 'class', 'memory')
CLASSES = ('python', 'native', 'system')


def check_jsonl(text, complete=True):
    """(objects, problems): the lines parsed, and what breaks the format's
    rules (docs/formats.md, jsonl)."""
    probs = []
    objs = []
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    for n, line in enumerate(lines, 1):
        try:
            o = json.loads(line, object_pairs_hook=collections.OrderedDict)
        except ValueError as e:
            probs.append('line %d is not JSON (%s): %s' % (n, e, line[:200]))
            continue
        if not isinstance(o, dict) or not o:
            probs.append('line %d is not a JSON object: %s' % (n, line[:200]))
            continue
        first = next(iter(o))
        if first not in KINDS:
            probs.append('line %d: unknown first key %r' % (n, first))
        if sum(1 for k in KINDS if k in o) != 1 and first != 'end':
            probs.append('line %d: more than one kind key: %s' % (n, line[:200]))
        objs.append(o)
    if not objs:
        return objs, probs + ['no lines']
    head = objs[0]
    if 'cspy' not in head or head['cspy'].get('format') != 'jsonl' or \
            head['cspy'].get('format_version') != 1 or 'meta' not in head:
        probs.append('the first line is not the head: %s' % json.dumps(head)[:300])
    if complete and 'end' not in objs[-1]:
        probs.append('the last line is not the end line: %s' % json.dumps(objs[-1])[:300])
    if sum(1 for o in objs if 'end' in o) > (1 if complete else 0):
        probs.append('%d end lines' % sum(1 for o in objs if 'end' in o))
    frames, threads, stacks, gone = set(), set(), set(), set()
    for n, o in enumerate(objs[1:], 2):
        if len(probs) > 20:
            break
        if 'frame' in o:
            if o['frame'] in frames:
                probs.append('line %d: frame %s defined twice' % (n, o['frame']))
            frames.add(o['frame'])
        elif 'thread' in o:
            if o['thread'] in threads:
                probs.append('line %d: thread %s defined twice' % (n, o['thread']))
            threads.add(o['thread'])
        elif 'stack' in o:
            if o['stack'] in stacks:
                probs.append('line %d: stack %s defined twice' % (n, o['stack']))
            missing = [f for f in o['frames'] if f not in frames]
            if missing:
                probs.append('line %d: stack %s uses frames %s before their definition'
                             % (n, o['stack'], missing[:5]))
            stacks.add(o['stack'])
        elif 't' in o:
            if o['stack_id'] not in stacks:
                probs.append('line %d: a sample of stack %s before its definition' % (n, o['stack_id']))
            if o['thread_id'] not in threads:
                probs.append('line %d: a sample of thread %s before its definition' % (n, o['thread_id']))
            if o['thread_id'] in gone:
                probs.append('line %d: a sample of thread %s after its exit' % (n, o['thread_id']))
        elif 'exit' in o:
            if o['exit'] not in threads or o['exit'] in gone:
                probs.append('line %d: exit of thread %s, not a live thread' % (n, o['exit']))
            gone.add(o['exit'])
        elif 'class' in o or 'memory' in o:     # the split, --memory bytes: of a live thread's stack
            if o.get('stack_id') not in stacks or o.get('thread_id') not in threads or \
                    o.get('thread_id') in gone:
                probs.append('line %d: not a defined stack of a live thread: %s' % (n, line[:200]))
            if 'class' in o and (o['class'] not in CLASSES or not isinstance(o.get('weight'), int)):
                probs.append('line %d: a class line needs a class of %s and a weight' % (n, CLASSES))
            if 'memory' in o and not isinstance(o['memory'], int):
                probs.append('line %d: memory is not a number of bytes' % n)
    return objs, probs


def label(f):
    return '%s (%s:%s)' % (f['name'], f['short_filename'], f['line'])


def jsonl_totals(objs):
    """Totals per stack (frame labels, root first), per pid, and the exits."""
    frames, stacks, threads = {}, {}, {}
    per_stack, per_pid = collections.Counter(), collections.Counter()
    exits = 0
    for o in objs:
        if 'frame' in o:
            frames[o['frame']] = o
        elif 'thread' in o:
            threads[o['thread']] = o
        elif 'stack' in o:
            stacks[o['stack']] = tuple(label(frames[f]) for f in o['frames'])
        elif 't' in o:
            per_stack[stacks[o['stack_id']]] += o['weight']
            per_pid[threads[o['thread_id']]['pid']] += o['weight']
        elif 'exit' in o:
            exits += 1
        elif 'class' in o:
            per_stack[(stacks[o['stack_id']], o['class'])] += o['weight']
        elif 'memory' in o:
            key = 'grow' if o['memory'] > 0 else 'shrink'
            per_stack[(stacks[o['stack_id']], key)] += abs(o['memory'])
    return +per_stack, per_pid, exits


def json_totals(doc):
    per_stack, per_pid = collections.Counter(), collections.Counter()
    for s in doc['stacks']:
        key = tuple(label(doc['frames'][f]) for f in s['frames'])
        per_stack[key] += s['count']
        per_pid[doc['threads'][s['thread']]['pid']] += s['count']
        for c, n in (s.get('classes') or {}).items():   # the split (meta classified)
            per_stack[(key, c)] += n
        for k, n in (s.get('memory') or {}).items():    # --memory: grow, shrink
            per_stack[(key, k)] += n
    exited = sum(t.get('exited', 0) for t in doc['threads'])
    return +per_stack, per_pid, exited


def check(ctx, json_path, out_path, doc):
    with open(out_path) as f:
        objs, probs = check_jsonl(f.read())
    if probs:
        return probs
    a_stack, a_pid, a_exits = jsonl_totals(objs)
    b_stack, b_pid, b_exited = json_totals(doc)
    if a_stack != b_stack:
        probs.append('totals per stack differ from the JSON\'s (%d vs %d stacks)' % (len(a_stack), len(b_stack)))
    if a_pid != b_pid:
        probs.append('totals per process differ: %s vs %s' % (dict(a_pid), dict(b_pid)))
    lanes = sum(o.get('exited', 0) for o in objs if 'thread' in o)
    if lanes != b_exited:
        probs.append('the thread lines hold %d exited threads, the JSON %d' % (lanes, b_exited))
    if objs[-1].get('meta') != doc['meta']:
        probs.append('the end line\'s meta differs from the JSON\'s: %s' % objs[-1].get('meta'))
    back = os.path.join(os.path.dirname(out_path), 'jsonl-back.json')
    r = ctx.cspy(['report', out_path, '-f', 'json', '-o', back])
    if r.rc != 0:
        probs.append('cspy report of the jsonl: exit %d: %s' % (r.rc, r.err.strip()[:300]))
    else:
        with open(back) as f:
            again = json.load(f)
        if json_totals(again) != (b_stack, b_pid, b_exited):
            probs.append('read back (cspy report x.jsonl -f json), the totals differ from the JSON\'s')
    return probs
