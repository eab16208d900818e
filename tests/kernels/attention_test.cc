// write_kv and attention for every KV cache dtype (f32, f16, q8_0): results
// against a double-precision softmax over the stored (rounded) keys and
// values, batch / chunk / thread invariance, the AVX2 and scalar paths
// bitwise equal, and bad input. The rounding itself is checked against the
// gguf package in kv_rounding_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/build_config.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/kv_dtype.h"
#include "kernels/ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

using test::random_floats;
using test::KernelPath;
using test::PathGuard;

// The attention paths this CPU runs: AVX2 (also where AVX-512 is enabled:
// attention has no 512-bit kernel), scalar.
std::vector<KernelPath> paths() {
  std::vector<KernelPath> p;
  if (cpu::cpu_has_avx2()) p.push_back(KernelPath::kAvx2);
  p.push_back(KernelPath::kScalar);
  return p;
}

constexpr KvDtype kAllDtypes[] = {KvDtype::kF32, KvDtype::kF16, KvDtype::kQ8_0};

std::string where(KvDtype dtype, KernelPath path) {
  return std::string(kv_dtype_name(dtype)) + " " + test::path_name(path);
}

template <typename E, typename Fn>
void expect_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

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

// A layer's cache of any shape and dtype, zeroed; laid out in blocks of
// `layout` slots as the engine's (1: slot-major, kernels/ops.h).
struct Cache {
  KvDtype dtype;
  int64_t slots;
  int n_kv_heads, head_dim, layout;
  std::vector<uint8_t> k, v;
  Cache(KvDtype d, int64_t num_slots = kNumBlocks * kBlock, int kv_heads = kKvHeads, int dim = kHeadDim,
        int layout_block = kBlock)
      : dtype(d),
        slots(num_slots),
        n_kv_heads(kv_heads),
        head_dim(dim),
        layout(layout_block),
        k(static_cast<size_t>(num_slots) * kv_row_bytes(d, int64_t{kv_heads} * dim), 0),
        v(k.size(), 0) {}
  KvLayerView view() {
    KvLayerView view{k.data(), v.data(), slots, n_kv_heads, head_dim, dtype};
    view.block_size = layout;
    return view;
  }
  // Element i of KV head h in slot s as stored, widened to float.
  float key(int64_t s, int h, int i) { return element(k, s, h, i); }
  float value(int64_t s, int h, int i) { return element(v, s, h, i); }

 private:
  float element(const std::vector<uint8_t>& bytes, int64_t s, int h, int i) {
    const KvLayerView c = view();
    return kv_element(dtype, bytes.data() + c.row_offset(s, h), i);
  }
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
  for (KvDtype dtype : kAllDtypes) {
    for (KernelPath path : paths()) {
      PathGuard guard(path);
      Cache cache(dtype);
      const auto out = prefill_chunk(ctx, cache, s, 0, s.len);
      for (int p = 0; p < s.len; ++p) {
        for (int h = 0; h < kHeads; ++h) {
          const int g = h / (kHeads / kKvHeads);
          const float* q = s.q.data() + (static_cast<int64_t>(p) * kHeads + h) * kHeadDim;
          std::vector<double> w(p + 1);
          double max_w = -INFINITY, sum = 0.0;
          for (int j = 0; j <= p; ++j) {
            double dot = 0.0;
            for (int i = 0; i < kHeadDim; ++i) dot += static_cast<double>(q[i]) * cache.key(slot_of(s, j), g, i);
            w[j] = dot * scale;
            max_w = std::max(max_w, w[j]);
          }
          for (int j = 0; j <= p; ++j) sum += (w[j] = std::exp(w[j] - max_w));
          for (int i = 0; i < kHeadDim; ++i) {
            double ref = 0.0;
            for (int j = 0; j <= p; ++j) ref += w[j] / sum * cache.value(slot_of(s, j), g, i);
            // Scores carry ~64 float roundings of |q||k| ~ 1e-5 absolute, exp ~2 ulp,
            // and the weighted sum <= 45 roundings of max|v| = 1: 2e-5 covers them.
            ASSERT_NEAR(out[(static_cast<int64_t>(p) * kHeads + h) * kHeadDim + i], ref, 2e-5)
                << where(dtype, path) << " pos=" << p << " head=" << h << " dim=" << i;
          }
        }
      }
    }
  }
}

