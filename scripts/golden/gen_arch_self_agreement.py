#!/usr/bin/env python3
"""How close llama.cpp stays to its own architecture-matrix references
(tests/data/arch_ref/<arch>.<type>.json, scripts/golden/gen_arch_reference.py)
when only the float order changes: the same model file, the same prompts,
flash attention on instead of off. That is the noise floor any independent
implementation meets, and tests/model/architectures_test.cc prints it next to
our own difference for each cell, to justify its bounds.

Writes tests/data/arch_ref/llama_self_agreement.json:
{"<arch>.<type>": {"<prompt>": max |logprob diff| over the stored top tokens}}
for the 16- and 300-token prompts. The models must be in the cache (running
the test, or gen_arch_reference.py, puts them there).

Usage: python scripts/golden/gen_arch_self_agreement.py [ARCH ...] [--types T1,T2,...]
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_arch_reference as ref  # noqa: E402
import make_random_model  # noqa: E402

OUT = os.path.join(ref.OUT, "llama_self_agreement.json")


def main():
    args = sys.argv[1:]
    types = make_random_model.TYPES
    if "--types" in args:
        i = args.index("--types")
        types = args[i + 1].split(",")
        del args[i:i + 2]
    os.environ["LLAMA_CPP_LIB_PATH"] = ref.libllama_dir()
    sys.path.insert(0, ref.SDIST)
    from llama_cpp import Llama

    doc = json.load(open(OUT)) if os.path.exists(OUT) else {}
    for arch in args or list(make_random_model.ARCHS):
        for wtype in types:
            name = f"{arch}.{wtype}"
            golden = json.load(open(os.path.join(ref.OUT, name + ".json")))
            if "refused" in golden:
                continue
            # The test's copy (named by its hash, which no other checkout rewrites), else the generator's.
            path = os.path.join(os.path.dirname(ref.MODELS), f"{name}.{golden['sha256'][:16]}.gguf")
            if not os.path.exists(path):
                path = os.path.join(ref.MODELS, name + ".gguf")
            assert ref.sha256(path) == golden["sha256"], f"{path} is not the reference's model"
            llm = Llama(model_path=path, n_ctx=ref.N_CTX, n_batch=512, n_ubatch=512, logits_all=True, n_threads=2,
                        verbose=False, seed=0, type_k=0, type_v=0, flash_attn=True)
            cell = {}
            for prompt in golden["prompts"][:2]:
                llm.reset()
                llm.eval(prompt["ids"])
                lp = ref.log_softmax(np.array(llm.scores[: len(prompt["ids"])], dtype=np.float32))
                cell[prompt["name"]] = round(max(abs(float(lp[p["pos"], t]) - l)
                                                 for p in prompt["positions"] for t, l in p["top"]), 4)
            del llm
            doc[name] = cell
            print(name, cell, file=sys.stderr)
            with open(OUT, "w") as f:
                json.dump(doc, f, indent=0, sort_keys=True)
                f.write("\n")


if __name__ == "__main__":
    main()
