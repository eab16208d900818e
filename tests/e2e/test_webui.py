#!/usr/bin/env python3
"""Browser tests of the web page (server/webui/index.html): the real `nucleus
serve` on loopback, the page driven in headless Chromium through selenium.

  python tests/e2e/test_webui.py --nucleus build/release/app/nucleus --model MODEL

Needs Debian's chromium and chromium-driver and the selenium package
(scripts/install-deps.sh). Saves a screenshot of each view to
build/e2e-artifacts/webui-*.png (--artifacts DIR). Exits non-zero when any
check fails; prints one line per check.
"""
import argparse
import http.client
import http.server
import json
import os
import re
import sys
import tempfile
import threading
import time
import traceback

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_server import Server, metric, metrics  # noqa: E402  (the same server harness as the API tests)

RESULTS = []


def check(name):
    def wrap(fn):
        RESULTS.append((name, fn))
        return fn
    return wrap


def wait_for(condition, timeout=30, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,950",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.binary_location = os.environ.get("NUCLEUS_CHROMIUM", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("NUCLEUS_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


# Records every request body the page sends, by wrapping the page's fetch
# from outside (the page has no hook of its own for this).
RECORD_FETCH = """
window.__sent = [];
const original = window.fetch;
window.fetch = function (input, init) {
  window.__sent.push({url: String(input), body: init && init.body ? String(init.body) : null});
  return original.apply(this, arguments);
};
"""


def open_page(driver, address):
    driver.get(address)
    driver.execute_script("localStorage.clear();")
    driver.get(address)  # fresh: no saved conversation, settings or key
    driver.execute_script(RECORD_FETCH)


def js_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]


def set_field(driver, element_id, value):
    """Types a value as a user would (the page saves settings on change)."""
    el = driver.find_element(By.ID, element_id)
    if el.get_attribute("type") == "checkbox":
        if el.is_selected() != bool(value):
            el.click()
        return
    el.clear()
    el.send_keys(str(value))
    driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", el)


def last_reply(driver):
    replies = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")
    return replies[-1] if replies else None


def reply_state(driver):
    return driver.execute_script(
        "const r = [...document.querySelectorAll('.msg.assistant')].pop();"
        "return r ? [r.dataset.state, r.querySelector('.content').textContent] : [null, ''];")


def send(driver, text):
    box = driver.find_element(By.ID, "input")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def sent_chat_bodies(driver):
    return [json.loads(r["body"]) for r in driver.execute_script("return window.__sent")
            if r["url"].endswith("v1/chat/completions") and r["body"]]


def screenshot(ctx, name):
    path = os.path.join(ctx["artifacts"], f"webui-{name}.png")
    ctx["driver"].save_screenshot(path)
    ctx["screenshots"].append(path)


# ---- routes ----

@check("GET / and /index.html serve the page; /props names the model's facts")
def _(c):
    for path in ("/", "/index.html"):
        r = requests.get(c["srv"].url + path, timeout=10)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["Content-Type"].startswith("text/html"), r.headers["Content-Type"]
        assert "<title>Nucleus</title>" in r.text
        assert re.search(r'fetch\(url\("metrics"\)\)', r.text), "the page reaches the API by relative URLs"
    assert "/v1/" not in re.sub(r"<!--.*?-->", "", requests.get(c["srv"].url + "/", timeout=10).text, flags=re.S), \
        "no absolute API path in the page (it must work under a path prefix)"
    props = requests.get(c["srv"].url + "/props", timeout=10).json()
    assert props["model"] == c["model"], props
    assert props["architecture"] == "llama", props  # SmolLM2 is a llama-architecture model
    assert props["quantization"] == "Q4_1", props
    assert 130e6 < props["parameters"] < 140e6, props  # "135M"
    assert props["context_length"] == requests.get(c["srv"].url + "/v1/models").json()["data"][0]["max_model_len"]
    assert props["device"] == "cpu" and props["threads"] >= 1, props
    assert props["build_info"].startswith("nucleus "), props
    r = requests.post(c["srv"].url + "/", timeout=10)
    assert r.status_code == 405, r.status_code


# ---- the chat view ----

@check("the page loads, names the model, and logs no error")
def _(c):
    d = c["driver"]
    open_page(d, c["srv"].url + "/")
    wait_for(lambda: d.find_element(By.ID, "model-name").text == c["model"], what="the model's name in the header")
    wait_for(lambda: d.find_element(By.ID, "server-status").text == "ready", what="status ready")
    assert not js_errors(d), js_errors(d)


