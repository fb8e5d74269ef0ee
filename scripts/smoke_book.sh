# Sourced by scripts/test.sh and scripts/check_book.sh (not run on its own): set up .venv and
# Chromium, point GANLIB_DATA at MNIST (default: ../shared/data, the offline copy beside the
# repository), build the book at the smoke scale into _build/html and export GANLIB_BOOK_HTML
# for the browser check (tests/test_rendered_book.py).
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
echo "book built at smoke scale in $(( $(date +%s) - start )) s"
export GANLIB_BOOK_HTML=_build/html
