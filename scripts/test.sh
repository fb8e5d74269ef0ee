#!/usr/bin/env bash
# The whole test suite: the book built at the smoke scale and every page checked in headless Chromium,
# unit tests, and every chapter executed by nbval at the smoke scale.
# Needs MNIST under $GANLIB_DATA (default: ../shared/data, the offline copy beside the repository)
# and Chromium (installed by scripts/ensure_chromium.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure_chromium.sh
if [ -z "${GANLIB_DATA:-}" ] && [ -d ../shared/data/MNIST ]; then
  GANLIB_DATA=$(cd ../shared/data && pwd)
fi
export GANLIB_DATA=${GANLIB_DATA:?set GANLIB_DATA to a folder holding MNIST/raw (see README.md)}
export GANLIB_SCALE=smoke
export GANLIB_CACHE=${GANLIB_CACHE:-$(mktemp -d -t ganlib-test-cache.XXXXXX)}
start=$(date +%s)
bash scripts/build_book.sh
echo "book built at smoke scale in $(( $(date +%s) - start )) s; the browser check runs with the tests"
export GANLIB_BOOK_HTML=_build/html
exec .venv/bin/python -m pytest tests --nbval-lax book -p no:cacheprovider "$@"
