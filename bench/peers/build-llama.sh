#!/usr/bin/env bash
# Builds the peers we measure against, llama.cpp's `llama-bench` and
# `llama-server`, plus `llama-quantize` and the shared libllama that the golden
# scripts load through llama-cpp-python (LLAMA_CPP_LIB_PATH=<bin dir>), from the
# llama.cpp source vendored in the llama-cpp-python sdist on PyPI, into
# $NUCLEUS_CACHE/peers (outside the repo: none of llama.cpp's source or
# binaries is committed). Idempotent; prints the bin dir.
# LLAMA_TARGETS narrows the build (e.g. "llama llama-quantize" for the goldens).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
peers="$NUCLEUS_CACHE/peers"
build="$peers/llama.cpp-build-$VERSION"
targets=(${LLAMA_TARGETS:-llama llama-quantize llama-bench llama-server})
outputs=()
for t in "${targets[@]}"; do
  if [ "$t" = llama ]; then outputs+=("$build/bin/libllama.so"); else outputs+=("$build/bin/$t"); fi
done
missing=0
for o in "${outputs[@]}"; do [ -e "$o" ] || missing=1; done
if [ "$missing" = 0 ]; then
  echo "$build/bin"; exit 0
fi
src="$(bash "$(dirname "$0")/fetch-llama-src.sh")"
log "building ${targets[*]} (Release, native, shared libraries)"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON >&2
cmake --build "$build" -j "$NUCLEUS_JOBS" --target "${targets[@]}" >&2
echo "$build/bin"
