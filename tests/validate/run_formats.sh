#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Validates the speedscope, raw, chrometrace and json writers in their real
# consumers. Builds profiles with $BUILD/tools/writers_tool from several
# inputs (the golden inputs, hostile names, several threads with gaps and
# recursion, 10k distinct stacks, a stack change at every sample), writes
# every format for each into a case directory, and runs check_formats.js
# over them (schema, parsing, cross-format consistency, and loading in the
# real speedscope app in headless Chromium).
#
#   tests/validate/run_formats.sh            (BUILD=build by default)
#
# Without Node, the validators' node_modules or Chromium, the missing part is
# reported as "skipped: REASON" and counts as one failure only when
# CSPY_REQUIRE_VALIDATORS=1 (as CI sets it). The last line is
# "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TOOL=$BUILD/tools/writers_tool
VALIDATE=tests/validate
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
skip() { # reason
	echo "skipped: $1"
	if [ "${CSPY_REQUIRE_VALIDATORS:-0}" = 1 ]; then
		bad "validators required (CSPY_REQUIRE_VALIDATORS=1) but $1"
	fi
}

if [ ! -x "$TOOL" ]; then
	bad "$TOOL is missing (run make)"
	echo "$pass passed, $fail failed"
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Hostile names: markup, entities, quotes, CDATA end, ';', newline, invalid
# UTF-8, control characters, non-ASCII, a 5000-byte name; in frames, thread
# names and the title.
hostile=$work/hostile.txt
{
	printf '!title <script>alert("x&y")</script> ]]> \xff\x01 tab\tend\n'
	printf '!command_line python3 "evil;name".py\n'
	printf '!cmdline python3 <evil>.py\n'
	printf '<module> (evil.py:1);<script>alert(1)</script> (x.py:1) 3\n'
	printf '<module> (evil.py:1);a & b "q" '"'"'q'"'"' (x.py:2);]]> (cdata.py:3) 2\n'
	printf '<module> (evil.py:1);semi\\;colon (s.py:4);new\\nline (n.py:5) 2\n'
	printf '<module> (evil.py:1);bad\\xffutf8 (u.py:6) 1\n'
	printf '<module> (evil.py:1);bad\xfe raw (u.py:7) 1\n'
	printf '<module> (evil.py:1);ctl\\x01\\x1b\\x7f\\x09 (c.py:7) 1\n'
	printf '<module> (evil.py:1);na\xc3\xafve \xe6\xbc\xa2\xe5\xad\x97 \xf0\x9f\x98\x80 (uni.py:8) 2\n'
	printf '<module> (evil.py:1);back\\\\slash </script><!-- (b.py:9) 1\n'
	printf '<module> (evil.py:1);%s (long.py:1) 1\n' "$(head -c 5000 /dev/zero | tr '\0' 'L')"
	printf '<module> (evil.py:1);ends with 123 1\n'
	printf '!thread 1 2 Wo"rk<er> \xff & ]]>\n'
	printf '<module> (evil.py:1);<script>alert(1)</script> (x.py:1) 4\n'
	printf 'other:\\x00 1\n'                     # an empty name
} > "$hostile"

# Several threads and processes, idle gaps, recursion changing depth, a
# stack that comes back, a thread that appears late.
threads=$work/threads.txt
{
	printf '!rate 200\n!cmdline python3 server.py\n'
	for i in 1 2 3; do
		printf 'main (s.py:1);f (s.py:5);g (s.py:9);f (s.py:5);g (s.py:9) 2\n'
		printf 'main (s.py:1);f (s.py:5);g (s.py:9);g (s.py:9) %d\n' "$i"
		printf 'main (s.py:1);g (s.py:9);f (s.py:5) 1\nmain (s.py:1);f (s.py:5);g (s.py:9) 1\n'
		printf '!idle %d\n' "$((i * 2))"
	done
	printf '!thread 1 2 Worker-1\n!idle 7\nworker (w.py:3);native:epoll_wait (libc.so.6) 9\n'
	printf 'worker (w.py:3);handle (w.py:8) 1\n!idle 2\nworker (w.py:3);reply (w.py:9) 1\n'
	printf '!cmdline python3 child.py\n!thread 77 78 child-main\n'
	printf 'process:Process 77 (child.py);child (c.py:1) 5\n'
} > "$threads"

# Sampling that fell behind: 100000 Hz asked, 200 Hz reached; the times of
# speedscope and chrometrace follow the real rate (meta.ticks / duration).
behind=$work/behind.txt
sed 's/^!rate 200$/!rate 200\n!behind 100000/' "$threads" > "$behind"

cases=()
make_case() { # name, writers_tool input arguments...
	local name=$1; shift
	local dir=$work/cases/$name
	mkdir -p "$dir"
	local f out okc=1
	for f in json speedscope raw chrometrace; do
		case $f in
		json) out=cspy.json ;;
		speedscope) out=speedscope.json ;;
		raw) out=raw.txt ;;
		chrometrace) out=chrometrace.json ;;
		esac
		if ! "$TOOL" -f "$f" -o "$dir/$out" "$@" 2> "$dir/$f.err"; then
			bad "$name: writers_tool -f $f failed: $(head -c 300 "$dir/$f.err")"
			okc=0
		fi
	done
	if [ "$okc" = 1 ]; then
		ok "$name: all four formats written"
		cases+=("$dir")
	fi
}

for g in speedscope raw chrometrace json; do
	make_case "golden-$g" "tests/golden/$g/input.txt"
done
make_case hostile "$hostile"
make_case threads "$threads"
make_case behind "$behind"
make_case synth-10k-stacks --synth 10000,200000,20
make_case change-every-sample --synth 2000,10000,1

# --memory and the python/native/system split (tests/e2e/splitmem.py), a
# saved profile through `cspy report`: speedscope's bytes profiles.
dir=$work/cases/memory
mkdir -p "$dir"
if python3 tests/e2e/splitmem.py "$dir/cspy.json" &&
   "$BUILD/cspy" report "$dir/cspy.json" -f speedscope -o "$dir/speedscope.json" -q 2> "$dir/err"; then
	ok "memory: cspy report -f speedscope"
	cases+=("$dir")
else
	bad "memory: cspy report -f speedscope: $(head -c 300 "$dir/err")"
fi

if ! command -v node > /dev/null; then
	skip "node is not installed"
elif [ ! -d "$VALIDATE/node_modules/speedscope" ] || [ ! -d "$VALIDATE/node_modules/ajv" ]; then
	skip "tests/validate/node_modules is missing (cd tests/validate && npm ci)"
elif [ "${#cases[@]}" -gt 0 ]; then
	browser=()
	if [ ! -x "$CHROMIUM" ]; then
		skip "Chromium not found at $CHROMIUM: in-browser checks"
		browser=(--no-browser)
	elif [ ! -d "$VALIDATE/node_modules/playwright-core" ]; then
		skip "playwright-core is missing: in-browser checks"
		browser=(--no-browser)
	fi
	log=$work/node.log
	node "$VALIDATE/check_formats.js" "${browser[@]}" "${cases[@]}" 2>&1 | tee "$log"
	last=$(tail -n 1 "$log")
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		pass=$((pass + BASH_REMATCH[1]))
		fail=$((fail + BASH_REMATCH[2]))
	else
		bad "check_formats.js did not report a result"
	fi
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
