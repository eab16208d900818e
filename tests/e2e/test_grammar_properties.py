#!/usr/bin/env python3
"""Soundness of the grammar engine: everything it lets a generation write is
valid by an independent judge. tests/tools/grammar_walk takes seeded random
walks (uniform over the allowed next bytes) through grammars compiled from
random JSON Schemas, random regexes, choices and llama.cpp's JSON grammar; every
output must validate with `jsonschema` (formats checked), match with
`re.fullmatch`, be one of the choices, or parse with json.loads.

  python tests/e2e/test_grammar_properties.py --nucleus build/release/app/nucleus --model MODEL

(--model is accepted for the CI loop and unused; grammar_walk is found next to
the nucleus binary's build tree: build/<flavour>/tests/grammar_walk.)
Prints counts and a last line 'N passed, M failed'; exits non-zero on failure.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "golden"))
import grammar_cases  # noqa: E402  (the random schema and regex generators)
import jsonschema  # noqa: E402

SEED = 7


def find_walk(nucleus):
    build = os.path.dirname(os.path.dirname(os.path.abspath(nucleus)))  # build/<flavour>/app/nucleus -> build/<flavour>
    for path in (os.path.join(build, "tests", "grammar_walk"), os.path.join(ROOT, "build", "release", "tests",
                                                                            "grammar_walk")):
        if os.access(path, os.X_OK):
            return path
    raise SystemExit(f"grammar_walk not found next to {nucleus} (build the grammar_walk target)")


def random_number_range(rng):
    """A "number" with one or two bounds, inclusive or exclusive, decimals near
    doubles' rounding edges included (0.1, 0.3, 0.30000000000000004)."""
    values = [-1000.5, -3.25, -1, -0.3, 0, 1e-7, 0.1, 0.3, 0.30000000000000004, 0.5, 1, 2.75, 99.125, 123456.789]
    a, b = sorted(rng.sample(values, 2))
    s = {"type": "number"}
    if rng.random() < 0.8:
        s[rng.choice(["minimum", "exclusiveMinimum"])] = a
    if rng.random() < 0.8 or len(s) == 1:
        s[rng.choice(["maximum", "exclusiveMaximum"])] = b
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nucleus", default=os.path.join(ROOT, "build", "release", "app", "nucleus"))
    ap.add_argument("--model", default="")
    ap.add_argument("--schemas", type=int, default=150)
    ap.add_argument("--regexes", type=int, default=150)
    ap.add_argument("--samples", type=int, default=12)
    args = ap.parse_args()
    rng = random.Random(SEED)

    cases = []  # (kind, source, judge)
    for _ in range(args.schemas):
        schema = grammar_cases.random_schema(rng) if rng.random() < 0.8 else grammar_cases.random_ref_schema(rng)
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        cases.append(("json_schema", json.dumps(schema, ensure_ascii=False),
                      lambda out, v=validator: v.is_valid(json.loads(out))))
    for _ in range(args.schemas // 3):  # bounded numbers, alone or as a property
        schema = random_number_range(rng)
        if rng.random() < 0.3:
            schema = {"type": "object", "properties": {"v": schema}, "required": ["v"]}
        validator = jsonschema.Draft202012Validator(schema)
        cases.append(("json_schema", json.dumps(schema), lambda out, v=validator: v.is_valid(json.loads(out))))
    for _ in range(args.regexes):
        pattern = grammar_cases.random_regex(rng)
        cases.append(("regex", pattern, lambda out, p=re.compile(pattern): p.fullmatch(out) is not None))
    for options in (["yes", "no", "not sure"], ["a", "ab", "abc", ""], ["日本", "\"quoted\"", "x\ny"]):
        cases.append(("choice", json.dumps(options), lambda out, o=options: out in o))
    llama_json = os.path.join(os.environ.get("NUCLEUS_CACHE", os.path.expanduser("~/.cache/nucleus")),
                              "peers/llama_cpp_python-0.3.36/vendor/llama.cpp/grammars/json.gbnf")
    if os.path.exists(llama_json):
        with open(llama_json) as f:
            cases.append(("gbnf", f.read(), lambda out: isinstance(json.loads(out), (dict, list, str, int, float))))
    else:
        print(f"skipping llama.cpp json.gbnf: missing {llama_json}")

    lines = [json.dumps({"kind": k, "source": s, "samples": args.samples, "seed": i, "budget": 48})
             for i, (k, s, _) in enumerate(cases)]
    proc = subprocess.run([find_walk(args.nucleus)], input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=600)
    results = [json.loads(line) for line in proc.stdout.split("\n") if line]  # not splitlines(): outputs hold U+2028
    if proc.returncode != 0 or len(results) != len(cases):
        print(proc.stderr)
        raise SystemExit(f"grammar_walk failed (exit {proc.returncode}, {len(results)} of {len(cases)} results)")

    passed = failed = unfinished = 0
    per_kind = {}
    for (kind, source, judge), result in zip(cases, results):
        if "error" in result:
            failed += 1
            print(f"FAIL {kind} {source!r}: does not compile: {result['error']}")
            continue
        unfinished += result["unfinished"]
        stats = per_kind.setdefault(kind, [0, 0])
        stats[0] += 1
        for out in result["outputs"]:
            try:
                ok = judge(out)
            except (ValueError, RecursionError):
                ok = False
            if ok:
                passed += 1
                stats[1] += 1
            else:
                failed += 1
                if failed <= 20:
                    print(f"FAIL {kind} {source!r}: produced {out!r}")
    for kind, (grammars, outputs) in per_kind.items():
        print(f"{kind}: {grammars} grammars, {outputs} sampled outputs judged valid")
    print(f"{unfinished} walks did not finish within their byte cap (not judged)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
