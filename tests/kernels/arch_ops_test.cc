// The ops the newer architectures need (GeGLU, scaling, soft-capping, RoPE
// frequency factors and attention factor, attention with a sliding window
// and soft-capped scores) against double-precision references, on the scalar
// and AVX2 paths, and their bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

using test::random_floats;
using test::ScalarPath;

template <typename Fn>
void expect_invalid(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(GegluTest, MatchesDoubleReference) {
  std::mt19937 rng(21);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  const int64_t T = 3, n = 5000;
  auto gate = random_floats(rng, T * n, -12.0f, 12.0f);
  gate[0] = -60.0f;  // tanh saturates: 0
  gate[1] = 60.0f;   // and x
  const auto up = random_floats(rng, T * n, -2.0f, 2.0f);
  std::vector<float> out(gate.size());
  geglu(ctx, gate.data(), up.data(), T, n, out.data());
  for (size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    const double ref = 0.5 * g * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (g + 0.044715 * g * g * g))) * up[i];
    // tanh within a few ulp, then four float products: 2e-6 relative (plus the ulps of tanh near -1).
    ASSERT_NEAR(out[i], ref, 2e-6 * std::fabs(g * up[i]) + 1e-30) << "g=" << g;
  }
}

TEST(ScaleAndSoftcapTest, MatchDoubleReference) {
  std::mt19937 rng(22);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  auto x = random_floats(rng, 100000, -80.0f, 80.0f);
  auto y = x;
  scale_inplace(ctx, y.data(), 16.0f, static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i] * 16.0f);
  y = x;
  softcap_inplace(ctx, y.data(), 30.0f, static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = 30.0 * std::tanh(static_cast<double>(x[i]) / 30.0);
    ASSERT_NEAR(y[i], ref, 4e-6 * 30.0) << x[i];
    ASSERT_LE(std::fabs(y[i]), 30.0f);
  }
  expect_invalid([&] { softcap_inplace(ctx, y.data(), 0.0f, 1); }, "cap must be finite and > 0");
  expect_invalid([&] { scale_inplace(ctx, y.data(), NAN, 1); }, "s must be finite");
}

// theta_i = pos * freq_scale * base^(-2i/rot) / factor_i, cos and sin times attn_factor.
TEST(RopeFactorsTest, MatchDoubleReference) {
  std::mt19937 rng(23);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  const std::vector<int32_t> positions = {0, 1, 31, 300, 2499, 70000};
  const int n_heads = 2, head_dim = 64;
  std::vector<float> factors(head_dim / 2);
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 0.5f * static_cast<float>(i);
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    RopeParams p{style, head_dim, head_dim, 500000.0f, 0.5f};
    p.freq_factors = factors.data();
    p.attn_factor = 1.25f;
    const int64_t T = static_cast<int64_t>(positions.size());
    auto x = random_floats(rng, T * n_heads * head_dim);
    const auto original = x;
    rope(ctx, x.data(), positions.data(), T, n_heads, p);
    for (int64_t t = 0; t < T; ++t) {
      for (int h = 0; h < n_heads; ++h) {
        const float* in = original.data() + (t * n_heads + h) * head_dim;
        const float* out = x.data() + (t * n_heads + h) * head_dim;
        for (int i = 0; i < head_dim / 2; ++i) {
          const double theta =
              positions[t] * 0.5 * std::pow(500000.0, -2.0 * i / head_dim) / static_cast<double>(factors[i]);
          const int a = style == RopeStyle::kNormal ? 2 * i : i;
          const int b = style == RopeStyle::kNormal ? 2 * i + 1 : i + head_dim / 2;
          const double c = std::cos(theta) * 1.25, s = std::sin(theta) * 1.25;
          ASSERT_NEAR(out[a], in[a] * c - in[b] * s, 1e-6) << "pos " << positions[t] << " pair " << i;
          ASSERT_NEAR(out[b], in[a] * s + in[b] * c, 1e-6) << "pos " << positions[t] << " pair " << i;
        }
      }
    }
  }
  RopeParams bad{RopeStyle::kNeox, head_dim, head_dim, 10000.0f, 1.0f};
  std::vector<float> zero_factor(factors);
  zero_factor[3] = 0.0f;
  bad.freq_factors = zero_factor.data();
  expect_invalid([&] { rope(ctx, nullptr, positions.data(), 0, 1, bad); }, "freq_factors[3]");
}

// One sequence of `len` positions, 2 KV heads of 3 query heads each, written
// to the cache in chunks of `chunk` and attended with the given window/cap.
struct WindowCase {
  static constexpr int kHeads = 6, kKvHeads = 2, kBlock = 16;
  int len, head_dim;
  std::vector<float> q, k, v, cache_k, cache_v;
  std::vector<int32_t> blocks;

