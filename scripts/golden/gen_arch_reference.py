#!/usr/bin/env python3
"""llama.cpp's next-token log-probabilities for the random-weight model of each
architecture (scripts/golden/make_random_model.py), the references of
tests/model/architectures_test.cc.

llama.cpp is the one vendored in the llama-cpp-python sdist, built as a shared
library by bench/peers/build-llama.sh (LLAMA_TARGETS="llama llama-quantize"),
loaded through the sdist's own Python bindings (LLAMA_CPP_LIB_PATH), with a
float32 KV cache, flash attention off and logits for every position.
n_ctx is 4096, not above phi3's original context (4096): llama.cpp then
uses the short LongRoPE factors, as Nucleus does.

Each architecture runs as F32 (all three prompts) and F16 (the matrices
stored as F16, which llama.cpp multiplies with F16-rounded activations; the
16- and 300-token prompts only, to keep the JSON small).

Writes tests/data/arch_ref/<arch>.<f32|f16>.json: the model file's sha256 (the test
regenerates the model and checks it is the same file), the prompts' token ids
(tokenized by llama.cpp with the shared tokenizer), and for every position
(every position; every 5th of the 2500-token prompt) the top-8 (id, log-probability) pairs and the top-1/top-2 logit margin.

Needs the sdist's Python dependencies in the venv (numpy, diskcache).
Usage: python scripts/golden/gen_arch_reference.py [ARCH ...]
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
MODELS = os.path.join(CACHE, "arch_models")
OUT = os.path.join(ROOT, "tests", "data", "arch_ref")
TOP_K = 8
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
# sliding windows and RoPE scaling matter, 2500 for long-range RoPE (every 5th position, to keep
# the JSON small; the test still runs all 2500).
PROMPTS = [
    ("p16", "The capital of France is Paris, and the capital of Germany is Berlin. Rome is", 16, 1),
    ("p300", LONG_TEXT, 300, 1),
    ("p2500", LONG_TEXT * 3, 2500, 5),
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
        out.append({"pos": i, "top": [[int(t), round(float(lrow[t]), 5)] for t in idx],
                    "margin": round(float(two[1] - two[0]), 5)})
    return out


def main():
    os.environ["LLAMA_CPP_LIB_PATH"] = libllama_dir()
    sys.path.insert(0, SDIST)
    import llama_cpp
    from llama_cpp import Llama

    archs = sys.argv[1:] or list(make_random_model.ARCHS)
    os.makedirs(OUT, exist_ok=True)
    for arch, wtype in [(a, t) for a in archs for t in ("f32", "f16")]:
        path = os.path.join(MODELS, f"{arch}.{wtype}.gguf")
        make_random_model.write_model(arch, path, np.float32 if wtype == "f32" else np.float16)
        llm = Llama(model_path=path, n_ctx=N_CTX, n_batch=512, n_ubatch=512, logits_all=True, n_threads=2,
                    verbose=False, seed=0, type_k=0, type_v=0, flash_attn=False)  # 0 = GGML_TYPE_F32
        doc = {"arch": arch, "type": wtype, "model": os.path.basename(path), "sha256": sha256(path),
               "generator": "llama-cpp-python " + llama_cpp.__version__ + " (vendored llama.cpp, shared libllama)",
               "made_by": f"scripts/golden/make_random_model.py {arch} MODEL.gguf --type {wtype}",
               "top_k": TOP_K, "prompts": []}
        for name, text, n, stride in PROMPTS if wtype == "f32" else PROMPTS[:2]:
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[:n]
            assert len(ids) == n, f"{name}: {len(ids)} tokens, wanted {n}"
            llm.reset()
            llm.eval(ids)
            scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
            doc["prompts"].append({"name": name, "ids": ids, "positions": positions(scores, stride)})
            print(f"{arch} {wtype} {name}: {len(ids)} tokens", file=sys.stderr)
        del llm
        with open(os.path.join(OUT, f"{arch}.{wtype}.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
