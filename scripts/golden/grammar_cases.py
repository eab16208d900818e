#!/usr/bin/env python3
"""Golden cases for the grammar engine (tests/sampling/grammar_golden_test.cc),
judged by independent tools, never by our own engine:

  - random JSON Schemas (within what sampling/grammar/json_schema.h supports);
    valid documents drawn by hypothesis-jsonschema and checked by `jsonschema`,
    invalid ones made by mutating valid ones and kept only when `jsonschema`
    (or json.loads) rejects them;
  - random regexes; matching strings drawn by `rstr` and kept only when
    `re.fullmatch` agrees, non-matching ones by mutation, kept only when
    `re.fullmatch` fails.

Valid documents are serialized the ways a model writes JSON (compact, spaced,
indented), with object keys in schema property order (the grammar imposes it,
as llama.cpp's does). Documents outside the grammar's documented limits are
dropped and counted: integers of more than 20 digits, extra keys
(additionalProperties) that need escapes, dates on February 29.

Output: tests/data/grammar/json_schema_cases.json and regex_cases.json.
The random generators are also used by tests/e2e/test_grammar_properties.py.
Run: ~/.cache/nucleus/venv/bin/python scripts/golden/grammar_cases.py
"""
import json
import os
import random
import re
import sys
import uuid

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "grammar")
SEED = 20250116
NAMES = ["id", "name", "age", "tags", "a", "ab", "x y", "é", "value", "nested", "on"]
PATTERNS = ["^[a-z]{2,5}$", "ab+", "^[A-Z][a-z]*(-[0-9]{1,3})?$", "x|yz", "^(foo|bar)[0-9]?$", "[^a-z]", "^.{1,4}$",
            "\\.", "^[\"\\\\]+$", "^(?:ab|cd)*$"]
FORMATS = ["date", "time", "date-time", "uuid", "email"]


def rand_int(rng):
    return rng.choice([0, 1, -1, 7, 10, 99, 100, -100, 12345, -987654, 2**31, rng.randint(-10**6, 10**6)])


def scalar(rng):
    return rng.choice([rng.choice(["red", "green", "gre", "", "a\"b", "é\n"]), rand_int(rng), True, False, None, 1.5])


def random_schema(rng, depth=0):
    """A random schema within the supported subset (no recursion: see random_recursive_schema)."""
    leaves = ["string", "strlen", "format", "pattern", "integer", "intrange", "number", "boolean", "null", "enum",
              "const", "union"]
    nodes = ["object", "object", "array", "tuple", "anyOf"] if depth < 2 else []
    kind = rng.choice(leaves + nodes * 2)
    if kind == "string":
        return {"type": "string"}
    if kind == "strlen":
        lo = rng.randint(0, 3)
        s = {"type": "string", "minLength": lo}
        if rng.random() < 0.7:
            s["maxLength"] = lo + rng.randint(0, 6)
        return s
    if kind == "format":
        return {"type": "string", "format": rng.choice(FORMATS)}
    if kind == "pattern":
        return {"type": "string", "pattern": rng.choice(PATTERNS)}
    if kind == "integer":
        return {"type": "integer"}
    if kind == "intrange":
        s = {"type": "integer"}
        a, b = sorted([rand_int(rng), rand_int(rng)])
        if rng.random() < 0.7:
            s[rng.choice(["minimum", "exclusiveMinimum"])] = a
        if rng.random() < 0.7 or len(s) == 1:
            s[rng.choice(["maximum", "exclusiveMaximum"])] = b + 2
        return s
    if kind == "number":
        return {"type": "number"}
    if kind in ("boolean", "null"):
        return {"type": kind}
    if kind == "enum":
        return {"enum": list({json.dumps(v): v for v in (scalar(rng) for _ in range(rng.randint(1, 4)))}.values())}
    if kind == "const":
        return {"const": scalar(rng)}
    if kind == "union":
        return {"type": rng.choice([["string", "null"], ["integer", "boolean"], ["number", "null"]])}
    if kind == "object":
        names = rng.sample(NAMES, rng.randint(0, 4))
        s = {"type": "object", "properties": {n: random_schema(rng, depth + 1) for n in names}}
        s["required"] = [n for n in names if rng.random() < 0.6]
        extra = rng.random()
        if extra < 0.6:
            s["additionalProperties"] = False
        elif extra < 0.75:
            s["additionalProperties"] = random_schema(rng, 3)
        elif extra < 0.85:
            s["additionalProperties"] = True
        return s
    if kind == "array":
        s = {"type": "array", "items": random_schema(rng, depth + 1)}
        if rng.random() < 0.5:
            s["minItems"] = rng.randint(0, 2)
        if rng.random() < 0.5:
            s["maxItems"] = s.get("minItems", 0) + rng.randint(0, 3)
        return s
    if kind == "tuple":
        return {"type": "array", "prefixItems": [random_schema(rng, depth + 1) for _ in range(rng.randint(1, 3))],
                "items": False}
    return {"anyOf": [random_schema(rng, depth + 1) for _ in range(rng.randint(2, 3))]}


