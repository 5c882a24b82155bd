#!/usr/bin/env bash
# make demo tells the same story at any hour: tools/demo played as if at several times of day
# (DOORWATCH_DEMO_AT: the simulator's clock, the daemon judging the events' own times) gives
# every door event of the scenario the same verdict and rule, the ones the scenario announces.
# At 08:52 the doctor's 09:00 window used to make the courier's hand-off and the garbage run
# "scheduled medical visit". Needs `make all` first (tests/run calls it after).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-${DOORWATCH_BUILD:-build}}
export BUILD
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

day=$(TZ=Asia/Shanghai date +%F)
# The door events' device, what, verdict and rule (the reason up to its first number).
verdicts() {
        awk -F'\t' '$2 ~ /^d-yjl-/ { r = $5; sub(/[0-9].*/, "", r); print $2 "\t" $3 "\t" $4 "\t" r }' "$1"
}
for at in 08:52 15:10 23:55; do
        DOORWATCH_DEMO_AT="${day}T${at}:00+08:00" tools/demo >"$out/demo-$at.txt" 2>&1 || {
                echo "check-demo: FAIL: tools/demo at $at"; tail -20 "$out/demo-$at.txt"; exit 1; }
        verdicts "$out/demo-$at.txt" >"$out/verdicts-$at.txt"
done
for want in $'d-yjl-0001-door\tdoor open\texpected\tdoorbell hand-off: ring' \
            $'d-yjl-0002-door\tdoor open\texpected\tworker w-yjl-' \
            $'d-yjl-0005-door\tdoor open\texpected\tpre-reported by the resident at' \
            $'d-yjl-0003-door\tdoor open\talert\tdoor opened with no scheduled visit' \
            $'d-yjl-0003-cam\tperson out\talert\tthe camera saw a person leave' \
            $'d-yjl-0005-door\ttamper tampered\talert\tdevice d-yjl-'; do
        for at in 08:52 15:10 23:55; do
                grep -qF "$want" "$out/verdicts-$at.txt" || {
                        echo "check-demo: FAIL: at $at no \"${want//$'\t'/ | }\""
                        cat "$out/verdicts-$at.txt"; exit 1; }
        done
done
for at in 15:10 23:55; do
        diff -u "$out/verdicts-08:52.txt" "$out/verdicts-$at.txt" || {
                echo "check-demo: FAIL: the verdicts at 08:52 and $at differ"; exit 1; }
done
echo "check-demo: the demo's $(wc -l <"$out/verdicts-08:52.txt") door events judged alike at 08:52, 15:10 and 23:55"
