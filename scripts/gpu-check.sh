#!/usr/bin/env bash
# For someone with an NVIDIA GPU: builds the CUDA flavour and checks on the device
# everything that CI (no GPU) can only compile, then prints one table of results.
# Run from anywhere:
#   scripts/gpu-check.sh
#   NUCLEUS_JOBS=8 NUCLEUS_CUDA_ARCHS=75 scripts/gpu-check.sh     # e.g. a T4
#   NUCLEUS_BENCH_MODEL=/path/7b.Q4_0.gguf scripts/gpu-check.sh     # a model big enough to judge bandwidth
# Steps (each records PASS, FAIL or INFO; the exit code is 1 if any step FAILs):
#   build       scripts/build.sh cuda
#   device      nvidia-smi, compute capability, the build's own cuda_available()
#   ctest       every test on both devices (NUCLEUS_TEST_DEVICE=cpu, then cuda), exit codes checked
#   cuda-cases  the */cuda cases of each suite: none may be skipped on a GPU machine
#   sanitizer   compute-sanitizer memcheck, racecheck and synccheck over the CUDA cases and EngineDevice.*
#   sampler     SamplerDeviceTest on both devices, three repeats
#   reference   the default model's logits on CUDA against llama.cpp's (model_tests ModelReference*)
#   engine      EngineDevice.* and EngineDevicePaths.*; `nucleus generate --device cuda` runs; --device auto picks CUDA; CPU vs
#               CUDA greedy text is printed for reading (fp16 weights may flip a near tie: never a FAIL)
#   e2e         tests/e2e/test_server.py --device cuda
#   stress      a CUDA server on a 400 MiB KV cache: 24+ concurrent requests with penalties, enough to need
#               1.5 caches (preemption must happen), a 7.7k-token prompt, then the KV cache empty, the server healthy, and GPU memory
#               after a second identical round within 64 MiB of the first (no growth per request)
#   bench       bench model and offline on each device; decode at batch 1 must read the fp16 weights at
#               >= 60% of the GPU's memory bandwidth (judged when they are >= 1 GB: smaller models are
#               bound by kernel launches, reported as INFO)
set -uo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "$0")/common.sh"

dir="$NUCLEUS_ROOT/build/cuda"
model="${NUCLEUS_TEST_MODEL:-$NUCLEUS_DEFAULT_MODEL}"
bench_model="${NUCLEUS_BENCH_MODEL:-$model}"
python="$NUCLEUS_VENV/bin/python"
work="$(mktemp -d /tmp/gpu-check.XXXXXX)"
names=()
results=()
notes=()
record() {  # record STEP RESULT NOTE
  names+=("$1")
  results+=("$2")
  notes+=("$3")
  printf '%-5s %-12s %s\n' "$2" "$1" "$3"
}
gpu_mem_used() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1; }
summary() {
  log "summary"
  printf '%-12s %-6s %s\n' "step" "result" "note"
  local i failed=0
  for i in "${!names[@]}"; do
    printf '%-12s %-6s %s\n' "${names[$i]}" "${results[$i]}" "${notes[$i]}"
    [[ "${results[$i]}" == FAIL ]] && failed=1
  done
  echo "logs: $work"
  return $failed
}

log "build (CUDA flavour)"
if "$NUCLEUS_ROOT/scripts/build.sh" cuda >"$work/build.log" 2>&1; then
  record build PASS "build/cuda"
else
  tail -30 "$work/build.log"
  record build FAIL "see $work/build.log"
  summary
  exit 1
fi

log "device"
mem_start="$(gpu_mem_used)"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,memory.used --format=csv || true
probe="$("$dir/tests/kernels_tests" --gtest_filter='Devices/OpDeviceTest.RmsNormSwigluAdd/cuda' 2>&1)"
if grep -q "CUDA unavailable" <<<"$probe"; then
  record device FAIL "$(grep -o 'CUDA unavailable.*' <<<"$probe" | head -1)"
  summary
  exit 1
fi
record device PASS "$(nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader | head -1); ${mem_start} MiB used"

