#!/usr/bin/env bash
# kernels/build_config.h defines NUCLEUS_HAVE_CUDA in every build (0 or 1), so `#ifdef` / `defined()`
# on it would be true in a CPU build too: the sources must test its value (`#if NUCLEUS_HAVE_CUDA`),
# which -Wundef checks is defined. Usage: build_config_test.sh SOURCE_ROOT
set -euo pipefail
root="${1:?usage: build_config_test.sh SOURCE_ROOT}"
hits="$(grep -rnE '#[[:space:]]*if(n?def[[:space:]]+NUCLEUS_HAVE_CUDA|.*defined[[:space:]]*\(?[[:space:]]*NUCLEUS_HAVE_CUDA)' \
  --include='*.cc' --include='*.h' --include='*.cu' --include='*.cuh' \
  "$root"/app "$root"/server "$root"/engine "$root"/model "$root"/text "$root"/sampling "$root"/kernels "$root"/tests \
  "$root"/bench "$root"/config 2>/dev/null || true)"
if [ -n "$hits" ]; then
  echo "NUCLEUS_HAVE_CUDA is always defined (0 or 1): test its value with #if, not #ifdef/defined():" >&2
  echo "$hits" >&2
  exit 1
fi
echo "build_config: ok"
