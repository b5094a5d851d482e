#!/usr/bin/env python3
"""Writes the seed corpora of the fuzzers, fuzz/corpus/<fuzzer>/:

    python3 fuzz/make_corpus.py            # needs build/tools/pyproc_snapshot (make)

- fuzz_elffile: small ELF images built here byte by byte (64- and 32-bit,
  executable and shared object, with .dynsym and/or .symtab holding the
  symbols cspy looks for, a .PyRuntime section, .bss, a stripped one), so the
  fuzzer starts inside libelf's symbol and section code instead of at the
  magic number.
- fuzz_pyasync: a full and a PYASYNC_RUNNING read of the asyncio tasks of
  each installed Python 3.7+ (pyproc_snapshot --async);
- fuzz_pyproc: one sample of each installed interpreter (pyenv versions and
  /usr/bin/python3*, found as tests/e2e/e2elib.py finds them) running SEED below,
  recorded by build/tools/pyproc_snapshot (every byte the sample read, with
  the interpreter's addresses). Paths of this machine inside the recorded
  memory (the interpreter's prefix, the repository) are overwritten with
  'x's of the same length, so every object keeps its size. Also the hostile
  inputs of build/tools/fuzz_hostile_input (thread lists that loop, each
  thread over a frame loop: seconds per sample before the loops were
  detected, so the fuzz tier's -timeout=2 fails on such a regression).
  On 3.12+ also SUBINTERP_SEED (subinterpreters: a list of interpreters, a
  thread with states in two of them), as py<version>-subinterp.
- fuzz_linetable: the line table of one function per interpreter, with the
  header the fuzzer expects (kind, co_firstlineno, an offset).
- fuzz_maps: a /proc/PID/maps text of a typical Python process (generic paths).

Every process started is ended by its PID. Python 3.6+ standard library only.
"""
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, 'corpus')
sys.path.insert(0, os.path.join(REPO, 'tests', 'e2e'))
import e2elib as e2e  # noqa: E402  (interpreter discovery)

# --------------------------------------------------------------------------
# ELF images

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS, SHT_DYNSYM = 1, 2, 3, 8, 11
SHF_WRITE, SHF_ALLOC, SHF_EXEC = 1, 2, 4
STB_GLOBAL, STT_OBJECT, STT_FUNC = 1, 1, 2


def strtab(names):
    data, offs = b'\0', {}
    for n in names:
        if n not in offs:
            offs[n] = len(data)
            data += n.encode() + b'\0'
    return data, offs


