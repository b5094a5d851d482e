# cspy: single non-recursive GNU Makefile. Output goes to build/.
#   make              build build/cspy
#   make test         every test tier (tests/run_all.sh); one tier: make unit, linetables,
#                     validate, html, e2e, e2e-drift, e2e-newer, e2e-record, e2e-stream, e2e-pprof,
#                     bench-smoke, e2e-top, e2e-modes, e2e-native, e2e-core, e2e-pip, e2e-static, e2e-cross, e2e-deb,
#                     fuzz-run, san, e2e-gecko, e2e-names, e2e-asyncrec, e2e-memory, e2e-split
#                     (see "Tests" in README.md)
#   make SAN=asan     (or ubsan, or san = both) build with sanitizers into build-$(SAN)/
#   make WERROR=1     add -Werror (CI)
#   make NO_LIBDW=1   build without elfutils' libdw (no --native); use its own BUILD=
#   make static       one fully static binary, build-static/cspy (libelf, libdw, zlib and
#                     libstdc++'s demangler linked in: runs where none of them exist),
#                     stripped; its debug information in build-static/cspy.debug
#   make man          the man pages, build/man/*.1 (`cspy manpage`, from the --help texts)
#   make deb          the Debian package, build/deb/cspy_VERSION_ARCH.deb (dpkg-deb)
#   make cross        cspy for aarch64 with Debian's cross toolchain, build-aarch64/cspy
#                     (CROSS=aarch64-linux-gnu- by default; make cross STATIC=1: static,
#                     build-aarch64-static/cspy); make e2e-cross is the tier that checks it
#   make V=1          show the commands
#   make OMIT_NEWEST=1 BUILD=build-omit  leave the newest Python minor's table out (to test
#                     how a newer, unknown minor is tried and validated); use its own BUILD=
CC      ?= cc
SAN     ?=
BUILD   ?= build$(if $(SAN),-$(SAN))
PREFIX  ?= /usr/local
OBJCOPY ?= objcopy
VERSION := 0.1.0

# libdw (elfutils) gives --native; make NO_LIBDW=1 builds without it (the
# native unwinder is then src/native/unwind_none.c). zlib (which libelf needs
# anyway) compresses .gz/.svgz output (src/writers/outfile.c) and reads
# them back; jansson parses saved profiles (src/agg/load.c: cspy report, diff).
ifeq ($(NO_LIBDW),1)
PKGS    := libelf zlib jansson
NATIVE_OFF := src/native/unwind_dwfl.c
else
PKGS    := libelf libdw zlib jansson
NATIVE_OFF := src/native/unwind_none.c
NATIVE_LIBS := -lstdc++
endif
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter \
           -Isrc -DCSPY_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS))
# STATIC=1 (make static sets it, with its own BUILD=build-static): link every
# library statically, with the libraries' own static dependencies (libdw's
# bzip2 and xz readers of compressed debug sections).
# libdw's dlopen (of libdebuginfod) goes to a stub that refuses it
# (src/native/unwind_dwfl.c): a static program must not load a shared library.
ifeq ($(STATIC),1)
CFLAGS  += -DCSPY_STATIC=1
LDFLAGS += -static $(if $(filter 1,$(NO_LIBDW)),,-Wl,--wrap=dlopen)
LDLIBS  += $(shell pkg-config --static --libs $(PKGS)) $(NATIVE_LIBS)
else
LDLIBS  += $(shell pkg-config --libs $(PKGS)) $(NATIVE_LIBS)
endif
ifeq ($(OMIT_NEWEST),1)
CFLAGS  += -DCSPY_OMIT_NEWEST
endif
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
ifeq ($(SAN),asan)
CFLAGS  += -fsanitize=address -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address
endif
ifeq ($(SAN),san)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),ubsan)
CFLAGS  += -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=undefined
endif

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-6s %s\n' "$(1)" "$(2)";
endif

# The machine's file of src/arch/ (arch.h), from the compiler's target triplet.
ARCH    := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
ifeq ($(wildcard src/arch/$(ARCH).c),)
$(error cspy builds for x86_64 and aarch64; $(CC) targets "$(ARCH)" (no src/arch/$(ARCH).c))
endif
ARCH_OFF := $(filter-out src/arch/$(ARCH).c,$(wildcard src/arch/*.c))

LIB_SRC  := $(filter-out src/main.c $(NATIVE_OFF) $(ARCH_OFF),$(wildcard src/*.c src/*/*.c))
# Sources generated at build time: the flame graph's script as a C array.
GEN_SRC  := $(BUILD)/gen/flamegraph_js.c
# ... and the HTML report's script and style (src/writers/report.js, report.css).
GEN_SRC  += $(BUILD)/gen/report_js.c $(BUILD)/gen/report_css.c
.SECONDARY: $(GEN_SRC)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_SRC:%.c=%.o)
MAIN_OBJ := $(BUILD)/src/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_BIN := $(BUILD)/bench/profile_bench $(BUILD)/bench/floor

