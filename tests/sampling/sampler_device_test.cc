// One test body per device (CTranslate2's pattern) for the batched sampler: the
// CPU cases run sampling::Sampler, the CUDA cases sampling/cuda/sampler_cuda.h on
// device logits; both are compared with a plain float64, sort-based reference
// that uses the same Philox words. CUDA cases skip with "CUDA unavailable: <why>"
// where the build has no CUDA or the machine no GPU; CPU cases always run.
// The host tests at the end run the device sampler's own selection math
// (sampling/cuda/sample_math.h) against the CPU's quickselect.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "sampling/cuda/sample_math.h"
#include "kernels/device.h"
#include "sampling/device_rows.h"
#include "sampling/filter_math.h"
#include "sampling/penalties.h"
#include "sampling/philox.h"
#include "sampling/sampler.h"
#include "tests/sampling/device_sampling.h"

namespace nucleus::sampling {
namespace {

using kernels::Device;

using test::sample_on;
using test::TestRow;

// ---- the float64 reference ---------------------------------------------------------------

double race_e(uint32_t word) { return -std::log(open_uniform(word)); }

struct Reference {
  int32_t token = 0;
  double logprob = 0.0;  // processed
};

// Temperature, min_p, top_k, top_p by sorting (ties at boundaries kept), then the race.
Reference reference_draw(const std::vector<float>& l, const TestRow& row) {
  const StageParams st = row.params.stage_params();
  const int64_t vocab = static_cast<int64_t>(l.size());
  const double lmax = *std::max_element(l.begin(), l.end());
  std::vector<int32_t> ids(static_cast<size_t>(vocab));
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<double> d(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) d[i] = (l[i] - lmax) / st.temperature;
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return d[a] > d[b] || (d[a] == d[b] && a < b); });
  std::vector<int32_t> kept;
  for (int32_t i : ids) {
    if (st.min_p > 0 && d[i] < std::log(static_cast<double>(st.min_p))) continue;
    kept.push_back(i);
  }
  if (st.top_k > 1 && st.top_k < static_cast<int32_t>(kept.size())) {
    const double kth = d[kept[st.top_k - 1]];
    std::erase_if(kept, [&](int32_t i) { return d[i] < kth; });
  }
  if (st.top_p < 1.0f) {  // keep i iff the mass strictly more likely than i is < top_p * total
    double total = 0.0;
    for (int32_t i : kept) total += std::exp(d[i]);
    std::vector<int32_t> top;
    double above = 0.0;  // mass of d > the current level
    for (size_t j = 0; j < kept.size();) {
      size_t e = j;
      double level = 0.0;
      while (e < kept.size() && d[kept[e]] == d[kept[j]]) level += std::exp(d[kept[e++]]);
      if (above >= st.top_p * total) break;
      top.insert(top.end(), kept.begin() + j, kept.begin() + e);
      above += level;
      j = e;
    }
    kept = top;
  }
  const NoiseKey key{row.seed, static_cast<uint32_t>(row.position), row.seq_index, NoiseStream::kDraw};
  Reference ref;
  double best = -1.0, z = 0.0;
  for (int32_t i : kept) {
    const double ratio = std::exp(d[i]) / race_e(key.word(static_cast<uint32_t>(i)));
    if (ratio > best || (ratio == best && i < ref.token)) best = ratio, ref.token = i;
    z += std::exp(d[i]);
  }
  ref.logprob = d[ref.token] - std::log(z);
  return ref;
}

class SamplerDeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (GetParam() == Device::kCuda) {
      std::string why;
      if (!kernels::cuda_available(&why)) GTEST_SKIP() << "CUDA unavailable: " << why;
    }
  }
  std::mt19937 rng_{11};
  // Logits with clear margins: distinct multiples of 1/64 (no near-ties in the race's inputs).
  std::vector<float> clear_logits(int64_t vocab, float spread) {
    std::vector<float> l(static_cast<size_t>(vocab));
    std::normal_distribution<float> dist(0.0f, spread);
    for (float& x : l) x = std::round(dist(rng_) * 64.0f) / 64.0f;
    return l;
  }
};

