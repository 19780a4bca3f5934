#!/usr/bin/env bash
# Build .venv-llamafactory (LLaMA-Factory 0.9.5 on CPU) from the pinned requirements.
# Run from the repository root: bash frameworks/llamafactory/install.sh
# torch==2.13.0 resolves to the CPU build here only because these machines' pip finds a
# local CPU wheel (2.13.0+cpu). Elsewhere PyPI gives the CUDA build, which --no-deps
# leaves without its nvidia-* libraries: first run
#   "$VENV/bin/pip" install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
# after the venv line below, then this script's install line.
set -euo pipefail
VENV=${VENV:-.venv-llamafactory}
python3.11 -m venv "$VENV"
"$VENV/bin/pip" install --no-deps -r frameworks/llamafactory/requirements.txt
# torchaudio's PyPI wheel is a CUDA build: without its .so files it imports as pure Python
rm -f "$VENV"/lib/python3.11/site-packages/torchaudio/lib/*.so
"$VENV/bin/python" -c "import llamafactory.data.template, llamafactory.train.tuner; print('llamafactory', llamafactory.__version__, 'ok')"
