#!/usr/bin/env python3
"""The man pages, `make install` and the Debian package (`make deb`): tier "deb".

    python3 tests/e2e/deb.py [-k PATTERN] [-v]

Uses the e2e library (tests/e2e/e2elib.py) for processes (each ended by its
PID), temporary directories and the report. Builds the pages and the package
from $BUILD (make man, make deb; $BUILD/cspy must be built). Checks, in order:

  man_groff        each page of $BUILD/man: `groff -man -Tutf8 -ww -z` says
                   nothing (no warning), `lexgrog` finds NAME "cspy-X - summary"
                   with the command's line of `cspy --help`
  man_options      every option line of each command's --help ("-o, --output
                   FILE") is an entry of its page, as a line of `man -l`
  man_text         every line of each --help, its words together and the lines
                   in order, in the page as `man -l --nh --nj` prints it (no
                   hyphenation, no justification); the title line ("cspy V: summary") in NAME
                   and the footer; the pages are what `cspy manpage` writes now
  make_install     make install DESTDIR=D PREFIX=/usr: the binary, the four
                   pages (readable by `man -l`), the three completion scripts
  deb_build        make deb: build/deb/cspy_VERSION_ARCH.deb; built twice, byte
                   for byte the same; with another SOURCE_DATE_EPOCH, not
  deb_info         dpkg-deb --info: the fields (Architecture is dpkg's, Depends
                   names the package of each DT_NEEDED library of the binary,
                   found with dpkg -S, with a version; Installed-Size is the
                   files' KiB), --contents: exactly the expected files, modes
                   and root:root; DEBIAN/md5sums matches the files; the binary
                   stripped; the completions `cspy completions` writes; gzip
                   -9n (no name, no time) pages; a DEP-5 copyright holding
                   LICENSE's text; a Debian changelog
  dpkg_install     dpkg -i into a fresh root R (--root=R: its own admin dir;
                   --force-depends: the libraries are the host's, not R's
                   database's; --force-not-root when not root;
                   --path-include='*': a host's dpkg.cfg.d excludes, as slim
                   containers have for /usr/share/man, must not drop files):
                   every file in place with its mode, `dpkg -s` installed,
                   R/usr/bin/cspy --version (with the host's libraries) and
                   `man -l` of the installed page; dpkg -r leaves no file of
                   the package and not-installed; again -i then -P (purge)
  lintian          lintian -I -E --pedantic on the .deb: no error (E:); every
                   other tag in ALLOWED with its reason, so a new one fails
                   (n/a without lintian; a failure with CSPY_REQUIRE_VALIDATORS=1)

Last line: "N passed, N failed" (exit 1 if any failed).
"""
import argparse
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib                                   # noqa: E402
from e2elib import Fail, NA, REPO, indent, clip  # noqa: E402



def help_commands():
    """The commands with a man page: those `cspy --help` lists, but py-spy's
    completions and help (no options of their own). [] when cspy cannot
    tell (no binary): the checks then fail on the missing pages."""
    try:
        return [c for c in e2elib.help_commands() if c not in ('completions', 'help')]
    except Fail:
        return []


COMMANDS = help_commands()
PAGES = ['cspy'] + ['cspy-' + c for c in COMMANDS]

# Tags lintian may give the package, each with why it stays. Anything else
# (and every error) fails the check.
ALLOWED = {
    'hardening-no-bindnow':
        'make deb packages $(BUILD)/cspy, built with the project\'s flags; a package built '
        'with dpkg-buildflags (docs/install.md) has no lintian tag at all',
    'hardening-no-fortify-functions':
        'the same: -D_FORTIFY_SOURCE comes with dpkg-buildflags\' CPPFLAGS (docs/install.md)',
}

STATE = {}      # what the checks hand on: the .deb's path, the version, the host arch


def build_dir():
    b = os.environ.get('BUILD') or 'build'
    return b if os.path.isabs(b) else os.path.join(REPO, b)


