// The machine's memory read bandwidth, measured the way STREAM does: every
// thread of the pool sums its share of one buffer far larger than the caches,
// and the best of a few passes counts. Batch-1 decode reads every weight (and
// the KV cache) once per token, so this is its ceiling: `nucleus bench model`
// and bench/kernels_bench print decode as a fraction of it.
#pragma once

#include <cstddef>

#include "kernels/thread_pool.h"

namespace nucleus::kernels {

struct ReadBandwidthOptions {
  size_t bytes = size_t{512} << 20;  // 16x a 32 MB L3: what is read comes from DRAM
  int passes = 5;                     // the fastest pass is reported (STREAM's convention)
};

struct ReadBandwidth {
  double bytes_per_second = 0.0;  // the fastest pass
  double median_bytes_per_second = 0.0;
};

// Throws std::invalid_argument when opts.bytes < 1 MiB or opts.passes < 1.
ReadBandwidth measure_read_bandwidth(ThreadPool& pool, const ReadBandwidthOptions& opts = {});

}  // namespace nucleus::kernels
