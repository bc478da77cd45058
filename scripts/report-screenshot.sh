#!/usr/bin/env bash
# Renders a kensa HTML report in headless Chromium and saves a screenshot,
# to look at the report as a person would.
#
#   scripts/report-screenshot.sh reports/index.html [out.png] [WIDTHxHEIGHT]
#
# Needs Debian's chromium package (apt-get install chromium). The page is
# self-contained, so the browser is started with its network features off.
set -euo pipefail
report=${1:?usage: report-screenshot.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]}
out=${2:-${report%.html}.png}
size=${3:-1400x1600}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "report-screenshot: chromium not found; apt-get install chromium" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="${size/x/,}" \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$report")" >/dev/null 2>&1
test -s "$out"
echo "$out"
