#!/usr/bin/env bash
# Install what is needed and start the bot (SQLite by default, settings from .env);
# ./run.sh --web starts the web chat gateway instead.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh requirements.txt
if [ "${1:-}" = "--web" ]; then  # the web chat gateway instead of the bot (README, "Web chat")
    shift
    exec .venv/bin/python -m webchat "$@"
fi
exec .venv/bin/python bot.py "$@"
