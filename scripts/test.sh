#!/usr/bin/env bash
# The whole test suite: the book built at the smoke scale and every page checked in headless Chromium,
# unit tests, and every chapter executed by nbval at the smoke scale.
# Needs MNIST under $GANLIB_DATA (default: ../shared/data, the offline copy beside the repository)
# and Chromium (installed by scripts/ensure_chromium.sh when missing).
#
# GANLIB_TEST_JOBS=2 (the default): the unit tests with the browser check, and the chapters under nbval,
# run as two pytest processes at once with one thread each (smoke-scale tensors are small: two processes
# on one core each finish sooner than one on two cores). GANLIB_TEST_JOBS=1: one pytest process, with
# the threads of $OMP_NUM_THREADS (what to use to check the numerics under 1 and 2 threads).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${GANLIB_TEST_JOBS:-2}
if [ "$jobs" = 2 ]; then
  export GANLIB_BUILD_JOBS=${GANLIB_BUILD_JOBS:-2}
fi
source scripts/smoke_book.sh
if [ "$jobs" = 1 ]; then
  exec .venv/bin/python -m pytest tests --nbval-lax book -p no:cacheprovider "$@"
elif [ "$jobs" != 2 ]; then
  echo "GANLIB_TEST_JOBS must be 1 or 2, got '$jobs'"; exit 2
fi
logs=$(mktemp -d)
start=$(date +%s)
OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests -p no:nbval -p no:cacheprovider "$@" > "$logs/unit" 2>&1 & unit=$!
OMP_NUM_THREADS=1 .venv/bin/python -m pytest --nbval-lax book -p no:cacheprovider "$@" > "$logs/book" 2>&1 & book=$!
status=0
wait $unit || status=$?
echo "== unit tests and the browser check (pytest tests):"
cat "$logs/unit"
wait $book || status=$?
echo "== every chapter under nbval (pytest --nbval-lax book):"
cat "$logs/book"
rm -rf "$logs"
echo "tests done in $(( $(date +%s) - start )) s (exit status $status)"
exit $status
