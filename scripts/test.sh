#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies,
# fetches the default model, then builds and tests every flavour, then checks the deployment
# (docker/) and runs the CPU Dockerfile's build stage in a fresh Debian 12 chroot. CI runs this.
#   NUCLEUS_FUZZ_SECONDS  time budget of each libFuzzer run (default 60)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$NUCLEUS_ROOT"

bash scripts/install-deps.sh
bash scripts/fetch-model.sh >/dev/null
bash bench/peers/fetch-llama-src.sh >/dev/null  # llama.cpp's example grammars and chat templates, read by the tests
# llama-quantize makes the quantized models of the architecture matrix (tests/model/architectures_test.cc).
LLAMA_TARGETS="llama-quantize" bash bench/peers/build-llama.sh >/dev/null
export NUCLEUS_TEST_MODEL="$NUCLEUS_DEFAULT_MODEL" NUCLEUS_REQUIRE_MODEL=1
# Cache keys with paths relative to the checkout and the compiler hashed by content: the chroot-check
# at the end (the Dockerfile's build stage, in /src/nucleus of a fresh root) then finds this
# machine's release objects in the cache instead of compiling all of them again.
export CCACHE_BASEDIR="$NUCLEUS_ROOT" CCACHE_NOHASHDIR=true CCACHE_COMPILERCHECK=content

# 1. Release build, warnings as errors; unit and model tests.
bash scripts/build.sh release
log "ctest (release)"
ctest --test-dir build/release --output-on-failure -j "$NUCLEUS_JOBS"

# 2. The same suites under AddressSanitizer + UndefinedBehaviorSanitizer.
bash scripts/build.sh asan
log "ctest (asan+ubsan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$NUCLEUS_JOBS" -E "ModelReference|ArchitectureMatrix"  # the model-vs-llama.cpp comparisons run in release only: they are the slowest suites, and their kernels are already covered under ASan by kernels_tests

# 3. ThreadSanitizer on the suites that start threads: the engine thread and its callers, the
#    HTTP server (its pool and listener), the kernel thread pool. Must stay clean.
bash scripts/build.sh tsan engine_tests server_tests kernels_tests
log "tsan: engine, server and thread-pool tests"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
# The tests on the real model are left out: ten times slower under TSan, their waits time out, and
# the tiny-model suites drive the same threads.
build/tsan/tests/engine_tests --gtest_brief=1 --gtest_filter='-EngineOnModel.*:*/EngineOnModelKv.*:SpeculativeIdentity.*'
build/tsan/tests/server_tests --gtest_brief=1
build/tsan/tests/kernels_tests --gtest_brief=1 --gtest_filter='ThreadPool*:*ThreadInvariant*:AttentionTest.*'
unset TSAN_OPTIONS

# 4. Fuzz the GGUF reader for a bounded time on the committed seed corpus.
bash scripts/build.sh fuzz gguf_fuzz
for fuzzer in build/fuzz/tests/*_fuzz; do
  [ -x "$fuzzer" ] || continue
  name="$(basename "$fuzzer")"
  corpus="$(mktemp -d)"
  cp -r tests/fuzz/corpus/"${name%_fuzz}"/. "$corpus"/ 2>/dev/null || true
  log "fuzz $name for ${NUCLEUS_FUZZ_SECONDS:-60}s"
  "$fuzzer" -max_total_time="${NUCLEUS_FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -max_len=65536 "$corpus"
  rm -rf "$corpus"
done

# 5. The CUDA build compiles and links; without a GPU its binaries must still fall back to the CPU
#    (--device auto) or fail clearly (--device cuda): the device-selection tests run here (~2 s).
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  bash scripts/build.sh cuda
  log "ctest (cuda build, device selection)"
  ctest --test-dir build/cuda --output-on-failure -R "DeviceChoice|DeviceRows|DeviceOptionParser|EngineDevice|cli.device"
else
  log "skipping the CUDA build: nvcc not found"
fi

# 6. End-to-end tests: the real binary, real clients; test_reliability.py among them (slow and
#    silent clients, SIGTERM exit time, per-request bounds and RSS, a soak with hang-ups, preemption
#    determinism, a JSON mutation fuzz: about 4 minutes; --long for a benchmark run). test_webui.py
#    drives the web page in headless chromium and saves a screenshot of each view in
#    build/e2e-artifacts/ (kept as CI artifacts).
mkdir -p build/e2e-artifacts
for t in tests/e2e/test_*.py; do
  [ -f "$t" ] || continue
  log "e2e $t"
  "$NUCLEUS_VENV/bin/python" "$t" --nucleus build/release/app/nucleus --model "$NUCLEUS_DEFAULT_MODEL"
done

# 7. Deployment (no Docker engine needed): docker/ checked with real parsers and schemas, then the
#    CPU Dockerfile's build stage run for real in a fresh debootstrapped Debian 12 chroot, whose
#    image entrypoint serves the default model (the slowest step: a fresh machine's whole set-up).
log "deployment: docker-check (Dockerfiles, compose, k8s manifests, entrypoint)"
bash scripts/docker-check.sh
log "deployment: chroot-check (the CPU Dockerfile's build stage in a fresh Debian 12 root, then serve)"
bash scripts/chroot-check.sh
log "all tests passed"
