#!/usr/bin/env bash
# `nucleus bench` arguments on the real binary: a malformed range is an error
# naming the option, with exit code 1, never an abort (CLI11 parses inside
# main's handler, so a throw from an option callback must not escape it).
#   bench_args_test.sh NUCLEUS_BINARY
set -uo pipefail
nucleus="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }

for range in "0..3" "5..2" "abc" "3.."; do
  out="$("$nucleus" bench offline --input-len "$range" -m /nonexistent.gguf 2>&1)"; rc=$?
  [ "$rc" -eq 1 ] || fail "bench offline --input-len $range: exit $rc (want 1): $out"
  grep -q -- "--input-len" <<<"$out" || fail "bench offline --input-len $range: message does not name the option: $out"
done
for args in "--kv-cache-dtype q4_0" "--context 0"; do
  out="$("$nucleus" bench model $args -m /nonexistent.gguf 2>&1)"; rc=$?
  [ "$rc" -ne 0 ] || fail "bench model $args: exit 0: $out"
  grep -q -- "${args%% *}" <<<"$out" || fail "bench model $args: message does not name the option: $out"
done
echo "bench arguments: ok"
