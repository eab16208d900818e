#!/usr/bin/env bash
# Builds the peers we measure against, llama.cpp's `llama-bench` and
# `llama-server`, from the llama.cpp source vendored in the llama-cpp-python
# sdist on PyPI, into $NUCLEUS_CACHE/peers (outside the repo: none of
# llama.cpp's source or binaries is committed). Idempotent; prints the bin dir.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
peers="$NUCLEUS_CACHE/peers"
build="$peers/llama.cpp-build-$VERSION"
if [ -x "$build/bin/llama-bench" ] && [ -x "$build/bin/llama-server" ]; then
  echo "$build/bin"; exit 0
fi
src="$(bash "$(dirname "$0")/fetch-llama-src.sh")"
log "building llama-bench and llama-server (Release, native)"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON >&2
cmake --build "$build" -j "$NUCLEUS_JOBS" --target llama-bench llama-server >&2
echo "$build/bin"
