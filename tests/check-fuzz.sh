#!/usr/bin/env bash
# Smoke run of every libFuzzer target (ASan + UBSan) from its seed corpus, FUZZ_SECONDS each
# (default 20), as many targets at a time as there are CPUs (2 on CI: four targets take
# 40 s, not 80). The fuzzers carry their own ASan/UBSan, so the ASan pass of `make check`
# (DOORWATCH_BUILD=build-asan) does not run them again. Longer runs: make fuzz
# FUZZ_SECONDS=600.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
case ${DOORWATCH_BUILD:-build} in
*asan*)
        echo "check-fuzz: skipped in the ASan pass (the fuzzers are ASan/UBSan builds; run once)"
        exit 0
        ;;
esac
targets=$(sed -n 's/^fuzz: *//p' mk/fuzz.mk)
jobs=$(nproc 2>/dev/null || echo 2)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# Build first, one at a time (make's own output would interleave).
for t in $targets; do
        if ! make -s --no-print-directory "build-fuzz/$t" >"$logs/$t.build" 2>&1; then
                cat "$logs/$t.build"
                echo "check-fuzz: $t does not build"
                exit 1
        fi
done
failed=0
run() {
        make -s --no-print-directory "$1" FUZZ_SECONDS="$secs" >"$logs/$1.log" 2>&1
        echo $? >"$logs/$1.rc"
}
running=0
for t in $targets; do
        run "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then
                wait -n || true
                running=$((running - 1))
        fi
done
wait
for t in $targets; do
        if [ "$(cat "$logs/$t.rc")" != 0 ]; then
                cat "$logs/$t.log"
                echo "check-fuzz: $t found a problem (see build-fuzz/artifacts/)"
                failed=1
                continue
        fi
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)
        echo "check-fuzz: $t: ${runs:-?} runs in ${secs}s, no findings"
done
[ "$failed" -eq 0 ]
