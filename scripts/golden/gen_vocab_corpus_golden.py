#!/usr/bin/env python3
"""Writes tests/data/tokenizer/vocab_corpus.json: token ids of every corpus
string (scripts/golden/tokenizer_corpus.py) from llama.cpp's tokenizer
(llama-cpp-python: Llama(vocab, vocab_only=True).tokenize(), no BOS, special
tokens as plain text) for each tokenizer family's vocabulary-only GGUF in the
llama.cpp source: llama-bpe (Llama 3), qwen2, phi-3, llama-spm (Llama 2 /
Mistral / Gemma's SentencePiece model). tests/text/vocab_files_test.cc checks
our tokenizer on them.

The GGUFs are read from the llama-cpp-python sdist that
bench/peers/fetch-llama-src.sh unpacks (never committed); llama.cpp is that
sdist's, built as a shared library by bench/peers/build-llama.sh and loaded
through the sdist's bindings, as gen_arch_reference.py does.

Runs offline in the project venv:
  ~/.cache/nucleus/venv/bin/python scripts/golden/gen_vocab_corpus_golden.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_arch_reference  # noqa: E402
from tokenizer_corpus import corpus  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("NUCLEUS_CACHE", os.path.expanduser("~/.cache/nucleus"))
VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
MODELS = os.path.join(CACHE, "peers", f"llama_cpp_python-{VERSION}", "vendor", "llama.cpp", "models")
OUT = os.path.join(ROOT, "tests", "data", "tokenizer", "vocab_corpus.json")
VOCABS = ["llama-bpe", "qwen2", "phi-3", "llama-spm"]


def main():
    os.environ["LLAMA_CPP_LIB_PATH"] = gen_arch_reference.libllama_dir()
    sys.path.insert(0, gen_arch_reference.SDIST)
    import llama_cpp
    texts = list(corpus())
    doc = {"generator": f"llama-cpp-python {llama_cpp.__version__} (Llama(vocab_only=True).tokenize, "
                        "add_bos=False, special=False)",
           "texts": texts, "ids": {}}
    for name in VOCABS:
        llm = llama_cpp.Llama(model_path=os.path.join(MODELS, f"ggml-vocab-{name}.gguf"), vocab_only=True,
                              verbose=False)
        doc["ids"][name] = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) for t in texts]
        del llm
        print(f"{name}: {len(texts)} strings", file=sys.stderr)
    with open(OUT, "w") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
