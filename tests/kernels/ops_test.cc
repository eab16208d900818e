// The non-matmul ops against double-precision references, their batch
// invariance, the scalar and AVX2 paths against each other, and bad input
// (the KV cache and attention: attention_test.cc).
#include "kernels/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "kernels/cpu/cpu_features.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

using test::random_floats;

using test::ScalarPath;
std::vector<bool> paths() { return test::kernel_paths(); }

template <typename E, typename Fn>
void expect_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(RmsNormTest, MatchesDoubleReference) {
  std::mt19937 rng(1);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (int64_t n : {1, 7, 64, 576, 1001}) {
    const int64_t T = 5;
    const auto x = random_floats(rng, T * n, -4.0f, 4.0f);
    const auto weight = random_floats(rng, n, 0.5f, 1.5f);
    std::vector<float> out(static_cast<size_t>(T * n));
    const float eps = 1e-5f;
    rms_norm(ctx, x.data(), weight.data(), T, n, eps, out.data());
    for (int64_t t = 0; t < T; ++t) {
      double ss = 0.0;
      for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[t * n + i]) * x[t * n + i];
      const double inv = 1.0 / std::sqrt(ss / n + eps);
      for (int64_t i = 0; i < n; ++i) {
        const double ref = x[t * n + i] * inv * weight[i];
        // Three float roundings (scale, two products): 2e-7 relative is ~3.5 ulp.
        ASSERT_NEAR(out[t * n + i], ref, 2e-7 * std::fabs(ref) + 1e-30) << "n=" << n << " t=" << t << " i=" << i;
      }
    }
  }
}

TEST(RmsNormTest, RejectsBadArguments) {
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  std::vector<float> x(8), w(8), out(8);
  expect_error<std::invalid_argument>([&] { rms_norm(ctx, x.data(), w.data(), 1, 0, 1e-5f, out.data()); }, "n must");
  expect_error<std::invalid_argument>([&] { rms_norm(ctx, x.data(), w.data(), 1, 8, -1.0f, out.data()); }, "eps");
  expect_error<std::invalid_argument>([&] { rms_norm(ctx, x.data(), nullptr, 1, 8, 1e-5f, out.data()); }, "weight");
}