// The rounded cache stays close to the exact keys and values: attention over
// f16 within 2e-3 of f32's, over q8_0 within 2e-2 (|k| <= 2: a q8_0 step is
// 2/127, an f16 one 2^-10, and scores of 64-dim dots scaled by 1/8).
TEST(AttentionTest, RoundedCachesStayCloseToFloat32) {
  std::mt19937 rng(17);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  const Seq s = make_seq(rng, 40, {1, 2, 3});
  Cache exact_cache(KvDtype::kF32);
  const auto exact = prefill_chunk(ctx, exact_cache, s, 0, s.len);
  for (const auto& [dtype, bound] : {std::pair{KvDtype::kF16, 2e-3}, std::pair{KvDtype::kQ8_0, 2e-2}}) {
    Cache cache(dtype);
    const auto out = prefill_chunk(ctx, cache, s, 0, s.len);
    double worst = 0.0;
    for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(double(out[i]) - exact[i]));
    EXPECT_LT(worst, bound) << kv_dtype_name(dtype);
    EXPECT_GT(worst, 0.0) << kv_dtype_name(dtype) << ": the cache did not round at all";
  }
}

// A query's output alone == inside a ragged batch with another sequence ==
// with its keys written in prefill chunks, bitwise, for 1/2/3 threads and
// every dtype.
TEST(AttentionTest, BatchChunkAndThreadInvariant) {
  std::mt19937 rng(8);
  const Seq a = make_seq(rng, 37, {5, 0, 9});
  const Seq b = make_seq(rng, 20, {1, 10});
  const int64_t q_row = static_cast<int64_t>(kHeads) * kHeadDim;
  for (KvDtype dtype : kAllDtypes) {
    for (KernelPath path : paths()) {
      PathGuard guard(path);
      ThreadPool pool1(1);
      const Context ctx1{Device::kCpu, &pool1};
      // Reference: whole sequence written first, then each query alone (T = 1).
      Cache full(dtype);
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
          Cache cache(dtype);
          std::vector<float> out;
          for (int p0 = 0; p0 < a.len; p0 += chunk) {
            const auto part = prefill_chunk(ctx, cache, a, p0, std::min(a.len, p0 + chunk));
            out.insert(out.end(), part.begin(), part.end());
          }
          ASSERT_TRUE(test::bitwise_equal(out.data(), alone.data(), a.len * q_row))
              << where(dtype, path) << " threads=" << threads << " chunk=" << chunk;
        }
        // Ragged batch: b's tokens interleaved with a's, both sequences in the cache.
        Cache cache(dtype);
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
              << where(dtype, path) << " threads=" << threads << " batch row " << t << " pos " << pos[t];
        }
      }
    }
  }
}

// Other head shapes than SmolLM2's: head_dim not a multiple of 8, one query
// head per KV head, and groups of 7 and 20 (more than the AVX2 kernel takes
// at once); Qwen2.5-3B's group of 8 puts two KV heads' 16 queries in one
// decode job. A batch of 12 rows goes through grouped work items, a row alone
// on one thread through one item per query head: bitwise equal, and each
// within float rounding of a double-precision softmax over the stored keys.
struct Shape {
  int head_dim, n_heads, n_kv_heads;
};
constexpr Shape kShapes[] = {{40, 6, 2},  {128, 4, 4}, {96, 14, 2}, {32, 40, 2}, {24, 9, 3},
                             {13, 4, 1},  {64, 32, 8}, {256, 8, 2}, {128, 16, 2}};

