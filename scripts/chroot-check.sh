#!/usr/bin/env bash
# Runs docker/Dockerfile's build stage for real, without a Docker engine, in a fresh Debian 12
# root made with debootstrap and entered with chroot; then the runtime stage's part: the
# binary's shared libraries must all come from the runtime stage's packages, and the image's
# entrypoint (docker/entrypoint.sh) serves the default model as the non-root user, answering
# /health and one /v1/completions, and stops gracefully on SIGTERM. This is also the proof that
# the README's set-up (scripts/install-deps.sh, scripts/build.sh) works on a fresh machine.
#
# Needs root (it re-runs itself with sudo otherwise). Everything lives outside the repo, in $NUCLEUS_CHROOT_CACHE
# (default $NUCLEUS_CACHE/chroot): the debootstrapped base system as a tarball, reused while the
# mirror and the ISO week are the same; the .deb and pip download caches (downloads only: the root
# itself and everything built in it are made anew each run).
#   NUCLEUS_DEBIAN_MIRROR   the Debian mirror (default: the one apt is configured with here)
#   NUCLEUS_CHROOT_REF      the commit put in the root with `git archive` (default HEAD)
#   NUCLEUS_CHROOT_FETCH=1  let the entrypoint download the default model (default: copy the
#                           cached one in when scripts/fetch-model.sh has it)
#   NUCLEUS_CHROOT_SERVE=0  stop after the build stage (install-deps, build, unit tests)
#   NUCLEUS_CHROOT_KEEP=1   keep the root afterwards (it is removed at the start of the next run)
#   NUCLEUS_CHROOT_CCACHE=0 compile everything in the root (default: reuse this machine's ccache)
#   NUCLEUS_CHROOT_REUSE=1  (for working on this script) reuse the kept root whose build stage
#                           passed, and run only what follows it
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ "$(id -u)" -ne 0 ]; then  # debootstrap, mount and chroot need root
  command -v sudo >/dev/null || { echo "chroot-check: needs root (debootstrap, mount, chroot), and sudo is not installed" >&2; exit 1; }
  # sudo resets the environment: keep NUCLEUS_* (the cache and model paths) and the network settings.
  mapfile -t keep < <(env | grep -E '^(NUCLEUS_[A-Z_]*|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|PIP_[A-Z_]*|SSL_CERT_[A-Z]*|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE)=')
  exec sudo env "${keep[@]}" bash "$0" "$@"
