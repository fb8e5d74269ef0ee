#!/usr/bin/env bash
# The browser check alone: build the book at the smoke scale (scripts/build_book.sh), then open every
# page in headless Chromium (tests/test_rendered_book.py). Screenshots go to _build/screenshots/.
# Extra arguments go to pytest, e.g. `bash scripts/check_book.sh -k vanilla`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/smoke_book.sh
exec .venv/bin/python -m pytest tests/test_rendered_book.py -p no:cacheprovider "$@"
