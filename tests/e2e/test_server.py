#!/usr/bin/env python3
"""End-to-end tests: the real `nucleus serve` on loopback, driven by the
official `openai` Python client, raw HTTP and curl.

  python tests/e2e/test_server.py --nucleus build/release/app/nucleus --model MODEL

Exits non-zero when any check fails; prints one line per check.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback

import openai
import requests

RESULTS = []


def check(name):
    def wrap(fn):
        RESULTS.append((name, fn))
        return fn
    return wrap


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --device given to the script: every server it starts runs there (default: serve's own default, auto).
DEVICE_ARGS = []


class Server:
    def __init__(self, binary, model, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(f"/tmp/nucleus-e2e-{self.port}.log", "w")
        defaults = ["--max-body", "1MiB"] + ([] if "--kv-cache-memory" in extra else ["--kv-cache-memory", "512MiB"])
        defaults += [] if "--device" in extra else DEVICE_ARGS
        self.proc = subprocess.Popen([binary, "serve", "--model", model, "--port", str(self.port), *defaults, *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT)
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

    def stop(self, sig_timeout=30):
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=sig_timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def metrics(url):
    text = requests.get(url + "/metrics", timeout=5).text
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        values[name] = float(value)
    return values


def metric(values, prefix):
    return sum(v for k, v in values.items() if k.split("{")[0] == prefix)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nucleus", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--only", default="", help="run only the checks whose name matches this regex")
    ap.add_argument("--device", default="", help="cpu, cuda or auto for every server started (default: serve's)")
    args = ap.parse_args()
    if args.device:
        DEVICE_ARGS[:] = ["--device", args.device]
    if args.only:
        RESULTS[:] = [(name, fn) for name, fn in RESULTS if re.search(args.only, name)]

    srv = Server(args.nucleus, args.model)
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=120)
    model = client.models.list().data[0].id
    # The device serve resolved: what the speculative checks may claim depends on it.
    device = requests.get(srv.url + "/props", timeout=5).json()["device"]
    print(f"device: {device}")
    ctx = {"srv": srv, "client": client, "model": model, "args": args, "device": device}
    failures = 0
    try:
        for name, fn in RESULTS:
            t0 = time.time()
            try:
                fn(ctx)
                print(f"PASS {name} ({time.time() - t0:.1f}s)")
            except Exception:
                failures += 1
                print(f"FAIL {name}")
                traceback.print_exc()
    finally:
        rc = srv.stop()
        print(f"server exit code after SIGTERM: {rc}")
        if rc != 0:
            failures += 1
            print("FAIL graceful shutdown exits 0")
    print(f"{len(RESULTS) - failures + (1 if rc == 0 else 0)} passed, {failures} failed")
    sys.exit(1 if failures else 0)


# ---- with the official openai client ----

@check("models lists the served model")
def _(c):
    ids = [m.id for m in c["client"].models.list().data]
    assert ids == [c["model"]], ids
    assert c["client"].models.retrieve(c["model"]).id == c["model"]  # GET /v1/models/{model}
    try:
        c["client"].models.retrieve("no-such-model")
        raise AssertionError("an unknown model was retrieved")
    except openai.NotFoundError:
        pass


@check("chat completion (non-streaming) answers and reports usage")
def _(c):
    r = c["client"].chat.completions.create(model=c["model"], max_tokens=32, temperature=0,
                                            messages=[{"role": "system", "content": "You are a helpful assistant."},
                                                      {"role": "user", "content": "What is the capital of France?"}])
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert "Paris" in r.choices[0].message.content, r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 5 and r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


@check("chat streaming: role first, content deltas, finish_reason on the last chunk, usage only when asked")
def _(c):
    stream = c["client"].chat.completions.create(model=c["model"], max_tokens=20, temperature=0, stream=True,
                                                 messages=[{"role": "user", "content": "Count to five."}])
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text.strip(), "empty streamed text"
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
    assert finishes[-1] in ("stop", "length") and all(f is None for f in finishes[:-1]), finishes
    assert all(ch.usage is None for ch in chunks)
    stream = c["client"].chat.completions.create(model=c["model"], max_tokens=5, temperature=0, stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "Hi"}])
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5, chunks[-1]
    # The streamed text equals the non-streamed one (greedy).
    full = c["client"].chat.completions.create(model=c["model"], max_tokens=5, temperature=0,
                                               messages=[{"role": "user", "content": "Hi"}])
    streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert streamed == full.choices[0].message.content, (streamed, full.choices[0].message.content)


@check("completions: string, list of strings, token ids; max_tokens -> length")
def _(c):
    cl = c["client"]
    r = cl.completions.create(model=c["model"], prompt="The capital of France is", max_tokens=6, temperature=0)
    assert r.object == "text_completion" and r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 6
    r2 = cl.completions.create(model=c["model"], prompt=["One, two,", "Red, green,"], max_tokens=4, temperature=0)
    assert [ch.index for ch in r2.choices] == [0, 1]
    ids = requests.post(c["srv"].url + "/tokenize", json={"prompt": "The capital of France is"}).json()["tokens"]
    r3 = cl.completions.create(model=c["model"], prompt=ids, max_tokens=6, temperature=0)
    assert r3.choices[0].text == r.choices[0].text, (r3.choices[0].text, r.choices[0].text)
    r4 = cl.completions.create(model=c["model"], prompt="Hello", max_tokens=3, temperature=0, echo=True)
    assert r4.choices[0].text.startswith("Hello")
    # Streamed with echo, each choice's text starts with its own prompt too (it was dropped).
    chunks = list(cl.completions.create(model=c["model"], prompt=["Hello", "Red, green,"], max_tokens=3, n=2,
                                        temperature=0, echo=True, stream=True, extra_body={"ignore_eos": True}))
    texts = {}
    for ch in chunks:
        for choice in ch.choices:
            texts[choice.index] = texts.get(choice.index, "") + choice.text
    assert texts[0] == texts[1] == r4.choices[0].text and texts[2].startswith("Red, green,"), texts


@check("completions: echo with logprobs scores the prompt (as lm-eval-harness asks), consistent with generation")
def _(c):
    cl, url = c["client"], c["srv"].url
    prompt = "The capital of France is"
    gen = cl.completions.create(model=c["model"], prompt=prompt, max_tokens=6, temperature=0, logprobs=2,
                                extra_body={"ignore_eos": True})
    completion = gen.choices[0].text
    ids = requests.post(url + "/tokenize", json={"prompt": prompt}).json()["tokens"]
    full_ids = requests.post(url + "/tokenize", json={"prompt": prompt + completion}).json()["tokens"]
    r = cl.completions.create(model=c["model"], prompt=prompt + completion, max_tokens=1, temperature=0,
                              logprobs=2, echo=True)
    lp = r.choices[0].logprobs
    assert r.choices[0].text.startswith(prompt + completion), r.choices[0].text
    assert len(lp.tokens) == len(full_ids) + 1 == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset)
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None, (lp.token_logprobs[0], lp.top_logprobs[0])
    assert all(x <= 0 for x in lp.token_logprobs[1:]), lp.token_logprobs
    assert lp.text_offset == sorted(lp.text_offset) and lp.text_offset[0] == 0, lp.text_offset
    assert "".join(lp.tokens[:len(full_ids)]) == prompt + completion, lp.tokens
    for i, top in enumerate(lp.top_logprobs[1:], 1):
        # The prompt's own token is always listed, with the top 2.
        assert lp.tokens[i] in top and 2 <= len(top) <= 3 and top[lp.tokens[i]] == lp.token_logprobs[i], (i, top)
    # Where the prompt repeats what greedy decoding produced, the prompt path and
    # the sampling path must give the same logprobs and alternatives.
    if full_ids[:len(ids)] == ids and len(full_ids) == len(ids) + 6:
        for k in range(6):
            a, b = lp.token_logprobs[len(ids) + k], gen.choices[0].logprobs.token_logprobs[k]
            assert abs(a - b) < 1e-4, (k, a, b)
            assert set(lp.top_logprobs[len(ids) + k]) == set(gen.choices[0].logprobs.top_logprobs[k]), k
            # Greedy: each generated token is the argmax, which the prompt path ranks first too.
            top = lp.top_logprobs[len(ids) + k]
            assert max(top, key=top.get) == lp.tokens[len(ids) + k], (k, top)
    else:
        print(f"    (re-tokenizing the completion changed its tokens; {len(full_ids)} vs {len(ids)} + 6)")
    # Streamed: the first chunk carries the prompt's logprobs before the first generated token's.
    chunks = list(cl.completions.create(model=c["model"], prompt=prompt, max_tokens=2, temperature=0, logprobs=0,
                                        echo=True, stream=True))
    first = next(ch for ch in chunks if ch.choices and ch.choices[0].logprobs)
    flp = first.choices[0].logprobs
    assert flp.tokens[:len(ids)] == lp.tokens[:len(ids)] and flp.token_logprobs[0] is None, flp.tokens
    if full_ids[:len(ids)] == ids:  # the same prefix: bitwise the same logits (batch invariance)
        assert flp.token_logprobs[1:len(ids)] == lp.token_logprobs[1:len(ids)], (flp.token_logprobs, lp.token_logprobs)
    # max_tokens 0 with echo (lm-eval-harness's loglikelihood, served by vLLM): the prompt scored, nothing
    # generated, the same logprobs as the prompt's part of a max_tokens 1 request; streamed the same.
    zero = cl.completions.create(model=c["model"], prompt=prompt + completion, max_tokens=0, logprobs=2, echo=True)
    ch = zero.choices[0]
    assert ch.text == prompt + completion and ch.finish_reason == "length", (ch.text, ch.finish_reason)
    assert ch.logprobs.tokens == lp.tokens[:len(full_ids)], (ch.logprobs.tokens, lp.tokens)
    assert ch.logprobs.token_logprobs == lp.token_logprobs[:len(full_ids)]
    assert zero.usage.completion_tokens == 0 and zero.usage.prompt_tokens == len(full_ids), zero.usage
    streamed = list(cl.completions.create(model=c["model"], prompt=prompt + completion, max_tokens=0, logprobs=2,
                                          echo=True, stream=True))
    text = "".join(x.choices[0].text for x in streamed if x.choices)
    assert text == prompt + completion, text
    try:
        cl.completions.create(model=c["model"], prompt=prompt, max_tokens=0)
        raise AssertionError("max_tokens 0 without echo was accepted")
    except openai.BadRequestError as e:
        assert e.body["param"] == "max_tokens", e.body


@check("response_format json_object: the answer is one JSON object (greedy, sampled, streamed, completions too)")
def _(c):
    cl = c["client"]
    asks = ["Describe a cat as a JSON object with name, age and color.",
            "What is the capital of France? Answer in JSON."]
    for ask in asks:
        for kw in (dict(temperature=0), dict(temperature=0.7, seed=5)):
            r = cl.chat.completions.create(model=c["model"], messages=[{"role": "user", "content": ask}],
                                           max_tokens=200, response_format={"type": "json_object"}, **kw)
            text = r.choices[0].message.content
            if r.choices[0].finish_reason == "length" and kw["temperature"] > 0:
                continue  # a sampled answer may ramble past max_tokens: still a JSON prefix, not a whole object
            assert r.choices[0].finish_reason == "stop", (ask, kw, r.choices[0].finish_reason, text)
            assert isinstance(json.loads(text), dict), text
    stream = cl.chat.completions.create(model=c["model"], messages=[{"role": "user", "content": asks[1]}],
                                        max_tokens=200, temperature=0, stream=True,
                                        response_format={"type": "json_object"})
    streamed = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
    greedy = cl.chat.completions.create(model=c["model"], messages=[{"role": "user", "content": asks[1]}],
                                        max_tokens=200, temperature=0, response_format={"type": "json_object"})
    assert streamed == greedy.choices[0].message.content, (streamed, greedy.choices[0].message.content)
    plain = cl.chat.completions.create(model=c["model"], messages=[{"role": "user", "content": asks[0]}],
                                       max_tokens=60, temperature=0)
    try:
        json.loads(plain.choices[0].message.content)
        print("    (note: this model's plain answer parsed as JSON too)")
    except ValueError:
        pass  # without JSON mode the model wraps its answer in prose or a code fence
    # /v1/completions takes it too (as vLLM). The prompt sets a short shape for this small model to follow.
    r = cl.completions.create(model=c["model"], prompt='Rex is a dog aged 3. As JSON: {"name": "Rex", "age": 3}\n'
                              'Tom is a cat aged 5. As JSON:', max_tokens=60, temperature=0,
                              extra_body={"response_format": {"type": "json_object"}})
    assert r.choices[0].finish_reason == "stop" and isinstance(json.loads(r.choices[0].text), dict), r.choices[0]


PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"enum": ["cat", "dog", "bird"]}, "maxItems": 3},
        "address": {"anyOf": [{"type": "null"},
                              {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}},
                               "required": ["city"], "additionalProperties": False}]},
    },
    "required": ["name", "age", "email", "tags", "address"],
    "additionalProperties": False,
}


@check("response_format json_schema (openai client): every answer validates with jsonschema, keys in schema order, "
       "streamed == not streamed, n=2, completions too")
def _(c):
    import jsonschema
    cl = c["client"]
    rf = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON_SCHEMA, "strict": True}}
    msgs = [{"role": "user", "content": "Make up a person as JSON."}]
    validator = jsonschema.Draft202012Validator(PERSON_SCHEMA,
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    answers = 0
    for kw in (dict(temperature=0), dict(temperature=1.0, seed=1), dict(temperature=1.0, seed=2, n=2)):
        r = cl.chat.completions.create(model=c["model"], messages=msgs, max_tokens=300, response_format=rf, **kw)
        for ch in r.choices:
            assert ch.finish_reason == "stop", (kw, ch.finish_reason, ch.message.content)
            doc = json.loads(ch.message.content)
            validator.validate(doc)
            assert list(doc) == list(PERSON_SCHEMA["properties"]), list(doc)  # the schema's order, not sorted
            answers += 1
    stream = cl.chat.completions.create(model=c["model"], messages=msgs, max_tokens=300, temperature=1.0, seed=1,
                                        response_format=rf, stream=True)
    streamed = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
    again = cl.chat.completions.create(model=c["model"], messages=msgs, max_tokens=300, temperature=1.0, seed=1,
                                       response_format=rf)
    assert streamed == again.choices[0].message.content, (streamed, again.choices[0].message.content)
    r = cl.completions.create(model=c["model"], prompt="A person as JSON:", max_tokens=300, temperature=0.8, seed=3,
                              extra_body={"response_format": rf})
    validator.validate(json.loads(r.choices[0].text))
    print(f"    {answers + 2} schema answers validated")


@check("structured output errors: a grammar too ambiguous to follow is a 400 naming its parameter (not 200 and an "
       "error body; streamed, an error event then [DONE]); a type beside enum narrows it; ignore_eos with a grammar is "
       "refused; the new string formats and a bounded number validate")
def _(c):
    import jsonschema
    cl = c["client"]
    ambiguous = 'root ::= a a a a a a a a a a\na ::= b b b b b b b b\nb ::= c c c c c c c c\nc ::= "x"? "y"?'
    for param in ("grammar", "guided_grammar"):
        try:
            cl.chat.completions.create(model=c["model"], messages=[{"role": "user", "content": "hi"}], max_tokens=8,
                                       extra_body={param: ambiguous})
            raise AssertionError(f"{param}: no error")
        except openai.BadRequestError as e:
            assert e.body["param"] == param and "too ambiguous" in e.body["message"], e.body
    # Streamed, the error is an event and [DONE] still ends the stream.
    r = requests.post(c["srv"].url + "/v1/chat/completions", json=dict(
        model=c["model"], messages=[{"role": "user", "content": "hi"}], max_tokens=8, stream=True, grammar=ambiguous))
    events = [e for e in r.text.split("\n\n") if e.strip()]
    assert any("too ambiguous" in e and '"param":"grammar"' in e for e in events), r.text[-400:]
    assert events[-1] == "data: [DONE]", events[-3:]
    def refused(body, param):
        r = requests.post(c["srv"].url + "/v1/chat/completions", json=dict(
            model=c["model"], messages=[{"role": "user", "content": "hi"}], max_tokens=20, **body))
        assert r.status_code == 400 and r.json()["error"]["param"] == param, (body, r.status_code, r.text)
    refused({"response_format": {"type": "json_schema", "json_schema": {
        "name": "a", "schema": {"type": "string", "enum": [1, 2]}}}}, "response_format")
    refused({"response_format": {"type": "json_schema", "json_schema": {
        "name": "a", "schema": {"type": "string", "const": 3}}}}, "response_format")
    refused({"guided_choice": ["a", "b"], "ignore_eos": True}, "ignore_eos")
    schema = {"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["x", 1, "y", None]},
        "ip": {"type": "string", "format": "ipv4"}, "ip6": {"type": "string", "format": "ipv6"},
        "host": {"type": "string", "format": "hostname"}, "wait": {"type": "string", "format": "duration"},
        "load": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}},
        "required": ["kind", "ip", "ip6", "host", "wait", "load"], "additionalProperties": False}
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    valid = 0
    for seed in range(4):
        r = cl.chat.completions.create(model=c["model"], messages=[{"role": "user", "content": "A server as JSON."}],
                                       max_tokens=250, temperature=1.0, seed=seed, response_format={
                                           "type": "json_schema", "json_schema": {"name": "s", "schema": schema}})
        ch = r.choices[0]
        if ch.finish_reason == "length":
            continue
        assert ch.finish_reason == "stop", ch
        validator.validate(json.loads(ch.message.content))
        valid += 1
    assert valid >= 2, valid
    print(f"    {valid} answers with enum narrowed by type and ipv4/ipv6/hostname/duration validated")


@check("a body nested 100,000 levels deep (in a message, the template kwargs, a tool schema, a grammar's text) is "
       "a 400, and the server lives on")
def _(c):
    url, d = c["srv"].url, 100000
    deep = "[" * d + "]" * d
    bodies = [
        ("/v1/chat/completions", '{"messages":[{"role":"user","content":"x","extra":' + deep + '}],"max_tokens":1}'),
        ("/apply-template", '{"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":{"k":' + deep + '}}'),
        ("/v1/chat/completions", '{"messages":[{"role":"user","content":"x"}],"max_tokens":1,"tool_choice":"required",'
         '"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":'
         + '{"type":"array","items":' * 30000 + '{"type":"integer"}' + '}' * 30000 + '}}}}]}'),
    ]
    for path, body in bodies:
        r = requests.post(url + path, data=body, headers={"Content-Type": "application/json"}, timeout=60)
        assert r.status_code == 400 and "levels deep" in r.json()["error"]["message"], (path, r.status_code, r.text)
    args = json.dumps({"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": deep}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "r"}], "max_tokens": 1})
    r = requests.post(url + "/v1/chat/completions", data=args, headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[1].tool_calls[0].function.arguments", r.text
    # Grammars given as strings (their brackets do not nest the body): a schema's text, regex and GBNF groups,
    # $ref chains; a chain of 20,000 GBNF rules compiles and runs.
    n = 20000
    defs = {f"a{i}": {"$ref": f"#/$defs/a{i + 1}"} for i in range(n)}
    defs[f"a{n}"] = {"type": "integer"}
    d = 50000  # within the test server's 1 MiB --max-body once escaped
    refused = [("guided_json", '{"items":' * d + "{}" + "}" * d), ("guided_regex", "(" * d + "a" + ")" * d),
               ("guided_grammar", "root ::= " + "(" * d + '"a"' + ")" * d),
               ("guided_json", {"type": "string", "pattern": "(" * d + "a" + ")" * d}),
               ("guided_json", {"$ref": "#/$defs/a0", "$defs": defs})]
    for param, grammar in refused:
        r = requests.post(url + "/v1/completions", json={"prompt": "x", "max_tokens": 2, param: grammar}, timeout=60)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, (param, r.status_code, r.text[:300])
    chain = "root ::= r0\n" + "".join(f"r{i} ::= r{i + 1}\n" for i in range(n)) + f'r{n} ::= "a"\n'
    r = requests.post(url + "/v1/completions", json={"prompt": "x", "max_tokens": 2, "guided_grammar": chain}, timeout=60)
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "a", r.text[:300]
    assert requests.get(url + "/health", timeout=5).status_code == 200


@check("the openai client's parse() helper with a pydantic model gets a parsed object")
def _(c):
    import pydantic

    class City(pydantic.BaseModel):
        name: str
        population: int
        coastal: bool

    r = c["client"].chat.completions.parse(model=c["model"], max_tokens=200, temperature=0,
                                           messages=[{"role": "user", "content": "Describe Lisbon."}],
                                           response_format=City)
    city = r.choices[0].message.parsed
    assert isinstance(city, City), r.choices[0].message
    assert isinstance(city.population, int) and isinstance(city.coastal, bool), city


@check("vLLM's guided_choice / guided_regex / structured_outputs and llama.cpp's GBNF grammar constrain the output")
def _(c):
    cl = c["client"]
    choices = ["positive", "negative", "neutral"]
    for seed in range(3):
        r = cl.chat.completions.create(model=c["model"], max_tokens=20, temperature=1.0, seed=seed,
                                       messages=[{"role": "user", "content": "Sentiment of: I love it!"}],
                                       extra_body={"guided_choice": choices})
        assert r.choices[0].message.content in choices, r.choices[0].message.content
    pattern = r"\d{3}-\d{4}"
    for body in ({"guided_regex": pattern}, {"structured_outputs": {"regex": pattern}}):
        r = cl.completions.create(model=c["model"], prompt="Phone:", max_tokens=20, temperature=1.0, seed=4,
                                  extra_body=body)
        assert re.fullmatch(pattern, r.choices[0].text), (body, r.choices[0].text)
    gbnf = 'root ::= "The answer is " [0-9]+ "."'
    r = cl.completions.create(model=c["model"], prompt="2+2?", max_tokens=20, temperature=0,
                              extra_body={"grammar": gbnf})
    assert re.fullmatch(r"The answer is [0-9]+\.", r.choices[0].text), r.choices[0].text
    r = cl.chat.completions.create(model=c["model"], max_tokens=120, temperature=0,
                                   messages=[{"role": "user", "content": "A colour as JSON"}],
                                   extra_body={"json_schema": {"type": "object", "properties": {
                                       "colour": {"enum": ["red", "green", "blue"]}}, "required": ["colour"]}})
    assert json.loads(r.choices[0].message.content)["colour"] in ("red", "green", "blue"), r.choices[0].message


@check("60 generated JSON Schemas (tests/data/grammar, scripts/golden/grammar_cases.py), 2 seeds each at "
       "temperature 1 through the server: every finished answer validates with jsonschema")
def _(c):
    import jsonschema
    here = os.path.dirname(os.path.abspath(__file__))
    cases = json.load(open(os.path.join(here, "..", "data", "grammar", "json_schema_cases.json")))
    cl = c["client"]

    def one(job):
        schema_text, seed = job
        r = cl.completions.create(model=c["model"], prompt="Answer with JSON:", max_tokens=200, temperature=1.0,
                                  seed=seed, extra_body={"guided_json": schema_text})
        return schema_text, r.choices[0]

    jobs = [(case["schema"], seed) for case in cases for seed in (1, 2)]
    finished = truncated = 0
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for schema_text, choice in pool.map(one, jobs):
            if choice.finish_reason == "length":
                truncated += 1  # a prefix of a valid document: nothing to judge
                continue
            assert choice.finish_reason == "stop", (schema_text, choice)
            schema = json.loads(schema_text)
            # The draft's own format checker: FormatChecker() mixes in draft 3's "time" (no offsets).
            jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                                            ).validate(json.loads(choice.text))
            finished += 1
    print(f"    {len(cases)} schemas, {len(jobs)} sampled answers: {finished} finished and valid, "
          f"{truncated} reached max_tokens")
    assert finished >= len(jobs) // 2, (finished, truncated)


@check("/metrics counts generation responses under code 200 (never -1), errors under theirs")
def _(c):
    before = metrics(c["srv"].url)
    c["client"].completions.create(model=c["model"], prompt="Hi", max_tokens=2, temperature=0)
    list(c["client"].completions.create(model=c["model"], prompt="Hi", max_tokens=2, temperature=0, stream=True))
    expect_error(c, 400, json.dumps({"prompt": "Hi", "temperature": -1}).encode(), "temperature")
    after = metrics(c["srv"].url)
    key = 'nucleus:http_responses_total{code="%s"}'
    assert after.get(key % "200", 0) - before.get(key % "200", 0) >= 2, (before, after)
    assert after.get(key % "400", 0) - before.get(key % "400", 0) >= 1, after
    assert key % "-1" not in after, sorted(k for k in after if "http_responses" in k)


@check("structured output errors: unsupported keyword, bad regex and GBNF, two formats at once, with beam search "
       "-> 400 naming the field")
def _(c):
    url = "/v1/chat/completions"
    m = [{"role": "user", "content": "hi"}]

    def err(body, param, words):
        e = expect_error(c, 400, json.dumps({"messages": m, **body}).encode(), param, path=url)
        assert words in e["message"], e["message"]

    err({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "object", "properties": {"a": {"type": "string", "contentEncoding": "base64"}}}}}},
        "response_format", "contentEncoding")
    err({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format", "schema")
    err({"guided_regex": "(a)\\1"}, "guided_regex", "guided_regex")
    err({"grammar": "root ::= undefined_rule"}, "grammar", "undefined_rule")
    err({"guided_choice": []}, "guided_choice", "non-empty")
    err({"guided_choice": ["a"], "guided_regex": "b"}, "guided_choice", "one structured output")
    err({"structured_outputs": {"regex": "a", "choice": ["b"]}}, "structured_outputs", "one of")
    err({"structured_outputs": {"whitespace_pattern": " "}}, "structured_outputs.whitespace_pattern", "not supported")
    err({"guided_choice": ["a"], "use_beam_search": True, "n": 2, "temperature": 0}, "guided_choice", "beam search")
    expect_error(c, 400, json.dumps({"messages": m, "guided_choice": ["a", "b"], "min_tokens": 2}).encode(),
                 "min_tokens", path=url)


@check("n=3 gives three choices; a seed reproduces a sampled answer")
def _(c):
    cl = c["client"]
    r = cl.completions.create(model=c["model"], prompt="Once upon a time", max_tokens=12, n=3, temperature=1.0,
                              seed=123)
    assert sorted(ch.index for ch in r.choices) == [0, 1, 2]
    again = cl.completions.create(model=c["model"], prompt="Once upon a time", max_tokens=12, n=3, temperature=1.0,
                                  seed=123)
    assert [ch.text for ch in r.choices] == [ch.text for ch in again.choices]
    assert len({ch.text for ch in r.choices}) > 1, "three identical samples at temperature 1"


@check("logprobs: completions (int) and chat (top_logprobs), sampled token ranked and consistent")
def _(c):
    cl = c["client"]
    r = cl.completions.create(model=c["model"], prompt="The capital of France is", max_tokens=3, temperature=0,
                              logprobs=5)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == 3 and len(lp.token_logprobs) == 3 and len(lp.top_logprobs) == 3
    for tok, val, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert val <= 0 and len(top) <= 5
        assert abs(max(top.values()) - val) < 1e-4, (tok, val, top)  # greedy: the sampled token is the top one
        # most likely first, as OpenAI and vLLM list them (clients read the first key as the top token)
        assert list(top.values()) == sorted(top.values(), reverse=True), top
    r = cl.chat.completions.create(model=c["model"], max_tokens=3, temperature=0, logprobs=True, top_logprobs=2,
                                   messages=[{"role": "user", "content": "Say yes."}])
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert all(len(t.top_logprobs) == 2 and t.logprob <= 0 for t in content)
    # bytes are each token's own bytes: joined, they give the text even where a character spans tokens.
    r = cl.chat.completions.create(model=c["model"], max_tokens=12, temperature=0, logprobs=True, top_logprobs=1,
                                   messages=[{"role": "user", "content": "用中文写一句关于海的话 🌊"}])
    joined = b"".join(bytes(t.bytes) for t in r.choices[0].logprobs.content)
    assert any(b >= 0x80 for b in joined), joined  # the answer has multi-byte characters to test
    assert joined.decode("utf-8", "replace") == r.choices[0].message.content, (joined, r.choices[0].message.content)


@check("stop strings end the text before the stop string, never leaking part of it")
def _(c):
    cl = c["client"]
    base = cl.completions.create(model=c["model"], prompt="1, 2, 3, 4, 5,", max_tokens=12, temperature=0)
    text = base.choices[0].text
    assert "7" in text, text
    stop = text[text.index("7"):text.index("7") + 2]
    r = cl.completions.create(model=c["model"], prompt="1, 2, 3, 4, 5,", max_tokens=12, temperature=0, stop=[stop])
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].text == text[:text.index(stop)], (r.choices[0].text, text, stop)
    chunks = list(cl.completions.create(model=c["model"], prompt="1, 2, 3, 4, 5,", max_tokens=12, temperature=0,
                                        stop=stop, stream=True))
    streamed = "".join(ch.choices[0].text for ch in chunks)
    assert streamed == r.choices[0].text, (streamed, r.choices[0].text)


@check("stop_reason: a stop string stays a string even when it is digits (one longer than an int took the "
       "server down), a stop token id is an integer")
def _(c):
    srv = c["srv"]
    nine = requests.post(srv.url + "/tokenize", json={"prompt": "9", "add_special_tokens": False}).json()["tokens"]
    assert len(nine) == 1, nine
    body = {"prompt": "Numbers:", "temperature": 0, "logit_bias": {str(nine[0]): 100}}  # it writes 9s only
    for stop, max_tokens in (("9", 3), ("99999999999", 16)):
        for stream in (False, True):
            r = requests.post(srv.url + "/v1/completions", json={**body, "stop": [stop], "max_tokens": max_tokens,
                                                               "stream": stream}, timeout=60)
            assert r.status_code == 200, r.text[:300]
            if stream:
                events = [json.loads(line[6:]) for line in r.text.splitlines()
                          if line.startswith("data: {")]
                last = events[-1]["choices"][0]
                assert r.text.rstrip().endswith("data: [DONE]"), r.text[-200:]
            else:
                last = r.json()["choices"][0]
            assert last["finish_reason"] == "stop" and last["stop_reason"] == stop, (stop, stream, last)
    r = requests.post(srv.url + "/v1/completions", json={**body, "stop_token_ids": nine, "max_tokens": 3}).json()
    assert r["choices"][0]["stop_reason"] == nine[0], r
    assert requests.get(srv.url + "/health").status_code == 200


@check("logprobs text_offset: characters of the choice's text, never decreasing, the same streamed (non-ASCII "
       "prompt, echo)")
def _(c):
    cl = c["client"]
    prompt = "日本語 café 🤖 ok"
    for echo in (False, True):
        args = dict(model=c["model"], prompt=prompt, max_tokens=6, temperature=0, logprobs=0, echo=echo)
        full = cl.completions.create(**args)
        r = full.choices[0]
        text, lp = r.text, r.logprobs
        assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset), (echo, lp.text_offset, lp.tokens)
        for token, offset in zip(lp.tokens, lp.text_offset):
            if "\ufffd" not in token and not token.startswith("<|"):  # whole characters, not a special token
                assert text[offset:offset + len(token)] == token, (echo, token, offset, text)
        if echo:  # the first generated token starts where the prompt ends
            assert lp.text_offset[full.usage.prompt_tokens] == len(prompt), (lp.text_offset, len(prompt))
        streamed = []
        for chunk in cl.completions.create(**args, stream=True):
            if chunk.choices and chunk.choices[0].logprobs:
                streamed += chunk.choices[0].logprobs.text_offset
        assert streamed == lp.text_offset, (echo, streamed, lp.text_offset)


@check("logit_bias (string keys) forces a token")
def _(c):
    srv = c["srv"]
    target = requests.post(srv.url + "/tokenize", json={"prompt": " banana", "add_special_tokens": False}).json()
    tid = target["tokens"][0]
    r = c["client"].completions.create(model=c["model"], prompt="My favourite colour is", max_tokens=4,
                                       temperature=0.7, logit_bias={str(tid): 100})
    ids = requests.post(srv.url + "/tokenize", json={"prompt": r.choices[0].text, "add_special_tokens": False}).json()
    assert all(t == tid for t in ids["tokens"]), (r.choices[0].text, ids)


@check("vLLM extras: top_k, min_p, repetition_penalty, min_tokens, ignore_eos, stop_token_ids")
def _(c):
    r = c["client"].completions.create(model=c["model"], prompt="Hello", max_tokens=8, temperature=0.8, seed=5,
                                       extra_body={"top_k": 5, "min_p": 0.05, "repetition_penalty": 1.2,
                                                   "min_tokens": 8, "ignore_eos": True})
    assert r.usage.completion_tokens == 8
    base = c["client"].completions.create(model=c["model"], prompt="1, 2, 3,", max_tokens=6, temperature=0,
                                          logprobs=0)
    ids = requests.post(c["srv"].url + "/tokenize", json={"prompt": base.choices[0].text,
                                                          "add_special_tokens": False}).json()["tokens"]
    r = c["client"].completions.create(model=c["model"], prompt="1, 2, 3,", max_tokens=6, temperature=0,
                                       extra_body={"stop_token_ids": [ids[1]]})
    assert r.choices[0].finish_reason == "stop" and r.usage.completion_tokens == 2, r


@check("best_of: returns the candidate with the highest mean logprob among best_of (same seed keys)")
def _(c):
    cl = c["client"]
    kw = dict(model=c["model"], prompt="The weather today", max_tokens=8, temperature=1.0, seed=42)
    all4 = cl.completions.create(n=4, logprobs=0, **kw)
    means = [sum(ch.logprobs.token_logprobs) / len(ch.logprobs.token_logprobs) for ch in all4.choices]
    best = cl.completions.create(n=1, best_of=4, **kw)
    assert len(best.choices) == 1 and best.choices[0].logprobs is None
    assert best.choices[0].text == all4.choices[means.index(max(means))].text, (best.choices[0].text, means)
    assert best.usage.completion_tokens == all4.usage.completion_tokens  # every candidate is counted


NEAR_TIE_NATS = 0.01  # CUDA: two greedy runs may part only where the top two tokens are this close
LOGPROB_TOLERANCE = 0.01  # CUDA: a token's logprob in two batch shapes, nats


def speculation_cases(c):
    """The sampling settings whose speculative output is compared with plain decoding on this device.

    CPU: every kernel is batch-invariant, so speculation is bitwise plain decoding, greedy or seeded.
    CUDA: cuBLAS may choose another GEMM algorithm (split-K) for the verification batch's shape, so logits
    move in their last bits; greedy runs are compared with a tolerance (same_output), seeded ones are not
    compared (a race between two near-equal noisy ratios may go either way), and the run says so."""
    if c["device"] == "cpu":
        return (dict(temperature=0), dict(temperature=0.9, seed=11), dict(temperature=0.8, seed=5, n=2))
    print(f"  note: on {c['device']} only greedy speculation is compared, within {NEAR_TIE_NATS} nats "
          "(cuBLAS is not batch-invariant); seeded outputs may differ and are not checked")
    return (dict(temperature=0, logprobs=2),)


def same_output(c, spec, plain):
    """Asserts that spec's choices are plain's: bitwise on the CPU; on CUDA token for token up to a near tie."""
    if c["device"] == "cpu":
        assert [ch.text for ch in spec.choices] == [ch.text for ch in plain.choices], (spec, plain)
        return
    for s, p in zip(spec.choices, plain.choices, strict=True):
        st, pt = s.logprobs.tokens, p.logprobs.tokens
        split = next((i for i, (a, b) in enumerate(zip(st, pt)) if a != b), None)
        for i in range(split if split is not None else min(len(st), len(pt))):
            assert abs(s.logprobs.token_logprobs[i] - p.logprobs.token_logprobs[i]) < LOGPROB_TOLERANCE, (i, s, p)
        if split is not None:
            top = sorted(p.logprobs.top_logprobs[split].values(), reverse=True)
            assert len(top) >= 2 and top[0] - top[1] < NEAR_TIE_NATS, \
                f"greedy outputs part at token {split} where the top two are {top[:2]}: not a near tie"


@check("per-request n-gram speculation returns the plain output (bitwise on the CPU, greedy and seeded; "
       "on CUDA greedy up to a near tie)")
def _(c):
    cl = c["client"]
    prompt = "Repeat: red green blue, red green blue, red green blue, red green blue, red"
    before = metric(metrics(c["srv"].url), "nucleus:spec_decode_num_draft_tokens_total")
    for kw in speculation_cases(c):
        kw.pop("n", None)
        plain = cl.completions.create(model=c["model"], prompt=prompt, max_tokens=24, **kw)
        spec = cl.completions.create(model=c["model"], prompt=prompt, max_tokens=24, extra_body={"speculative": "ngram"},
                                     **kw)
        same_output(c, spec, plain)
    assert metric(metrics(c["srv"].url), "nucleus:spec_decode_num_draft_tokens_total") > before


def beam_scores(choice):
    """(cumulative_logprob, beam_score) of a beam search choice: always in its logprobs object."""
    extra = choice.logprobs.to_dict()
    return extra["cumulative_logprob"], extra["beam_score"]


@check("use_beam_search (completions, extra_body): n choices best first with their scores in logprobs; "
       "width 1 = greedy; the best beam scores at least greedy's")
def _(c):
    cl = c["client"]
    kw = dict(model=c["model"], prompt="The three primary colors are", max_tokens=8, logprobs=0)
    # ignore_eos: every beam runs to max_tokens, so the scored length is prompt + 8 for all.
    greedy = cl.completions.create(temperature=0, extra_body={"ignore_eos": True}, **kw)
    prompt_len = greedy.usage.prompt_tokens
    greedy_score = sum(greedy.choices[0].logprobs.token_logprobs) / (prompt_len + 8)
    r = cl.completions.create(n=3, extra_body={"use_beam_search": True, "ignore_eos": True}, **kw)
    assert len(r.choices) == 3, r
    scores = []
    for i, ch in enumerate(r.choices):
        assert ch.index == i and ch.finish_reason == "length", ch
        cum, score = beam_scores(ch)
        assert len(ch.logprobs.token_logprobs) == 8
        assert abs(sum(ch.logprobs.token_logprobs) - cum) < 1e-3, (ch.logprobs.token_logprobs, cum)
        assert abs(score - cum / (prompt_len + 8)) < 1e-6, (score, cum, prompt_len)
        scores.append(score)
    assert scores == sorted(scores, reverse=True), scores
    assert scores[0] >= greedy_score - 1e-4, (scores, greedy_score)
    assert r.usage.completion_tokens == 24, r.usage
    one = cl.completions.create(n=1, extra_body={"use_beam_search": True, "ignore_eos": True}, **kw)
    assert one.choices[0].text == greedy.choices[0].text, (one.choices[0].text, greedy.choices[0].text)
    # length_penalty 0: the score is the cumulative logprob; best_of = the width, n best returned.
    r = cl.completions.create(model=c["model"], prompt="Once upon a time", max_tokens=6, n=2, best_of=4,
                              extra_body={"use_beam_search": True, "length_penalty": 0.0, "early_stopping": "never"})
    assert len(r.choices) == 2 and r.choices[0].logprobs.token_logprobs is None, r
    (cum0, s0), (cum1, s1) = beam_scores(r.choices[0]), beam_scores(r.choices[1])
    assert s0 == cum0 and s1 == cum1 and s0 >= s1, (cum0, s0, cum1, s1)


@check("use_beam_search (chat): choices best first, per-token logprobs summing to the score; stream and bad "
       "values refused with 400 naming the parameter, and so are constraints that leave no token (at the first "
       "step); blocks all free after finished and aborted beams")
def _(c):
    cl, url = c["client"], c["srv"].url
    messages = [{"role": "user", "content": "Name a fruit."}]
    r = cl.chat.completions.create(model=c["model"], messages=messages, n=2, max_tokens=10, logprobs=True,
                                   extra_body={"use_beam_search": True, "early_stopping": True})
    assert len(r.choices) == 2, r
    scores = []
    for ch in r.choices:
        cum, score = beam_scores(ch)
        total = sum(t.logprob for t in ch.logprobs.content)
        assert abs(total - cum) < 1e-3, (total, cum)
        scores.append(score)
    assert scores[0] >= scores[1], scores
    try:
        cl.chat.completions.create(model=c["model"], messages=messages, stream=True,
                                   extra_body={"use_beam_search": True})
        raise AssertionError("a streamed beam search was accepted")
    except openai.BadRequestError as e:
        assert e.body["param"] == "stream", e.body
    chat = "/v1/chat/completions"
    expect_error(c, 400, json.dumps({"messages": messages, "use_beam_search": True, "temperature": 0.8}).encode(),
                 "temperature", path=chat)
    expect_error(c, 400, json.dumps({"messages": messages, "use_beam_search": True, "early_stopping": "maybe"})
                 .encode(), "early_stopping", path=chat)
    expect_error(c, 400, json.dumps({"prompt": "x", "length_penalty": 2.0}).encode(), "length_penalty")
    expect_error(c, 400, json.dumps({"prompt": "x", "use_beam_search": True, "top_p": 0.5}).encode(), "top_p")
    # Only the default model's end-of-generation ids (0, 2) allowed, which min_tokens bans: no token is left.
    err = expect_error(c, 400, json.dumps({"prompt": "x", "use_beam_search": True, "n": 2, "temperature": 0,
                                           "allowed_token_ids": [0, 2], "min_tokens": 3}).encode(),
                       "allowed_token_ids")
    assert "no token left to sample" in err["message"], err
    # A client that hangs up mid-search: the heartbeat notices, every beam's blocks come back.
    aborted = 'nucleus:request_success_total{finished_reason="abort"}'
    aborts_before = metrics(url)[aborted]
    u = url.replace("http://", "")
    host, port = u.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request("POST", "/v1/completions", headers={"Content-Type": "application/json"},
                 body=json.dumps({"prompt": "A long story:", "max_tokens": 400, "n": 4, "ignore_eos": True,
                                  "use_beam_search": True}))
    time.sleep(1.5)
    conn.close()
    m = wait_until_idle(url)
    assert metric(m, "nucleus:num_requests_running") == 0, m
    assert metric(m, "nucleus:kv_cache_blocks_used") == 0, {k: v for k, v in m.items() if "kv" in k}
    assert m[aborted] > aborts_before, "the beam request finished before the hang-up: nothing was aborted"


@check("draft-model speculation: a server with --draft-model (the model as its own draft) returns the plain "
       "output (as the n-gram check, per device); without one, \"draft\" is a 400 naming the parameter and "
       "--speculative draft fails the start")
def _(c):
    args = c["args"]
    body = json.dumps({"model": c["model"], "prompt": "x", "max_tokens": 2, "speculative": "draft"}).encode()
    code, data, _ = raw(c["srv"].url, "POST", "/v1/completions", body)
    err = json.loads(data)["error"]
    assert code == 400 and err["param"] == "speculative" and "--draft-model" in err["message"], (code, err)

    proc = subprocess.run([args.nucleus, "serve", "--model", args.model, "--port", str(free_port()),
                           "--speculative", "draft"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "--draft-model" in proc.stderr + proc.stdout, (proc.returncode, proc.stderr)

    srv = Server(args.nucleus, args.model, "--draft-model", args.model, "--speculative", "draft", "--no-request-log")
    try:
        spec = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=120)
        prompt = "Repeat: red green blue, red green blue, red green blue, red green blue, red"
        for kw in speculation_cases(c):
            plain = c["client"].completions.create(model=c["model"], prompt=prompt, max_tokens=24, **kw)
            drafted = spec.completions.create(model=c["model"], prompt=prompt, max_tokens=24, **kw)
            same_output(c, drafted, plain)
            off = spec.completions.create(model=c["model"], prompt=prompt, max_tokens=24,
                                          extra_body={"speculative": "off"}, **kw)
            same_output(c, off, plain)
        m = metrics(srv.url)
        assert metric(m, "nucleus:spec_decode_num_draft_tokens_total") > 0, m
        assert metric(m, "nucleus:kv_cache_blocks_used") == 0, m
        assert metric(m, "nucleus:spec_decode_draft_kv_blocks_used") == 0, m
    finally:
        assert srv.stop() == 0


# ---- raw HTTP: every bad input gets the right status and an error object ----

def raw(url, method, path, body=None, headers=None):
    u = url.replace("http://", "")
    host, port = u.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, path, body=body, headers=headers or {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data, dict(resp.getheaders())


def wait_until_idle(url, timeout=20):
    """Polls /metrics until nothing runs and no KV block is in use (or the timeout); returns the last metrics."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = metrics(url)
        if metric(m, "nucleus:num_requests_running") == 0 and metric(m, "nucleus:kv_cache_blocks_used") == 0:
            return m
        time.sleep(0.2)
    return metrics(url)


