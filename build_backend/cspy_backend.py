# SPDX-License-Identifier: MIT
"""cspy's PEP 517 build backend: `pip install .`, `pip wheel .` and
`python -m build` run the project's own Makefile and package the binary.

pyproject.toml names this module (build-backend = "cspy_backend",
backend-path = ["build_backend"]); it needs nothing beyond the standard
library (requires = []), so it builds offline. The wheel holds no Python
code: the binary is cspy-VERSION.data/scripts/cspy, which pip copies
unchanged into the environment's bin/, next to the dist-info (METADATA with
the README as its description, WHEEL, LICENSE, RECORD with sha256 hashes).

The binary is `make static`'s build-static/cspy when the static archives
(Makefile: STATIC_ARCHIVES) are there: it needs no library at all, so its
tag claims the oldest platforms it runs on, judged from the ELF itself (no
program interpreter; glibc's minimum kernel in its ABI note, which must not
be newer than manylinux2014's 3.10): manylinux_2_17 / manylinux2014 and
musllinux_1_1 (a static binary does not use the host's libc). Without the
archives it is the dynamic build/cspy, tagged linux_ARCH (this machine's
kind of Linux), and one line of the build output says so. The version is
the Makefile's VERSION (the one place it is written).

Before anything is compiled, the build checks what it needs: a C compiler
($CC or cc), make, pkg-config, and libelf, libdw, zlib and jansson with their headers;
what is missing stops it with one line naming it and the Debian/Ubuntu and
Fedora packages to install.

The sdist (cspy-VERSION.tar.gz) holds what building needs: the Makefile,
src/, this backend, pyproject.toml, README.md, LICENSE, docs/ and PKG-INFO.
Both archives are reproducible: sorted entries, owner root, normalised
modes, and every timestamp SOURCE_DATE_EPOCH (default 1980-01-01).

Hooks: get_requires_for_build_wheel/sdist, prepare_metadata_for_build_wheel,
build_wheel, build_sdist. Python 3.6+.
"""
import base64
import gzip
import hashlib
import io
import os
import re
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
import time
import zipfile

NAME = 'cspy'
SUMMARY = ('A sampling profiler for Python 2.7-3.15 in C for Linux: reads the stacks of a '
           'running program from the outside (py-spy\'s commands and flags)')
CLASSIFIERS = [
    'Environment :: Console',
    'Intended Audience :: Developers',
    'License :: OSI Approved :: MIT License',
    'Operating System :: POSIX :: Linux',
    'Programming Language :: C',
    'Programming Language :: Python :: 2.7',
    'Programming Language :: Python :: 3',
    'Topic :: Software Development :: Debuggers',
    'Topic :: System :: Monitoring',
]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What the sdist holds: these files and directories (walked), of the tree.
SDIST_FILES = ['Makefile', 'LICENSE', 'README.md', 'pyproject.toml']
SDIST_DIRS = ['src', 'build_backend', 'docs']
SDIST_SKIP = re.compile(r'(^|/)(__pycache__|\.git)(/|$)|\.py[co]$|~$')
EPOCH_DEFAULT = 315532800          # 1980-01-01 00:00:00 UTC: the oldest a zip can say

# What each prerequisite is called, and the packages that give it:
# (what, Debian/Ubuntu, Fedora).
NEEDS = {
    'cc': ('a C compiler (cc)', 'gcc', 'gcc'),
    'make': ('make', 'make', 'make'),
    'pkg-config': ('pkg-config', 'pkg-config', 'pkgconf-pkg-config'),
    'libelf': ('libelf (gelf.h)', 'libelf-dev', 'elfutils-libelf-devel'),
    'libdw': ('libdw (elfutils/libdwfl.h)', 'libdw-dev', 'elfutils-devel'),
    'zlib': ('zlib (zlib.h)', 'zlib1g-dev', 'zlib-devel'),
    'jansson': ('jansson (jansson.h)', 'libjansson-dev', 'jansson-devel'),
}
LIBS = [('libelf', 'gelf.h'), ('libdw', 'elfutils/libdwfl.h'), ('zlib', 'zlib.h'),
        ('jansson', 'jansson.h')]
STATIC_PKGS = ('libelf-dev libdw-dev zlib1g-dev libjansson-dev libbz2-dev liblzma-dev',
               'glibc-static libstdc++-static elfutils-devel-static elfutils-libelf-devel-static '
               'zlib-static jansson-devel bzip2-static xz-static')


class BuildError(Exception):
    """A build that cannot go on: its message is the one line shown."""


# --------------------------------------------------------------------------
# Facts of the tree: version, metadata, timestamps