.PHONY: all test check unit layering linetables validate html e2e e2e-drift e2e-newer e2e-record \
        e2e-top e2e-stream e2e-native e2e-core e2e-pip native fuzz-run san clean install fuzz example bench bench-smoke pythons \
        static e2e-static cross e2e-cross e2e-gecko e2e-asyncrec e2e-pprof pprof-tool e2e-modes e2e-asyncio \
        e2e-memory e2e-split
all: $(BUILD)/cspy $(UNIT_BIN) $(TOOL_BIN) $(BENCH_BIN)

$(BUILD)/cspy: $(MAIN_OBJ) $(BUILD)/libcspy.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
ifeq ($(STATIC),1)
	$(call msg,STRIP,$@)
	$(Q)$(OBJCOPY) --only-keep-debug $@ $@.debug && \
	  $(OBJCOPY) --strip-all --add-gnu-debuglink=$@.debug $@ || { rm -f $@; exit 1; }
endif

$(BUILD)/libcspy.a: $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# src/writers/flamegraph.js -> a C string of octal escapes (any byte is safe),
# with only od and awk.
$(BUILD)/gen/flamegraph_js.c: src/writers/flamegraph.js
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q){ printf '/* Generated from %s by the Makefile; do not edit. */\n#include <stddef.h>\n' '$<'; \
	  printf 'extern const char flamegraph_js[];\nextern const size_t flamegraph_js_len;\n'; \
	  printf 'const char flamegraph_js[] =\n'; \
	  od -An -v -to1 $< | awk '{ s = ""; for (i = 1; i <= NF; i++) s = s "\\" $$i; print "\"" s "\"" }'; \
	  printf '"";\nconst size_t flamegraph_js_len = sizeof(flamegraph_js) - 1;\n'; } > $@.tmp && mv $@.tmp $@

# src/writers/report.js and report.css -> report_js[], report_css[], the same way.
$(BUILD)/gen/report_%.c: src/writers/report.%
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q){ printf '/* Generated from %s by the Makefile; do not edit. */\n#include <stddef.h>\n' '$<'; \
	  printf 'extern const char report_$*[];\nextern const size_t report_$*_len;\n'; \
	  printf 'const char report_$*[] =\n'; \
	  od -An -v -to1 $< | awk '{ s = ""; for (i = 1; i <= NF; i++) s = s "\\" $$i; print "\"" s "\"" }'; \
	  printf '"";\nconst size_t report_$*_len = sizeof(report_$*) - 1;\n'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Unit tests: each links the remote-heap fixture (tests/unit/fixture.c).
UNIT_FIXTURE := $(BUILD)/tests/unit/fixture.o
.SECONDARY: $(UNIT_FIXTURE)
$(BUILD)/tests/%: tests/unit/%.c $(UNIT_FIXTURE) $(BUILD)/libcspy.a tests/harness.h tests/unit/fixture.h
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(UNIT_FIXTURE) $(BUILD)/libcspy.a $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libcspy.a
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libcspy.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libcspy.a
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcspy.a $(LDLIBS)

# One static binary: build-static/cspy. The static archives come with
# Debian's -dev packages (libelf-dev, libdw-dev, zlib1g-dev, libbz2-dev,
# liblzma-dev, libjansson-dev); a missing one is named before anything is compiled.
STATIC_ARCHIVES := libelf.a libdw.a libz.a libbz2.a liblzma.a libjansson.a libstdc++.a libc.a
static:
	$(Q)missing=; for a in $(STATIC_ARCHIVES); do \
	  p=$$($(CC) -print-file-name=$$a); [ "$$p" != "$$a" ] && [ -f "$$p" ] || missing="$$missing $$a"; \
	done; if [ -n "$$missing" ]; then \
	  echo "make static: no static library for:$$missing (Debian: apt-get install libelf-dev libdw-dev zlib1g-dev libbz2-dev liblzma-dev libjansson-dev)" >&2; exit 1; fi
	$(Q)$(MAKE) --no-print-directory STATIC=1 BUILD=build-static build-static/cspy

# aarch64 with Debian's cross toolchain: gcc-aarch64-linux-gnu and
# g++-aarch64-linux-gnu (libstdc++), with the arm64 -dev packages installed
# side by side (multiarch: dpkg --add-architecture arm64; libelf-dev:arm64
# libdw-dev:arm64 zlib1g-dev:arm64 libjansson-dev:arm64, and libbz2-dev:arm64 liblzma-dev:arm64
# for STATIC=1), found by pkg-config through their own .pc directory. The
# binary lands in build-aarch64/ (STATIC=1: build-aarch64-static/);
# CROSS_GOALS adds more of its targets (the tier builds unit tests so).
CROSS   ?= aarch64-linux-gnu-
CROSS_TRIPLET := $(patsubst %-,%,$(CROSS))
CROSS_BUILD := build-$(firstword $(subst -, ,$(CROSS)))$(if $(filter 1,$(STATIC)),-static)
cross:
	$(Q)command -v $(CROSS)gcc >/dev/null || { echo "make cross: no $(CROSS)gcc (Debian: apt-get install gcc-$(CROSS_TRIPLET) g++-$(CROSS_TRIPLET))" >&2; exit 1; }
	$(Q)[ -f /usr/lib/$(CROSS_TRIPLET)/pkgconfig/libdw.pc ] || { echo "make cross: no $(CROSS_TRIPLET) libdw (Debian: dpkg --add-architecture arm64 && apt-get update && apt-get install libelf-dev:arm64 libdw-dev:arm64 zlib1g-dev:arm64 libjansson-dev:arm64 libbz2-dev:arm64 liblzma-dev:arm64)" >&2; exit 1; }
	$(Q)PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS_TRIPLET)/pkgconfig:/usr/share/pkgconfig \
	  $(MAKE) --no-print-directory CC=$(CROSS)gcc OBJCOPY=$(CROSS)objcopy BUILD=$(CROSS_BUILD) $(CROSS_BUILD)/cspy $(CROSS_GOALS)

