#!/usr/bin/env bash
# Runs a Raft scenario with --report and takes a headless Chromium screenshot of the page,
# to look at the report as a reader would. Usage: reports/screenshot.sh [SCENARIO] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/raft/leader-crash.ron}"
[ -f "$scenario" ] || scenario=scenarios/echo/ping-storm.ron
out="${2:-target/report-screenshot}"
if ! command -v chromium >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" cargo run --release -q -- run "$scenario" --report "$out/report" >/dev/null || true
test -f "$out/report/index.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --screenshot="$out/screenshot.png" --window-size=1280,9000 \
    "file://$(realpath "$out/report/index.html")" 2>/dev/null
echo "$out/screenshot.png"