def expect_error(c, status, body, param=None, path="/v1/completions", headers=None):
    code, data, _ = raw(c["srv"].url, "POST", path, body, headers)
    assert code == status, (code, data[:300])
    err = json.loads(data)["error"]
    assert set(err) >= {"message", "type", "param", "code"}, err
    if param is not None:
        assert err["param"] == param, err
    return err


@check("malformed JSON, wrong types, out-of-range values, unknown model, suffix, response_format")
def _(c):
    expect_error(c, 400, b"{not json")
    expect_error(c, 400, b"[1, 2]")
    expect_error(c, 400, json.dumps({"prompt": "x", "max_tokens": "ten"}).encode(), "max_tokens")
    expect_error(c, 400, json.dumps({"prompt": "x", "temperature": 3}).encode(), "temperature")
    expect_error(c, 400, json.dumps({"prompt": "x", "top_p": 0}).encode(), "top_p")
    expect_error(c, 400, json.dumps({"prompt": "x", "n": 0}).encode(), "n")
    expect_error(c, 400, json.dumps({"prompt": "x", "logit_bias": {"abc": 1}}).encode(), "logit_bias")
    expect_error(c, 400, json.dumps({"prompt": "x", "logprobs": 50}).encode(), "logprobs")
    expect_error(c, 400, json.dumps({"prompt": [99999999]}).encode(), "prompt")
    expect_error(c, 400, json.dumps({"prompt": "x", "suffix": "y"}).encode(), "suffix")
    expect_error(c, 404, json.dumps({"prompt": "x", "model": "no-such-model"}).encode(), "model")
    expect_error(c, 400, json.dumps({"messages": [{"role": "user", "content": "x"}],
                                     "response_format": {"type": "json_schema"}}).encode(), "response_format",
                 path="/v1/chat/completions")
    expect_error(c, 400, json.dumps({"messages": []}).encode(), path="/v1/chat/completions")
    expect_error(c, 400, json.dumps({"messages": [{"role": "wizard", "content": "x"}]}).encode(),
                 path="/v1/chat/completions")
    expect_error(c, 400, b'{"prompt": "\xff\xfe"}')  # invalid UTF-8
    expect_error(c, 400, b'{"prompt": "x", "temperature": 1e400}')  # a number no double holds (was a 500)
    expect_error(c, 400, json.dumps({"prompt": "x", "stream_options": {"include_usage": True}}).encode(),
                 "stream_options")  # only with stream, as OpenAI and vLLM
    expect_error(c, 400, json.dumps({"prompt": "x", "max_tokens": 2, "min_tokens": 5}).encode(), "min_tokens")