// Rotates a copy in double: the reference for rope().
void rope_reference(std::vector<double>& x, const std::vector<int32_t>& pos, int n_heads, const RopeParams& p) {
  const int half = p.rot_dim / 2;
  for (size_t t = 0; t < pos.size(); ++t) {
    for (int h = 0; h < n_heads; ++h) {
      double* xh = x.data() + (t * n_heads + h) * p.head_dim;
      for (int i = 0; i < half; ++i) {
        const double theta = pos[t] * static_cast<double>(p.freq_scale) *
                             std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.rot_dim);
        const int a = p.style == RopeStyle::kNormal ? 2 * i : i;
        const int b = p.style == RopeStyle::kNormal ? 2 * i + 1 : i + half;
        const double x0 = xh[a], x1 = xh[b];
        xh[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
        xh[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
    }
  }
}

TEST(RopeTest, MatchesDoubleReferenceForStylesScalesAndPartialRotation) {
  std::mt19937 rng(2);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  const std::vector<int32_t> positions = {0, 1, 17, 4095, 100000};
  const int n_heads = 3;
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    for (int head_dim : {64, 10}) {
      for (int rot_dim : {head_dim, head_dim / 2 + (head_dim / 2) % 2}) {
        for (float freq_scale : {1.0f, 0.25f}) {
          const RopeParams params{style, head_dim, rot_dim, 10000.0f + 1000.0f * (style == RopeStyle::kNeox), freq_scale};
          const int64_t T = static_cast<int64_t>(positions.size());
          auto x = random_floats(rng, T * n_heads * head_dim);
          std::vector<double> ref(x.begin(), x.end());
          const auto original = x;
          rope(ctx, x.data(), positions.data(), T, n_heads, params);
          rope_reference(ref, positions, n_heads, params);
          for (size_t i = 0; i < x.size(); ++i) {
            const int dim = static_cast<int>(i % head_dim);
            if (dim >= rot_dim) {
              ASSERT_EQ(x[i], original[i]) << "dimension " << dim << " >= rot_dim must stay untouched";
            } else {
              // cos/sin rounded to float and two products + a sum: a few ulp of |x|.
              ASSERT_NEAR(x[i], ref[i], 5e-7) << "style=" << static_cast<int>(style) << " head_dim=" << head_dim
                                              << " rot_dim=" << rot_dim << " i=" << i;
            }
          }
        }
      }
    }
  }
}

TEST(RopeTest, RejectsBadParams) {
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  std::vector<float> x(64);
  const int32_t pos = 0;
  expect_error<std::invalid_argument>(
      [&] { rope(ctx, x.data(), &pos, 1, 1, RopeParams{RopeStyle::kNormal, 64, 63, 10000.0f, 1.0f}); }, "rot_dim");
  expect_error<std::invalid_argument>(
      [&] { rope(ctx, x.data(), &pos, 1, 1, RopeParams{RopeStyle::kNormal, 64, 128, 10000.0f, 1.0f}); }, "rot_dim");
  expect_error<std::invalid_argument>(
      [&] { rope(ctx, x.data(), &pos, 1, 1, RopeParams{RopeStyle::kNormal, 64, 64, -1.0f, 1.0f}); }, "freq_base");
  expect_error<std::invalid_argument>(
      [&] { rope(ctx, x.data(), &pos, 1, 1, RopeParams{RopeStyle::kNormal, 64, 64, 10000.0f, 0.0f}); }, "freq_scale");
}

TEST(SwigluTest, MatchesDoubleReferenceOnBothPaths) {
  std::mt19937 rng(3);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (bool scalar : paths()) {
    ScalarPath path(scalar);
    for (int64_t n : {1, 9, 1536, 40000}) {
      const int64_t T = 2;
      auto gate = random_floats(rng, T * n, -20.0f, 20.0f);
      gate[0] = -100.0f;  // exp overflow territory
      if (gate.size() > 1) gate[1] = 100.0f;
      const auto up = random_floats(rng, T * n, -2.0f, 2.0f);
      std::vector<float> out(gate.size());
      swiglu(ctx, gate.data(), up.data(), T, n, out.data());
      for (size_t i = 0; i < out.size(); ++i) {
        const double g = gate[i];
        const double ref = g / (1.0 + std::exp(-g)) * up[i];
        // exp within ~2 ulp plus a division and a product: 1e-6 relative.
        ASSERT_NEAR(out[i], ref, 1e-6 * std::fabs(ref) + 1e-30) << (scalar ? "scalar" : "avx2") << " g=" << g;
      }
    }
  }
}

TEST(AddInplaceTest, AddsExactly) {
  std::mt19937 rng(4);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  auto y = random_floats(rng, 100003);
  const auto x = random_floats(rng, 100003);
  const auto y0 = y;
  add_inplace(ctx, y.data(), x.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], y0[i] + x[i]);
}

TEST(EmbeddingTest, RowsEqualDequantizeRowForEveryType) {
  std::mt19937 rng(5);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (GgmlType type : test::all_weight_types()) {
    const int bs = test::block_size_of(type);
    const int64_t cols = bs == 1 ? 37 : 2 * bs;
    const auto w = test::random_weights(rng, type, 50, cols);
    const std::vector<int32_t> ids = {0, 49, 7, 7, 23};
    std::vector<float> out(ids.size() * cols);
    embedding(ctx, w.view, ids.data(), static_cast<int64_t>(ids.size()), out.data());
    for (size_t t = 0; t < ids.size(); ++t) {
      ASSERT_TRUE(test::bitwise_equal(out.data() + t * cols, w.dequantized.data() + ids[t] * cols, cols))
          << ggml_type_name(type) << " id " << ids[t];
    }
  }
}

TEST(EmbeddingTest, OutOfRangeIdThrows) {
  std::mt19937 rng(6);
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  const auto w = test::random_weights(rng, GgmlType::Q8_0, 10, 32);
  std::vector<float> out(2 * 32);
  for (int32_t bad : {10, -1, 1 << 30}) {
    const int32_t ids[2] = {3, bad};
    expect_error<std::out_of_range>([&] { embedding(ctx, w.view, ids, 2, out.data()); },
                                    "ids[1] = " + std::to_string(bad));
  }
}

}  // namespace
}  // namespace nucleus::kernels