def elf(is64, etype, sections, syms, dyn=True, static=True, bss=64):
    """sections: [(name, type, flags, bytes)]; syms: [(name, section name,
    offset in it, size, STT_*)] put in .dynsym (dyn) and/or .symtab (static)."""
    base = 0x400000 if etype == 2 else 0
    ehsize, phsize = (64, 56) if is64 else (52, 32)
    shsize, symsize = (64, 24) if is64 else (40, 16)
    secs = [s for s in sections]
    if bss:
        secs.append(('.bss', SHT_NOBITS, SHF_ALLOC | SHF_WRITE, b'\0' * bss))
    names = [s[0] for s in secs]
    # Lay out the ALLOC contents first so addresses are known for symbols.
    off = ehsize + phsize
    placed = []
    for name, typ, flags, data in secs:
        off = (off + 15) & ~15
        placed.append([name, typ, flags, data, off, base + off if flags & SHF_ALLOC else 0, 0, 0, 0])
        if typ != SHT_NOBITS:
            off += len(data)
    addr_of = dict((p[0], p[5]) for p in placed)
    index_of = dict((p[0], i + 1) for i, p in enumerate(placed))
    tables = []
    if dyn:
        tables.append(('.dynsym', SHT_DYNSYM, '.dynstr'))
    if static:
        tables.append(('.symtab', SHT_SYMTAB, '.strtab'))
    for tname, ttype, sname in tables:
        st, so = strtab([s[0] for s in syms])
        ent = b'\0' * symsize
        for n, sec, o, size, kind in syms:
            value = addr_of[sec] + o
            info = (STB_GLOBAL << 4) | kind
            if is64:
                ent += struct.pack('<IBBHQQ', so[n], info, 0, index_of[sec], value, size)
            else:
                ent += struct.pack('<IIIBBH', so[n], value, size, info, 0, index_of[sec])
        for name, typ, data in ((tname, ttype, ent), (sname, SHT_STRTAB, st)):
            off = (off + 15) & ~15
            flags = SHF_ALLOC if ttype == SHT_DYNSYM else 0
            placed.append([name, typ, flags, data, off, base + off if flags else 0, 0, 0, 0])
            off += len(data)
        placed[-2][6] = len(placed)          # link: its string table (index = position + 1)
        placed[-2][7] = 1                    # info: first global symbol
        placed[-2][8] = symsize
    shst, sho = strtab(['.shstrtab'] + [p[0] for p in placed])
    placed.append(['.shstrtab', SHT_STRTAB, 0, shst, off, 0, 0, 0, 0])
    off += len(shst)
    shoff = (off + 7) & ~7
    body = bytearray(shoff + shsize * (len(placed) + 1))
    for p in placed:
        if p[1] != SHT_NOBITS:
            body[p[4]:p[4] + len(p[3])] = p[3]
    filesz = shoff
    memsz = filesz + bss + 16
    if is64:
        ident = b'\x7fELF' + bytes([2, 1, 1, 0]) + b'\0' * 8
        hdr = ident + struct.pack('<HHIQQQIHHHHHH', etype, 62, 1, base + ehsize + phsize, ehsize,
                                  shoff, 0, ehsize, phsize, 1, shsize, len(placed) + 1,
                                  len(placed))
        ph = struct.pack('<IIQQQQQQ', 1, 7, 0, base, base, filesz, memsz, 0x1000)
    else:
        ident = b'\x7fELF' + bytes([1, 1, 1, 0]) + b'\0' * 8
        hdr = ident + struct.pack('<HHIIIIIHHHHHH', etype, 3, 1, base + ehsize + phsize, ehsize,
                                  shoff, 0, ehsize, phsize, 1, shsize, len(placed) + 1,
                                  len(placed))
        ph = struct.pack('<IIIIIIII', 1, 0, base, base, filesz, memsz, 7, 0x1000)
    body[0:len(hdr)] = hdr
    body[ehsize:ehsize + len(ph)] = ph
    for i, p in enumerate(placed):
        name, typ, flags, data, o, addr, link, info, ent = p
        size = len(data)
        if is64:
            sh = struct.pack('<IIQQQQIIQQ', sho[name], typ, flags, addr, o, size, link, info, 16, ent)
        else:
            sh = struct.pack('<IIIIIIIIII', sho[name], typ, flags, addr, o, size, link, info, 16, ent)
        at = shoff + shsize * (i + 1)
        body[at:at + shsize] = sh
    return bytes(body)


def elf_seeds():
    text = ('.text', SHT_PROGBITS, SHF_ALLOC | SHF_EXEC, b'\xc3' * 32)
    data = ('.data', SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
            struct.pack('<I', 0x030c01f0) + b'3.12.1 (main, Jan  1 2024, 00:00:00) [GCC]\0' + b'\0' * 16)
    rt = ('.PyRuntime', SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, b'xdebugpy' + b'\1' * 120)
    modern = [('_PyRuntime', '.PyRuntime', 0, 128, STT_OBJECT),
              ('Py_Version', '.data', 0, 4, STT_OBJECT),
              ('Py_Initialize', '.text', 0, 8, STT_FUNC),
              ('main', '.text', 8, 8, STT_FUNC),
              ('PyVersion', '.bss', 8, 8, STT_OBJECT)]
    old = [('_PyThreadState_Current', '.bss', 0, 8, STT_OBJECT),
           ('interp_head', '.bss', 8, 8, STT_OBJECT),
           ('Py_Initialize', '.text', 0, 8, STT_FUNC),
           ('x', '.data', 4, 4, STT_OBJECT)]
    return {
        'libpython_dyn64.so': elf(True, 3, [text, data, rt], modern),
        'python_exec64_symtab': elf(True, 2, [text, data], old, dyn=False),
        'python_exec64_dynsym': elf(True, 2, [text, data, rt], modern, static=False),
        'stripped64.so': elf(True, 3, [text, data], [], dyn=False, static=False),
        'libpython_dyn32.so': elf(False, 3, [text, data, rt], modern),
    }


