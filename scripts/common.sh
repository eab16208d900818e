# Shared settings for the scripts in this folder; sourced, not run.
# Everything downloaded or built outside the repo lives under NUCLEUS_CACHE.
NUCLEUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NUCLEUS_CACHE="${NUCLEUS_CACHE:-$HOME/.cache/nucleus}"
NUCLEUS_VENV="${NUCLEUS_VENV:-$NUCLEUS_CACHE/venv}"
NUCLEUS_MODEL_DIR="${NUCLEUS_MODEL_DIR:-$NUCLEUS_CACHE/models}"
NUCLEUS_DEFAULT_MODEL="$NUCLEUS_MODEL_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
NUCLEUS_JOBS="${NUCLEUS_JOBS:-$(nproc)}"
export NUCLEUS_CACHE NUCLEUS_VENV NUCLEUS_MODEL_DIR NUCLEUS_DEFAULT_MODEL

log() { printf '\n== [%s, +%ss] %s ==\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*" >&2; }