TEST_P(SamplerDeviceTest, GreedyWithRawLogprobs) {
  TestRow row;
  row.logits = clear_logits(3000, 3.0f);
  row.params.temperature = 0.0f;
  row.params.logprobs = 5;
  const auto r = sample_on(GetParam(), {row})[0];
  ASSERT_TRUE(r.ok());
  const auto& l = row.logits;
  const int32_t argmax = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  EXPECT_EQ(r.token_id, argmax);
  double z = 0.0;
  for (float v : l) z += std::exp(double(v) - l[argmax]);
  const double lse = l[argmax] + std::log(z);
  EXPECT_NEAR(r.logprob, l[argmax] - lse, 1e-5);
  EXPECT_EQ(r.rank, 1);
  std::vector<int32_t> order(l.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  ASSERT_EQ(r.num_top, 5);
  for (int j = 0; j < 5; ++j) {
    EXPECT_EQ(r.top[j].token_id, order[j]);
    EXPECT_NEAR(r.top[j].logprob, l[order[j]] - lse, 1e-5);
  }
}

// A batch of rows with different stages, seeds and positions: every token must be the
// reference's (same Philox words), and processed logprobs its log p over the survivors.
TEST_P(SamplerDeviceTest, DrawsMatchTheReference) {
  std::vector<TestRow> rows;
  const int64_t vocab = 5000;
  for (int i = 0; i < 48; ++i) {
    TestRow row;
    row.logits = clear_logits(vocab, 2.0f);
    row.seed = 1000 + i;
    row.position = 7 * i;
    row.seq_index = i % 3;
    row.params.temperature = (i % 4 == 0) ? 1.0f : 0.7f;
    if (i % 3 == 1) row.params.top_k = 40;
    if (i % 4 == 2) row.params.top_p = 0.9f;
    if (i % 5 == 3) row.params.min_p = 0.05f;
    row.params.logprobs = 0;
    row.params.logprobs_mode = LogprobsMode::kProcessed;
    rows.push_back(row);
  }
  const auto results = sample_on(GetParam(), rows);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Reference ref = reference_draw(rows[i].logits, rows[i]);
    EXPECT_EQ(results[i].token_id, ref.token) << "row " << i;
    EXPECT_NEAR(results[i].logprob, ref.logprob, 1e-4) << "row " << i;
  }
}

// Stages 1-4 on a 6-token table by hand: allowed ids, a bad id, a bias, min_tokens with
// an EOS id, and repetition/frequency/presence penalties; the greedy pick and its logprob.
TEST_P(SamplerDeviceTest, EditsAndPenalties) {
  TestRow row;
  row.logits = {1.0f, 3.0f, 2.0f, -1.0f, 2.5f, 0.5f};
  row.params.temperature = 0.0f;
  row.params.allowed_token_ids = {0, 1, 2, 3, 4};  // 5 masked
  row.params.bad_token_ids = {1};                   // 1 -> -inf
  row.params.logit_bias = {{3, 2.0f}, {3, 0.5f}};   // 3: -1 + 2.5 = 1.5
  row.params.min_tokens = 5;
  row.eos = {2};  // 2 -> -inf while fewer than 5 output tokens
  row.num_output_tokens = 1;
  row.params.repetition_penalty = 2.0f;
  row.params.frequency_penalty = 0.25f;
  row.params.presence_penalty = 0.5f;
  row.penalties = PenaltyState(std::vector<int32_t>{4});  // 4 in the prompt: 2.5 / 2 = 1.25
  row.penalties.accept(0);
  row.penalties.accept(0);  // 0 twice in the output: 1 / 2 - 0.5 - 0.5 = -0.5
  row.use_penalties = true;
  row.params.logprobs = 2;
  row.params.logprobs_mode = LogprobsMode::kProcessed;
  const auto r = sample_on(GetParam(), {row})[0];
  // Final logits: 0: -0.5, 1: -inf, 2: -inf, 3: 1.5, 4: 1.25, 5: -inf.
  EXPECT_EQ(r.token_id, 3);
  const double lse = std::log(std::exp(-0.5) + std::exp(1.5) + std::exp(1.25));
  EXPECT_NEAR(r.logprob, 1.5 - lse, 1e-6);
  ASSERT_EQ(r.num_top, 2);
  EXPECT_EQ(r.top[0].token_id, 3);
  EXPECT_EQ(r.top[1].token_id, 4);
  EXPECT_NEAR(r.top[1].logprob, 1.25 - lse, 1e-6);
}

