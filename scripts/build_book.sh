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
# Chapters run in the table of contents' order, later chapters reusing the checkpoints of earlier
# ones, except that the R1 chapter runs first: its short MNIST runs are the first epochs of the
# vanilla chapter's longer ones, which then go on from them (ganlib.runs.shorter_run).
chapters=$(.venv/bin/python -c 'import yaml; t = yaml.safe_load(open("_toc.yml")); print(" ".join(c["file"] + ".ipynb" for p in t["parts"] for c in p["chapters"]))')
chapters="book/r1.ipynb $(echo " $chapters " | sed 's# book/r1.ipynb # #')"
run_chapter() {  # execute one chapter into _build/src and say how long it took
  [ -f "$1" ] || return 0  # a chapter written in markdown is copied above
  echo "== executing $1 (scale: ${GANLIB_SCALE:-default})"
  local start=$(date +%s)
  .venv/bin/python -m papermill "$1" "_build/src/$1" --cwd book --kernel python3 --log-level WARNING
  echo "   $1 done in $(( $(date +%s) - start )) s"
}
run_lane() { for nb in "$@"; do run_chapter "$nb" || return 1; done; }
# GANLIB_BUILD_JOBS=2 (the default at the smoke scale, where a chapter is mostly imports and small
# tensors on one core): two lanes at once, each chapter after the chapters whose models it reuses
# (the MNIST GAN of the R1 and vanilla chapters: unrolled, MD-GAN); then the chapters not named in a
# lane (the samplers and results chapters, which reuse the lanes' models only), two at a time.
jobs=${GANLIB_BUILD_JOBS:-$([ "${GANLIB_SCALE:-}" = smoke ] && echo 2 || echo 1)}
two_lanes() {  # run the chapters of "$1" one after another beside those of "$2", one thread each
  local logs=$(mktemp -d) status=0
  OMP_NUM_THREADS=1 run_lane $1 > "$logs/a" 2>&1 & local pid_a=$!
  OMP_NUM_THREADS=1 run_lane $2 > "$logs/b" 2>&1 & local pid_b=$!
  wait $pid_a || status=1
  wait $pid_b || status=1
  cat "$logs/a" "$logs/b"
  rm -rf "$logs"
  [ $status = 0 ] || { echo "a chapter failed (its error is above)"; exit 1; }
}
if [ "$jobs" = 2 ]; then
  lane_a="book/r1.ipynb book/vanilla_gan.ipynb book/unrolled.ipynb book/mdgan.ipynb"
  lane_b="book/metrics.ipynb book/wgan.ipynb book/wgan_gp.ipynb book/toy_lab.ipynb"
  rest=($(for nb in $chapters; do case " $lane_a $lane_b " in *" $nb "*) ;; *) echo "$nb";; esac; done))
  two_lanes "$lane_a" "$lane_b"
  two_lanes "${rest[0]:-}" "${rest[*]:1}"
elif [ "$jobs" = 1 ]; then
  run_lane $chapters
else
  echo "GANLIB_BUILD_JOBS must be 1 or 2, got '$jobs'"; exit 2
fi
.venv/bin/jupyter-book build _build/src --path-output . --builder html -W --keep-going
echo "Book written to $(pwd)/_build/html/index.html"
