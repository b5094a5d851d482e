#!/usr/bin/env bash
# The fuzz tier: builds the libFuzzer harnesses (make fuzz, clang) and runs
# each one for FUZZ_SECONDS (default 8) from its seed corpus
# fuzz/corpus/<fuzzer>/ (copied to a temporary directory: the repository's
# corpus is not changed), with -timeout=2: an input that takes 2 s fails
# the fuzzer like a crash. One pass per fuzzer that ran without a crash,
# leak or timeout; the coverage (cov, ft) at the start and the end and the
# executions are printed per fuzzer. A failing input is kept and its path
# printed. The last line is "N passed, N failed". FUZZ_JOBS (default: the
# CPUs, at most 4) fuzzers run at a time, each a single process on its own
# CPU for its FUZZ_SECONDS: the same executions per fuzzer in less wall time;
# their reports are printed in name order when all are done.
#   fuzz/run.sh                  # every fuzzer
#   FUZZ_SECONDS=60 fuzz/run.sh fuzz_pyproc
#   FUZZ_JOBS=1 fuzz/run.sh      # one at a time
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-8}
cpus=$(nproc 2>/dev/null || echo 1)
jobs=${FUZZ_JOBS:-$((cpus < 4 ? cpus : 4))}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
pass=0
fail=0
if ! command -v clang >/dev/null; then
	echo "FAIL clang is not installed: the fuzzers cannot be built (apt-get install clang)"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! make -s -j2 fuzz >/dev/null; then
	echo "FAIL make fuzz"
	echo "0 passed, 1 failed"
	exit 1
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in build-fuzz/fuzz_*; do
		[ -x "$f" ] && names+=("$(basename "$f")")
	done
fi
reports=$(mktemp -d "${TMPDIR:-/tmp}/cspy-fuzz-reports.XXXXXX")
# One fuzzer: its report line(s) into $reports/NAME, "ok" or "fail" into
# $reports/NAME.status.
run_fuzzer() {
	local name=$1 work seeds rc inited done_ execs rate
	work=$(mktemp -d "${TMPDIR:-/tmp}/cspy-fuzz-$name.XXXXXX")
	mkdir -p "$work/corpus"
	seeds=0
	if [ -d "fuzz/corpus/$name" ]; then
		cp fuzz/corpus/"$name"/* "$work/corpus/" 2>/dev/null
		seeds=$(ls "$work/corpus" | wc -l)
	fi
	"build-fuzz/$name" -max_total_time="$secs" -timeout=2 -rss_limit_mb=2048 \
		-artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" >"$work/log" 2>&1
	rc=$?
	inited=$(grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$work/log" | grep -oE 'cov: [0-9]+ ft: [0-9]+')
	done_=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')
	execs=$(grep -m1 -E '^stat::number_of_executed_units' "$work/log" | grep -oE '[0-9]+$')
	rate=$(grep -m1 -E '^stat::average_exec_per_sec' "$work/log" | grep -oE '[0-9]+$')
	if [ $rc -eq 0 ]; then
		echo "ok   $name: $seeds seeds; start ${inited:-?}; end ${done_:-?}; ${execs:-?} executions (${rate:-?}/s) in ${secs}s" >"$reports/$name"
		echo ok >"$reports/$name.status"
		rm -rf "$work"
	else
		{
			echo "--- $name: exit status $rc (crash, leak or timeout); input and log kept in $work"
			grep -E 'ERROR|SUMMARY|Timeout|timeout|ALARM' "$work/log" | head -n 8 | sed 's/^/    /'
		} >"$reports/$name"
		echo fail >"$reports/$name.status"
	fi
}
running=0
for name in "${names[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_fuzzer "$name" &
	running=$((running + 1))
done
wait
for name in "${names[@]}"; do
	cat "$reports/$name" 2>/dev/null || echo "--- $name: no report (the runner died)"
	if [ "$(cat "$reports/$name.status" 2>/dev/null)" = ok ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
rm -rf "$reports"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
