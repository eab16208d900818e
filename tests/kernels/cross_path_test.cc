// Cross-ISA determinism: the AVX-512, AVX2 and scalar paths give bitwise the
// same results (EXPECT on bits, never within a tolerance) for the vector math
// helpers, the matmul of F32, F16, BF16 and the 32-element block types (weights as
// stored and packed at load, odd shapes, every T), the packers and SwiGLU.
// Accuracy against a reference is matmul_test.cc's and ops_test.cc's job.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/q_panel.h"
#include "kernels/cpu/vec_math_probe.h"
#include "kernels/cpu/vec_math_scalar.h"
#include "kernels/ops.h"
#include "kernels/packed_weight.h"
#include "tests/kernels/kernel_test_util.h"

namespace nucleus::kernels {
namespace {

using test::KernelPath;
using test::PathGuard;
using test::path_name;
using test::random_floats;
using test::random_weights;

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Inputs that reach every branch of exp: the clamps, round-half cases, zero, tiny and NaN.
std::vector<float> exp_inputs() {
  std::mt19937 rng(11);
  std::vector<float> v = random_floats(rng, 20000, -100.0f, 100.0f);
  const auto small = random_floats(rng, 4000, -1.0f, 1.0f);
  v.insert(v.end(), small.begin(), small.end());
  for (float f : {0.0f, -0.0f, -87.0f, 88.0f, -87.5f, 88.5f, 1e-30f, -1e-30f, 0.34657359f, -0.34657359f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN()}) {
    v.push_back(f);
  }
  for (int k = -60; k <= 60; ++k) v.push_back((static_cast<float>(k) + 0.5f) * 0.69314718f);  // n near a half
  while (v.size() % 8 != 0) v.push_back(1.0f);
  return v;
}

TEST(VecMathTest, ExpPolyEqualsExp256Bitwise) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const auto in = exp_inputs();
  for (size_t i = 0; i < in.size(); i += 8) {
    float out[8];
    cpu::exp256_probe(in.data() + i, out);
    for (int l = 0; l < 8; ++l) {
      ASSERT_EQ(bits_of(cpu::exp_poly(in[i + l])), bits_of(out[l])) << "x=" << in[i + l];
    }
  }
}

TEST(VecMathTest, Hsum8EqualsHsumBitwise) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(12);
  for (int trial = 0; trial < 5000; ++trial) {
    // Mixed magnitudes so that a different order would round differently.
    auto lanes = random_floats(rng, 8, -1.0f, 1.0f);
    for (int l = 0; l < 8; ++l) lanes[l] = std::ldexp(lanes[l], static_cast<int>(rng() % 40) - 20);
    ASSERT_EQ(bits_of(cpu::hsum8(lanes.data())), bits_of(cpu::hsum_probe(lanes.data()))) << "trial " << trial;
  }
}

// The paths to compare, each with whether its weights are packed at load.
struct PathCase {
  KernelPath path;
  bool packed;
  std::string name;
};

std::vector<PathCase> path_cases() {
  std::vector<PathCase> cases;
  if (cpu::cpu_has_avx512()) {
    cases.push_back({KernelPath::kAvx512, false, "avx512"});
    cases.push_back({KernelPath::kAvx512, true, "avx512-packed"});
  }
  if (cpu::cpu_has_avx2()) {
    cases.push_back({KernelPath::kAvx2, false, "avx2"});
    cases.push_back({KernelPath::kAvx2, true, "avx2-packed"});
  }
  return cases;
}

class CrossPathMatmulTest : public ::testing::TestWithParam<GgmlType> {};

