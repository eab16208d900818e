// The math of the device sampler, written once for host and device (NUCLEUS_HD)
// so that the CPU tests run the very selection the kernel runs.
//
// top-k, top-p and typical-p keep {candidates with key <= K}, where K is the
// largest key whose strictly-smaller candidates weigh less than `mass`
// (sampling/filter_math.h, weighted_select_threshold). The device cannot run a
// quickselect over a row with 512 threads, so it finds K by bisection over the
// 32-bit order of float keys: weight_below(u) = weight of candidates whose
// ordered key is < u is monotone in u, and K is the largest u with
// weight_below(u) < mass. 32 block-wide passes, no sort, no scratch, exact:
// the kept set is the same as the quickselect's (same tie rule), up to the
// summation order of the float weights in double.
#pragma once

#include <math.h>

#include <cstdint>

#include "kernels/fp16.h"
#include "sampling/philox.h"

namespace nucleus::sampling::cuda {

// Monotone map of non-NaN floats to uint32: a < b  <=>  ordered(a) < ordered(b), and -0 < +0.
NUCLEUS_HD inline uint32_t ordered_bits(float f) {
  const uint32_t b = float_to_bits(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Keys are canonicalised so that -0 and +0 (equal as floats) are one key.
NUCLEUS_HD inline uint32_t ordered_key(float key) { return ordered_bits(key + 0.0f); }

// The largest ordered key u with weight_below(u) < mass (mass > 0): keep candidate i iff
// ordered_key(key_i) <= the result. weight_below(u) must be the same for every call with
// the same u (on the device: one deterministic block reduction, called by every thread).
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <typename WeightBelow>
NUCLEUS_HD uint32_t bisect_threshold(WeightBelow&& weight_below, double mass) {
  uint32_t lo = ordered_bits(-INFINITY);                   // nothing is below -inf: weight 0 < mass
  uint64_t hi = static_cast<uint64_t>(ordered_bits(INFINITY)) + 1;  // sentinel, never evaluated
  while (hi - lo > 1) {
    const uint32_t mid = static_cast<uint32_t>(lo + (hi - lo) / 2);
    if (weight_below(mid) < mass) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// The exponential of the race, E = -log(U) with U = open_uniform(word), as the CPU sampler.
NUCLEUS_HD inline double race_exponential(uint32_t word) {
  return -log1p(-sampling::open_uniform_complement(word));
}

}  // namespace nucleus::sampling::cuda
