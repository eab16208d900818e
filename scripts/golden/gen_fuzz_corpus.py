#!/usr/bin/env python3
"""Seed corpus for the GGUF fuzzer (tests/fuzz/gguf_fuzz.cc): tests/fuzz/corpus/gguf/.

Small valid GGUF files written by an independent writer, the `gguf` Python
package's GGUFWriter, plus truncated copies of one of them:
  tiny_llama.gguf    a complete 2-layer llama (Q8_0 matrices, F32 norms, tokenizer keys, chat template)
  tiny_qwen2.gguf    a complete 1-layer qwen2 (Q4_0/F16 matrices, Q/K/V biases, untied output, linear rope scaling)
  all_types.gguf     one tensor of every supported type and a key of every value type, nested arrays included
  trunc_<n>.gguf     the first n bytes of tiny_llama.gguf
Every file is < 64 KB (scripts/test.sh runs the fuzzer with -max_len=65536).

Run with the project venv: ~/.cache/nucleus/venv/bin/python scripts/golden/gen_fuzz_corpus.py
"""
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fuzz", "corpus", "gguf")
rng = np.random.default_rng(7)


def weights(*shape_rows_cols):
    return (rng.standard_normal(shape_rows_cols) * 0.1).astype(np.float32)


def add_matrix(w, name, rows, cols, qtype):
    # numpy shape (rows, cols) = GGUF shape [cols, rows]
    x = weights(rows, cols)
    if qtype == T.F32:
        w.add_tensor(name, x)
    elif qtype == T.F16:
        w.add_tensor(name, x.astype(np.float16))
    else:
        q = quantize(x, qtype)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)


def add_tokenizer(w, n_vocab):
    tokens = ["<unk>", "<|im_start|>", "<|im_end|>"] + [chr(ord("a") + i % 26) * (1 + i // 26) for i in range(n_vocab - 3)]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 3] + [1] * (n_vocab - 3))
    w.add_token_merges(["a a", "b b"])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}")


def write_model(path, arch, n_layers, n_embd, n_heads, n_kv, n_ff, n_vocab, mtype, qkv_bias, tied, rope_linear):
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(n_layers)
    w.add_context_length(128)
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_heads)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    if rope_linear:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(2.0)
    add_tokenizer(w, n_vocab)
    hd = n_embd // n_heads
    add_matrix(w, "token_embd.weight", n_vocab, n_embd, mtype)
    w.add_tensor("output_norm.weight", 1 + weights(n_embd))
    if not tied:
        add_matrix(w, "output.weight", n_vocab, n_embd, mtype)
    for i in range(n_layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", 1 + weights(n_embd))
        add_matrix(w, p + "attn_q.weight", n_heads * hd, n_embd, mtype)
        add_matrix(w, p + "attn_k.weight", n_kv * hd, n_embd, mtype)
        add_matrix(w, p + "attn_v.weight", n_kv * hd, n_embd, T.F16)
        if qkv_bias:
            w.add_tensor(p + "attn_q.bias", weights(n_heads * hd))
            w.add_tensor(p + "attn_k.bias", weights(n_kv * hd))
            w.add_tensor(p + "attn_v.bias", weights(n_kv * hd))
        add_matrix(w, p + "attn_output.weight", n_embd, n_heads * hd, mtype)
        w.add_tensor(p + "ffn_norm.weight", 1 + weights(n_embd))
        add_matrix(w, p + "ffn_gate.weight", n_ff, n_embd, mtype)
        add_matrix(w, p + "ffn_up.weight", n_ff, n_embd, mtype)
        add_matrix(w, p + "ffn_down.weight", n_embd, n_ff, mtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_all_types(path):
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_uint64("t.u64", 2**63)
    w.add_int64("t.i64", -(2**62))
    w.add_float32("t.f32", 0.1)
    w.add_float64("t.f64", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.nested", [[1, 2], [3]])
    w.add_array("t.floats", [0.5, -1.5])
    for qtype in [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]:
        add_matrix(w, f"x.{qtype.name}", 2, 64, qtype)
    for qtype in [T.Q4_K, T.Q6_K]:  # the gguf package cannot quantize k-quants: random blocks, finite fp16 scales
        _, type_size = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(1, type_size), dtype=np.uint8)
        off = 0 if qtype == T.Q4_K else 208
        raw[0, off:off + 2] = np.array([0.01], dtype=np.float16).view(np.uint8)
        w.add_tensor(f"x.{qtype.name}", raw, raw_shape=raw.shape, raw_dtype=qtype)  # byte shape
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    llama = os.path.join(OUT, "tiny_llama.gguf")
    write_model(llama, "llama", 2, 32, 4, 2, 64, 32, T.Q8_0, qkv_bias=False, tied=True, rope_linear=False)
    write_model(os.path.join(OUT, "tiny_qwen2.gguf"), "qwen2", 1, 32, 2, 1, 64, 32, T.Q4_0, qkv_bias=True, tied=False,
                rope_linear=True)
    write_all_types(os.path.join(OUT, "all_types.gguf"))
    data = open(llama, "rb").read()
    for n in [3, 20, 100, len(data) // 3, len(data) - 1]:
        with open(os.path.join(OUT, f"trunc_{n}.gguf"), "wb") as f:
            f.write(data[:n])
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        assert size < 65536, name
        print(f"{name}: {size} bytes")


if __name__ == "__main__":
    main()
