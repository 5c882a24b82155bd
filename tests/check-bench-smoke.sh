#!/usr/bin/env bash
# `make bench` end to end on a small registry (200 households, 2,000 events): the load
# generator starts private brokers and the real daemon and goes through every run (ceiling,
# sync normal and full, latency, a short soak in which the workers acknowledge alerts), on
# SQLite and, except under ASan (SANITIZE=1), on PostgreSQL (the column of a private server).
# Proves the tool works; asserts no timing.
set -eu
BUILD=${DOORWATCH_BUILD:-${BUILD:-build}}
out=$(mktemp -d "${TMPDIR:-/tmp}/doorwatch-bench-smoke-XXXXXX")
trap 'rm -rf "$out"' EXIT

# 8 s of soak: the first acks are due 2-15 s after an alert's first notification.
backends=sqlite,postgresql
[ "${SANITIZE:-}" = 1 ] || [ -n "${DOORWATCH_NO_PG:-}" ] && backends=sqlite
if ! "$BUILD/doorwatch-sim" bench --smoke --soak 8 --backends "$backends" -o "$out" \
        >"$out/table.txt" 2>"$out/log.txt"; then
        cat "$out/log.txt" "$out/table.txt"
        exit 1
fi
json=$(ls "$out"/bench-*.json)
for key in '"ceiling"' '"throughput_sync_normal"' '"throughput_sync_full"' '"latency"' \
        '"soak"' '"peak_rss_kb"' '"cpu"' '"daemon_read_syscalls_per_event"' \
        '"live_alerts_end"'; do
        grep -q "$key" "$json" || { echo "missing $key in $json"; cat "$json"; exit 1; }
done
grep -q '^throughput, sync normal, events/s' "$out/table.txt"
if [ "$backends" != sqlite ]; then
        grep -q '"database":[[:space:]]*"postgresql"' "$json" ||
                { echo "no postgresql column"; cat "$json"; exit 1; }
        grep -q '"database_server_cpu_us_per_event"' "$json" ||
                { echo "no database server CPU"; cat "$json"; exit 1; }
fi
# The workers' acks reached the daemon and none was refused; /metrics answered.
grep -Eq '"worker_acks":[[:space:]]*[1-9]' "$json" || { echo "no worker acks"; cat "$json"; exit 1; }
grep -Eq '"worker_commands_refused":[[:space:]]*0[,}[:space:]]' "$json" ||
        { echo "worker commands refused"; cat "$json"; exit 1; }
grep -Eq '"live_alerts_end":[[:space:]]*[0-9]' "$json" || { echo "no live alert count"; cat "$json"; exit 1; }
echo "bench smoke run: ok"
