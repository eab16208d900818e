// The same bytes on every CPU (issue #21): for the 256-element weight types
// (the k-quants and IQ4_XS), the AVX-512 kernels (as stored and prepacked),
// the AVX2 kernels (as stored and prepacked) and
// the scalar reference give bitwise equal outputs, at
// decode (T = 1) and prefill shapes, for odd row counts (partial panels) and
// several block counts. Integer block dot products are exact; what this
// checks is that every path does the same float operations in the same order.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

using test::KernelPath;
using test::PathGuard;

// The first differing output, as text, or "" when a and b are bitwise equal.
std::string first_difference(const std::vector<float>& a, const std::vector<float>& b, int64_t rows) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      return "t=" + std::to_string(static_cast<int64_t>(i) / rows) + " r=" + std::to_string(static_cast<int64_t>(i) % rows) +
             ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
    }
  }
  return "";
}

// x [T, cols] in [-2, 2], token t's row times 1 + (t % period) * step:
// activations of very different magnitudes per token, so scales differ block to block.
std::vector<float> activations_scaled_per_token(std::mt19937& rng, int64_t T, int64_t cols, int period, int step) {
  auto x = test::random_floats(rng, T * cols, -2.0f, 2.0f);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t k = 0; k < cols; ++k) x[t * cols + k] *= static_cast<float>(1 + (t % period) * step);
  }
  return x;
}

// The first path (AVX-512 / AVX2, as stored and prepacked) whose y differs
// from the scalar path's on x ([T, cols]), as text, or "" when all are bitwise equal.
std::string first_path_difference(const Context& ctx, test::RandomWeights& w, const std::vector<float>& x,
                                  int64_t T, int64_t rows) {
  std::vector<float> reference(static_cast<size_t>(T * rows));
  {
    PathGuard path(KernelPath::kScalar);
    matmul(ctx, w.view, x.data(), T, reference.data());
  }
  for (KernelPath kp : test::matmul_paths()) {
    if (kp == KernelPath::kScalar) continue;
    std::vector<float> y(reference.size(), -1.0f);
    PathGuard path(kp);
    matmul(ctx, test::view_for(kp, w), x.data(), T, y.data());
    const std::string diff = first_difference(y, reference, rows);
    if (!diff.empty()) return std::string(test::path_name(kp)) + ": " + diff;
  }
  return "";
}

class CrossIsaTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(CrossIsaTest, EveryPathEqualsScalarBitwise) {
  const GgmlType type = GetParam();
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  std::mt19937 rng(2024 + static_cast<int>(type));
  for (int64_t cols : {256, 768, 2304}) {
    for (int64_t rows : {1, 17, 45}) {
      auto w = test::random_weights(rng, type, rows, cols);
      for (int64_t T : {1, 2, 7, 33, 64, 70}) {
        const auto x = activations_scaled_per_token(rng, T, cols, 5, 7);
        ASSERT_EQ(first_path_difference(ctx, w, x, T, rows), "")
            << ggml_type_name(type) << " rows=" << rows << " cols=" << cols << " T=" << T;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KQuants, CrossIsaTest,
                         ::testing::Values(GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                           GgmlType::Q6_K, GgmlType::IQ4_XS),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

// Prefill in several token slabs: the AVX2 unpacked kernels take tokens in
// slabs (k_unpacked_avx2.h: 112 at 2304 columns, matmul_q_unpacked_avx2.cc:
// 512), so T crosses slab boundaries with a ragged last slab; every output
// still equals the scalar path's bit for bit.
class SlabTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(SlabTest, SeveralTokenSlabsEqualScalarBitwise) {
  const GgmlType type = GetParam();
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  std::mt19937 rng(77 + static_cast<int>(type));
  const bool k_quant = ggml_type_traits(static_cast<uint32_t>(type))->block_size == 256;
  const int64_t cols = 2304, rows = 45, T = k_quant ? 250 : 1100;
  auto w = test::random_weights(rng, type, rows, cols);
  const auto x = activations_scaled_per_token(rng, T, cols, 7, 5);
  ASSERT_EQ(first_path_difference(ctx, w, x, T, rows), "") << ggml_type_name(type);
}

INSTANTIATE_TEST_SUITE_P(PanelTypes, SlabTest,
                         ::testing::Values(GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                           GgmlType::Q6_K, GgmlType::IQ4_XS, GgmlType::Q4_0, GgmlType::Q4_1,
                                           GgmlType::Q8_0, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::IQ4_NL),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

}  // namespace
}  // namespace nucleus::kernels
