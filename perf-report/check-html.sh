#!/usr/bin/env bash
# Checks the HTML report in a real browser: runs the showcase twice, renders
# the second run with the first as its baseline, opens the page in headless
# Chromium (Debian's `chromium` package), fails on any console error or
# missing chart, and saves a screenshot (default: docs/src/images/report.png).
set -euo pipefail
cd "$(dirname "$0")/.."
shot=${1:-docs/src/images/report.png}
command -v chromium >/dev/null || { echo "needs Debian's chromium: apt-get install chromium" >&2; exit 2; }
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Start from the showcase's results alone.
rm -rf "$target/perf/open_model"
cargo test -q -p perf-examples --test open_model -- --test-threads=1 >/dev/null 2>&1
cp -r "$target/perf/open_model" "$work/before"
cargo test -q -p perf-examples --test open_model -- --test-threads=1 >/dev/null 2>&1
cargo run -q -p perf-report -- html "$target/perf/open_model" --baseline "$work/before" --out "$work/report" >/dev/null

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$work/profile" --enable-logging=stderr --v=0)
page="file://$work/report/index.html"
"${chrome[@]}" --window-size=1280,2200 --screenshot="$shot" "$page" 2>"$work/chrome.log"
if grep -E "CONSOLE|Uncaught|ERR_FILE|ERR_NAME" "$work/chrome.log"; then
    echo "console errors while rendering the report" >&2
    exit 1
fi
"${chrome[@]}" --dump-dom "$page" 2>/dev/null >"$work/dom.html"
tests=$(grep -o "<section>" "$work/dom.html" | wc -l)
charts=$(grep -o "<svg" "$work/dom.html" | wc -l)
# Latency by percentile, over time, and resources (Linux samples them).
if [ "$tests" -eq 0 ] || [ "$charts" -ne $((3 * tests)) ]; then
    echo "expected 3 charts per test, got $charts charts for $tests tests" >&2
    exit 1
fi
echo "ok: $tests tests, $charts charts, no console errors; screenshot: $shot"
