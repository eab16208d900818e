#!/usr/bin/env bash
# Static checks of docker/ (no Docker engine needed):
#  - every docker/Dockerfile* parsed by the official Go parser (PyPI `dockerfile`), and the
#    stages checked: build -> runtime, non-root USER, EXPOSE 8080, HEALTHCHECK on /health, /models;
#  - docker/compose.yaml validated against the compose-spec JSON schema (the copy vendored by
#    PyPI `check-jsonschema`, --builtin-schema vendor.compose-spec) and its healthcheck, restart
#    policy, model volume and GPU reservation checked;
#  - docker/k8s/*.yaml validated with `kubernetes-validate --strict` and checked together:
#    probes on /health, Prometheus annotations, resource requests, the Service and HPA targets,
#    terminationGracePeriodSeconds >= preStop + NUCLEUS_SHUTDOWN_TIMEOUT;
#  - docker/entrypoint.sh: `sh -n`, and its model choice and argument handling, run with a stub.
# The tools go in their own venv, $NUCLEUS_CACHE/docker-check-venv.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$NUCLEUS_ROOT"

trap 'rc=$?; [ "$rc" -eq 0 ] || echo "docker-check: FAILED (exit $rc): see the FAIL lines or the error above" >&2' EXIT
trap 'exit 130' INT; trap 'exit 143' TERM

# A fresh Debian 12 has python3 but not its venv module (python3-venv).
if ! /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null; then
  log "apt-get install python3-venv (for the checkers' venv)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv
