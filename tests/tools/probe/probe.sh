#!/bin/sh
# Layout probe of a CPython build (2.7, 3.6+): compiles layout_probe.c
# against its headers and prints each struct py_layout member as
# "name value what" (see layout_probe.c, docs/offsets.md). Not part of the
# cspy build; needs a C compiler. check_tables.py compares it with the tables.
#
#   tests/tools/probe/probe.sh INCLUDE_DIR [PYCONFIG_DIR]
#
# INCLUDE_DIR holds Python.h (and internal/ from 3.7; an install's
# include/pythonX.Y, or a source tree's Include/); PYCONFIG_DIR holds pyconfig.h when it is
# elsewhere (a configured source tree's top directory; for Debian's
# multiarch layout, the directory with x86_64-linux-gnu/python3.X/pyconfig.h
# is found by itself). A free-threaded build is probed with its own pyconfig.h
# (Py_GIL_DISABLED).
set -eu
inc=${1:?usage: probe.sh INCLUDE_DIR [PYCONFIG_DIR]}
cfg=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
extra=
# Debian: include/python3.X/pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>
# from the include directory above; give only that part of it.
multi=$(sed -n 's|^#  *include <\([^>]*/pyconfig.h\)>.*|\1|p' "$inc/pyconfig.h" 2>/dev/null | head -n 1)
if [ -n "$multi" ] && [ -f "$inc/../$multi" ]; then
	mkdir -p "$tmp/inc/$(dirname "$multi")"
	ln -s "$(cd "$inc/.." && pwd)/$multi" "$tmp/inc/$multi"
	extra="-I$tmp/inc"
fi
${CC:-cc} -I"$inc" ${cfg:+-I"$cfg"} $extra -I"$inc/internal" -I"$inc/internal/mimalloc" \
	-o "$tmp/probe" "$here/layout_probe.c"
"$tmp/probe"
