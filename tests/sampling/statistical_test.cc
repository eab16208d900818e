// The empirical distribution of 200k draws matches the exact filtered distribution.
//
// The reference distribution is computed here the straightforward way (double
// precision, full sorts and cumulative sums), independently of the sampler's
// sort-free selection. Draws use fixed seeds and positions 0..199999, so the test is
// deterministic; it fails when the chi-square p-value is <= 0.001 or when a token
// outside the reference support is ever drawn.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "sampling/sampler.h"

namespace nucleus::sampling {
namespace {

constexpr int64_t kDraws = 200000;

// Keeps indices in `order` while the mass before them is < limit; zeroes the rest; renormalises.
void keep_prefix_by_mass(std::vector<double>& p, const std::vector<int>& order, double limit) {
  double before = 0.0;
  std::vector<bool> keep(p.size(), false);
  for (const int i : order) {
    if (p[i] == 0.0) continue;
    if (before < limit) keep[i] = true;
    before += p[i];
  }
  for (size_t i = 0; i < p.size(); ++i) p[i] = keep[i] ? p[i] : 0.0;
}

void normalise(std::vector<double>& p) {
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= sum;
}

// The documented stage order (sampler.h), on already penalised logits.
std::vector<double> reference_distribution(const std::vector<float>& logits, const SamplingParams& sp) {
  const size_t n = logits.size();
  std::vector<double> p(n);
  const double mx = *std::max_element(logits.begin(), logits.end());
  for (size_t i = 0; i < n; ++i) p[i] = std::exp((logits[i] - mx) / sp.temperature);
  normalise(p);
  if (sp.min_p > 0.0f) {
    const double pmax = *std::max_element(p.begin(), p.end());
    for (double& x : p) x = x >= sp.min_p * pmax ? x : 0.0;
    normalise(p);
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  if (sp.top_k > 0 && static_cast<size_t>(sp.top_k) < n) {
    const double kth = p[order[sp.top_k - 1]];
    for (double& x : p) x = x >= kth ? x : 0.0;
    normalise(p);
  }
  if (sp.top_p < 1.0f) {
    keep_prefix_by_mass(p, order, sp.top_p);
    normalise(p);
  }
  if (sp.typical_p < 1.0f) {
    double entropy = 0.0;
    for (const double x : p) entropy -= x > 0.0 ? x * std::log(x) : 0.0;
    std::vector<double> score(n);
    std::vector<int> by_score;
    for (size_t i = 0; i < n; ++i) {
      if (p[i] > 0.0) by_score.push_back(static_cast<int>(i)), score[i] = std::fabs(-std::log(p[i]) - entropy);
    }
    std::sort(by_score.begin(), by_score.end(), [&](int a, int b) { return score[a] < score[b]; });
    keep_prefix_by_mass(p, by_score, sp.typical_p);
    normalise(p);
  }
  return p;
}

// Regularised upper incomplete gamma Q(a, x) (series below a + 1, Lentz's continued fraction above).
double gamma_q(double a, double x) {
  if (x <= 0.0) return 1.0;
  const double log_prefix = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1.0) {
    double term = 1.0 / a, sum = term;
    for (int k = 1; k < 100000 && std::fabs(term) > 1e-15 * std::fabs(sum); ++k) {
      term *= x / (a + k);
      sum += term;
    }
    return 1.0 - sum * std::exp(log_prefix);
  }
  double b = x + 1.0 - a, c = 1e300, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    d = std::fabs(d) < 1e-300 ? 1e-300 : d;
    c = b + an / c;
    c = std::fabs(c) < 1e-300 ? 1e-300 : c;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < 1e-15) break;
  }
  return std::exp(log_prefix) * h;
}

TEST(ChiSquare, GammaQKnownValues) {
  // chi-square survival: dof 1 at 3.841 -> 0.05; dof 10 at 23.209 -> 0.01; dof 2 at x -> exp(-x/2).
  EXPECT_NEAR(gamma_q(0.5, 3.841459 / 2), 0.05, 1e-6);
  EXPECT_NEAR(gamma_q(5.0, 23.209251 / 2), 0.01, 1e-6);
  EXPECT_NEAR(gamma_q(1.0, 7.0 / 2), std::exp(-3.5), 1e-12);
  // Integer a: Q(a, x) = exp(-x) sum_{k<a} x^k / k!.
  for (const double x : {3.0, 30.0, 55.0}) {
    double term = 1.0, sum = 0.0;
    for (int k = 0; k < 40; ++k) sum += term, term *= x / (k + 1);
    EXPECT_NEAR(gamma_q(40.0, x), std::exp(-x) * sum, 1e-9) << x;
  }
}

