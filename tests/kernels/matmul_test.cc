// matmul: against a double-precision reference for every weight type and
// kernel path, batch invariance within each path (alone vs inside T = 2..100
// rows vs 1/2/3 threads: bitwise), the AVX-512, AVX2 and scalar paths against
// each other, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/build_config.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"
#include "kernels/cpu/quantize_act.h"
#include "kernels/ops.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

using test::random_floats;
using test::random_weights;

using test::KernelPath;
using test::PathGuard;
using test::path_name;

// Largest error we accept for y[t, r], with why:
//  - quantized weights: activations are rounded to 8-bit blocks of 32 (256 for
//    the k-quants) with scale d = max|x| / 127, so each x moves by at most
//    max|x_block| / 254; times |w| summed over the block. The 32-blocks' fp16
//    scales add 2^-11 of the block's products.
//  - float rounding of products and sums: at most ~(terms + tree depth) ulps
//    of sum |w x|; 1e-5 covers 160 float roundings at 6e-8 each, and for float
//    weights cols * 6e-8 is the classic worst case of a running sum.
double tolerance(GgmlType type, const float* w, const float* x, int64_t cols) {
  double abs_sum = 0.0;
  for (int64_t k = 0; k < cols; ++k) abs_sum += std::fabs(static_cast<double>(w[k]) * x[k]);
  if (test::is_float_type(type)) return (static_cast<double>(cols) + 16.0) * 6e-8 * abs_sum + 1e-30;
  const bool k_quant = test::block_size_of(type) == 256;  // the k-quants and IQ4_XS take ActBlockQ8K
  const bool has_min = type == GgmlType::Q4_1 || type == GgmlType::Q5_1;
  const int qblock = k_quant ? 256 : 32;
  double quant = 0.0;
  for (int64_t b = 0; b < cols; b += qblock) {
    double amax = 0.0, wsum = 0.0, wmax = 0.0;
    for (int64_t k = b; k < b + qblock; ++k) {
      amax = std::fmax(amax, std::fabs(x[k]));
      wsum += std::fabs(w[k]);
      wmax = std::fmax(wmax, std::fabs(w[k]));
    }
    quant += amax / 254.0 * wsum;
    if (!k_quant) {
      // The 32-element blocks keep d and s = d * sum(q) as fp16 values (quantize_act.h):
      // each quantized x (|q d| <= |x| + amax / 254) and s carry 2^-11 relative error;
      // s meets the block's min (|m| <= max |w|) on the types that have one.
      double wx = 0.0, xs = 0.0;
      for (int64_t k = b; k < b + qblock; ++k) {
        wx += std::fabs(w[k]) * (std::fabs(x[k]) + amax / 254.0);
        xs += std::fabs(x[k]) + amax / 254.0;
      }
      quant += 0x1p-11 * (wx + (has_min ? wmax * xs : 0.0));
    }
  }
  return quant * 1.0001 + 1e-5 * abs_sum + 1e-30;
}

class MatmulTypeTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(MatmulTypeTest, MatchesDoubleReference) {
  const GgmlType type = GetParam();
  const int bs = test::block_size_of(type);
  std::vector<int64_t> col_choices = bs == 1 ? std::vector<int64_t>{1, 7, 33, 576}
                                     : bs == 32 ? std::vector<int64_t>{32, 96, 576}
                                                : std::vector<int64_t>{256, 768};
  std::mt19937 rng(1234 + static_cast<int>(type));
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (KernelPath kp : test::matmul_paths()) {
    PathGuard path(kp);
    for (int64_t cols : col_choices) {
      for (int64_t rows : {1, 5, 13, 37}) {
        for (int64_t T : {1, 3, 7}) {
          auto w = random_weights(rng, type, rows, cols);
          const auto x = random_floats(rng, T * cols, -2.0f, 2.0f);
          const auto bias = random_floats(rng, rows);
          std::vector<float> y(static_cast<size_t>(T * rows));
          matmul(ctx, test::view_for(kp, w), x.data(), T, y.data(), bias.data());
          for (int64_t t = 0; t < T; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
              const float* wr = w.dequantized.data() + r * cols;
              const float* xt = x.data() + t * cols;
              double ref = bias[r];
              for (int64_t k = 0; k < cols; ++k) ref += static_cast<double>(wr[k]) * xt[k];
              const double tol = tolerance(type, wr, xt, cols) + std::fabs(bias[r]) * 1.2e-7;
              ASSERT_NEAR(y[t * rows + r], ref, tol) << ggml_type_name(type) << " " << path_name(kp)
                                                     << " rows=" << rows << " cols=" << cols << " T=" << T
                                                     << " t=" << t << " r=" << r;
            }
          }
        }
      }
    }
  }
}

