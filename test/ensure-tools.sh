#!/usr/bin/env bash
# The tests drive real clients: oathtool (TOTP), zbarimg (QR codes), rsvg-convert
# (SVG to PNG for zbarimg) and Chromium (browser tests). Installs the missing
# Debian packages when run as root, as on a fresh CI machine.
set -euo pipefail
declare -A pkg=([oathtool]=oathtool [zbarimg]=zbar-tools [rsvg-convert]=librsvg2-bin [chromium]=chromium)
missing=()
for tool in "${!pkg[@]}"; do command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg[$tool]}"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing test tools: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing test tools; install the Debian packages: ${missing[*]}" >&2
  exit 1
fi