TEST(AttentionTest, AnyHeadShapeAndGroupSize) {
  constexpr int kLen = 40, kBlk = 16;
  for (KvDtype dtype : kAllDtypes) {
    for (const Shape sh : kShapes) {
      if (sh.head_dim % kv_dtype_granule(dtype) != 0) continue;
      std::mt19937 rng(static_cast<uint32_t>(sh.head_dim * 100 + sh.n_heads));
      const int64_t kv_row = static_cast<int64_t>(sh.n_kv_heads) * sh.head_dim;
      const int64_t q_row = static_cast<int64_t>(sh.n_heads) * sh.head_dim;
      const int group = sh.n_heads / sh.n_kv_heads;
      const std::vector<int32_t> blocks{2, 0, 1};  // out of order in memory
      Cache cache(dtype, 3 * kBlk, sh.n_kv_heads, sh.head_dim);
      const auto k_new = random_floats(rng, kLen * kv_row, -2.0f, 2.0f), v_new = random_floats(rng, kLen * kv_row);
      const auto q = random_floats(rng, kLen * q_row, -1.0f, 1.0f);
      std::vector<int32_t> slots(kLen), seq(kLen, 0), pos(kLen);
      for (int p = 0; p < kLen; ++p) slots[p] = blocks[p / kBlk] * kBlk + p % kBlk;
      std::iota(pos.begin(), pos.end(), 0);
      const float scale = 1.0f / std::sqrt(static_cast<float>(sh.head_dim));
      for (KernelPath path : paths()) {
        PathGuard guard(path);
        ThreadPool pool1(1), pool2(2);
        write_kv(Context{Device::kCpu, &pool1}, cache.view(), k_new.data(), v_new.data(), slots.data(), kLen);
        // Rows 28..39 in one batch on 2 threads.
        constexpr int kFirst = 28, kRows = kLen - kFirst;
        std::vector<float> batched(static_cast<size_t>(kRows * q_row)), alone(static_cast<size_t>(q_row));
        const AttentionBatch batch{kRows, seq.data(), pos.data() + kFirst, blocks.data(), 3, kBlk, 1};
        attention(Context{Device::kCpu, &pool2}, q.data() + kFirst * q_row, cache.view(), batch, sh.n_heads, scale,
                  batched.data());
        for (int r = 0; r < kRows; ++r) {
          const int p = kFirst + r;
          const AttentionBatch one{1, seq.data(), pos.data() + p, blocks.data(), 3, kBlk, 1};
          attention(Context{Device::kCpu, &pool1}, q.data() + p * q_row, cache.view(), one, sh.n_heads, scale,
                    alone.data());
          ASSERT_TRUE(test::bitwise_equal(alone.data(), batched.data() + r * q_row, q_row))
              << where(dtype, path) << " head_dim=" << sh.head_dim << " heads=" << sh.n_heads
              << " kv_heads=" << sh.n_kv_heads << " pos=" << p;
          for (int h = 0; h < sh.n_heads; ++h) {
            const int g = h / group;
            std::vector<double> w(static_cast<size_t>(p + 1));
            double max_w = -INFINITY, sum = 0.0;
            for (int j = 0; j <= p; ++j) {
              double dot = 0.0;
              for (int i = 0; i < sh.head_dim; ++i) {
                dot += static_cast<double>(q[p * q_row + h * sh.head_dim + i]) * cache.key(slots[j], g, i);
              }
              w[j] = dot * scale;
              max_w = std::max(max_w, w[j]);
            }
            for (int j = 0; j <= p; ++j) sum += (w[j] = std::exp(w[j] - max_w));
            for (int i = 0; i < sh.head_dim; ++i) {
              double ref = 0.0;
              for (int j = 0; j <= p; ++j) ref += w[j] / sum * cache.value(slots[j], g, i);
              // |q.k| <= 128 * 2 = 256 before scaling: scores carry <= 128 roundings of 256 * 2^-24
              // (2e-3 absolute at the worst, usually far less), weights the same relative error.
              ASSERT_NEAR(alone[h * sh.head_dim + i], ref, 2e-4)
                  << where(dtype, path) << " head_dim=" << sh.head_dim << " head=" << h << " dim=" << i;
            }
          }
        }
      }
    }
  }
}