def run(cmd, timeout=120, env=None, cwd=None, want_rc=0):
    """Run cmd (ended by its PID on timeout); a Fail unless it exits want_rc
    (None: any status)."""
    shown = ' '.join(cmd)
    if cwd:
        p = e2elib.spawn(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail('timed out after %ss: %s' % (timeout, shown))
        finally:
            e2elib.end_process(p)
        res = e2elib.Result(cmd, p.returncode, out.decode('utf-8', 'replace'),
                            err.decode('utf-8', 'replace'), shown)
    else:
        res = e2elib.run_cmd(cmd, shown, timeout, env)
    if want_rc is not None and res.rc != want_rc:
        raise Fail('$ %s\n  exit status %d, expected %d\n  stdout: %s\n  stderr: %s'
                   % (shown, res.rc, want_rc, clip(res.out.strip(), 1500), clip(res.err.strip(), 1500)))
    return res


def need(*tools):
    """NA (a failure with CSPY_REQUIRE_VALIDATORS=1: .ci/run installs them)
    when a tool is missing."""
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        why = 'not installed: %s (.ci/run installs it)' % ', '.join(missing)
        if os.environ.get('CSPY_REQUIRE_VALIDATORS') == '1':
            raise Fail(why + ' and CSPY_REQUIRE_VALIDATORS=1')
        raise NA(why)


def cspy(*args):
    return run([e2elib.cspy_path()] + list(args))


def version():
    """The version `cspy --version` says on its first line ("cspy 0.1.0 ...")."""
    out = cspy('--version').out
    m = re.match(r'cspy (\S+)', out)
    if not m:
        raise Fail('cspy --version: %r does not start with "cspy VERSION"' % out)
    return m.group(1)


def help_text(page):
    return cspy('--help').out if page == 'cspy' else cspy(page[5:], '--help').out


def man_env():
    env = dict(os.environ)
    env.update(MANWIDTH='80', LC_ALL='C.UTF-8', MAN_KEEP_FORMATTING='', MANPAGER='cat', PAGER='cat')
    env.pop('MANOPT', None)
    return env


def man_text(path):
    """What `man -l` shows of the page at path (hyphenation and justification
    off), with overstrikes removed and groff's dash and quote glyphs as ASCII;
    a Fail when man says anything on stderr (--warnings: groff's)."""
    res = run(['man', '--nh', '--nj', '--warnings', '-l', path], env=man_env())
    if res.err.strip():
        raise Fail('man -l %s: warnings:\n%s' % (path, indent(res.err.strip())))
    out = res.out
    out = re.sub('.\b', '', out)
    for a, b in (('\u2010', '-'), ('\u2212', '-'), ('\u2019', "'"), ('\u2018', "'"),
                 ('\u02c6', '^'), ('\u02dc', '~'), ('\u201c', '"'), ('\u201d', '"')):
        out = out.replace(a, b)
    return out


def summaries():
    """{page: its one-line help}: cspy's from the title of --help, each
    command's from the Commands list of `cspy --help`."""
    text = cspy('--help').out
    got = {}
    m = re.match(r'cspy \S+: (.*)', text)
    if m:
        got['cspy'] = m.group(1)
    for c in COMMANDS:
        m = re.search(r'^  %s +(\S.*)$' % c, text, re.M)
        if m:
            got['cspy-' + c] = m.group(1)
    return got


def make(*targets, env=None):
    """make TARGETS with this $BUILD; -o: the binary under test is used as it
    is, never rebuilt."""
    b = os.environ.get('BUILD') or 'build'
    run(['make', '-s', '-o', b + '/cspy', 'BUILD=' + b] + list(targets), cwd=REPO, timeout=300, env=env)


def make_man():
    make('man')
    return {p: os.path.join(build_dir(), 'man', p + '.1') for p in PAGES}


# --------------------------------------------------------------------------
# The man pages

def check_man_groff(ctx):
    need('groff', 'lexgrog')
    pages = make_man()
    sums = summaries()
    problems = []
    for page, path in pages.items():
        res = run(['groff', '-man', '-Tutf8', '-ww', '-z', path], want_rc=None)
        if res.rc != 0 or res.err.strip():
            problems.append('groff -ww %s: exit %d, warnings:\n%s' % (path, res.rc, indent(res.err.strip())))
        res = run(['lexgrog', path], want_rc=None)
        want = '%s - %s' % (page, sums.get(page, '?')[:1].lower() + sums.get(page, '?')[1:])
        if res.rc != 0 or ('"%s"' % want) not in res.out:
            problems.append('lexgrog %s: %r, expected the NAME "%s"' % (path, res.out.strip(), want))
    ctx.problem(None, problems)
    ctx.finish()


def check_man_options(ctx):
    need('man')
    pages = make_man()
    problems = []
    for page in PAGES:
        lines = set(l.strip() for l in man_text(pages[page]).split('\n'))
        specs = [m.group(1) for m in re.finditer(r'^ {2,6}(-\S.*?)(?:  |$)', help_text(page), re.M)]
        if len(specs) < 2:
            problems.append('%s --help: only %d option lines found' % (page, len(specs)))
        for s in specs:
            if s not in lines:
                problems.append('%s(1) has no entry "%s" (an option of its --help)' % (page, s))
    ctx.problem(None, problems)
    ctx.finish()


def words_in_order(help_lines, man_words):
    """The first help line whose words are not found together (one after
    the other, nothing between) in man_words after the previous line's, with
    where the search stood; or None."""
    pos = 0
    for line in help_lines:
        words = line.split()
        if not words:
            continue
        n = len(words)
        at = next((i for i in range(pos, len(man_words) - n + 1) if man_words[i:i + n] == words), None)
        if at is None:
            near = ' '.join(man_words[pos:pos + 12])
            return '%r (not found, together, after: %s ...)' % (line.strip(), near)
        pos = at + n
    return None


def check_man_text(ctx):
    need('man')
    pages = make_man()
    ver = version()
    problems = []
    for page in PAGES:
        text = help_text(page)
        shown = man_text(pages[page])
        lines = text.split('\n')
        start = next(i for i, l in enumerate(lines) if l.startswith('Usage: '))
        # The title ("cspy V: summary"): the summary in NAME, "cspy V" in the footer.
        for title in lines[:start]:
            m = re.match(r'(cspy) (\S+): (.*)', title)
            if title.strip() and not (m and ('cspy - ' + m.group(3)) in shown and
                                      re.search(r'^cspy %s\s' % re.escape(m.group(2)), shown, re.M)):
                problems.append('%s: the title line %r is not in NAME and the footer' % (page, title))
        want = []
        for l in lines[start:]:
            if l.startswith('Usage: '):
                l = l[len('Usage: '):]
            elif re.match(r'^[A-Z][a-z]+:$', l):           # "Options:" -> OPTIONS
                l = l[:-1].upper()
            want.append(l)
        bad = words_in_order(want, shown.split())
        if bad:
            problems.append('%s: a --help line not in its page, word for word:\n  %s' % (page, bad))
        if not re.search(r'^cspy %s\s' % re.escape(ver), shown, re.M):
            problems.append('%s: the footer does not say "cspy %s"' % (page, ver))
        with open(pages[page], encoding='utf-8') as f:
            on_disk = f.read()
        env = dict(os.environ)
        now = run([e2elib.cspy_path(), 'manpage'] + ([page[5:]] if page != 'cspy' else []), env=env).out
        # The date comes from SOURCE_DATE_EPOCH (make man's); compare without the .TH line.
        if on_disk.split('\n', 1)[1] != now.split('\n', 1)[1]:
            problems.append('%s: %s is not what `cspy manpage` writes now' % (page, pages[page]))
    ctx.problem(None, problems)
    ctx.finish()


def check_make_install(ctx):
    need('man')
    dest = e2elib.make_temp_dir('cspy-deb-install-')
    make('DESTDIR=' + dest, 'PREFIX=/usr', 'install')
    want = ['usr/bin/cspy'] + ['usr/share/man/man1/%s.1' % p for p in PAGES] + [
        'usr/share/bash-completion/completions/cspy', 'usr/share/zsh/site-functions/_cspy',
        'usr/share/fish/vendor_completions.d/cspy.fish']
    problems = []
    for w in want:
        p = os.path.join(dest, w)
        if not os.path.isfile(p):
            problems.append('make install: %s missing' % w)
            continue
        mode = stat.S_IMODE(os.stat(p).st_mode)
        if mode != (0o755 if w.endswith('bin/cspy') else 0o644):
            problems.append('make install: %s has mode %o' % (w, mode))
    for p in PAGES:
        path = os.path.join(dest, 'usr/share/man/man1/%s.1' % p)
        if os.path.isfile(path) and p + ' - ' not in man_text(path):
            problems.append('man -l %s: no NAME line "%s - ..."' % (path, p))
    ctx.problem(None, problems)
    ctx.finish()


# --------------------------------------------------------------------------
# The Debian package

def make_deb(env=None):
    make('deb', env=env)


def check_deb_build(ctx):
    need('dpkg-deb', 'dpkg-shlibdeps')
    STATE['arch'] = run(['dpkg', '--print-architecture']).out.strip()
    STATE['version'] = version()
    deb = os.path.join(build_dir(), 'deb', 'cspy_%s_%s.deb' % (STATE['version'], STATE['arch']))

    def build(env=None):
        make_deb(env)
        if not os.path.isfile(deb):
            d = os.path.dirname(deb)
            raise Fail('make deb: %s missing; %s holds %s'
                       % (deb, d, os.listdir(d) if os.path.isdir(d) else 'nothing'))
        with open(deb, 'rb') as f:
            return f.read()
    env = dict(os.environ)
    env['SOURCE_DATE_EPOCH'] = '1700000000'                 # another date than the last commit's
    other = build(env)
    t0 = time.time()
    first = build()
    secs = time.time() - t0
    again = build()                                         # the staging tree made anew
    STATE['deb'] = deb
    print('make deb: %.1f s, %s: %d bytes' % (secs, os.path.relpath(deb, REPO), len(first)))
    problems = []
    if first != again:
        problems.append('make deb twice gives two different packages (not reproducible)')
    if other == first:
        problems.append('SOURCE_DATE_EPOCH does not reach the package (another date, the same bytes)')
    ctx.problem(None, problems)
    ctx.finish()


def deb_or_na():
    if 'deb' not in STATE:
        raise NA('no package (deb_build did not pass)')
    return STATE['deb']


def control_fields(text):
    fields, key = {}, None
    for line in text.split('\n'):
        if line.startswith(' ') and key:
            fields[key] += '\n' + line
        elif ':' in line:
            key, value = line.split(':', 1)
            fields[key] = value.strip()
    return fields


def expected_files():
    return {
        './usr/bin/cspy': 0o755,
        './usr/share/bash-completion/completions/cspy': 0o644,
        './usr/share/zsh/vendor-completions/_cspy': 0o644,
        './usr/share/fish/vendor_completions.d/cspy.fish': 0o644,
        './usr/share/doc/cspy/copyright': 0o644,
        './usr/share/doc/cspy/changelog.gz': 0o644,
        './usr/share/doc/cspy/README.md.gz': 0o644,
        **{'./usr/share/man/man1/%s.1.gz' % p: 0o644 for p in PAGES},
    }


def needed_packages(binary):
    """{library soname: the package that holds it on this machine}: each
    DT_NEEDED library where ldd finds it, then dpkg -S of that path (or of
    its twin across the /usr merge, or of the file it links to)."""
    dyn = run(['readelf', '-d', binary]).out
    where = dict(re.findall(r'^\s*(\S+) => (/\S+)', run(['ldd', binary]).out, re.M))
    got = {}
    for soname in re.findall(r'\(NEEDED\)\s+Shared library: \[(.+?)\]', dyn):
        got[soname] = None
        path = where.get(soname)
        if not path:
            continue
        cands = [path, os.path.realpath(path)]
        cands += [c[4:] if c.startswith('/usr/') else '/usr' + c for c in list(cands)]
        for c in cands:
            res = run(['dpkg', '-S', c], want_rc=None)
            if res.rc == 0:
                got[soname] = res.out.split(':')[0].split(',')[0].strip()
                break
    return got


def check_deb_info(ctx):
    need('dpkg-deb', 'readelf')
    deb = deb_or_na()
    problems = []
    info = run(['dpkg-deb', '--field', deb]).out
    f = control_fields(info)
    for key, want in (('Package', 'cspy'), ('Version', STATE['version']), ('Architecture', STATE['arch']),
                      ('Section', 'devel'), ('Priority', 'optional')):
        if f.get(key) != want:
            problems.append('%s: %r, expected %r' % (key, f.get(key), want))
    if not re.match(r'.+ <[^@ ]+@[^@ ]+\.[^@ ]+>$', f.get('Maintainer', '')):
        problems.append('Maintainer: %r is not "Name <address>"' % f.get('Maintainer'))
    desc = f.get('Description', '').split('\n')
    if len(desc) < 3 or not desc[0] or len(desc[0]) > 80:
        problems.append('Description: a one-line synopsis and a long text expected: %r' % f.get('Description'))
    tmp = e2elib.make_temp_dir('cspy-deb-x-')
    run(['dpkg-deb', '-x', deb, tmp])
    run(['dpkg-deb', '-e', deb, os.path.join(tmp, 'DEBIAN')])
    binary = os.path.join(tmp, 'usr/bin/cspy')
    # Depends: each needed library's package, with a version.
    deps = dict((d.split()[0], d) for d in re.split(r',\s*', f.get('Depends', '')) if d)
    for soname, pkg in needed_packages(binary).items():
        if pkg is None:
            problems.append('dpkg -S finds no package for %s (a DT_NEEDED of the binary)' % soname)
        elif pkg.split(':')[0] not in deps:
            problems.append('Depends %r lacks %s (the package of %s)' % (f.get('Depends'), pkg, soname))
        elif not re.search(r'\(>= [^)]+\)', deps[pkg.split(':')[0]]):
            problems.append('Depends: %s has no version' % deps[pkg.split(':')[0]])
    # Contents: the files, modes, owners.
    listing = run(['dpkg-deb', '--contents', deb]).out
    want = expected_files()
    seen = {}
    for line in listing.strip().split('\n'):
        parts = line.split()
        perms, owner, path = parts[0], parts[1], parts[5]
        if owner != 'root/root':
            problems.append('%s is owned by %s' % (path, owner))
        if perms.startswith('d'):
            if perms != 'drwxr-xr-x':
                problems.append('directory %s has mode %s' % (path, perms))
            continue
        mode = sum(1 << (8 - i) for i, c in enumerate(perms[1:]) if c != '-')
        seen[path] = mode
    for p, m in sorted(want.items()):
        if p not in seen:
            problems.append('--contents: %s missing' % p)
        elif seen[p] != m:
            problems.append('--contents: %s has mode %o, expected %o' % (p, seen[p], m))
    for p in sorted(set(seen) - set(want)):
        problems.append('--contents: %s not expected' % p)
    # Installed-Size: KiB, files rounded up (+1 per directory at most).
    sizes = [os.path.getsize(os.path.join(tmp, p)) for p in want if os.path.isfile(os.path.join(tmp, p))]
    low = sum((s + 1023) // 1024 for s in sizes)
    try:
        isz = int(f.get('Installed-Size', ''))
        if not low <= isz <= low + 30:
            problems.append('Installed-Size %d, the files take %d KiB' % (isz, low))
    except ValueError:
        problems.append('Installed-Size %r is not a number' % f.get('Installed-Size'))
    # md5sums.
    try:
        with open(os.path.join(tmp, 'DEBIAN/md5sums')) as fh:
            sums = dict((l.split(None, 1)[1].strip(), l.split()[0]) for l in fh if l.strip())
    except OSError as e:
        sums = {}
        problems.append('DEBIAN/md5sums: %s' % e)
    for p in want:
        rel = p[2:]
        try:
            with open(os.path.join(tmp, rel), 'rb') as fh:
                h = hashlib.md5(fh.read()).hexdigest()
        except OSError:
            continue
        if sums.get(rel) != h:
            problems.append('md5sums: %s is %s, the file\'s is %s' % (rel, sums.get(rel), h))
    # Stripped, the sections dh_strip removes gone.
    secs = run(['readelf', '-S', '-W', binary]).out
    for s in ('.symtab', '.debug_info', '.comment'):
        if re.search(r'\s%s\s' % re.escape(s), secs):
            problems.append('usr/bin/cspy is not stripped: it has %s' % s)
    for rel, shell in (('usr/share/bash-completion/completions/cspy', 'bash'),
                       ('usr/share/zsh/vendor-completions/_cspy', 'zsh'),
                       ('usr/share/fish/vendor_completions.d/cspy.fish', 'fish')):
        try:
            with open(os.path.join(tmp, rel), encoding='utf-8') as fh:
                if fh.read() != cspy('completions', shell).out:
                    problems.append('%s is not `cspy completions %s`' % (rel, shell))
        except OSError as e:
            problems.append('%s: %s' % (rel, e))
    res = run([binary, '--version'], want_rc=None)
    if res.rc != 0 or STATE['version'] not in res.out:
        problems.append('the packaged cspy --version: exit %d, %r' % (res.rc, res.out))
    # gzip -9n: no file name, no time stamp; the content is the page of make man.
    for p in PAGES + ['doc:changelog', 'doc:README.md']:
        rel = ('usr/share/doc/cspy/%s.gz' % p[4:]) if p.startswith('doc:') else 'usr/share/man/man1/%s.1.gz' % p
        try:
            with open(os.path.join(tmp, rel), 'rb') as fh:
                head = fh.read(10)
            with gzip.open(os.path.join(tmp, rel), 'rb') as fh:
                body = fh.read()
        except (OSError, EOFError) as e:
            problems.append('%s: not gzip: %s' % (rel, e))
            continue
        if head[3] & 0x08 or head[4:8] != b'\0\0\0\0' or head[8] != 2:
            problems.append('%s: not gzip -9n (flags %#x, mtime %r, xfl %d)' % (rel, head[3], head[4:8], head[8]))
        if not p.startswith('doc:'):
            with open(os.path.join(build_dir(), 'man', p + '.1'), 'rb') as fh:
                if fh.read() != body:
                    problems.append('%s is not $(BUILD)/man/%s.1' % (rel, p))
        elif p == 'doc:changelog':
            text = body.decode('utf-8', 'replace')
            if not re.match(r'cspy \(%s\) \S+; urgency=\w+\n\n  \* .+\n\n -- .+ <.+>  \w{3}, \d' %
                            re.escape(STATE['version']), text):
                problems.append('changelog.gz is not a Debian changelog entry: %r' % text)
    # DEP-5 copyright with the license text.
    try:
        with open(os.path.join(tmp, 'usr/share/doc/cspy/copyright'), encoding='utf-8') as fh:
            cr = fh.read()
        with open(os.path.join(REPO, 'LICENSE'), encoding='utf-8') as fh:
            lic = fh.read()
        if not cr.startswith('Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'):
            problems.append('copyright: not DEP-5 (first line %r)' % cr.split('\n')[0])
        holder = re.search(r'^Copyright \(c\) (.+)$', lic, re.M).group(1)
        if ('Copyright: ' + holder) not in cr or 'License: Expat' not in cr:
            problems.append('copyright: no "Copyright: %s" or "License: Expat"' % holder)
        body = ' '.join(lic.split('Copyright (c)', 1)[1].split('\n', 1)[1].split())
        if body not in ' '.join(l.strip() for l in cr.split('\n') if l.strip() != '.'):
            problems.append('copyright: LICENSE\'s text is not in it')
    except OSError as e:
        problems.append('copyright: %s' % e)
    ctx.problem(None, problems)
    ctx.finish()


def dpkg(root, *args, want_rc=0):
    cmd = ['dpkg', '--root=' + root, '--log=' + os.path.join(root, 'dpkg.log'), '--path-include=*']
    if os.geteuid() != 0:
        cmd.append('--force-not-root')
    return run(cmd + list(args), want_rc=want_rc)


def left_behind(root):
    """The files and directories under root but dpkg's own (var/, the log)."""
    left = []
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel == 'var' or rel.startswith('var/'):
            continue
        left += [os.path.normpath(os.path.join(rel, n)) for n in files if n != 'dpkg.log' or rel != '.']
        left += [os.path.normpath(os.path.join(rel, n)) + '/' for n in dirs if n != 'var' or rel != '.']
    return sorted(left)


def check_dpkg_install(ctx):
    need('dpkg', 'man')
    deb = deb_or_na()
    root = e2elib.make_temp_dir('cspy-deb-root-')
    admin = os.path.join(root, 'var/lib/dpkg')
    for d in ('info', 'updates', 'triggers'):
        os.makedirs(os.path.join(admin, d))
    for f in ('status', 'available'):
        open(os.path.join(admin, f), 'w').close()
    problems = []
    for remove in ('-r', '-P'):
        dpkg(root, '--force-depends', '-i', deb)
        st = dpkg(root, '-s', 'cspy').out
        if 'Status: install ok installed' not in st:
            problems.append('dpkg -s after -i: %r' % st)
        listed = set(l for l in dpkg(root, '-L', 'cspy').out.split('\n') if l)
        for p, mode in expected_files().items():
            path = os.path.join(root, p[2:])
            if '/' + p[2:] not in listed:
                problems.append('dpkg -L cspy lacks /%s' % p[2:])
            if not os.path.isfile(path):
                problems.append('after dpkg -i: %s missing' % path)
            elif stat.S_IMODE(os.stat(path).st_mode) != mode:
                problems.append('after dpkg -i: %s has mode %o' % (path, stat.S_IMODE(os.stat(path).st_mode)))
        res = run([os.path.join(root, 'usr/bin/cspy'), '--version'], want_rc=None)
        if res.rc != 0 or not res.out.startswith('cspy %s' % STATE['version']):
            problems.append('%s/usr/bin/cspy --version: exit %d, %r' % (root, res.rc, res.out + res.err))
        shown = man_text(os.path.join(root, 'usr/share/man/man1/cspy-record.1.gz'))
        if 'cspy-record - ' not in shown or '--output' not in shown:
            problems.append('man -l of the installed cspy-record.1.gz: %r' % clip(shown, 400))
        if 'usr/bin/cspy' not in left_behind(root):     # the helper sees what is there
            problems.append('left_behind() does not see usr/bin/cspy after dpkg -i: %s' % left_behind(root))
        dpkg(root, remove, 'cspy')
        left = left_behind(root)
        if left:
            problems.append('after dpkg %s: left behind: %s' % (remove, ', '.join(left)))
        res = dpkg(root, '-s', 'cspy', want_rc=None)
        if res.rc == 0 and 'not-installed' not in res.out:
            problems.append('dpkg -s after dpkg %s: %r' % (remove, res.out))
        if remove == '-P':
            with open(os.path.join(admin, 'status')) as fh:
                if 'Package: cspy' in fh.read():
                    problems.append('after dpkg -P: cspy still in the status database')
    ctx.problem(None, problems)
    ctx.finish()


def check_lintian(ctx):
    need('lintian')
    deb = deb_or_na()
    t0 = time.time()
    res = run(['lintian', '-I', '-E', '--pedantic', '--no-cfg', deb], want_rc=None, timeout=300)
    print('lintian: %.1f s' % (time.time() - t0))
    problems, seen = [], set()
    for line in res.out.split('\n'):
        m = re.match(r'([A-Z]): cspy(?: \S+)?: (\S+)(.*)', line)
        if not m:
            continue
        kind, tag, rest = m.groups()
        seen.add(tag)
        if kind == 'E':
            problems.append('lintian error: %s' % line)
        elif tag not in ALLOWED:
            problems.append('lintian %s: %s (not in ALLOWED of tests/e2e/deb.py: fix it, or add it '
                            'with the reason it stays)' % (kind, line))
    if res.rc not in (0, 1) or (res.rc == 1 and not problems):
        problems.append('lintian exit status %d\n  stdout: %s\n  stderr: %s'
                        % (res.rc, clip(res.out, 1500), clip(res.err, 1500)))
    for tag in sorted(set(ALLOWED) - seen):
        print('note: lintian no longer says %s (ALLOWED of tests/e2e/deb.py can lose it)' % tag)
    for tag in sorted(set(ALLOWED) & seen):
        print('lintian (allowed) %s: %s' % (tag, ALLOWED[tag]))
    ctx.problem(None, problems)
    ctx.finish()


CHECKS = [
    ('man_groff', check_man_groff),
    ('man_options', check_man_options),
    ('man_text', check_man_text),
    ('make_install', check_make_install),
    ('deb_build', check_deb_build),
    ('deb_info', check_deb_info),
    ('dpkg_install', check_dpkg_install),
    ('lintian', check_lintian),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('-k', action='append', metavar='PATTERN', help='only checks whose name contains PATTERN')
    ap.add_argument('-v', '--verbose', action='store_true')
    opts = ap.parse_args()
    e2elib.OPTS = argparse.Namespace(targets_only=False, verbose=opts.verbose, k=opts.k)
    e2elib.handle_signals()
    t0 = time.time()
    print('cspy man pages and Debian package: %s' % e2elib.cspy_shown())
    e2elib.use_snapshot()
    results = {}
    names = [n for n, _ in CHECKS if e2elib.selected(n, opts.k)]
    for name, fn in CHECKS:
        if name not in names:
            continue
        if name.startswith(('deb_info', 'dpkg_install', 'lintian')) and 'deb_build' not in names \
                and 'deb' not in STATE:
            # Run alone (-k): build the package first, quietly.
            try:
                check_deb_build(e2elib.Ctx(None))
            except (Fail, NA) as e:
                print('deb_build (for %s): %s' % (name, e))
        status, detail = e2elib.run_one(e2elib.Ctx, None, name, fn)
        results[('-', name)] = (status, detail)
        print('%-5s %s%s' % (status, name, (': ' + detail) if status == 'n/a' else ''))
    return e2elib.print_outcome(results, t0, names)


if __name__ == '__main__':
    sys.exit(main())
