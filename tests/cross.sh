#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The cross tier (make e2e-cross; tests/run_all.sh cross): cspy for aarch64,
# built on this machine with Debian's cross toolchain and checked as far as
# a machine without an aarch64 CPU can:
#   - `make cross` (build-aarch64/: cspy, the default build linked against
#     the arm64 libdw/libelf, and the unit tests below) and `make cross
#     STATIC=1` (build-aarch64-static/cspy), both -Werror, and readelf says
#     each cspy is a 64-bit little-endian AArch64 ELF (the static one without
#     an interpreter, the dynamic one needing libdw and libelf);
#   - each file of src/arch/ refuses a compiler for another machine;
#   - under qemu-user (qemu-aarch64-static or qemu-aarch64, when installed):
#     `cspy --version` and `cspy --help` of both binaries; `cspy dump --core`
#     of a core qemu writes for an aborting aarch64 program (read as a
#     process without Python; this machine's cspy refuses it as another
#     machine's); and the unit tests
#     that need no live process (decoders of line tables, objects, maps,
#     memory snapshots, aarch64 core files, the machine's own facts in
#     test_arch ...). The rest
#     need a real aarch64 machine: qemu-user emulates neither ptrace nor
#     process_vm_readv of another process, so nothing here attaches to a
#     Python; the output says which tests ran and why each other one did not.
# A missing toolchain or qemu is "skipped" with the reason, a failure when
# CSPY_REQUIRE_VALIDATORS=1 (CI, whose .ci/run installs them). Each failure
# is headed by "--- check"; the last line is "N passed, N failed".
#   tests/cross.sh            (CROSS=aarch64-linux-gnu- by default)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CROSS=${CROSS:-aarch64-linux-gnu-}
TRIPLET=${CROSS%-}
DYN=build-aarch64
STAT=build-aarch64-static
# Unit tests under qemu-user: every tests/unit/test_*.c but these, which
# need what qemu-user does not give (a new test runs there by default).
declare -A NOT_RUN=(
	[test_ptrace]="ptraces a child: qemu-user does not emulate ptrace"
	[test_snapshot]="pauses a live process with ptrace"
	[test_mem]="process_vm_readv of a child: the kernel takes host addresses, the test has guest ones"
	[test_threadstate]="a child's threads and run states in /proc: under qemu-user they are qemu's (an extra thread)"
	[test_writers]="its golden cases exec the aarch64 writers_tool: needs binfmt_misc"
	[test_flamegraph]="its golden cases exec the aarch64 writers_tool: needs binfmt_misc"
)
UNITS=""
for f in tests/unit/test_*.c; do
	t=$(basename "$f" .c)
	[ -n "${NOT_RUN[$t]:-}" ] || UNITS="$UNITS $t"
done

passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { # what, details...
	echo "--- $1"
	shift
	local l
	for l in "$@"; do printf '    %s\n' "$l"; done
	failed=$((failed + 1))
}
skip() { # what, reason
	if [ "${CSPY_REQUIRE_VALIDATORS:-0}" = 1 ]; then
		fail "$1" "skipped: $2 (CSPY_REQUIRE_VALIDATORS=1: .ci/run installs it)"
	else
		echo "skip $1: skipped: $2"
	fi
}
finish() { echo "$passed passed, $failed failed"; exit $((failed > 0)); }

# readelf -h field, e.g. "Machine"
elf_field() { readelf -h "$1" 2>/dev/null | sed -n "s/^ *$2: *//p"; }

