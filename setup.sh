#!/usr/bin/env bash
# The README's two commands: `./setup.sh run` and `./setup.sh test`. Each installs whatever is
# missing (Debian 12 packages only), builds, then runs the default plan or the whole test suite.
# Works on a fresh machine where even make is not installed yet.
set -euo pipefail
cd "$(dirname "$0")"
case "${1:-}" in
  run | test) ;;
  *) echo "usage: ./setup.sh run|test" >&2; exit 2 ;;
esac
./scripts/install-deps.sh "$1"
exec make "$1"
