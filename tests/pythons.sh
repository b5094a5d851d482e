#!/usr/bin/env bash
# Provisions the test interpreters that pyenv and the host do not give, into a
# cache outside the checkout, and lists them (make pythons; .ci/run calls it
# before make test). Idempotent: each piece is marked done when it is whole,
# so a second run only lists.
#
#   tests/pythons.sh [--list]        provision what is missing, then list
#
# Cache: $CSPY_PYTHONS, else ${XDG_CACHE_HOME:-~/.cache}/cspy-pythons.
#   sid/            a Debian unstable root (debootstrap --variant=minbase) with
#                   Debian's python3.13, python3.14, python3.15 (static libpython,
#                   stripped PIE) and python3.14-dbg; targets run in it under chroot
#   3.14t/ 3.15t/   free-threaded builds (--disable-gil, shared libpython)
#   3.15/           a shared build (--enable-shared, as pyenv and uv build it)
#   failed/NAME     why NAME could not be provisioned (the e2e tiers report it)
#   sid/opt/austin/ Debian unstable's austin package unpacked in the root, run there
#                   through bin/debian-austin (bench/peers.py; austin.failed: why not)
#   manifest        one line per interpreter: label, kind, executable, root
# The CPython sources come from $CSPY_CPYTHON_SRC (default: ../shared/cpython
# beside the checkout).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CSPY_PYTHONS:-${XDG_CACHE_HOME:-$HOME/.cache}/cspy-pythons}
src=${CSPY_CPYTHON_SRC:-$(dirname "$here")/shared/cpython}
mkdir -p "$cache/failed" "$cache/logs"
list_only=0
[ "${1:-}" = --list ] && list_only=1

fail() { # name, reason
	echo "$2" >"$cache/failed/$1"
	echo "pythons: $1: $2" >&2
}

# --- Debian unstable root -------------------------------------------------
SID_PKGS="python3.13 python3.14 python3.15 python3.14-dbg python3.13-dev python3.14-dev python3.15-dev"
apt_sid() { # args...: apt-get in the root; its lists may be past Valid-Until
	chroot "$cache/sid" env DEBIAN_FRONTEND=noninteractive apt-get \
		-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root "$@"
}
provision_sid() {
	local log=$cache/logs/sid.log
	[ -e "$cache/sid/.done" ] && return 0
	rm -f "$cache/failed/sid"
	if [ "$(id -u)" != 0 ]; then
		fail sid "a Debian root needs root (debootstrap and chroot)"; return 1
	fi
	if ! command -v debootstrap >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >"$log" 2>&1 ||
			{ fail sid "debootstrap is not installed and apt-get could not install it (see $log)"; return 1; }
	fi
	if [ ! -e "$cache/sid/.bootstrapped" ]; then
		rm -rf "$cache/sid"
		debootstrap --variant=minbase --include=python3 sid "$cache/sid" >>"$log" 2>&1 ||
			{ fail sid "debootstrap of Debian unstable failed (see $log)"; return 1; }
		touch "$cache/sid/.bootstrapped"
	fi
	apt_sid update >>"$log" 2>&1 &&
		apt_sid install -y --no-install-recommends $SID_PKGS >>"$log" 2>&1 ||
		{ fail sid "apt-get in the Debian root failed (see $log)"; return 1; }
	apt_sid clean >>"$log" 2>&1
	touch "$cache/sid/.done"
}

# --- Austin, the benchmark's peer (bench/peers.py) --------------------------
# Debian unstable's austin (3.7.0, upstream's newest release: CPython 3.8-3.13)
# needs unstable's libc, so it lives in the root. Its package cannot be
# installed there (it depends on python3 << 3.14 for scripts the benchmark
# does not use): its libraries are installed and the package is unpacked.
provision_austin() {
	local log=$cache/logs/austin.log dir=/opt/austin
	[ -e "$cache/sid$dir/.done" ] && return 0
	rm -f "$cache/austin.failed"
	if [ ! -e "$cache/sid/.done" ]; then
		echo "no Debian root (see $cache/failed/sid)" >"$cache/austin.failed"; return 1
	fi
	(
		set -e
		apt_sid update
		libs=$(chroot "$cache/sid" apt-cache show --no-all-versions austin | sed -n 's/^Depends: //p' |
			tr ',' '\n' | sed 's/[(|].*//; s/ //g' | grep -v '^python3$')
		# shellcheck disable=SC2086
		apt_sid install -y --no-install-recommends $libs
		rm -rf "$cache/sid$dir" && mkdir -p "$cache/sid$dir"
		chroot "$cache/sid" sh -c "cd $dir && apt-get -o APT::Sandbox::User=root download austin &&
			dpkg-deb -x austin_*.deb . && rm -f austin_*.deb && ./usr/bin/austin --version"
	) >"$log" 2>&1 || { echo "apt-get in the Debian root failed (see $log)" >"$cache/austin.failed"; return 1; }
	touch "$cache/sid$dir/.done"
}

