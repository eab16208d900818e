#!/usr/bin/env bash
# `nucleus generate` with a seed prints the same text on every kernel path:
# the default (AVX-512 where the CPU has it), NUCLEUS_NO_AVX512=1 (AVX2) and,
# with --scalar (as ctest runs it), NUCLEUS_NO_AVX2=1 NUCLEUS_NO_AVX512=1
# (scalar); sampled and greedy. Run by ctest
# (cli.determinism); needs NUCLEUS_TEST_MODEL (skipped without it, unless
# NUCLEUS_REQUIRE_MODEL=1).
#   determinism_test.sh NUCLEUS_BINARY [--scalar]
set -uo pipefail
nucleus="$1"
scalar_too="${2:-}"
model="${NUCLEUS_TEST_MODEL:-}"
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ -z "$model" ] || [ ! -f "$model" ]; then
  [ "${NUCLEUS_REQUIRE_MODEL:-}" = 1 ] && fail "NUCLEUS_TEST_MODEL missing: run scripts/fetch-model.sh"
  echo "SKIP: needs NUCLEUS_TEST_MODEL"
  exit 77
fi

run() {  # run ENV... -- ARGS...: generate's stdout (the text), failing on a non-zero exit
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local out
  out="$(env "${envs[@]}" "$nucleus" generate -m "$model" --threads 2 "$@" 2>/dev/null)" || fail "generate ${envs[*]} $*: exit $?"
  printf '%s' "$out"
}

for args in "--temperature 0.8 --seed 5" "--temperature 0" "--temperature 1.2 --top-p 0.9 --seed 11 --chat"; do
  # shellcheck disable=SC2086
  default="$(run NUCLEUS_X=0 -- -p "The history of the printing press" -n 40 $args)"
  [ -n "$default" ] || fail "empty output ($args)"
  # shellcheck disable=SC2086
  avx2="$(run NUCLEUS_NO_AVX512=1 -- -p "The history of the printing press" -n 40 $args)"
  [ "$avx2" = "$default" ] || fail "$args: AVX2 differs from the default path:
default: $default
avx2:    $avx2"
  if [ "$scalar_too" = --scalar ]; then
    # shellcheck disable=SC2086
    scalar="$(run NUCLEUS_NO_AVX512=1 NUCLEUS_NO_AVX2=1 -- -p "The history of the printing press" -n 40 $args)"
    [ "$scalar" = "$default" ] || fail "$args: scalar differs from the default path:
default: $default
scalar:  $scalar"
  fi
  echo "same on every path ($args): ${default:0:60}..."
done
echo "cli.determinism: ok"
