#!/usr/bin/env bash
# Installs everything Nucleus needs to build and test on Debian 12, idempotently:
# C++ dependencies from Debian's packages (apt) and the Python test tools (pip,
# in a virtual environment under $NUCLEUS_CACHE, since Debian's pip refuses
# system-wide installs, PEP 668). Run as root (or with sudo available).
set -euo pipefail
source "$(dirname "$0")/common.sh"

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates curl unzip
  clang libclang-rt-14-dev clang-format clang-tidy
  libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev libpcre2-dev
  python3 python3-venv python3-pip
)
# The web page's browser tests (tests/e2e/test_webui.py) and readable screenshots; an image
# build that runs no browser sets NUCLEUS_NO_BROWSER=1 (docker/Dockerfile's build stage).
[ "${NUCLEUS_NO_BROWSER:-0}" = 1 ] || APT_PACKAGES+=(chromium chromium-driver fonts-liberation)
PIP_PACKAGES=(numpy gguf tokenizers transformers jinja2 openai requests pyyaml
  jsonschema rfc3339-validator fqdn isoduration hypothesis hypothesis-jsonschema rstr  # the grammar golden data and
  # judges (fqdn, isoduration: jsonschema's hostname and duration checks)
  selenium  # drives chromium in the web page's browser tests
  diskcache)  # the llama-cpp-python package's import, for the golden scripts that run llama.cpp

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$NUCLEUS_VENV/bin/python" ]; then
  log "creating Python venv in $NUCLEUS_VENV"
  mkdir -p "$(dirname "$NUCLEUS_VENV")"
  /usr/bin/python3 -m venv "$NUCLEUS_VENV"
fi
stamp="$NUCLEUS_VENV/.nucleus-pip-$(echo "${PIP_PACKAGES[*]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "pip install ${PIP_PACKAGES[*]}"
  "$NUCLEUS_VENV/bin/pip" install -q --upgrade pip
  "$NUCLEUS_VENV/bin/pip" install -q "${PIP_PACKAGES[@]}"
  touch "$stamp"
fi
