#!/usr/bin/env bash
# Start the bundled example program, dump its stacks with cspy, stop it.
# Used by `make example` (the README's first quick-start command).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=$(command -v python3 || command -v python || true)
if [ -z "$PY" ]; then
	echo "run_example: no python3 on PATH" >&2
	exit 1
fi
"$PY" -u examples/webapp.py >/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
sleep 1
cspy=("$BUILD/cspy")
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if [ "$(id -u)" != 0 ] && [ "$scope" -ge 1 ]; then
	echo "run_example: kernel.yama.ptrace_scope=$scope lets only root read another process; using sudo" >&2
	cspy=(sudo "$BUILD/cspy")
fi
echo "\$ cspy dump --pid $pid"
"${cspy[@]}" dump --pid "$pid"
echo
echo "\$ cspy dump --pid $pid --locals"
"${cspy[@]}" dump --pid "$pid" --locals | head -40
