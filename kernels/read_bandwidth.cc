// measure_read_bandwidth: each pass splits the buffer into contiguous slices
// claimed by the pool's threads; a slice is summed as 64-bit words with four
// independent accumulators, which the compiler turns into wide loads and adds
// (far cheaper per byte than DRAM delivers them, so the loads are the limit).
#include "kernels/read_bandwidth.h"

#include "kernels/host_memory.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

namespace nucleus::kernels {
namespace {

constexpr int64_t kSliceWords = int64_t{1} << 17;  // 1 MiB slices: a few per thread per pass, each one stream

uint64_t sum_words(const uint64_t* p, int64_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < n; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

}  // namespace

ReadBandwidth measure_read_bandwidth(ThreadPool& pool, const ReadBandwidthOptions& opts) {
  if (opts.bytes < (size_t{1} << 20)) throw std::invalid_argument("measure_read_bandwidth: bytes must be at least 1 MiB");
  if (opts.passes < 1) throw std::invalid_argument("measure_read_bandwidth: passes must be at least 1");
  const int64_t words = static_cast<int64_t>(opts.bytes / sizeof(uint64_t));
  // On huge pages, as the packed weights decode reads (host_memory.h): the figure is the DRAM's, not the TLB's.
  const HostBuffer storage = allocate_host_buffer(static_cast<size_t>(words) * sizeof(uint64_t));
  auto* buffer = reinterpret_cast<uint64_t*>(storage.get());
  const int64_t slices = (words + kSliceWords - 1) / kSliceWords;
  // Written by the threads that will read it, so pages sit near them (first touch).
  pool.parallel_for(slices, 1, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t begin = s * kSliceWords, end = std::min(words, begin + kSliceWords);
      for (int64_t i = begin; i < end; ++i) buffer[i] = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
    }
  });
  std::vector<double> rates;
  std::atomic<uint64_t> checksum{0};
  for (int pass = 0; pass < opts.passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(slices, 1, [&](int64_t s0, int64_t s1) {
      uint64_t sum = 0;
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t begin = s * kSliceWords;
        sum += sum_words(buffer + begin, std::min(kSliceWords, words - begin));
      }
      checksum.fetch_add(sum, std::memory_order_relaxed);  // keeps the reads from being optimised away
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(static_cast<double>(words * sizeof(uint64_t)) / seconds);
  }
  // The sum of every word over all passes is known: a wrong one means a slice was skipped.
  uint64_t expected = 0;
  for (int64_t i = 0; i < words; ++i) expected += static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  if (checksum.load() != expected * static_cast<uint64_t>(opts.passes)) {
    throw std::logic_error("measure_read_bandwidth: the buffer's sum is wrong");
  }
  std::sort(rates.begin(), rates.end());
  return ReadBandwidth{rates.back(), rates[rates.size() / 2]};
}

}  // namespace nucleus::kernels
