#!/usr/bin/env python3
"""Golden vectors for dequantize_row (tests/kernels/dequantize_test.cc).

For each tensor type: random raw blocks (random bytes, with every fp16 scale
field replaced by a random *finite* half so no block decodes to inf/NaN), and
the floats the reference implementation, the `gguf` Python package's
gguf.quants.dequantize, makes of them.

Output: tests/data/dequant/<TYPE>.bin, little-endian:
  b"NDQ1" | u32 ggml type id | u32 n_elements | u32 n_bytes | n_bytes raw | n_elements x f32

Run with the project venv: ~/.cache/nucleus/venv/bin/python scripts/golden/gen_dequant_golden.py
"""
import os
import struct
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGML_QUANT_SIZES
from gguf.quants import dequantize

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "dequant")
SEED = 20240611

# Byte offsets of the fp16 scale fields inside one block (see kernels/ggml_types.h).
SCALE_FIELDS = {
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q5_0: [0],
    T.Q5_1: [0, 2],
    T.Q8_0: [0],
    T.Q2_K: [80, 82],
    T.Q3_K: [108],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
    T.IQ4_NL: [0],
    T.IQ4_XS: [0],
}
BLOCKS = {T.F32: 64, T.F16: 128, T.BF16: 128}  # elements for the float types
QUANT_BLOCKS = 8  # blocks of the 32-element quants
K_BLOCKS = 3  # super-blocks of the 256-element k-quants


def random_finite_half(rng, n):
    # Scales of either sign across a wide range of magnitudes, subnormals included.
    mags = np.exp2(rng.uniform(-20.0, 4.0, n)) * rng.choice([-1.0, 1.0], n)
    h = mags.astype(np.float16)
    assert np.all(np.isfinite(h))
    return h


def make_raw(rng, qtype):
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.standard_normal(BLOCKS[qtype]).astype(np.float32).view(np.uint8)
    if qtype == T.F16:
        return random_finite_half(rng, BLOCKS[qtype]).view(np.uint8)
    if qtype == T.BF16:
        bits = rng.standard_normal(BLOCKS[qtype]).astype(np.float32).view(np.uint32) >> 16
        return bits.astype(np.uint16).view(np.uint8)
    n_blocks = K_BLOCKS if block_size == 256 else QUANT_BLOCKS
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in SCALE_FIELDS[qtype]:
        raw[:, off:off + 2] = random_finite_half(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(-1)


def main():
    rng = np.random.default_rng(SEED)
    os.makedirs(OUT, exist_ok=True)
    # Types are appended at the end so that the existing files keep their bytes.
    for qtype in [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q6_K,
                  T.Q2_K, T.Q3_K, T.Q5_K, T.IQ4_NL, T.IQ4_XS]:
        raw = make_raw(rng, qtype)
        ref = np.asarray(dequantize(raw, qtype), dtype=np.float32).reshape(-1)
        assert np.all(np.isfinite(ref)), qtype.name
        path = os.path.join(OUT, f"{qtype.name}.bin")
        with open(path, "wb") as f:
            f.write(b"NDQ1")
            f.write(struct.pack("<III", int(qtype), ref.size, raw.size))
            f.write(raw.tobytes())
            f.write(ref.astype("<f4").tobytes())
        print(f"{path}: {ref.size} elements from {raw.size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
