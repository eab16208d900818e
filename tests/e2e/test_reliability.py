#!/usr/bin/env python3
"""Reliability: the real `nucleus serve` on loopback against slow, silent, rude
and hostile clients, and against its own memory.

  python tests/e2e/test_reliability.py --nucleus build/release/app/nucleus --model MODEL [--long] [--only REGEX]

Every loop is bounded; the default run takes a few minutes on two cores,
--long soaks and fuzzes for longer. Prints one line per check with the figures
it measured, exits non-zero when any check fails.
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

import requests

CHECKS = []


def check(name):
    def wrap(fn):
        CHECKS.append((name, fn))
        return fn
    return wrap


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `nucleus serve` process; `extra` are its options."""

    def __init__(self, args, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(f"/tmp/nucleus-reliability-{self.port}.log", "w")
        cmd = [args.nucleus, "serve", "--model", args.model, "--port", str(self.port), *extra]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy")

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def metrics(self):
        values = {}
        for line in requests.get(self.url + "/metrics", timeout=5).text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def wait_idle(self, timeout=20):
        """Until nothing runs or waits and no KV block is used; returns the last metrics."""
        deadline = time.time() + timeout
        while True:
            m = self.metrics()
            if (m["nucleus:num_requests_running"] == 0 and m["nucleus:num_requests_waiting"] == 0
                    and m["nucleus:kv_cache_blocks_used"] == 0):
                return m
            if time.time() > deadline:
                raise AssertionError(f"not idle after {timeout} s: running {m['nucleus:num_requests_running']}, "
                                     f"waiting {m['nucleus:num_requests_waiting']}, "
                                     f"blocks used {m['nucleus:kv_cache_blocks_used']}")
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def complete(url, prompt="The capital of France is", max_tokens=2, timeout=30, **extra):
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, **extra}
    return requests.post(url + "/v1/completions", json=body, timeout=timeout)


