#!/usr/bin/env bash
# Regenerates screenshots/ from the real binary: the wizard runs in a fresh Debian 12
# box (tests/freshbox/box.sh; root on Linux), driven through a pseudo-terminal; each
# screen is read from a vt100 emulation and written as an SVG with an exact grid.
# PNG copies are made too when rsvg-convert (Debian: librsvg2-bin) is installed.
#
#   sudo scripts/screenshots.sh            # writes screenshots/*.svg (and *.png)
#   SCREENSHOTS_DIR=/tmp/shots scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=${SCREENSHOTS_DIR:-$PWD/screenshots}
# Captured into a fresh directory, put in place only when every screen was captured.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
SCREENSHOTS_DIR=$tmp cargo test --test integration wizard_screenshots -- --ignored --nocapture --test-threads 1
if command -v rsvg-convert >/dev/null; then
  for f in "$tmp"/*.svg; do rsvg-convert "$f" -o "${f%.svg}.png"; done
else
  echo "(rsvg-convert not found: SVG only; apt-get install librsvg2-bin for PNG copies)" >&2
fi
mkdir -p "$out"
rm -f "$out"/*.svg "$out"/*.png
cp "$tmp"/* "$out"/
ls -1 "$out"