def makefile_var(name, why=''):
    """The value of the Makefile's `NAME := value` line (a BuildError
    naming the line when there is none; why: what the backend reads it for)."""
    with open(os.path.join(ROOT, 'Makefile')) as f:
        m = re.search(r'^%s\s*:?=(.*)$' % name, f.read(), re.M)
    if not m:
        raise BuildError('cspy build: no "%s := ..." line in %s%s'
                         % (name, os.path.join(ROOT, 'Makefile'), why))
    return m.group(1).strip()


def version():
    v = makefile_var('VERSION')
    if not v or len(v.split()) != 1:
        raise BuildError('cspy build: the Makefile\'s VERSION is %r, not one word' % v)
    return v


def metadata():
    """The METADATA (wheel) and PKG-INFO (sdist) text, README.md as the
    description."""
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    head = ['Metadata-Version: 2.1', 'Name: ' + NAME, 'Version: ' + version(),
            'Summary: ' + SUMMARY, 'License: MIT', 'License-File: LICENSE']
    head += ['Classifier: ' + c for c in CLASSIFIERS]
    head.append('Description-Content-Type: text/markdown')
    return '\n'.join(head) + '\n\n' + readme


def epoch():
    try:
        return max(EPOCH_DEFAULT, int(os.environ['SOURCE_DATE_EPOCH']))
    except (KeyError, ValueError):
        return EPOCH_DEFAULT


def dist_info():
    return '%s-%s.dist-info' % (NAME, version())


# --------------------------------------------------------------------------
# What the build needs

def run_quiet(cmd, env=None, input=None):
    try:
        kw = {'input': input} if input is not None else {'stdin': subprocess.DEVNULL}
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kw)
    except OSError:
        return None
    return p


def cc_command():
    return shlex.split(os.environ.get('CC') or 'cc')


def check_prerequisites():
    """Raise BuildError naming every missing prerequisite and its packages."""
    missing = []
    cc = cc_command()
    have_cc = bool(cc) and shutil.which(cc[0]) is not None
    if not have_cc:
        missing.append('cc')
    if shutil.which(os.environ.get('MAKE') or 'make') is None:
        missing.append('make')
    have_pc = shutil.which('pkg-config') is not None
    if not have_pc:
        missing.append('pkg-config')
    for lib, header in LIBS:
        if have_pc:
            p = run_quiet(['pkg-config', '--exists', lib])
            if p is None or p.returncode != 0:
                missing.append(lib)
                continue
            flags = run_quiet(['pkg-config', '--cflags', lib])
            cflags = shlex.split(flags.stdout.decode()) if flags and flags.returncode == 0 else []
        else:
            cflags = []
        if have_cc:
            p = run_quiet(cc + cflags + ['-E', '-x', 'c', '-o', os.devnull, '-'],
                          input=('#include <%s>\n' % header).encode())
            if p is None or p.returncode != 0:
                missing.append(lib)
    if missing:
        raise BuildError('cspy build: missing %s (Debian/Ubuntu: sudo apt-get install %s; '
                         'Fedora: sudo dnf install %s)'
                         % (', '.join(NEEDS[m][0] for m in missing),
                            ' '.join(NEEDS[m][1] for m in missing),
                            ' '.join(NEEDS[m][2] for m in missing)))


def missing_static_archives():
    """The Makefile's STATIC_ARCHIVES that the compiler cannot find."""
    archives = makefile_var('STATIC_ARCHIVES', ' (this backend reads the list of `make static`)')
    out = []
    for a in archives.split():
        p = run_quiet(cc_command() + ['-print-file-name=' + a])
        path = p.stdout.decode().strip() if p and p.returncode == 0 else ''
        if path == a or not os.path.isfile(path):
            out.append(a)
    return out


def make(args):
    """Run make in the tree, its output to stderr (pip shows it with -v, or
    when the build fails)."""
    # -jN always: a make that runs pip (make e2e-pip) passes its jobserver
    # in MAKEFLAGS, but pip closes its descriptors; N is that make's -j, or
    # the number of CPUs (at most 8).
    m = re.search(r'(?:^|\s)-?j(\d+)', os.environ.get('MAKEFLAGS', ''))
    jobs = ['-j%d' % (int(m.group(1)) if m else max(1, min(os.cpu_count() or 1, 8)))]
    cmd = [os.environ.get('MAKE') or 'make', '--no-print-directory', '-C', ROOT] + jobs + args
    sys.stderr.write('cspy build: %s\n' % ' '.join(cmd))
    sys.stderr.flush()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno())
    if p.returncode != 0:
        raise BuildError('cspy build: `%s` failed (exit status %d); its output is above'
                         % (' '.join(cmd), p.returncode))


