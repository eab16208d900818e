#!/usr/bin/env bash
# Decode speed after a long cached context, against llama.cpp's llama-bench at
# the same depth (-d, n-depth), for each KV cache dtype: Nucleus's
# `bench model --context DEPTH --kv-cache-dtype T` at batch 1 and 8 beside
# `llama-bench -p 0 -n DECODE -d DEPTH -ctk T -ctv T` (batch 1), interleaved
# ROUNDS times (the machine may be shared), medians and ratios.
#   bench/peers/depth-bench.sh [MODEL]
# Env: DEPTH (default 4096), DECODE (default 32), DTYPES (default "f32 f16"),
#      THREADS (default: nproc), ROUNDS (default 1), NUCLEUS_BIN (default build/release/app/nucleus),
#      NO_PEER=1 (Nucleus only, without building llama-bench).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$NUCLEUS_ROOT"

model="${1:-$NUCLEUS_DEFAULT_MODEL}"
depth="${DEPTH:-4096}"
decode="${DECODE:-32}"
dtypes="${DTYPES:-f32 f16}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-1}"
nucleus="${NUCLEUS_BIN:-build/release/app/nucleus}"
peer_bin=""
[ "${NO_PEER:-0}" = 1 ] || peer_bin="$(bash bench/peers/build-llama.sh)"
[ -x "$nucleus" ] || bash scripts/build.sh release nucleus >&2
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

for r in $(seq 1 "$rounds"); do
  for t in $dtypes; do
    if [ -n "$peer_bin" ]; then
      "$peer_bin/llama-bench" -m "$model" -p 0 -n "$decode" -d "$depth" -ctk "$t" -ctv "$t" -t "$threads" -r 1 \
        -o json > "$out/llama-$t-$r.json" 2>/dev/null
    fi
    "$nucleus" bench model --model "$model" --threads "$threads" --repeats 1 --prompt-tokens 16 \
      --decode-tokens "$decode" --batches 1 8 --context "$depth" --kv-cache-dtype "$t" --json > "$out/nucleus-$t-$r.json"
  done
done

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$rounds" "$threads" "$depth" "$decode" "$dtypes" "$load_before" "$load_after" "$(nproc)" <<'PY'
import json, os, statistics, sys
out, rounds, threads, depth, decode, dtypes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].split()
load_before, load_after, cores = sys.argv[7], sys.argv[8], sys.argv[9]
med = statistics.median
print(f"decode after {depth} cached tokens ({decode} steps), {threads} threads, median of {rounds} interleaved "
      f"round(s); load average {load_before} before, {load_after} after ({cores} cores)")
print(f"{'KV dtype':<10}{'nucleus b=1':>13}{'nucleus b=8':>13}{'llama.cpp b=1':>15}{'ratio b=1':>11}")
for t in dtypes:
    ours = [json.load(open(os.path.join(out, f"nucleus-{t}-{r}.json"))) for r in range(1, rounds + 1)]
    b1 = med(o["decode_tok_s"]["1"] for o in ours)
    b8 = med(o["decode_tok_s"]["8"] for o in ours)
    peer = []
    for r in range(1, rounds + 1):
        path = os.path.join(out, f"llama-{t}-{r}.json")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            peer += [test["avg_ts"] for test in json.load(open(path))]
    if peer:
        print(f"{t:<10}{b1:>13.1f}{b8:>13.1f}{med(peer):>15.1f}{b1 / med(peer):>10.2f}x")
    else:
        print(f"{t:<10}{b1:>13.1f}{b8:>13.1f}{'-':>15}{'-':>11}")
PY
