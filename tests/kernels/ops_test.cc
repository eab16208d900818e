// The non-matmul ops against double-precision references, their batch
// invariance, the scalar and AVX2 paths against each other, and bad input.
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

// ---- KV cache and attention ------------------------------------------------

constexpr int kHeadDim = 64;
constexpr int kKvHeads = 3;
constexpr int kHeads = 9;  // groups of 3 query heads per KV head, like SmolLM2
constexpr int kBlock = 16;
constexpr int kNumBlocks = 12;
constexpr int kMaxBlocks = 4;
constexpr int64_t kRow = static_cast<int64_t>(kKvHeads) * kHeadDim;

// A sequence: its keys/values/queries per position and its block table.
struct Seq {
  std::vector<float> k, v, q;  // [len, kRow], [len, kRow], [len, kHeads * kHeadDim]
  std::vector<int32_t> blocks;
  int len = 0;
};

Seq make_seq(std::mt19937& rng, int len, std::vector<int32_t> blocks) {
  Seq s;
  s.len = len;
  s.k = random_floats(rng, len * kRow, -2.0f, 2.0f);
  s.v = random_floats(rng, len * kRow);
  s.q = random_floats(rng, static_cast<int64_t>(len) * kHeads * kHeadDim, -2.0f, 2.0f);
  blocks.resize(kMaxBlocks, 0);
  s.blocks = std::move(blocks);
  return s;
}

struct Cache {
  std::vector<float> k = std::vector<float>(static_cast<size_t>(kNumBlocks * kBlock * kRow), 0.0f);
  std::vector<float> v = k;
  KvLayerView view() { return KvLayerView{k.data(), v.data(), kNumBlocks * kBlock, kKvHeads, kHeadDim}; }
};

int32_t slot_of(const Seq& s, int pos) { return s.blocks[pos / kBlock] * kBlock + pos % kBlock; }

// Writes positions [p0, p1) of seq s into the cache and attends their queries;
// returns out [p1 - p0, kHeads * kHeadDim].
std::vector<float> prefill_chunk(const Context& ctx, Cache& cache, const Seq& s, int p0, int p1) {
  const int64_t T = p1 - p0;
  std::vector<int32_t> slots, seq_ids(T, 0), pos(T);
  for (int p = p0; p < p1; ++p) slots.push_back(slot_of(s, p));
  std::iota(pos.begin(), pos.end(), p0);
  write_kv(ctx, cache.view(), s.k.data() + p0 * kRow, s.v.data() + p0 * kRow, slots.data(), T);
  AttentionBatch batch{T, seq_ids.data(), pos.data(), s.blocks.data(), kMaxBlocks, kBlock, 1};
  std::vector<float> out(static_cast<size_t>(T * kHeads * kHeadDim));
  // 0.125 = 1 / sqrt(kHeadDim), exactly.
  attention(ctx, s.q.data() + static_cast<int64_t>(p0) * kHeads * kHeadDim, cache.view(), batch, kHeads, 0.125f,
            out.data());
  return out;
}

TEST(AttentionTest, MatchesDoubleReferenceWithGroupedHeads) {
  std::mt19937 rng(7);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  const Seq s = make_seq(rng, 45, {7, 2, 11});
  const float scale = 0.125f;
  for (bool scalar : paths()) {
    ScalarPath path(scalar);
    Cache cache;
    const auto out = prefill_chunk(ctx, cache, s, 0, s.len);
    for (int p = 0; p < s.len; ++p) {
      for (int h = 0; h < kHeads; ++h) {
        const int g = h / (kHeads / kKvHeads);
        const float* q = s.q.data() + (static_cast<int64_t>(p) * kHeads + h) * kHeadDim;
        std::vector<double> w(p + 1);
        double max_w = -INFINITY, sum = 0.0;
        for (int j = 0; j <= p; ++j) {
          double dot = 0.0;
          for (int i = 0; i < kHeadDim; ++i) dot += static_cast<double>(q[i]) * s.k[j * kRow + g * kHeadDim + i];
          w[j] = dot * scale;
          max_w = std::max(max_w, w[j]);
        }
        for (int j = 0; j <= p; ++j) sum += (w[j] = std::exp(w[j] - max_w));
        for (int i = 0; i < kHeadDim; ++i) {
          double ref = 0.0;
          for (int j = 0; j <= p; ++j) ref += w[j] / sum * s.v[j * kRow + g * kHeadDim + i];
          // Scores carry ~64 float roundings of |q||k| ~ 1e-5 absolute, exp ~2 ulp,
          // and the weighted sum <= 45 roundings of max|v| = 1: 2e-5 covers them.
          ASSERT_NEAR(out[(static_cast<int64_t>(p) * kHeads + h) * kHeadDim + i], ref, 2e-5)
              << (scalar ? "scalar" : "avx2") << " pos=" << p << " head=" << h << " dim=" << i;
        }
      }
    }
  }
}

