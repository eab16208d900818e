// exp_array gives bitwise the same numerators on the AVX2 path and the scalar
// one (cross-ISA determinism of seeded draws), including its exact zeros below
// -87, array tails and edge inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "sampling/vec_exp.h"

namespace nucleus::sampling {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

TEST(VecExpTest, Avx2EqualsScalarBitwise) {
  if (!kernels::cpu::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-120.0f, 90.0f);
  std::vector<float> x(10003);
  for (float& v : x) v = dist(rng);
  const float edges[] = {0.0f, -0.0f, -87.0f, -87.0001f, 88.0f, 100.0f, -1e-20f,
                         -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  std::copy(std::begin(edges), std::end(edges), x.begin());
  std::vector<float> vec(x.size()), scalar(x.size());
  exp_array(x.data(), vec.data(), static_cast<int64_t>(x.size()));  // AVX2: the default on this CPU
  kernels::cpu::force_scalar_kernels(true);
  exp_array(x.data(), scalar.data(), static_cast<int64_t>(x.size()));
  kernels::cpu::force_scalar_kernels(false);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(bits_of(vec[i]), bits_of(scalar[i])) << "x=" << x[i];
  EXPECT_EQ(vec[7], 0.0f);  // below -87: exactly no mass
  EXPECT_NEAR(vec[0], 1.0f, 1e-7f);
}

}  // namespace
}  // namespace nucleus::sampling