log "ctest on both devices"
for device in cpu cuda; do
  if (cd "$dir" && NUCLEUS_TEST_DEVICE=$device NUCLEUS_TEST_MODEL="$model" NUCLEUS_REQUIRE_MODEL=1 \
      ctest --output-on-failure -j "$NUCLEUS_JOBS" >"$work/ctest-$device.log" 2>&1); then
    record "ctest-$device" PASS "$(grep -E 'tests passed' "$work/ctest-$device.log" | tail -1)"
  else
    record "ctest-$device" FAIL "$(grep -E 'tests passed|tests failed' "$work/ctest-$device.log" | tail -1); $work/ctest-$device.log"
  fi
done

log "CUDA cases of each suite"
cuda_filter='*/cuda:*CudaOpsMath*:*DeviceSelectionMath*:EngineDevice.*'
for suite in kernels sampling engine; do
  "$dir/tests/${suite}_tests" --gtest_filter="$cuda_filter" >"$work/cuda-$suite.log" 2>&1
  rc=$?
  tail -3 "$work/cuda-$suite.log"
  if [[ $rc -ne 0 ]]; then
    record "cuda-$suite" FAIL "exit $rc; $work/cuda-$suite.log"
  elif grep -q "SKIPPED" "$work/cuda-$suite.log"; then
    record "cuda-$suite" FAIL "CUDA cases skipped on a GPU machine"
  else
    record "cuda-$suite" PASS "$(grep -E '^\[  PASSED' "$work/cuda-$suite.log")"
  fi
done

log "compute-sanitizer"
if ! command -v compute-sanitizer >/dev/null; then
  record sanitizer FAIL "compute-sanitizer not found (it ships with the CUDA toolkit: add its bin/ to PATH)"
else
  for tool in memcheck racecheck synccheck; do
    bad=""
    for suite in kernels sampling engine; do
      filter='*/cuda:EngineDevice.*'
      compute-sanitizer --tool "$tool" --error-exitcode 99 "$dir/tests/${suite}_tests" --gtest_filter="$filter" \
        >"$work/sanitizer-$tool-$suite.log" 2>&1
      rc=$?
      [[ $rc -ne 0 ]] && bad+="$suite (exit $rc) "
    done
    if [[ -z "$bad" ]]; then record "$tool" PASS "kernels, sampling, engine CUDA cases"; else
      record "$tool" FAIL "$bad; $work/sanitizer-$tool-*.log"; fi
  done
fi

log "sampler: same tokens for the same seeds"
if "$dir/tests/sampling_tests" --gtest_filter='Devices/SamplerDeviceTest.*' --gtest_repeat=3 >"$work/sampler.log" 2>&1; then
  record sampler PASS "CPU and CUDA draw the float64 reference's tokens (3 repeats)"
else
  record sampler FAIL "$work/sampler.log"
fi

log "reference logits on CUDA: $model"
# The bound is the CPU's (2.5 logits from llama.cpp, top-1 agreement above a 0.5 margin): llama.cpp's
# 8-bit activation blocks put it ~0.6 from a float64 forward pass already, and CUDA's fp16 weights and
# activations sit far closer to float64 than that, so the same bound applies (docs/cuda.md).
if [[ ! -f "$model" ]]; then
  record reference FAIL "model $model missing (scripts/fetch-model.sh)"
else
  NUCLEUS_TEST_DEVICE=cuda NUCLEUS_TEST_MODEL="$model" NUCLEUS_REQUIRE_MODEL=1 \
    "$dir/tests/model_tests" --gtest_filter='ModelReference*' >"$work/reference.log" 2>&1
  rc=$?
  grep -E "max \|logit diff\||top-1 agreement|SKIPPED" "$work/reference.log"
  figures="$(grep -oE 'overall max \|logit diff\| = [0-9.]+' "$work/reference.log" | head -1)"
  if [[ $rc -eq 0 ]] && ! grep -q SKIPPED "$work/reference.log"; then record reference PASS "$figures"; else
    record reference FAIL "exit $rc $figures; $work/reference.log"; fi
fi

log "engine on CUDA"
if "$dir/tests/engine_tests" --gtest_filter='EngineDevice.*:*EngineDevicePaths*' >"$work/engine.log" 2>&1 && ! grep -q SKIPPED "$work/engine.log"; then
  record engine PASS "EngineDevice.* and EngineDevicePaths"
