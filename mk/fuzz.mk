# mk/fuzz.mk: libFuzzer targets for the device adapters; included by the top-level Makefile.
#
#   make fuzz-adapters [FUZZ_SECONDS=20]   build build-fuzz/fuzz-adapters and run it on a copy
#                                          of tests/fuzz/corpus/adapters/ (ASan + UBSan)
#   make fuzz-corpus-adapters              regenerate that seed corpus from the fixtures
#                                          listed in tests/fuzz/adapters-corpus.tsv
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

FUZZ_ADAPTER_SRCS := $(wildcard src/adapters/*.c) src/event.c src/util.c
FUZZ_ADAPTER_HDRS := $(wildcard src/*.h src/adapters/*.h)

.PHONY: fuzz fuzz-adapters fuzz-corpus-adapters

fuzz: fuzz-adapters

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
