#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Cross-checks cspy's line-table decoders against every CPython installed
# here. Interpreters are discovered, never hard-coded: pyenv versions under
# $PYENV_ROOT (or `pyenv root`)/versions/*, plus /usr/bin/python3.N when it
# is a CPython. For each one, tests/linetables/dump_code.py runs under that
# interpreter and streams its code objects and the interpreter's own line
# numbers through a pipe into $BUILD/tools/linetable_check (BUILD defaults to
# "build", relative to the repository root). Interpreters run in parallel, one
# per CPU. One test per interpreter: it passes iff there are zero mismatches
# and at least one offset was checked. The last line is "N passed, N failed";
# the exit status is non-zero on any failure.
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DUMP = os.path.join(REPO, 'tests', 'linetables', 'dump_code.py')
TIMEOUT = 600
# Every STRIDE-th file of each standard library (sorted): a third is some
# 20,000-25,000 code objects per interpreter, every table kind and edge the
# whole has; CSPY_LINETABLES_STRIDE=1 checks all of it (three times longer).
STRIDE = max(1, int(os.environ.get('CSPY_LINETABLES_STRIDE') or 3))
PROBE = ('import sys, platform; '
	 'print(platform.python_implementation() + " " + sys.version.split()[0])')


def pyenv_root():
	root = os.environ.get('PYENV_ROOT')
	if root:
		return root, None
	try:
		out = subprocess.run(['pyenv', 'root'], stdout=subprocess.PIPE,
				     stderr=subprocess.DEVNULL, universal_newlines=True,
				     timeout=30)
	except (OSError, subprocess.SubprocessError) as e:
		return None, 'pyenv not found (%s)' % e.__class__.__name__
	if out.returncode or not out.stdout.strip():
		return None, '`pyenv root` failed'
	return out.stdout.strip(), None


def natural(s):
	return [int(x) if x.isdigit() else x for x in re.split(r'(\d+)', s)]


def candidates():
	"""(label, executable or None, skip reason or None) for every candidate."""
	found = []
	root, why = pyenv_root()
	if root is None:
		found.append(('pyenv', None, why))
	else:
		dirs = sorted(glob.glob(os.path.join(root, 'versions', '*')), key=natural)
		if not dirs:
			found.append(('pyenv', None, 'no versions under pyenv root'))
		for d in dirs:
			label = 'pyenv ' + os.path.basename(d)
			exe = None
			for name in ('python', 'python3', 'python2'):
				p = os.path.join(d, 'bin', name)
				if os.access(p, os.X_OK):
					exe = p
					break
			found.append((label, exe, None if exe else 'no bin/python'))
	system = [p for p in sorted(glob.glob('/usr/bin/python3.*'), key=natural)
		  if re.search(r'/python3\.\d+$', p)]
	if not system:
		found.append(('/usr/bin/python3.*', None, 'none installed'))
	for p in system:
		found.append((p, p, None))
	# The interpreters tests/pythons.sh provisioned (make pythons), as the e2e
	# tiers find them; a Debian root's run in it and see the repository at
	# its own path (CSPY_CHROOT_BIND).
	sys.path.insert(0, os.path.join(REPO, 'tests', 'e2e'))
	import e2elib as e2e
	os.environ['CSPY_CHROOT_BIND'] = REPO
	notes = []
	for exe, source, root in e2e.provisioned(notes):
		label = os.path.basename(exe) + (' (in a chroot)' if root else '')
		found.append((label, exe, None))
	for n in notes:
		found.append((n.split(':')[0], None, n.partition(': ')[2]))
	return found


def probe(exe):
	"""Version string of a CPython, or (None, reason)."""
	try:
		out = subprocess.run([exe, '-E', '-s', '-c', PROBE], stdout=subprocess.PIPE,
				     stderr=subprocess.PIPE, universal_newlines=True,
				     timeout=60)
	except (OSError, subprocess.SubprocessError) as e:
		return None, 'cannot run: %s' % e
	if out.returncode:
		return None, 'cannot run: exit %d' % out.returncode
	impl, _, ver = out.stdout.strip().partition(' ')
	if impl != 'CPython':
		return None, 'not CPython (%s)' % impl
	return ver, None