// A row's output is bitwise the same alone, inside any batch of T rows at any
// position, and with 1, 2 or 3 threads (ops.h: batch invariance).
TEST_P(MatmulTypeTest, BatchAndThreadInvariant) {
  const GgmlType type = GetParam();
  const int bs = test::block_size_of(type);
  const int64_t cols = bs == 256 ? 512 : (bs == 32 ? 416 : 203);
  const int64_t rows = 301;  // 18 panels of 16 + 13: hits every row-tile remainder
  const int64_t max_T = 100;  // token tiles of 6 with every remainder, and token chunks of 64
  std::mt19937 rng(99 + static_cast<int>(type));
  auto w = random_weights(rng, type, rows, cols);
  const auto x = random_floats(rng, max_T * cols, -3.0f, 3.0f);
  ThreadPool pool1(1), pool2(2), pool3(3);
  for (KernelPath kp : test::matmul_paths()) {
    PathGuard path(kp);
    const WeightView view = test::view_for(kp, w);
    // Each row alone, one thread.
    std::vector<float> alone(static_cast<size_t>(max_T * rows));
    for (int64_t t = 0; t < max_T; ++t) {
      matmul(Context{Device::kCpu, &pool1}, view, x.data() + t * cols, 1, alone.data() + t * rows);
    }
    for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
      const Context ctx{Device::kCpu, pool};
      for (int64_t T : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16, 17, 23, 31, 33, 40, 64, 65, 100}) {
        // Rows [start, start + T) so a row meets different neighbours and tile positions.
        const int64_t start = (max_T - T) / 2;
        std::vector<float> y(static_cast<size_t>(T * rows));
        matmul(ctx, view, x.data() + start * cols, T, y.data());
        for (int64_t t = 0; t < T; ++t) {
          ASSERT_TRUE(test::bitwise_equal(y.data() + t * rows, alone.data() + (start + t) * rows, rows))
              << ggml_type_name(type) << " " << path_name(kp) << " threads=" << pool->num_threads()
              << " T=" << T << " row " << start + t;
        }
      }
    }
  }
}

// The AVX-512 / AVX2 and scalar kernels compute the same quantized products in
// a different float order: they agree to float rounding, far tighter than the
// quantization tolerance.
TEST_P(MatmulTypeTest, FastPathsAgreeWithScalar) {
  const GgmlType type = GetParam();
  const int bs = test::block_size_of(type);
  const int64_t cols = bs == 256 ? 1536 : (bs == 32 ? 1536 : 579);
  const int64_t rows = 67, T = 9;
  std::mt19937 rng(7 + static_cast<int>(type));
  auto w = random_weights(rng, type, rows, cols);
  const auto x = random_floats(rng, T * cols);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  std::vector<float> slow(static_cast<size_t>(T * rows));
  {
    PathGuard path(KernelPath::kScalar);
    matmul(ctx, w.view, x.data(), T, slow.data());
  }
  for (KernelPath kp : test::matmul_paths()) {
    if (kp == KernelPath::kScalar) continue;
    std::vector<float> fast(slow.size());
    {
      PathGuard path(kp);
      matmul(ctx, test::view_for(kp, w), x.data(), T, fast.data());
    }
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        double abs_sum = 0.0;
        for (int64_t k = 0; k < cols; ++k) abs_sum += std::fabs(w.dequantized[r * cols + k] * x[t * cols + k]);
        const double tol = test::is_float_type(type) ? 2.0 * (cols + 16) * 6e-8 * abs_sum : 2e-5 * abs_sum;
        ASSERT_NEAR(fast[t * rows + r], slow[t * rows + r], tol)
            << ggml_type_name(type) << " " << path_name(kp) << " t=" << t << " r=" << r;
      }
    }
  }
}