TEST_P(SamplerDeviceTest, NonFiniteLogitsAndNoCandidates) {
  TestRow nan_row;
  nan_row.logits = {NAN, 1.0f, INFINITY, 0.0f};
  nan_row.params.temperature = 0.0f;
  TestRow empty_row;
  empty_row.logits = {1.0f, 2.0f, 3.0f, 4.0f};
  empty_row.params.bad_token_ids = {0, 1, 2, 3};
  const auto r = sample_on(GetParam(), {nan_row, empty_row});
  EXPECT_EQ(r[0].token_id, 2);  // +inf -> FLT_MAX
  EXPECT_EQ(r[0].flags, kNanLogits | kInfLogits);
  EXPECT_FALSE(r[1].ok());
  EXPECT_EQ(r[1].token_id, 0);
}

INSTANTIATE_TEST_SUITE_P(Devices, SamplerDeviceTest, ::testing::Values(Device::kCpu, Device::kCuda),
                         [](const ::testing::TestParamInfo<Device>& info) {
                           return std::string(kernels::device_name(info.param));
                         });

// ---- the device sampler's selection math on the host -------------------------------------

// bisect_threshold (what the kernel runs, with a block reduction for weight_below) keeps
// exactly the set weighted_select_threshold (the CPU's quickselect) keeps, ties included.
TEST(DeviceSelectionMath, BisectionKeepsTheQuickselectSet) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 300);
    std::vector<float> keys(n), weights(n);
    const int levels = 1 + static_cast<int>(rng() % 50);  // few levels = many ties
    for (int i = 0; i < n; ++i) {
      keys[i] = -static_cast<float>(rng() % levels) / 8.0f + (trial % 2 ? 0.0f : 0.0f);
      weights[i] = trial % 3 == 0 ? 1.0f : std::exp(keys[i]);
    }
    double total = 0.0;
    for (float w : weights) total += w;
    const double mass = trial % 3 == 0 ? 1 + static_cast<double>(rng() % n)
                                       : total * (0.05 + 0.9 * (rng() % 1000) / 1000.0);
    auto k = keys, w = weights;
    const float quick = weighted_select_threshold(k.data(), w.data(), n, mass);
    const uint32_t bisect = sampling::cuda::bisect_threshold(
        [&](uint32_t u) {
          double below = 0.0;
          for (int i = 0; i < n; ++i) below += sampling::cuda::ordered_key(keys[i]) < u ? weights[i] : 0.0f;
          return below;
        },
        mass);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(keys[i] <= quick, sampling::cuda::ordered_key(keys[i]) <= bisect)
          << "trial " << trial << " key " << keys[i] << " mass " << mass;
    }
  }
}

TEST(DeviceSelectionMath, OrderedKeysAreMonotone) {
  const float values[] = {-INFINITY, -3e38f, -1.0f, -1e-40f, -0.0f, 0.0f, 1e-40f, 1.0f, 3e38f, INFINITY};
  for (size_t i = 0; i + 1 < std::size(values); ++i) {
    EXPECT_LE(sampling::cuda::ordered_key(values[i]), sampling::cuda::ordered_key(values[i + 1])) << values[i];
  }
  EXPECT_EQ(sampling::cuda::ordered_key(-0.0f), sampling::cuda::ordered_key(0.0f));
  // The race's exponential is the CPU's: -log1p(-(1 - U)) = -log U.
  for (uint32_t w : {0u, 1u, 12345u, 0x80000000u, 0xFFFFFFFFu}) {
    EXPECT_NEAR(sampling::cuda::race_exponential(w), -std::log(open_uniform(w)), 1e-12 * (1 + race_e(w)));
  }
}

}  // namespace
}  // namespace nucleus::sampling
