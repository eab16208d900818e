// write_kv's rounding against independent implementations: numpy's float32 ->
// float16 conversion (round to nearest even) and the `gguf` Python package's
// Q8_0 quantizer (bit-exact with ggml's quantize_row_q8_0_ref), on the inputs
// of tests/data/kv/rounding.bin (scripts/golden/gen_kv_rounding_golden.py):
// magnitudes from fp16 subnormals up, exact fp16 ties, a zero block. The
// stored bytes must be equal: no tolerance.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/kv_dtype.h"
#include "kernels/ops.h"
#include "tests/common/test_env.h"

namespace nucleus::kernels {
namespace {

struct Golden {
  std::vector<float> x;
  std::vector<uint8_t> f16;   // n x u16
  std::vector<uint8_t> q8_0;  // n / 32 blocks
};

Golden load_golden() {
  const std::string path = test::data_dir() + "/kv/rounding.bin";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path + " (run scripts/golden/gen_kv_rounding_golden.py)");
  char magic[4];
  uint32_t n = 0;
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  if (!in || std::memcmp(magic, "NKV1", 4) != 0 || n % 32 != 0) throw std::runtime_error(path + ": bad header");
  Golden g;
  g.x.resize(n);
  g.f16.resize(kv_row_bytes(KvDtype::kF16, n));
  g.q8_0.resize(kv_row_bytes(KvDtype::kQ8_0, n));
  in.read(reinterpret_cast<char*>(g.x.data()), static_cast<std::streamsize>(n * sizeof(float)));
  in.read(reinterpret_cast<char*>(g.f16.data()), static_cast<std::streamsize>(g.f16.size()));
  in.read(reinterpret_cast<char*>(g.q8_0.data()), static_cast<std::streamsize>(g.q8_0.size()));
  if (!in) throw std::runtime_error(path + ": truncated golden file");
  return g;
}

// The golden values as one token's K (and V) row of a cache with two KV heads.
std::vector<uint8_t> written(KvDtype dtype, const std::vector<float>& x, bool value_side) {
  const int head_dim = static_cast<int>(x.size() / 2);
  std::vector<uint8_t> k(kv_row_bytes(dtype, static_cast<int64_t>(x.size())) * 2), v(k.size());
  const KvLayerView cache{k.data(), v.data(), 2, 2, head_dim, dtype};
  ThreadPool pool(1);
  const int32_t slot = 1;
  write_kv(Context{Device::kCpu, &pool}, cache, x.data(), x.data(), &slot, 1);
  const std::vector<uint8_t>& side = value_side ? v : k;
  return std::vector<uint8_t>(side.begin() + static_cast<int64_t>(cache.slot_bytes()), side.end());
}

TEST(KvRoundingTest, F16MatchesNumpyBitwise) {
  const Golden g = load_golden();
  for (bool value_side : {false, true}) {
    const auto bytes = written(KvDtype::kF16, g.x, value_side);
    ASSERT_EQ(bytes.size(), g.f16.size());
    for (size_t i = 0; i < g.x.size(); ++i) {
      ASSERT_EQ(std::memcmp(bytes.data() + 2 * i, g.f16.data() + 2 * i, 2), 0) << "element " << i << " = " << g.x[i];
    }
  }
}

TEST(KvRoundingTest, Q8_0MatchesGgufBitwise) {
  const Golden g = load_golden();
  for (bool value_side : {false, true}) {
    const auto bytes = written(KvDtype::kQ8_0, g.x, value_side);
    ASSERT_EQ(bytes.size(), g.q8_0.size());
    for (size_t b = 0; b < bytes.size() / sizeof(BlockQ8_0); ++b) {
      ASSERT_EQ(std::memcmp(bytes.data() + b * 34, g.q8_0.data() + b * 34, 34), 0) << "block " << b;
    }
  }
}

TEST(KvRoundingTest, F32StoresTheFloatsUnchanged) {
  const Golden g = load_golden();
  const auto bytes = written(KvDtype::kF32, g.x, false);
  ASSERT_EQ(bytes.size(), g.x.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(bytes.data(), g.x.data(), bytes.size()), 0);
}

}  // namespace
}  // namespace nucleus::kernels
