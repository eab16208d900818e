#!/usr/bin/env bash
# Configures and builds one flavour of the project into build/<flavour>.
#   scripts/build.sh release   Release, warnings as errors (the default)
#   scripts/build.sh asan      RelWithDebInfo with ASan+UBSan
#   scripts/build.sh tsan      RelWithDebInfo with ThreadSanitizer (the suites that start threads)
#   scripts/build.sh fuzz      clang + libFuzzer targets (with ASan+UBSan)
#   scripts/build.sh cuda      Release with NUCLEUS_CUDA=ON (compile and link only without a GPU);
#                              NUCLEUS_CUDA_ARCHS=75 (CMake's list syntax) builds for other GPUs
# Further arguments name the targets to build (default: all).
set -euo pipefail
source "$(dirname "$0")/common.sh"

flavour="${1:-release}"
dir="$NUCLEUS_ROOT/build/$flavour"
args=(-S "$NUCLEUS_ROOT" -B "$dir" -G Ninja -DNUCLEUS_WERROR=ON)
# The sanitizer flavours build at -O1 with line tables only (-g1): what the sanitizers' own guides
# recommend, their reports still name file:line, and they compile a third faster than -O2 -g (the
# sanitizer builds are most of the CI's time).
line_tables=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
case "$flavour" in
  release) args+=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "${line_tables[@]}" -DNUCLEUS_SANITIZE=ON -DNUCLEUS_BUILD_BENCH=OFF) ;;
  tsan)    args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "${line_tables[@]}" -DNUCLEUS_TSAN=ON -DNUCLEUS_BUILD_BENCH=OFF) ;;
  fuzz)    args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "${line_tables[@]}" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
                  -DNUCLEUS_SANITIZE=ON -DNUCLEUS_FUZZ=ON -DNUCLEUS_BUILD_TESTS=ON -DNUCLEUS_BUILD_BENCH=OFF) ;;
  cuda)    [ -n "${NUCLEUS_CUDA_ARCHS:-}" ] && args+=("-DCMAKE_CUDA_ARCHITECTURES=$NUCLEUS_CUDA_ARCHS")
           args+=(-DCMAKE_BUILD_TYPE=Release -DNUCLEUS_CUDA=ON -DNUCLEUS_BUILD_BENCH=OFF
                  -DCMAKE_CUDA_COMPILER="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}") ;;
  *) echo "build.sh: unknown flavour '$flavour' (release, asan, tsan, fuzz, cuda)" >&2; exit 2 ;;
esac
log "build $flavour"
cmake "${args[@]}" >/dev/null
targets=(); for t in "${@:2}"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$NUCLEUS_JOBS" "${targets[@]}"