def timed_completion(url):
    t0 = time.time()
    r = complete(url, timeout=10)
    assert r.status_code == 200, r.text
    return time.time() - t0


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def read_response(sock, timeout=10):
    """Everything the server sends until it closes (or `timeout`): (status or None, body text)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(m.group(1)) if m else None), data.partition(b"\r\n\r\n")[2].decode(errors="replace")


class SlowClients:
    """`count` connections that send a partial request header one byte every `interval` s until stopped."""

    PARTIAL = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: "

    def __init__(self, port, count, interval=1.0, silent=False):
        self.socks = []
        for _ in range(count):
            s = connect(port)
            if not silent:
                s.sendall(self.PARTIAL)
            self.socks.append(s)
        self.silent = silent
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self):
        while not self.stopped.wait(self.interval):
            if self.silent:
                continue
            for s in self.socks:
                try:
                    s.send(b"a")
                except OSError:
                    pass

    def closed_by_server(self):
        """How many the server has closed (read EOF or reset), and the statuses it answered them with."""
        closed, statuses = 0, {}
        for s in self.socks:
            s.setblocking(False)
            try:
                data = s.recv(65536)
                if data == b"":
                    closed += 1
                else:
                    status = int(data.split(b" ")[1])
                    statuses[status] = statuses.get(status, 0) + 1
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        return closed, statuses

    def close(self):
        self.stopped.set()
        self.thread.join()
        for s in self.socks:
            s.close()


# ---- connections: slow and silent clients, the connection cap, body deadline ----

@check("256 slow-header clients and 64 silent ones hold no worker: a normal request is answered within 1 s; after "
       "--header-timeout the slow ones get 408 and are closed")
def _(args):
    srv = Server(args, "--kv-cache-memory", "64MiB", "--header-timeout", "4", "--max-connections", "400")
    try:
        timed_completion(srv.url)  # warm
        slow = SlowClients(srv.port, 256, interval=1.0)
        silent = SlowClients(srv.port, 64, silent=True)
        try:
            time.sleep(1.5)  # every slow client has dripped at least once
            times = [timed_completion(srv.url) for _ in range(5)]
            print(f"    320 connections held open; 5 completions answered in max {max(times):.3f} s")
            assert max(times) < 1.0, times
            time.sleep(4.0)
            closed, statuses = slow.closed_by_server()
            silent_closed, _ = silent.closed_by_server()
            print(f"    after the header timeout: {closed}/256 slow closed {statuses}, {silent_closed}/64 silent closed")
            assert closed == 256 and statuses.get(408, 0) == 256, (closed, statuses)
            assert silent_closed == 64, silent_closed
        finally:
            slow.close()
            silent.close()
        timed_completion(srv.url)
    finally:
        srv.stop()


@check("over --max-connections a new connection gets 503 with an OpenAI error body; freed slots serve again")
def _(args):
    srv = Server(args, "--kv-cache-memory", "64MiB", "--max-connections", "8")
    try:
        time.sleep(0.5)  # the start-up health probes' connections are closed and no longer count
        held = SlowClients(srv.port, 8, silent=True)
        try:
            time.sleep(0.3)
            s = connect(srv.port)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            status, body = read_response(s)
            s.close()
            assert status == 503, (status, body)
            error = json.loads(body)["error"]
            assert "max-connections" in error["message"], error
        finally:
            held.close()
        time.sleep(0.3)
        assert requests.get(srv.url + "/health", timeout=5).status_code == 200
    finally:
        srv.stop()


@check("a body sent too slowly ends at --body-timeout with a 400; a header larger than the limit gets 431")
def _(args):
    srv = Server(args, "--kv-cache-memory", "64MiB", "--body-timeout", "2")
    try:
        s = connect(srv.port)
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"prompt\": ")
        t0 = time.time()
        status, body = read_response(s, timeout=10)
        elapsed = time.time() - t0
        s.close()
        print(f"    slow body answered {status} after {elapsed:.2f} s")
        assert status == 400 and 1.5 < elapsed < 4, (status, elapsed, body)
        s = connect(srv.port)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 70000)
        status, body = read_response(s)
        s.close()
        assert status == 431, (status, body)
        assert requests.get(srv.url + "/health", timeout=5).status_code == 200
    finally:
        srv.stop()


# ---- shutdown ----

def sigterm_exit_seconds(srv):
    t0 = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    srv.proc.wait(timeout=120)
    return time.time() - t0, srv.proc.returncode


@check("SIGTERM with a slow-header client, a silent one and an idle keep-alive connection: exit 0 within 1 s")
def _(args):
    srv = Server(args, "--kv-cache-memory", "64MiB", "--shutdown-timeout", "5", "--header-timeout", "60")
    try:
        session = requests.Session()
        assert session.post(srv.url + "/v1/completions", json={"prompt": "Hi", "max_tokens": 2}).status_code == 200
        slow = SlowClients(srv.port, 1, interval=0.5)
        silent = SlowClients(srv.port, 1, silent=True)
        time.sleep(1)
        elapsed, rc = sigterm_exit_seconds(srv)
        slow.close()
        silent.close()
        print(f"    exit {rc} {elapsed:.2f} s after SIGTERM (nothing running)")
        assert rc == 0 and elapsed < 1.0, (rc, elapsed)
    finally:
        srv.stop()


@check("SIGTERM during a long generation whose client does not read, with a slow-header client: exit 0 within "
       "--shutdown-timeout + 1 s")
def _(args):
    timeout = 3
    srv = Server(args, "--kv-cache-memory", "64MiB", "--shutdown-timeout", str(timeout), "--header-timeout", "60")
    try:
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 1200, "stream": True, "ignore_eos": True}).encode()
        reader = connect(srv.port)  # sends its request, never reads the stream
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        slow = SlowClients(srv.port, 1, interval=0.5)
        time.sleep(2)
        assert srv.metrics()["nucleus:num_requests_running"] == 1
        elapsed, rc = sigterm_exit_seconds(srv)
        slow.close()
        reader.close()
        print(f"    exit {rc} {elapsed:.2f} s after SIGTERM (--shutdown-timeout {timeout})")
        assert rc == 0 and elapsed < timeout + 1, (rc, elapsed)
    finally:
        srv.stop()


# ---- memory ----

@check("per-request bounds: prompts x n over --max-request-sequences is a 400 naming the parameter; RSS after the "
       "largest allowed request returns within 64 MiB of its warm level")
def _(args):
    srv = Server(args, "--kv-cache-memory", "64MiB")
    try:
        ids = list(range(1000, 1100))
        r = complete(srv.url, prompt=[ids] * 64, max_tokens=4, n=128)
        assert r.status_code == 400 and r.json()["error"]["param"] == "prompt", r.text
        assert "8192 sequences" in r.json()["error"]["message"], r.text
        r = requests.post(srv.url + "/v1/chat/completions", timeout=30,
                          json={"messages": [{"role": "user", "content": "Hi"}], "n": 64, "logprobs": True,
                                "top_logprobs": 20})  # no max_tokens: up to the 8192-token context each
        assert r.status_code == 400 and r.json()["error"]["param"] == "top_logprobs", r.text
        # The largest allowed: 16 prompts x n 16 = 256 sequences, with logprobs.
        big = dict(prompt=[ids] * 16, max_tokens=8, n=16, temperature=1.0, seed=1, logprobs=5)
        for _ in range(1):  # warm: the allocator's pools, the step buffers at their largest
            assert complete(srv.url, **big, timeout=300).status_code == 200
        srv.wait_idle()
        warm = srv.rss_mib()
        for _ in range(2):
            r = complete(srv.url, **big, timeout=300)
            assert r.status_code == 200 and len(r.json()["choices"]) == 256, r.text[:200]
        srv.wait_idle()
        after = srv.rss_mib()
        print(f"    RSS warm {warm:.0f} MiB, after 2 more 256-sequence requests {after:.0f} MiB")
        assert after - warm < 64, (warm, after)
    finally:
        srv.stop()
    srv = Server(args, "--kv-cache-memory", "64MiB", "--max-request-sequences", "8")
    try:
        r = complete(srv.url, max_tokens=2, n=9)
        assert r.status_code == 400 and r.json()["error"]["param"] == "n", r.text
        r = complete(srv.url, prompt=["a", "b", "c"], max_tokens=2, n=3)
        assert r.status_code == 400 and r.json()["error"]["param"] == "prompt", r.text
        r = complete(srv.url, max_tokens=2, n=2, use_beam_search=True, best_of=9)
        assert r.status_code == 400 and r.json()["error"]["param"] == "n", r.text
        assert complete(srv.url, prompt=["a", "b"], max_tokens=2, n=4).status_code == 200
    finally:
        srv.stop()


@check("the default KV cache is sized from the model's context and logged")
def _(args):
    srv = Server(args)
    try:
        m = srv.metrics()
        with open(srv.log.name) as f:
            line = next(l for l in f if "KV cache:" in l)
        print(f"    {line.strip()[line.index('KV cache:'):]}; RSS {srv.rss_mib():.0f} MiB")
        assert "context" in line or "--max-seqs" in line, line
        block = int(re.search(r"blocks of (\d+)", line).group(1))  # "(1024 blocks of 32)"
        tokens = m["nucleus:kv_cache_blocks_total"] * block
        assert tokens >= 2 * 8192 or "capped" in line, (tokens, line)  # the default model's context is 8192
        assert srv.rss_mib() < 1500, srv.rss_mib()
    finally:
        srv.stop()


# ---- soak ----

def soak_client(url, stop_at, rng, counts, lock):
    while time.time() < stop_at:
        kind = rng.choice(["stream_hangup", "stream", "complete", "chat", "chat_hangup"])
        body = {"max_tokens": rng.randint(4, 48), "temperature": 0.7, "seed": rng.randint(0, 999)}
        chat = kind.startswith("chat")
        if chat:
            body["messages"] = [{"role": "user", "content": rng.choice(["Hi", "Tell me a story.", "Count to ten."])}]
        else:
            body["prompt"] = rng.choice(["Once upon a time", "The capital of France is", "def fib(n):"])
        body["stream"] = kind != "complete" and kind != "chat"
        path = "/v1/chat/completions" if chat else "/v1/completions"
        try:
            with requests.post(url + path, json=body, stream=True, timeout=60) as r:
                status = r.status_code
                if kind.endswith("hangup"):
                    for i, _ in enumerate(r.iter_content(chunk_size=16)):
                        if i >= rng.randint(1, 4):
                            break  # leaves with the generation running
                else:
                    r.content
        except requests.RequestException:
            status = "exception"
        with lock:
            counts[(kind, status)] = counts.get((kind, status), 0) + 1


@check("soak: clients streaming, reading and hanging up mid-stream; afterwards nothing runs, no KV block is used, "
       "no 5xx, and RSS is flat after warm-up")
def _(args):
    seconds = 300 if args.long else 36
    srv = Server(args, "--kv-cache-memory", "64MiB")
    try:
        counts, lock = {}, threading.Lock()
        rss = []
        start = time.time()
        threads = [threading.Thread(target=soak_client,
                                    args=(srv.url, start + seconds, random.Random(i), counts, lock))
                   for i in range(6)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(seconds / 12)
            rss.append(srv.rss_mib())
        for t in threads:
            t.join()
        m = srv.wait_idle()
        total = sum(counts.values())
        bad = {k: v for k, v in counts.items() if k[1] == "exception" or (isinstance(k[1], int) and k[1] >= 500)}
        hangups = sum(v for k, v in counts.items() if k[0].endswith("hangup"))
        warm = rss[len(rss) // 3]
        aborted = m.get('nucleus:request_success_total{finished_reason="abort"}', 0)
        print(f"    {total} requests ({hangups} hung up) in {seconds} s, finished abort {aborted:.0f}; RSS after warm-up "
              f"{warm:.0f} -> {rss[-1]:.0f} MiB (max {max(rss):.0f})")
        assert not bad, bad
        assert total > 20, counts
        assert rss[-1] - warm < 48, rss
    finally:
        srv.stop()


@check("a client that hangs up while its long prompt is prefilled (streamed, collected, chat streamed) aborts it "
       "before any token: the log says completion_tokens=0 finish=aborted and the engine is idle again; one that "
       "half-closes (still reading) gets its whole answer")
def _(args):
    srv = Server(args, "--threads", "1", "--max-batched-tokens", "256")
    try:
        cases = [("/v1/completions", {"prompt": [1001] * 3000, "max_tokens": 32, "stream": True}),
                 ("/v1/completions", {"prompt": [1002] * 3000, "max_tokens": 32}),
                 ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x " * 3000}], "max_tokens": 32,
                                           "stream": True})]
        for path, payload in cases:
            body = json.dumps(payload).encode()
            s = connect(srv.port)
            s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                      % (path.encode(), len(body)) + body)
            time.sleep(1.0)  # the prefill of ~3000 tokens on 1 thread takes several seconds
            s.close()
            srv.wait_idle(timeout=60)
        deadline = time.time() + 10
        while True:
            with open(srv.log.name) as f:
                lines = [l for l in f if " request id=" in l and "prompt_tokens=30" in l]
            if len(lines) == len(cases) or time.time() > deadline:
                break
            time.sleep(0.2)
        for line in lines:
            print("    " + line.split(" request ", 1)[1].strip())
        assert len(lines) == len(cases), lines
        for line in lines:
            assert "completion_tokens=0 " in line and "finish=aborted" in line, line
        # A client that only shuts down its sending side (nc -N, Go's CloseWrite) still reads: it gets the whole
        # answer, collected or streamed (SSE comments may come while it waits), never an aborted one.
        for stream in (False, True):
            body = json.dumps({"prompt": [1003] * 600, "max_tokens": 5, "temperature": 0, "stream": stream}).encode()
            s = connect(srv.port)
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                      b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            s.close()
            text = data.decode()
            assert text.startswith("HTTP/1.1 200"), text[:200]
            if stream:
                assert text.count('"text"') == 5 and "data: [DONE]" in text, text[-300:]
            else:
                assert '"completion_tokens":5' in text and '"finish_reason":"length"' in text, text[-300:]
    finally:
        srv.stop()


# ---- preemption ----

@check("preemption under a tiny KV cache: 8 concurrent seeded requests give the texts they give alone")
def _(args):
    srv = Server(args, "--kv-cache-memory", "12MiB", "--max-seqs", "8")
    try:
        prompts = [f"Story number {i}: Once upon a time, in a land far away," for i in range(8)]
        bodies = [{"prompt": p, "max_tokens": 96, "temperature": 0.9, "seed": 100 + i, "ignore_eos": True}
                  for i, p in enumerate(prompts)]
        before = srv.metrics()["nucleus:num_preemptions_total"]
        results = [None] * len(bodies)

        def run(i):
            results[i] = requests.post(srv.url + "/v1/completions", json=bodies[i], timeout=300).json()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        preempted = srv.metrics()["nucleus:num_preemptions_total"] - before
        alone = [requests.post(srv.url + "/v1/completions", json=b, timeout=300).json() for b in bodies]
        mismatches = sum(r["choices"][0]["text"] != a["choices"][0]["text"] for r, a in zip(results, alone))
        print(f"    {preempted:.0f} preemptions, {mismatches} of {len(bodies)} outputs differ from alone runs")
        assert preempted > 0, "the cache was not small enough to preempt"
        assert mismatches == 0
        srv.wait_idle()
    finally:
        srv.stop()


# ---- fuzz ----

JUNK = [None, True, False, 0, -1, 1, 2, 7, 3.5, -0.0, 1e308, -1e308, 2**63, -2**63, 2**64, "", "x", "\u0000",
        "\ud7ff" * 3, "a" * 3000, [], [1], [[]], ["a", 1], {}, {"a": 1}, {"type": "json_object"}, [0] * 40]
KEYS = ["prompt", "messages", "max_tokens", "n", "temperature", "top_p", "top_k", "min_p", "stop", "stream",
        "logprobs", "top_logprobs", "echo", "best_of", "seed", "logit_bias", "presence_penalty",
        "frequency_penalty", "repetition_penalty", "response_format", "stream_options", "use_beam_search",
        "min_tokens", "ignore_eos", "stop_token_ids", "prompt_logprobs", "tools", "tool_choice", "guided_json",
        "guided_regex", "guided_choice", "structured_outputs", "speculative", "length_penalty", "n_probs",
        "add_generation_prompt", "continue_final_message", "model", "user", "suffix", "max_completion_tokens"]


def mutate(base, rng):
    body = json.loads(json.dumps(base))
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        key = rng.choice(KEYS)
        if op < 0.5:
            body[key] = rng.choice(JUNK)
        elif op < 0.6:
            body.pop(rng.choice(list(body) or ["x"]), None)
        elif op < 0.75 and "messages" in body and isinstance(body["messages"], list) and body["messages"]:
            msg = rng.choice(body["messages"])
            if isinstance(msg, dict):
                msg[rng.choice(["role", "content", "name", "tool_calls", "tool_call_id"])] = rng.choice(JUNK)
        else:
            body[key] = {"nested": rng.choice(JUNK), "list": [rng.choice(JUNK)]}
    # Keep each request short: lengths stay small unless the mutation made them the wrong type.
    for length in ("max_tokens", "max_completion_tokens", "min_tokens"):
        if isinstance(body.get(length), (int, float)) and not isinstance(body.get(length), bool) \
                and body[length] > 8:
            body[length] = 8
    if "max_tokens" not in body and "max_completion_tokens" not in body:
        body["max_tokens"] = 4
    return body


def raw_post(port, path, payload, timeout=60):
    s = connect(port)
    s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    status, _ = read_response(s, timeout=timeout)
    s.close()
    return status


@check("JSON mutation fuzz of /v1/completions and /v1/chat/completions: no 5xx, the server keeps serving")
def _(args):
    per_route = 1500 if args.long else 250
    srv = Server(args, "--kv-cache-memory", "64MiB")
    rng = random.Random(18)
    bases = {
        "/v1/completions": {"prompt": "Hello", "max_tokens": 4, "temperature": 0.5, "seed": 3},
        "/v1/chat/completions": {"messages": [{"role": "system", "content": "Be brief."},
                                              {"role": "user", "content": "Hi"}], "max_tokens": 4, "seed": 3},
    }
    statuses = {}
    try:
        for path, base in bases.items():
            for i in range(per_route):
                body = mutate(base, rng)
                payload = json.dumps(body, allow_nan=True).encode()
                if i % 10 == 9:  # byte-level damage too: cut short or one byte changed
                    cut = rng.randrange(len(payload))
                    payload = payload[:cut] if rng.random() < 0.5 else \
                        payload[:cut] + bytes([rng.randrange(256)]) + payload[cut + 1:]
                status = raw_post(srv.port, path, payload)
                statuses[status] = statuses.get(status, 0) + 1
                if status is None or status >= 500:
                    raise AssertionError(f"{path} answered {status} to {payload[:400]!r}")
        srv.wait_idle()
        print(f"    {2 * per_route} mutated requests: statuses {dict(sorted(statuses.items()))}")
        assert srv.proc.poll() is None
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nucleus", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--only", default="", help="run only the checks whose name matches this regex")
    ap.add_argument("--long", action="store_true", help="soak and fuzz for longer (benchmark runs, not CI)")
    args = ap.parse_args()
    checks = [(n, f) for n, f in CHECKS if re.search(args.only, n)] if args.only else CHECKS
    failures = 0
    t_all = time.time()
    for name, fn in checks:
        t0 = time.time()
        try:
            fn(args)
            print(f"PASS {name} ({time.time() - t0:.1f}s)", flush=True)
        except Exception:
            failures += 1
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
    print(f"{len(checks) - failures} passed, {failures} failed ({time.time() - t_all:.0f} s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
