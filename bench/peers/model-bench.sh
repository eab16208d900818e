#!/usr/bin/env bash
# Forward-pass speed against llama.cpp's llama-bench, in one run: the same
# model file and thread count, pp512 (prefill) and tg128 (decode at batch 1),
# interleaved ROUNDS times (the machine may be shared), medians and ratios;
# our batch-8 decode against our batch 1, and batch-1 decode as a fraction of
# the machine's read bandwidth (`nucleus bench model` measures it).
#   bench/peers/model-bench.sh [MODEL...]
#   FORMATS="Q4_K_M Q4_0" bench/peers/model-bench.sh    the random-weight 1B model in those formats
#                                                         (bench/peers/make-1b-models.sh makes them)
# With neither, the default model. Several models: one table each, then a summary, one row per model.
# Env: THREADS (default: nproc), ROUNDS (default 3), BATCHES (our decode batches, default "1 8"),
#      NUCLEUS_BIN (default build/release/app/nucleus).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$NUCLEUS_ROOT"

models=("$@")
if [ ${#models[@]} -eq 0 ] && [ -n "${FORMATS:-}" ]; then
  mapfile -t models < <(bash bench/peers/make-1b-models.sh $FORMATS)
fi
[ ${#models[@]} -gt 0 ] || models=("$NUCLEUS_DEFAULT_MODEL")
threads="${THREADS:-$(nproc)}"
rounds="${ROUNDS:-3}"
batches="${BATCHES:-1 8}"
nucleus="${NUCLEUS_BIN:-build/release/app/nucleus}"
peer_bin="$(LLAMA_TARGETS="llama-bench" bash bench/peers/build-llama.sh)"
[ -x "$nucleus" ] || bash scripts/build.sh release nucleus >&2
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT

for i in "${!models[@]}"; do
  model="${models[$i]}"
  mkdir -p "$out/$i"
  echo "$model" > "$out/$i/model"
  cut -d' ' -f1-3 /proc/loadavg > "$out/$i/load_before"
  for r in $(seq 1 "$rounds"); do
    "$peer_bin/llama-bench" -m "$model" -p 512 -n 128 -t "$threads" -r 1 -o json > "$out/$i/llama-$r.json" 2>/dev/null
    # shellcheck disable=SC2086  # one --batches value per batch
    "$nucleus" bench model --model "$model" --threads "$threads" --repeats 1 --batches $batches --json \
      > "$out/$i/nucleus-$r.json" 2>/dev/null
  done
  cut -d' ' -f1-3 /proc/loadavg > "$out/$i/load_after"
done

python3 - "$out" "${#models[@]}" "$rounds" "$threads" "$(nproc)" <<'PY'
import json, os, statistics, sys
out, n_models, rounds, threads, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
med = statistics.median
summary = []
for i in range(n_models):
    d = os.path.join(out, str(i))
    read = lambda name: open(os.path.join(d, name)).read().strip()
    model = read("model")
    pp, tg, ours = [], [], []
    for r in range(1, rounds + 1):
        for test in json.load(open(os.path.join(d, f"llama-{r}.json"))):
            (pp if test["n_prompt"] > 0 else tg).append(test["avg_ts"])
        ours.append(json.load(open(os.path.join(d, f"nucleus-{r}.json"))))
    our_pp = med(o["prefill_tok_s"] for o in ours)
    dec = {b: med(o["decode_tok_s"][b] for o in ours) for b in ours[0]["decode_tok_s"]}
    print(f"\n{os.path.basename(model)}: {threads} threads, median of {rounds} interleaved rounds; "
          f"load average {read('load_before')} before, {read('load_after')} after ({cores} cores)")
    print(f"{'test':<22}{'nucleus tok/s':>14}{'llama.cpp tok/s':>17}{'ratio':>8}")
    print(f"{'pp512 (prefill)':<22}{our_pp:>14.1f}{med(pp):>17.1f}{our_pp / med(pp):>7.2f}x")
    print(f"{'tg128 (decode, b=1)':<22}{dec['1']:>14.1f}{med(tg):>17.1f}{dec['1'] / med(tg):>7.2f}x")
    for b in sorted(dec, key=int):
        if b != "1":
            print(f"{'decode, batch ' + b:<22}{dec[b]:>14.1f}{'':>17}{dec[b] / dec['1']:>7.2f}x our batch 1")
    row = dict(model=os.path.basename(model), pp=our_pp / med(pp), tg=dec["1"] / med(tg),
               b8=dec["8"] / dec["1"] if "8" in dec else None, bw=None)
    if "decode_bytes_per_token" in ours[0]:
        bytes_per_token = ours[0]["decode_bytes_per_token"]
        # The probe runs inside each round's `nucleus bench model`, so each round's decode is
        # divided by the bandwidth of the same minute (a shared machine drifts between minutes),
        # and the fraction is the median of the rounds'; llama.cpp's round r against the same probe.
        probes = [o["read_bandwidth_gb_s"] for o in ours]
        ours_bw = [o["decode_tok_s"]["1"] * bytes_per_token / 1e9 / bw for o, bw in zip(ours, probes)]
        llama_bw = [t * bytes_per_token / 1e9 / bw for t, bw in zip(tg, probes)]
        row["bw"] = med(ours_bw)
        print(f"batch-1 decode reads {bytes_per_token / 1e6:.1f} MB per token (weights + KV): "
              f"{dec['1'] * bytes_per_token / 1e9:.2f} GB/s (nucleus), {med(tg) * bytes_per_token / 1e9:.2f} GB/s "
              f"(llama.cpp); read bandwidth {min(probes):.2f}-{max(probes):.2f} GB/s over the rounds; "
              f"per round, the median: {100 * row['bw']:.0f}% (nucleus), {100 * med(llama_bw):.0f}% (llama.cpp)")
    summary.append(row)
if n_models > 1:
    print(f"\n{'model':<34}{'prefill x':>10}{'decode x':>10}{'b8 / b1':>9}{'of bandwidth':>14}")
    for s in summary:
        b8 = f"{s['b8']:.2f}x" if s["b8"] else "-"
        bw = f"{100 * s['bw']:.0f}%" if s["bw"] is not None else "-"
        print(f"{s['model']:<34}{s['pp']:>9.2f}x{s['tg']:>9.2f}x{b8:>9}{bw:>14}")
PY
