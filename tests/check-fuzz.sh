#!/usr/bin/env bash
# Smoke run of every libFuzzer target (ASan + UBSan) from its seed corpus, FUZZ_SECONDS each
# (default 20). Longer runs: make fuzz FUZZ_SECONDS=600.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
targets=$(sed -n 's/^fuzz: *//p' mk/fuzz.mk)
for t in $targets; do
        log=$(mktemp)
        if ! make -s --no-print-directory "$t" FUZZ_SECONDS="$secs" >"$log" 2>&1; then
                cat "$log"
                echo "check-fuzz: $t found a problem (see build-fuzz/artifacts/)"
                exit 1
        fi
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        echo "check-fuzz: $t: ${runs:-?} runs in ${secs}s, no findings"
        rm -f "$log"
done
