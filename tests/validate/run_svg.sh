#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Flame graph SVGs in their real consumers. Generates SVGs with
# $BUILD/tools/writers_tool --plain from a few collapsed-stack inputs (the
# golden case, hostile frame names, a wide graph, an empty profile, the
# bottom-up and reversed layouts), then for each: xmllint --noout (well-formed
# XML) and tests/validate/svg_check.js (headless Chromium: search, ?s=, Ctrl+F,
# the case-insensitive toggle, zoom, reset, filling the window at two widths,
# no page errors). The golden output is also compared byte for
# byte with tests/golden/flamegraph/expected.svg.
#
# A missing validator (xmllint, node, playwright-core, /usr/bin/chromium) is
# reported as "skipped: REASON"; it counts as a failure only when
# CSPY_REQUIRE_VALIDATORS=1 (CI). The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TOOL=$BUILD/tools/writers_tool
CHROMIUM=${CSPY_CHROMIUM:-/usr/bin/chromium}
require=${CSPY_REQUIRE_VALIDATORS:-0}
pass=0
fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
skipped() { # reason
	echo "skipped: $1"
	if [ "$require" = 1 ]; then
		echo "FAIL CSPY_REQUIRE_VALIDATORS=1 and a validator is missing"
		fail=$((fail + 1))
	fi
}

if [ ! -x "$TOOL" ]; then
	bad "$TOOL not built (run make first)"
	echo "$pass passed, $fail failed"
	exit 1
fi

have_xmllint=1
have_chromium=1
if ! command -v xmllint >/dev/null 2>&1; then
	have_xmllint=0
	skipped "xmllint not installed (apt-get install libxml2-utils)"
fi
if ! command -v node >/dev/null 2>&1; then
	have_chromium=0
	skipped "node not installed"
elif [ ! -d tests/validate/node_modules/playwright-core ]; then
	have_chromium=0
	skipped "tests/validate/node_modules/playwright-core missing (cd tests/validate && npm ci)"
elif [ ! -x "$CHROMIUM" ]; then
	have_chromium=0
	skipped "$CHROMIUM missing (apt-get install chromium)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- inputs ---
golden_in=tests/golden/flamegraph/input.txt
golden_exp=tests/golden/flamegraph/expected.svg

# Hostile names: markup, entity-like text (collapsed stacks cannot hold ';'),
# quotes, a CDATA end, invalid UTF-8, a control character, non-ASCII, an
# attempt to close the SVG. 25 samples.
{
	printf '%s\n' '<script>alert(1)</script>;&amp &lt &#60 5'
	printf '%s\n' "\"quotes' & ]]> end;x 3"
	printf 'bad\377byte;ctl\001x 2\n'
	printf '%s\n' 'ünïcödé €;🔥 fire 10'
	printf '%s\n' '</g></svg><svg onload=alert(2)>;y 5'
} > "$tmp/hostile.txt"

# A wide graph: main -> worker_0..49 -> leaf_0..59, one sample each (3000).
awk 'BEGIN { for (i = 0; i < 50; i++) for (j = 0; j < 60; j++)
	printf "main;worker_%d;leaf_%d 1\n", i, j }' > "$tmp/wide.txt"

: > "$tmp/empty.txt"

# --- cases: name | tool options | input | svg_check arguments ---
run_case() { # name, input, "tool options", svg_check arguments...
	local name=$1 input=$2 opts=$3
	shift 3
	local svg=$tmp/$name.svg
	# shellcheck disable=SC2086
	if ! "$TOOL" --plain -f flamegraph -t "$name" $opts -o "$svg" "$input"; then
		bad "$name: writers_tool failed"
		return
	fi
	if [ "$have_xmllint" = 1 ]; then
		if xmllint --noout "$svg" 2>"$tmp/xmllint.err"; then
			ok "$name: xmllint --noout"
		else
			bad "$name: xmllint --noout: $(head -n 3 "$tmp/xmllint.err")"
		fi
	fi
	if [ "$have_chromium" = 1 ]; then
		if (cd tests/validate && node svg_check.js "$svg" "$@") > "$tmp/check.log" 2>&1; then
			ok "$name: Chromium ($(grep -c '^ok' "$tmp/check.log") checks)"
		else
			bad "$name: Chromium"
			sed 's/^/     /' "$tmp/check.log"
		fi
	fi
}

