#!/usr/bin/env bash
# Downloads and unpacks the llama.cpp source vendored in the llama-cpp-python
# sdist on PyPI into $NUCLEUS_CACHE/peers (outside the repo: none of llama.cpp
# is committed). Idempotent; prints the llama.cpp source dir. Used to build the
# peers we benchmark against (build-llama.sh) and by the grammar tests, which
# read llama.cpp's example grammars from grammars/*.gbnf.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
peers="$NUCLEUS_CACHE/peers"
src="$peers/llama_cpp_python-$VERSION/vendor/llama.cpp"
mkdir -p "$peers"
if [ ! -d "$src" ]; then
  sdist="$peers/llama_cpp_python-$VERSION.tar.gz"
  if [ ! -f "$sdist" ]; then
    log "downloading llama-cpp-python==$VERSION sdist from PyPI"
    "$NUCLEUS_VENV/bin/pip" download -q --no-deps --no-binary :all: -d "$peers" "llama-cpp-python==$VERSION" >&2
  fi
  tar -xzf "$sdist" -C "$peers"
fi
echo "$src"
