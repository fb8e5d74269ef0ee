#!/usr/bin/env bash
# The browser check alone: build the book at the smoke scale (scripts/build_book.sh), then open every
# page in headless Chromium (tests/test_rendered_book.py). Screenshots go to _build/screenshots/.
# Extra arguments go to pytest, e.g. `bash scripts/check_book.sh -k vanilla`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure_chromium.sh
if [ -z "${GANLIB_DATA:-}" ] && [ -d ../shared/data/MNIST ]; then
  GANLIB_DATA=$(cd ../shared/data && pwd)
fi
export GANLIB_DATA=${GANLIB_DATA:?set GANLIB_DATA to a folder holding MNIST/raw (see README.md)}
export GANLIB_SCALE=smoke
export GANLIB_CACHE=${GANLIB_CACHE:-$(mktemp -d -t ganlib-book-cache.XXXXXX)}
bash scripts/build_book.sh
export GANLIB_BOOK_HTML=_build/html
exec .venv/bin/python -m pytest tests/test_rendered_book.py -p no:cacheprovider "$@"