else
  record engine FAIL "$work/engine.log"
fi
prompts=(--prompt "The capital of France is" --prompt "def fibonacci(n):" --prompt "Once upon a time")
cpu="$("$dir/app/nucleus" generate -m "$model" "${prompts[@]}" -n 32 -t 0 --device cpu 2>/dev/null)"
if gpu="$("$dir/app/nucleus" generate -m "$model" "${prompts[@]}" -n 32 -t 0 --device cuda 2>"$work/generate.err")"; then
  if [[ "$cpu" == "$gpu" ]]; then record generate PASS "greedy text identical on CPU and CUDA"; else
    record generate INFO "greedy text differs from the CPU's (expected at near ties: fp16 vs 8-bit blocks)"
    diff <(echo "$cpu") <(echo "$gpu") | head -20
  fi
else
  record generate FAIL "nucleus generate --device cuda: $(tail -1 "$work/generate.err")"
fi
auto="$("$dir/app/nucleus" generate -m "$model" --prompt hi -n 1 --device auto 2>&1 >/dev/null)"
if grep -q "device: cuda (--device auto" <<<"$auto"; then record auto PASS "--device auto picks CUDA"; else
  record auto FAIL "$(grep device: <<<"$auto")"; fi

log "e2e suite on CUDA"
if "$python" "$NUCLEUS_ROOT/tests/e2e/test_server.py" --nucleus "$dir/app/nucleus" --model "$model" --device cuda \
    >"$work/e2e.log" 2>&1; then
  record e2e PASS "$(tail -1 "$work/e2e.log")"
else
  grep -E "^FAIL" "$work/e2e.log" | head -10
  record e2e FAIL "$(tail -1 "$work/e2e.log"); $work/e2e.log"
fi

log "stress: long context and concurrent sequences with penalties and preemption"
cat >"$work/stress.py" <<'PY'
import concurrent.futures, json, sys, time, urllib.request
url = sys.argv[1]

def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)

def metric(name):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.split("{")[0].split(" ")[0] == name)

def one(i):
    body = {"prompt": f"Story {i}: once upon a time", "max_tokens": 160, "temperature": 0.8, "seed": i,
            "repetition_penalty": 1.1, "frequency_penalty": 0.3, "presence_penalty": 0.2, "ignore_eos": True}
    r = post("/v1/completions", body)
    assert r["choices"][0]["finish_reason"] == "length", r
    return r["usage"]["completion_tokens"]

# Enough sequences to need 1.5 times the cache (the KV block size is 16 tokens), so some must be preempted.
capacity = metric("nucleus:kv_cache_blocks_total") * 16
n = max(24, int(1.5 * capacity / 180) + 1)
preempt0 = metric("nucleus:num_preemptions_total")
with concurrent.futures.ThreadPoolExecutor(n) as pool:
    tokens = list(pool.map(one, range(n)))
assert tokens == [160] * n, tokens
preempted = metric("nucleus:num_preemptions_total") - preempt0
long_prompt = " ".join(f"item {i} is {i * 7 % 13}." for i in range(850))  # 7736 tokens for SmolLM2
r = post("/v1/completions", {"prompt": long_prompt, "max_tokens": 16, "temperature": 0})
n_prompt = r["usage"]["prompt_tokens"]
assert n_prompt > 7000 and r["usage"]["completion_tokens"] >= 1, r["usage"]
deadline = time.time() + 30
while metric("nucleus:kv_cache_blocks_used") != 0 and time.time() < deadline:
    time.sleep(0.2)
assert metric("nucleus:kv_cache_blocks_used") == 0, "KV blocks left in use"
print(json.dumps({"sequences": n, "preemptions": preempted, "long_prompt_tokens": n_prompt}))
assert preempted > 0, "no preemption: the KV cache was not small enough"
PY
port=$((20000 + RANDOM % 20000))
"$dir/app/nucleus" serve --model "$model" --device cuda --port "$port" --kv-cache-memory 400MiB --max-seqs 64 \
  --no-request-log >"$work/stress-server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.2