# The whole suite; its last line is "N passed, N failed".
test check: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh

# One target per tier of tests/run_all.sh, each ending with "N passed, N failed"
# (make bench-smoke, below, is the bench tier).
# unit: every build/tests/test_* and the layering check (tests/layering.py,
# also alone as make layering: no module includes one above it in
# docs/design.md's layers).
unit: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh unit

layering:
	$(Q)python3 tests/layering.py

linetables: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh linetables

# The output formats in their real consumers (tests/validate/).
validate: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh validate

# html: the HTML report in headless Chromium (tests/html/run.py).
html: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh html

# The end-to-end suites (tests/e2e/README.md): dump, the built-in tables vs
# the installed 3.13+ (drift), a minor newer than cspy knows (newer), record,
# top (in tmux), --native (native is the old name of e2e-native).
e2e: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh e2e

e2e-drift: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh drift

e2e-newer: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh newer

e2e-record: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh record

# -f pprof read by Google's pprof and npm pprof-format (tests/e2e/pprof.py).
e2e-pprof: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh pprof

# Google's pprof, built offline from Debian's golang-go and
# golang-github-google-pprof-dev into ~/.cache/cspy-tools (once per version).
pprof-tool:
	$(Q)tests/validate/pprof_tool.sh

e2e-top: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh top

e2e-stream: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh stream

# record/top --thread and --qualname (tests/e2e/names.py).
.PHONY: e2e-names
e2e-names: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh names

# cspy diff (tests/e2e/diff.py): two runs of a target with a known change.
.PHONY: e2e-diff
e2e-diff: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh diff

e2e-native native: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh native

# dump --core: cores made by gdb's gcore and by the kernel, every interpreter.
e2e-core: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh core

# cspy as a Python package: wheel and sdist of pyproject.toml's backend
# (build_backend/), built offline, installed into venvs and run from there.
e2e-pip: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh pip

# dump --async: asyncio tasks against oracles, every interpreter
# (tests/e2e/asyncio_tasks.py).
e2e-asyncio: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh asyncio

# make static's binary run from a root holding nothing but it (tests/e2e/static.py).
e2e-static: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh static

# -f gecko (Firefox Profiler) and -f pstats in their formats and readers
# (tests/e2e/gecko.py).
e2e-gecko: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh gecko

e2e-modes: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh modes
e2e-asyncrec: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh asyncrec

# record/top --memory against the target's own resident-size oracle (tests/e2e/memory.py).
e2e-memory: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh memory

e2e-split: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh split

# The aarch64 cross build checked (tests/cross.sh): built, an AArch64 ELF,
# and under qemu-user what needs no live process.
e2e-cross:
	$(Q)tests/run_all.sh cross

# Every fuzzer built (make fuzz) and run for FUZZ_SECONDS (8) each.
fuzz-run:
	$(Q)tests/run_all.sh fuzz

# The unit tests and the end-to-end suites again under ASan + UBSan
# (builds build-san/).
san:
	$(Q)tests/run_all.sh san

# The test interpreters pyenv and this machine do not have (tests/pythons.sh):
# a Debian unstable root with its 3.13, 3.14, 3.14-dbg and 3.15, and 3.14t,
# 3.15t and a shared 3.15 built from source, cached outside the checkout
# (CSPY_PYTHONS, default ~/.cache/cspy-pythons). About 30 minutes once; then
# seconds. The e2e tiers find them there.
pythons:
	$(Q)tests/pythons.sh

