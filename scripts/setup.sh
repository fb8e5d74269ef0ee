#!/usr/bin/env bash
# Create .venv (once) and install ganlib with the book and test extras, pinned by constraints.txt.
# Reinstalls only when pyproject.toml or constraints.txt changed. Used by test.sh and build_book.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "ganlib needs Python 3.10 or newer")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.ganlib-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # (grep drops pip's warnings about configured local index folders that some machines lack)
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[book,test]" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
  echo "$want" > "$stamp"
fi
.venv/bin/python -c 'import torch, torchvision, ganlib; print(f"ganlib {ganlib.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}, CUDA: {torch.cuda.is_available()}")'