# --- builds from source ---------------------------------------------------
provision_build() { # name, version, configure flags...
	local name=$1 ver=$2; shift 2
	local prefix=$cache/$name log=$cache/logs/$name.log tarball=$src/cpython-$ver.tar.xz
	[ -e "$prefix/.done" ] && return 0
	rm -f "$cache/failed/$name"
	if [ ! -f "$tarball" ]; then
		fail "$name" "no CPython source $tarball (set CSPY_CPYTHON_SRC)"; return 1
	fi
	local work=$cache/build/$name
	rm -rf "$work" "$prefix"
	mkdir -p "$work"
	(
		set -e
		tar -xJf "$tarball" -C "$work" --strip-components=1
		cd "$work"
		# Extension modules no target or check imports are left out (the
		# interpreter's own layout does not depend on them): a third less
		# to compile on a fresh machine.
		local skip="" m
		for m in _decimal _sqlite3 _tkinter _curses _curses_panel _dbm _gdbm \
			_codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr _codecs_tw \
			_multibytecodec _elementtree pyexpat readline _ssl; do
			skip="$skip py_cv_module_$m=n/a"
		done
		# shellcheck disable=SC2086
		env $skip ./configure --prefix="$prefix" --disable-test-modules --without-ensurepip \
			LDFLAGS="-Wl,-rpath,$prefix/lib" "$@"
		make -j"${JOBS:-2}"
		make install COMPILEALL_OPTS=-j0
	) >"$log" 2>&1 || { fail "$name" "build of CPython $ver $* failed (see $log)"; return 1; }
	rm -rf "$work"
	touch "$prefix/.done"
}

# --- listing --------------------------------------------------------------
# A Debian root interpreter is run through a wrapper that makes it a small
# container: its own mount namespace (nothing leaks out, nothing to undo),
# /proc, /dev, /tmp and each directory of $CSPY_CHROOT_BIND (colon-separated)
# bind-mounted at the same paths, then chroot. Every step execs, so the PID a
# caller gets is python's.
write_wrapper() { # name, executable inside the root
	local w=$cache/bin/$1
	mkdir -p "$cache/bin"
	{
		echo '#!/bin/sh'
		echo "# $2 of the Debian unstable root, as in a container (written by tests/pythons.sh)."
		echo "root='$cache/sid' exe='$2'"
		cat <<-'EOF'
		exec unshare --mount --propagation private -- /bin/sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
		    mount --bind /tmp "$root/tmp" || exit 125
		IFS=:
		for d in $CSPY_CHROOT_BIND; do
		    [ -d "$d" ] || continue
		    mkdir -p "$root$d" && mount --bind "$d" "$root$d" || exit 125
		done
		unset IFS
		exec chroot "$root" /bin/sh -c "cd \"\$0\" 2>/dev/null || cd /; exec \"\$@\"" "$PWD" "$@"
		' sh "$root" "$exe" "$@"
		EOF
	} >"$w.tmp"
	chmod +x "$w.tmp" && mv "$w.tmp" "$w"
}

write_manifest() {
	local m=$cache/manifest.tmp
	: >"$m"
	if [ -e "$cache/sid/.done" ]; then
		for exe in python3.13 python3.14 python3.15 python3.14d; do
			[ -x "$cache/sid/usr/bin/$exe" ] || continue
			write_wrapper "debian-$exe" "/usr/bin/$exe"
			case $exe in *d) kind=debug ;; *) kind=distro ;; esac
			printf 'debian-%s\t%s\t%s\t%s\n' "$exe" "$kind" "$cache/bin/debian-$exe" "$cache/sid" >>"$m"
		done
	fi
	[ -e "$cache/sid/opt/austin/.done" ] && write_wrapper debian-austin /opt/austin/usr/bin/austin
	local name exe
	for name in 3.14t 3.15t 3.15; do
		[ -e "$cache/$name/.done" ] || continue
		case $name in
		*t) kind=free-threaded ;;
		*) kind=shared ;;
		esac
		exe=$cache/$name/bin/python$name
		[ -x "$exe" ] && printf '%s\t%s\t%s\t\n' "$name" "$kind" "$exe" >>"$m"
	done
	mv "$m" "$cache/manifest"
}

if [ $list_only = 0 ]; then
	start=$(date +%s)
	# The root is mostly download, the builds mostly CPU: run them side by side.
	provision_sid &
	sid_pid=$!
	provision_build 3.14t 3.14.7 --enable-shared --disable-gil
	provision_build 3.15t 3.15.0rc1 --enable-shared --disable-gil
	provision_build 3.15 3.15.0rc1 --enable-shared
	wait $sid_pid
	provision_austin
	echo "pythons: provisioned in $(($(date +%s) - start)) s, cache $cache"
fi
write_manifest
while IFS=$'\t' read -r label kind exe root; do
	printf '%-16s %-14s %s%s\n' "$label" "$kind" "$exe" "${root:+ (in $root)}"
done <"$cache/manifest"
for f in "$cache"/failed/*; do
	[ -e "$f" ] && printf '%-16s %-14s %s\n' "$(basename "$f")" "skipped" "$(cat "$f")"
done
exit 0