@check("prompt + max_tokens over the context: 400 naming both numbers")
def _(c):
    err = expect_error(c, 400, json.dumps({"prompt": "hello", "max_tokens": 9000}).encode(), "max_tokens")
    assert "8192" in err["message"] and "9000" in err["message"], err
    # The length is named as the client sent it; a prompt that fills the context names the prompt.
    raw_chat = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 9000}).encode()
    code, data, _ = raw(c["srv"].url, "POST", "/v1/chat/completions", raw_chat)
    assert code == 400 and json.loads(data)["error"]["param"] == "max_completion_tokens", (code, data)
    err = expect_error(c, 400, json.dumps({"prompt": [1] * 8192, "max_tokens": 1}).encode(), "prompt")
    assert "8192" in err["message"], err
    # Chat has no prompt parameter: messages that fill the context name messages, as OpenAI does.
    err = expect_error(c, 400, json.dumps({"messages": [{"role": "user", "content": "hello " * 9000}]}).encode(),
                       "messages", path="/v1/chat/completions")
    assert "8192" in err["message"], err


@check("huge body gets 413, unknown route 404, and the server keeps serving")
def _(c):
    code, data, _ = raw(c["srv"].url, "POST", "/v1/completions", b'{"prompt": "' + b"a" * (2 << 20) + b'"}')
    assert code == 413, code
    # A chunked body has no Content-Length to check up front: the server must stop reading it at
    # --max-body (1 MiB here) and answer 413, not buffer all of it. Offer 256 MB and count what it takes.
    sent, status_line = 0, b""
    piece = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
    with socket.create_connection(("127.0.0.1", c["srv"].port), timeout=30) as s:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: application/json\r\n\r\n")
        try:
            while sent < (256 << 20):
                s.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server closed the connection after its 413
        try:
            status_line = s.makefile("rb").readline()
        except OSError:
            pass  # a reset can drop the response that was already sent
    assert sent < (32 << 20), f"the server read {sent >> 20} MB of a chunked body over --max-body 1 MiB"
    assert not status_line or b" 413 " in status_line, status_line
    code, data, _ = raw(c["srv"].url, "GET", "/v2/nothing")
    assert code == 404 and "error" in json.loads(data)
    code, data, headers = raw(c["srv"].url, "GET", "/v1/chat/completions")
    assert code == 405 and headers.get("Allow") == "POST" and "error" in json.loads(data), (code, headers)
    r = c["client"].completions.create(model=c["model"], prompt="Still alive?", max_tokens=2,
                                       extra_body={"ignore_eos": True})  # sampled: EOS first came ~5% of runs
    assert r.usage.completion_tokens == 2


