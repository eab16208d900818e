#!/usr/bin/env python3
"""Writes tests/data/tokenizer/smollm2_golden.json: token ids of every corpus
string (scripts/golden/tokenizer_corpus.py) from two independent tokenizers
built from the SmolLM2 GGUF vocabulary:

  hf         HF `tokenizers`: BPE(vocab, merges) with SmolLM2's own pipeline
             (pre-tokenizer Sequence[Digits(individual_digits=True),
             ByteLevel(add_prefix_space=False)], ByteLevel decoder, the
             CONTROL tokens as special added tokens). transformers' GGUF
             loader needs torch, which is not installed, so we build it here.
  llama_cpp  llama-cpp-python: Llama(model, vocab_only=True).tokenize().

Also "hf_llama3" and "hf_qwen2": the same vocabulary through HF with the
Llama 3 / Qwen2 split regexes (as in their tokenizer.json files; Llama 3 with
ignore_merges), to check our llama3/qwen2 pre-tokenizers against Oniguruma.

Both without BOS; "special": false means special-token text is plain text
(HF: encode_special_tokens=True). For special_text_strings() both are also
run with special-token parsing on. Where hf and llama_cpp disagree the case
is marked ("refs_agree": false) and printed; the C++ test follows hf.

Runs offline in the project venv:
  ~/.cache/nucleus/venv/bin/python scripts/golden/gen_tokenizer_golden.py [--model PATH] [--out PATH]
"""

import argparse
import json
import os
import sys

import gguf
import llama_cpp
import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_corpus import corpus, special_text_strings  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODEL = os.path.join(
    os.environ.get("NUCLEUS_MODEL_DIR", os.path.expanduser("~/.cache/nucleus/models")),
    "SmolLM2-135M-Instruct.Q4_1.gguf")
CONTROL = 3


def read_vocab(path):
    reader = gguf.GGUFReader(path)
    def strings(key):
        f = reader.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    def ints(key):
        f = reader.fields[key]
        return [int(f.parts[i][0]) for i in f.data]
    pre = bytes(reader.fields["tokenizer.ggml.pre"].parts[-1]).decode()
    assert pre == "smollm", f"this script reproduces the smollm pipeline, the model says {pre!r}"
    return strings("tokenizer.ggml.tokens"), ints("tokenizer.ggml.token_type"), strings("tokenizer.ggml.merges")


def build_hf(tokens, types, merges):
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == CONTROL])
    return tok


# The Split regexes of meta-llama/Meta-Llama-3-8B and Qwen/Qwen2-7B tokenizer.json.
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def build_hf_split(tokens, merges, regex, ignore_merges):
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(regex), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    return tok


def hf_encode(tok, text, special):
    tok.encode_special_tokens = not special
    return tok.encode(text, add_special_tokens=False).ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/data/tokenizer/smollm2_golden.json"))
    args = ap.parse_args()

    tokens, types, merges = read_vocab(args.model)
    hf = build_hf(tokens, types, merges)
    llama = llama_cpp.Llama(args.model, vocab_only=True, verbose=False)
    hf_llama3 = build_hf_split(tokens, merges, LLAMA3_REGEX, ignore_merges=True)
    hf_qwen2 = build_hf_split(tokens, merges, QWEN2_REGEX, ignore_merges=False)

    def llama_encode(text, special):
        return llama.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    cases, disagreements = [], []
    specials = set(special_text_strings())
    for text in corpus():
        case = {"text": text, "hf": hf_encode(hf, text, False), "llama_cpp": llama_encode(text, False)}
        case["refs_agree"] = case["hf"] == case["llama_cpp"]
        case["hf_llama3"] = hf_llama3.encode(text, add_special_tokens=False).ids
        case["hf_qwen2"] = hf_qwen2.encode(text, add_special_tokens=False).ids
        if text in specials:
            sp = {"hf": hf_encode(hf, text, True), "llama_cpp": llama_encode(text, True)}
            sp["refs_agree"] = sp["hf"] == sp["llama_cpp"]
            case["special"] = sp
        for label, c in (("plain", case), ("special", case.get("special"))):
            if c is not None and not c["refs_agree"]:
                disagreements.append(text)
                print(f"references disagree ({label}): {text!r}\n  hf:        {c['hf']}\n  llama_cpp: {c['llama_cpp']}")
        cases.append(case)
    for text in special_text_strings():
        if text not in {c["text"] for c in cases}:
            raise SystemExit(f"special string {text!r} is missing from the corpus")

    doc = {
        "model": os.path.basename(args.model),
        "generator": "scripts/golden/gen_tokenizer_golden.py",
        "versions": {"tokenizers": tokenizers.__version__, "llama_cpp_python": llama_cpp.__version__},
        "bos": False,
        "disagreements": sorted(set(disagreements)),
        "cases": cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")
    n_special = sum(1 for c in cases if "special" in c)
    print(f"{len(cases)} strings ({n_special} also with special parsing), "
          f"{len(set(disagreements))} where hf and llama.cpp disagree -> {args.out}")


if __name__ == "__main__":
    main()
