#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The layering check: no module of src/ includes a header of a module above
# it. The order of the layers is not kept here but read from docs/design.md,
# from the one line of its module map that starts with "Layers" and lists the
# modules lowest first, layers separated by "<" and modules of one layer by
# commas, each name in backquotes:
#
#   Layers, lowest first ...: `util` < `proc`, `elf` < `python` < ... < `main.c`.
#
# A module is a directory of src/ (src/X/*.c and *.h) or a file directly under
# src/ (`main.c`). Every `#include "..."` line of src/ is read: "X/name.h"
# belongs to module X, a name without a directory to the including file's own
# module. Checks, one line each ("ok   ..." or "FAIL ..."):
#   - the layer line is found and names each module once;
#   - every module of src/ has a layer (a new directory must be placed);
#   - per module: none of its includes names a module of a higher layer
#     (each offending file:line is printed); same layer or below is fine;
#   - self-tests: on temporary copies of src/ and docs/design.md where one
#     util file includes "cli/cli.h", and where src/newmod/ has no layer, the
#     check must fail and name the line or the module.
# The last line is "N passed, N failed"; exit status 1 when any failed.
#   python3 tests/layering.py            # the repository it sits in
#   python3 tests/layering.py --root DIR # another tree (src/ + docs/design.md)
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_layers(design):
	"""[[module, ...], ...] lowest layer first, from design.md's Layers line; or an error string."""
	try:
		with open(design, encoding='utf-8') as f:
			lines = [l for l in f if l.startswith('Layers')]
	except OSError as e:
		return 'cannot read %s: %s' % (design, e.strerror)
	if len(lines) != 1:
		return '%s: %d lines start with "Layers" (want exactly one)' % (design, len(lines))
	# Only the part after the colon lists layers; the words before it may
	# name things in backquotes too.
	text = lines[0].split(':', 1)[1] if ':' in lines[0] else lines[0]
	layers = []
	for part in text.split('<'):
		names = re.findall(r'`([^`]+)`', part)
		if not names:
			return 'a layer without a module in: %s' % lines[0].strip()
		layers.append(names)
	if len(layers) < 2:
		return 'fewer than two layers in: %s' % lines[0].strip()
	return layers


def modules_of(src):
	"""{module: [file, ...]} of src/: directories, and the files directly under it."""
	mods = {}
	for name in sorted(os.listdir(src)):
		path = os.path.join(src, name)
		if os.path.isdir(path):
			for root, _dirs, files in os.walk(path):
				for f in sorted(files):
					if f.endswith(('.c', '.h')):
						mods.setdefault(name, []).append(os.path.join(root, f))
		elif name.endswith(('.c', '.h')):
			mods.setdefault(name, []).append(path)
	return mods


def includes(path, own):
	"""(line number, text, module included) of each #include "..." of a file."""
	out = []
	with open(path, encoding='utf-8', errors='replace') as f:
		for no, line in enumerate(f, 1):
			m = INCLUDE.match(line)
			if m:
				inc = m.group(1)
				out.append((no, line.strip(), inc.split('/', 1)[0] if '/' in inc else own))
	return out


def check(root):
	"""[(name, ok, details)] for the tree at root."""
	results = []
	src = os.path.join(root, 'src')
	layers = read_layers(os.path.join(root, 'docs', 'design.md'))
	if isinstance(layers, str):
		return [('the layer line of docs/design.md', False, [layers])]
	rank = {}
	dup = []
	for i, layer in enumerate(layers):
		for m in layer:
			if m in rank:
				dup.append(m)
			rank[m] = i
	results.append(('the layer line of docs/design.md (%s)' %
			' < '.join(', '.join(l) for l in layers),
			not dup, ['named twice: %s' % ', '.join(dup)] if dup else []))
	mods = modules_of(src)
	unplaced = sorted(m for m in mods if m not in rank)
	results.append(('every module of src/ has a layer', not unplaced,
			['not in the layer line: %s' % ', '.join(unplaced)] if unplaced else []))
	for mod in sorted(mods, key=lambda m: (rank.get(m, -1), m)):
		if mod not in rank:
			continue
		bad = []
		for path in mods[mod]:
			for no, text, target in includes(path, mod):
				if target not in rank:
					# An include of something that is not a module of
					# src/ (a generated file, a tests/ header): report it
					# only when it looks like one ("X/..." with X unknown).
					if target != mod and target in mods:
						bad.append('%s:%d: %s (module %s has no layer)' %
							   (os.path.relpath(path, root), no, text, target))
					continue
				if rank[target] > rank[mod]:
					bad.append('%s:%d: %s (%s is above %s)' %
						   (os.path.relpath(path, root), no, text, target, mod))
		results.append(('%s includes nothing above it' % mod, not bad, bad))
	return results


def bad_copy(tmp, victim, text, new_module=None):
    """A copy of src/ and docs/design.md in tmp with text appended to
    src/victim (and src/new_module/new.c holding it too, when given)."""
    shutil.copytree(os.path.join(REPO, 'src'), os.path.join(tmp, 'src'))
    os.mkdir(os.path.join(tmp, 'docs'))
    shutil.copy(os.path.join(REPO, 'docs', 'design.md'), os.path.join(tmp, 'docs'))
    with open(os.path.join(tmp, 'src', victim), 'a') as f:
        f.write(text)
    if new_module:
        os.mkdir(os.path.join(tmp, 'src', new_module))
        with open(os.path.join(tmp, 'src', new_module, 'new.c'), 'w') as f:
            f.write(text)


def self_test():
    """The check must fail on fabricated bad trees: util including cli, and
    a module that has no layer."""
    victim = 'util/' + sorted(f for f in os.listdir(os.path.join(REPO, 'src', 'util'))
                              if f.endswith('.c'))[0]
    cases = [
        ('a fabricated include of cli/cli.h in %s is caught' % victim,
         dict(victim=victim, text='#include "cli/cli.h"\n'),
         lambda l: l.strip().startswith('src/' + victim) and 'cli is above util' in l),
        ('a module without a layer (src/newmod/) is caught',
         dict(victim=victim, text='\n', new_module='newmod'),
         lambda l: l.strip() == 'not in the layer line: newmod'),
    ]
    out = []
    for name, how, wanted in cases:
        tmp = tempfile.mkdtemp(prefix='cspy-layering-')
        try:
            bad_copy(tmp, **how)
            p = subprocess.run([sys.executable, os.path.abspath(__file__), '--root', tmp],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        caught = p.returncode != 0 and any(wanted(l) for l in p.stdout.splitlines())
        out.append(('self-test: ' + name, caught, [] if caught else
                    ['the check on the bad copy said (exit %d):' % p.returncode] +
                    p.stdout.splitlines()[-15:]))
    return out


def main():
	args = sys.argv[1:]
	root = REPO
	if args[:1] == ['--root'] and len(args) == 2:
		root = args[1]
	elif args:
		print('usage: tests/layering.py [--root DIR]', file=sys.stderr)
		return 2
	results = check(root)
	if root == REPO:
		results += self_test()
	passed = failed = 0
	for name, ok, details in results:
		print('%s %s' % ('ok  ' if ok else 'FAIL', name))
		for d in details:
			print('    %s' % d)
		if ok:
			passed += 1
		else:
			failed += 1
	print('%d passed, %d failed' % (passed, failed))
	return 1 if failed else 0


if __name__ == '__main__':
	sys.exit(main())
