#!/usr/bin/env python3
"""How far llama.cpp is from its own reference logits when only the evaluation path changes.

tests/data/model_ref/reference.json holds llama.cpp's logits for the default model
(gen_model_reference.py: f32 KV cache, no flash attention, prompts evaluated in one
batch of up to 512 tokens, 2 threads). This script re-evaluates the same token ids with
the same llama.cpp build and weights, changing one thing at a time that is the same
mathematics in another float order, and measures each variant against the reference
exactly as tests/model/model_reference_test.cc measures us:
  - max |logit diff| over the reference's top-16 at every position and the full last row,
  - top-1 agreement where the reference's top-2 margin exceeds 0.5, 0.25 and 0.05.
It writes tests/data/model_ref/llama_variants.json, which the test prints next to our
own figures. The control variant (one thread) must show 0 difference, which checks that
this build reproduces the reference bit for bit.

Why it matters: every activation row is rounded to 8-bit blocks before each matmul, so a
one-ulp change anywhere can move a value across a rounding boundary, and the change grows
with depth and context. Agreement at small margins is then limited for *any* evaluation
path that is not bitwise llama.cpp's, including llama.cpp's own other paths.

Usage: in a venv with llama-cpp-python 0.3.36 (the version of the reference), or with its
sdist's Python package on PYTHONPATH and LLAMA_CPP_LIB_PATH pointing at the libllama.so
built by bench/peers/build-llama.sh:
  PYTHONPATH=~/.cache/nucleus/peers/llama_cpp_python-0.3.36 \
  LLAMA_CPP_LIB_PATH=~/.cache/nucleus/peers/llama.cpp-build-0.3.36/bin \
    python scripts/golden/gen_llama_self_agreement.py [MODEL] [REF_DIR]
ONLY=f16_kv_cache (comma-separated names) re-measures those variants only.
"""
import json
import os
import sys

import numpy as np
import llama_cpp
from llama_cpp import Llama

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    "~/.cache/nucleus/models/SmolLM2-135M-Instruct.Q4_1.gguf")
REF_DIR = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests", "data", "model_ref")
MARGINS = [0.5, 0.25, 0.05]
F32 = 0  # GGML_TYPE_F32
F16 = 1  # GGML_TYPE_F16

# name -> (what changes, Llama() arguments). The reference: n_batch=512, 2 threads, f32 KV, no flash attention.
VARIANTS = [
    ("one_thread", "control: 1 thread instead of 2 (same float order)",
     dict(n_batch=512, n_threads=1, type_k=F32, type_v=F32, flash_attn=False)),
    ("token_by_token", "prompts fed one token per llama_decode (n_batch=1)",
     dict(n_batch=1, n_threads=2, type_k=F32, type_v=F32, flash_attn=False)),
    ("flash_attention", "flash attention on, KV cache still f32",
     dict(n_batch=512, n_threads=2, type_k=F32, type_v=F32, flash_attn=True)),
    ("f16_kv_cache", "KV cache f16 (llama.cpp's default), no flash attention",
     dict(n_batch=512, n_threads=2, type_k=F16, type_v=F16, flash_attn=False)),
]


def measure(llm, ref):
    worst = 0.0
    agree = {m: [0, 0] for m in MARGINS}
    for prompt in ref["prompts"]:
        ids = prompt["ids"]
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
        for row, pos in zip(scores, prompt["positions"]):
            top_ids = [t[0] for t in pos["top"]]
            top_vals = np.array([t[1] for t in pos["top"]], dtype=np.float32)
            worst = max(worst, float(np.max(np.abs(row[top_ids] - top_vals))))
            for m in MARGINS:
                if pos["margin"] > m:
                    agree[m][1] += 1
                    agree[m][0] += int(np.argmax(row) == top_ids[0])
        last = np.fromfile(os.path.join(REF_DIR, prompt["name"] + ".last.f32"), dtype="<f4")
        worst = max(worst, float(np.max(np.abs(scores[-1] - last))))
    return worst, agree


def main():
    ref = json.load(open(os.path.join(REF_DIR, "reference.json")))
    if ref["generator"] != "llama-cpp-python " + llama_cpp.__version__:
        sys.exit(f"reference made by {ref['generator']}, this is llama-cpp-python {llama_cpp.__version__}")
    out = {"model": os.path.basename(MODEL), "generator": "llama-cpp-python " + llama_cpp.__version__, "variants": []}
    # ONLY=name1,name2 re-measures those variants and keeps the others' figures from the existing file.
    only = [n for n in os.environ.get("ONLY", "").split(",") if n]
    previous = {}
    if only and os.path.exists(os.path.join(REF_DIR, "llama_variants.json")):
        previous = {v["name"]: v for v in json.load(open(os.path.join(REF_DIR, "llama_variants.json")))["variants"]}
    for name, what, kwargs in VARIANTS:
        if only and name not in only and name in previous:
            out["variants"].append(previous[name])
            continue
        llm = Llama(model_path=MODEL, n_ctx=4096, logits_all=True, verbose=False, seed=0, **kwargs)
        worst, agree = measure(llm, ref)
        del llm
        out["variants"].append({"name": name, "change": what, "max_abs_diff": worst,
                                "top1": [{"margin": m, "agree": a, "checked": c} for m, (a, c) in agree.items()]})
        print(f"{name:16s} max |logit diff| = {worst:.4f}; top-1 " +
              ", ".join(f"{a}/{c} where margin > {m}" for m, (a, c) in agree.items()), flush=True)
    with open(os.path.join(REF_DIR, "llama_variants.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
