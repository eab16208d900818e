// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3" (SC'11), and the keyed noise of the sampler.
//
// A counter-based generator is a pure function (key, counter) -> 4 random words,
// so a random number is addressed, not produced in sequence: the noise a row sees
// depends on its own (seed, sequence index, position, vocab index) only, never on
// how many other rows were sampled before it, or on which thread.
//
// Host and device: no std:: containers, no exceptions (see NUCLEUS_HD).
#pragma once

#include <cstdint>

#include "kernels/fp16.h"  // NUCLEUS_HD

namespace nucleus::sampling {

struct Philox4x32 {
  uint32_t v[4];
};

// One Philox4x32 block with 10 rounds. counter: 128 bits, key: 64 bits.
NUCLEUS_HD inline Philox4x32 philox4x32_10(Philox4x32 counter, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = counter.v[0], c1 = counter.v[1], c2 = counter.v[2], c3 = counter.v[3];
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ key0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ key1;
    c3 = lo0;
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return Philox4x32{{c0, c1, c2, c3}};
}

// What a random stream is for: the last counter word, so that noise drawn for
// another purpose is independent of the draw's.
enum class NoiseStream : uint32_t {
  kDraw = 0,  // the exponential race over the vocabulary
};

// The noise of one row: key = request seed; counter = (vocab block, position,
// sequence index, stream). Vocab index i uses word i % 4 of block i / 4.
struct NoiseKey {
  uint64_t seed = 0;
  uint32_t position = 0;   // absolute position of the token being sampled (low 32 bits)
  uint32_t seq_index = 0;  // which of the request's n sequences
  NoiseStream stream = NoiseStream::kDraw;

  NUCLEUS_HD Philox4x32 block(uint32_t block_index) const {
    return philox4x32_10(Philox4x32{{block_index, position, seq_index, static_cast<uint32_t>(stream)}},
                         static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  }
  // The raw 32-bit word for vocab index i (recomputes the block; loops should cache it).
  NUCLEUS_HD uint32_t word(uint32_t i) const { return block(i >> 2).v[i & 3u]; }
};

// A uniform in the open interval (0, 1): (w + 0.5) / 2^32, exact in double.
NUCLEUS_HD inline double open_uniform(uint32_t word) { return (static_cast<double>(word) + 0.5) * 0x1p-32; }

// 1 - open_uniform(word), exact in double (no cancellation near 1).
NUCLEUS_HD inline double open_uniform_complement(uint32_t word) {
  return (static_cast<double>(0xFFFFFFFFu - word) + 0.5) * 0x1p-32;
}

}  // namespace nucleus::sampling
