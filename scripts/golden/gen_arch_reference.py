#!/usr/bin/env python3
"""llama.cpp's next-token log-probabilities for the random-weight model of each
architecture (scripts/golden/make_random_model.py), the references of
tests/model/architectures_test.cc.

llama.cpp is the one vendored in the llama-cpp-python sdist, built as a shared
library by bench/peers/build-llama.sh (LLAMA_TARGETS="llama llama-quantize"),
loaded through the sdist's own Python bindings (LLAMA_CPP_LIB_PATH), with a
float32 KV cache, flash attention off and logits for every position.
n_ctx is 4096: llama.cpp then uses phi3's short LongRoPE factors (its
original context is 4096) and phi3long's long ones (256); the test loads our
models for the same context (ModelOptions::context).

Each architecture runs in every weight type of make_random_model.TYPES: F32
and F16 as the generator writes them, the others made by llama-quantize --pure
from the F16 file (make_random_model.quantize_model). On CPU llama.cpp
multiplies F16/BF16 matrices with activations rounded to that type and the
quantized ones with activations quantized to Q8_0/Q8_1/Q8_K blocks (the
types' vec_dot_type); that rounding is part of what the test's bounds cover.
A type llama-quantize refuses for an architecture is written as
{"refused": its message}.

Prompts: 16 and 300 tokens in every cell, 2500 tokens in the F32 cells only
(the long prompt tests positions: RoPE scaling, sliding windows; the weight
type changes nothing position-dependent, and the 2500-token prompt costs as
much as all the others together).

Writes tests/data/arch_ref/<arch>.<type>.json: the model file's sha256 (the test
regenerates the model and checks it is the same file), the prompts' token ids
(tokenized by llama.cpp with the shared tokenizer), and for the stored positions
(every one of the 16-token prompt, every 3rd of the 300, every 25th of the 2500, and each
prompt's last) the top-6 (id, log-probability) pairs and the top-1/top-2 logit margin.

Needs the sdist's Python dependencies in the venv (numpy, diskcache).
Usage: python scripts/golden/gen_arch_reference.py [ARCH ...] [--types T1,T2,...]
"""
import glob
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("NUCLEUS_CACHE", os.path.expanduser("~/.cache/nucleus"))
VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
SDIST = os.path.join(CACHE, "peers", f"llama_cpp_python-{VERSION}")
# Its own folder: a checkout with another generator version (running its tests on the same
# cache) rewrites arch_models/<arch>.<type>.gguf, and must not do so between writing an F16
# model here and quantizing it.
MODELS = os.path.join(CACHE, "arch_models", "golden")
OUT = os.path.join(ROOT, "tests", "data", "arch_ref")
TOP_K = 6
N_CTX = 4096

sys.path.insert(0, HERE)
import make_random_model  # noqa: E402

LONG_TEXT = " ".join([
    "The history of computing is a story of abstraction layered on abstraction.",
    "Early machines were programmed by rewiring panels; later, stored programs let",
    "the same hardware run different instructions loaded from memory. Assemblers gave",
    "names to opcodes, compilers translated structured languages into machine code,",
    "and operating systems multiplexed processors, memory and devices among many",
    "programs. Each layer hid details of the one below while exposing a simpler model.",
] * 40)
# (name, text, tokens kept, every how many positions a reference is stored): 16 tokens, 300 so that
# sliding windows and RoPE scaling matter, 2500 for long-range RoPE. Strides keep the JSON of 105
# cells small; the test still runs every token.
PROMPTS = [
    ("p16", "The capital of France is Paris, and the capital of Germany is Berlin. Rome is", 16, 1),
    ("p300", LONG_TEXT, 300, 3),
    ("p2500", LONG_TEXT * 3, 2500, 25),
]


def libllama_dir():
    build = subprocess.run(["bash", os.path.join(ROOT, "bench", "peers", "build-llama.sh")],
                           env=dict(os.environ, LLAMA_TARGETS="llama llama-quantize"),
                           check=True, capture_output=True, text=True)
    return build.stdout.strip().splitlines()[-1]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log_softmax(scores):
    s = scores.astype(np.float64)
    m = s.max(axis=1, keepdims=True)
    return s - (m + np.log(np.exp(s - m).sum(axis=1, keepdims=True)))


def positions(scores, stride):
    lp = log_softmax(scores)
    out = []
    for i, (row, lrow) in enumerate(zip(scores, lp)):
        if (i + 1) % stride != 0 and i + 1 != len(scores):
            continue
        idx = np.argpartition(-row, TOP_K)[:TOP_K]
        idx = idx[np.argsort(-row[idx], kind="stable")]
        two = np.partition(row, -2)[-2:]
        out.append({"pos": i, "top": [[int(t), round(float(lrow[t]), 4)] for t in idx],
                    "margin": round(float(two[1] - two[0]), 4)})
    return out


def write_json(arch, wtype, doc):
    with open(os.path.join(OUT, f"{arch}.{wtype}.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def reference(Llama, arch, wtype, path):
    llm = Llama(model_path=path, n_ctx=N_CTX, n_batch=512, n_ubatch=512, logits_all=True, n_threads=2,
                verbose=False, seed=0, type_k=0, type_v=0, flash_attn=False)  # 0 = GGML_TYPE_F32
    prompts = []
    for name, text, n, stride in PROMPTS if wtype == "f32" else PROMPTS[:2]:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[:n]
        assert len(ids) == n, f"{name}: {len(ids)} tokens, wanted {n}"
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
        prompts.append({"name": name, "ids": ids, "positions": positions(scores, stride)})
        print(f"{arch} {wtype} {name}: {len(ids)} tokens", file=sys.stderr)
    del llm
    return prompts


def main():
    args = sys.argv[1:]
    types = make_random_model.TYPES
    if "--types" in args:
        i = args.index("--types")
        types = args[i + 1].split(",")
        del args[i:i + 2]
    os.environ["LLAMA_CPP_LIB_PATH"] = libllama_dir()
    sys.path.insert(0, SDIST)
    import llama_cpp
    from llama_cpp import Llama

    archs = args or [a for a in make_random_model.ARCHS if a != "phi3long"]  # phi3long: f32,f16 only
    os.makedirs(OUT, exist_ok=True)
    for arch in archs:
        f16 = os.path.join(MODELS, f"{arch}.f16.gguf")
        make_random_model.make_model(arch, f16, "f16")
        for wtype in types:
            path = os.path.join(MODELS, f"{arch}.{wtype}.gguf")
            doc = {"arch": arch, "type": wtype, "model": os.path.basename(path)}
            try:
                make_random_model.make_model(arch, path, wtype, f16_path=f16)
            except make_random_model.QuantizeError as e:
                if e.missing:
                    raise
                doc["refused"] = str(e)
                write_json(arch, wtype, doc)
                print(f"{arch} {wtype}: refused: {e}", file=sys.stderr)
                continue
            made_by = f"scripts/golden/make_random_model.py {arch} MODEL.gguf --type {wtype}"
            if wtype in make_random_model.QUANTIZED_TYPES:
                made_by += f" --from {arch}.f16.gguf (llama-quantize --pure ... {make_random_model.QUANTIZED_TYPES[wtype]})"
            doc.update({"sha256": sha256(path),
                        "generator": "llama-cpp-python " + llama_cpp.__version__ + " (vendored llama.cpp, shared libllama)",
                        "made_by": made_by, "top_k": TOP_K, "prompts": reference(Llama, arch, wtype, path)})
            write_json(arch, wtype, doc)


if __name__ == "__main__":
    main()
