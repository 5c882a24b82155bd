# doorwatch: one non-recursive Makefile. `make help` lists the targets.

PREFIX      ?= /usr/local
DESTDIR     ?=
CC          ?= cc
BUILD       ?= build
SANITIZE    ?=

PKGS        := libmosquitto libcjson libsystemd sqlite3 libpq libcurl libmicrohttpd libcrypto libqrencode libpng
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS      ?= -O2 -g
CFLAGS      += -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing -Isrc $(PKG_CFLAGS)
LDFLAGS     += -Wl,--as-needed -pthread
LDLIBS      := $(PKG_LIBS) -lm

ifeq ($(SANITIZE),1)
BUILD       := build-asan
CFLAGS      += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS     += -fsanitize=address,undefined
endif

LIB_SRCS    := $(filter-out src/main.c,$(wildcard src/*.c src/store/*.c src/adapters/*.c src/notify/*.c))
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB         := $(BUILD)/libdoorwatch.a

PROGRAMS    := $(BUILD)/doorwatchd $(BUILD)/doorwatchctl $(BUILD)/doorwatch-sim
UNIT_SRCS   := $(wildcard tests/unit/test-*.c)
UNIT_TESTS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
ITEST_SRCS  := $(wildcard tests/integration/test-*.c)
ITESTS      := $(ITEST_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
HARNESS_OBJ := $(BUILD)/tests/integration/harness.o $(BUILD)/tools/testbed.o
FAULT_SRCS  := $(wildcard tests/faults/fault-*.c)
FAULTS      := $(FAULT_SRCS:tests/faults/%.c=$(BUILD)/tests/faults/%)
# Test helpers shared by unit and integration tests (e.g. tests/lib/http-sink.c).
TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/lib/*.c))

.PHONY: all check check-faults unit integration demo bench fuzz install uninstall clean help format lint deps deb

all: $(PROGRAMS)

help:
	@echo "make              build doorwatchd, doorwatchctl, doorwatch-sim into $(BUILD)/"
	@echo "make check        install missing packages, build, run unit + integration tests"
	@echo "make check SANITIZE=1   the same under ASan/UBSan (build-asan/)"
	@echo "make check-faults the fault suite (tests/faults/: disk full, kill -9, broker restarts...)"
	@echo "make demo         private broker + daemon + example config, play a scenario, show alerts"
	@echo "make bench        benchmark against the broker's own ceiling (not part of check)"
	@echo "make fuzz         libFuzzer targets (clang)"
	@echo "make install      install (PREFIX=$(PREFIX) DESTDIR=...)"
	@echo "make deb          Debian package of the tracked files into build-deb/ (needs debhelper)"
	@echo "make format lint  clang-format in place / cppcheck"

deps:
	@tools/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/doorwatchd: $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/doorwatchctl: $(BUILD)/tools/doorwatchctl.o $(BUILD)/tools/ctl-list.o $(BUILD)/tools/ctl-notify.o \
                        $(BUILD)/tools/ctl-office.o $(BUILD)/tools/ctl.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/doorwatch-sim: $(BUILD)/tools/doorwatch-sim.o $(BUILD)/tools/sim-bench.o $(BUILD)/tools/bench-pg.o \
                        $(BUILD)/tools/bench-util.o $(BUILD)/tools/bench-registry.o $(BUILD)/tools/bench-report.o \
                        $(BUILD)/tools/sim-day.o $(BUILD)/tools/testbed.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(TESTLIB_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

# The library last: objects a test adds below (e.g. sim-day.o) use it too.
$(BUILD)/tests/integration/test-%: $(BUILD)/tests/integration/test-%.o $(HARNESS_OBJ) $(TESTLIB_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LIB),$^) $(LIB) $(LDLIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/faults/fault-%: $(BUILD)/tests/faults/fault-%.o $(HARNESS_OBJ) $(TESTLIB_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/faults/%.o: CFLAGS += -Itests/integration

# The whole-day tests play doorwatch-sim's simulated day.
$(BUILD)/tests/integration/test-rules-day: $(BUILD)/tools/sim-day.o

# The status page's files are embedded into www.o with .incbin.
$(BUILD)/src/www.o: $(wildcard src/www/*)

tests: $(PROGRAMS) $(UNIT_TESTS) $(ITESTS)

check: deps
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run

# Not under ASan: the suite measures the daemon as it ships (CI runs it in the normal pass).
check-faults: deps
	@$(MAKE) --no-print-directory $(PROGRAMS) $(FAULTS)
	@BUILD=$(BUILD) tests/faults/run

unit: $(UNIT_TESTS)
	@BUILD=$(BUILD) tests/run unit

integration: $(PROGRAMS) $(ITESTS)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run integration

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tools/demo

# BENCH_ARGS overrides the defaults, e.g. make bench BENCH_ARGS="-H 10000 --soak 600".
BENCH_ARGS  ?= --soak 30
bench: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/doorwatch-sim bench $(BENCH_ARGS)

format:
	clang-format -i $(wildcard src/*.[ch] src/*/*.[ch] tools/*.c tests/*/*.[ch])

lint:
	cppcheck --quiet --error-exitcode=1 --inline-suppr -Isrc --std=c11 src tools tests

# dpkg-buildpackage writes next to the source tree: build a copy of the tracked files in
# build-deb/ (outside $(BUILD), whose *.d files this Makefile includes).
deb:
	rm -rf build-deb && mkdir -p build-deb/doorwatch
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C build-deb/doorwatch
	cd build-deb/doorwatch && dpkg-buildpackage -us -uc -b
	@ls -l build-deb/*.deb

clean:
	rm -rf build build-asan build-deb

include mk/install.mk
include mk/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