@check("a message's reply streams in progressively and equals the API's own answer")
def _(c):
    d = c["driver"]
    set_field(d, "p-temperature", 0)
    set_field(d, "p-max_tokens", 96)
    question = "Tell me about the moon in a few sentences."
    send(d, question)
    lengths = []
    state = None
    deadline = time.time() + 120
    while time.time() < deadline:
        state, text = reply_state(d)
        if state == "streaming" and text and (not lengths or len(text) != lengths[-1]):
            lengths.append(len(text))
        if state not in (None, "streaming"):
            break
        time.sleep(0.02)
    assert state == "done", state
    assert len(lengths) >= 3 and lengths == sorted(lengths), f"the text grew in steps {lengths}"
    shown = last_reply(d).find_element(By.CSS_SELECTOR, ".content").text
    body = sent_chat_bodies(d)[-1]
    assert body["stream"] is True and body["messages"][-1] == {"role": "user", "content": question}, body
    # The same request without streaming, from outside the page: temperature 0 decodes the same tokens.
    plain = dict(body, stream=False)
    plain.pop("stream_options")
    answer = requests.post(c["srv"].url + "/v1/chat/completions", json=plain, timeout=120).json()
    expected = answer["choices"][0]["message"]["content"]
    assert shown.strip() == expected.strip(), (shown, expected)
    assert "tokens/s" in last_reply(d).find_element(By.CSS_SELECTOR, ".meta").text


@check("hovering a token shows its probability and the alternatives")
def _(c):
    d = c["driver"]
    tokens = last_reply(d).find_elements(By.CSS_SELECTOR, ".content .tok")
    assert len(tokens) > 3, "the reply is shown token by token (logprobs are on by default)"
    ActionChains(d).move_to_element(tokens[2]).perform()
    tip = d.find_element(By.ID, "tooltip")
    wait_for(lambda: tip.is_displayed(), what="the tooltip")
    assert re.search(r"p = \d+\.\d+%", tip.text), tip.text
    rows = tip.find_elements(By.CSS_SELECTOR, "tr")
    assert len(rows) == 5, f"top_logprobs 5 gives 5 alternatives, got {len(rows)}"
    assert tip.find_elements(By.CSS_SELECTOR, "tr.chosen"), "the sampled token is marked among them"
    screenshot(c, "token-probabilities")
    ActionChains(d).move_to_element(d.find_element(By.ID, "input")).perform()


@check("stop aborts a long generation and the server ends it")
def _(c):
    d = c["driver"]
    before = metric(metrics(c["srv"].url), "nucleus:request_success_total")
    aborted_before = metrics(c["srv"].url).get('nucleus:request_success_total{finished_reason="abort"}', 0)
    set_field(d, "p-max_tokens", 4000)
    set_field(d, "p-ignore_eos", True)
    set_field(d, "p-temperature", 0.8)
    send(d, "Write a very long story about a lighthouse keeper.")
    wait_for(lambda: reply_state(d)[0] == "streaming" and len(reply_state(d)[1]) > 40, timeout=60,
             what="the long reply to start")
    assert metric(metrics(c["srv"].url), "nucleus:num_requests_running") == 1
    screenshot(c, "chat")  # the chat view mid-stream: a finished reply above, the long one growing
    d.find_element(By.ID, "stop").click()
    wait_for(lambda: reply_state(d)[0] == "stopped", timeout=10, what="the reply marked stopped")
    frozen = reply_state(d)[1]
    wait_for(lambda: metric(metrics(c["srv"].url), "nucleus:num_requests_running") == 0, timeout=10,
             what="no request running on the server")
    values = metrics(c["srv"].url)
    assert values['nucleus:request_success_total{finished_reason="abort"}'] == aborted_before + 1, values
    assert metric(values, "nucleus:request_success_total") == before + 1
    time.sleep(0.5)
    assert reply_state(d)[1] == frozen, "no text arrives after stop"
    assert 40 < len(frozen) < 4000 * 8
    assert not d.find_element(By.ID, "send").get_attribute("disabled")


