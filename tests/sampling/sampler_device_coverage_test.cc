// The batched sampler on each device where the review found it untested:
// real vocabulary sizes (SmolLM2's 49152, Qwen2's 151936) with typical_p,
// logit_bias and raw and processed logprobs on sampled rows, and penalty
// tables past the 8 rows the device table starts with (13 and 40 penalised
// rows in one call). Every row is compared with a float64 reference written
// out here from the documented stages (sampler.h; typical_p is HF's
// TypicalLogitsWarper): the same token, since both draw with the same Philox
// words and the logits are multiples of 1/64 with clear race margins, and
// logprobs within 1e-4 (CUDA's exp/log are within 2 ulp of glibc's; sums are
// double on both devices).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/device.h"
#include "sampling/philox.h"
#include "tests/sampling/device_sampling.h"

namespace nucleus::sampling {
namespace {

using kernels::Device;
using test::sample_on;
using test::TestRow;

constexpr double kLogprobBound = 1e-4;

struct Expected {
  int32_t token = 0;
  double logprob = 0.0;
  int32_t rank = 0;
  std::vector<std::pair<int32_t, double>> top;  // best first, ties by id
};

// The logprob, rank and top N of `token` in `values` (-inf = not a candidate).
void fill_logprobs(const std::vector<double>& values, int32_t token, int count, Expected& e) {
  double mx = -INFINITY;
  for (double v : values) mx = std::max(mx, v);
  double z = 0.0;
  for (double v : values) z += v > -INFINITY ? std::exp(v - mx) : 0.0;
  const double lse = mx + std::log(z);
  e.logprob = values[token] - lse;
  e.rank = static_cast<int32_t>(std::count_if(values.begin(), values.end(), [&](double v) { return v >= values[token]; }));
  std::vector<int32_t> ids(values.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t n = std::min<size_t>(static_cast<size_t>(count), ids.size());
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(),
                    [&](int32_t a, int32_t b) { return values[a] > values[b] || (values[a] == values[b] && a < b); });
  for (size_t j = 0; j < n && values[ids[j]] > -INFINITY; ++j) e.top.push_back({ids[j], values[ids[j]] - lse});
}

// Keeps the candidates whose mass of strictly smaller keys is below `mass` (sorting).
// key and weight are indexed by token id.
std::vector<int32_t> keep_by_key(const std::vector<int32_t>& kept, const std::vector<double>& key,
                                 const std::vector<double>& weight, double mass) {
  std::vector<int32_t> order = kept;
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return key[a] < key[b]; });
  std::vector<int32_t> out;
  double below = 0.0;
  for (size_t j = 0; j < order.size();) {
    size_t e = j;
    double level = 0.0;
    while (e < order.size() && key[order[e]] == key[order[j]]) level += weight[order[e++]];
    if (below >= mass) break;
    out.insert(out.end(), order.begin() + j, order.begin() + e);
    below += level;
    j = e;
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Stages 2 (bias), 4 (penalties), 6-10 and the race, plainly, in double.
Expected reference(const TestRow& row) {
  const SamplingParams& sp = row.params;
  const int64_t vocab = static_cast<int64_t>(row.logits.size());
  std::vector<double> l(row.logits.begin(), row.logits.end());
  for (const LogitBias& b : sp.logit_bias) l[b.token_id] += b.bias;
  if (row.use_penalties) {
    std::vector<uint32_t> out_count(static_cast<size_t>(vocab), 0);
    std::vector<bool> seen(static_cast<size_t>(vocab), false);
    for (int32_t t : row.prompt_tokens) seen[t] = true;
    for (int32_t t : row.output_tokens) seen[t] = true, ++out_count[t];
    for (int64_t i = 0; i < vocab; ++i) {
      if (seen[i]) l[i] = l[i] > 0 ? l[i] / sp.repetition_penalty : l[i] * sp.repetition_penalty;
      l[i] -= sp.frequency_penalty * out_count[i] + (out_count[i] > 0 ? sp.presence_penalty : 0.0);
    }
  }
  const double lmax = *std::max_element(l.begin(), l.end());
  std::vector<double> d(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) d[i] = (l[i] - lmax) / sp.temperature;
  std::vector<int32_t> kept;
  for (int32_t i = 0; i < vocab; ++i) {
    if (sp.min_p > 0 && d[i] < std::log(double(sp.min_p))) continue;
    kept.push_back(i);
  }
  std::vector<double> key(static_cast<size_t>(vocab)), weight(static_cast<size_t>(vocab));
  if (sp.top_k > 1 && sp.top_k < static_cast<int32_t>(kept.size())) {
    for (int32_t i : kept) key[i] = -d[i], weight[i] = 1.0;
    kept = keep_by_key(kept, key, weight, sp.top_k);
  }
  auto mass_of = [&](const std::vector<int32_t>& ids) {
    double s = 0.0;
    for (int32_t i : ids) s += std::exp(d[i]);
    return s;
  };
  if (sp.top_p < 1.0f && kept.size() > 1) {
    for (int32_t i : kept) key[i] = -std::exp(d[i]), weight[i] = std::exp(d[i]);
    kept = keep_by_key(kept, key, weight, sp.top_p * mass_of(kept));
  }
  if (sp.typical_p < 1.0f && kept.size() > 1) {  // HF: |-log q - H| ascending, mass >= typical_p
    const double s = mass_of(kept);
    double entropy = 0.0;
    for (int32_t i : kept) entropy -= std::exp(d[i]) / s * (d[i] - std::log(s));
    for (int32_t i : kept) key[i] = std::fabs(-(d[i] - std::log(s)) - entropy), weight[i] = std::exp(d[i]) / s;
    kept = keep_by_key(kept, key, weight, sp.typical_p);
  }
  const NoiseKey noise{row.seed, static_cast<uint32_t>(row.position), row.seq_index, NoiseStream::kDraw};
  Expected e;
  double best = -1.0;
  for (int32_t i : kept) {
    const double ratio = std::exp(d[i]) / -std::log(open_uniform(noise.word(static_cast<uint32_t>(i))));
    if (ratio > best) best = ratio, e.token = i;
  }
  if (sp.logprobs >= 0) {
    std::vector<double> values(static_cast<size_t>(vocab), -INFINITY);
    if (sp.logprobs_mode == LogprobsMode::kRaw) {
      values.assign(row.logits.begin(), row.logits.end());  // before the bias and the penalties
    } else {
      for (int32_t i : kept) values[i] = d[i];
    }
    fill_logprobs(values, e.token, sp.logprobs, e);
  }
  return e;
}

void expect_matches(const RowResult& got, const Expected& want, const std::string& what) {
  ASSERT_TRUE(got.ok()) << what;
  EXPECT_EQ(got.token_id, want.token) << what;
  if (got.token_id != want.token) return;
  EXPECT_NEAR(got.logprob, want.logprob, kLogprobBound) << what;
  EXPECT_EQ(got.rank, want.rank) << what;
  ASSERT_EQ(got.num_top, static_cast<int32_t>(want.top.size())) << what;
  for (int32_t j = 0; j < got.num_top; ++j) {
    EXPECT_EQ(got.top[j].token_id, want.top[j].first) << what << " top " << j;
    EXPECT_NEAR(got.top[j].logprob, want.top[j].second, kLogprobBound) << what << " top " << j;
  }
}

class SamplerDeviceCoverage : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (GetParam() == Device::kCuda) {
      std::string why;
      if (!kernels::cuda_available(&why)) GTEST_SKIP() << "CUDA unavailable: " << why;
    }
  }
  // Multiples of 1/64 (no near-ties among distinct values in the race's inputs).
  std::vector<float> clear_logits(int64_t vocab, float spread) {
    std::normal_distribution<float> dist(0.0f, spread);
    std::vector<float> l(static_cast<size_t>(vocab));
    for (float& x : l) x = std::round(dist(rng_) * 64.0f) / 64.0f;
    return l;
  }
  int32_t any_id(int64_t vocab) { return static_cast<int32_t>(rng_() % static_cast<uint32_t>(vocab)); }
  std::mt19937 rng_{29};
};