check_elf() { # binary, static|dynamic
	local b=$1 kind=$2 m c d
	m=$(elf_field "$b" Machine)
	c=$(elf_field "$b" Class)
	d=$(elf_field "$b" Data)
	if [ "$m" != AArch64 ] || [ "$c" != ELF64 ] || [[ $d != *"little endian"* ]]; then
		fail "$b is a 64-bit little-endian AArch64 ELF" "readelf -h: Machine: $m, Class: $c, Data: $d"
		return
	fi
	local interp needed
	interp=$(readelf -l "$b" 2>/dev/null | grep -c 'Requesting program interpreter')
	needed=$(readelf -d "$b" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	if [ "$kind" = static ]; then
		if [ "$interp" != 0 ] || [ -n "$needed" ]; then
			fail "$b is a static AArch64 ELF" "interpreter headers: $interp, NEEDED: $needed"
			return
		fi
		ok "$b: AArch64 ELF64 little endian, static (no interpreter, no NEEDED)"
	else
		if [[ " $needed " != *" libdw.so.1 "* ]] || [[ " $needed " != *" libelf.so.1 "* ]]; then
			fail "$b links the arm64 libdw and libelf" "NEEDED: $needed"
			return
		fi
		ok "$b: AArch64 ELF64 little endian, dynamic (NEEDED: $needed)"
	fi
}

if ! command -v "${CROSS}gcc" >/dev/null; then
	skip "the aarch64 cross build" "no ${CROSS}gcc (Debian: apt-get install gcc-$TRIPLET g++-$TRIPLET)"
	finish
fi
if [ ! -f "/usr/lib/$TRIPLET/pkgconfig/libdw.pc" ]; then
	skip "the aarch64 cross build" "no arm64 libdw (Debian: dpkg --add-architecture arm64; apt-get install libelf-dev:arm64 libdw-dev:arm64 zlib1g-dev:arm64 libjansson-dev:arm64 libbz2-dev:arm64 liblzma-dev:arm64)"
	finish
fi

# Each machine's file refuses the other's compiler (its one #if).
host_cc=${CC:-cc}
if $host_cc -std=c11 -D_GNU_SOURCE -Isrc -c src/arch/aarch64.c -o /dev/null 2>/dev/null; then
	fail "src/arch/aarch64.c refuses $host_cc ($($host_cc -dumpmachine))" "it compiled"
elif "${CROSS}gcc" -std=c11 -D_GNU_SOURCE -Isrc -c src/arch/x86_64.c -o /dev/null 2>/dev/null; then
	fail "src/arch/x86_64.c refuses ${CROSS}gcc" "it compiled"
else
	ok "src/arch/aarch64.c refuses $host_cc, src/arch/x86_64.c refuses ${CROSS}gcc"
fi

# The builds: quiet unless they fail.
build() { # what, make arguments...
	local what=$1 log t0=$SECONDS
	shift
	log=$(mktemp)
	if make -j2 --no-print-directory WERROR=1 CROSS="$CROSS" "$@" >"$log" 2>&1; then
		ok "$what ($((SECONDS - t0)) s)"
		rm -f "$log"
		return 0
	fi
	local tail_lines
	mapfile -t tail_lines < <(tail -n 15 "$log")
	fail "$what" "${tail_lines[@]}"
	rm -f "$log"
	return 1
}
goals=""
for t in $UNITS; do goals="$goals $DYN/tests/$t"; done
dyn_ok=0
stat_ok=0
build "make cross: $DYN/cspy and $(echo $UNITS | wc -w) unit tests, -Werror" \
	cross CROSS_GOALS="$goals" && dyn_ok=1
build "make cross STATIC=1: $STAT/cspy, -Werror" cross STATIC=1 && stat_ok=1
[ $dyn_ok = 1 ] && check_elf "$DYN/cspy" dynamic
[ $stat_ok = 1 ] && check_elf "$STAT/cspy" static

# qemu-user: the binaries and the unit tests that need no live process.
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
	skip "running the aarch64 binaries" "no qemu-aarch64(-static) (Debian: apt-get install qemu-user-static)"
	finish
fi
# A dynamic binary finds the cross toolchain's libc and libstdc++ under
# QEMU_LD_PREFIX, the arm64 libdw and libelf in /usr/lib/TRIPLET.
qrun() { # timeout, binary, args...
	local t=$1
	shift
	QEMU_LD_PREFIX=/usr/$TRIPLET timeout "$t" "$qemu" "$@"
}
run_cli() { qrun 60 "$@"; }
for b in $([ $stat_ok = 1 ] && echo "$STAT/cspy") $([ $dyn_ok = 1 ] && echo "$DYN/cspy"); do
	v=$(run_cli "$b" --version 2>&1)
	rc=$?
	if [ $rc = 0 ] && [[ $v == "cspy "[0-9]* ]]; then
		ok "qemu-aarch64 $b --version: ${v%%$'\n'*}"
	else
		fail "qemu-aarch64 $b --version" "exit $rc: $v"
	fi
	h=$(run_cli "$b" --help 2>&1)
	rc=$?
	if [ $rc = 0 ] && [[ $h == *record* ]] && [[ $h == *dump* ]] && [[ $h == *top* ]]; then
		ok "qemu-aarch64 $b --help (names record, top, dump)"
	else
		fail "qemu-aarch64 $b --help" "exit $rc: $(echo "$h" | head -n 5)"
	fi
done
# A real aarch64 core: qemu-user writes the guest's (NT_PRSTATUS with
# user_pt_regs, NT_PRPSINFO, NT_AUXV; no NT_FILE) when a small static
# aarch64 program aborts. The aarch64 cspy must take it as a process (and
# find no Python in it); this machine's cspy must refuse it by its machine.
if [ $stat_ok = 1 ]; then
	cdir=$(mktemp -d)
	printf '#include <stdlib.h>\nint main(void) { abort(); }\n' > "$cdir/abort.c"
	core=""
	if "${CROSS}gcc" -static -o "$cdir/abort" "$cdir/abort.c" 2>"$cdir/cc.err"; then
		# (in a shell of its own, whose report of the abort goes nowhere)
		sh -c 'cd "$1" && ulimit -c unlimited && timeout 60 "$2" ./abort; true' sh "$cdir" "$qemu" \
			>/dev/null 2>&1
		core=$(ls "$cdir"/qemu_abort_*.core 2>/dev/null | head -n 1)
	fi
	if [ -z "$core" ]; then
		fail "qemu-aarch64 writes the core of an aborting aarch64 program" \
			"no $cdir/qemu_abort_*.core ($(cat "$cdir/cc.err"))"
	else
		cpid=${core##*_}
		cpid=${cpid%.core}
		out=$(run_cli "$STAT/cspy" dump --core "$core" 2>&1)
		rc=$?
		if [ $rc = 1 ] && [[ $out == *"process $cpid "*"is not a Python process"* ]]; then
			ok "qemu-aarch64 $STAT/cspy dump --core (a qemu-written aarch64 core): process $cpid read, no Python in it"
		else
			fail "qemu-aarch64 $STAT/cspy dump --core of an aarch64 core: process $cpid, not a Python" \
				"exit $rc: $out"
		fi
		if [ -x "$BUILD/cspy" ]; then
			out=$("$BUILD/cspy" dump --core "$core" 2>&1)
			rc=$?
			if [ $rc = 1 ] && [[ $out == *"core of another architecture"* ]]; then
				ok "$BUILD/cspy dump --core refuses the aarch64 core: ${out##*: }"
			else
				fail "$BUILD/cspy dump --core refuses the aarch64 core" "exit $rc: $out"
			fi
		fi
	fi
	rm -rf "$cdir"
fi

ran=""
if [ $dyn_ok = 1 ]; then
	for t in $UNITS; do
		out=$(qrun 120 "$DYN/tests/$t" 2>&1)
		rc=$?
		last=$(echo "$out" | tail -n 1)
		if [ $rc = 0 ] && [[ $last =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
			ok "qemu-aarch64 unit $t: $last"
			ran="$ran $t"
		else
			mapfile -t lines < <(echo "$out" | grep -E 'FAIL|skip' | head -n 10)
			fail "qemu-aarch64 unit $t (exit $rc, last line: $last)" "${lines[@]}"
		fi
	done
	# The machine's own facts must have been checked on aarch64, not skipped.
	if qrun 60 "$DYN/tests/test_arch" 2>&1 | grep -q '^skip test_thread_pointer'; then
		fail "test_arch checked glibc's thread pointer on aarch64" "it was skipped"
	fi
fi
echo "ran under $qemu:${ran:- none}"
for t in $(echo "${!NOT_RUN[@]}" | tr ' ' '\n' | sort); do
	echo "not run under qemu: $t (${NOT_RUN[$t]})"
done
finish