struct Case {
  std::string name;
  int vocab;
  float scale;  // logits ~ N(0, scale^2)
  SamplingParams params;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  auto add = [&](std::string name, int vocab, float scale, auto edit) {
    Case c{std::move(name), vocab, scale, {}};
    edit(c.params);
    out.push_back(std::move(c));
  };
  add("temperature_1", 32, 1.5f, [](SamplingParams&) {});
  add("temperature_0.7_top_k_10", 32, 1.5f, [](SamplingParams& p) { p.temperature = 0.7f, p.top_k = 10; });
  add("temperature_1.3_top_p_0.8", 32, 1.5f, [](SamplingParams& p) { p.temperature = 1.3f, p.top_p = 0.8f; });
  add("min_p_0.05", 32, 2.0f, [](SamplingParams& p) { p.min_p = 0.05f; });
  add("typical_p_0.7", 32, 1.5f, [](SamplingParams& p) { p.typical_p = 0.7f; });
  add("all_filters", 48, 2.0f, [](SamplingParams& p) {
    p.temperature = 0.9f, p.min_p = 0.02f, p.top_k = 12, p.top_p = 0.9f, p.typical_p = 0.9f;
  });
  add("vocab_1500_temperature_1", 1500, 3.0f, [](SamplingParams&) {});
  add("vocab_1500_top_p_0.95", 1500, 3.0f, [](SamplingParams& p) { p.top_p = 0.95f; });
  return out;
}

TEST(Statistical, DrawsFollowTheFilteredDistribution) {
  Sampler sampler;
  int case_index = 0;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    std::mt19937 rng(1000 + case_index);
    std::normal_distribution<float> normal(0.0f, c.scale);
    std::vector<float> logits(c.vocab);
    for (float& x : logits) x = normal(rng);
    const std::vector<double> want = reference_distribution(logits, c.params);

    std::vector<int64_t> counts(c.vocab, 0);
    constexpr int64_t kBatch = 2000;
    std::vector<float> batch(kBatch * c.vocab);
    std::vector<RowInput> inputs(kBatch);
    std::vector<RowResult> results(kBatch);
    for (int64_t start = 0; start < kDraws; start += kBatch) {
      for (int64_t r = 0; r < kBatch; ++r) {
        std::copy(logits.begin(), logits.end(), batch.begin() + r * c.vocab);
        inputs[r].params = &c.params;
        inputs[r].seed = 0x5eed0000ULL + case_index;
        inputs[r].position = start + r;
      }
      sampler.sample(batch.data(), kBatch, c.vocab, inputs, results);
      for (const RowResult& res : results) ++counts[res.token_id];
    }

    // Bins with expected count >= 5; the rest pooled into one bin.
    double chi2 = 0.0, pooled_expected = 0.0, pooled_observed = 0.0;
    int bins = 0, impossible = 0;
    for (int i = 0; i < c.vocab; ++i) {
      const double expected = want[i] * kDraws;
      if (want[i] == 0.0) {
        impossible += counts[i] > 0;
        continue;
      }
      if (expected < 5.0) {
        pooled_expected += expected, pooled_observed += counts[i];
        continue;
      }
      chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
      ++bins;
    }
    if (pooled_expected >= 5.0) {
      chi2 += (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
      ++bins;
    }
    const int dof = bins - 1;
    const double p_value = dof > 0 ? gamma_q(dof / 2.0, chi2 / 2.0) : 1.0;
    std::printf("[ chi2 ] %-28s support=%4d bins=%4d dof=%4d chi2=%9.2f p=%.4f\n", c.name.c_str(),
                static_cast<int>(std::count_if(want.begin(), want.end(), [](double x) { return x > 0; })), bins, dof,
                chi2, p_value);
    EXPECT_EQ(impossible, 0) << "drew a token the filters exclude";
    EXPECT_GT(p_value, 0.001) << "chi2 " << chi2 << " with " << dof << " dof";
    ++case_index;
  }
}

// The same machinery must reject a sampler that is slightly wrong: here, draws from
// a temperature of 1.05 tested against the T = 1 distribution.
TEST(Statistical, ChiSquareDetectsASmallTemperatureError) {
  Sampler sampler;
  const int vocab = 32;
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> logits(vocab);
  for (float& x : logits) x = normal(rng);
  SamplingParams wrong;
  wrong.temperature = 1.05f;
  const std::vector<double> want = reference_distribution(logits, SamplingParams{});
  std::vector<int64_t> counts(vocab, 0);
  std::vector<float> row(vocab);
  for (int64_t pos = 0; pos < kDraws; ++pos) {
    row = logits;
    RowInput in;
    in.params = &wrong;
    in.seed = 42;
    in.position = pos;
    RowResult res;
    sampler.sample(row.data(), 1, vocab, {&in, 1}, {&res, 1});
    ++counts[res.token_id];
  }
  double chi2 = 0.0;
  int bins = 0;
  for (int i = 0; i < vocab; ++i) {
    const double e = want[i] * kDraws;
    if (e < 5.0) continue;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
    ++bins;
  }
  const double p_value = gamma_q((bins - 1) / 2.0, chi2 / 2.0);
  std::printf("[ chi2 ] negative control (T=1.05 vs 1) chi2=%.2f dof=%d p=%.3g\n", chi2, bins - 1, p_value);
  EXPECT_LT(p_value, 0.001);
}

}  // namespace
}  // namespace nucleus::sampling