@check("an HTTP/1.0 client gets a body it can read: no chunked framing, ended by closing (JSON and SSE)")
def _(c):
    host, port = c["srv"].url.replace("http://", "").split(":")
    for stream in (False, True):
        body = json.dumps({"prompt": "Hi", "max_tokens": 3, "stream": stream}).encode()
        with socket.create_connection((host, int(port)), timeout=30) as s:
            s.sendall(b"POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            data = b""
            while chunk := s.recv(65536):  # the server must close: HTTP/1.0 has no other end of body here
                data += chunk
        head, _, payload = data.partition(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n")[0] and b"chunked" not in head.lower(), head
        if stream:
            assert payload.rstrip().endswith(b"data: [DONE]"), payload[-200:]
        else:
            assert json.loads(payload)["usage"]["completion_tokens"] == 3, payload[:300]


@check("generated responses go out uncompressed to a client accepting gzip (the openai client): a stream's first "
       "chunk arrives while it runs, and a non-streaming client that leaves is noticed")
def _(c):
    srv, cl = c["srv"], c["client"]
    raw_resp = cl.completions.with_raw_response.create(model=c["model"], prompt="Tell me a story", max_tokens=200,
                                                       stream=True, extra_body={"ignore_eos": True})
    assert "gzip" in raw_resp.http_request.headers.get("accept-encoding", ""), raw_resp.http_request.headers
    assert raw_resp.headers.get("content-encoding") is None, raw_resp.headers
    stream = raw_resp.parse()
    next(iter(stream))  # compressed, the first chunk came only with the last, after the request had finished
    assert metric(metrics(srv.url), "nucleus:num_requests_running") >= 1
    for _ in stream:
        pass
    wait_until_idle(srv.url)
    abort_key = 'nucleus:request_success_total{finished_reason="abort"}'
    aborted = metrics(srv.url).get(abort_key, 0)
    host, port = srv.url.replace("http://", "").split(":")
    body = json.dumps({"prompt": "Tell me a story", "max_tokens": 4000, "ignore_eos": True}).encode()
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        head = s.recv(4096)
        assert b"content-encoding" not in head.lower(), head
        time.sleep(0.5)
    m = wait_until_idle(srv.url, timeout=10)  # 4000 tokens take far longer: only an abort ends it this soon
    assert metric(m, "nucleus:num_requests_running") == 0, m
    assert m.get(abort_key, 0) == aborted + 1, m


@check("curl: streaming completion with include_usage ends with [DONE]")
def _(c):
    out = subprocess.run(["curl", "-sN", c["srv"].url + "/v1/completions", "-H", "Content-Type: application/json",
                          "-d", json.dumps({"prompt": "Hi", "max_tokens": 3, "stream": True,
                                            "stream_options": {"include_usage": True}})],
                         capture_output=True, text=True, timeout=60).stdout
    events = [e for e in out.split("\n\n") if e.strip()]
    assert events[-1] == "data: [DONE]", events[-3:]
    # The event stream says it is UTF-8, so clients that go by the header (requests' .text) do not read Latin-1.
    r = requests.post(c["srv"].url + "/v1/completions", json={"prompt": "你好", "max_tokens": 3, "stream": True})
    assert r.encoding.lower() == "utf-8" and r.text == r.content.decode("utf-8"), r.headers
    usage = json.loads(events[-2][len("data: "):])
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 3
    # OpenAI: with include_usage, every other chunk carries "usage": null.
    others = [json.loads(e[len("data: "):]) for e in events[:-2]]
    assert others and all("usage" in o and o["usage"] is None for o in others), others


@check("vLLM fields: truncate_prompt_tokens keeps the prompt's last tokens (usage, echo), add_special_tokens, "
       "allowed_token_ids, bad_words, prompt_logprobs (as echo with logprobs scores the prompt); fields that would change the output and are not "
       "implemented are a 400 naming them, never ignored")
def _(c):
    url = c["srv"].url
    prompt = "One two three four five six seven eight nine ten"
    full = requests.post(url + "/tokenize", json={"prompt": prompt}).json()["tokens"]
    r = requests.post(url + "/v1/completions", json={"prompt": prompt, "max_tokens": 2, "temperature": 0, "echo": True,
                                                     "truncate_prompt_tokens": 4}).json()
    assert r["usage"]["prompt_tokens"] == 4, r
    tail = requests.post(url + "/detokenize", json={"tokens": full[-4:]}).json()["prompt"]
    assert r["choices"][0]["text"].startswith(tail), (r["choices"][0]["text"], tail)
    same = requests.post(url + "/v1/completions", json={"prompt": full[-4:], "max_tokens": 2, "temperature": 0}).json()
    assert r["choices"][0]["text"] == tail + same["choices"][0]["text"], (r, same)
    chat = requests.post(url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": prompt}],
                                                              "max_tokens": 1, "truncate_prompt_tokens": 5}).json()
    assert chat["usage"]["prompt_tokens"] == 5, chat
    for k in (0, -2, "4"):
        r = requests.post(url + "/v1/completions", json={"prompt": prompt, "max_tokens": 1, "truncate_prompt_tokens": k})
        assert r.status_code == 400 and r.json()["error"]["param"] == "truncate_prompt_tokens", (k, r.text)
    # add_special_tokens false: the tokenizer's own specials (none for SmolLM2's text prompts) left out, never an error.
    r = requests.post(url + "/v1/completions", json={"prompt": prompt, "max_tokens": 1, "add_special_tokens": False})
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] == len(
        requests.post(url + "/tokenize", json={"prompt": prompt, "add_special_tokens": False}).json()["tokens"])
    refused = [
               ("/v1/completions", {"prompt_logprobs": 1, "stream": True}, "prompt_logprobs"),
               ("/v1/completions", {"prompt_logprobs": 21}, "prompt_logprobs"),
               ("/v1/completions", {"prompt_logprobs": 2, "echo": True, "logprobs": 1}, "prompt_logprobs"),
               ("/v1/completions", {"return_tokens_as_token_ids": True}, "return_tokens_as_token_ids"),
               ("/v1/completions", {"priority": 5}, "priority"),
               ("/v1/completions", {"stream": True, "stream_options": {"include_usage": True,
                                                                       "continuous_usage_stats": True}},
                "stream_options.continuous_usage_stats"),
               ("/v1/chat/completions", {"chat_template": "{{ messages[0].content }}"}, "chat_template"),
               ("/v1/chat/completions", {"echo": True}, "echo"),
               ("/v1/chat/completions", {"add_special_tokens": True}, "add_special_tokens")]
    for path, extra, param in refused:
        base = {"prompt": prompt} if path == "/v1/completions" else {"messages": [{"role": "user", "content": "hi"}]}
        r = requests.post(url + path, json={**base, "max_tokens": 1, **extra})
        assert r.status_code == 400 and r.json()["error"]["param"] == param, (path, extra, r.status_code, r.text)
    # allowed_token_ids: every token sampled is one of them; bad_words: a word the greedy answer writes is never written.
    allowed = requests.post(url + "/tokenize", json={"prompt": " yes no maybe", "add_special_tokens": False}).json()["tokens"]
    r = requests.post(url + "/v1/completions", json={"prompt": prompt, "max_tokens": 12, "temperature": 1.0, "seed": 5,
                                                     "allowed_token_ids": allowed, "logprobs": 0}).json()
    toks = requests.post(url + "/tokenize", json={"prompt": r["choices"][0]["text"], "add_special_tokens": False}).json()
    assert r["usage"]["completion_tokens"] == 12 and set(toks["tokens"]) <= set(allowed), (r, allowed)
    q = {"prompt": "The capital of France is", "max_tokens": 8, "temperature": 0}
    plain = requests.post(url + "/v1/completions", json=q).json()["choices"][0]["text"]
    assert "Paris" in plain, plain
    banned = requests.post(url + "/v1/completions", json={**q, "bad_words": ["Paris"]}).json()["choices"][0]["text"]
    assert "Paris" not in banned and banned != plain, (plain, banned)
    r = requests.post(url + "/v1/completions", json={**q, "allowed_token_ids": [10**6]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "allowed_token_ids", r.text
    r = requests.post(url + "/v1/completions", json={**q, "bad_words": "Paris"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "bad_words", r.text
    # Constraints that together leave no token are the request's fault: a 400 naming one, never a 500.
    for extra, param in [({"allowed_token_ids": []}, "allowed_token_ids"),
                         ({"allowed_token_ids": [300, 301], "response_format": {"type": "json_object"}},
                          "allowed_token_ids"),
                         ({"truncate_prompt_tokens": 10**6}, "truncate_prompt_tokens")]:
        r = requests.post(url + "/v1/completions", json={**q, **extra})
        assert r.status_code == 400 and r.json()["error"]["param"] == param, (extra, r.status_code, r.text)
    # prompt_logprobs (vLLM's shape): the numbers echo with logprobs gives, the prompt's token first in each dict.
    body = {"prompt": prompt, "max_tokens": 1, "temperature": 0}
    ours = requests.post(url + "/v1/completions", json={**body, "prompt_logprobs": 2}).json()["choices"][0]
    echo = requests.post(url + "/v1/completions", json={**body, "echo": True, "logprobs": 2}).json()["choices"][0]
    pl = ours["prompt_logprobs"]
    assert len(pl) == len(full) and pl[0] is None, pl[:2]
    for i in range(1, len(full)):
        first_id, first = next(iter(pl[i].items()))
        assert int(first_id) == full[i] and first["decoded_token"] == echo["logprobs"]["tokens"][i], (i, pl[i])
        assert abs(first["logprob"] - echo["logprobs"]["token_logprobs"][i]) < 1e-6, (i, pl[i], echo["logprobs"])
        tops = sorted((v for v in pl[i].values() if v["rank"] <= 2), key=lambda v: v["rank"])
        assert [v["rank"] for v in tops] == [1, 2], pl[i]
        # The legacy top_logprobs list the top 2 and the prompt's token: the same tokens and numbers.
        assert ({v["decoded_token"]: round(v["logprob"], 5) for v in pl[i].values()}
                == {t: round(x, 5) for t, x in echo["logprobs"]["top_logprobs"][i].items()}), (pl[i], echo)
    chat = requests.post(url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}],
                                                              "max_tokens": 1, "prompt_logprobs": 0}).json()
    assert chat["prompt_logprobs"][0] is None and len(chat["prompt_logprobs"]) == chat["usage"]["prompt_tokens"], chat
    assert all(len(d) == 1 for d in chat["prompt_logprobs"][1:]), chat["prompt_logprobs"]
    # What clients send as defaults asks for nothing and is accepted.
    for path, extra in [("/v1/completions", {"allowed_token_ids": None, "bad_words": [], "priority": 0,
                                             "prompt_logprobs": None, "return_tokens_as_token_ids": False}),
                        ("/v1/chat/completions", {"echo": False, "add_special_tokens": False, "chat_template": None,
                                                  "documents": None})]:
        base = {"prompt": prompt} if path == "/v1/completions" else {"messages": [{"role": "user", "content": "hi"}]}
        r = requests.post(url + path, json={**base, "max_tokens": 1, **extra})
        assert r.status_code == 200, (path, extra, r.text)


@check("tokenize / detokenize round trip (vLLM shapes), /version, /health")
def _(c):
    url = c["srv"].url
    t = requests.post(url + "/tokenize", json={"prompt": "Hello, world! 你好"}).json()
    assert t["count"] == len(t["tokens"]) and t["max_model_len"] == 8192
    d = requests.post(url + "/detokenize", json={"tokens": t["tokens"]}).json()
    assert d["prompt"] == "Hello, world! 你好", d
    # vLLM's return_token_strs: one vocabulary string per token; a wrong model is a 404 here too.
    s = requests.post(url + "/tokenize", json={"prompt": "Hello world", "return_token_strs": True}).json()
    assert len(s["token_strs"]) == s["count"] and "world" in s["token_strs"][-1], s
    for path, body in (("/tokenize", {"prompt": "x"}), ("/detokenize", {"tokens": [1]})):
        r = requests.post(url + path, json={**body, "model": "no-such-model"})
        assert r.status_code == 404 and r.json()["error"]["param"] == "model", r.text
    assert requests.get(url + "/version").json()["version"]
    health = requests.get(url + "/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}, health.text


@check("32 concurrent streaming clients, a quarter disconnecting early: nothing left running, all KV blocks free")
def _(c):
    url = c["srv"].url

    def client(i):
        body = json.dumps({"prompt": f"Story number {i}:", "max_tokens": 40, "temperature": 0.8, "seed": i,
                           "stream": True, "ignore_eos": True})
        u = url.replace("http://", "")
        host, port = u.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        conn.request("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        if i % 4 == 0:
            resp.read(200)  # a few events, then hang up
            conn.close()
            return "disconnected"
        data = resp.read().decode()
        conn.close()
        assert data.rstrip().endswith("data: [DONE]"), data[-200:]
        return "done"

    def logged():
        with open(c["srv"].log.name) as f:
            return f.read().count("request id=")

    logged_before = logged()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(client, range(32)))
    assert outcomes.count("done") == 24
    m = wait_until_idle(url)
    assert metric(m, "nucleus:num_requests_running") == 0, m
    assert metric(m, "nucleus:kv_cache_blocks_used") == 0, {k: v for k, v in m.items() if "kv" in k}
    assert metric(m, "nucleus:request_success_total") >= 24, m
    # Every request has its log line, the disconnected ones too (they had none).
    deadline = time.time() + 10
    while logged() - logged_before < 32 and time.time() < deadline:
        time.sleep(0.2)
    assert logged() - logged_before == 32, logged() - logged_before
    with open(c["srv"].log.name) as f:
        lines = [line for line in f.read().splitlines() if "request id=" in line][logged_before:]
    # Each names its prompt's tokens (known at submit, even if the engine's last event has not come) and a
    # time to first token that is a time, or "none".
    assert all("prompt_tokens=0 " not in line and "ttft_ms=-" not in line for line in lines), lines


@check("CORS: preflight answered, Access-Control-Allow-Origin on results, errors and streams (default '*')")
def _(c):
    url = c["srv"].url
    code, data, h = raw(url, "OPTIONS", "/v1/chat/completions", None,
                        {"Origin": "http://ui.example", "Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "authorization, content-type"})
    assert code == 204 and h.get("Access-Control-Allow-Origin") == "*", (code, h)
    assert "POST" in h.get("Access-Control-Allow-Methods", "") and \
        h.get("Access-Control-Allow-Headers") == "authorization, content-type", h
    origin = {"Content-Type": "application/json", "Origin": "http://ui.example"}
    for body in ({"prompt": "x", "max_tokens": 1}, {"prompt": "x", "max_tokens": 1, "stream": True},
                 {"prompt": "x", "max_tokens": -5}):
        code, data, h = raw(url, "POST", "/v1/completions", json.dumps(body).encode(), origin)
        assert h.get("Access-Control-Allow-Origin") == "*", (body, code, h)
    code, _, h = raw(url, "GET", "/v1/models", None, {"Origin": "http://ui.example"})
    assert code == 200 and h.get("Access-Control-Allow-Origin") == "*", h
    code, _, h = raw(url, "GET", "/v1/models", None, {})
    assert "Access-Control-Allow-Origin" not in h, h  # not a cross-origin request
    proc = subprocess.run([c["args"].nucleus, "serve", "--model", c["args"].model, "--port", str(free_port()),
                           "--allowed-origins", "localhost:3000"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "--allowed-origins" in proc.stderr and "localhost:3000" in proc.stderr, proc.stderr


@check("a KV cache smaller than the context: chat without max_tokens answers (was a 400 naming max_tokens); "
       "an explicit max_tokens over the cache is still refused")
def _(c):
    args = c["args"]
    srv = Server(args.nucleus, args.model, "--kv-cache-memory", "32MiB", "--no-request-log")
    try:
        cl = openai.OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0, timeout=120)
        r = cl.chat.completions.create(model=c["model"], temperature=0, messages=[{"role": "user", "content": "Hi"}])
        assert r.choices[0].finish_reason in ("stop", "length") and r.choices[0].message.content, r
        r = cl.completions.create(model=c["model"], prompt="x", max_tokens=2)  # an explicit length still works
        assert r.usage.completion_tokens == 2, r
        try:  # and one the cache cannot hold is still refused, naming it
            cl.completions.create(model=c["model"], prompt="x", max_tokens=8000)
            raise AssertionError("max_tokens larger than the cache was accepted")
        except openai.BadRequestError as e:
            assert e.body["param"] == "max_tokens" and "cache" in e.body["message"], e.body
    finally:
        assert srv.stop() == 0


@check("bad or missing API key: 401 (second server with --api-key); the right key works; CORS preflight needs no key "
       "and only listed origins are allowed (--allowed-origins)")
def _(c):
    args = c["args"]
    srv = Server(args.nucleus, args.model, "--api-key", "sekrit", "--no-request-log", "--no-prefix-cache",
                 "--allowed-origins", "http://ok.example")
    try:
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        code, _, h = raw(srv.url, "OPTIONS", "/v1/completions", None, {"Origin": "http://ok.example", **pre})
        assert code == 204 and h.get("Access-Control-Allow-Origin") == "http://ok.example", (code, h)
        code, _, h = raw(srv.url, "OPTIONS", "/v1/completions", None, {"Origin": "http://evil.example", **pre})
        assert "Access-Control-Allow-Origin" not in h and "Access-Control-Allow-Methods" not in h, h
        code, _, h = raw(srv.url, "GET", "/v1/models", None, {"Origin": "http://evil.example"})
        assert code == 401 and "Access-Control-Allow-Origin" not in h, (code, h)
        body = json.dumps({"prompt": "x", "max_tokens": 1}).encode()
        code, data, _ = raw(srv.url, "POST", "/v1/completions", body)
        assert code == 401 and json.loads(data)["error"]["type"] == "authentication_error"
        code, data, _ = raw(srv.url, "POST", "/v1/completions", body,
                            {"Content-Type": "application/json", "Authorization": "Bearer wrong"})
        assert code == 401
        ok = openai.OpenAI(base_url=srv.url + "/v1", api_key="sekrit", max_retries=0)
        assert ok.completions.create(model=c["model"], prompt="x", max_tokens=1).usage.completion_tokens == 1
        assert requests.get(srv.url + "/health").status_code == 200  # health needs no key
    finally:
        assert srv.stop() == 0


if __name__ == "__main__":
    main()
