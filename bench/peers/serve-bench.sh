#!/usr/bin/env bash
# Serving benchmark against llama.cpp's llama-server, in one run: both servers
# on the same model and thread count, the same workload from
# `nucleus bench serve`, at concurrency 1 and 16 (override with CONCURRENCY).
#   bench/peers/serve-bench.sh [MODEL]
# Env: THREADS (default: nproc), REQUESTS (default 32), INPUT_LEN (128), OUTPUT_LEN (64),
#      NUCLEUS_BIN (default build/release/app/nucleus),
#      NUCLEUS_SERVE_ARGS (more options for `nucleus serve`, e.g. "--max-batched-tokens 128").
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$NUCLEUS_ROOT"

model="${1:-$NUCLEUS_DEFAULT_MODEL}"
threads="${THREADS:-$(nproc)}"
requests="${REQUESTS:-32}"
input_len="${INPUT_LEN:-128}"
output_len="${OUTPUT_LEN:-64}"
nucleus="${NUCLEUS_BIN:-build/release/app/nucleus}"
read -r -a concurrencies <<< "${CONCURRENCY:-1 16}"
peer_bin="$(bash bench/peers/build-llama.sh)"
[ -x "$nucleus" ] || bash scripts/build.sh release nucleus >&2

pids=()
results=""
stop_servers() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
cleanup() {
  stop_servers
  [ -z "$results" ] || rm -rf "$results"
}
trap cleanup EXIT

wait_healthy() {  # url
  for _ in $(seq 1 600); do curl -sf "$1/health" >/dev/null && return 0; sleep 0.2; done
  echo "serve-bench: $1 did not become healthy" >&2; return 1
}

results="$(mktemp -d)"
for c in "${concurrencies[@]}"; do
  ctx=$(( c * (input_len + output_len + 16) ))
  "$peer_bin/llama-server" -m "$model" --host 127.0.0.1 --port 18181 -t "$threads" -np "$c" -c "$ctx" \
    --no-webui >/tmp/serve-bench-llama.log 2>&1 &
  pids+=($!)
  "$nucleus" serve --model "$model" --port 18182 --threads "$threads" --max-seqs "$(( c > 64 ? c : 64 ))" \
    --no-request-log ${NUCLEUS_SERVE_ARGS:-} >/tmp/serve-bench-nucleus.log 2>&1 &
  pids+=($!)
  wait_healthy http://127.0.0.1:18181; wait_healthy http://127.0.0.1:18182
  for who in nucleus llama; do
    port=18182; [ "$who" = llama ] && port=18181
    # Warm-up, then the measured run.
    "$nucleus" bench serve --url "http://127.0.0.1:$port" --concurrency "$c" --requests "$c" \
      --input-len "$input_len" --output-len 8 --seed 999 --label warmup >/dev/null 2>&1 || true  # other prompts: no cache hits
    "$nucleus" bench serve --url "http://127.0.0.1:$port" --concurrency "$c" --requests "$requests" \
      --input-len "$input_len" --output-len "$output_len" --label "$who c=$c" > "$results/$who,$c.json"
  done
  stop_servers
done

python3 - "$results" "$threads" "${concurrencies[@]}" <<PY
import json, os, sys
results, threads, cs = sys.argv[1], sys.argv[2], sys.argv[3:]
r = {name[:-5]: json.load(open(os.path.join(results, name))) for name in os.listdir(results)}
print(f"serving benchmark, {threads} threads, input ${input_len}, output ${output_len} tokens, ${requests} requests")
print(f"{'concurrency':>11} {'server':>8} {'out tok/s':>10} {'req/s':>7} {'TTFT med ms':>12} {'TPOT med ms':>12} {'ITL p99 ms':>11}")
for c in cs:
    for who in ("nucleus", "llama"):
        x = r[f"{who},{c}"]
        print(f"{c:>11} {who:>8} {x['output_throughput']:>10.1f} {x['request_throughput']:>7.2f} "
              f"{x['ttft_ms']['median']:>12.1f} {x['tpot_ms']['median']:>12.1f} {x['itl_ms']['p99']:>11.1f}")
    n, l = r[f"nucleus,{c}"], r[f"llama,{c}"]
    print(f"{c:>11} {'ratio':>8} {n['output_throughput']/l['output_throughput']:>10.2f}x "
          f"{'':>7} {n['ttft_ms']['median']/l['ttft_ms']['median']:>11.2f}x (TTFT: lower is better)")
PY