// Cross-ISA determinism: the AVX2 path gives bitwise the scalar path's
// output (memcmp) for every dtype, head shape (head_dim not a multiple of 8
// included), group size, odd lengths, several rows of one sequence at once
// (prefill tiles) and one (decode), soft-capping, a sliding window, and both
// cache layouts.
TEST(AttentionTest, Avx2AndScalarBitwiseEqual) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  constexpr int kBlk = 16;
  struct Masking {
    int window;
    float softcap;
  };
  for (KvDtype dtype : kAllDtypes) {
    for (const Shape sh : kShapes) {
      if (sh.head_dim % kv_dtype_granule(dtype) != 0) continue;
      for (const int len : {1, 7, 33, 61}) {
        for (const Masking m : {Masking{0, 0.0f}, Masking{0, 5.0f}, Masking{9, 0.0f}, Masking{17, 3.0f}}) {
         for (const int layout : {kBlk, 1}) {
          std::mt19937 rng(static_cast<uint32_t>(sh.head_dim * 1000 + len * 10 + m.window));
          const int64_t kv_row = static_cast<int64_t>(sh.n_kv_heads) * sh.head_dim;
          const int64_t q_row = static_cast<int64_t>(sh.n_heads) * sh.head_dim;
          const std::vector<int32_t> blocks{3, 1, 4, 0, 2};
          Cache cache(dtype, 5 * kBlk, sh.n_kv_heads, sh.head_dim, layout);
          const auto k_new = random_floats(rng, len * kv_row, -3.0f, 3.0f);
          const auto v_new = random_floats(rng, len * kv_row, -2.0f, 2.0f);
          const auto q = random_floats(rng, len * q_row, -2.0f, 2.0f);
          std::vector<int32_t> slots(len), seq(len, 0), pos(len);
          for (int p = 0; p < len; ++p) slots[p] = blocks[p / kBlk] * kBlk + p % kBlk;
          std::iota(pos.begin(), pos.end(), 0);
          ThreadPool pool(2);
          const Context ctx{Device::kCpu, &pool};
          write_kv(ctx, cache.view(), k_new.data(), v_new.data(), slots.data(), len);
          AttentionBatch batch{len, seq.data(), pos.data(), blocks.data(), 5, kBlk, 1};
          batch.sliding_window = m.window;
          batch.softcap = m.softcap;
          const float scale = 1.0f / std::sqrt(static_cast<float>(sh.head_dim));
          std::vector<float> slow(static_cast<size_t>(len * q_row));
          {
            PathGuard guard(KernelPath::kScalar);
            attention(ctx, q.data(), cache.view(), batch, sh.n_heads, scale, slow.data());
          }
          for (KernelPath path : paths()) {
            if (path == KernelPath::kScalar) continue;
            PathGuard guard(path);
            std::vector<float> fast(slow.size());
            attention(ctx, q.data(), cache.view(), batch, sh.n_heads, scale, fast.data());
            ASSERT_TRUE(test::bitwise_equal(fast.data(), slow.data(), len * q_row))
                << where(dtype, path) << " head_dim=" << sh.head_dim << " heads=" << sh.n_heads << "/"
                << sh.n_kv_heads << " len=" << len << " window=" << m.window << " softcap=" << m.softcap
                << " layout=" << layout;
          }
         }
        }
      }
    }
  }
}

TEST(WriteKvTest, Float32WritesSlotsExactlyAndSkipsNegative) {
  std::mt19937 rng(10);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  Cache cache(KvDtype::kF32);
  const auto k = random_floats(rng, 3 * kRow), v = random_floats(rng, 3 * kRow);
  const int32_t slots[3] = {17, -1, 190};
  write_kv(ctx, cache.view(), k.data(), v.data(), slots, 3);
  const KvLayerView view = cache.view();
  for (int h = 0; h < kKvHeads; ++h) {  // each head's row where the layout keeps it
    EXPECT_TRUE(test::bitwise_equal(reinterpret_cast<const float*>(cache.k.data() + view.row_offset(17, h)),
                                    k.data() + h * kHeadDim, kHeadDim));
    EXPECT_TRUE(test::bitwise_equal(reinterpret_cast<const float*>(cache.v.data() + view.row_offset(190, h)),
                                    v.data() + 2 * kRow + h * kHeadDim, kHeadDim));
  }
  // Block 1 (slots 16..31) holds head 0's 16 rows, then head 1's...: slot 17's head 1 row.
  EXPECT_EQ(view.row_offset(17, 1), (16 * kKvHeads + 16 + 1) * kHeadDim * sizeof(float));
  const size_t nonzero = std::count_if(cache.k.begin(), cache.k.end(), [](uint8_t b) { return b != 0; });
  EXPECT_LE(nonzero, static_cast<size_t>(2 * kRow * sizeof(float)));  // the skipped row went nowhere
}

