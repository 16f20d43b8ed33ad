#!/usr/bin/env bash
# Renders the report of a B200-vs-B300 search of llama-3.1-70b in headless Chromium, then checks
# the rendered DOM (titles, sections, every listed plan's id) and a screenshot (not blank; the
# memory bars' and capacity lines' colours are on screen). Usage: check_report.sh BWPLAN OUTDIR
set -euo pipefail
bwplan=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "check_report: no chromium found (./setup.sh test installs Debian's chromium package)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
args=(search --model llama-3.1-70b --instance ml.p6-b200.48xlarge,ml.p6-b300.48xlarge --top 5)
"$bwplan" "${args[@]}" --format json --report "$out/report.html" >"$out/search.json"

# Chromium wants a writable home and no sandbox when run as root in a container.
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
       --no-first-run --user-data-dir="$out/profile" --window-size=1280,2400)
export HOME="$out"
timeout 60 "$browser" "${flags[@]}" --dump-dom "file://$out/report.html" >"$out/dom.html" 2>"$out/chromium-dom.log"
timeout 60 "$browser" "${flags[@]}" --screenshot="$out/report.png" "file://$out/report.html" \
  >/dev/null 2>"$out/chromium-shot.log"
python3 "$here/check_rendered.py" "$out/search.json" "$out/dom.html" "$out/report.png"