fi
venv="$NUCLEUS_CACHE/docker-check-venv"
tools=(dockerfile==3.4.0 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 pyyaml)
stamp="$venv/.stamp-$(echo "${tools[*]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "pip install ${tools[*]} into $venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${tools[@]}"
  touch "$stamp"
fi
py="$venv/bin/python"

log "Dockerfiles (official Go parser, PyPI dockerfile)"
"$py" - docker/Dockerfile docker/Dockerfile.cuda <<'EOF'
import re, sys
import dockerfile

def stages(cmds):
    out = []
    for c in cmds:
        if c.cmd == "FROM":
            name = c.value[2].lower() if len(c.value) >= 3 and c.value[1].lower() == "as" else None
            out.append({"from": c.value[0], "name": name, "cmds": []})
        elif out:
            out[-1]["cmds"].append(c)
    return out

def check(path):
    cmds = dockerfile.parse_file(path)
    st = stages(cmds)
    errors = []
    def need(cond, what):
        if not cond: errors.append(what)
    known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
             "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
    for c in cmds:  # the Go parser splits lines; the instruction names are checked by the builder
        need(c.cmd in known, f"line {c.start_line}: unknown instruction {c.cmd}")
    names = [s["name"] for s in st]
    need(names[:1] == ["build"] and names[-1:] == ["runtime"], f"stages build ... runtime (got {names})")
    build = next((s for s in st if s["name"] == "build"), {"cmds": [], "from": ""})
    rt = st[-1] if st else {"cmds": [], "from": ""}
    runs = " ".join(" ".join(c.value) for c in build["cmds"] if c.cmd == "RUN")
    need("scripts/install-deps.sh" in runs, "build stage runs scripts/install-deps.sh")
    need("ctest" in runs, "build stage runs the unit tests (ctest)")
    by = lambda s, k: [c for c in s["cmds"] if c.cmd == k]
    users = [c.value[0] for c in by(rt, "USER")]
    need(users and users[-1].split(":")[0] not in ("root", "0"), f"runtime USER is not root ({users})")
    need(any("8080" in v for c in by(rt, "EXPOSE") for v in c.value), "runtime EXPOSE 8080")
    need(any("/health" in " ".join(c.value) for c in by(rt, "HEALTHCHECK")), "runtime HEALTHCHECK on /health")
    need(any("/models" in " ".join(c.value) for c in by(rt, "VOLUME")), "runtime VOLUME /models")
    need(any(f.startswith("--from=build") for c in by(rt, "COPY") for f in c.flags), "runtime copies from build")
    need(by(rt, "ENTRYPOINT"), "runtime ENTRYPOINT")
    if path.endswith(".cuda"):
        need(build["from"].startswith("nvidia/cuda:") and "devel" in build["from"], "build FROM nvidia/cuda devel")
        need(rt["from"].startswith("nvidia/cuda:") and "runtime" in rt["from"], "runtime FROM nvidia/cuda runtime")
        need("NUCLEUS_CUDA=ON" in runs, "NUCLEUS_CUDA=ON")
    else:
        need(build["from"].endswith("DEBIAN_IMAGE}") or build["from"].startswith("debian:12"), "build FROM Debian 12")
        args = {c.value[0].split("=")[0]: c.value[0].split("=", 1)[1] for c in cmds if c.cmd == "ARG" and "=" in c.value[0]}
        need(args.get("DEBIAN_IMAGE", "").startswith("debian:12"), "DEBIAN_IMAGE=debian:12")
        need("scripts/build.sh release" in runs, "build stage runs scripts/build.sh release")
    print(f"{path}: parsed {len(cmds)} instructions; stages " +
          ", ".join(f"{s['name']} FROM {s['from']} ({len(s['cmds'])})" for s in st))
    for e in errors: print(f"  FAIL: {e}")
    return not errors

ok = all([check(p) for p in sys.argv[1:]])
sys.exit(0 if ok else 1)
EOF

log "compose (compose-spec JSON schema, vendored by check-jsonschema)"
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker/compose.yaml
"$py" - docker/compose.yaml <<'EOF'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
errors = []
for name, s in c["services"].items():
    if s.get("restart") not in ("always", "unless-stopped", "on-failure"): errors.append(f"{name}: restart policy")
    if "/health" not in " ".join(s.get("healthcheck", {}).get("test", [])): errors.append(f"{name}: healthcheck on /health")
    if not any(str(v).split(":")[1:2] == ["/models"] for v in s.get("volumes", [])): errors.append(f"{name}: /models volume")
gpu = [n for n, s in c["services"].items()
       if any("gpu" in d.get("capabilities", [])
              for d in s.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", []))]
if not gpu: errors.append("no service reserves a gpu device")
print(f"{sys.argv[1]}: services {sorted(c['services'])}; gpu reservation: {gpu}")
for e in errors: print(f"  FAIL: {e}")
sys.exit(1 if errors else 0)
EOF

log "Kubernetes manifests (kubernetes-validate --strict)"
"$venv/bin/kubernetes-validate" --strict docker/k8s/*.yaml
"$py" - docker/k8s/*.yaml <<'EOF'
import sys, yaml
docs = [d for p in sys.argv[1:] for d in yaml.safe_load_all(open(p)) if d]
kind = {d["kind"]: d for d in docs}
errors = []
def need(cond, what):
    if not cond: errors.append(what)
dep, svc, hpa = kind.get("Deployment"), kind.get("Service"), kind.get("HorizontalPodAutoscaler")
need(dep and svc and hpa, "a Deployment, a Service and a HorizontalPodAutoscaler")
pod = dep["spec"]["template"]
c = pod["spec"]["containers"][0]
for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
    need(c.get(probe, {}).get("httpGet", {}).get("path") == "/health", f"{probe} on /health")
need(c.get("resources", {}).get("requests", {}).get("cpu") and c["resources"]["requests"].get("memory"), "resource requests")
ann = pod["metadata"].get("annotations", {})
need(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/path") == "/metrics"
     and ann.get("prometheus.io/port") == "8080", "Prometheus scrape annotations for /metrics on 8080")
env = {e["name"]: e.get("value") for e in c.get("env", [])}
timeout = float(env.get("NUCLEUS_SHUTDOWN_TIMEOUT", 30))
pre = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
sleep = float(pre[1]) if pre[:1] == ["sleep"] else 0
grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
need(sleep > 0, "a preStop sleep")
need(grace >= sleep + timeout, f"terminationGracePeriodSeconds {grace} >= preStop {sleep:g} + shutdown timeout {timeout:g}")
need(svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items(), "Service selector matches the pods")
need(dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(), "Deployment selector matches")
need(hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"], "HPA targets the Deployment")
need(pod["spec"].get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot")
print(f"k8s: {', '.join(d['kind'] + '/' + d['metadata']['name'] for d in docs)}; grace {grace}s >= "
      f"preStop {sleep:g}s + shutdown {timeout:g}s")
for e in errors: print(f"  FAIL: {e}")
sys.exit(1 if errors else 0)
EOF

log "docker/entrypoint.sh (sh -n; model choice with a stub nucleus)"
sh -n docker/entrypoint.sh
tmp="$(mktemp -d)"
trap 'rc=$?; rm -rf "$tmp"; [ "$rc" -eq 0 ] || echo "docker-check: FAILED (exit $rc) in the entrypoint checks" >&2' EXIT
printf '#!/bin/sh\necho "model=${NUCLEUS_MODEL:-} args=$*"\n' >"$tmp/stub"; chmod +x "$tmp/stub"
pass=0; fail=0
expect() {  # expect NAME WANT(substring of output, or FAIL) DIR [env...] -- [args...]
  local name="$1" want="$2" dir="$3"; shift 3
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  local out rc=0
  out="$(env -i PATH="$PATH" NUCLEUS_BIN="$tmp/stub" NUCLEUS_MODEL_DIR="$dir" "${envs[@]}" sh docker/entrypoint.sh "$@" 2>&1)" || rc=$?
  if { [ "$want" = FAIL ] && [ "$rc" -ne 0 ]; } || { [ "$want" != FAIL ] && [ "$rc" -eq 0 ] && [[ "$out" == *"$want"* ]]; }; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAIL entrypoint: $name: want '$want', got (exit $rc): $out"
  fi
}
mkdir -p "$tmp/default" "$tmp/one" "$tmp/two" "$tmp/none"
touch "$tmp/default/SmolLM2-135M-Instruct.Q4_1.gguf" "$tmp/default/other.gguf" "$tmp/one/mine.gguf" "$tmp/two/a.gguf" "$tmp/two/b.gguf"
expect "default model first"      "model=$tmp/default/SmolLM2-135M-Instruct.Q4_1.gguf args=serve" "$tmp/default" --
expect "the only model"           "model=$tmp/one/mine.gguf args=serve --max-seqs 4" "$tmp/one" -- --max-seqs 4
expect "explicit serve"           "args=serve --port 9" "$tmp/one" -- serve --port 9
expect "two models: choose"       FAIL "$tmp/two" --
expect "NUCLEUS_MODEL wins"       "model=$tmp/two/b.gguf args=serve" "$tmp/two" NUCLEUS_MODEL="$tmp/two/b.gguf" --
expect "NUCLEUS_MODEL must exist" FAIL "$tmp/one" NUCLEUS_MODEL="$tmp/nope.gguf" --
expect "no model, no fetch"       FAIL "$tmp/none" NUCLEUS_FETCH_MODEL=0 --
expect "other subcommands"        "model=$tmp/one/mine.gguf args=generate --prompt Hi" "$tmp/one" -- generate --prompt Hi
expect "help needs no model"      "args=--help" "$tmp/none" NUCLEUS_FETCH_MODEL=0 -- --help
echo "entrypoint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
log "docker checks passed"
