#!/usr/bin/env python3
"""Writes tests/data/jinja/golden.json: what Python's jinja2, set up exactly as
transformers sets it up for chat templates, renders for every template in
llama.cpp's models/templates on a fixed matrix of conversations.

The environment is transformers' own (`_compile_jinja_template`: the
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks, the generation
and loopcontrols extensions, its tojson, raise_exception, strftime_now, dict and
namespace), reused from the installed package, not copied. Only strftime_now is
pinned to a fixed date (FIXED_NOW) so the output does not depend on the day.

Each context below is the complete set of variables a template sees, as
transformers' render_jinja_template passes them (messages, tools, documents,
add_generation_prompt, then the kwargs: bos/eos tokens, enable_thinking). The
contexts are written into the golden file, so the C++ test renders exactly the
same input. transformers' message preprocessing (aliasing reasoning_content to
`thinking`, content continuation) is not applied: it is not the interpreter's
job, and the server does its own.

For each (template, context): {"output": str}, or {"error": str,
"raise_exception": bool} when jinja2 raises; raise_exception is true when the
template's own raise_exception() raised (a bare jinja2 TemplateError), whose
message the C++ interpreter must reproduce exactly.

The templates are not committed (they are llama.cpp's): they are read from the
llama-cpp-python sdist in the cache (bench/peers/fetch-llama-src.sh puts it
there), and each one's sha256 is recorded so the C++ test can tell a changed file.

It also writes tests/data/jinja/snippets.json: one small template per feature (jinja_snippets.py)
rendered the same way, for the interpreter's unit tests.

Runs offline in the project venv:
  ~/.cache/nucleus/venv/bin/python scripts/golden/gen_jinja_golden.py [--templates DIR] [--out PATH]
"""

import argparse
import copy
import datetime
import hashlib
import json
import os

import sys

import jinja2
import transformers
from transformers.utils.chat_template_utils import _compile_jinja_template

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jinja_snippets import CONTEXT, SNIPPETS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("NUCLEUS_CACHE", os.path.expanduser("~/.cache/nucleus"))
DEFAULT_TEMPLATES = os.path.join(CACHE, "peers", "llama_cpp_python-0.3.36", "vendor", "llama.cpp", "models",
                                 "templates")
FIXED_NOW = datetime.datetime(2025, 7, 26, 14, 30, 5)
BOS, EOS = "<s>", "</s>"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
                "days": {"type": "integer", "description": "Forecast days", "minimum": 1, "maximum": 7},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web & return \"top\" results <html>.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "limit": {"type": "number", "description": "Max results", "default": 2.5},
                "filters": {"type": "array", "items": {"type": "string"}, "description": "Domain filters"},
                "safe": {"type": "boolean", "description": "Safe search"},
            },
            "required": ["query", "limit"],
        },
    },
}
TOOLS = [WEATHER_TOOL, SEARCH_TOOL]