// Sampled rows at the two vocabularies: typical_p alone and after top_k / top_p,
// logit_bias lifting tokens into the candidates (and one out of them), raw and
// processed logprobs with top 5 and 20 alternatives.
TEST_P(SamplerDeviceCoverage, RealVocabulariesWithTypicalPBiasAndLogprobs) {
  for (int64_t vocab : {int64_t{49152}, int64_t{151936}}) {
    std::vector<TestRow> rows;
    for (int i = 0; i < 6; ++i) {
      TestRow row;
      row.logits = clear_logits(vocab, 2.5f);
      row.seed = 7000 + i;
      row.position = 11 * i + 3;
      row.seq_index = i % 2;
      SamplingParams& sp = row.params;
      sp.temperature = i % 2 ? 0.8f : 1.1f;
      sp.typical_p = i == 5 ? 1.0f : 0.5f + 0.08f * i;
      if (i == 2) sp.top_k = 200;
      if (i == 3) sp.top_p = 0.92f;
      if (i == 5) sp.min_p = 0.02f, sp.top_p = 0.8f;
      const float lmax = *std::max_element(row.logits.begin(), row.logits.end());
      for (int b = 0; b < 4; ++b) {  // a few tokens raised to the top, one pushed far down
        const int32_t id = any_id(vocab);
        sp.logit_bias.push_back({id, lmax - row.logits[id] + 0.25f * b});
      }
      const int32_t argmax =
          static_cast<int32_t>(std::max_element(row.logits.begin(), row.logits.end()) - row.logits.begin());
      sp.logit_bias.push_back({argmax, -30.0f});
      sp.logprobs = i % 3 == 0 ? 20 : 5;
      sp.logprobs_mode = i % 2 ? LogprobsMode::kRaw : LogprobsMode::kProcessed;
      rows.push_back(std::move(row));
    }
    const std::vector<RowResult> got = sample_on(GetParam(), rows);
    for (size_t i = 0; i < rows.size(); ++i) {
      expect_matches(got[i], reference(rows[i]), "vocab " + std::to_string(vocab) + " row " + std::to_string(i));
    }
  }
}

