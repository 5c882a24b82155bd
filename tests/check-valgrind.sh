#!/usr/bin/env bash
# Valgrind's memcheck over the normal build (ASan/UBSan is the other pass, make check
# SANITIZE=1): every unit test, then integration tests with the real doorwatchd under
# valgrind (DOORWATCH_VALGRIND=1: the harness wraps the daemon, stops it with SIGTERM and
# fails on valgrind's exit code 99). An invalid read or write, a use of an uninitialised
# value, a bad free or a definite or indirect leak fails the check; the report is printed.
# Skipped under SANITIZE=1 (valgrind cannot run ASan binaries) and when valgrind is missing.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-${DOORWATCH_BUILD:-build}}
export DOORWATCH_BUILD=$BUILD DOORWATCH_SOURCE_DIR=$PWD
if [ "${SANITIZE:-}" = 1 ]; then
        echo "check-valgrind: skipped under SANITIZE=1 (valgrind cannot run ASan binaries)"
        exit 0
fi
if ! command -v valgrind >/dev/null; then
        echo "check-valgrind: FAIL: valgrind is not installed (tools/install-deps installs it)"
        exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
jobs=$(nproc 2>/dev/null || echo 2)
# The integration tests whose timing survives valgrind's slowdown (20-50x): the event path,
# commands, notifications, the HTTP server, the field (rounds, worker page) and the reports.
# test-escalation and test-rules-live assert step and pass timings that valgrind stretches.
INTEGRATION=${VALGRIND_INTEGRATION:-test-foundation test-commands test-notify test-http test-field test-report}

memcheck() { # name, command...
        local name=$1
        shift
        if valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
                --errors-for-leak-kinds=definite,indirect --track-origins=yes "$@" \
                >"$out/$name.log" 2>&1; then
                echo "ok $name"
        else
                echo "FAIL $name (exit $?)"
        fi
}
export -f memcheck
export out

start=$SECONDS
units=()
for t in "$BUILD"/tests/unit/test-*; do
        case $t in *.o | *.d) continue ;; esac
        [ -x "$t" ] && units+=("$t")
done
if [ ${#units[@]} -eq 0 ]; then
        echo "check-valgrind: FAIL: no unit tests in $BUILD/tests/unit (make check builds them)"
        exit 1
fi
printf '%s\n' "${units[@]}" |
        xargs -P "$jobs" -I{} bash -c 'memcheck "$(basename "$1")" "$1"' _ {} >"$out/units.txt"
failed=$(grep -c '^FAIL' "$out/units.txt")
for n in $(awk '/^FAIL/ { print $2 }' "$out/units.txt"); do
        echo "check-valgrind: $n:"
        grep -E '^==[0-9]+==|FAIL|failed' "$out/$n.log" | head -60
done
unit_s=$((SECONDS - start))

start=$SECONDS
n_int=0
for name in $INTEGRATION; do
        t=$BUILD/tests/integration/$name
        [ -x "$t" ] || { echo "check-valgrind: FAIL: $t is missing"; failed=$((failed + 1)); continue; }
        n_int=$((n_int + 1))
        t0=$SECONDS
        if DOORWATCH_VALGRIND=1 timeout --kill-after=10 600 "$t" >"$out/$name.log" 2>&1; then
                echo "check-valgrind: $name: clean ($((SECONDS - t0)) s)"
        else
                echo "check-valgrind: $name under valgrind:"
                grep -E '==[0-9]+==|FAIL|valgrind|harness' "$out/$name.log" | head -60
                failed=$((failed + 1))
        fi
done
int_s=$((SECONDS - start))

if [ "$failed" -ne 0 ]; then
        echo "check-valgrind: FAIL: $failed failed (${#units[@]} unit tests, $n_int integration tests run)"
        exit 1
fi
echo "check-valgrind: memcheck clean: ${#units[@]} unit tests (${unit_s} s), $n_int integration tests with doorwatchd under valgrind (${int_s} s)"
