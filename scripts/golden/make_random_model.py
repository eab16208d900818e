#!/usr/bin/env python3
"""Small random-weight GGUF models, one per architecture, for the
architecture tests (tests/model/architectures_test.cc) and their llama.cpp
references (scripts/golden/gen_arch_reference.py).

Each file has the tensor names and metadata keys that llama.cpp's converter
(convert_hf_to_gguf.py, conversion/*.py) writes for that family, realistic
proportions (hidden 256, 4-6 layers, grouped-query attention, head_dim 64),
and the default model's tokenizer (every tokenizer.* key copied from
SmolLM2-135M-Instruct), so the token ids of the reference prompts mean the
same to every model. Weights are F32 (--type f16 stores the matrices as F16),
drawn from numpy's PCG64 with a fixed seed per architecture: the same gguf
package writes the same bytes, and the golden JSON records each file's
sha256 so the test knows it runs the model the references were made from.

Scales keep activations sane: matrices ~ N(0, 1/fan_in), so each projection
keeps unit variance; norm weights ~ 1 + N(0, 0.1) (gemma's converter stores
1 + w, so a gemma file holds values near 1 as well); the embedding table
~ N(0, 0.15), which, through the tied LM head, gives logits of std ~2.4:
distributions that are neither flat nor one-hot. Where an architecture has a
feature that a random model would leave idle, the metadata makes it bite
(a sliding window of 32 tokens, soft-caps below the typical score, RoPE
factors far from 1) so a missing or wrong implementation changes the logits.

BENCH_ARCHS adds larger models of real shapes for the speed benchmarks
(llama1b: Llama-3.2-1B's, see bench/peers/make-1b-models.sh).

The other weight types (BF16 and every quantization the tests cover) are made
the way users get them: llama.cpp's llama-quantize, from the F16 file, with
--pure so that every matrix is stored in the type named (without it the
"mostly Q4_K" mixtures keep some tensors in Q6_K or Q5_0; norms, biases and
RoPE factors are 1-D and stay F32 either way). llama-quantize is taken from
$LLAMA_QUANTIZE, else from the peers' build (bench/peers/build-llama.sh);
without it the script exits with status 3, saying so.

Usage: python make_random_model.py ARCH OUT.gguf [--type TYPE] [--from F16.gguf]
       python make_random_model.py --list
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf

CACHE = os.environ.get("NUCLEUS_CACHE", os.path.expanduser("~/.cache/nucleus"))
DEFAULT_TOKENIZER_MODEL = os.path.join(CACHE, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
LLAMA_VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
LLAMA_QUANTIZE = os.environ.get("LLAMA_QUANTIZE") or os.path.join(
    CACHE, "peers", f"llama.cpp-build-{LLAMA_VERSION}", "bin", "llama-quantize")
EXIT_NO_QUANTIZER = 3
EXIT_NO_TOKENIZER_MODEL = 4  # the default model, whose tokenizer every file copies, is not fetched

# The weight types of the tests: ours (lower case, the file suffix) -> llama-quantize's name.
# Q3_K is llama-quantize's alias of Q3_K_M, Q4_K of Q4_K_M, Q5_K of Q5_K_M: with --pure all three
# are the plain type throughout.
QUANTIZED_TYPES = {"bf16": "BF16", "q4_0": "Q4_0", "q4_1": "Q4_1", "q5_0": "Q5_0", "q5_1": "Q5_1",
                   "q8_0": "Q8_0", "q2_k": "Q2_K", "q3_k": "Q3_K", "q4_k": "Q4_K", "q5_k": "Q5_K",
                   "q6_k": "Q6_K", "iq4_nl": "IQ4_NL", "iq4_xs": "IQ4_XS"}
TYPES = ["f32", "f16"] + list(QUANTIZED_TYPES)

# Per architecture: dims and the features that matter. head_dim 64 throughout.
ARCHS = {
    # Llama 3.1-style: llama3 RoPE scaling stored as rope_freqs.weight, untied LM head.
    "llama3": dict(arch="llama", seed=1, n_embd=256, n_layers=4, n_heads=4, n_kv=2, n_ff=768, tied=False,
                   rope_base=500000.0, context=131072),
    # Qwen3: Q/K RMSNorm per head, no biases, n_heads * head_dim != n_embd.
    "qwen3": dict(arch="qwen3", seed=2, n_embd=256, n_layers=4, n_heads=8, n_kv=2, n_ff=768, tied=True,
                  rope_base=1000000.0, context=40960),
    # Gemma 2: GeGLU, post-norms, scaled embeddings, soft-caps, SWA on even layers.
    "gemma2": dict(arch="gemma2", seed=3, n_embd=256, n_layers=4, n_heads=4, n_kv=2, n_ff=768, tied=True,
                   rope_base=10000.0, context=8192),
    # Gemma 3: Q/K norms, 5 local : 1 global, global RoPE base 1e6 with linear scaling 8, local 10000.
    "gemma3": dict(arch="gemma3", seed=4, n_embd=256, n_layers=6, n_heads=4, n_kv=2, n_ff=768, tied=True,
                   rope_base=1000000.0, context=131072),
    # Qwen2.5 with YaRN (its long-context recipe): biases on Q, K and V, YaRN factor 4 over 32768.
    "qwen2yarn": dict(arch="qwen2", seed=6, n_embd=256, n_layers=4, n_heads=4, n_kv=2, n_ff=768, tied=True,
                      rope_base=1000000.0, context=131072),
    # Phi-3 (128k): fused QKV and gate/up, LongRoPE factors, attention factor.
    "phi3": dict(arch="phi3", seed=5, n_embd=256, n_layers=4, n_heads=4, n_kv=2, n_ff=768, tied=False,
                 rope_base=10000.0, context=131072),
    # Phi-3 whose original context (256) the 300-token prompt passes: llama.cpp, run with a context
    # above that, uses the long LongRoPE factors (its get_rope_factors), and so must we. Not in the
    # matrix of types: F32 and F16 only.
    "phi3long": dict(arch="phi3", seed=8, n_embd=256, n_layers=4, n_heads=4, n_kv=2, n_ff=768, tied=False,
                     rope_base=10000.0, context=8192, orig_ctx=256),
    # Mistral 7B-style: llama architecture, no RoPE scaling, a sliding window in the metadata that
    # llama.cpp does not apply to llama files (so neither may we), 4:1 grouped-query attention.
    "mistral": dict(arch="llama", seed=7, n_embd=256, n_layers=4, n_heads=4, n_kv=1, n_ff=768, tied=False,
                    rope_base=1000000.0, context=32768),
}
# Benchmark-sized models, kept apart from ARCHS (which the architecture goldens iterate over):
# Llama-3.2-1B's shape (hidden 2048, 16 layers, FFN 8192, 32/8 heads, tied embeddings), with
# SmolLM2's 49152-token vocabulary: 1.07 B parameters. bench/peers/make-1b-models.sh writes it
# (or, BENCH_ARCH=qwen05b, the Qwen2.5-0.5B-shaped one) as F16 and quantizes it with llama-quantize.
BENCH_ARCHS = {
    "llama1b": dict(arch="llama", seed=7, n_embd=2048, n_layers=16, n_heads=32, n_kv=8, n_ff=8192, tied=True,
                    rope_base=500000.0, context=131072),
    # Qwen2.5-0.5B's shape (hidden 896, 24 layers, FFN 4864, 14/2 heads, Q/K/V biases, tied
    # embeddings): 896 columns are not a multiple of 256, so llama-quantize stores those matrices
    # in its fallback types (Q4_K_M: Q5_0 and Q8_0), as in the real model's files.
    "qwen05b": dict(arch="qwen2", seed=9, n_embd=896, n_layers=24, n_heads=14, n_kv=2, n_ff=4864, tied=True,
                    rope_base=1000000.0, context=32768),
}
HEAD_DIM = 64
# Every matrix's input width (n_embd, n_heads * HEAD_DIM, n_ff) is a multiple of 256, the block of
# the K-quants and IQ4_XS: llama-quantize --pure then stores every matrix in the one type asked for,
# where a narrower tensor would fall back to another type (ffn_down of n_ff 640 went to Q5_0 in Q4_K).
RMS_EPS = 1e-6
SLIDING_WINDOW = 32  # tokens: the 300-token prompt crosses it many times


def llama3_rope_freqs(base, dim, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, orig_ctx=8192):
    """The divisors llama.cpp's converter (LlamaModel.generate_extra_tensors) stores as rope_freqs.weight."""
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    low_freq_wavelen = orig_ctx / low_freq_factor
    high_freq_wavelen = orig_ctx / high_freq_factor
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            out.append(1.0)
        elif wavelen > low_freq_wavelen:
            out.append(factor)
        else:
            smooth = (orig_ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def copy_tokenizer(writer, path):
    reader = gguf.GGUFReader(path)
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(name, field.contents(), vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(name, field.contents(), vtype)
    return len(reader.fields["tokenizer.ggml.tokens"].data)


class Weights:
    def __init__(self, writer, rng, matrix_type):
        self.w, self.rng, self.matrix_type = writer, rng, matrix_type

    def matrix(self, name, rows, cols, std=None):
        """numpy [rows, cols] = GGUF [cols, rows]: `rows` outputs of `cols` inputs."""
        std = 1.0 / math.sqrt(cols) if std is None else std
        data = self.rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(std)
        self.w.add_tensor(name, data.astype(self.matrix_type))

    def norm(self, name, n):
        data = (1.0 + 0.1 * self.rng.standard_normal(n)).astype(np.float32)
        self.w.add_tensor(name, data)

    def vector(self, name, data):
        self.w.add_tensor(name, np.asarray(data, dtype=np.float32))


def write_model(name, out_path, matrix_type):
    spec = {**ARCHS, **BENCH_ARCHS}[name]
    arch = spec["arch"]
    rng = np.random.default_rng(spec["seed"])
    e, nl, nh, nkv, ff = spec["n_embd"], spec["n_layers"], spec["n_heads"], spec["n_kv"], spec["n_ff"]
    q_dim, kv_dim = nh * HEAD_DIM, nkv * HEAD_DIM

    tmp_path = f"{out_path}.{os.getpid()}.tmp"  # unique: parallel tests may write the same model at once
    w = gguf.GGUFWriter(tmp_path, arch)
    # Not the architecture's name: llama.cpp's vocabulary loader special-cases names containing
    # "phi3" (it expects Phi-3's own tokens), and the tokenizer here is SmolLM2's.
    w.add_name("nucleus random-weight test model")
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if matrix_type == np.float32 else gguf.LlamaFileType.MOSTLY_F16)
    w.add_block_count(nl)
    w.add_context_length(spec["context"])
    w.add_embedding_length(e)
    w.add_feed_forward_length(ff)
    w.add_head_count(nh)
    w.add_head_count_kv(nkv)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_rope_freq_base(spec["rope_base"])
    if arch in ("llama", "phi3"):
        w.add_rope_dimension_count(HEAD_DIM)
    if arch in ("qwen3", "gemma2", "gemma3"):
        w.add_key_length(HEAD_DIM)
        w.add_value_length(HEAD_DIM)
    if name == "mistral":
        w.add_sliding_window(SLIDING_WINDOW)
    if arch == "gemma2":
        w.add_sliding_window(SLIDING_WINDOW)
        w.add_attn_logit_softcapping(3.0)   # Gemma 2 ships 50; 3 caps the scores this model makes
        w.add_final_logit_softcapping(5.0)  # Gemma 2 ships 30; 5 caps these logits (std ~2.4, tails ~10)
    if arch == "gemma3":
        w.add_sliding_window(SLIDING_WINDOW)
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(8.0)
    if name == "qwen2yarn":
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(4.0)
        w.add_rope_scaling_orig_ctx_len(32768)
    if arch == "phi3":
        orig_ctx = spec.get("orig_ctx", 4096)
        w.add_rope_scaling_orig_ctx_len(orig_ctx)
        w.add_sliding_window(2047)  # Phi-3-mini's value; llama.cpp does not apply it to phi3
        scale = spec["context"] / orig_ctx
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(orig_ctx)))
    vocab = copy_tokenizer(w, DEFAULT_TOKENIZER_MODEL)
    if arch == "llama":
        w.add_vocab_size(vocab)

    t = Weights(w, rng, matrix_type)
    t.matrix("token_embd.weight", vocab, e, std=0.15)
    t.norm("output_norm.weight", e)
    if not spec["tied"]:
        t.matrix("output.weight", vocab, e, std=2.4 / math.sqrt(e))
    if name == "llama3":
        t.vector("rope_freqs.weight", llama3_rope_freqs(spec["rope_base"], HEAD_DIM))
    if arch == "phi3":
        half = HEAD_DIM // 2
        t.vector("rope_factors_long.weight", 1.0 + 15.0 * rng.random(half))
        t.vector("rope_factors_short.weight", 1.0 + 2.0 * rng.random(half))
    for i in range(nl):
        p = f"blk.{i}."
        t.norm(p + "attn_norm.weight", e)
        if arch == "phi3":
            t.matrix(p + "attn_qkv.weight", q_dim + 2 * kv_dim, e)
        else:
            t.matrix(p + "attn_q.weight", q_dim, e)
            t.matrix(p + "attn_k.weight", kv_dim, e)
            t.matrix(p + "attn_v.weight", kv_dim, e)
        if arch in ("qwen3", "gemma3"):
            t.norm(p + "attn_q_norm.weight", HEAD_DIM)
            t.norm(p + "attn_k_norm.weight", HEAD_DIM)
        if arch == "qwen2":
            t.vector(p + "attn_q.bias", 0.5 * rng.standard_normal(q_dim))
            t.vector(p + "attn_k.bias", 0.5 * rng.standard_normal(kv_dim))
            t.vector(p + "attn_v.bias", 0.5 * rng.standard_normal(kv_dim))
        t.matrix(p + "attn_output.weight", e, q_dim)
        if arch in ("gemma2", "gemma3"):
            t.norm(p + "post_attention_norm.weight", e)
        t.norm(p + "ffn_norm.weight", e)
        if arch == "phi3":
            t.matrix(p + "ffn_up.weight", 2 * ff, e)  # gate rows first, then up
        else:
            t.matrix(p + "ffn_gate.weight", ff, e)
            t.matrix(p + "ffn_up.weight", ff, e)
        t.matrix(p + "ffn_down.weight", e, ff)
        if arch in ("gemma2", "gemma3"):
            t.norm(p + "post_ffw_norm.weight", e)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp_path, out_path)  # never leave a half-written file under the final name


