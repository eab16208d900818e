// Philox noise for a whole range of the vocabulary at once, for rows where most of
// the vocabulary survives the filters. Bitwise the same words as NoiseKey::word(),
// computed 8 blocks at a time so the compiler can vectorise the 32x32->64 multiplies
// (an AVX2 build of the same code is chosen at run time).
#pragma once

#include <cstdint>

#include "sampling/philox.h"

namespace nucleus::sampling {

// out[4 * blocks]: out[4 * b + lane] = key.block(first_block + b).v[lane].
void fill_noise_words(const NoiseKey& key, uint32_t first_block, int64_t blocks, uint32_t* out);

namespace detail {

// The portable body, compiled by noise_fill.cc and noise_fill_avx2.cc (one per instruction
// set). static: each file keeps its own copy, so the linker cannot swap the AVX2 one in.
static inline void fill_noise_words_lanes(const NoiseKey& key, uint32_t first_block, int64_t blocks, uint32_t* out) {
  constexpr int kLanes = 8;
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  const uint32_t key0 = static_cast<uint32_t>(key.seed), key1 = static_cast<uint32_t>(key.seed >> 32);
  int64_t b = 0;
  for (; b + kLanes <= blocks; b += kLanes) {
    uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
    for (int i = 0; i < kLanes; ++i) {
      c0[i] = first_block + static_cast<uint32_t>(b + i);
      c1[i] = key.position;
      c2[i] = key.seq_index;
      c3[i] = static_cast<uint32_t>(key.stream);
    }
    uint32_t k0 = key0, k1 = key1;
    for (int round = 0; round < 10; ++round) {
      for (int i = 0; i < kLanes; ++i) {
        const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0[i];
        const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2[i];
        const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[i] ^ k0;
        const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[i] ^ k1;
        c1[i] = static_cast<uint32_t>(p1);
        c3[i] = static_cast<uint32_t>(p0);
        c0[i] = n0;
        c2[i] = n2;
      }
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    for (int i = 0; i < kLanes; ++i) {
      uint32_t* o = out + 4 * (b + i);
      o[0] = c0[i], o[1] = c1[i], o[2] = c2[i], o[3] = c3[i];
    }
  }
  for (; b < blocks; ++b) {
    const Philox4x32 r = key.block(first_block + static_cast<uint32_t>(b));
    for (int lane = 0; lane < 4; ++lane) out[4 * b + lane] = r.v[lane];
  }
}

void fill_noise_words_avx2(const NoiseKey& key, uint32_t first_block, int64_t blocks, uint32_t* out);

}  // namespace detail
}  // namespace nucleus::sampling