fi
CACHE="${NUCLEUS_CHROOT_CACHE:-$NUCLEUS_CACHE/chroot}"
case "$(realpath -m "$CACHE")/" in
  "$NUCLEUS_ROOT"/*) echo "chroot-check: NUCLEUS_CHROOT_CACHE=$CACHE is inside the repository; choose a folder outside it" >&2; exit 2 ;;
esac
ROOT="$CACHE/root"
REF="${NUCLEUS_CHROOT_REF:-HEAD}"
SUITE=bookworm
DOCKERFILE=docker/Dockerfile
mkdir -p "$CACHE/apt-archives/partial" "$CACHE/pip-cache"
t_start=$SECONDS
step="start"
phase() { step="$*"; log "$* [$((SECONDS - t_start))s]"; }

# ---------- safety: nothing is ever deleted while something is mounted below it ----------
mounts_under() { findmnt -rn -o TARGET | awk -v p="$1" 'index($0, p "/") == 1 || $0 == p' | sort -r; }
unmount_all() {
  local m
  for m in $(mounts_under "$ROOT"); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
remove_root() {
  unmount_all
  if [ -n "$(mounts_under "$ROOT")" ]; then
    echo "chroot-check: still mounted under $ROOT, not removing it:" >&2; mounts_under "$ROOT" >&2; return 1
  fi
  rm -rf --one-file-system "$ROOT"
}
server_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  unmount_all
  if [ "$rc" -eq 0 ] && [ "${NUCLEUS_CHROOT_KEEP:-0}" != 1 ]; then remove_root || true; fi
  [ "$rc" -eq 0 ] || echo "chroot-check: FAILED (exit $rc) after $((SECONDS - t_start))s, in: ${step%:}; the root is kept in $ROOT (mounts undone)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP  # so cleanup sees a failure

# ---------- the host's own tools ----------
host_missing=()
for tool in debootstrap:debootstrap git:git python3:python3 findmnt:util-linux; do
  command -v "${tool%%:*}" >/dev/null || host_missing+=("${tool#*:}")
done
if ((${#host_missing[@]})); then
  log "apt-get install ${host_missing[*]} (the host's tools for this check)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${host_missing[@]}"
fi
# The repository as root sees it (under sudo its owner is another user: git's safe.directory).
git_src() { git -c safe.directory="$NUCLEUS_ROOT" -C "$NUCLEUS_ROOT" "$@"; }
git_src rev-parse --verify -q "$REF^{commit}" >/dev/null ||
  { echo "chroot-check: $NUCLEUS_ROOT is not a git checkout with commit '$REF' (the root gets \`git archive $REF\`)" >&2; exit 1; }

# ---------- the Debian mirror apt uses here ----------
apt_uri() {  # $1 = suite; first URI serving it, from deb822 .sources files or one-line lists
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v s="$1" 'BEGIN { RS = ""; FS = "\n" }
      { u = ""; su = ""; on = 1
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)    { x = $i; sub(/^URIs:[ \t]*/, "", x); split(x, a, /[ \t]+/); u = a[1] }
          if ($i ~ /^Suites:/)  { x = $i; sub(/^Suites:[ \t]*/, "", x); su = " " x " " }
          if ($i ~ /^Enabled:[ \t]*no/) on = 0
        }
        if (on && u != "" && index(su, " " s " ")) { print u; exit } }' "$f")"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/\[[^]]*\]//' | awk -v s="$1" '$1 == "deb" && $3 == s { print $2; exit }'
}
MIRROR="${NUCLEUS_DEBIAN_MIRROR:-$(apt_uri "$SUITE")}"; MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY="$(apt_uri "$SUITE-security")"; SECURITY="${SECURITY:-http://deb.debian.org/debian-security}"
echo "mirror: $MIRROR  security: $SECURITY  ref: $(git_src rev-parse --short "$REF")"
[ "$REF" != HEAD ] || [ -z "$(git_src status --porcelain --untracked-files=no)" ] ||
  echo "note: the root gets the commit HEAD; uncommitted changes are not in it"

# ---------- the base system: debootstrap once per mirror and week, then a tarball ----------
base="$CACHE/base-$SUITE-minbase-$(echo "$MIRROR" | md5sum | cut -c1-8)-$(date +%G-W%V).tar.gz"
fresh_base=0
if [ ! -f "$base" ]; then
  phase "debootstrap --variant=minbase $SUITE from $MIRROR"
  remove_root
  nice -n 10 debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
  unmount_all
  printf 'deb %s %s %s-updates main\ndeb %s %s-security main\n' "$MIRROR" "$SUITE" "$SUITE" "$SECURITY" "$SUITE" \
    >"$ROOT/etc/apt/sources.list"
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
  tar -C "$ROOT" --numeric-owner -czf "$base.tmp" .
  mv "$base.tmp" "$base"
  find "$CACHE" -maxdepth 1 -name "base-$SUITE-*.tar.gz" ! -path "$base" -delete
  fresh_base=1  # $ROOT is what the tarball holds: no need to unpack it again
fi

reuse=0
if [ "${NUCLEUS_CHROOT_REUSE:-0}" = 1 ] && [ -f "$ROOT/.build-stage-passed" ]; then
  reuse=1; phase "reusing the root in $ROOT (NUCLEUS_CHROOT_REUSE=1)"
elif [ "$fresh_base" = 1 ]; then
  phase "fresh root, just debootstrapped (saved as $(basename "$base"))"
else
  phase "fresh root from $(basename "$base")"
  remove_root
  mkdir -p "$ROOT"
  tar -C "$ROOT" --numeric-owner -xzf "$base"
fi
# The network as this machine sees it: its resolver, its local trust anchors (an HTTPS proxy's CA,
# say: ca-certificates' postinst in the root adds them to the bundle) and its proxy/CA variables.
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates" && cp -r /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
fi
net_env=()
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL PIP_EXTRA_INDEX_URL \
         PIP_CERT PIP_DEFAULT_TIMEOUT SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE; do
  [ -z "${!v:-}" ] || net_env+=("$v=${!v}")
