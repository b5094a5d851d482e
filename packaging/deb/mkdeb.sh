#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make deb: the Debian package of cspy, $BUILD/deb/cspy_VERSION_ARCH.deb,
# built with dpkg-deb alone (no debian/ source package). The tree is staged
# in $BUILD/deb/src/debian/cspy/ (the layout dpkg-shlibdeps expects):
#   /usr/bin/cspy                          $BUILD/cspy, stripped as dh_strip does
#   /usr/share/man/man1/*.1.gz             $BUILD/man/*.1 (make man), gzip -9n
#   /usr/share/bash-completion/completions/cspy, /usr/share/zsh/vendor-completions/_cspy,
#   /usr/share/fish/vendor_completions.d/cspy.fish   `cspy completions SHELL`
#   /usr/share/doc/cspy/copyright          machine-readable (DEP-5), LICENSE's text
#   /usr/share/doc/cspy/changelog.gz       a native package's changelog (Debian format)
#   /usr/share/doc/cspy/README.md.gz
# DEBIAN/control's Depends comes from dpkg-shlibdeps (each needed library's
# package and the version its symbols file asks for), Installed-Size from the
# files (KiB, each rounded up, as dpkg-gencontrol counts), DEBIAN/md5sums from
# the files. Files 0644, the binary and directories 0755, owner root:root
# (dpkg-deb --root-owner-group: no fakeroot needed). Every mtime is
# SOURCE_DATE_EPOCH (the Makefile passes the last commit's), so two builds of
# one tree give the same .deb.
#   BUILD=build VERSION=0.1.0 packaging/deb/mkdeb.sh
# DEBFULLNAME and DEBEMAIL name the Maintainer and sign the changelog, as
# Debian's own tools read them; set them for a package you publish. Without
# them the address is in the reserved .invalid domain (RFC 2606): nobody's.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
: "${VERSION:?VERSION is not set (the Makefile sets it)}"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}
export SOURCE_DATE_EPOCH
maintainer="${DEBFULLNAME:-The cspy authors} <${DEBEMAIL:-cspy@maintainer.invalid}>"
for tool in dpkg-deb dpkg-shlibdeps strip gzip md5sum; do
	command -v "$tool" >/dev/null || {
		echo "make deb: $tool is missing (Debian: apt-get install dpkg-dev binutils gzip)" >&2
		exit 1
	}
done
for f in "$BUILD/cspy" "$BUILD/man/cspy.1"; do
	[ -f "$f" ] || { echo "make deb: $f is missing (make $BUILD/cspy man)" >&2; exit 1; }
done

arch=$(dpkg --print-architecture)
out=$BUILD/deb
work=$out/src
root=$work/debian/cspy
rm -rf "$work"
umask 022
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" \
	"$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
	"$root/usr/share/fish/vendor_completions.d" "$root/usr/share/doc/cspy"

strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$root/usr/bin/cspy" "$BUILD/cspy"
chmod 0755 "$root/usr/bin/cspy"
for page in "$BUILD"/man/*.1; do
	gzip -9n < "$page" > "$root/usr/share/man/man1/$(basename "$page").gz"
done
"$BUILD/cspy" completions bash > "$root/usr/share/bash-completion/completions/cspy"
"$BUILD/cspy" completions zsh > "$root/usr/share/zsh/vendor-completions/_cspy"
"$BUILD/cspy" completions fish > "$root/usr/share/fish/vendor_completions.d/cspy.fish"

doc=$root/usr/share/doc/cspy
{
	printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
	printf 'Upstream-Name: cspy\n\n'
	printf 'Files: *\n'
	printf 'Copyright: %s\n' "$(sed -n 's/^Copyright (c) //p' LICENSE | head -n 1)"
	printf 'License: Expat\n\n'
	# The license's text: its paragraphs after the copyright line, each
	# line indented by one space, a blank line as " ." (the DEP-5 form).
	printf 'License: Expat\n'
	sed -n '/^Copyright/,$p' LICENSE | sed '1d' | sed '/./,$!d' | sed 's/^$/./; s/^/ /'
} > "$doc/copyright"
date_rfc=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
printf 'cspy (%s) unstable; urgency=medium\n\n  * Built by make deb from the cspy source tree.\n\n -- %s  %s\n' \
	"$VERSION" "$maintainer" "$date_rfc" | gzip -9n > "$doc/changelog.gz"
gzip -9n < README.md > "$doc/README.md.gz"

# The libraries' packages, with the versions their symbols files ask for.
printf 'Source: cspy\n\nPackage: cspy\nArchitecture: any\n' > "$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -edebian/cspy/usr/bin/cspy | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make deb: dpkg-shlibdeps found no dependency" >&2; exit 1; }

find "$root" -path "$root/DEBIAN" -prune -o -type f -exec chmod 0644 {} +
chmod 0755 "$root/usr/bin/cspy"
find "$root" -type d -exec chmod 0755 {} +
# KiB: each file rounded up, one per directory (dpkg-gencontrol's count).
size=$(find "$root" -path "$root/DEBIAN" -prune -o \( -type f -printf '%s\n' -o -printf '1024\n' \) |
	awk '{ kib += int(($1 + 1023) / 1024) } END { print kib }')
{
	printf 'Package: cspy\nVersion: %s\nArchitecture: %s\nMaintainer: %s\n' "$VERSION" "$arch" "$maintainer"
	printf 'Installed-Size: %s\nDepends: %s\nSection: devel\nPriority: optional\n' "$size" "$depends"
	printf 'Description: sampling profiler for Python programs\n'
	printf ' cspy shows where a running Python program spends its time, without\n'
	printf ' restarting it or changing its code: it reads the interpreter'"'"'s memory\n'
	printf ' from outside, as py-spy does, with the same commands and flags.\n'
	printf ' .\n'
	printf ' It records flame graphs, speedscope, Chrome trace and raw collapsed\n'
	printf ' stacks (record), shows a live top-like view (top), and prints the\n'
	printf ' stack of every thread of a process or of a core file (dump), for\n'
	printf ' CPython 2.7 and 3.6 to 3.15, free-threaded builds included, with the\n'
	printf ' C and C++ frames of extensions merged in (--native).\n'
} > "$root/DEBIAN/control"
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb=$out/cspy_${VERSION}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
