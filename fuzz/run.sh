#!/usr/bin/env bash
# The fuzz tier: builds the libFuzzer harnesses (make fuzz, clang) and runs
# each one for FUZZ_SECONDS (default 8) from its seed corpus
# fuzz/corpus/<fuzzer>/ (copied to a temporary directory: the repository's
# corpus is not changed), with -timeout=2: an input that takes 2 s fails
# the fuzzer like a crash. One pass per fuzzer that ran without a crash,
# leak or timeout; the coverage (cov, ft) at the start and the end and the
# executions are printed per fuzzer. A failing input is kept and its path
# printed. The last line is "N passed, N failed".
#   fuzz/run.sh                  # every fuzzer
#   FUZZ_SECONDS=60 fuzz/run.sh fuzz_pyproc
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-8}
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
for name in "${names[@]}"; do
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
		echo "ok   $name: $seeds seeds; start ${inited:-?}; end ${done_:-?}; ${execs:-?} executions (${rate:-?}/s) in ${secs}s"
		pass=$((pass + 1))
		rm -rf "$work"
	else
		echo "--- $name: exit status $rc (crash, leak or timeout); input and log kept in $work"
		grep -E 'ERROR|SUMMARY|Timeout|timeout|ALARM' "$work/log" | head -n 8 | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