def run_one(exe, checker):
	"""Pipe dump_code.py under exe into the checker; returns a result dict."""
	t0 = time.time()
	res = {'codes': 0, 'offsets': 0, 'mismatches': None, 'detail': [], 'error': None}
	errf = tempfile.TemporaryFile()  # a file, so a chatty stderr cannot block
	dump = subprocess.Popen([exe, '-E', '-s', DUMP, str(STRIDE)], stdout=subprocess.PIPE, stderr=errf)
	check = subprocess.Popen([checker], stdin=dump.stdout, stdout=subprocess.PIPE,
				 stderr=subprocess.STDOUT, universal_newlines=True)
	dump.stdout.close()
	try:
		out, _ = check.communicate(timeout=TIMEOUT)
		dump.wait(timeout=TIMEOUT)
	except subprocess.TimeoutExpired:
		dump.kill()
		check.kill()
		dump.wait()
		check.wait()
		errf.close()
		res['error'] = 'timed out after %ds' % TIMEOUT
		res['seconds'] = time.time() - t0
		return res
	errf.seek(0)
	err = errf.read().decode('utf-8', 'replace')
	errf.close()
	res['seconds'] = time.time() - t0
	res['dump_summary'] = err.strip().splitlines()[-1] if err.strip() else ''
	for line in out.splitlines():
		m = re.match(r'totals code_objects=(\d+) offsets=(\d+) mismatches=(\d+)$', line)
		if m:
			res['codes'], res['offsets'], res['mismatches'] = map(int, m.groups())
		elif not line.startswith('version '):
			res['detail'].append(line)
	if dump.returncode:
		res['error'] = 'dump_code.py exit %d: %s' % (dump.returncode, err.strip()[-300:])
	elif res['mismatches'] is None or check.returncode not in (0, 1):
		res['error'] = 'linetable_check failed (exit %d)' % check.returncode
	return res


def main():
	build = os.environ.get('BUILD', 'build')
	checker = os.path.join(REPO, build, 'tools', 'linetable_check')
	if not os.access(checker, os.X_OK):
		print('linetable_check not built: %s (run make)' % checker)
		print('0 passed, 1 failed')
		return 1

	rows = []      # (label, version, result or None, skip reason)
	jobs = []
	seen = set()
	for label, exe, why in candidates():
		if exe is None:
			rows.append([label, '-', None, why])
			continue
		real = os.path.realpath(exe)
		if real in seen:
			continue
		seen.add(real)
		ver, why = probe(exe)
		if ver is None:
			rows.append([label, '-', None, why])
			continue
		row = [label, ver, None, None]
		rows.append(row)
		jobs.append((row, exe))

	workers = max(1, min(len(jobs), os.cpu_count() or 1))
	with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
		# newest first: they have the most code, so start them early
		jobs.sort(key=lambda j: natural(j[0][1]), reverse=True)
		futs = [(row, pool.submit(run_one, exe, checker)) for row, exe in jobs]
		for row, fut in futs:
			row[2] = fut.result()

	passed = failed = 0
	fmt = '%-28s | %-8s | %12s | %15s | %10s | %7s | %s'
	print(fmt % ('interpreter', 'version', 'code objects', 'offsets checked',
		     'mismatches', 'seconds', 'status'))
	print('-' * 110)
	for label, ver, res, why in rows:
		if res is None:
			print(fmt % (label, ver, '-', '-', '-', '-', 'skipped (%s)' % why))
			continue
		ok = (res['error'] is None and res['mismatches'] == 0 and res['offsets'] > 0)
		if ok:
			passed += 1
			status = 'ok'
		else:
			failed += 1
			status = 'FAIL' + (' (%s)' % res['error'] if res['error'] else '')
		mism = '-' if res['mismatches'] is None else str(res['mismatches'])
		print(fmt % (label, ver, res['codes'], res['offsets'], mism,
			     '%.1f' % res['seconds'], status))
	for label, ver, res, why in rows:
		if res is None:
			continue
		if res.get('dump_summary'):
			print('  ' + res['dump_summary'])
		if res['detail'] and (res['mismatches'] or res['error']):
			print('  %s %s:' % (label, ver))
			for line in res['detail']:
				print('    ' + line)
	if passed + failed == 0:
		print('no interpreter could be checked')
		failed = 1
	print('%d passed, %d failed' % (passed, failed))
	sys.stdout.flush()
	return 1 if failed else 0


if __name__ == '__main__':
	sys.exit(main())
