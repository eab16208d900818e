#!/usr/bin/env python3
"""Golden vectors for the KV cache's rounding (tests/kernels/kv_rounding_test.cc).

Random float32 keys in blocks of 32, each block at its own magnitude (fp16
subnormals to large values), plus an all-zero block, a block of exact fp16
ties and a block with a single non-zero value; and what the references make
of them: numpy's float32 -> float16 conversion (round to nearest even) and
the `gguf` Python package's Q8_0 quantizer (bit-exact with ggml's
quantize_row_q8_0_ref, which write_kv follows).

Output: tests/data/kv/rounding.bin, little-endian:
  b"NKV1" | u32 n | n x f32 input | n x u16 f16 bits | n / 32 x 34 bytes Q8_0 blocks

Run with the project venv: ~/.cache/nucleus/venv/bin/python scripts/golden/gen_kv_rounding_golden.py
"""
import os
import struct

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import quantize

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "kv", "rounding.bin")
SEED = 20261206
BLOCKS = 64


def make_inputs(rng):
    blocks = []
    for _ in range(BLOCKS - 3):
        scale = np.exp2(rng.uniform(-26.0, 10.0))
        blocks.append((rng.standard_normal(32) * scale).astype(np.float32))
    blocks.append(np.zeros(32, dtype=np.float32))
    # Exact halfway points between neighbouring halves: the tie rule decides.
    halves = rng.integers(0x3C00, 0x4C00, 32).astype(np.uint16).view(np.float16).astype(np.float32)
    ulp = np.spacing(halves.astype(np.float16)).astype(np.float32)
    blocks.append((halves + ulp / 2) * rng.choice([-1.0, 1.0], 32).astype(np.float32))
    one = np.zeros(32, dtype=np.float32)
    one[rng.integers(0, 32)] = -3.75
    blocks.append(one)
    return np.concatenate(blocks).astype(np.float32)


def main():
    rng = np.random.default_rng(SEED)
    x = make_inputs(rng)
    f16 = x.astype(np.float16).view(np.uint16)
    q8 = quantize(x.reshape(1, -1), GGMLQuantizationType.Q8_0).reshape(-1)
    assert q8.size == x.size // 32 * 34
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        f.write(b"NKV1")
        f.write(struct.pack("<I", x.size))
        f.write(x.astype("<f4").tobytes())
        f.write(f16.astype("<u2").tobytes())
        f.write(q8.astype(np.uint8).tobytes())
    print(f"wrote {OUT}: {x.size} values")


if __name__ == "__main__":
    main()
