#!/usr/bin/env bash
# Downloads and unpacks the llama-cpp-python sdist (which vendors llama.cpp's source, including
# models/templates/*.jinja, the chat templates of the Jinja golden test, and grammars/*.gbnf, the
# example grammars of the GBNF tests) into $NUCLEUS_CACHE/peers.
# Nothing is built. Idempotent, and safe when another process unpacks the same sdist at the same
# time (each unpacks into its own temporary folder, then one rename wins). Prints the source dir.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
peers="$NUCLEUS_CACHE/peers"
top="$peers/llama_cpp_python-$VERSION"
src="$top/vendor/llama.cpp"
if [ -d "$src/models/templates" ]; then
  echo "$src"; exit 0
fi
mkdir -p "$peers"
sdist="$peers/llama_cpp_python-$VERSION.tar.gz"
if [ ! -s "$sdist" ]; then
  log "downloading llama-cpp-python==$VERSION sdist from PyPI"
  tmp_dl="$(mktemp -d "$peers/.download.XXXXXX")"
  "$NUCLEUS_VENV/bin/pip" download -q --no-deps --no-binary :all: -d "$tmp_dl" "llama-cpp-python==$VERSION" >&2
  mv -f "$tmp_dl/llama_cpp_python-$VERSION.tar.gz" "$sdist"
  rmdir "$tmp_dl"
fi
if [ ! -d "$top" ]; then
  tmp_x="$(mktemp -d "$peers/.unpack.XXXXXX")"
  tar -xzf "$sdist" -C "$tmp_x"
  mv -T "$tmp_x/llama_cpp_python-$VERSION" "$top" 2>/dev/null || true  # another process may have won
  rm -rf "$tmp_x"
fi
[ -d "$src/models/templates" ] || { echo "fetch-llama-src.sh: no $src/models/templates" >&2; exit 1; }
echo "$src"
