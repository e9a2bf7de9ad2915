#!/usr/bin/env bash
# Screenshot of an HTML audit report with headless Chromium, for the report test and for a person
# checking the layout by eye.
#
#   scripts/report-screenshot.sh FILE.html OUT.png [WIDTH,HEIGHT]   # default 1400,3000
#
# Needs `chromium` (Debian: apt-get install -y chromium fonts-noto-cjk; without a CJK font the
# Chinese text renders as boxes). Exits 2 when chromium is missing, 1 when no PNG was written.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 FILE.html OUT.png [WIDTH,HEIGHT]" >&2
  exit 64
fi
html=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1400,3000}

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "report-screenshot: chromium is not installed (apt-get install -y chromium fonts-noto-cjk)" >&2
  exit 2
fi

# A throw-away profile: parallel runs must not share one, and nothing is left in $HOME.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"

# --no-sandbox: tests run as root in CI. The report has no scripts and no network assets, so the
# page is complete at load; timeout guards against a browser that never exits.
timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
  --no-first-run --no-default-browser-check --disable-extensions --user-data-dir="$profile" \
  --window-size="$size" --screenshot="$out" "file://$html" >"$profile/chromium.log" 2>&1 || {
  status=$?
  echo "report-screenshot: chromium failed (exit $status):" >&2
  tail -20 "$profile/chromium.log" >&2
  exit 1
}

if [ ! -s "$out" ]; then
  echo "report-screenshot: chromium wrote no screenshot to $out" >&2
  tail -20 "$profile/chromium.log" >&2
  exit 1
fi
echo "$out"
