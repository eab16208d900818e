// weighted_select_threshold against a brute-force definition on random inputs with ties.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sampling/filter_math.h"

namespace nucleus::sampling {
namespace {

// The definition: the largest key whose strictly-smaller weight is below mass.
float brute_force(const std::vector<float>& keys, const std::vector<float>& weights, double mass) {
  float best = -INFINITY;
  for (size_t i = 0; i < keys.size(); ++i) {
    double below = 0.0;
    for (size_t j = 0; j < keys.size(); ++j) below += keys[j] < keys[i] ? weights[j] : 0.0;
    if (below < mass && keys[i] > best) best = keys[i];
  }
  return best;
}

TEST(WeightedSelect, MatchesTheDefinition) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 60);
    const int distinct = 1 + static_cast<int>(rng() % 20);  // few distinct keys -> many ties
    std::vector<float> keys(n), weights(n);
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
      keys[i] = static_cast<float>(rng() % distinct) * 0.25f - 2.0f;
      weights[i] = (rng() % 4 == 0) ? 0.0f : std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
      total += weights[i];
    }
    if (total == 0.0) weights[0] = 1.0f, total = 1.0;  // the function needs mass > 0
    const double mass = (trial % 3 == 0) ? 1.0 + rng() % n : std::uniform_real_distribution<double>(1e-6, 1.0)(rng) * total;
    const float want = brute_force(keys, weights, mass);
    std::vector<float> k = keys, w = weights;
    EXPECT_EQ(weighted_select_threshold(k.data(), w.data(), n, mass), want) << "trial " << trial;
  }
}

TEST(WeightedSelect, SortedAndConstantInputs) {
  std::vector<float> keys(1000), weights(1000, 1.0f);
  for (int i = 0; i < 1000; ++i) keys[i] = static_cast<float>(i);
  EXPECT_EQ(weighted_select_threshold(keys.data(), weights.data(), 1000, 10.0), 9.0f);
  std::vector<float> same(1000, 3.0f), ones(1000, 1.0f);
  EXPECT_EQ(weighted_select_threshold(same.data(), ones.data(), 1000, 1.0), 3.0f);
}

}  // namespace
}  // namespace nucleus::sampling