// Weights prepacked at load give bitwise the results of repacking them on every
// call (the same kernel tile reads the same panel bytes), for every T.
TEST(MatmulTest, PrepackedEqualsRepackedPerCall) {
  if (!cpu::cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1}) {
    std::mt19937 rng(31 + static_cast<int>(type));
    const int64_t rows = 77, cols = 320;
    auto w = random_weights(rng, type, rows, cols);
    const WeightView packed = test::view_for(KernelPath::kAvx512Packed, w);
    ASSERT_NE(packed.cpu_packed, nullptr) << ggml_type_name(type);
    for (int64_t T : {1, 5, 6, 7, 64, 70}) {
      const auto x = random_floats(rng, T * cols, -2.0f, 2.0f);
      std::vector<float> per_call(static_cast<size_t>(T * rows)), prepacked(per_call.size());
      PathGuard path(KernelPath::kAvx512);
      matmul(ctx, w.view, x.data(), T, per_call.data());
      matmul(ctx, packed, x.data(), T, prepacked.data());
      ASSERT_TRUE(test::bitwise_equal(per_call.data(), prepacked.data(), T * rows)) << ggml_type_name(type) << " T=" << T;
    }
  }
}

// The types with a packed kernel are packed (so the kAvx512Packed path of the
// tests above runs that kernel), to exactly the size the kernel reads.
TEST(MatmulTest, PackingCoversTypesWithPackedKernel) {
  if (!cpu::avx512_enabled()) GTEST_SKIP() << "AVX-512 VNNI absent on this CPU or disabled (NUCLEUS_NO_AVX512=1)";
  std::mt19937 rng(4);
  ThreadPool pool(2);
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q5_0, GgmlType::Q5_1,
                        GgmlType::IQ4_NL, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                        GgmlType::Q6_K, GgmlType::IQ4_XS}) {
    const auto w = random_weights(rng, type, 40, 512);  // 3 panels, the last one partial
    const PackedWeight packed = pack_weight_cpu(pool, w.view);
    ASSERT_FALSE(packed.empty()) << ggml_type_name(type);
    EXPECT_EQ(packed.bytes(), cpu::avx512_packed_bytes(type, 40, 512)) << ggml_type_name(type);
    EXPECT_GE(packed.bytes(), 48 * ggml_row_size(type, 512)) << ggml_type_name(type);
  }
}

// With AVX2 only, the types with an AVX2 panel kernel are packed (so the
// kAvx2Packed path of the tests above runs it), to the size the kernel reads.
TEST(MatmulTest, Avx2PackingCoversTypesWithPackedKernel) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(5);
  ThreadPool pool(2);
  PathGuard path(KernelPath::kAvx2Packed);
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K,
                        GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS}) {
    const auto w = random_weights(rng, type, 40, 512);  // 3 panels, the last one partial
    const PackedWeight packed = pack_weight_cpu(pool, w.view);
    ASSERT_FALSE(packed.empty()) << ggml_type_name(type);
    EXPECT_GE(packed.bytes(), 48 * ggml_row_size(type, 512)) << ggml_type_name(type);
  }
}