// A query's output alone == inside a ragged batch with another sequence ==
// with its keys written in prefill chunks, bitwise, for 1/2/3 threads.
TEST(AttentionTest, BatchChunkAndThreadInvariant) {
  std::mt19937 rng(8);
  const Seq a = make_seq(rng, 37, {5, 0, 9});
  const Seq b = make_seq(rng, 20, {1, 10});
  const int64_t q_row = static_cast<int64_t>(kHeads) * kHeadDim;
  for (bool scalar : paths()) {
    ScalarPath path(scalar);
    ThreadPool pool1(1);
    const Context ctx1{Device::kCpu, &pool1};
    // Reference: whole sequence written first, then each query alone (T = 1).
    Cache full;
    prefill_chunk(ctx1, full, a, 0, a.len);
    std::vector<float> alone(static_cast<size_t>(a.len * q_row));
    for (int p = 0; p < a.len; ++p) {
      const int32_t seq = 0, pos = p;
      AttentionBatch batch{1, &seq, &pos, a.blocks.data(), kMaxBlocks, kBlock, 1};
      attention(ctx1, a.q.data() + p * q_row, full.view(), batch, kHeads, 0.125f, alone.data() + p * q_row);
    }
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      const Context ctx{Device::kCpu, &pool};
      // Chunked prefill of a, in chunks of 1, 5 and 16 tokens.
      for (int chunk : {1, 5, 16}) {
        Cache cache;
        std::vector<float> out;
        for (int p0 = 0; p0 < a.len; p0 += chunk) {
          const auto part = prefill_chunk(ctx, cache, a, p0, std::min(a.len, p0 + chunk));
          out.insert(out.end(), part.begin(), part.end());
        }
        ASSERT_TRUE(test::bitwise_equal(out.data(), alone.data(), a.len * q_row))
            << (scalar ? "scalar" : "avx2") << " threads=" << threads << " chunk=" << chunk;
      }
      // Ragged batch: b's tokens interleaved with a's, both sequences in the cache.
      Cache cache;
      prefill_chunk(ctx, cache, a, 0, a.len);
      prefill_chunk(ctx, cache, b, 0, b.len);
      std::vector<int32_t> seq_ids, pos;
      std::vector<float> q;
      int pa = 0, pb = 0;
      while (pa < a.len || pb < b.len) {
        for (int r = 0; r < 2 && pa < a.len; ++r, ++pa) {
          seq_ids.push_back(1), pos.push_back(pa);
          q.insert(q.end(), a.q.begin() + pa * q_row, a.q.begin() + (pa + 1) * q_row);
        }
        if (pb < b.len) {
          seq_ids.push_back(0), pos.push_back(pb);
          q.insert(q.end(), b.q.begin() + pb * q_row, b.q.begin() + (pb + 1) * q_row);
          ++pb;
        }
      }
      std::vector<int32_t> tables(b.blocks);
      tables.insert(tables.end(), a.blocks.begin(), a.blocks.end());
      const int64_t T = static_cast<int64_t>(seq_ids.size());
      AttentionBatch batch{T, seq_ids.data(), pos.data(), tables.data(), kMaxBlocks, kBlock, 2};
      std::vector<float> out(static_cast<size_t>(T * q_row));
      attention(ctx, q.data(), cache.view(), batch, kHeads, 0.125f, out.data());
      for (int64_t t = 0; t < T; ++t) {
        if (seq_ids[t] != 1) continue;
        ASSERT_TRUE(test::bitwise_equal(out.data() + t * q_row, alone.data() + pos[t] * q_row, q_row))
            << (scalar ? "scalar" : "avx2") << " threads=" << threads << " batch row " << t << " pos " << pos[t];
      }
    }
  }
}