def random_ref_schema(rng):
    """$defs and $ref, optionally recursive (a tree)."""
    leaf = random_schema(rng, 2)
    if rng.random() < 0.5:
        return {"$defs": {"item": leaf}, "type": "array", "items": {"$ref": "#/$defs/item"}, "maxItems": 4}
    return {"$ref": "#/$defs/node", "$defs": {"node": {
        "type": "object", "properties": {"v": leaf, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"},
                                                             "maxItems": 3}},
        "required": ["v"], "additionalProperties": False}}}


def random_regex(rng, depth=0):
    """A random regex in the common syntax (Python and ECMA agree on it)."""
    atoms = ["a", "b", "xy", "[a-c]", "[^a-c\\n]", "\\d", "\\w", "\\s", ".", "[0-9A-F]", "é", "日", "\\.", "[-+]",
             "\\\\", "\""]
    parts = []
    for _ in range(rng.randint(1, 4)):
        if depth < 2 and rng.random() < 0.3:
            inner = "|".join(random_regex(rng, depth + 1) for _ in range(rng.randint(1, 3)))
            # Groups get bounded quantifiers only: (a+)+ makes Python's backtracking
            # judge exponential on non-matching strings.
            parts.append(rng.choice(["(", "(?:"]) + inner + ")" + rng.choice(["", "", "?", "{2}", "{1,3}", "{0,2}"]))
        else:
            parts.append(rng.choice(atoms) + rng.choice(["", "", "", "*", "+", "?", "{2}", "{1,3}", "{2,}", "*?", "{0,2}"]))
    return "".join(parts)


def mutate_text(rng, text):
    chars = list(text)
    op = rng.randint(0, 2)
    i = rng.randint(0, len(chars)) if chars else 0
    c = rng.choice(["a", "1", "\"", "}", "]", ",", " ", "é", "-", ".", "\\", "x", ":", "{"])
    if op == 0 or not chars:
        chars.insert(i, c)
    elif op == 1:
        del chars[min(i, len(chars) - 1)]
    else:
        chars[min(i, len(chars) - 1)] = c
    return "".join(chars)


def reorder(doc, schema):
    """Keys in schema property order (declared ones first), recursively where the schema is known."""
    if isinstance(doc, dict) and isinstance(schema, dict):
        props = schema.get("properties", {})
        out = {k: reorder(doc[k], props[k]) for k in props if k in doc}
        extra = schema.get("additionalProperties")
        for k in doc:
            if k not in props:
                out[k] = reorder(doc[k], extra if isinstance(extra, dict) else {})
        return out
    if isinstance(doc, list) and isinstance(schema, dict):
        prefix = schema.get("prefixItems", [])
        return [reorder(v, prefix[i] if i < len(prefix) else schema.get("items", {})) for i, v in enumerate(doc)]
    return doc


def within_limits(doc):
    if isinstance(doc, bool) or doc is None:
        return True
    if isinstance(doc, int):
        return len(str(abs(doc))) <= 20
    if isinstance(doc, float):
        return re.fullmatch(r"-?(0|[1-9][0-9]{0,19})(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", json.dumps(doc)) is not None
    if isinstance(doc, str):
        return not re.fullmatch(r"\d{4}-02-29.*", doc)
    if isinstance(doc, list):
        return all(within_limits(v) for v in doc)
    return all(within_limits(v) for v in doc.values())


def extra_keys_plain(doc, schema):
    """Extra keys (additionalProperties) must be writable without escapes."""
    if isinstance(doc, dict) and isinstance(schema, dict):
        props = schema.get("properties", {})
        for k, v in doc.items():
            if k not in props and re.search(r'["\\\x00-\x1f]', k):
                return False
            sub = props.get(k, schema.get("additionalProperties"))
            if not extra_keys_plain(v, sub if isinstance(sub, dict) else {}):
                return False
    if isinstance(doc, list) and isinstance(schema, dict):
        prefix = schema.get("prefixItems", [])
        return all(extra_keys_plain(v, prefix[i] if i < len(prefix) else schema.get("items", {}))
                   for i, v in enumerate(doc))
    return True


