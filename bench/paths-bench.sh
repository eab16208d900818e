#!/usr/bin/env bash
# Speed of the three CPU paths (AVX-512, AVX2, scalar: NUCLEUS_NO_AVX512 / NUCLEUS_NO_AVX2), for one
# or more nucleus binaries side by side (a build before a change and one after it, say): `nucleus
# bench model` on each model, interleaved rounds (the machine may be shared), medians, and each
# binary's figures against the first one's.
#   bench/paths-bench.sh [MODEL...]                       (default: the default model)
# Env: BINS     "label=binary[,extra bench args]" entries, space-separated
#               (default "nucleus=build/release/app/nucleus"); e.g.
#               BINS="before=/tmp/old/nucleus after=build/release/app/nucleus,--kv-cache-dtype=f32"
#      PATHS    default "avx512 avx2 scalar"; ROUNDS (3); PROMPT (prefill tokens, 128);
#      DECODE   (decode steps, 32); BATCHES (decode batch sizes, "1 8"); THREADS (nproc).
# Prints the load average and the user/real time of each run: a run whose user time is far below
# real x threads was disturbed by other work.
set -euo pipefail
source "$(dirname "$0")/../scripts/common.sh"
cd "$NUCLEUS_ROOT"

models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$NUCLEUS_DEFAULT_MODEL")
read -r -a bins <<<"${BINS:-nucleus=build/release/app/nucleus}"
read -r -a paths <<<"${PATHS:-avx512 avx2 scalar}"
rounds="${ROUNDS:-3}" prompt="${PROMPT:-128}" decode="${DECODE:-32}" batches="${BATCHES:-1 8}"
threads="${THREADS:-$(nproc)}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

path_env() {
  case "$1" in
    avx512) echo "" ;;
    avx2) echo "NUCLEUS_NO_AVX512=1" ;;
    scalar) echo "NUCLEUS_NO_AVX512=1 NUCLEUS_NO_AVX2=1" ;;
    *) echo "paths-bench: unknown path '$1' (avx512, avx2, scalar)" >&2; exit 2 ;;
  esac
}
for b in "${bins[@]}"; do
  bin="${b#*=}"; bin="${bin%%,*}"
  [ -x "$bin" ] || { echo "paths-bench: $bin: not an executable (BINS entry '$b')" >&2; exit 2; }
done

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); threads $threads, prompt $prompt, decode $decode, batches $batches, rounds $rounds"
for mi in "${!models[@]}"; do
  for r in $(seq 1 "$rounds"); do
    for p in "${paths[@]}"; do
      for b in "${bins[@]}"; do
        label="${b%%=*}" rest="${b#*=}"
        bin="${rest%%,*}" extra=""; [ "$rest" = "$bin" ] || extra="${rest#*,}"
        f="$out/$mi.$p.$label.$r.json"
        # shellcheck disable=SC2046,SC2086  # the path's variables and the extra arguments are words
        /usr/bin/time -f "%U %e" -o "$f.time" env $(path_env "$p") "$bin" bench model --model "${models[$mi]}" \
          --threads "$threads" --prompt-tokens "$prompt" --decode-tokens "$decode" --batches $batches --repeats 1 \
          --json ${extra//,/ } >"$f" 2>"$f.err" || { echo "paths-bench: $label on $p failed:" >&2; cat "$f.err" >&2; exit 1; }
      done
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$out" "$threads" "${models[*]}" "${paths[*]}" "${bins[*]}" "$batches" <<'PY'
import json, os, statistics, sys
out, threads, models, paths, bins, batches = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split(), sys.argv[5].split(), sys.argv[6].split()
labels = [b.split("=", 1)[0] for b in bins]
for mi, model in enumerate(models):
    print(f"\n{os.path.basename(model)}  (tok/s, median of rounds; x = against {labels[0]} on the same path)")
    cols = ["prefill"] + [f"decode b{b}" for b in batches]
    print(f"  {'path':7} {'binary':10} " + " ".join(f"{c:>18}" for c in cols) + "   user/(real*threads)")
    for p in paths:
        base = None
        for label in labels:
            runs = []
            r = 1
            while os.path.exists(f"{out}/{mi}.{p}.{label}.{r}.json"):
                with open(f"{out}/{mi}.{p}.{label}.{r}.json") as f:
                    j = json.load(f)
                with open(f"{out}/{mi}.{p}.{label}.{r}.json.time") as f:
                    user, real = map(float, f.read().split()[-2:])
                runs.append((j, user / (real * threads)))
                r += 1
            vals = [statistics.median(j["prefill_tok_s"] for j, _ in runs)] + \
                   [statistics.median(j["decode_tok_s"][b] for j, _ in runs) for b in batches]
            if base is None:
                base = vals
            cells = [f"{v:9.1f}" + (f" ({v / bv:4.2f}x)" if label != labels[0] else " " * 8) for v, bv in zip(vals, base)]
            util = " ".join(f"{u:.2f}" for _, u in runs)
            print(f"  {p:7} {label:10} " + " ".join(f"{c:>18}" for c in cells) + f"   {util}")
PY
