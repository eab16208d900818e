#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs Nucleus on the
# default model. Extra arguments go to `nucleus generate`.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$NUCLEUS_ROOT"
bash scripts/install-deps.sh
model="$(bash scripts/fetch-model.sh)"
bash scripts/build.sh release
exec build/release/app/nucleus generate --model "$model" --chat --prompt "${1:-Write a haiku about the sea.}" "${@:2}"