# --------------------------------------------------------------------------
# Recorded samples of real interpreters

SEED = r'''
import os, sys, threading, time
class Worker(object):
    def __init__(self, n):
        self.n = n
    def run(self, depth):
        items = [1, 2.5, "text", b"bytes", None, True, (1, 2), {"k": "v"}]
        if depth:
            return self.run(depth - 1)
        gen = (i for i in range(3))
        next(gen)
        ready.set()
        time.sleep(600)
def idle():
    time.sleep(600)
ready = threading.Event()
t = threading.Thread(target=idle, name="idle-thread")
t.daemon = True
t.start()
w = threading.Thread(target=Worker(3).run, args=(4,), name="worker")
w.daemon = True
w.start()
ready.wait()
time.sleep(0.2)
sys.stdout.write("ready\n")
sys.stdout.flush()
time.sleep(600)
'''


# 3.12+: an idle subinterpreter, a thread running code in another (blocked in
# it), the main thread asleep: the interpreter list and a thread with states
# in two interpreters.
SUBINTERP_SEED = r'''
import os, sys, threading, time
try:
    from concurrent import interpreters as m
    create, run = m.create, lambda i, c: i.exec(c)
except ImportError:
    try:
        import _interpreters as m
        create, run = m.create, m.exec
    except ImportError:
        import _xxsubinterpreters as m
        create, run = m.create, m.run_string
r, w = os.pipe()
idle, busy = create(), create()
code = "import os, time\ndef blocked():\n    os.write(%d, b'r'); time.sleep(600)\nblocked()\n" % w
t = threading.Thread(target=run, args=(busy, code), name="runner")
t.daemon = True
t.start()
os.read(r, 1)
time.sleep(0.2)
sys.stdout.write("ready\n")
sys.stdout.flush()
time.sleep(600)
'''


def scrub(data, secrets):
    """Overwrite each secret byte string with 'x's of its length (after
    its leading '/')."""
    data = bytearray(data)
    for s in sorted(set(secrets), key=len, reverse=True):
        if len(s) < 5:
            continue
        repl = b'/' + b'x' * (len(s) - 1)
        start = 0
        while True:
            i = data.find(s, start)
            if i < 0:
                break
            data[i:i + len(s)] = repl
            start = i + len(s)
    return bytes(data)


def pyproc_seeds(tool, prog=SEED, suffix='', since=(2, 7), extra=()):
    """Each interpreter since `since` running prog, recorded by
    `pyproc_snapshot PID OUT EXTRA...`, its machine's paths scrubbed."""
    interps, _ = e2e.discover()
    out = {}
    for it in interps:
        if not it.supported() or it.minor < since:
            continue
        p = subprocess.Popen([it.path, '-c', prog], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=e2e.target_env())
        try:
            line = p.stdout.readline()
            if b'ready' not in line:
                print('%s: the seed program did not start' % it.label)
                continue
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, 'seed')
                r = subprocess.run([tool, str(p.pid), path] + list(extra), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=60)
                if r.returncode != 0:
                    print('%s: %s' % (it.label, r.stderr.decode().strip()))
                    continue
                with open(path, 'rb') as f:
                    data = f.read()
            secrets = [it.prefix.encode(), REPO.encode(), os.path.expanduser('~').encode(),
                       os.path.realpath(it.path).encode(), it.path.encode()]
            name = 'py%s%s%s' % (it.label.replace('-sys', ''), '-sys' if it.source == 'system' else '',
                                 suffix)
            out[name] = scrub(data, [s for s in secrets if s.startswith(b'/') and s != b'/usr'
                                     and s != b'/'])
        finally:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    return out


ASYNC_SEED = r'''
import asyncio, sys
async def leaf(f):
    await f
async def mid(f):
    await leaf(f)
async def gatherer(loop):
    await asyncio.gather(*[loop.create_task(mid(loop.create_future())) for _ in range(2)])
async def grouped(loop):
    async with asyncio.TaskGroup() as tg:
        for _ in range(2):
            tg.create_task(mid(loop.create_future()))
async def main():
    loop = asyncio.get_event_loop()
    keep = [loop.create_task(mid(loop.create_future())), loop.create_task(gatherer(loop))]
    keep.append(loop.create_task(asyncio.wait_for(keep[0], 1000)))
    if hasattr(asyncio, 'TaskGroup'):
        keep.append(loop.create_task(grouped(loop)))
    for _ in range(5):
        await asyncio.sleep(0)
    print('ready', flush=True)
    await asyncio.sleep(1000)
asyncio.new_event_loop().run_until_complete(main())
'''