// Every path's y equals the scalar path's y bit for bit, on shapes with row
// tails (not a multiple of 8 or 16), column tails (float types: cols % 8 != 0)
// and every token-tile remainder.
TEST_P(CrossPathMatmulTest, EveryPathEqualsScalarBitwise) {
  const GgmlType type = GetParam();
  const bool float_type = test::is_float_type(type);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  std::mt19937 rng(100 + static_cast<int>(type));
  const std::vector<int64_t> col_cases = float_type ? std::vector<int64_t>{1, 7, 8, 13, 64, 259}
                                                    : std::vector<int64_t>{32, 96, 320};
  for (int64_t cols : col_cases) {
    for (int64_t rows : {1, 7, 17, 67}) {
      auto w = random_weights(rng, type, rows, cols);
      for (int64_t T : {1, 2, 3, 4, 5, 7, 70}) {
        // Activations with outliers, as real hidden states have.
        auto x = random_floats(rng, T * cols, -2.0f, 2.0f);
        for (size_t i = 0; i < x.size(); i += 37) x[i] *= 40.0f;
        std::vector<float> scalar(static_cast<size_t>(T * rows));
        {
          PathGuard guard(KernelPath::kScalar);
          matmul(ctx, w.view, x.data(), T, scalar.data());
        }
        for (const PathCase& pc : path_cases()) {
          PathGuard guard(pc.path);
          PackedWeight packed;
          WeightView view = w.view;
          if (pc.packed) {
            packed = pack_weight_cpu(pool, w.view);
            view.cpu_packed = packed.empty() ? nullptr : packed.data();
          }
          std::vector<float> y(scalar.size(), std::nanf(""));
          matmul(ctx, view, x.data(), T, y.data());
          for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_EQ(bits_of(y[i]), bits_of(scalar[i]))
                << ggml_type_name(type) << " " << pc.name << " rows=" << rows << " cols=" << cols << " T=" << T
                << " t=" << i / rows << " r=" << i % rows << ": " << y[i] << " vs scalar " << scalar[i];
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(DeterministicTypes, CrossPathMatmulTest,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0,
                                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                           GgmlType::IQ4_NL),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

// The portable panel packer (the AVX2 path's) writes the AVX-512 packer's bytes.
TEST(QPanelTest, PortablePackerEqualsAvx512Packer) {
  if (!cpu::cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  std::mt19937 rng(5);
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0}) {
    for (int64_t rows : {1, 16, 40}) {
      const int64_t cols = 96;
      const auto w = random_weights(rng, type, rows, cols);
      const size_t bytes = cpu::q_panel_bytes(type, rows, cols);
      ASSERT_EQ(bytes, cpu::avx512_packed_bytes(type, rows, cols));
      std::vector<uint8_t> portable(bytes, 0xAB), vector(bytes, 0xCD);
      cpu::q_panel_pack_rows(type, w.bytes.data(), w.view.row_bytes, rows, cols, 0, rows, portable.data());
      cpu::avx512_pack_rows(type, w.bytes.data(), w.view.row_bytes, rows, cols, 0, rows, vector.data());
      EXPECT_EQ(portable, vector) << ggml_type_name(type) << " rows=" << rows;
    }
  }
}

TEST(CrossPathSwigluTest, Avx2EqualsScalarBitwise) {
  if (!cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(6);
  ThreadPool pool(2);
  const Context ctx{Device::kCpu, &pool};
  for (int64_t n : {1, 9, 1536, 40001}) {
    const auto gate = random_floats(rng, n, -100.0f, 100.0f), up = random_floats(rng, n, -3.0f, 3.0f);
    std::vector<float> vec(static_cast<size_t>(n)), scalar(static_cast<size_t>(n));
    {
      PathGuard guard(KernelPath::kAvx2);
      swiglu(ctx, gate.data(), up.data(), 1, n, vec.data());
    }
    {
      PathGuard guard(KernelPath::kScalar);
      swiglu(ctx, gate.data(), up.data(), 1, n, scalar.data());
    }
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(bits_of(vec[i]), bits_of(scalar[i])) << "n=" << n << " gate=" << gate[i];
  }
}

}  // namespace
}  // namespace nucleus::kernels
