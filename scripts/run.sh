#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and serves the default model
# with the OpenAI-compatible API on http://127.0.0.1:8080 (Ctrl-C stops it).
# Extra arguments go to `nucleus serve` (e.g. --port 9000 --host 0.0.0.0).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$NUCLEUS_ROOT"
bash scripts/install-deps.sh
model="$(bash scripts/fetch-model.sh)"
bash scripts/build.sh release nucleus
cat <<'MSG'

Nucleus is starting on http://127.0.0.1:8080 (unless --host/--port say otherwise). Try, from another terminal:

  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"messages": [{"role": "user", "content": "Write a haiku about the sea."}], "max_tokens": 64}'

MSG
# Defaults through the environment, so the same options given as arguments win
# (CLI11 refuses an option given twice on the command line).
export NUCLEUS_MODEL="${NUCLEUS_MODEL:-$model}" NUCLEUS_HOST="${NUCLEUS_HOST:-127.0.0.1}" NUCLEUS_PORT="${NUCLEUS_PORT:-8080}"
exec build/release/app/nucleus serve "$@"
