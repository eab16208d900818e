#!/usr/bin/env bash
# Forward-pass speed against llama.cpp's llama-bench, in one run: the same
# model file and thread count, pp512 (prefill) and tg128 (decode at batch 1),
# interleaved ROUNDS times (the machine may be shared), medians and ratios.
#   bench/peers/model-bench.sh [MODEL]
# Env: THREADS (default: nproc), ROUNDS (default 3), NUCLEUS_BIN (default build/release/app/nucleus).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$NUCLEUS_ROOT"

model="${1:-$NUCLEUS_DEFAULT_MODEL}"
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
nucleus="${NUCLEUS_BIN:-build/release/app/nucleus}"
peer_bin="$(bash bench/peers/build-llama.sh)"
[ -x "$nucleus" ] || bash scripts/build.sh release nucleus >&2
out="$(mktemp -d)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

for r in $(seq 1 "$rounds"); do
  "$peer_bin/llama-bench" -m "$model" -p 512 -n 128 -t "$threads" -r 1 -o json > "$out/llama-$r.json" 2>/dev/null
  "$nucleus" bench model --model "$model" --threads "$threads" --repeats 1 --json > "$out/nucleus-$r.json"
done

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$rounds" "$threads" "$load_before" "$load_after" "$(nproc)" <<'PY'
import json, os, statistics, sys
out, rounds, threads, load_before, load_after, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
pp, tg, ours = [], [], []
for r in range(1, rounds + 1):
    for test in json.load(open(os.path.join(out, f"llama-{r}.json"))):
        (pp if test["n_prompt"] > 0 else tg).append(test["avg_ts"])
    ours.append(json.load(open(os.path.join(out, f"nucleus-{r}.json"))))
med = statistics.median
our_pp = med(o["prefill_tok_s"] for o in ours)
dec = {b: med(o["decode_tok_s"][b] for o in ours) for b in ours[0]["decode_tok_s"]}
print(f"model bench, {threads} threads, median of {rounds} interleaved rounds; "
      f"load average {load_before} before, {load_after} after ({cores} cores)")
print(f"{'test':<22}{'nucleus tok/s':>14}{'llama.cpp tok/s':>17}{'ratio':>8}")
print(f"{'pp512 (prefill)':<22}{our_pp:>14.1f}{med(pp):>17.1f}{our_pp / med(pp):>7.2f}x")
print(f"{'tg128 (decode, b=1)':<22}{dec['1']:>14.1f}{med(tg):>17.1f}{dec['1'] / med(tg):>7.2f}x")
for b in sorted(dec, key=int):
    if b != "1":
        print(f"{'decode, batch ' + b:<22}{dec[b]:>14.1f}{'':>17}{dec[b] / dec['1']:>7.2f}x our batch 1")
wb = ours[0].get("weight_bytes")
if wb:
    print(f"weights read per decode step {wb / 1e6:.1f} MB: batch 1 decode streams {dec['1'] * wb / 1e9:.2f} GB/s "
          f"(nucleus), {med(tg) * wb / 1e9:.2f} GB/s (llama.cpp)")
PY
