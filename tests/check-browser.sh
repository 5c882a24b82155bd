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
# Debian 12 ships Node.js 18: the pinned playwright-core must accept it (and the Node.js that
# runs here), or `make check` fails on a fresh machine with "Playwright requires Node.js 20".
node -e '
const eng = require("./tests/browser/node_modules/playwright-core/package.json").engines.node;
const m = /^>=\s*(\d+)/.exec(eng || "");
const here = Number(process.versions.node.split(".")[0]);
if (!m) { console.error(`check-browser: FAIL: playwright-core engines "${eng}" not understood`); process.exit(1); }
for (const [what, major] of [["Debian 12 (Node.js 18)", 18], [`this machine (Node.js ${here})`, here]])
        if (major < Number(m[1])) {
                console.error(`check-browser: FAIL: playwright-core wants node ${eng}, not usable on ${what}`);
                process.exit(1);
        }
' || exit 1
exec node tests/browser/check-browser.mjs
