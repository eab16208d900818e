"""Golden Philox4x32-10 blocks from an independent implementation (randomgen).

Run: /root/.cache/nucleus/venv/bin/pip install randomgen
     /root/.cache/nucleus/venv/bin/python tests/data/sampling/gen_philox_golden.py > tests/data/sampling/philox4x32_10.txt
Each line: c0 c1 c2 c3 k0 k1 -> r0 r1 r2 r3 (hex words). randomgen increments the
counter before producing a block, so we start it at counter - 1.
"""
import numpy as np
from randomgen import Philox


def block(counter_words, key_words):
    counter = sum(int(w) << (32 * i) for i, w in enumerate(counter_words))
    key = sum(int(w) << (32 * i) for i, w in enumerate(key_words))
    gen = Philox(key=key, counter=(counter - 1) % (1 << 128), number=4, width=32)
    return [int(x) for x in gen.random_raw(4)]


cases = [([0, 0, 0, 0], [0, 0]),
         ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2),
         ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0])]
rng = np.random.default_rng(20240601)
for _ in range(29):
    cases.append(([int(x) for x in rng.integers(0, 1 << 32, 4)], [int(x) for x in rng.integers(0, 1 << 32, 2)]))
for c, k in cases:
    r = block(c, k)
    print(" ".join(f"{w:08x}" for w in c + k + r))
