#!/usr/bin/env bash
# `make bench` end to end on a small registry (200 households, 2,000 events): the load
# generator starts private brokers and the real daemon and goes through every run (ceiling,
# sync normal and full, latency, a 1-second soak). Proves the tool works; asserts no timing.
set -eu
BUILD=${DOORWATCH_BUILD:-${BUILD:-build}}
out=$(mktemp -d "${TMPDIR:-/tmp}/doorwatch-bench-smoke-XXXXXX")
trap 'rm -rf "$out"' EXIT

if ! "$BUILD/doorwatch-sim" bench --smoke --soak 1 -o "$out" >"$out/table.txt" 2>"$out/log.txt"; then
        cat "$out/log.txt" "$out/table.txt"
        exit 1
fi
json=$(ls "$out"/bench-*.json)
for key in '"ceiling"' '"throughput_sync_normal"' '"throughput_sync_full"' '"latency"' \
        '"soak"' '"peak_rss_kb"' '"cpu"' '"daemon_read_syscalls_per_event"'; do
        grep -q "$key" "$json" || { echo "missing $key in $json"; cat "$json"; exit 1; }
done
grep -q '^throughput, sync normal, events/s' "$out/table.txt"
echo "bench smoke run: ok"