# Build cspy and dump the stacks of the bundled example program.
example: $(BUILD)/cspy
	$(Q)BUILD=$(BUILD) examples/run_example.sh

# libFuzzer harnesses (clang): build-fuzz/fuzz_*; run e.g. build-fuzz/fuzz_pyproc -max_total_time=60
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
FUZZ_CFLAGS := -g -O1 -fsanitize=address,undefined -std=c11 -D_GNU_SOURCE -Isrc \
              $(shell pkg-config --cflags $(PKGS))
FUZZ_FLAGS := $(FUZZ_CFLAGS) -fsanitize=fuzzer
# The library is compiled once for every harness (instrumented, without
# libFuzzer's main), each harness then linked against those objects.
FUZZ_OBJ := $(patsubst %.c,build-fuzz/obj/%.o,$(filter-out src/cli/%,$(LIB_SRC)) $(GEN_SRC))
fuzz: $(FUZZ_BIN)
build-fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,FUZZCC,$<)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
build-fuzz/%: fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)clang $(FUZZ_FLAGS) -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

# Benchmarks (bench/README.md): the full run takes 20-30 minutes and writes
# bench/results/bench.md (and dump.md); BENCH_SMOKE=1 make bench, or make
# bench-smoke, is a 1-2 minute check that every case still runs (results in a
# temporary directory; the last line is "N passed, N failed").
bench: $(BUILD)/cspy $(BENCH_BIN)
ifeq ($(BENCH_SMOKE),1)
	$(Q)BUILD=$(BUILD) python3 bench/run.py --smoke
else
	$(Q)BUILD=$(BUILD) python3 bench/run.py
endif

bench-smoke: $(BUILD)/cspy $(BENCH_BIN)
	$(Q)BUILD=$(BUILD) python3 bench/run.py --smoke

# The man pages: `cspy manpage [COMMAND]` writes each from the command's
# --help text. Their date is SOURCE_DATE_EPOCH's (the last commit's by
# default; none outside git), so a rebuild gives the same pages.
MAN_PAGES := cspy cspy-record cspy-top cspy-dump cspy-report
MAN_PAGES += cspy-diff
MAN_FILES := $(MAN_PAGES:%=$(BUILD)/man/%.1)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
.PHONY: man deb e2e-deb
man: $(MAN_FILES)
$(BUILD)/man/%.1: $(BUILD)/cspy
	@mkdir -p $(@D)
	$(call msg,MAN,$@)
	$(Q)SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(BUILD)/cspy manpage $(patsubst cspy-%,%,$(filter-out cspy,$*)) > $@.tmp && mv $@.tmp $@

# The Debian package (packaging/deb/mkdeb.sh): the stripped binary, the man
# pages, the completions, copyright, changelog and README; Depends from
# dpkg-shlibdeps. Tested by make e2e-deb (dpkg -i/-r in a test root, lintian).
deb: $(BUILD)/cspy $(MAN_FILES)
	$(call msg,DEB,$(BUILD)/deb/)
	$(Q)BUILD=$(BUILD) VERSION=$(VERSION) SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) packaging/deb/mkdeb.sh >/dev/null

e2e-deb: all
	$(Q)BUILD=$(BUILD) tests/run_all.sh deb

# The binary, its man pages and its shell completions (`cspy completions
# SHELL`, written from the option tables of the binary being installed).
COMPLETIONS := $(DESTDIR)$(PREFIX)/share
install: $(BUILD)/cspy $(MAN_FILES)
	install -d $(DESTDIR)$(PREFIX)/bin $(COMPLETIONS)/bash-completion/completions \
		$(COMPLETIONS)/zsh/site-functions $(COMPLETIONS)/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/cspy $(DESTDIR)$(PREFIX)/bin/cspy
	install -m 644 $(MAN_FILES) $(DESTDIR)$(PREFIX)/share/man/man1/
	$(BUILD)/cspy completions bash > $(BUILD)/cspy.bash
	$(BUILD)/cspy completions zsh > $(BUILD)/_cspy
	$(BUILD)/cspy completions fish > $(BUILD)/cspy.fish
	install -m 644 $(BUILD)/cspy.bash $(COMPLETIONS)/bash-completion/completions/cspy
	install -m 644 $(BUILD)/_cspy $(COMPLETIONS)/zsh/site-functions/_cspy
	install -m 644 $(BUILD)/cspy.fish $(COMPLETIONS)/fish/vendor_completions.d/cspy.fish

clean:
	rm -rf build build-asan build-ubsan build-san build-fuzz build-nolibdw build-static build-deb \
		build-aarch64 build-aarch64-static

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_FIXTURE:.o=.d) $(FUZZ_OBJ:.o=.d)
