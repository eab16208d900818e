#!/usr/bin/env python3
"""Reference logits for the default model from an independent implementation.

Runs llama.cpp (through the PyPI package llama-cpp-python, which builds
llama.cpp from source) on the default model with logits for every position
and a float32 KV cache, and writes tests/data/model_ref/:
  reference.json        per prompt: token ids (tokenized by llama.cpp, with
                        special tokens parsed), for every position the top-16
                        (id, logit) pairs and the top-1/top-2 margin, and a
                        64-token greedy continuation with its per-step margins
  <name>.last.f32       the full logits of the prompt's last position (float32 LE)
The C++ test (tests/model/model_reference_test.cc) feeds the same token ids
to our model and compares. Usage (in the venv that has llama-cpp-python):
  python scripts/golden/gen_model_reference.py [MODEL] [OUT_DIR]
"""
import json
import os
import sys

import numpy as np
from llama_cpp import Llama

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    "~/.cache/nucleus/models/SmolLM2-135M-Instruct.Q4_1.gguf")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests", "data", "model_ref")
TOP_K = 16
CONTINUATION = 64

LONG_TEXT = " ".join([
    "The history of computing is a story of abstraction layered on abstraction.",
    "Early machines were programmed by rewiring panels; later, stored programs let",
    "the same hardware run different instructions loaded from memory. Assemblers gave",
    "names to opcodes, compilers translated structured languages into machine code,",
    "and operating systems multiplexed processors, memory and devices among many",
    "programs. Each layer hid details of the one below while exposing a simpler model.",
] * 8)

PROMPTS = [
    ("short", "The capital of France is"),
    ("one_token", "Hello"),
    ("long", LONG_TEXT + " In summary, the key idea is"),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n        return n\n"
             "    a, b = 0, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return b\n\n\ndef is_prime(n):\n"),
    ("chinese", "人工智能是计算机科学的一个分支，它企图了解智能的实质，并生产出一种新的能以人类智能相似的方式做出反应的智能机器。"),
    ("chat", "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
             "<|im_start|>user\nWhat is the boiling point of water at sea level?<|im_end|>\n<|im_start|>assistant\n"),
    ("numbers", "1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144,"),
    ("mixed", "Emoji 🤖 and accents: café, naïve, Zürich; 日本語のテキストも少し。 Done."),
    ("chat_story", "<|im_start|>user\nWrite a short story about a robot who learns to paint.<|im_end|>\n"
                   "<|im_start|>assistant\n"),
]


def top_entries(row):
    idx = np.argpartition(-row, TOP_K)[:TOP_K]
    idx = idx[np.argsort(-row[idx], kind="stable")]
    return [[int(i), float(row[i])] for i in idx]


def margin(row):
    two = np.partition(row, -2)[-2:]
    return float(two[1] - two[0])


def main():
    os.makedirs(OUT, exist_ok=True)
    kwargs = dict(model_path=MODEL, n_ctx=4096, n_batch=512, logits_all=True, n_threads=2, verbose=False, seed=0)
    try:
        llm = Llama(type_k=0, type_v=0, flash_attn=False, **kwargs)  # 0 = GGML_TYPE_F32 KV cache
    except TypeError:
        llm = Llama(**kwargs)
    out = {"model": os.path.basename(MODEL), "generator": "llama-cpp-python " + __import__("llama_cpp").__version__,
           "top_k": TOP_K, "prompts": []}
    for name, text in PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)
        positions = [{"top": top_entries(r), "margin": margin(r)} for r in scores]
        scores[-1].astype("<f4").tofile(os.path.join(OUT, name + ".last.f32"))
        # Greedy continuation: feed llama.cpp's own argmax back, one token at a time.
        cont, margins = [], []
        last = scores[-1]
        for _ in range(CONTINUATION):
            tok = int(np.argmax(last))
            cont.append(tok)
            margins.append(margin(last))
            llm.eval([tok])
            last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        out["prompts"].append({"name": name, "ids": [int(i) for i in ids], "positions": positions,
                               "greedy": cont, "greedy_margins": margins})
        print(f"{name}: {len(ids)} tokens, continuation {llm.detokenize(cont)[:60]!r}")
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
