#!/usr/bin/env bash
# Runs every test tier and sums their "N passed, N failed" lines.
#   tests/run_all.sh [unit|linetables|html|e2e|drift|newer|record|stream|pprof|diff|bench|top|modes|native|core|pip|static|cross|fuzz|san|deb|gecko|names|asyncio|asyncrec|memory|split ...]
# Tiers: unit, linetables, validate, html, e2e, drift, newer, record, stream, pprof, diff, bench, top, modes,
# native, core, pip, static, cross, fuzz, san, deb, gecko, names, asyncio, asyncrec, memory, split (default: all).
# Each tier is a program whose last line is "N passed, N failed". The final
# line of this script is the total in the same form (what CI reads).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(unit linetables validate html e2e drift newer record stream pprof diff bench top modes native core pip static cross fuzz san deb gecko names asyncio asyncrec memory split)

total_pass=0
total_fail=0
failed_tiers=()
failed_checks=()
tier_times=()

run_tier() { # name, command...
	local name=$1; shift
	echo "=== $name"
	local log out t0=$SECONDS
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	out=$(tail -n 1 "$log")
	tier_times+=("$((SECONDS - t0)) s  $name")
	if [[ $out =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		total_pass=$((total_pass + BASH_REMATCH[1]))
		total_fail=$((total_fail + BASH_REMATCH[2]))
		if [ "${BASH_REMATCH[2]}" != 0 ]; then
			failed_tiers+=("$name")
			# The e2e suites head each failure with "--- check [interpreter]";
			# repeat those at the end, each with the first lines of its detail
			# (the problem, after the command line), so that the last lines of a
			# CI log say what failed and why.
			while IFS= read -r line; do
				failed_checks+=("$name: $line")
			done < <(awk 'BEGIN {n = 4}
				      /^--- /{n=0; sub(/^--- /, ""); print; next}
				      n < 4 && /^  / && !/^  \$ / {n++; print "    " substr($0, 1, 200)}' \
				 "$log" | head -n 60)
		fi
	else
		echo "!!! $name did not report a result (last line: $out)"
		total_fail=$((total_fail + 1))
		failed_tiers+=("$name")
	fi
	rm -f "$log"
}

for tier in "${tiers[@]}"; do
	case $tier in
	unit)
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] || continue
			run_tier "unit $(basename "$t")" "$t"
		done
		# No module includes one above it (the layers: docs/design.md).
		run_tier "unit layering" python3 tests/layering.py
		;;
	linetables)
		run_tier "line tables vs every interpreter" python3 tests/linetables/check_all.py
		;;
	e2e)
		run_tier "end-to-end" python3 tests/e2e/run.py
		;;
	drift)
		# Built-in tables vs every installed 3.13+'s _Py_DebugOffsets and headers.
		run_tier "patch-release drift" python3 tests/e2e/drift.py
		;;
	newer)
		# A build without the newest table (build-omit/) on the newest interpreters.
		run_tier "a newer minor than cspy knows" python3 tests/e2e/newer.py
		;;
	record)
		run_tier "end-to-end record" python3 tests/e2e/record.py
		;;
	stream)
		# Output while recording: jsonl, --period, SIGUSR1, jsonl read back.
		run_tier "output while recording" python3 tests/e2e/stream.py
		;;
	pprof)
		# -f pprof in Google's pprof (-raw, -traces, -top; built offline
		# by tests/validate/pprof_tool.sh) and npm pprof-format, against
		# cspy's JSON of the same profile.
		run_tier "pprof in pprof and pprof-format" python3 tests/e2e/pprof.py
		;;
	diff)
		# cspy diff: two runs of a target whose work moves from a() to b()
		# (tests/e2e/diff.py), on every interpreter; outputs in their consumers.
		run_tier "cspy diff" python3 tests/e2e/diff.py
		;;
	bench)
		# A short run of every benchmark case (make bench-smoke): fails only
		# when a case does not run, never on performance.
		run_tier "benchmark smoke" python3 bench/run.py --smoke
		;;
	names)
		# record/top --thread REGEX and --qualname (and dump --qualname)
		# on every interpreter (tests/e2e/names.py).
		run_tier "--thread and --qualname" python3 tests/e2e/names.py
		;;
	top)
		# The live view in tmux (keys, screen, terminal restored).
		run_tier "end-to-end top" python3 tests/e2e/top.py
		;;
	modes)
		# --mode wall|cpu|gil|exception and <GC> frames on every interpreter,
		# against what the target measures from inside (tests/e2e/modes.py).
		run_tier "sampling modes" python3 tests/e2e/modes.py
		;;
	native)
		# --native on every interpreter (a C extension built per version),
		# and the NO_LIBDW=1 build (into build-nolibdw/).
		run_tier "end-to-end --native" python3 tests/e2e/native.py
		;;
	core)
		# dump --core: gcore and kernel cores of every interpreter.
		run_tier "end-to-end dump --core" python3 tests/e2e/core.py
		;;
	pip)
		# cspy as a Python package (pyproject.toml, build_backend/): wheel
		# and sdist built offline with Debian's pip and build, installed
		# into venvs, cspy dump and record run from there.
		run_tier "pip: wheel, sdist, venvs" python3 tests/e2e/pip.py
		;;
	static)
		# make static (build-static/cspy) run from a root holding nothing but
		# the binary: dump, record, top, --native; --version of each build.
		run_tier "static binary in an empty root" python3 tests/e2e/static.py
		;;
	cross)
		# The aarch64 cross build (make cross), readelf, and under
		# qemu-user its --version/--help and the unit tests that need no
		# live process (tests/cross.sh).
		run_tier "aarch64 cross build" tests/cross.sh
		;;
	fuzz)
		# Each libFuzzer harness (make fuzz builds every fuzz/fuzz_*.c) for
		# FUZZ_SECONDS (5 here, to keep the whole run under 30 minutes;
		# make fuzz-run: 8) from its seed corpus,
		# -timeout=2: one pass per fuzzer without crash or timeout. One
		# fuzzer per CPU at a time (FUZZ_JOBS).
		export FUZZ_SECONDS=${FUZZ_SECONDS:-5}
		run_tier "fuzzers ($FUZZ_SECONDS s each, -timeout=2)" fuzz/run.sh
		;;
	validate)
		# Output formats opened by their real consumers (xmllint, Chromium,
		# speedscope, ajv); see tests/validate/.
		run_tier "flame graph in xmllint and Chromium" tests/validate/run_svg.sh
		run_tier "speedscope/raw/chrometrace/json in their consumers" tests/validate/run_formats.sh
		;;
	html)
		# The HTML report (-f html, cspy report) in headless Chromium: a
		# live recording's source view and hot line, sources in a mount
		# namespace, hostile names and text, 10k stacks, diff colours
		# (tests/html/run.py, tests/validate/html_check.js).
		run_tier "HTML report in Chromium" python3 tests/html/run.py
		;;
	san)
		# Everything again under AddressSanitizer + UndefinedBehaviorSanitizer.
		if ! make -s -j2 BUILD=build-san SAN=san WERROR="${WERROR:-0}" all; then
			echo "!!! sanitizer build failed"
			total_fail=$((total_fail + 1))
			continue
		fi
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		for t in build-san/tests/test_*; do
			[ -x "$t" ] || continue
			run_tier "asan+ubsan unit $(basename "$t")" "$t"
		done
		saved_build=$BUILD
		export BUILD=build-san
		# Five interpreters covering each frame family and kind of build once
		# (SAN_COVER in tests/e2e/e2elib.py); the plain tiers above ran every
		# one. The left-out ones are named in each report. The checks of
		# cspy's own behaviour (e2elib.REPRESENTATIVE) run on two of them.
		export CSPY_E2E_SAN_COVER=1
		run_tier "asan+ubsan end-to-end" python3 tests/e2e/run.py
		# Accuracy is a timing measurement: meaningless under sanitizers.
		# exit_race: 300 launches outside, 60 here (the race itself is made
		# certain by the unit test test_ptrace).
		CSPY_EXIT_RACE_RUNS=60 run_tier "asan+ubsan end-to-end record" python3 tests/e2e/record.py --skip accuracy
		run_tier "asan+ubsan end-to-end top" python3 tests/e2e/top.py
		run_tier "asan+ubsan end-to-end --native" python3 tests/e2e/native.py --skip no_libdw
		run_tier "asan+ubsan end-to-end dump --core" python3 tests/e2e/core.py
		unset CSPY_E2E_SAN_COVER
		export BUILD=$saved_build
		;;
	deb)
		# The man pages (groff, lexgrog, the --help texts in them), make
		# install, make deb: dpkg -i/-r/-P in a test root, lintian.
		run_tier "man pages and Debian package" python3 tests/e2e/deb.py
		;;
	gecko)
		# -f gecko (Firefox Profiler) and -f pstats: structure, totals and
		# times on fixed inputs, CPython 3.15's own sampler's gecko file,
		# pstats.Stats on every Python 3, live recordings (tests/e2e/gecko.py).
		run_tier "Firefox Profiler and pstats outputs" python3 tests/e2e/gecko.py
		;;
	asyncio)
		# dump --async: asyncio tasks, coroutine chains and awaited_by on
		# every interpreter against oracles from inside the targets
		# (tests/e2e/asyncio_tasks.py).
		run_tier "asyncio tasks (dump --async)" python3 tests/e2e/asyncio_tasks.py
		;;
	asyncrec)
		# record/top --async: task stacks (running, --idle pending, TaskGroup)
		# against the target's own view and time accounting, every Python
		# with asyncio; --native, late import, every format (tests/e2e/asyncrec.py).
		run_tier "record/top --async" python3 tests/e2e/asyncrec.py
		;;
	memory)
		# record/top --memory: per-function bytes against the target's own
		# resident-size oracle, every interpreter (tests/e2e/memory.py).
		run_tier "record/top --memory" python3 tests/e2e/memory.py
		;;
	split)
		# record's python/native/system split of each active sample, blocking
		# and nonblocking, per phase against the target's own wall and
		# user/system times; the opcode tables against each interpreter's
		# own opcode modules (tests/e2e/split.py).
		run_tier "python/native/system split" python3 tests/e2e/split.py
		;;
	*) echo "unknown tier $tier"; exit 2 ;;
	esac
done
# The tests run as root and write output files through renames: one that
# replaced a device node would break every later run of the machine. Say so
# here, as a failure, rather than in some later tier's odd errors.
for dev in /dev/null /dev/zero /dev/full; do
	if [ ! -c "$dev" ]; then
		echo "FAIL $dev is no longer a character device after the tests (ls: $(ls -la "$dev" 2>&1))"
		total_fail=$((total_fail + 1))
		failed_checks+=("$dev intact")
	fi
done
echo "=== time per tier (the whole run: $SECONDS s)"
for t in "${tier_times[@]}"; do
	echo "  $t"
done
for t in "${failed_tiers[@]}"; do
	echo "failed tier: $t"
done
for c in "${failed_checks[@]}"; do
	case $c in
	*:\ \ \ \ *) echo "${c#*: }" ;;  # a detail line of the check above
	*) echo "failed check: $c" ;;
	esac
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
