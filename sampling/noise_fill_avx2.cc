// Compiled with -mavx2 (see CMakeLists.txt); called only when the CPU has AVX2.
#include "sampling/noise_fill.h"

namespace nucleus::sampling::detail {

void fill_noise_words_avx2(const NoiseKey& key, uint32_t first_block, int64_t blocks, uint32_t* out) {
  fill_noise_words_lanes(key, first_block, blocks, out);
}

}  // namespace nucleus::sampling::detail