done
mount -t proc proc "$ROOT/proc"
mount --bind /sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mkdir -p "$ROOT/var/cache/apt/archives" "$ROOT/root/.cache/pip"
mount --bind "$CACHE/apt-archives" "$ROOT/var/cache/apt/archives"
mount --bind "$CACHE/pip-cache" "$ROOT/root/.cache/pip"
# This machine's compiler cache, so that the stage's Release build reuses the objects of the same
# sources already compiled here (scripts/test.sh builds release first, with CCACHE_BASEDIR at the
# checkout so that the cache keys hold relative paths). Every object the cache cannot vouch for
# (another compiler, other flags or headers) is compiled in the root; NUCLEUS_CHROOT_CCACHE=0 compiles all.
ccache_env=()
host_ccache="$(ccache -k cache_dir 2>/dev/null || true)"
if [ "${NUCLEUS_CHROOT_CCACHE:-1}" = 1 ] && [ -n "$host_ccache" ] && mkdir -p "$host_ccache" 2>/dev/null; then
  mkdir -p "$ROOT/root/.cache/ccache"
  mount --bind "$host_ccache" "$ROOT/root/.cache/ccache"
  ccache_env=(CCACHE_DIR=/root/.cache/ccache CCACHE_NOHASHDIR=true CCACHE_COMPILERCHECK=content)
fi
in_root() { nice -n 10 chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb "${net_env[@]}" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# ---------- the build stage, replayed from the Dockerfile ----------
# Its ENV, WORKDIR and RUN lines (continuations joined); COPY . . is the `git archive` of $REF.
stage_script="$(git_src show "$REF:$DOCKERFILE" | awk '
  /^[ \t]*#/ { next }
  { line = line $0 } /\\$/ { sub(/\\$/, "", line); next }
  { print line; line = "" }' | awk '
  toupper($1) == "FROM" { instage = (tolower($0) ~ / as build[ \t]*$/); next }
  !instage || NF == 0 { next }
  { kw = toupper($1); rest = $0; sub(/^[ \t]*[A-Za-z]+[ \t]+/, "", rest) }
  kw == "ENV"     { print "ENV\t" rest; next }
  kw == "WORKDIR" { print "WORKDIR\t" rest; next }
  kw == "RUN"     { print "RUN\t" rest; next }
  kw == "COPY"    { print "COPY\t" rest; next }
  kw == "ARG"     { next }
  { print "UNSUPPORTED\t" $0 }')"
[ -n "$stage_script" ] || { echo "chroot-check: no 'FROM ... AS build' stage in $DOCKERFILE" >&2; exit 1; }
workdir=/
{
  echo 'set -e'
  while IFS=$'\t' read -r kw rest; do
    case "$kw" in
      ENV)     echo "export $rest" ;;
      WORKDIR) workdir="$rest"; echo "mkdir -p $rest && cd $rest" ;;
      COPY)    [ "$rest" = ". ." ] || { echo "chroot-check: unsupported COPY $rest" >&2; exit 1; }
               [ "$reuse" = 1 ] && continue
               mkdir -p "$ROOT$workdir"
               git_src archive --format=tar "$REF" | tar -x -C "$ROOT$workdir" ;;
      RUN)     printf 'echo "--- [${SECONDS}s] RUN "%q >&2\n/bin/sh -ec %q\n' "$rest" "$rest" ;;
      *)       echo "chroot-check: unsupported instruction in the build stage: $rest" >&2; exit 1 ;;
    esac
  done <<<"$stage_script"
} >"$ROOT/dockerfile-build-stage.sh.new"
[ "$workdir" != / ] || { echo "chroot-check: the build stage has no WORKDIR" >&2; exit 1; }
if [ "$reuse" = 0 ]; then
  mv "$ROOT/dockerfile-build-stage.sh.new" "$ROOT/dockerfile-build-stage.sh"
  phase "the build stage of $DOCKERFILE in the root:"; grep -v '^echo' "$ROOT/dockerfile-build-stage.sh" | sed 's/^/    /'
  in_root "${ccache_env[@]}" ${ccache_env[0]:+CCACHE_BASEDIR="$workdir"} /bin/bash /dockerfile-build-stage.sh
  touch "$ROOT/.build-stage-passed"
  phase "build stage done"
fi

# ---------- the runtime stage: its packages cover the binary's libraries ----------
binary="$workdir/build/release/app/nucleus"
runtime_pkgs="$(git_src show "$REF:$DOCKERFILE" | awk '
  /^[ \t]*#/ { next } toupper($1) == "FROM" { rt = (tolower($0) ~ / as runtime[ \t]*$/) } rt' |
  tr -s ' \t\\' '\n' | awk '/^install$/ { on = 1; next } on && /^&&$/ { on = 0 } on && !/^-/' | sort -u)"