// Packing is refused, not wrong, where no packed kernel exists.
TEST(MatmulTest, PackingSkipsTypesWithoutPackedKernel) {
  std::mt19937 rng(3);
  ThreadPool pool(1);
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
    const auto w = random_weights(rng, type, 16, 256);
    EXPECT_TRUE(pack_weight_cpu(pool, w.view).empty()) << ggml_type_name(type);
  }
  if (cpu::cpu_has_avx2()) {
    // AVX-512 off: every 32-element type has an AVX2 panel kernel, so it is packed.
    PathGuard path(KernelPath::kAvx2);
    for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::IQ4_NL}) {
      const auto w = random_weights(rng, type, 16, 256);
      EXPECT_EQ(pack_weight_cpu(pool, w.view).bytes(), cpu::q_panel_bytes(type, 16, 256)) << ggml_type_name(type);
    }
  }
  {
    PathGuard path(KernelPath::kScalar);  // nothing would read the packed bytes
    const auto w = random_weights(rng, GgmlType::Q4_1, 16, 64);
    EXPECT_TRUE(pack_weight_cpu(pool, w.view).empty());
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTypeTest, ::testing::ValuesIn(test::all_weight_types()),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

// Runs the AVX2 and the scalar quantizer on x and requires the same bytes in every block.
template <class Block>
void expect_same_blocks(const std::vector<float>& x, int64_t block_elems,
                        void (*fast_fn)(const float*, int64_t, Block*), void (*slow_fn)(const float*, int64_t, Block*)) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<Block> fast(n / block_elems), slow(n / block_elems);
  fast_fn(x.data(), n, fast.data());
  slow_fn(x.data(), n, slow.data());
  for (int64_t b = 0; b < n / block_elems; ++b) {
    ASSERT_EQ(std::memcmp(&fast[b], &slow[b], sizeof(Block)), 0) << "block " << b;
  }
}

// The AVX2 activation quantizer produces the scalar one's blocks bit for bit
// (every matmul path relies on it), including all-zero and tiny blocks.
TEST(QuantizeActTest, Avx2BlocksEqualScalar) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(5);
  const int64_t n = 32 * 64;
  auto x = random_floats(rng, n, -4.0f, 4.0f);
  for (int i = 0; i < 32; ++i) x[i] = 0.0f;                // an all-zero block
  for (int i = 32; i < 64; ++i) x[i] *= 1e-30f;            // a tiny one
  for (int i = 64; i < 96; ++i) x[i] = (i % 2 ? 0.5f : -0.5f) * (i % 7);  // exact halves: ties round to even
  expect_same_blocks<cpu::ActBlockQ8>(x, 32, cpu::quantize_row_q8_avx2, cpu::quantize_row_q8_scalar);
}

// The same for the 256-element blocks of the k-quants, bsums included.
TEST(QuantizeActTest, Avx2KBlocksEqualScalar) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(6);
  const int64_t n = 256 * 24;
  auto x = random_floats(rng, n, -4.0f, 4.0f);
  for (int i = 0; i < 256; ++i) x[i] = 0.0f;                      // an all-zero block
  for (int i = 256; i < 512; ++i) x[i] *= 1e-30f;                 // a tiny one
  for (int i = 512; i < 768; ++i) x[i] = (i % 2 ? 0.5f : -0.5f) * (i % 255);  // halves: ties to even, |q| = 127
  for (int i = 768; i < 1024; ++i) x[i] = i == 900 ? -3e30f : x[i];  // one huge value: the rest round to 0
  for (int i = 1024; i < 1280; ++i) x[i] = -std::fabs(x[i]) - 1.0f;  // all negative: bsums near -16 * 127
  expect_same_blocks<cpu::ActBlockQ8K>(x, 256, cpu::quantize_row_q8k_avx2, cpu::quantize_row_q8k_scalar);
}

// Block scales are rounded like ggml's fp16 scales where fp16 can hold them,
// and to 11 significant bits (not to subnormals or 0) below that range.
TEST(QuantizeActTest, ScalesRoundToFp16Precision) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  for (int e = -14; e <= 15; ++e) {
    for (int i = 0; i < 200; ++i) {
      const float v = std::ldexp(mantissa(rng), e);
      ASSERT_EQ(cpu::fp16_rounded(v), fp16_to_float(float_to_fp16(v))) << v;
    }
  }
  for (int e = -60; e < -14; ++e) {
    const float v = std::ldexp(mantissa(rng), e);
    const float r = cpu::fp16_rounded(v);
    EXPECT_LE(std::fabs(r - v), std::ldexp(1.0f, e - 11)) << v;  // half an ulp of an 11-bit mantissa
    EXPECT_NE(r, 0.0f) << v;
  }
  EXPECT_EQ(cpu::fp16_rounded(0.0f), 0.0f);
}

