#!/usr/bin/env bash
# The whole test suite: the book built at the smoke scale and every page checked in headless Chromium,
# unit tests, and every chapter executed by nbval at the smoke scale.
# Needs MNIST under $GANLIB_DATA (default: ../shared/data, the offline copy beside the repository)
# and Chromium (installed by scripts/ensure_chromium.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/smoke_book.sh
exec .venv/bin/python -m pytest tests --nbval-lax book -p no:cacheprovider "$@"
