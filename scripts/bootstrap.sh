#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: a virtual environment with the pinned requirements,
# and the compiled translation catalogues. Re-installs only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:-requirements.txt}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed; '$PYTHON' is $("$PYTHON" --version 2>&1)." \
        "Run with PYTHON=python3.11 (or newer) in front of the command." >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv || {
        echo "error: could not create .venv; on Debian/Ubuntu install python3-venv first." >&2
        exit 2
    }
fi
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQUIREMENTS")"
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    touch "$stamp"
fi
.venv/bin/python scripts/compile_locales.py >/dev/null
