#!/usr/bin/env bash
# The random-weight model of Llama-3.2-1B's shape (hidden 2048, 16 layers, FFN
# 8192, 32/8 heads, tied embeddings; scripts/golden/make_random_model.py
# llama1b) as F16, and its quantizations by llama.cpp's llama-quantize, in
# $NUCLEUS_CACHE/bench_models (outside the repo). Files already there are kept.
# Prints one path per format, in order.
#   bench/peers/make-1b-models.sh [FORMAT...]
# Env: BENCH_ARCH (default llama1b): another of make_random_model.py's BENCH_ARCHS, such as
#      qwen05b (Qwen2.5-0.5B's shape, whose 896-column matrices take llama-quantize's fallback types).
# Default formats: Q4_K_M Q5_K_M Q4_0 Q8_0 Q3_K_M Q2_K IQ4_XS Q6_K (llama-quantize's names).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$NUCLEUS_ROOT"

formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(Q4_K_M Q5_K_M Q4_0 Q8_0 Q3_K_M Q2_K IQ4_XS Q6_K)
dir="$NUCLEUS_CACHE/bench_models"
mkdir -p "$dir"
arch="${BENCH_ARCH:-llama1b}"
f16="$dir/$arch.f16.gguf"
if [ ! -s "$f16" ]; then
  log "writing $f16 (random weights; llama1b: 1.07 B, ~2.1 GB)"
  "$NUCLEUS_VENV/bin/python" scripts/golden/make_random_model.py "$arch" "$f16" --type f16 >&2
fi
bin="$(LLAMA_TARGETS="llama-quantize" bash bench/peers/build-llama.sh)"
for f in "${formats[@]}"; do
  out="$dir/$arch.$f.gguf"
  if [ ! -s "$out" ]; then
    log "quantizing to $f"
    # No importance matrix: the weights are random, so there is nothing to learn from one.
    "$bin/llama-quantize" "$f16" "$out.tmp" "$f" "$(nproc)" >&2
    mv "$out.tmp" "$out"  # never leave a half-written file under the final name
  fi
  echo "$out"
done