def call(call_id, name, arguments, string_args):
    args = json.dumps(arguments, ensure_ascii=False) if string_args else arguments
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def tool_turns(string_args, parallel):
    calls = [call("call_1", "get_weather", {"city": "Paris", "unit": "celsius"}, string_args)]
    results = [{"role": "tool", "tool_call_id": "call_1", "name": "get_weather",
                "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"}]
    if parallel:
        calls.append(call("call_2", "search", {"query": "Paris events", "limit": 3}, string_args))
        results.append({"role": "tool", "tool_call_id": "call_2", "name": "search", "content": "Fête de la musique"})
    return [
        {"role": "system", "content": "You are a helpful assistant with tools."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": calls},
        *results,
        {"role": "assistant", "content": "It is 21.5 °C and clear in Paris."},
        {"role": "user", "content": "Thanks! And tomorrow?"},
    ]


def conversations():
    """(id, messages, tools, add_generation_prompt, extra kwargs)."""
    system = {"role": "system", "content": "You are a helpful assistant."}
    multi = [
        system,
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hi there. How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ]
    return [
        ("user_only", [{"role": "user", "content": "Hello!"}], None, True, {}),
        ("user_only_no_gen", [{"role": "user", "content": "Hello!"}], None, False, {}),
        ("system_user", [system, {"role": "user", "content": "What is 2+2?"}], None, True, {}),
        ("multi_turn", multi, None, True, {}),
        ("multi_turn_closed", multi + [{"role": "assistant", "content": "Why did the chicken cross the road?"}],
         None, False, {}),
        ("unicode", [
            {"role": "system", "content": "Réponds en français. 你好, Привет, 🚀 \"quotes\" 'single' <b>&amp;</b>"},
            {"role": "user", "content": "  Leading and trailing spaces\n\nand a blank line\t tab  "},
            {"role": "assistant", "content": "D'accord ✓ — «guillemets» \\ backslash"},
            {"role": "user", "content": "Ünïcödé ẞ ﬁ 𝔘 \u200b zero width"},
        ], None, True, {}),
        ("tools", [system, {"role": "user", "content": "What's the weather in Paris?"}], TOOLS, True, {}),
        ("tools_no_system", [{"role": "user", "content": "Search for cats."}], TOOLS, True, {}),
        ("tool_calls_dict_args", tool_turns(False, False), TOOLS, True, {}),
        ("tool_calls_string_args", tool_turns(True, False), TOOLS, True, {}),
        ("parallel_tool_calls", tool_turns(False, True), TOOLS, True, {}),
        ("thinking_on", [{"role": "user", "content": "Think about 17*23."}], None, True, {"enable_thinking": True}),
        ("thinking_off", [system, {"role": "user", "content": "Answer quickly: 17*23?"}], None, True,
         {"enable_thinking": False}),
        ("reasoning_content", [
            {"role": "user", "content": "What is 17*23?"},
            {"role": "assistant", "content": "391", "reasoning_content": "17*23 = 17*20 + 17*3 = 340 + 51 = 391."},
            {"role": "user", "content": "And 18*23?"},
        ], None, True, {"enable_thinking": True}),
        ("content_parts", [
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": [{"type": "text", "text": "Part one."}, {"type": "text", "text": "Part two."}]},
        ], None, True, {}),
        ("assistant_first", [
            {"role": "assistant", "content": "Welcome!"},
            {"role": "user", "content": "Hi"},
        ], None, True, {}),
    ]


def context_of(messages, tools, add_generation_prompt, kwargs):
    # The order and the None values match render_jinja_template's call of render().
    ctx = {"messages": messages, "tools": tools, "documents": None, "add_generation_prompt": add_generation_prompt,
           "bos_token": BOS, "eos_token": EOS}
    ctx.update(kwargs)
    return ctx


def render(source, ctx):
    try:
        template = _compile_jinja_template(source)
        template.environment.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
        return {"output": template.render(**copy.deepcopy(ctx))}
    except Exception as e:  # noqa: BLE001 - every failure is an expected result to record
        own = type(e) is jinja2.exceptions.TemplateError  # what raise_exception() raises, nothing else does
        return {"error": str(e), "raise_exception": own}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--templates", default=DEFAULT_TEMPLATES)
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "jinja", "golden.json"))
    parser.add_argument("--snippets-out", default=os.path.join(ROOT, "tests", "data", "jinja", "snippets.json"))
    args = parser.parse_args()

    ids = [sid for sid, _ in SNIPPETS]
    assert len(ids) == len(set(ids)), "snippet ids must be unique"
    snippets = [{"id": sid, "template": src, **render(src, CONTEXT)} for sid, src in SNIPPETS]
    with open(args.snippets_out, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/golden/gen_jinja_golden.py", "jinja2": jinja2.__version__,
                   "strftime_now": FIXED_NOW.isoformat(), "context": CONTEXT, "snippets": snippets}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(snippets)} snippets, {sum('error' in s for s in snippets)} raising")

    contexts = {cid: context_of(m, t, g, k) for cid, m, t, g, k in conversations()}
    templates = []
    for name in sorted(os.listdir(args.templates)):
        if not name.endswith(".jinja"):
            continue
        raw = open(os.path.join(args.templates, name), "rb").read()
        source = raw.decode("utf-8")
        try:
            _compile_jinja_template(source)
            parse_error = None
        except Exception as e:  # noqa: BLE001
            parse_error = str(e)
        results = {}
        for cid, ctx in contexts.items():
            results[cid] = {"error": parse_error, "raise_exception": False} if parse_error else render(source, ctx)
        templates.append({"file": name, "sha256": hashlib.sha256(raw).hexdigest(), "parse_error": parse_error,
                          "results": results})
        ok = sum("output" in r for r in results.values())
        print(f"{name}: {ok}/{len(results)} rendered" + (f" (parse error: {parse_error})" if parse_error else ""))

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/golden/gen_jinja_golden.py", "jinja2": jinja2.__version__,
                   "transformers": transformers.__version__, "strftime_now": FIXED_NOW.isoformat(),
                   "contexts": contexts, "templates": templates}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
