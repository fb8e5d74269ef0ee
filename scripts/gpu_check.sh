#!/usr/bin/env bash
# On a machine with a CUDA GPU: check the course's full-scale path in one short run
# (scripts/gpu_check.py: throughput against the lab template, the vanilla chapter's run at full,
# a few WGAN-GP epochs, a GPU checkpoint resumed on the CPU, a stack of seeds) and print its JSON.
# MNIST comes from $GANLIB_DATA (or downloads, with internet). Extra arguments go to the script,
# e.g. --budget-s 300. Tested at the smoke scale on the CPU by tests/test_gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
exec "$PY" scripts/gpu_check.py --scale "${GANLIB_SCALE:-full}" "$@"
