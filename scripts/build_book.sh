#!/usr/bin/env bash
# Execute every chapter with papermill (scale: $GANLIB_SCALE, else full on a GPU, cpu otherwise)
# into _build/src, then build the HTML book from those executed notebooks into _build/html
# with a strict Sphinx build (-W --keep-going). Notebooks in book/ stay without outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# MNIST: $GANLIB_DATA, else the offline copy beside the repository (as scripts/test.sh), else
# torchvision downloads it into ~/.cache/ganlib/data (needs internet)
if [ -z "${GANLIB_DATA:-}" ] && [ -d ../shared/data/MNIST ]; then
  export GANLIB_DATA=$(cd ../shared/data && pwd)
fi
export TQDM_DISABLE=1  # progress bars are for people running a chapter, not for the rendered page
rm -rf _build/src _build/html _build/.doctrees _build/jupyter_execute
mkdir -p _build/src/book
cp _config.yml _toc.yml _build/src/
cp book/*.md _build/src/book/
cp -r book/_ext _build/src/book/
# Chapters run in the table of contents' order: later chapters reuse the checkpoints of earlier ones.
chapters=$(.venv/bin/python -c 'import yaml; t = yaml.safe_load(open("_toc.yml")); print(" ".join(c["file"] + ".ipynb" for p in t["parts"] for c in p["chapters"]))')
for nb in $chapters; do
  [ -f "$nb" ] || continue  # a chapter written in markdown is copied above
  echo "== executing $nb (scale: ${GANLIB_SCALE:-default})"
  start=$(date +%s)
  .venv/bin/python -m papermill "$nb" "_build/src/$nb" --cwd book --kernel python3 --log-level WARNING
  echo "   done in $(( $(date +%s) - start )) s"
done
.venv/bin/jupyter-book build _build/src --path-output . --builder html -W --keep-going
echo "Book written to $(pwd)/_build/html/index.html"
