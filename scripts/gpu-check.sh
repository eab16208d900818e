#!/usr/bin/env bash
# For someone with an NVIDIA GPU: builds the CUDA flavour and checks on the device
# everything that CI (no GPU) can only compile. Run from anywhere:
#   scripts/gpu-check.sh            # all steps
#   NUCLEUS_JOBS=8 scripts/gpu-check.sh
# Steps (each prints PASS / FAIL; the exit code is 1 if any step FAILs):
#   1. build        scripts/build.sh cuda (archs 80;86;89;90, or CMAKE_CUDA_ARCHITECTURES from the env)
#   2. device       nvidia-smi and the binary's own cuda_available()
#   3. tests        every test on both devices; no CUDA case may be skipped on a GPU machine
#   4. sampler      same tokens as the CPU and the float64 reference for the same seeds
#                   (SamplerDeviceTest.*/cuda, logits with clear margins)
#   5. logits       CUDA vs CPU logits of the default model: top-1 agreement and max |diff|
#                   (engine_tests ModelReference* with NUCLEUS_TEST_DEVICE=cuda)
#   6. engine       the engine on CUDA: EngineDevice.SameRequestsOnCpuAndCuda (greedy, penalties,
#                   top-p, n = 2, speculation), then `nucleus generate --device cpu|cuda` on three
#                   prompts (greedy and seeded) and `--device auto`, compared with the CPU's text
#   7. bench        `nucleus bench model` and `bench offline` on each device
set -uo pipefail
source "$(dirname "$0")/common.sh"

dir="$NUCLEUS_ROOT/build/cuda"
model="${NUCLEUS_TEST_MODEL:-$NUCLEUS_DEFAULT_MODEL}"
failed=0
pass() { printf 'PASS  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failed=1; }

log "1. build (CUDA flavour)"
if "$NUCLEUS_ROOT/scripts/build.sh" cuda; then pass "build"; else fail "build"; exit 1; fi

log "2. device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || fail "nvidia-smi"
probe="$("$dir/tests/kernels_tests" --gtest_filter='Devices/OpDeviceTest.RmsNormSwigluAdd/cuda' 2>&1)"
if grep -q "CUDA unavailable" <<<"$probe"; then
  fail "cuda_available() is false: $(grep -o 'CUDA unavailable.*' <<<"$probe" | head -1)"
  exit 1
fi
pass "a CUDA device is usable"

log "3. tests on both devices"
(cd "$dir" && ctest --output-on-failure -j "$NUCLEUS_JOBS") && pass "ctest" || fail "ctest"
for suite in kernels sampling engine; do
  out="$("$dir/tests/${suite}_tests" --gtest_filter='*/cuda:*CudaOpsMath*:*DeviceSelectionMath*:EngineDevice.Same*' 2>&1)"
  echo "$out" | tail -3
  if grep -q "SKIPPED" <<<"$out"; then fail "$suite: CUDA cases skipped on a GPU machine"; fi
  if grep -q "FAILED" <<<"$out"; then fail "$suite: CUDA cases failed"; else pass "$suite CUDA cases"; fi
done

log "4. sampler: same tokens for the same seeds"
if "$dir/tests/sampling_tests" --gtest_filter='Devices/SamplerDeviceTest.*' --gtest_repeat=3; then
  pass "CPU and CUDA draw the reference's tokens"
else
  fail "sampler tokens"
fi

log "5. logits: CUDA vs CPU on $model"
if [[ ! -f "$model" ]]; then
  fail "model $model missing (scripts/fetch-model.sh)"; exit 1
fi
for device in cpu cuda; do
  out="$(NUCLEUS_TEST_DEVICE=$device NUCLEUS_TEST_MODEL="$model" NUCLEUS_REQUIRE_MODEL=1 \
    "$dir/tests/engine_tests" --gtest_filter='ModelReference*' 2>&1)"; rc=$?
  grep -E "max \|logit diff\||top-1 agreement|greedy tokens equal|SKIPPED" <<<"$out"
  if [[ $rc -eq 0 ]]; then pass "reference logits on $device"; else fail "reference logits on $device"; echo "$out" | tail -20; fi
done

log "6. engine on CUDA"
"$dir/tests/engine_tests" --gtest_filter='EngineDevice.*' && pass "EngineDevice" || fail "EngineDevice"
prompts=(--prompt "The capital of France is" --prompt "def fibonacci(n):" --prompt "Once upon a time")
cpu="$("$dir/app/nucleus" generate -m "$model" "${prompts[@]}" -n 32 -t 0 --device cpu 2>/dev/null)"
gpu="$("$dir/app/nucleus" generate -m "$model" "${prompts[@]}" -n 32 -t 0 --device cuda 2>/tmp/gpu-check-generate.err)"
if [[ $? -ne 0 ]]; then fail "nucleus generate --device cuda failed:"; cat /tmp/gpu-check-generate.err
elif [[ "$cpu" == "$gpu" ]]; then pass "greedy text identical on CPU and CUDA"; else
  fail "greedy text differs (fp16 weights can flip a near-tie; inspect):"
  diff <(echo "$cpu") <(echo "$gpu") | head -20
fi
grep "device:" /tmp/gpu-check-generate.err
one="$("$dir/app/nucleus" generate -m "$model" --prompt "The capital of France is" -n 32 -t 0 --device cuda 2>/dev/null)"
[[ "$one" == "$("$dir/app/nucleus" generate -m "$model" --prompt "The capital of France is" -n 32 -t 0 --device cpu 2>/dev/null)" ]] &&
  pass "streamed greedy text identical" || fail "streamed greedy text differs"
s_cpu="$("$dir/app/nucleus" generate -m "$model" "${prompts[@]}" -n 16 -t 0.8 --seed 7 --repetition-penalty 1.2 --device cpu 2>/dev/null)"
s_gpu="$("$dir/app/nucleus" generate -m "$model" "${prompts[@]}" -n 16 -t 0.8 --seed 7 --repetition-penalty 1.2 --device cuda 2>/dev/null)"
[[ "$s_cpu" == "$s_gpu" ]] && pass "seeded, penalised samples identical" || {
  echo "INFO  seeded samples differ (expected when logits differ in fp16; step 4 is the exact check):"
  diff <(echo "$s_cpu") <(echo "$s_gpu") | head -10; }
auto="$("$dir/app/nucleus" generate -m "$model" --prompt hi -n 1 --device auto 2>&1 >/dev/null)"
grep -q "device: cuda (--device auto" <<<"$auto" && pass "--device auto picks CUDA" || fail "--device auto: $auto"

log "7. bench"
for device in cpu cuda; do
  echo "-- $device"
  "$dir/app/nucleus" bench model -m "$model" --device "$device" || fail "bench model on $device"
  "$dir/app/nucleus" bench offline -m "$model" --device "$device" --requests 32 --skip-sequential ||
    fail "bench offline on $device"
done

log "summary"
if [[ $failed == 0 ]]; then echo "gpu-check: no failures"; else echo "gpu-check: FAILURES above"; fi
exit $failed