// 13 and then 40 penalised rows in one call (the device table starts with 8
// rows and grows), each with its own prompt and output counts, mixed with rows
// without penalties; sampled, with processed logprobs.
TEST_P(SamplerDeviceCoverage, PenaltyTablesPastEightRows) {
  const int64_t vocab = 2000;
  for (int penalised : {13, 40}) {
    std::vector<TestRow> rows;
    for (int i = 0; i < penalised + 3; ++i) {
      TestRow row;
      row.logits = clear_logits(vocab, 1.5f);
      row.seed = 300 + i;
      row.position = i;
      row.params.temperature = 0.9f;
      row.params.top_k = 50;
      row.params.logprobs = 3;
      row.params.logprobs_mode = LogprobsMode::kProcessed;
      if (i < penalised) {
        row.params.repetition_penalty = 1.0f + 0.1f * (1 + i % 5);
        row.params.frequency_penalty = 0.2f * (i % 4);
        row.params.presence_penalty = i % 3 == 0 ? 0.5f : -0.25f;
        // Penalise the likely tokens, where penalties change the draw.
        std::vector<int32_t> order(static_cast<size_t>(vocab));
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + 60, order.end(),
                          [&](int32_t a, int32_t b) { return row.logits[a] > row.logits[b]; });
        for (int j = 0; j < 10; ++j) row.prompt_tokens.push_back(order[rng_() % 60]);
        for (int j = 0; j < 12 + i; ++j) row.output_tokens.push_back(order[rng_() % 60]);
        row.penalties = PenaltyState(row.prompt_tokens);
        for (int32_t t : row.output_tokens) row.penalties.accept(t);
        row.use_penalties = true;
      }
      rows.push_back(std::move(row));
    }
    // Interleave the unpenalised rows so that count rows and batch rows differ.
    std::rotate(rows.begin(), rows.end() - 2, rows.end());
    const std::vector<RowResult> got = sample_on(GetParam(), rows);
    int changed = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const Expected want = reference(rows[i]);
      expect_matches(got[i], want, std::to_string(penalised) + " penalised rows, row " + std::to_string(i));
      if (rows[i].use_penalties) {
        TestRow plain = rows[i];
        plain.use_penalties = false;
        changed += reference(plain).token != want.token;
      }
    }
    // The penalties must matter to the draws, or the rows past 8 test nothing.
    EXPECT_GE(changed, penalised / 4) << "penalties changed only " << changed << " draws of " << penalised;
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, SamplerDeviceCoverage, ::testing::Values(Device::kCpu, Device::kCuda),
                         [](const ::testing::TestParamInfo<Device>& info) {
                           return std::string(kernels::device_name(info.param));
                         });

}  // namespace
}  // namespace nucleus::sampling
