#!/usr/bin/env bash
# Browser check: headless Chromium (Debian's chromium, driven by playwright-core from npm,
# which downloads no browser) loads the status page and a one-tap acknowledge link, taps
# confirm, and the alert is acknowledged. Starts its own broker and daemon; see
# tests/browser/check-browser.mjs. Screenshots: $BUILD/screenshots/*.png.
# Needs `make all` first (tests/run is called after it). Exit 0 on success.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-${DOORWATCH_BUILD:-build}}
export BUILD

for cmd in node npm sqlite3 /usr/sbin/mosquitto "${CHROMIUM:-/usr/bin/chromium}"; do
        command -v "$cmd" >/dev/null || {
                echo "check-browser: FAIL: $cmd not found (tools/install-deps installs it)" >&2
                exit 1
        }
done
for b in doorwatchd doorwatch-sim; do
        [ -x "$BUILD/$b" ] || { echo "check-browser: FAIL: $BUILD/$b missing (make all)" >&2; exit 1; }
done
if [ ! -d tests/browser/node_modules/playwright-core ]; then
        # Exactly what package-lock.json pins; a registry package, no browser download.
        (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) || {
                echo "check-browser: FAIL: npm ci in tests/browser" >&2
                exit 1
        }
fi
exec node tests/browser/check-browser.mjs
