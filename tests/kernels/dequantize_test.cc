// dequantize_row against the `gguf` Python package (gguf.quants.dequantize) on
// random blocks: tests/data/dequant/<TYPE>.bin, written by
// scripts/golden/gen_dequant_golden.py. Both sides do the same float32
// operations in the same order (fp16 scale -> float, then d * q (+ m) or
// (d * sc) * q - dmin * m), so the comparison is bitwise: no tolerance.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/fp16.h"
#include "kernels/ggml_types.h"
#include "tests/common/test_env.h"

namespace nucleus {
namespace {

struct Golden {
  uint32_t type_id = 0;
  std::vector<uint8_t> raw;
  std::vector<float> expected;
};

Golden load_golden(const std::string& type_name) {
  const std::string path = test::data_dir() + "/dequant/" + type_name + ".bin";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path + " (run scripts/golden/gen_dequant_golden.py)");
  char magic[4];
  uint32_t header[3];  // type id, n_elements, n_bytes
  in.read(magic, 4);
  in.read(reinterpret_cast<char*>(header), sizeof header);
  if (!in || std::memcmp(magic, "NDQ1", 4) != 0) throw std::runtime_error(path + ": bad golden header");
  Golden g;
  g.type_id = header[0];
  g.raw.resize(header[2]);
  g.expected.resize(header[1]);
  in.read(reinterpret_cast<char*>(g.raw.data()), static_cast<std::streamsize>(g.raw.size()));
  in.read(reinterpret_cast<char*>(g.expected.data()), static_cast<std::streamsize>(g.expected.size() * sizeof(float)));
  if (!in) throw std::runtime_error(path + ": truncated golden file");
  return g;
}

class DequantizeGoldenTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(DequantizeGoldenTest, MatchesGgufPythonBitwise) {
  const GgmlType type = GetParam();
  const Golden g = load_golden(std::string(ggml_type_name(type)));
  ASSERT_EQ(g.type_id, static_cast<uint32_t>(type));
  const int64_t n = static_cast<int64_t>(g.expected.size());
  ASSERT_EQ(ggml_row_size(type, n), g.raw.size());

  std::vector<float> out(g.expected.size(), -1.0f);
  dequantize_row(type, g.raw.data(), out.data(), n);
  int mismatches = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (float_to_bits(out[i]) != float_to_bits(g.expected[i]) && ++mismatches <= 5) {
      ADD_FAILURE() << ggml_type_name(type) << " element " << i << ": got " << out[i] << ", reference "
                    << g.expected[i];
    }
  }
  EXPECT_EQ(mismatches, 0);

  // Unaligned source (blocks at an odd address) and block-by-block calls give the same floats.
  std::vector<uint8_t> shifted(1, 0);
  shifted.insert(shifted.end(), g.raw.begin(), g.raw.end());
  std::vector<float> out_shifted(out.size());
  dequantize_row(type, shifted.data() + 1, out_shifted.data(), n);
  EXPECT_EQ(0, std::memcmp(out.data(), out_shifted.data(), out.size() * sizeof(float)));

  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  ASSERT_TRUE(traits && traits->supported);
  const int64_t bs = traits->block_size;
  std::vector<float> one(static_cast<size_t>(bs));
  for (int64_t b = 0; b * bs < n; ++b) {
    dequantize_row(type, g.raw.data() + b * traits->type_size, one.data(), bs);
    EXPECT_EQ(0, std::memcmp(one.data(), out.data() + b * bs, one.size() * sizeof(float))) << "block " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(AllSupportedTypes, DequantizeGoldenTest,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K,
                                           GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
                                           GgmlType::IQ4_NL, GgmlType::IQ4_XS),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(GgmlTypesTest, TraitsAndRowSizes) {
  EXPECT_EQ(ggml_row_size(GgmlType::F32, 10), 40u);
  EXPECT_EQ(ggml_row_size(GgmlType::BF16, 10), 20u);
  EXPECT_EQ(ggml_row_size(GgmlType::Q4_1, 576), 18u * 20);
  EXPECT_EQ(ggml_row_size(GgmlType::Q6_K, 512), 2u * 210);
  EXPECT_EQ(ggml_type_name(GgmlType::Q4_K), "Q4_K");
  EXPECT_FALSE(ggml_type_traits(4).has_value());  // ids 4 and 5 (old Q4_2/Q4_3) were removed from ggml
  EXPECT_FALSE(ggml_type_traits(1000).has_value());
  ASSERT_TRUE(ggml_type_traits(static_cast<uint32_t>(GgmlType::Q8_K)).has_value());
  EXPECT_FALSE(ggml_type_traits(static_cast<uint32_t>(GgmlType::Q8_K))->supported);
  // ggml's other types are known by name (so a file using one is refused by name), not supported.
  ASSERT_TRUE(ggml_type_traits(16).has_value());
  EXPECT_EQ(ggml_type_traits(16)->name, "IQ2_XXS");
  EXPECT_FALSE(ggml_type_traits(16)->supported);
  EXPECT_EQ(ggml_row_size(GgmlType::Q2_K, 512), 2u * 84);
  EXPECT_EQ(ggml_row_size(GgmlType::Q3_K, 256), 110u);
  EXPECT_EQ(ggml_row_size(GgmlType::Q5_K, 256), 176u);
  EXPECT_EQ(ggml_row_size(GgmlType::IQ4_NL, 64), 2u * 18);
  EXPECT_EQ(ggml_row_size(GgmlType::IQ4_XS, 256), 136u);
  EXPECT_THROW(ggml_row_size(GgmlType::IQ4_XS, 32), std::invalid_argument);
  EXPECT_THROW(ggml_row_size(GgmlType::Q8_0, 33), std::invalid_argument);
  EXPECT_THROW(ggml_row_size(GgmlType::Q8_0, -32), std::invalid_argument);
}

TEST(GgmlTypesTest, DequantizeRejectsPartialBlocksAndUnsupportedTypes) {
  std::vector<uint8_t> raw(210 * 2);
  std::vector<float> out(512);
  EXPECT_THROW(dequantize_row(GgmlType::Q6_K, raw.data(), out.data(), 100), std::invalid_argument);
  EXPECT_THROW(dequantize_row(GgmlType::Q8_K, raw.data(), out.data(), 256), std::invalid_argument);
  EXPECT_THROW(dequantize_row(static_cast<GgmlType>(16), raw.data(), out.data(), 256), std::invalid_argument);
  EXPECT_THROW(dequantize_row(static_cast<GgmlType>(77), raw.data(), out.data(), 32), std::invalid_argument);
}

// A hand-made Q4_0 block: d = 0.5, nibbles 0..15 -> (q - 8) * 0.5.
TEST(GgmlTypesTest, Q4_0HandComputedBlock) {
  BlockQ4_0 block;
  block.d = float_to_fp16(0.5f);
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float out[32];
  dequantize_row(GgmlType::Q4_0, &block, out, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], (j - 8) * 0.5f);
    EXPECT_EQ(out[j + 16], (15 - j - 8) * 0.5f);
  }
}

}  // namespace
}  // namespace nucleus
