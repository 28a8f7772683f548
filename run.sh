#!/usr/bin/env bash
# Install what is needed and start the bot (SQLite by default, settings from .env).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh requirements.txt
exec .venv/bin/python bot.py "$@"