class QuantizeError(RuntimeError):
    """llama-quantize is missing (missing=True) or refused the file."""

    def __init__(self, message, missing=False):
        super().__init__(message)
        self.missing = missing


def quantize_model(name, out_path, wtype, f16_path=None):
    """Has llama-quantize make `wtype` of the F16 model of `name`: the file f16_path when given
    (the caller vouches that it is this script's F16 output), else one written to a temporary file."""
    if not os.access(LLAMA_QUANTIZE, os.X_OK):
        raise QuantizeError(f"no llama-quantize at {LLAMA_QUANTIZE} (bench/peers/build-llama.sh builds it)",
                            missing=True)
    out_dir = os.path.dirname(os.path.abspath(out_path))
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        f16 = f16_path
        if f16 is None:
            f16 = os.path.join(tmp, "f16.gguf")
            write_model(name, f16, np.float16)
        tmp_out = os.path.join(tmp, "out.gguf")
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(LLAMA_QUANTIZE))
        run = subprocess.run([LLAMA_QUANTIZE, "--pure", f16, tmp_out, QUANTIZED_TYPES[wtype], "2"],
                             env=env, capture_output=True, text=True)
        if run.returncode != 0:
            lines = [l for l in (run.stderr + run.stdout).splitlines() if l.strip()]
            raise QuantizeError(f"llama-quantize {QUANTIZED_TYPES[wtype]} failed: " + " | ".join(lines[-3:]))
        os.replace(tmp_out, out_path)