// Other head shapes than SmolLM2's: head_dim not a multiple of 8, one query
// head per KV head, and groups of 7 and 20 (more than the AVX2 kernel takes
// at once). A batch of 12 rows goes through grouped work items, a row alone
// on one thread through one item per query head: bitwise equal, and each
// within float rounding of a double-precision softmax.
TEST(AttentionTest, AnyHeadShapeAndGroupSize) {
  struct Shape {
    int head_dim, n_heads, n_kv_heads;
  };
  constexpr int kLen = 40, kBlk = 16;
  for (const Shape sh : {Shape{40, 6, 2}, Shape{128, 4, 4}, Shape{96, 14, 2}, Shape{32, 40, 2}, Shape{24, 9, 3}}) {
    std::mt19937 rng(static_cast<uint32_t>(sh.head_dim * 100 + sh.n_heads));
    const int64_t kv_row = static_cast<int64_t>(sh.n_kv_heads) * sh.head_dim;
    const int64_t q_row = static_cast<int64_t>(sh.n_heads) * sh.head_dim;
    const int group = sh.n_heads / sh.n_kv_heads;
    const std::vector<int32_t> blocks{2, 0, 1};  // out of order in memory
    std::vector<float> k(static_cast<size_t>(3 * kBlk * kv_row)), v(k.size());
    const auto k_new = random_floats(rng, kLen * kv_row, -2.0f, 2.0f), v_new = random_floats(rng, kLen * kv_row);
    const auto q = random_floats(rng, kLen * q_row, -1.0f, 1.0f);
    const KvLayerView cache{k.data(), v.data(), 3 * kBlk, sh.n_kv_heads, sh.head_dim};
    std::vector<int32_t> slots(kLen), seq(kLen, 0), pos(kLen);
    for (int p = 0; p < kLen; ++p) slots[p] = blocks[p / kBlk] * kBlk + p % kBlk;
    std::iota(pos.begin(), pos.end(), 0);
    const float scale = 1.0f / std::sqrt(static_cast<float>(sh.head_dim));
    for (bool scalar : paths()) {
      ScalarPath path(scalar);
      ThreadPool pool1(1), pool2(2);
      write_kv(Context{Device::kCpu, &pool1}, cache, k_new.data(), v_new.data(), slots.data(), kLen);
      // Rows 28..39 in one batch on 2 threads.
      constexpr int kFirst = 28, kRows = kLen - kFirst;
      std::vector<float> batched(static_cast<size_t>(kRows * q_row)), alone(static_cast<size_t>(q_row));
      const AttentionBatch batch{kRows, seq.data(), pos.data() + kFirst, blocks.data(), 3, kBlk, 1};
      attention(Context{Device::kCpu, &pool2}, q.data() + kFirst * q_row, cache, batch, sh.n_heads, scale,
                batched.data());
      for (int r = 0; r < kRows; ++r) {
        const int p = kFirst + r;
        const AttentionBatch one{1, seq.data(), pos.data() + p, blocks.data(), 3, kBlk, 1};
        attention(Context{Device::kCpu, &pool1}, q.data() + p * q_row, cache, one, sh.n_heads, scale, alone.data());
        ASSERT_TRUE(test::bitwise_equal(alone.data(), batched.data() + r * q_row, q_row))
            << (scalar ? "scalar" : "avx2") << " head_dim=" << sh.head_dim << " heads=" << sh.n_heads
            << " kv_heads=" << sh.n_kv_heads << " pos=" << p;
        for (int h = 0; h < sh.n_heads; ++h) {
          const int64_t kv_off = static_cast<int64_t>(h / group) * sh.head_dim;
          std::vector<double> w(static_cast<size_t>(p + 1));
          double max_w = -INFINITY, sum = 0.0;
          for (int j = 0; j <= p; ++j) {
            double dot = 0.0;
            for (int i = 0; i < sh.head_dim; ++i) {
              dot += static_cast<double>(q[p * q_row + h * sh.head_dim + i]) * k_new[j * kv_row + kv_off + i];
            }
            w[j] = dot * scale;
            max_w = std::max(max_w, w[j]);
          }
          for (int j = 0; j <= p; ++j) sum += (w[j] = std::exp(w[j] - max_w));
          for (int i = 0; i < sh.head_dim; ++i) {
            double ref = 0.0;
            for (int j = 0; j <= p; ++j) ref += w[j] / sum * v_new[j * kv_row + kv_off + i];
            // |q.k| <= 128 * 2 = 256 before scaling: scores carry <= 128 roundings of 256 * 2^-24
            // (2e-3 absolute at the worst, usually far less), weights the same relative error.
            ASSERT_NEAR(alone[h * sh.head_dim + i], ref, 2e-4)
                << (scalar ? "scalar" : "avx2") << " head_dim=" << sh.head_dim << " head=" << h << " dim=" << i;
          }
        }
      }
    }
  }
}

