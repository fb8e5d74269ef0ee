#!/usr/bin/env bash
# The whole test suite: unit tests, then every chapter executed by nbval at the smoke scale.
# Needs MNIST under $GANLIB_DATA (default: ../shared/data, the offline copy beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${GANLIB_DATA:-}" ] && [ -d ../shared/data/MNIST ]; then
  GANLIB_DATA=$(cd ../shared/data && pwd)
fi
export GANLIB_DATA=${GANLIB_DATA:?set GANLIB_DATA to a folder holding MNIST/raw (see README.md)}
export GANLIB_SCALE=smoke
export GANLIB_CACHE=${GANLIB_CACHE:-$(mktemp -d -t ganlib-test-cache.XXXXXX)}
export MPLBACKEND=Agg
exec .venv/bin/python -m pytest tests --nbval-lax book -p no:cacheprovider "$@"