// Every dtype: a written slot reads back within the dtype's rounding of the
// value, the skipped row writes nothing, and slots hold slot_bytes() each.
TEST(WriteKvTest, RoundsOnceToTheCacheDtype) {
  std::mt19937 rng(11);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (KvDtype dtype : kAllDtypes) {
    Cache cache(dtype);
    const auto k = random_floats(rng, 3 * kRow, -4.0f, 4.0f), v = random_floats(rng, 3 * kRow);
    const int32_t slots[3] = {5, -1, 100};
    write_kv(ctx, cache.view(), k.data(), v.data(), slots, 3);
    for (int h = 0; h < kKvHeads; ++h) {
      for (int i = 0; i < kHeadDim; ++i) {
        const float x = k[h * kHeadDim + i], y = v[2 * kRow + h * kHeadDim + i];
        // f16: half an ulp, 2^-11 relative (2^-25 absolute among subnormals). q8_0: half a
        // step d = max|block| / 127, plus d's own fp16 rounding times |q| <= 127: d * (1/2 +
        // 127 * 2^-11) < max|block| / 200, with max|block| <= 4 for k and 1 for v.
        auto f16_bound = [](float f) { return std::max(std::fabs(f) / 2048.0, std::ldexp(1.0, -25)); };
        const double kbound = dtype == KvDtype::kF32 ? 0.0 : dtype == KvDtype::kF16 ? f16_bound(x) : 4.0 / 200;
        const double vbound = dtype == KvDtype::kF32 ? 0.0 : dtype == KvDtype::kF16 ? f16_bound(y) : 1.0 / 200;
        ASSERT_LE(std::fabs(cache.key(5, h, i) - x), kbound) << kv_dtype_name(dtype) << " head " << h << " dim " << i;
        ASSERT_LE(std::fabs(cache.value(100, h, i) - y), vbound) << kv_dtype_name(dtype);
      }
    }
    const size_t slot_bytes = cache.view().slot_bytes();
    const size_t nonzero = std::count_if(cache.k.begin(), cache.k.end(), [](uint8_t b) { return b != 0; });
    EXPECT_LE(nonzero, 2 * slot_bytes) << kv_dtype_name(dtype) << ": the skipped row went nowhere";
  }
  EXPECT_EQ(Cache(KvDtype::kF16).view().slot_bytes(), static_cast<size_t>(kRow * 2));
  EXPECT_EQ(Cache(KvDtype::kQ8_0).view().slot_bytes(), static_cast<size_t>(kRow / 32 * 34));
}

TEST(KvDtypeTest, NamesRoundTrip) {
  for (KvDtype dtype : kAllDtypes) EXPECT_EQ(kv_dtype_from_name(kv_dtype_name(dtype)), dtype);
  EXPECT_FALSE(kv_dtype_from_name("q4_0").has_value());
  EXPECT_FALSE(kv_dtype_from_name("F16").has_value());
}

TEST(AttentionTest, RejectsBadBatches) {
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  Cache cache(KvDtype::kF32);
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
  KvLayerView other_blocks = cache.view();
  other_blocks.block_size = 8;
  expect_error<std::invalid_argument>(
      [&] { attention(ctx, q.data(), other_blocks, batch, kHeads, 0.1f, out.data()); },
      "cache.block_size (8) must be 1 or batch.block_size (16)");
  other_blocks.block_size = 7;
  expect_error<std::invalid_argument>([&] { write_kv(ctx, other_blocks, q.data(), q.data(), &seq, 1); },
                                      "must be a multiple of cache.block_size (7");
  const int32_t bad_seq = 1;
  AttentionBatch bad = batch;
  bad.token_seq = &bad_seq;
  expect_error<std::invalid_argument>([&] { attention(ctx, q.data(), cache.view(), bad, kHeads, 0.1f, out.data()); },
                                      "token_seq[0]");
  const int32_t slot = kNumBlocks * kBlock;
  expect_error<std::out_of_range>([&] { write_kv(ctx, cache.view(), q.data(), q.data(), &slot, 1); },
                                  "slot_mapping[0]");
  // Q8_0 stores blocks of 32 along head_dim: a head_dim of 40 is refused by name.
  Cache odd(KvDtype::kQ8_0, 16, 1, 64);
  KvLayerView view = odd.view();
  view.head_dim = 40;
  pos = 0;
  expect_error<std::invalid_argument>([&] { write_kv(ctx, view, q.data(), q.data(), &pos, 1); },
                                      "a q8_0 cache needs head_dim a multiple of 32, got 40");
  expect_error<std::invalid_argument>([&] { attention(ctx, q.data(), view, batch, 1, 0.1f, out.data()); },
                                      "a q8_0 cache needs head_dim a multiple of 32, got 40");
#if !NUCLEUS_HAVE_CUDA
  expect_error<std::runtime_error>(
      [&] { attention(Context{Device::kCuda, &pool}, q.data(), cache.view(), batch, kHeads, 0.1f, out.data()); },
      "unsupported device");
#endif
}

}  // namespace
}  // namespace nucleus::kernels
