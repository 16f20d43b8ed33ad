#!/usr/bin/env bash
# Installs bwplan's build dependencies from Debian 12 packages, only those that are missing.
# Needs root (or sudo) when something must be installed; does nothing when all are present.
# Usage: install-deps.sh [run|test]; `test` adds headless Chromium for the report's browser test.
set -euo pipefail
packages=(g++ cmake make libcli11-dev nlohmann-json3-dev libfmt-dev libspdlog-dev catch2 python3)
if [ "${1:-}" = test ]; then
  packages+=(chromium fonts-dejavu-core)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bwplan: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