done
round1="$("$python" "$work/stress.py" "http://127.0.0.1:$port" 2>&1)"
rc1=$?
mem1="$(gpu_mem_used)"
round2="$("$python" "$work/stress.py" "http://127.0.0.1:$port" 2>&1)"
rc2=$?
mem2="$(gpu_mem_used)"
kill -TERM "$server" 2>/dev/null
wait "$server"
src=$?
echo "round 1: $round1"
echo "round 2: $round2"
if [[ $rc1 -ne 0 || $rc2 -ne 0 ]]; then
  record stress FAIL "$(tail -1 <<<"$round1$round2"); $work/stress-server.log"
elif [[ $src -ne 0 ]]; then
  record stress FAIL "server exit $src after SIGTERM"
elif ((mem2 - mem1 > 64)); then
  record stress FAIL "GPU memory grew from $mem1 to $mem2 MiB between identical rounds"
else
  record stress PASS "$(tail -1 <<<"$round1"); GPU memory ${mem1} -> ${mem2} MiB"
fi
mem_end="$(gpu_mem_used)"
if ((mem_end - mem_start > 64)); then record memory FAIL "${mem_start} MiB used before, ${mem_end} after every server exited"
else record memory PASS "${mem_start} MiB used before, ${mem_end} after"; fi

log "bench"
for device in cpu cuda; do
  if "$dir/app/nucleus" bench model -m "$bench_model" --device "$device" --batches 1 16 --json \
      >"$work/bench-model-$device.json" 2>"$work/bench-model-$device.err"; then
    record "bench-$device" INFO "$("$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("prefill %.0f tok/s, decode %s tok/s" % (d["prefill_tok_s"], {k: round(v) for k, v in d["decode_tok_s"].items()}))' "$work/bench-model-$device.json")"
  else
    record "bench-$device" FAIL "bench model: $(tail -1 "$work/bench-model-$device.err")"
  fi
  "$dir/app/nucleus" bench offline -m "$model" --device "$device" --requests 32 --skip-sequential \
    >"$work/bench-offline-$device.log" 2>&1 || record "offline-$device" FAIL "$work/bench-offline-$device.log"
done
# Bandwidth: decode at batch 1 reads every fp16 weight copy once per token.
verdict="$("$python" - "$bench_model" "$work/bench-model-cuda.json" <<'PY' 2>&1
import ctypes, ctypes.util, json, sys
import gguf
path, bench = sys.argv[1], sys.argv[2]
r = gguf.GGUFReader(path)
names = {t.name for t in r.tensors}
fp16_bytes = 2 * sum(int(t.n_elements) for t in r.tensors if len(t.shape) == 2 and
                     (t.name != "token_embd.weight" or "output.weight" not in names))
lib = ctypes.CDLL(ctypes.util.find_library("cudart") or "libcudart.so")
clock_khz, bus_bits = ctypes.c_int(), ctypes.c_int()
lib.cudaDeviceGetAttribute(ctypes.byref(clock_khz), 36, 0)  # cudaDevAttrMemoryClockRate
lib.cudaDeviceGetAttribute(ctypes.byref(bus_bits), 37, 0)   # cudaDevAttrGlobalMemoryBusWidth
peak = 2.0 * clock_khz.value * 1e3 * bus_bits.value / 8  # bytes/s, double data rate
tok_s = json.load(open(bench))["decode_tok_s"]["1"]
achieved = tok_s * fp16_bytes
share = achieved / peak if peak > 0 else 0.0
line = f"decode {tok_s:.0f} tok/s x {fp16_bytes / 1e9:.2f} GB = {achieved / 1e9:.0f} GB/s, {100 * share:.0f}% of {peak / 1e9:.0f} GB/s"
if fp16_bytes < 1e9:
    print("INFO " + line + " (model under 1 GB: launch-bound, not judged; set NUCLEUS_BENCH_MODEL)")
else:
    print(("PASS " if share >= 0.6 else "FAIL ") + line)
PY
)"
echo "$verdict"
case "$verdict" in
  PASS*) record bandwidth PASS "${verdict#PASS }" ;;
  INFO*) record bandwidth INFO "${verdict#INFO }" ;;
  *) record bandwidth FAIL "$(tail -1 <<<"$verdict")" ;;
esac

summary