def build_binary(config_settings):
    """Build the binary; its path. config_settings static=yes requires the
    static build, static=no asks for the dynamic one."""
    want = (config_settings or {}).get('static', 'auto')
    check_prerequisites()
    # SAN and BUILD could come from the environment (the Makefile's ?=):
    # the wheel's binary is a plain build, in the directory make names.
    if want != 'no':
        missing = missing_static_archives()
        if not missing:
            make(['SAN=', 'static'])
            return os.path.join(ROOT, 'build-static', 'cspy')
        if want == 'yes':
            raise BuildError('cspy build: no static library for %s (Debian/Ubuntu: sudo apt-get '
                             'install %s; Fedora: sudo dnf install %s)'
                             % (' '.join(missing), STATIC_PKGS[0], STATIC_PKGS[1]))
        sys.stderr.write('cspy build: no static library for %s: building the dynamic binary '
                         '(it needs libelf, libdw, zlib and jansson where it runs; wheel tagged linux_*, '
                         'not manylinux; Debian/Ubuntu: sudo apt-get install %s for the static '
                         'one)\n' % (' '.join(missing), STATIC_PKGS[0]))
    make(['SAN=', 'BUILD=build', 'build/cspy'])
    return os.path.join(ROOT, 'build', 'cspy')


# --------------------------------------------------------------------------
# The platform tag, from the ELF file

ARCHES = {(62, 2): 'x86_64', (3, 1): 'i686', (183, 2): 'aarch64', (40, 1): 'armv7l',
          (22, 2): 's390x', (243, 2): 'riscv64'}
MANYLINUX2014 = ('x86_64', 'i686', 'aarch64', 'armv7l', 'ppc64', 'ppc64le', 's390x')
PT_INTERP, PT_NOTE, NT_GNU_ABI_TAG = 3, 4, 1


def elf_facts(path):
    """(arch, static, minimum kernel as a tuple or None) of an ELF executable."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF':
        raise BuildError('cspy build: %s is not an ELF file' % path)
    cls, end = data[4], '<' if data[5] == 1 else '>'
    machine = struct.unpack_from(end + 'H', data, 18)[0]
    if machine == 21:
        arch = 'ppc64le' if end == '<' else 'ppc64'
    else:
        arch = ARCHES.get((machine, cls))
    if arch is None:
        raise BuildError('cspy build: %s: unknown ELF machine %d' % (path, machine))
    if cls == 2:
        phoff, = struct.unpack_from(end + 'Q', data, 32)
        phentsize, phnum = struct.unpack_from(end + 'HH', data, 54)
        phdr = end + 'II' + 'Q' * 6      # type, flags, offset, vaddr, paddr, filesz, ...
    else:
        phoff, = struct.unpack_from(end + 'I', data, 28)
        phentsize, phnum = struct.unpack_from(end + 'HH', data, 42)
        phdr = end + 'IIIIII'              # type, offset, vaddr, paddr, filesz, memsz
    static, kernel = True, None
    for i in range(phnum):
        fields = struct.unpack_from(phdr, data, phoff + i * phentsize)
        ptype = fields[0]
        off, size = (fields[2], fields[5]) if cls == 2 else (fields[1], fields[4])
        if ptype == PT_INTERP:
            static = False
        elif ptype == PT_NOTE:
            kernel = kernel or abi_note(data[off:off + size], end)
    return arch, static, kernel


def abi_note(notes, end):
    """The minimum kernel of a GNU ABI tag note ((3, 2, 0)), or None."""
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from(end + 'III', notes, pos)
        name = notes[pos + 12:pos + 12 + namesz]
        desc = pos + 12 + ((namesz + 3) & ~3)
        if ntype == NT_GNU_ABI_TAG and name == b'GNU\0' and descsz >= 16:
            osid, a, b, c = struct.unpack_from(end + 'IIII', notes, desc)
            return (a, b, c) if osid == 0 else None
        pos = desc + ((descsz + 3) & ~3)
    return None


def wheel_tag(binary):
    """The wheel's tag for the binary, and the one line that explains it."""
    arch, static, kernel = elf_facts(binary)
    if static and kernel is not None and kernel <= (3, 10, 0):
        plats = ['manylinux_2_17_' + arch]
        if arch in MANYLINUX2014:
            plats.append('manylinux2014_' + arch)
        plats.append('musllinux_1_1_' + arch)
        why = ('static (no program interpreter), for Linux %s and later: runs on any glibc or '
               'musl system since manylinux2014 (kernel 3.10)' % '.'.join(map(str, kernel)))
    else:
        plats = ['linux_' + arch]
        why = ('dynamically linked: for systems with the libraries it was built against'
               if not static else 'static, but its minimum kernel (%s) is unknown or newer than '
               'manylinux2014\'s 3.10' % (kernel,))
    return 'py2.py3-none-' + '.'.join(plats), why