def make_model(name, out_path, wtype, f16_path=None):
    """The model `name` in weight type `wtype` (one of TYPES) at out_path."""
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    if wtype in ("f32", "f16"):
        write_model(name, out_path, np.float32 if wtype == "f32" else np.float16)
    else:
        quantize_model(name, out_path, wtype, f16_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch", nargs="?", choices=sorted({**ARCHS, **BENCH_ARCHS}))
    ap.add_argument("out", nargs="?")
    ap.add_argument("--type", choices=TYPES, default="f32")
    ap.add_argument("--from", dest="f16", metavar="F16.gguf",
                    help="quantize this F16 file (this script's F16 output for ARCH) instead of writing one")
    ap.add_argument("--list", action="store_true", help="print the architecture names and exit")
    args = ap.parse_args()
    if args.list:
        print("\n".join(ARCHS))
        return
    if not args.arch or not args.out:
        ap.error("ARCH and OUT are required")
    if not args.f16 and not os.path.exists(DEFAULT_TOKENIZER_MODEL):
        print(f"{DEFAULT_TOKENIZER_MODEL}: no such file: the tokenizer is copied from the default model "
              "(scripts/fetch-model.sh fetches it)", file=sys.stderr)
        return EXIT_NO_TOKENIZER_MODEL
    try:
        make_model(args.arch, args.out, args.type, args.f16)
    except QuantizeError as e:
        print(e, file=sys.stderr)
        return EXIT_NO_QUANTIZER if e.missing else 1


if __name__ == "__main__":
    sys.exit(main())
