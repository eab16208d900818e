// Weight matrices repacked once, at load, for the CPU's AVX-512 matmul kernels
// (and the AVX2 ones of the types listed at pack_weight_cpu).
//
// Those kernels read 16 weight rows side by side, one row per 32-bit lane of a
// ZMM register. Repacking as stored costs a transpose per block on every call
// and reads 16 strided streams, which the hardware prefetcher follows badly;
// a weight repacked once is one sequential stream of the same size (nibbles
// stay packed). That is what memory-bound decode and the Q8_0 LM head (30 MB,
// read for every token) need. The results are bitwise those of repacking per
// call, so packing is invisible to batch invariance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/host_memory.h"
#include "kernels/ops.h"

namespace nucleus::kernels {

class PackedWeight {
 public:
  PackedWeight() = default;
  bool empty() const { return bytes_ == 0; }
  const void* data() const { return data_.get(); }
  size_t bytes() const { return bytes_; }

 private:
  friend PackedWeight pack_weight_cpu(ThreadPool& pool, const WeightView& w);
  HostBuffer data_;  // on huge pages where it is large enough (host_memory.h)
  size_t bytes_ = 0;
};

// Repacks w on the pool's threads. Empty when this CPU has no packed kernel for
// w.type: with AVX-512 VNNI, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K and IQ4_XS are packed; on the AVX2 path (no AVX-512 or
// NUCLEUS_NO_AVX512=1) Q4_0, Q4_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and
// IQ4_XS (the k-quants in the AVX-512 path's layout, k_panel.h); on the scalar
// path nothing.
// Set w.cpu_packed = result.data(); the result must outlive that view.
PackedWeight pack_weight_cpu(ThreadPool& pool, const WeightView& w);

}  // namespace nucleus::kernels