def serialize(rng, doc):
    style = rng.randint(0, 2)
    if style == 0:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if style == 1:
        return json.dumps(doc, ensure_ascii=False)
    return json.dumps(doc, ensure_ascii=False, indent=2)


def draw(strategy, n):
    from hypothesis import HealthCheck, given, settings
    out = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(x):
        out.append(x)

    collect()
    return out


def schema_cases(rng, count, per_schema, stats):
    import jsonschema
    from hypothesis_jsonschema import from_schema
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    cases = []
    while len(cases) < count:
        schema = random_schema(rng) if rng.random() < 0.85 else random_ref_schema(rng)
        validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
        try:
            docs = draw(from_schema(schema), per_schema * 2)
            if schema.get("format") == "uuid":  # which hypothesis-jsonschema does not generate
                docs += [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(per_schema // 2)]
        except Exception as e:  # hypothesis-jsonschema cannot sample some schemas (recursive refs): skip them
            stats["unsampleable"] = stats.get("unsampleable", 0) + 1
            continue
        valid, seen = [], set()
        for doc in docs:
            if not validator.is_valid(doc):  # hypothesis-jsonschema does not know every format (uuid)
                stats["generator_invalid"] = stats.get("generator_invalid", 0) + 1
                continue
            if not within_limits(doc) or not extra_keys_plain(doc, schema):
                stats["dropped"] = stats.get("dropped", 0) + 1
                continue
            text = serialize(rng, reorder(doc, schema))
            if text not in seen:
                seen.add(text)
                valid.append(text)
        invalid = set()
        for _ in range(per_schema * 20):
            if len(invalid) >= per_schema or not valid:
                break
            text = mutate_text(rng, rng.choice(valid))
            try:
                ok = validator.is_valid(json.loads(text))
            except (ValueError, RecursionError):
                ok = False
            if not ok:
                invalid.add(text)
        print(f"schema {len(cases)}: {len(valid)} valid", file=sys.stderr, flush=True)
        cases.append({"schema": json.dumps(schema, ensure_ascii=False), "valid": valid[:per_schema],
                      "invalid": sorted(invalid)})
    return cases


def regex_cases(rng, count, per_regex):
    import rstr
    gen = rstr.Rstr(random.Random(rng.random()))
    cases = []
    while len(cases) < count:
        pattern = random_regex(rng)
        compiled = re.compile(pattern)
        match = set()
        for _ in range(per_regex * 3):
            s = gen.xeger(pattern)
            if len(s) <= 40 and compiled.fullmatch(s):  # short: the backtracking judge stays fast
                match.add(s)
        if not match:
            continue
        nomatch = set()
        for _ in range(per_regex * 20):
            if len(nomatch) >= per_regex:
                break
            s = mutate_text(rng, rng.choice(sorted(match)))
            if not compiled.fullmatch(s):
                nomatch.add(s)
        print(f"regex {len(cases)}: {pattern}", file=sys.stderr, flush=True)
        cases.append({"regex": pattern, "match": sorted(match)[:per_regex], "nomatch": sorted(nomatch)})
    return cases


def main():
    rng = random.Random(SEED)
    os.makedirs(OUT, exist_ok=True)
    stats = {}
    schemas = schema_cases(rng, 60, 10, stats)
    regexes = regex_cases(rng, 80, 12)
    with open(os.path.join(OUT, "json_schema_cases.json"), "w") as f:
        json.dump(schemas, f, ensure_ascii=False, indent=0)
    with open(os.path.join(OUT, "regex_cases.json"), "w") as f:
        json.dump(regexes, f, ensure_ascii=False, indent=0)
    print(f"{len(schemas)} schemas, {sum(len(c['valid']) for c in schemas)} valid and "
          f"{sum(len(c['invalid']) for c in schemas)} invalid documents; {len(regexes)} regexes, "
          f"{sum(len(c['match']) for c in regexes)} matching and {sum(len(c['nomatch']) for c in regexes)} "
          f"non-matching strings; {stats}")


if __name__ == "__main__":
    sys.exit(main())