# Golden: byte for byte, then the consumers.
if "$TOOL" --plain -f flamegraph -t golden -o "$tmp/golden-bytes.svg" "$golden_in" &&
	cmp -s "$tmp/golden-bytes.svg" "$golden_exp"; then
	ok "golden: output equals $golden_exp"
else
	bad "golden: output differs from $golden_exp"
	diff "$golden_exp" "$tmp/golden-bytes.svg" | head -n 10
fi

# compute = 60 + 8 of 99 samples; main, run and compute (nested) count once:
# main's 90 + the worker's compute 8 = 98.
run_case golden "$golden_in" "" \
	--search compute --matched 68.69 --highlighted 2 \
	--search2 '^(main|run|compute) ' --matched2 98.99 --click '^run ' \
	--icase 'COMPUTE' --icase-matched 68.69
run_case flame "$golden_in" "--flame" \
	--search compute --matched 68.69 --highlighted 2 \
	--search2 'inner' --matched2 20.20 --click '^compute'
run_case reverse "$golden_in" "--reverse" \
	--search '^MainThread$' --matched 90.91 --highlighted 5 \
	--search2 '^(compute|inner) ' --matched2 68.69 --click '^compute'
# alert(1) and alert(2): 10 of 25; the literal text "&amp &lt": 5 of 25.
run_case hostile "$tmp/hostile.txt" "" \
	--search 'alert' --matched 40.00 --highlighted 2 \
	--search2 '&amp &lt' --matched2 20.00 --click '^ünïcödé'
# worker_1, worker_10..19: 11 x 60 = 660 of 3000; leaf_5, leaf_50..59 in
# every worker: 11 x 50 = 550.
run_case wide "$tmp/wide.txt" "" \
	--search '^worker_1' --matched 22.00 --highlighted 11 \
	--search2 '^leaf_5' --matched2 18.33
run_case empty "$tmp/empty.txt" "" --empty \
	--search x --matched 0.00 --highlighted 0 --search2 y --matched2 0.00

# --memory and the split (tests/e2e/splitmem.py through cspy report): widths
# in bytes grown (grow_big 200 MiB, grow_small 60 MiB of 260 MiB), the By
# class colours.
if python3 tests/e2e/splitmem.py "$tmp/splitmem.json" &&
	"$BUILD/cspy" report "$tmp/splitmem.json" -f flamegraph -o "$tmp/splitmem-src.svg" -q; then
	svg=$tmp/splitmem.svg
	mv "$tmp/splitmem-src.svg" "$svg"
	if [ "$have_xmllint" = 1 ]; then
		if xmllint --noout "$svg" 2>"$tmp/xmllint.err"; then
			ok "splitmem: xmllint --noout"
		else
			bad "splitmem: xmllint --noout: $(head -n 3 "$tmp/xmllint.err")"
		fi
	fi
	if [ "$have_chromium" = 1 ]; then
		if (cd tests/validate && node svg_check.js "$svg" --search '^grow_' --matched 100.00 \
			--search2 '^grow_big' --matched2 76.92 --click '^grow_big' --classes \
			--title 'Memory growth: python3 alloc.py') > "$tmp/check.log" 2>&1; then
			ok "splitmem: Chromium ($(grep -c '^ok' "$tmp/check.log") checks)"
		else
			bad "splitmem: Chromium"
			sed 's/^/     /' "$tmp/check.log"
		fi
	fi
else
	bad "splitmem: cspy report -f flamegraph failed"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
