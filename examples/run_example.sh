#!/usr/bin/env bash
# The README's first quick-start command (`make example`): profile the bundled
# example program for 3 seconds into a flame graph, then dump its stacks.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=$(command -v python3 || command -v python || true)
if [ -z "$PY" ]; then
	echo "run_example: no python3 on PATH" >&2
	exit 1
fi
out="$BUILD/example-profile.svg"
echo "\$ cspy record -o $out -d 3 -- $PY examples/webapp.py"
"$BUILD/cspy" record -o "$out" -d 3 --capture -- "$PY" examples/webapp.py
echo

# Attaching to a process that is not cspy's child needs ptrace permission.
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
echo "Open $out in a web browser to explore the flame graph."
