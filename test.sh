#!/usr/bin/env bash
# Install what is needed and run the whole test suite (lint, format check, pytest). Offline.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh requirements-dev.txt
.venv/bin/python -m ruff check .
.venv/bin/python -m ruff format --check .
exec .venv/bin/python -m pytest -q "$@"