TEST(AttentionTest, Avx2AgreesWithScalar) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(9);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  const Seq s = make_seq(rng, 50, {3, 4, 8, 6});
  Cache c1, c2;
  const auto fast = prefill_chunk(ctx, c1, s, 0, s.len);
  std::vector<float> slow;
  {
    ScalarPath path(true);
    slow = prefill_chunk(ctx, c2, s, 0, s.len);
  }
  for (size_t i = 0; i < fast.size(); ++i) ASSERT_NEAR(fast[i], slow[i], 2e-5) << i;
}

TEST(WriteKvTest, WritesSlotsAndSkipsNegative) {
  std::mt19937 rng(10);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  Cache cache;
  const auto k = random_floats(rng, 3 * kRow), v = random_floats(rng, 3 * kRow);
  const int32_t slots[3] = {17, -1, 190};
  write_kv(ctx, cache.view(), k.data(), v.data(), slots, 3);
  EXPECT_TRUE(test::bitwise_equal(cache.k.data() + 17 * kRow, k.data(), kRow));
  EXPECT_TRUE(test::bitwise_equal(cache.v.data() + 190 * kRow, v.data() + 2 * kRow, kRow));
  const size_t nonzero = std::count_if(cache.k.begin(), cache.k.end(), [](float f) { return f != 0.0f; });
  EXPECT_LE(nonzero, static_cast<size_t>(2 * kRow));  // the skipped row went nowhere
}

TEST(AttentionTest, RejectsBadBatches) {
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  Cache cache;
  std::vector<float> q(kHeads * kHeadDim), out(q.size());
  const int32_t seq = 0;
  int32_t pos = 3;
  std::vector<int32_t> table = {0, 1, 2, 3};
  AttentionBatch batch{1, &seq, &pos, table.data(), kMaxBlocks, kBlock, 1};
  expect_error<std::invalid_argument>([&] { attention(ctx, q.data(), cache.view(), batch, 8, 0.1f, out.data()); },
                                      "n_heads");
  pos = kMaxBlocks * kBlock;
  expect_error<std::invalid_argument>([&] { attention(ctx, q.data(), cache.view(), batch, kHeads, 0.1f, out.data()); },
                                      "token_pos[0]");
  pos = 20;
  table[1] = kNumBlocks;
  expect_error<std::invalid_argument>([&] { attention(ctx, q.data(), cache.view(), batch, kHeads, 0.1f, out.data()); },
                                      "block_tables[0][1]");
  table[1] = 1;
  const int32_t bad_seq = 1;
  AttentionBatch bad = batch;
  bad.token_seq = &bad_seq;
  expect_error<std::invalid_argument>([&] { attention(ctx, q.data(), cache.view(), bad, kHeads, 0.1f, out.data()); },
                                      "token_seq[0]");
  const int32_t slot = kNumBlocks * kBlock;
  expect_error<std::out_of_range>([&] { write_kv(ctx, cache.view(), q.data(), q.data(), &slot, 1); },
                                  "slot_mapping[0]");
#ifndef NUCLEUS_HAVE_CUDA
  expect_error<std::runtime_error>(
      [&] { attention(Context{Device::kCuda, &pool}, q.data(), cache.view(), batch, kHeads, 0.1f, out.data()); },
      "unsupported device");
#endif
}

}  // namespace
}  // namespace nucleus::kernels