def pyasync_seeds(tool):
    """fuzz_pyasync: each Python 3.7+ with tasks that await, gather and a
    TaskGroup, recorded by `pyproc_snapshot PID OUT --async`."""
    return pyproc_seeds(tool, ASYNC_SEED, since=(3, 7), extra=('--async',))


LT_PROG = r'''
import sys, struct
def f(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
        else:
            total -= 1
    try:
        x = 1 / n
    except ZeroDivisionError:
        x = 0
    return total + x
c = f.__code__
if sys.version_info >= (3, 11):
    kind, tab = 3, c.co_linetable
elif sys.version_info >= (3, 10):
    kind, tab = 2, c.co_linetable
elif sys.version_info >= (3, 6):
    kind, tab = 1, c.co_lnotab
else:
    kind, tab = 0, c.co_lnotab
out = getattr(sys.stdout, 'buffer', sys.stdout)
out.write(struct.pack('<Bii', kind, c.co_firstlineno, 12) + tab)
'''


def linetable_seeds():
    interps, _ = e2e.discover()
    out = {}
    for it in interps:
        if not it.supported():
            continue
        r = subprocess.run([it.path, '-c', LT_PROG], stdout=subprocess.PIPE, timeout=30,
                           env=e2e.target_env())
        if r.returncode == 0 and len(r.stdout) > 9:
            out['py%s' % it.label] = r.stdout
    return out


MAPS = b'''55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1311 /usr/bin/python3.12
55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 1311 /usr/bin/python3.12
55d0c0a03000-55d0c0a04000 rw-p 00003000 08:01 1311 /usr/bin/python3.12
55d0c1e00000-55d0c1f00000 rw-p 00000000 00:00 0 [heap]
7f1a2c000000-7f1a2c021000 rw-p 00000000 00:00 0
7f1a30000000-7f1a300f0000 r--p 00000000 08:01 2222 /usr/lib/libpython3.12.so.1.0
7f1a300f0000-7f1a30300000 r-xp 000f0000 08:01 2222 /usr/lib/libpython3.12.so.1.0
7f1a30300000-7f1a30400000 rw-p 00300000 08:01 2222 /usr/lib/libpython3.12.so.1.0
7f1a31000000-7f1a31028000 r--p 00000000 08:01 3333 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1a31028000-7f1a311bd000 r-xp 00028000 08:01 3333 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1a32000000-7f1a32001000 r-xp 00000000 08:01 4444 /opt/app/ext with space.so (deleted)
7ffc1a000000-7ffc1a021000 rw-p 00000000 00:00 0 [stack]
7ffc1a1f0000-7ffc1a1f4000 r--p 00000000 00:00 0 [vvar]
7ffc1a1f4000-7ffc1a1f6000 r-xp 00000000 00:00 0 [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]
'''


def write(fuzzer, files):
    d = os.path.join(CORPUS, fuzzer)
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
        print('%s/%s: %d bytes' % (fuzzer, name, len(data)))


def main():
    build = os.environ.get('BUILD') or 'build'
    tool = os.path.join(REPO, build, 'tools', 'pyproc_snapshot')
    if not os.access(tool, os.X_OK):
        sys.exit('%s is missing: run make first' % tool)
    write('fuzz_elffile', elf_seeds())
    write('fuzz_maps', {'python312.maps': MAPS})
    write('fuzz_linetable', linetable_seeds())
    seeds = pyproc_seeds(tool)
    seeds.update(pyproc_seeds(tool, SUBINTERP_SEED, '-subinterp', (3, 12)))
    hostile = os.path.join(REPO, build, 'tools', 'fuzz_hostile_input')
    for kind in ('thread_loop', 'thread_loop3'):
        seeds['hostile_' + kind] = subprocess.run([hostile, kind], stdout=subprocess.PIPE,
                                                  check=True).stdout
    write('fuzz_pyproc', seeds)
    write('fuzz_pyasync', pyasync_seeds(tool))


if __name__ == '__main__':
    main()
