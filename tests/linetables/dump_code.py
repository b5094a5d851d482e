# SPDX-License-Identifier: MIT
#
# Runs under the interpreter being checked (Python 2.7 or 3.6+, so: no
# f-strings). Compiles every .py file of that interpreter's standard library
# (or every STRIDE-th, sorted, with the argument STRIDE),
# walks every code object (recursively through co_consts) and writes, for each
# one, its raw line table and the line the interpreter itself gives for every
# instruction offset, in the text format read by tests/tools/linetable_check.c:
#
#   V <version>
#   C <kind> <firstlineno> <hex table|-> <label>
#   R <line> <start> <end> <step>     every offset in range(start, end, step)
#   P <line> <offset> ...             the listed offsets
#   T <start> <end> <line> ...        triples: every even offset in
#                                     range(start, end) expects line
#
# The oracle is the interpreter: co_lines() on 3.10+ (line None -> -1; the
# first offset past every range -> -1), dis.findlinestarts() on 2.7 and
# 3.6-3.9 (an instruction offset has the line of the last start at or before
# it; offsets past the bytecode are not checked there, because 3.8+'s
# findlinestarts stops at the end of co_code while PyCode_Addr2Line keeps
# applying the table). Offset -1 always expects co_firstlineno. A summary
# goes to stderr.
import binascii
import dis
import os
import sys
import time
import types
import warnings
from itertools import chain

PY3 = sys.version_info[0] >= 3
CodeType = types.CodeType
SKIP_DIRS = ('site-packages', 'dist-packages', '__pycache__')


def table_kind():
	v = sys.version_info[:2]
	if v >= (3, 11):
		return 'locations'
	if v == (3, 10):
		return 'linetable'
	if v >= (3, 6):
		return 'lnotab_s8'
	return 'lnotab_u8'


if PY3:
	def hexs(b):
		return binascii.hexlify(b).decode('ascii')

	def ascii_label(s):
		return s.encode('ascii', 'backslashreplace').decode('ascii')
	out = sys.stdout.buffer
else:
	def hexs(b):
		return binascii.hexlify(b)

	def ascii_label(s):
		return s
	out = sys.stdout


def code_objects(top):
	stack = [top]
	while stack:
		co = stack.pop()
		yield co
		for c in co.co_consts:
			if isinstance(c, CodeType):
				stack.append(c)


def records_lines(co, emit):
	# 3.10+: co_lines() yields (start, end, line) byte ranges, flattened into
	# one "T" record (None -> -1) at C speed; there are millions of them.
	flat = list(chain.from_iterable(co.co_lines()))
	if flat:
		emit('T %s\n' % ' '.join(map(str, flat)).replace('None', '-1'))
	past = max([len(co.co_code)] + flat[1::3])
	emit('P -1 %d\n' % past)


def records_lnotab_even(co, emit):
	# 3.6-3.9: fixed 2-byte instructions; line of the last start <= offset.
	starts = list(dis.findlinestarts(co))
	n = len(co.co_code)
	for i in range(len(starts)):
		off, line = starts[i]
		end = starts[i + 1][0] if i + 1 < len(starts) else n
		if end > off:
			emit('R %d %d %d 2\n' % (line, off, end))


def instruction_offsets_27(code):
	ops = bytearray(code)
	have_arg = dis.HAVE_ARGUMENT
	offs = []
	i = 0
	n = len(ops)
	while i < n:
		offs.append(i)
		i += 1 if ops[i] < have_arg else 3
	return offs


def records_lnotab_var(co, emit):
	# 2.7: variable-length instructions (1 or 3 bytes, EXTENDED_ARG is an
	# instruction of its own); line of the last start <= offset.
	starts = list(dis.findlinestarts(co))
	offs = instruction_offsets_27(co.co_code)
	j = 0
	for i in range(len(starts)):
		off, line = starts[i]
		end = starts[i + 1][0] if i + 1 < len(starts) else len(co.co_code)
		while j < len(offs) and offs[j] < off:
			j += 1
		k = j
		while k < len(offs) and offs[k] < end:
			k += 1
		if k > j:
			emit('P %d %s\n' % (line, ' '.join([str(x) for x in offs[j:k]])))
		j = k


def table_bytes(co, kind):
	if kind in ('locations', 'linetable'):
		return co.co_linetable
	return co.co_lnotab


def stdlib_files(root):
	for d, dirs, files in os.walk(root):
		dirs[:] = sorted([x for x in dirs if x not in SKIP_DIRS])
		for f in sorted(files):
			if f.endswith('.py'):
				yield os.path.join(d, f)


def main():
	warnings.simplefilter('ignore')
	kind = table_kind()
	if kind in ('locations', 'linetable'):
		records = records_lines
	elif kind == 'lnotab_s8':
		records = records_lnotab_even
	else:
		records = records_lnotab_var
	root = os.path.dirname(os.path.abspath(os.__file__))
	t0 = time.time()
	nfiles = nskipped = ncodes = 0
	out.write(('V %s\n' % sys.version.split()[0]).encode('ascii'))
	# argv[1]: STRIDE, every STRIDE-th file of the sorted list (1: all)
	stride = int(sys.argv[1]) if len(sys.argv) > 1 else 1
	for i, path in enumerate(stdlib_files(root)):
		if i % stride:
			continue
		try:
			f = open(path, 'rb')
			try:
				src = f.read()
			finally:
				f.close()
			top = compile(src, path, 'exec', 0, True)
		except Exception:
			nskipped += 1
			continue
		nfiles += 1
		rel = ascii_label(os.path.relpath(path, root))
		chunk = []
		emit = chunk.append
		for co in code_objects(top):
			ncodes += 1
			tab = table_bytes(co, kind)
			emit('C %s %d %s %s:%d:%s\n' % (
				kind, co.co_firstlineno, hexs(tab) if tab else '-',
				rel, co.co_firstlineno, ascii_label(co.co_name)))
			emit('P %d -1\n' % co.co_firstlineno)
			records(co, emit)
		out.write(''.join(chunk).encode('ascii'))
	out.flush()
	sys.stderr.write('dump_code %s: %d files compiled (one in %d of the standard library), %d skipped, '
			 '%d code objects, %.1fs\n' % (sys.version.split()[0], nfiles, stride, nskipped, ncodes,
						       time.time() - t0))
	return 0 if nfiles else 1


if __name__ == '__main__':
	sys.exit(main())
