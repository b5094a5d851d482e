#!/usr/bin/env bash
# The README's first quick-start command (`make example`): profile the bundled
# example program for 3 seconds, saved as cspy's JSON (with its sources), render
# it as the HTML report and as a flame graph, then dump the program's stacks.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=$(command -v python3 || command -v python || true)
if [ -z "$PY" ]; then
	echo "run_example: no python3 on PATH" >&2
	exit 1
fi
saved="$BUILD/example-profile.json"
echo "\$ cspy record -f json -o $saved -d 3 -- $PY examples/webapp.py"
"$BUILD/cspy" record -f json -o "$saved" -d 3 --capture -- "$PY" examples/webapp.py
echo
html="$BUILD/example-profile.html"
out="$BUILD/example-profile.svg"
echo "\$ cspy report $saved -o $html"
"$BUILD/cspy" report "$saved" -o "$html"
echo "\$ cspy report $saved -o $out"
"$BUILD/cspy" report "$saved" -o "$out"
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
echo "Open $html in a web browser (the report: flame graph, functions, source view),"
echo "or $out (the flame graph alone)."