TEST(MatmulTest, EmptyBatchWritesNothing) {
  std::mt19937 rng(1);
  const auto w = random_weights(rng, GgmlType::Q4_1, 8, 64);
  ThreadPool pool(1);
  float sentinel = 42.0f;
  matmul(Context{Device::kCpu, &pool}, w.view, nullptr, 0, &sentinel);
  EXPECT_EQ(sentinel, 42.0f);
}

// Expects fn to throw E with a message containing `needle`.
template <typename E, typename Fn>
void expect_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// Weights sharing one input (Q/K/V, gate/up) give bitwise what a matmul per
// weight gives, whatever the mix of types, biases, T and thread count: the
// shared pass only saves quantizations and hand-offs.
TEST(MatmulTest, SharedInputEqualsOneMatmulPerWeight) {
  std::mt19937 rng(31);
  const int64_t cols = 256;  // a whole k-quant block, and 8 blocks of 32
  struct Part {
    GgmlType type;
    int64_t rows;
    bool bias;
  };
  const Part parts[] = {{GgmlType::Q4_1, 37, true}, {GgmlType::Q8_0, 16, false}, {GgmlType::F32, 5, true},
                        {GgmlType::Q4_K, 50, false}, {GgmlType::Q4_1, 130, false}};
  std::vector<test::RandomWeights> weights;
  std::vector<std::vector<float>> biases;
  for (const Part& p : parts) {
    weights.push_back(random_weights(rng, p.type, p.rows, cols));
    biases.push_back(p.bias ? random_floats(rng, p.rows) : std::vector<float>{});
  }
  const int64_t max_T = 40;
  const auto x = random_floats(rng, max_T * cols, -3.0f, 3.0f);
  for (KernelPath kp : test::matmul_paths()) {
    PathGuard path(kp);
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      const Context ctx{Device::kCpu, &pool};
      for (int64_t T : {1, 5, 7, 40}) {
        std::vector<std::vector<float>> shared, separate;
        std::vector<MatmulOutput> outputs;
        for (size_t i = 0; i < weights.size(); ++i) {
          shared.emplace_back(static_cast<size_t>(T * parts[i].rows), -1.0f);
          separate.emplace_back(static_cast<size_t>(T * parts[i].rows), -2.0f);
        }
        for (size_t i = 0; i < weights.size(); ++i) {
          const WeightView view = test::view_for(kp, weights[i]);
          const float* bias = biases[i].empty() ? nullptr : biases[i].data();
          outputs.push_back({view, shared[i].data(), bias});
          matmul(ctx, view, x.data(), T, separate[i].data(), bias);
        }
        matmul_shared_input(ctx, x.data(), T, outputs.data(), static_cast<int>(outputs.size()));
        for (size_t i = 0; i < weights.size(); ++i) {
          ASSERT_TRUE(test::bitwise_equal(shared[i].data(), separate[i].data(), T * parts[i].rows))
              << path_name(kp) << " threads=" << threads << " T=" << T << " output " << i << " ("
              << ggml_type_name(parts[i].type) << ")";
        }
      }
    }
  }
}