# --------------------------------------------------------------------------
# Archives

def zip_entry(zf, name, data, mode, when):
    info = zipfile.ZipInfo(name, date_time=time.gmtime(when)[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3                         # Unix: external_attr holds the mode
    info.external_attr = (stat.S_IFREG | mode) << 16
    zf.writestr(info, data)


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    return '%s,sha256=%s,%d' % (name, digest, len(data))


def write_wheel(wheel_directory, binary):
    ver = version()
    tag, why = wheel_tag(binary)
    sys.stderr.write('cspy build: wheel tag %s: the binary is %s\n' % (tag, why))
    di = dist_info()
    with open(binary, 'rb') as f:
        exe = f.read()
    with open(os.path.join(ROOT, 'LICENSE'), 'rb') as f:
        license_text = f.read()
    wheel_meta = ['Wheel-Version: 1.0', 'Generator: cspy_backend %s' % ver,
                  'Root-Is-Purelib: false']
    py, abi, plats = tag.split('-')
    wheel_meta += ['Tag: %s-%s-%s' % (p, abi, pl) for p in py.split('.') for pl in plats.split('.')]
    files = [('%s-%s.data/scripts/cspy' % (NAME, ver), exe, 0o755),
             (di + '/METADATA', metadata().encode('utf-8'), 0o644),
             (di + '/WHEEL', ('\n'.join(wheel_meta) + '\n').encode(), 0o644),
             (di + '/LICENSE', license_text, 0o644)]
    record = [record_line(n, d) for n, d, _ in files] + [di + '/RECORD,,']
    files.append((di + '/RECORD', ('\n'.join(record) + '\n').encode(), 0o644))
    name = '%s-%s-%s.whl' % (NAME, ver, tag)
    path = os.path.join(wheel_directory, name)
    tmp = path + '.tmp'
    when = epoch()
    with zipfile.ZipFile(tmp, 'w') as zf:
        for n, d, mode in files:
            zip_entry(zf, n, d, mode, when)
    os.replace(tmp, path)
    return name


def sdist_members():
    """[(path in the tree, is executable)] of the sdist, sorted."""
    out = [f for f in SDIST_FILES if os.path.isfile(os.path.join(ROOT, f))]
    for d in SDIST_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, d)):
            dirnames[:] = [x for x in dirnames if not SDIST_SKIP.search(x + '/')]
            for fn in filenames:
                rel = os.path.relpath(os.path.join(dirpath, fn), ROOT).replace(os.sep, '/')
                if not SDIST_SKIP.search(rel):
                    out.append(rel)
    return sorted(out)


def tar_add(tf, name, data, mode, when):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, when
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    tf.addfile(info, io.BytesIO(data))


# --------------------------------------------------------------------------
# The PEP 517 hooks

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    di = dist_info()
    d = os.path.join(metadata_directory, di)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'METADATA'), 'w', encoding='utf-8') as f:
        f.write(metadata())
    shutil.copyfile(os.path.join(ROOT, 'LICENSE'), os.path.join(d, 'LICENSE'))
    return di


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    try:
        return write_wheel(wheel_directory, build_binary(config_settings))
    except BuildError as e:
        fail(e)


def build_sdist(sdist_directory, config_settings=None):
    try:
        base = '%s-%s' % (NAME, version())
        when = epoch()
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as tf:
            tar_add(tf, base + '/PKG-INFO', metadata().encode('utf-8'), 0o644, when)
            for rel in sdist_members():
                full = os.path.join(ROOT, rel)
                with open(full, 'rb') as f:
                    data = f.read()
                mode = 0o755 if os.stat(full).st_mode & 0o111 else 0o644
                tar_add(tf, base + '/' + rel, data, mode, when)
        name = base + '.tar.gz'
        path = os.path.join(sdist_directory, name)
        with open(path + '.tmp', 'wb') as f:
            with gzip.GzipFile(filename='', mode='wb', fileobj=f, mtime=when) as gz:
                gz.write(raw.getvalue())
        os.replace(path + '.tmp', path)
        return name
    except BuildError as e:
        fail(e)


def fail(err):
    """Stop the build with its one line (no traceback: the line says it all)."""
    sys.stderr.write('%s\n' % err)
    sys.stderr.flush()
    raise SystemExit(1)