# Libraries come from those packages or from what they depend on (apt installs that too).
closure=" $(in_root apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $runtime_pkgs 2>/dev/null | grep -v '^ ' | sed 's/:.*//; s/[<>]//g' | sort -u | tr '\n' ' ') libc6 "
echo "runtime stage packages: $(echo $runtime_pkgs)"
missing=""
for lib in $(in_root ldd "$binary" | awk '$3 ~ /^\// { print $3 }'); do
  real="$(in_root readlink -f "$lib")"; pkg=""
  for f in "$real" "$lib" "${real#/usr}" "/usr${lib#/usr}"; do  # merged /usr: dpkg knows one spelling
    pkg="$(in_root dpkg -S "$f" 2>/dev/null | head -n 1 | cut -d: -f1)" || true
    [ -z "$pkg" ] || break
  done
  printf '    %-40s %s\n' "$lib" "${pkg:-?}"
  case "$closure" in *" $pkg "*) ;; *) missing="$missing $lib(${pkg:-?})" ;; esac
done
[ -z "$missing" ] || { echo "chroot-check: not in the runtime stage's packages:$missing" >&2; exit 1; }
echo "the runtime stage's packages (and their dependencies) provide every library nucleus loads"

[ "${NUCLEUS_CHROOT_SERVE:-1}" = 1 ] || { phase "done (NUCLEUS_CHROOT_SERVE=0: no server)"; exit 0; }

# ---------- the runtime stage's entrypoint serves the default model as the non-root user ----------
phase "serve the default model through docker/entrypoint.sh"
install -m 0755 "$ROOT$binary" "$ROOT/usr/local/bin/nucleus"
git_src show "$REF:docker/entrypoint.sh" >"$ROOT/usr/local/bin/nucleus-entrypoint"
chmod 0755 "$ROOT/usr/local/bin/nucleus-entrypoint"
mkdir -p "$ROOT/models"
if [ "${NUCLEUS_CHROOT_FETCH:-0}" != 1 ] && [ -f "$NUCLEUS_DEFAULT_MODEL.verified" ]; then
  cp "$NUCLEUS_DEFAULT_MODEL" "$NUCLEUS_DEFAULT_MODEL.verified" "$ROOT/models/"
else
  echo "the entrypoint fetches the default model"
fi
chown -R 10001:10001 "$ROOT/models"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
nice -n 10 chroot --userspec=10001:10001 "$ROOT" /usr/bin/env -i HOME=/tmp PATH=/usr/local/bin:/usr/bin:/bin "${net_env[@]}" \
  NUCLEUS_HOST=127.0.0.1 NUCLEUS_PORT="$port" NUCLEUS_MODEL_DIR=/models NUCLEUS_FETCH_MODEL=1 \
  NUCLEUS_SHUTDOWN_TIMEOUT=30 /usr/local/bin/nucleus-entrypoint >"$CACHE/server.log" 2>&1 &
server_pid=$!
code=000
for _ in $(seq 600); do
  code="$(in_root curl -s -o /dev/null -w '%{http_code}' "$url/health" || true)"
  [ "$code" = 200 ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.5
done
if [ "$code" != 200 ]; then
  echo "chroot-check: /health never answered 200 (last: $code)" >&2; tail -n 30 "$CACHE/server.log" >&2; exit 1
fi
echo "GET /health -> 200: $(in_root curl -s "$url/health")"
body='{"prompt": "The capital of France is", "max_tokens": 12, "temperature": 0}'
answer="$(in_root curl -sS -f "$url/v1/completions" -H 'Content-Type: application/json' -d "$body")"
echo "POST /v1/completions $body"
echo "  -> $answer"
case "$answer" in *'"choices"'*'"text"'*) ;; *) echo "chroot-check: not a completion" >&2; exit 1 ;; esac
kill -TERM "$server_pid"
rc=0; wait "$server_pid" || rc=$?
server_pid=""
echo "SIGTERM -> the server exited with $rc"
[ "$rc" -eq 0 ] || { tail -n 20 "$CACHE/server.log" >&2; exit 1; }
sed 's/^/    server: /' "$CACHE/server.log" | tail -n 8
phase "chroot check passed"
