#!/usr/bin/env bash
# Checks the hardening of systemd/doorwatchd.service: the exposure reported by
# `systemd-analyze security --offline=yes` must be at most 2.0 (DESIGN.md §8).
# Prints the figure; exits 0 when within the limit, 1 above it or on any error.
# Usage: tests/check-unit-security.sh [UNIT_FILE] ; MAX_EXPOSURE overrides 2.0.
set -euo pipefail
cd "$(dirname "$0")/.."
unit=${1:-systemd/doorwatchd.service}
max=${MAX_EXPOSURE:-2.0}

if ! command -v systemd-analyze >/dev/null; then
        echo "check-unit-security: FAIL: systemd-analyze not found (apt-get install systemd)" >&2
        exit 1
fi
out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || {
        # It exits non-zero for a unit it cannot load; with --threshold unset a
        # high exposure alone does not make it fail.
        printf '%s\n' "$out" >&2
        echo "check-unit-security: FAIL: systemd-analyze could not assess $unit" >&2
        exit 1
}
figure=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$figure" ]; then
        printf '%s\n' "$out" >&2
        echo "check-unit-security: FAIL: no exposure figure in the output above" >&2
        exit 1
fi
if awk -v f="$figure" -v m="$max" 'BEGIN { exit !(f + 0 > m + 0) }'; then
        printf '%s\n' "$out" | grep '✗' >&2 || true
        echo "check-unit-security: FAIL: $unit exposure $figure > $max (the ✗ lines above are what costs)" >&2
        exit 1
fi
echo "check-unit-security: $unit exposure $figure (limit $max): ok"