@check("changed parameters and a JSON schema are in the request, and the reply follows the schema")
def _(c):
    d = c["driver"]
    set_field(d, "p-ignore_eos", False)
    set_field(d, "p-seed", 1234)
    set_field(d, "p-temperature", 0.3)
    set_field(d, "p-top_k", 20)
    set_field(d, "p-max_tokens", 120)
    set_field(d, "p-system", "You answer in JSON.")
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}}, "required": ["city"]}
    set_field(d, "p-json_schema", json.dumps(schema))
    send(d, "Which city is the capital of France?")
    wait_for(lambda: reply_state(d)[0] not in (None, "streaming"), timeout=120, what="the reply")
    state, text = reply_state(d)
    assert state == "done", state
    body = sent_chat_bodies(d)[-1]
    assert body["seed"] == 1234 and body["temperature"] == 0.3 and body["top_k"] == 20, body
    assert body["max_tokens"] == 120 and "ignore_eos" not in body, body
    assert body["messages"][0] == {"role": "system", "content": "You answer in JSON."}, body["messages"]
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "schema", "schema": schema, "strict": True}}, body
    reply = json.loads(text)
    assert isinstance(reply["city"], str) and len(reply["city"]) <= 20, reply
    set_field(d, "p-json_schema", "{not json")  # a bad schema is refused in the page, nothing is sent
    sent = len(sent_chat_bodies(d))
    send(d, "Another?")
    time.sleep(0.3)
    assert len(sent_chat_bodies(d)) == sent
    assert "not JSON" in d.find_element(By.ID, "schema-error").text
    set_field(d, "p-json_schema", "")
    set_field(d, "p-system", "")


