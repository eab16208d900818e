#include "sampling/noise_fill.h"

#include <cstdlib>
#include <cstring>

namespace nucleus::sampling {
namespace {

// AVX2 unless the CPU lacks it or NUCLEUS_NO_AVX2=1 (the kernels' switch); read once.
bool use_avx2() {
  static const bool enabled = [] {
    const char* off = std::getenv("NUCLEUS_NO_AVX2");
    return __builtin_cpu_supports("avx2") && !(off && std::strcmp(off, "1") == 0);
  }();
  return enabled;
}

}  // namespace

void fill_noise_words(const NoiseKey& key, uint32_t first_block, int64_t blocks, uint32_t* out) {
  if (use_avx2()) {
    detail::fill_noise_words_avx2(key, first_block, blocks, out);
  } else {
    detail::fill_noise_words_lanes(key, first_block, blocks, out);
  }
}

}  // namespace nucleus::sampling
