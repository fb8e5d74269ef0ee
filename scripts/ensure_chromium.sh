#!/usr/bin/env bash
# Make sure headless Chromium is there for the browser check (tests/test_rendered_book.py):
# Debian's package `chromium`, installed when missing (as root, or through sudo without a password).
# GANLIB_CHROMIUM=/path/to/chromium uses another build instead.
set -euo pipefail
if [ -n "${GANLIB_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
packages="chromium fonts-dejavu-core"  # fonts: the screenshots show text, not boxes
if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo"
else
  echo "Chromium is missing and this user cannot install it: run 'sudo apt-get install $packages'" \
       "(Debian/Ubuntu), or set GANLIB_CHROMIUM to a Chromium or Chrome binary." >&2
  exit 1
fi
echo "Installing Debian's Chromium for the browser check ($packages)..."
$as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $packages >/dev/null
chromium --version
