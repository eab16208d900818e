#!/usr/bin/env python3
"""Cross-ISA determinism of the real server: servers on different kernel paths
(the default, AVX-512 where the CPU has it; NUCLEUS_NO_AVX512=1, AVX2; with
--scalar also NUCLEUS_NO_AVX2=1 NUCLEUS_NO_AVX512=1, scalar, with fewer
requests as it is slower) answer the same seeded and greedy requests, sent concurrently with
noise requests in between, with the same bytes: texts, token logprobs, finish
reasons, usage, and the same system_fingerprint, which /version explains.
Uses the official `openai` client.

  python tests/e2e/test_determinism.py --nucleus build/release/app/nucleus --model MODEL [--scalar]

Prints one line per check, exits non-zero when any fails; about a minute on two cores.
"""
import argparse
import concurrent.futures
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback

import openai
import requests

PROMPTS = [
    "The history of the printing press",
    "Write a haiku about the sea.",
    "def fibonacci(n):",
    "List three uses of copper:",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `nucleus serve` process with `env` added to its environment."""

    def __init__(self, args, name, env):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(f"/tmp/nucleus-determinism-{name}-{self.port}.log", "w")
        cmd = [args.nucleus, "serve", "--model", args.model, "--port", str(self.port), "--threads", "1"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **env})
        self.client = openai.OpenAI(base_url=self.url + "/v1", api_key="unused", max_retries=0, timeout=120)

    def wait_healthy(self):
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    self.model = self.client.models.list().data[0].id
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} server did not become healthy")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def requests_set(small):
    """(name, route, kwargs): seeded sampling, greedy, n > 1, logprobs, chat and completions."""
    out = []
    for i, prompt in enumerate(PROMPTS[:2] if small else PROMPTS):
        out.append((f"seeded-{i}", "completions",
                    dict(prompt=prompt, max_tokens=24, temperature=0.8, top_p=0.95, seed=5 + i, logprobs=2)))
        out.append((f"greedy-{i}", "completions", dict(prompt=prompt, max_tokens=24, temperature=0, logprobs=1)))
        if not small:
            out.append((f"chat-seeded-{i}", "chat", dict(messages=[{"role": "user", "content": prompt}], max_tokens=24,
                                                         temperature=1.0, seed=100 + i, n=2, logprobs=True,
                                                         top_logprobs=2)))
    return out


def run_one(server, route, kwargs):
    if route == "chat":
        return server.client.chat.completions.create(model=server.model, **kwargs).model_dump()
    return server.client.completions.create(model=server.model, **kwargs).model_dump()


def noise(server, i):
    """A request whose only job is to share the batch with the ones compared."""
    server.client.completions.create(model=server.model, prompt="Noise " * (3 + i % 7), max_tokens=8 + i % 5,
                                     temperature=0.7, seed=i)


def answers(server, small):
    """Every request of the set, sent concurrently with noise; name -> the response minus id and created."""
    reqs = requests_set(small)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(run_one, server, route, kw) for name, route, kw in reqs}
        noises = [pool.submit(noise, server, i) for i in range(6)]
        out = {name: f.result() for name, f in futures.items()}
        for f in noises:
            f.result()
    for r in out.values():
        r.pop("id")
        r.pop("created")
        # How much of the prompt the prefix cache held depends on timing, not on the answer.
        r["usage"].pop("prompt_tokens_details", None)
    return out


def streamed(server):
    """A seeded streamed chat: the concatenated content and every chunk's system_fingerprint."""
    stream = server.client.chat.completions.create(
        model=server.model, messages=[{"role": "user", "content": "Tell me about owls."}], max_tokens=24, temperature=0.9,
        seed=77, stream=True, stream_options={"include_usage": True})
    text, fingerprints = "", set()
    for chunk in stream:
        fingerprints.add(chunk.system_fingerprint)
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    return text, fingerprints


def first_difference(a, b, where=""):
    """The path and both values of the first place a and b differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            d = first_difference(a.get(key), b.get(key), f"{where}.{key}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if a == b else (where, repr(a)[:300], repr(b)[:300])


def compare(reference, other, names):
    for name in names:
        d = first_difference(reference[1][name], other[1][name])
        if d:
            raise AssertionError(f"{name}: {reference[0]} and {other[0]} differ at {d[0]}:\n  {d[1]}\n  {d[2]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nucleus", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--scalar", action="store_true",
                    help="also a scalar server (the attention kernel's scalar path is made bitwise separately)")
    args = ap.parse_args()
    t_all = time.time()
    configs = [("default", {}), ("avx2", {"NUCLEUS_NO_AVX512": "1"})]
    if args.scalar:
        configs.append(("scalar", {"NUCLEUS_NO_AVX2": "1", "NUCLEUS_NO_AVX512": "1"}))
    servers = [Server(args, name, env) for name, env in configs]
    failures = passed = 0
    try:
        for s in servers:
            s.wait_healthy()
        full, small, streams, versions = {}, {}, {}, {}
        # The servers run at the same time on purpose: the machine's load must not matter either.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(servers)) as pool:
            futs = {s.name: pool.submit(answers, s, s.name == "scalar") for s in servers}
            for s in servers:
                result = futs[s.name].result()
                (small if s.name == "scalar" else full)[s.name] = result
        for s in servers:
            streams[s.name] = streamed(s)
            versions[s.name] = requests.get(s.url + "/version", timeout=10).json()

        def check(name, fn):
            nonlocal failures, passed
            try:
                fn()
                passed += 1
                print(f"PASS {name}", flush=True)
            except Exception:
                failures += 1
                print(f"FAIL {name}", flush=True)
                traceback.print_exc()

        ref = ("default", full["default"])
        for name, result in full.items():
            if name != "default":
                check(f"{name} answers bitwise as the default path ({len(result)} requests)",
                      lambda r=result, n=name: compare(ref, (n, r), list(r)))
        for name, result in small.items():
            check(f"{name} answers bitwise as the default path ({len(result)} requests)",
                  lambda r=result, n=name: compare(ref, (n, r), list(r)))

        def same_fingerprint():
            prints = {name: versions[name]["system_fingerprint"] for name in versions}
            assert len(set(prints.values())) == 1, prints
            fp = next(iter(prints.values()))
            assert re.fullmatch(r"fp_[0-9a-f]{12}", fp), fp
            parts = versions["default"]["fingerprint_parts"]
            assert re.fullmatch(r"cpu-exact-v1\+\S+", parts["determinism_class"]), parts
            assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", parts["version"]), parts
            assert versions["default"]["version"] == parts["version"], versions["default"]
            for result in list(full.values()) + list(small.values()):
                for r in result.values():
                    assert r["system_fingerprint"] == fp, r["system_fingerprint"]
            for name, (_, chunk_prints) in streams.items():
                assert chunk_prints == {fp}, (name, chunk_prints)
            print(f"  system_fingerprint {fp} ({parts})")

        check("the same system_fingerprint in /version, every response and every stream chunk", same_fingerprint)

        def same_stream():
            texts = {name: text for name, (text, _) in streams.items()}
            assert len(set(texts.values())) == 1, texts
            assert texts["default"], "empty stream"

        check("a seeded stream gives the same text on every path", same_stream)
    finally:
        for s in servers:
            s.stop()
    print(f"{passed} passed, {failures} failed ({time.time() - t_all:.0f} s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