TEST(MatmulTest, SharedInputRejectsBadArguments) {
  std::mt19937 rng(5);
  auto a = random_weights(rng, GgmlType::Q4_1, 4, 64);
  auto b = random_weights(rng, GgmlType::Q4_1, 4, 96);
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  std::vector<float> x(96 * 2), y(4 * 2), z(4 * 2);
  {
    const MatmulOutput outs[2] = {{a.view, y.data(), nullptr}, {b.view, z.data(), nullptr}};
    expect_error<std::invalid_argument>([&] { matmul_shared_input(ctx, x.data(), 1, outs, 2); },
                                        "outputs[1].w has 96 columns but outputs[0].w has 64");
  }
  {
    const MatmulOutput outs[2] = {{a.view, y.data(), nullptr}, {a.view, y.data() + 2, nullptr}};
    expect_error<std::invalid_argument>([&] { matmul_shared_input(ctx, x.data(), 1, outs, 2); },
                                        "outputs[1].y overlaps outputs[0].y");
  }
  {
    const MatmulOutput outs[1] = {{a.view, nullptr, nullptr}};
    expect_error<std::invalid_argument>([&] { matmul_shared_input(ctx, x.data(), 1, outs, 1); }, "outputs[0].y is null");
  }
  {
    WeightView bad = a.view;
    bad.row_bytes = 1;
    const MatmulOutput outs[1] = {{bad, y.data(), nullptr}};
    expect_error<std::invalid_argument>([&] { matmul_shared_input(ctx, x.data(), 1, outs, 1); }, "outputs[0].w.row_bytes");
  }
  {
    const MatmulOutput outs[1] = {{a.view, y.data(), nullptr}};
    expect_error<std::invalid_argument>([&] { matmul_shared_input(ctx, nullptr, 1, outs, 1); }, "x is null");
  }
  expect_error<std::invalid_argument>([&] { matmul_shared_input(ctx, x.data(), 1, nullptr, 1); }, "outputs is null");
  expect_error<std::invalid_argument>([&] { matmul_shared_input(ctx, x.data(), 1, nullptr, -1); }, "count must be");
}

TEST(MatmulTest, RejectsBadArguments) {
  std::mt19937 rng(2);
  auto w = random_weights(rng, GgmlType::Q4_1, 4, 64);
  ThreadPool pool(1);
  const Context ctx{Device::kCpu, &pool};
  std::vector<float> x(64 * 2), y(4 * 2);
  {
    WeightView bad = w.view;
    bad.row_bytes = 1;
    expect_error<std::invalid_argument>([&] { matmul(ctx, bad, x.data(), 1, y.data()); }, "row_bytes");
  }
  {
    WeightView bad = w.view;
    bad.cols = 48;
    expect_error<std::invalid_argument>([&] { matmul(ctx, bad, x.data(), 1, y.data()); }, "w.cols");
  }
  {
    WeightView bad = w.view;
    bad.type = GgmlType::Q8_1;
    expect_error<std::invalid_argument>([&] { matmul(ctx, bad, x.data(), 1, y.data()); }, "not supported");
  }
  {
    WeightView bad = w.view;
    bad.type = static_cast<GgmlType>(77);
    expect_error<std::invalid_argument>([&] { matmul(ctx, bad, x.data(), 1, y.data()); }, "w.type");
  }
  {
    WeightView bad = w.view;
    bad.data = nullptr;
    expect_error<std::invalid_argument>([&] { matmul(ctx, bad, x.data(), 1, y.data()); }, "w.data");
  }
  expect_error<std::invalid_argument>([&] { matmul(ctx, w.view, nullptr, 1, y.data()); }, "x is null");
  expect_error<std::invalid_argument>([&] { matmul(ctx, w.view, x.data(), -1, y.data()); }, "T must be");
  expect_error<std::invalid_argument>([&] { matmul(ctx, w.view, x.data(), 2, x.data() + 4); }, "overlaps");
  expect_error<std::invalid_argument>([&] { matmul(Context{Device::kCpu, nullptr}, w.view, x.data(), 1, y.data()); },
                                      "ctx.pool");
#if !NUCLEUS_HAVE_CUDA
  expect_error<std::runtime_error>([&] { matmul(Context{Device::kCuda, &pool}, w.view, x.data(), 1, y.data()); },
                                   "unsupported device: nucleus was built without CUDA");
#endif
}

}  // namespace
}  // namespace nucleus::kernels