  WindowCase(std::mt19937& rng, int len_, int head_dim_) : len(len_), head_dim(head_dim_) {
    q = random_floats(rng, int64_t{len} * kHeads * head_dim, -2.0f, 2.0f);
    k = random_floats(rng, int64_t{len} * kKvHeads * head_dim, -2.0f, 2.0f);
    v = random_floats(rng, int64_t{len} * kKvHeads * head_dim);
    const int nblocks = (len + kBlock - 1) / kBlock;
    blocks.resize(nblocks);
    std::iota(blocks.rbegin(), blocks.rend(), 0);  // scattered: the last block first
    cache_k.assign(static_cast<size_t>(nblocks) * kBlock * kKvHeads * head_dim, 0.0f);
    cache_v = cache_k;
  }

  std::vector<float> run(const Context& ctx, int chunk, int window, float cap, float scale) {
    const KvLayerView view{cache_k.data(), cache_v.data(), static_cast<int64_t>(blocks.size()) * kBlock, kKvHeads,
                           head_dim};
    const int64_t kv_row = int64_t{kKvHeads} * head_dim, q_row = int64_t{kHeads} * head_dim;
    std::vector<float> out(q.size());
    for (int p0 = 0; p0 < len; p0 += chunk) {
      const int p1 = std::min(len, p0 + chunk);
      const int64_t T = p1 - p0;
      std::vector<int32_t> slots, seq(T, 0), pos(T);
      for (int p = p0; p < p1; ++p) slots.push_back(blocks[p / kBlock] * kBlock + p % kBlock);
      std::iota(pos.begin(), pos.end(), p0);
      write_kv(ctx, view, k.data() + p0 * kv_row, v.data() + p0 * kv_row, slots.data(), T);
      AttentionBatch batch{T, seq.data(), pos.data(), blocks.data(), static_cast<int>(blocks.size()), kBlock, 1};
      batch.sliding_window = window;
      batch.softcap = cap;
      attention(ctx, q.data() + p0 * q_row, view, batch, kHeads, scale, out.data() + p0 * q_row);
    }
    return out;
  }

  double reference(int p, int h, int i, int window, double cap, double scale) const {
    const int g = h / (kHeads / kKvHeads);
    const int first = window > 0 ? std::max(0, p + 1 - window) : 0;
    std::vector<double> w;
    double m = -INFINITY;
    for (int j = first; j <= p; ++j) {
      double dot = 0.0;
      for (int d = 0; d < head_dim; ++d) {
        dot += static_cast<double>(q[(int64_t{p} * kHeads + h) * head_dim + d]) *
               k[(int64_t{j} * kKvHeads + g) * head_dim + d];
      }
      double s = dot * scale;
      if (cap > 0.0) s = cap * std::tanh(s / cap);
      w.push_back(s);
      m = std::max(m, s);
    }
    double sum = 0.0, acc = 0.0;
    for (double& x : w) sum += (x = std::exp(x - m));
    for (int j = first; j <= p; ++j) acc += w[j - first] / sum * v[(int64_t{j} * kKvHeads + g) * head_dim + i];
    return acc;
  }
};

TEST(AttentionWindowTest, SlidingWindowAndSoftcapMatchDoubleReference) {
  std::mt19937 rng(24);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (bool scalar : test::kernel_paths()) {
    ScalarPath path(scalar);
    for (int head_dim : {64, 40}) {  // the AVX2 fixed-width path and the any-width one
      for (auto [window, cap] : {std::pair{7, 0.0f}, std::pair{0, 1.5f}, std::pair{20, 2.0f}, std::pair{100, 0.0f}}) {
        WindowCase c(rng, 53, head_dim);
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        const auto out = c.run(ctx, 53, window, cap, scale);
        for (int p = 0; p < c.len; ++p) {
          for (int h = 0; h < WindowCase::kHeads; ++h) {
            for (int i = 0; i < head_dim; ++i) {
              const double ref = c.reference(p, h, i, window, cap, scale);
              // As the unmasked attention test: score roundings, exp, and the weighted sum.
              ASSERT_NEAR(out[(int64_t{p} * WindowCase::kHeads + h) * head_dim + i], ref, 2e-5)
                  << (scalar ? "scalar" : "avx2") << " head_dim " << head_dim << " window " << window << " cap "
                  << cap << " pos " << p << " head " << h;
            }
          }
        }
        // The prefix-cache and chunked-prefill case: the same keys written and
        // attended in other chunks give bitwise the same outputs.
        for (int chunk : {1, 5, 16}) {
          WindowCase again = c;
          EXPECT_EQ(again.run(ctx, chunk, window, cap, scale), out) << "chunk " << chunk;
        }
      }
    }
  }
}

TEST(AttentionWindowTest, RejectsBadMasking) {
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  std::mt19937 rng(25);
  WindowCase c(rng, 4, 64);
  expect_invalid([&] { c.run(ctx, 4, -1, 0.0f, 0.125f); }, "batch.sliding_window must be >= 0");
  expect_invalid([&] { c.run(ctx, 4, 0, -2.0f, 0.125f); }, "batch.softcap must be finite and >= 0");
}

}  // namespace
}  // namespace nucleus::kernels