@check("regenerate replaces the last reply; the conversation and settings survive a reload")
def _(c):
    d = c["driver"]
    count = len(d.find_elements(By.CSS_SELECTOR, ".msg"))
    sent = len(sent_chat_bodies(d))
    d.find_elements(By.CSS_SELECTOR, ".msg.assistant .regenerate")[-1].click()
    wait_for(lambda: len(sent_chat_bodies(d)) == sent + 1, what="the regenerated request")
    wait_for(lambda: reply_state(d)[0] not in (None, "streaming"), timeout=120, what="the regenerated reply")
    assert len(d.find_elements(By.CSS_SELECTOR, ".msg")) == count
    body = sent_chat_bodies(d)[-1]
    assert body["messages"][-1]["role"] == "user", "the reply is asked again from the same conversation"
    texts = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg .bubble")]
    d.refresh()
    d.execute_script(RECORD_FETCH)
    wait_for(lambda: len(d.find_elements(By.CSS_SELECTOR, ".msg")) == count, what="the conversation after reload")
    assert [e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg .bubble")] == texts
    assert d.find_element(By.ID, "p-seed").get_attribute("value") == "1234"


# ---- the dashboard ----

CANVAS_INK = """
const canvas = document.getElementById(arguments[0]);
const color = getComputedStyle(document.documentElement).getPropertyValue(arguments[1]).trim();
const probe = document.createElement('canvas').getContext('2d');
probe.fillStyle = color; probe.fillRect(0, 0, 1, 1);
const want = probe.getImageData(0, 0, 1, 1).data;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const zeroLine = canvas.height - 19 * (window.devicePixelRatio || 1);  // the plot's bottom (16 px) and the line's width
const rows = new Set();
let above = 0;
for (let i = 0; i < data.length; i += 4) {
  if (Math.abs(data[i] - want[0]) < 8 && Math.abs(data[i+1] - want[1]) < 8 && Math.abs(data[i+2] - want[2]) < 8 && data[i+3] > 200) {
    const row = Math.floor(i / 4 / canvas.width);
    rows.add(row);
    if (row < zeroLine) above++;
  }
}
return [rows.size, above];
"""


@check("the dashboard plots the traffic with non-zero values and shows the model's facts")
def _(c):
    d = c["driver"]
    d.find_element(By.ID, "tab-dashboard").click()
    # Traffic while the dashboard watches: two streams at once, kept up until the page's once-a-second scrape
    # has seen requests running (on a fast machine one pair of 150-token streams can fall between two scrapes).
    stop = threading.Event()

    def stream(n):
        while not stop.is_set():
            requests.post(c["srv"].url + "/v1/chat/completions", timeout=120,
                          json={"messages": [{"role": "user", "content": f"Count to {n}."}],
                                "max_tokens": 150, "ignore_eos": True, "stream": True})

    threads = [threading.Thread(target=stream, args=(n,)) for n in (30, 40)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: int(d.execute_script("return document.body.dataset.running || 0")) >= 1, timeout=60,
                 what="the dashboard's scrape to see a running request")
        # Four more scrapes under load: every line (the latency ones included, which need finished
        # requests in the window) rises over several points, not one spike of a few pixels.
        time.sleep(4.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    time.sleep(2.5)  # a few scrapes after the traffic: the latency lines have a few points each
    peaks = {}
    for chart in ("chart-tps", "chart-requests", "chart-kv", "chart-ttft", "chart-tpot"):
        peak = wait_for(lambda: float(d.find_element(By.ID, chart).get_attribute("data-peak") or 0), timeout=10,
                        what=f"{chart} above zero")
        peaks[chart] = peak
        # A series' line is drawn above the zero line, and where traffic came and went it rose and fell.
        # The latency charts: p99, the top line and the last drawn (with few requests p50 = p90 = p99,
        # and p99's ink covers the others).
        series = "--c3" if chart in ("chart-ttft", "chart-tpot") else "--c1"
        rows, above = d.execute_script(CANVAS_INK, chart, series)
        assert above >= 10, f"{chart}: {above} pixels of the line above zero"
        if chart in ("chart-tps", "chart-requests", "chart-kv"):
            assert rows > 5, f"{chart}: the plotted line spans {rows} pixel rows"
    assert peaks["chart-requests"] >= 1, peaks
    assert 0 < peaks["chart-ttft"] < 60 and 0 < peaks["chart-tpot"] < 10000, peaks
    facts = d.find_element(By.ID, "facts").text
    for fact in ("llama", "Q4_1", c["model"], "cpu"):
        assert fact in facts, (fact, facts)
    d.set_window_size(1400, 1250)  # the whole dashboard in one picture
    screenshot(c, "dashboard")
    d.set_window_size(1400, 950)
    assert not js_errors(d), js_errors(d)


# ---- with an API key, behind a prefix, and turned off ----

@check("with --api-key the page asks for the key, then works")
def _(c):
    key = "webui-secret"
    srv = Server(c["args"].nucleus, c["args"].model, "--api-key", key)
    d = c["driver"]
    try:
        open_page(d, srv.url + "/")
        dialog = d.find_element(By.ID, "key-dialog")
        wait_for(lambda: dialog.get_attribute("open") is not None, what="the key dialog")
        assert "API key" in dialog.text
        screenshot(c, "api-key")
        d.find_element(By.ID, "key-input").send_keys(key)
        d.find_element(By.ID, "key-save").click()
        wait_for(lambda: d.find_element(By.ID, "model-name").text == c["model"], what="the model's name")
        assert d.execute_script("return JSON.parse(localStorage.getItem('nucleus.apiKey'))") == key
        set_field(d, "p-max_tokens", 24)
        send(d, "Hello!")
        wait_for(lambda: reply_state(d)[0] not in (None, "streaming"), timeout=120, what="the reply")
        state, text = reply_state(d)
        assert state == "done" and text, (state, text)
        assert requests.get(srv.url + "/props", timeout=10).status_code == 401  # the page's key made the difference
    finally:
        srv.stop()


class PrefixProxy(http.server.ThreadingHTTPServer):
    """A reverse proxy serving the server under /nucleus/ (as nginx with a
    location block would), streaming responses as they come."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.paths = []
        super().__init__(("127.0.0.1", 0), PrefixHandler)


class PrefixHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes: nothing to frame

    def log_message(self, *args):
        pass

    def forward(self):
        self.server.paths.append(self.path)
        if self.path != "/nucleus" and not self.path.startswith("/nucleus/"):
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "accept-encoding")}
        upstream.request(self.command, self.path[len("/nucleus"):] or "/", body=body, headers=headers)
        res = upstream.getresponse()
        self.send_response(res.status)
        for k, v in res.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "keep-alive"):
                self.send_header(k, v)
        self.end_headers()
        try:
            while chunk := res.read1(65536):
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            upstream.close()

    do_GET = forward
    do_POST = forward


@check("behind a reverse proxy's path prefix the page reaches the API under the prefix")
def _(c):
    proxy = PrefixProxy(c["srv"].port)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    d = c["driver"]
    try:
        address = f"http://127.0.0.1:{proxy.server_address[1]}/nucleus"  # no trailing slash: the page copes
        open_page(d, address)
        wait_for(lambda: d.find_element(By.ID, "model-name").text == c["model"], what="the model's name")
        set_field(d, "p-max_tokens", 24)
        send(d, "Hi!")
        wait_for(lambda: reply_state(d)[0] not in (None, "streaming"), timeout=120, what="the reply")
        state, text = reply_state(d)
        assert state == "done" and text, (state, text)
        wait_for(lambda: {"/nucleus/metrics", "/nucleus/props"} <= set(proxy.paths), what="the dashboard's polls")
        assert "/nucleus/v1/chat/completions" in proxy.paths, proxy.paths
        assert all(p.startswith("/nucleus") for p in proxy.paths if "favicon" not in p), proxy.paths
    finally:
        proxy.shutdown()


# A ChatML template whose generation prompt opens a think block, as reasoning
# models' templates do: the small model's reply is then reasoning_content.
THINKING_TEMPLATE = """{% for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
<think>
{% endif %}"""


@check("reasoning_content streams into a folded block")
def _(c):
    with tempfile.NamedTemporaryFile("w", suffix=".jinja", delete=False) as f:
        f.write(THINKING_TEMPLATE)
    template = f.name
    srv = Server(c["args"].nucleus, c["args"].model, "--chat-template", template)
    d = c["driver"]
    try:
        open_page(d, srv.url + "/")
        wait_for(lambda: d.find_element(By.ID, "model-name").text == c["model"], what="the model's name")
        set_field(d, "p-max_tokens", 40)
        set_field(d, "p-temperature", 0)
        send(d, "Why is the sky blue?")
        seen_thinking = wait_for(lambda: "Thinking" in (d.execute_script(
            "const s = document.querySelector('.msg.assistant summary'); return s ? s.textContent : ''") or ""),
            timeout=60, what="the reasoning block while it streams")
        assert seen_thinking
        wait_for(lambda: reply_state(d)[0] not in (None, "streaming"), timeout=120, what="the reply")
        details = last_reply(d).find_element(By.CSS_SELECTOR, "details")
        assert details.get_attribute("open") is None, "the reasoning is folded"
        assert details.find_element(By.CSS_SELECTOR, "summary").text == "Reasoning"
        hidden = d.execute_script("return arguments[0].querySelector('.reasoning').textContent", details)
        body = dict(sent_chat_bodies(d)[-1], stream=False)
        body.pop("stream_options")
        expected = requests.post(srv.url + "/v1/chat/completions", json=body, timeout=120).json()
        assert hidden == expected["choices"][0]["message"]["reasoning_content"], (hidden, expected)
        details.find_element(By.CSS_SELECTOR, "summary").click()
        assert details.find_element(By.CSS_SELECTOR, ".reasoning").is_displayed()
        screenshot(c, "reasoning")
    finally:
        srv.stop()
        os.unlink(template)


@check("--no-webui: GET / is 404, the API and /props still answer")
def _(c):
    srv = Server(c["args"].nucleus, c["args"].model, "--no-webui")
    try:
        for path in ("/", "/index.html"):
            r = requests.get(srv.url + path, timeout=10)
            assert r.status_code == 404, (path, r.status_code)
            assert "no route for GET" in r.json()["error"]["message"], r.text
        assert requests.get(srv.url + "/props", timeout=10).json()["model"] == c["model"]
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nucleus", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--artifacts", default="build/e2e-artifacts", help="folder for the screenshots")
    ap.add_argument("--only", default="", help="run only the checks whose name matches this regex")
    args = ap.parse_args()
    if args.only:
        RESULTS[:] = [(name, fn) for name, fn in RESULTS if re.search(args.only, name)]
    os.makedirs(args.artifacts, exist_ok=True)

    srv = Server(args.nucleus, args.model)
    model = requests.get(srv.url + "/v1/models", timeout=10).json()["data"][0]["id"]
    driver = browser()
    open_page(driver, srv.url + "/")  # each check goes on from where the one before left the page
    ctx = {"srv": srv, "model": model, "args": args, "driver": driver, "artifacts": args.artifacts, "screenshots": []}
    failures = 0
    try:
        for name, fn in RESULTS:
            t0 = time.time()
            try:
                fn(ctx)
                print(f"PASS {name} ({time.time() - t0:.1f}s)", flush=True)
            except Exception:
                failures += 1
                print(f"FAIL {name}", flush=True)
                traceback.print_exc()
    finally:
        driver.quit()
        rc = srv.stop()
    for path in ctx["screenshots"]:
        print(f"screenshot: {path}")
    print(f"{len(RESULTS) - failures} passed, {failures} failed")
    sys.exit(1 if failures or rc != 0 else 0)


if __name__ == "__main__":
    main()
