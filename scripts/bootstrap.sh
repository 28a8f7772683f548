#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: a virtual environment with the pinned requirements,
# and the compiled translation catalogues. Re-installs only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:-requirements.txt}"
PYTHON="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQUIREMENTS")"
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    touch "$stamp"
fi
.venv/bin/python scripts/compile_locales.py >/dev/null
