#!/usr/bin/env bash
# Install the system packages `make demo` and `make test` need (bindep.txt:
# Debian's, of profile "test" or of none), on Debian/Ubuntu. Idempotent; quiet when all are present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(awk '/^[a-z0-9]/ && /platform:dpkg/ && (/[ []test[] ]/ || /\[platform:dpkg\]/) {print $1}' bindep.txt)
missing=()
for pkg in $packages; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "host-deps: install these packages first: ${missing[*]}" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "host-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
