# mk/fuzz.mk: libFuzzer targets for the device adapters, the configuration loader, the
# command path and the signed link tokens; included by the top-level Makefile. `make fuzz`
# runs every target on the `fuzz:` line (tests/check-fuzz.sh runs the same list for 20 s
# each in `make check`, as many at a time as there are CPUs).
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
#   make fuzz-commands [FUZZ_SECONDS=20]   every command payload (JSON and form fields) on
#                                          the one command path, seeds in
#                                          tests/fuzz/corpus/commands/
#   make fuzz-tokens [FUZZ_SECONDS=20]     the signed ack and resident link tokens, seeds in
#                                          tests/fuzz/corpus/tokens/
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

FUZZ_COMMAND_SRCS := src/command.c src/rules.c src/roster.c src/alert.c src/jsonw.c $(FUZZ_CONFIG_SRCS)
FUZZ_TOKEN_SRCS   := src/token.c src/hmac.c src/util.c

.PHONY: fuzz fuzz-adapters fuzz-corpus-adapters fuzz-config fuzz-corpus-config fuzz-commands \
	fuzz-tokens

fuzz: fuzz-adapters fuzz-config fuzz-commands fuzz-tokens

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

$(FUZZ_BUILD)/fuzz-commands: tests/fuzz/fuzz-commands.c $(FUZZ_COMMAND_SRCS) $(FUZZ_ADAPTER_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-missing-field-initializers $(FUZZ_SANITIZE) -o $@ \
		tests/fuzz/fuzz-commands.c \
		$(FUZZ_COMMAND_SRCS) $(FUZZ_PKG_LIBS) -lm

fuzz-commands: $(FUZZ_BUILD)/fuzz-commands
	rm -rf $(FUZZ_BUILD)/corpus-commands
	mkdir -p $(FUZZ_BUILD)/corpus-commands $(FUZZ_BUILD)/artifacts
	cp tests/fuzz/corpus/commands/* $(FUZZ_BUILD)/corpus-commands/
	$(FUZZ_BUILD)/fuzz-commands -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-dict=tests/fuzz/commands.dict -artifact_prefix=$(FUZZ_BUILD)/artifacts/ \
		-print_final_stats=1 \
		$(FUZZ_BUILD)/corpus-commands

$(FUZZ_BUILD)/fuzz-tokens: tests/fuzz/fuzz-tokens.c $(FUZZ_TOKEN_SRCS) src/token.h src/hmac.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) -o $@ tests/fuzz/fuzz-tokens.c \
		$(FUZZ_TOKEN_SRCS) $(FUZZ_PKG_LIBS) -lcrypto -lm

fuzz-tokens: $(FUZZ_BUILD)/fuzz-tokens
	rm -rf $(FUZZ_BUILD)/corpus-tokens
	mkdir -p $(FUZZ_BUILD)/corpus-tokens $(FUZZ_BUILD)/artifacts
	cp tests/fuzz/corpus/tokens/* $(FUZZ_BUILD)/corpus-tokens/
	$(FUZZ_BUILD)/fuzz-tokens -max_total_time=$(FUZZ_SECONDS) -max_len=1024 \
		-artifact_prefix=$(FUZZ_BUILD)/artifacts/ -print_final_stats=1 \
		$(FUZZ_BUILD)/corpus-tokens
