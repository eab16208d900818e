#!/usr/bin/env bash
# Tokenizer speed: our encode (bench/tokenizer_bench.cc) against HF `tokenizers`
# on the same ~1 MiB of mixed text, same thread count (1: our encode is single-
# threaded, so RAYON_NUM_THREADS=1 for HF), and prints both plus the ratio.
#   scripts/bench-tokenizer.sh            builds build/release's tokenizer_bench first
#   BUILD_DIR=build/tok scripts/bench-tokenizer.sh
# The text: parity-corpus strings (scripts/golden/tokenizer_corpus.py) drawn
# with a fixed seed and joined until 1 MiB; the HF tokenizer is the one the
# golden script builds from the same GGUF vocabulary.
set -euo pipefail
source "$(dirname "$0")/common.sh"

build_dir="${BUILD_DIR:-$NUCLEUS_ROOT/build/release}"
if [[ -z "${BUILD_DIR:-}" ]]; then
  "$NUCLEUS_ROOT/scripts/build.sh" release tokenizer_bench >/dev/null
fi
bench="$build_dir/bench/tokenizer_bench"
[[ -x "$bench" ]] || { echo "bench-tokenizer.sh: $bench not found (build target tokenizer_bench)" >&2; exit 1; }
model="${NUCLEUS_TEST_MODEL:-$NUCLEUS_DEFAULT_MODEL}"
[[ -f "$model" ]] || { echo "bench-tokenizer.sh: model $model missing (scripts/fetch-model.sh)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
text="$work/bench_text.txt"

PYTHONPATH="$NUCLEUS_ROOT/scripts/golden" "$NUCLEUS_VENV/bin/python" - "$text" <<'PY'
import random, sys
from tokenizer_corpus import corpus
rng, strings, parts, size = random.Random(7), corpus(), [], 0
while size < (1 << 20):
    s = rng.choice(strings) + rng.choice([" ", "\n", "\n\n", ". "])
    parts.append(s)
    size += len(s.encode("utf-8"))
open(sys.argv[1], "w", encoding="utf-8", newline="").write("".join(parts))
PY

log "ours (bench/tokenizer_bench)"
NUCLEUS_BENCH_TEXT="$text" NUCLEUS_TEST_MODEL="$model" "$bench" --benchmark_format=json \
  --benchmark_out="$work/ours.json" --benchmark_out_format=json >/dev/null

log "HF tokenizers (RAYON_NUM_THREADS=1)"
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=true PYTHONPATH="$NUCLEUS_ROOT/scripts/golden" \
  "$NUCLEUS_VENV/bin/python" - "$model" "$text" "$work/ours.json" <<'PY'
import json, sys, time
from gen_tokenizer_golden import build_hf, read_vocab

model, text_path, ours_path = sys.argv[1:4]
text = open(text_path, encoding="utf-8", newline="").read()
nbytes = len(text.encode("utf-8"))
lines = text.splitlines(keepends=True)
hf = build_hf(*read_vocab(model))
hf.encode_special_tokens = True  # special-token text stays text, as in our bench

def best_mbps(fn, min_time=2.0):
    fn()  # warm-up (fills HF's word cache like ours)
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < min_time:
        t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t)
    return nbytes / best / 1e6

hf_whole = best_mbps(lambda: hf.encode(text, add_special_tokens=False))
hf_lines = best_mbps(lambda: hf.encode_batch(lines, add_special_tokens=False))
ours = {b["name"].split("/")[0]: b["bytes_per_second"] / 1e6 for b in json.load(open(ours_path))["benchmarks"]}
n_tokens = len(hf.encode(text, add_special_tokens=False).ids)
print(f"text: {nbytes} bytes, {len(lines)} lines, {n_tokens} tokens; 1 thread each (MB = 1e6 bytes)")
print(f"{'case':<34}{'ours MB/s':>11}{'HF MB/s':>11}{'ours/HF':>9}")
for name, mine, theirs in [("whole text, one encode", ours["BM_EncodeWhole"], hf_whole),
                           ("per line (HF encode_batch)", ours["BM_EncodeLines"], hf_lines)]:
    print(f"{name:<34}{mine:>11.2f}{theirs:>11.2f}{mine / theirs:>9.2f}")
print(f"{'ours, whole text, cold word cache':<34}{ours['BM_EncodeWholeColdCache']:>11.2f}")
PY
