#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Provides Google's pprof, the reader the pprof tier checks cspy's -f pprof
# files with, built offline from Debian's packages: golang-go and
# golang-github-google-pprof-dev (pprof's Go sources and its two
# dependencies, under /usr/share/gocode). It is built once, in GOPATH mode
# (GO111MODULE=off: no module proxy, no network), into a cache outside the
# checkout keyed by the versions of both packages:
#
#   ${XDG_CACHE_HOME:-~/.cache}/cspy-tools/pprof/PPROFVERSION-goGOVERSION/pprof
#
# and the path of the binary is printed on stdout. .ci/run calls it after
# installing the packages; tests/e2e/pprof.py calls it too (a few seconds
# when the binary is missing, nothing when it is there).
#
#   tests/validate/pprof_tool.sh          build if needed, print the path
#   tests/validate/pprof_tool.sh --check  print the path if it is built, else fail
#
# Exit 1 with the reason on stderr when go or the sources are missing.
set -euo pipefail
GOCODE=${CSPY_GOCODE:-/usr/share/gocode}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/cspy-tools/pprof

die() {
	echo "pprof_tool.sh: $*" >&2
	exit 1
}

version() { # the Debian package's version, filesystem-safe
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null | tr -c 'A-Za-z0-9.+\n-' '_'
}

command -v go > /dev/null || die "go is not installed (apt-get install golang-go)"
[ -d "$GOCODE/src/github.com/google/pprof" ] ||
	die "pprof's sources are not in $GOCODE (apt-get install golang-github-google-pprof-dev)"
pv=$(version golang-github-google-pprof-dev)
gv=$(go env GOVERSION 2> /dev/null || true)
[ -n "$pv" ] || pv=unknown
dir=$CACHE/$pv-${gv:-gounknown}
bin=$dir/pprof
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
[ "${1:-}" = --check ] && die "not built yet: $bin"

mkdir -p "$dir"
work=$(mktemp -d "$dir/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
# GOPATH mode over Debian's tree; the build cache in the work directory, so
# that nothing is written into $HOME's Go cache or into the checkout.
if ! GO111MODULE=off GOPATH="$GOCODE" GOCACHE="$work/cache" GOFLAGS= GOPROXY=off \
	nice go build -o "$work/pprof" github.com/google/pprof > "$work/log" 2>&1; then
	cat "$work/log" >&2
	die "go build of github.com/google/pprof failed"
fi
mv -f "$work/pprof" "$bin"
echo "$bin"
