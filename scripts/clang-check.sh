#!/usr/bin/env bash
# Compiles every translation unit of a configured build (its compile_commands.json) with clang++
# -fsyntax-only: the fuzz targets are built with clang (fuzz/README.md), and code gcc accepts that
# clang refuses (e.g. a lambda capturing a structured binding, before clang 16) would otherwise
# break them unseen. Exit 0 when every file compiles (or clang++ is missing: said, skipped), 1 if
# one does not.
#
#   scripts/clang-check.sh [BUILD_DIR]    (default: build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-"$root/build"}
if ! command -v clang++ >/dev/null; then
  echo "clang-check.sh: clang++ not found: skipped (Debian package clang)" >&2
  exit 0
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "clang-check.sh: no $build/compile_commands.json: configure the build first" >&2
  exit 1
fi
python3 - "$build/compile_commands.json" "$(nproc 2>/dev/null || echo 2)" <<'PY'
import json, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
entries = json.load(open(sys.argv[1]))
def check(e):
    args = shlex.split(e["command"])
    out = ["clang++", "-fsyntax-only", "-Wno-unknown-warning-option"]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-c"):
            skip = a == "-o"
            continue
        out.append(a)
    r = subprocess.run(out, cwd=e["directory"], capture_output=True, text=True)
    return e["file"], r.returncode, r.stderr
failed = 0
with ThreadPoolExecutor(int(sys.argv[2])) as pool:
    for f, rc, err in pool.map(check, entries):
        if rc != 0:
            failed += 1
            print(f"clang-check.sh: {f} does not compile with clang++:\n{err}", file=sys.stderr)
print(f"clang-check.sh: {len(entries) - failed} of {len(entries)} files compile with clang++")
sys.exit(1 if failed else 0)
PY
