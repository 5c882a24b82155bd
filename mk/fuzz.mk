# mk/fuzz.mk: libFuzzer targets for the device adapters and the configuration loader;
# included by the top-level Makefile. `make fuzz` runs every target on the `fuzz:` line
# (tests/check-fuzz.sh runs the same list for 20 s each in `make check`).
#
#   make fuzz-adapters [FUZZ_SECONDS=20]   build build-fuzz/fuzz-adapters and run it on a copy
#                                          of tests/fuzz/corpus/adapters/ (ASan + UBSan)
#   make fuzz-corpus-adapters              regenerate that seed corpus from the fixtures
#                                          listed in tests/fuzz/adapters-corpus.tsv
#   make fuzz-config [FUZZ_SECONDS=20]     config_load() on configuration directories (the
#                                          files of one, NUL-separated), seeds in
#                                          tests/fuzz/corpus/config/
#   make fuzz-corpus-config                regenerate those seeds from conf/ and the error
#                                          table of tests/unit/test-config.c
#
# The fuzzer compiles the library sources it needs directly, instrumented, with the same
# -Isrc and pkg-config flags as the Makefile. Findings (crash-*, leak-*, timeout-*) are
# written to build-fuzz/artifacts/; the run fails when there is one.

FUZZ_CC          ?= clang
FUZZ_BUILD       ?= build-fuzz
FUZZ_SECONDS     ?= 20
FUZZ_MAX_LEN     ?= 20480
FUZZ_PKG_CFLAGS   = $(or $(PKG_CFLAGS),$(shell pkg-config --cflags libcjson))
FUZZ_PKG_LIBS     = $(or $(PKG_LIBS),$(shell pkg-config --libs libcjson))
FUZZ_WARN         = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
FUZZ_CFLAGS       = $(FUZZ_WARN) -g -O1 -fno-omit-frame-pointer -Isrc $(FUZZ_PKG_CFLAGS)
FUZZ_SANITIZE     = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

FUZZ_ADAPTER_SRCS := $(wildcard src/adapters/*.c) src/event.c src/topic.c src/util.c
FUZZ_ADAPTER_HDRS := $(wildcard src/*.h src/adapters/*.h src/notify/*.h)
FUZZ_CONFIG_SRCS  := src/arena.c src/config.c src/config_load.c src/config_diag.c src/loader.c src/registry.c src/rosters.c src/settings.c src/hashmap.c src/notify/template.c $(FUZZ_ADAPTER_SRCS)
FUZZ_CONFIG_MAX_LEN ?= 65536
FUZZ_CMOCKA_LIBS   = $(or $(CMOCKA_LIBS),$(shell pkg-config --libs cmocka))

.PHONY: fuzz fuzz-adapters fuzz-corpus-adapters fuzz-config fuzz-corpus-config

fuzz: fuzz-adapters fuzz-config

$(FUZZ_BUILD)/fuzz-adapters: tests/fuzz/fuzz-adapters.c $(FUZZ_ADAPTER_SRCS) $(FUZZ_ADAPTER_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) -o $@ tests/fuzz/fuzz-adapters.c \
		$(FUZZ_ADAPTER_SRCS) $(FUZZ_PKG_LIBS) -lm

$(FUZZ_BUILD)/mkcorpus-adapters: tests/fuzz/fuzz-adapters.c $(FUZZ_ADAPTER_SRCS) $(FUZZ_ADAPTER_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_MKCORPUS -o $@ tests/fuzz/fuzz-adapters.c \
		$(FUZZ_ADAPTER_SRCS) $(FUZZ_PKG_LIBS) -lm

fuzz-corpus-adapters: $(FUZZ_BUILD)/mkcorpus-adapters
	rm -rf tests/fuzz/corpus/adapters
	mkdir -p tests/fuzz/corpus/adapters
	$(FUZZ_BUILD)/mkcorpus-adapters tests/fuzz/adapters-corpus.tsv tests/fuzz/corpus/adapters

fuzz-adapters: $(FUZZ_BUILD)/fuzz-adapters
	rm -rf $(FUZZ_BUILD)/corpus-adapters
	mkdir -p $(FUZZ_BUILD)/corpus-adapters $(FUZZ_BUILD)/artifacts
	cp tests/fuzz/corpus/adapters/* $(FUZZ_BUILD)/corpus-adapters/
	$(FUZZ_BUILD)/fuzz-adapters -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
		-dict=tests/fuzz/adapters.dict -artifact_prefix=$(FUZZ_BUILD)/artifacts/ \
		-print_final_stats=1 \
		$(FUZZ_BUILD)/corpus-adapters

$(FUZZ_BUILD)/fuzz-config: tests/fuzz/fuzz-config.c $(FUZZ_CONFIG_SRCS) $(FUZZ_ADAPTER_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) -o $@ tests/fuzz/fuzz-config.c \
		$(FUZZ_CONFIG_SRCS) $(FUZZ_PKG_LIBS) -lm

$(FUZZ_BUILD)/mkcorpus-config: tests/fuzz/fuzz-config.c tests/unit/test-config.c \
		$(FUZZ_CONFIG_SRCS) $(FUZZ_ADAPTER_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_MKCORPUS -o $@ tests/fuzz/fuzz-config.c \
		$(FUZZ_CONFIG_SRCS) $(FUZZ_PKG_LIBS) $(FUZZ_CMOCKA_LIBS) -lm

fuzz-corpus-config: $(FUZZ_BUILD)/mkcorpus-config
	rm -rf tests/fuzz/corpus/config
	mkdir -p tests/fuzz/corpus/config
	$(FUZZ_BUILD)/mkcorpus-config tests/fuzz/corpus/config

fuzz-config: $(FUZZ_BUILD)/fuzz-config
	rm -rf $(FUZZ_BUILD)/corpus-config
	mkdir -p $(FUZZ_BUILD)/corpus-config $(FUZZ_BUILD)/artifacts
	cp tests/fuzz/corpus/config/* $(FUZZ_BUILD)/corpus-config/
	$(FUZZ_BUILD)/fuzz-config -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_CONFIG_MAX_LEN) \
		-dict=tests/fuzz/config.dict -artifact_prefix=$(FUZZ_BUILD)/artifacts/ \
		-print_final_stats=1 \
		$(FUZZ_BUILD)/corpus-config
