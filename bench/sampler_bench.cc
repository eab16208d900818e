// The batched sampler against a straightforward sort-based reference (full sort +
// cumulative sum + multinomial), measured in the same run.
//
//   BM_Sampler/<rows>/<vocab>/<threads>   every stage on (penalties, bias, temperature, min_p,
//                                         top_k, top_p, typical_p, 5 processed logprobs)
//   BM_SortReference/<rows>/<vocab>       the same stages, one thread, by sorting each row
//   BM_SamplerTemperatureOnly, BM_SamplerTopPOnly: the worst cases for the sampler (no
//                                         cheap cut, the draw or top-p sees the whole vocabulary)
// Logits are restored from a pristine copy outside the timed region (the sampler edits them).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/thread_pool.h"
#include "sampling/penalties.h"
#include "sampling/philox.h"
#include "sampling/sampler.h"

namespace nucleus::sampling {
namespace {

// Model-like logits: a Gaussian bulk plus a few strong candidates.
std::vector<float> make_logits(int64_t rows, int64_t vocab) {
  std::mt19937 rng(static_cast<uint32_t>(rows * 7 + vocab));
  std::normal_distribution<float> bulk(0.0f, 2.0f);
  std::vector<float> l(rows * vocab);
  for (float& x : l) x = bulk(rng);
  for (int64_t r = 0; r < rows; ++r) {
    for (int k = 0; k < 8; ++k) l[r * vocab + rng() % vocab] += 8.0f + static_cast<float>(k);
  }
  return l;
}

SamplingParams all_stages() {
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 50;
  p.top_p = 0.9f;
  p.min_p = 0.05f;
  p.typical_p = 0.95f;
  p.repetition_penalty = 1.1f;
  p.frequency_penalty = 0.2f;
  p.presence_penalty = 0.1f;
  p.logit_bias = {{11, 2.0f}, {12, -3.0f}, {13, 1.0f}};
  p.logprobs = 5;
  p.logprobs_mode = LogprobsMode::kProcessed;
  return p;
}

PenaltyState make_history(int64_t vocab) {
  std::mt19937 rng(3);
  std::vector<int32_t> prompt(300);
  for (int32_t& t : prompt) t = static_cast<int32_t>(rng() % vocab);
  PenaltyState s(prompt);
  for (int i = 0; i < 200; ++i) s.accept(static_cast<int32_t>(rng() % vocab));
  return s;
}

void run_sampler(benchmark::State& state, const SamplingParams& params) {
  const int64_t rows = state.range(0), vocab = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const std::vector<float> pristine = make_logits(rows, vocab);
  std::vector<float> logits = pristine;
  const PenaltyState history = make_history(vocab);
  std::vector<RowInput> inputs(rows);
  for (int64_t r = 0; r < rows; ++r) {
    inputs[r].params = &params;
    inputs[r].penalties = &history;
    inputs[r].seed = 1234 + r;
    inputs[r].position = 100;
    inputs[r].num_output_tokens = 200;
  }
  std::vector<RowResult> results(rows);
  kernels::ThreadPool pool(threads);
  Sampler sampler(&pool);
  for (auto _ : state) {
    state.PauseTiming();
    std::copy(pristine.begin(), pristine.end(), logits.begin());
    state.ResumeTiming();
    sampler.sample(logits.data(), rows, vocab, inputs, results);
    benchmark::DoNotOptimize(results.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}

void BM_Sampler(benchmark::State& state) { run_sampler(state, all_stages()); }

void BM_SamplerTemperatureOnly(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0.8f;
  run_sampler(state, p);
}

void BM_SamplerTopPOnly(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_p = 0.9f;
  run_sampler(state, p);
}

// The textbook way, one row at a time: penalties, sort the whole vocabulary, softmax,
// cut by min_p / top_k / top_p / typical_p with cumulative sums, multinomial draw.
int32_t reference_row(float* l, int64_t vocab, const SamplingParams& p, const PenaltyState& history,
                      std::vector<int32_t>& order, std::vector<double>& probs, uint64_t seed) {
  for (const LogitBias& b : p.logit_bias) l[b.token_id] += b.bias;
  apply_penalties(l, &history, {}, p.stage_params());
  order.resize(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  probs.resize(vocab);
  double sum = 0.0;
  for (int64_t j = 0; j < vocab; ++j) sum += probs[j] = std::exp((l[order[j]] - l[order[0]]) / p.temperature);
  int64_t keep = vocab;
  for (int64_t j = 0; j < keep; ++j) {
    if (probs[j] < p.min_p * probs[0]) keep = j;
  }
  keep = std::min<int64_t>(keep, p.top_k > 0 ? p.top_k : vocab);
  sum = std::accumulate(probs.begin(), probs.begin() + keep, 0.0);
  double cumulative = 0.0;
  for (int64_t j = 0; j < keep; ++j) {
    if (cumulative >= p.top_p * sum) keep = j;
    cumulative += probs[j];
  }
  // typical_p: sort the survivors by |-log q - H| and cut by cumulative mass.
  sum = std::accumulate(probs.begin(), probs.begin() + keep, 0.0);
  double entropy = 0.0;
  for (int64_t j = 0; j < keep; ++j) entropy -= probs[j] / sum * std::log(probs[j] / sum);
  std::vector<int64_t> by_score(keep);
  std::iota(by_score.begin(), by_score.end(), 0);
  auto score = [&](int64_t j) { return std::fabs(-std::log(probs[j] / sum) - entropy); };
  std::sort(by_score.begin(), by_score.end(), [&](int64_t a, int64_t b) { return score(a) < score(b); });
  std::vector<char> kept(keep, 0);
  cumulative = 0.0;
  for (const int64_t j : by_score) {
    if (cumulative < p.typical_p) kept[j] = 1;
    cumulative += probs[j] / sum;
  }
  double total = 0.0;
  for (int64_t j = 0; j < keep; ++j) total += kept[j] ? probs[j] : 0.0;
  const double u = open_uniform(NoiseKey{seed, 0, 0, NoiseStream::kDraw}.word(0)) * total;
  cumulative = 0.0;
  for (int64_t j = 0; j < keep; ++j) {
    cumulative += kept[j] ? probs[j] : 0.0;
    if (u < cumulative) return order[j];
  }
  return order[0];
}

void BM_SortReference(benchmark::State& state) {
  const int64_t rows = state.range(0), vocab = state.range(1);
  const SamplingParams params = all_stages();
  const std::vector<float> pristine = make_logits(rows, vocab);
  std::vector<float> logits = pristine;
  const PenaltyState history = make_history(vocab);
  std::vector<int32_t> order;
  std::vector<double> probs;
  std::vector<int32_t> tokens(rows);
  for (auto _ : state) {
    state.PauseTiming();
    std::copy(pristine.begin(), pristine.end(), logits.begin());
    state.ResumeTiming();
    for (int64_t r = 0; r < rows; ++r) {
      tokens[r] = reference_row(logits.data() + r * vocab, vocab, params, history, order, probs, 1234 + r);
    }
    benchmark::DoNotOptimize(tokens.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}

void sampler_args(benchmark::internal::Benchmark* b) {
  for (const int64_t vocab : {49152, 151936, 262144}) {
    for (const int64_t rows : {1, 16, 64, 256}) {
      for (const int64_t threads : {1, 2}) b->Args({rows, vocab, threads});
    }
  }
}

void reference_args(benchmark::internal::Benchmark* b) {
  for (const int64_t vocab : {49152, 151936, 262144}) {
    for (const int64_t rows : {1, 16, 64, 256}) b->Args({rows, vocab});
  }
}

BENCHMARK(BM_Sampler)->Apply(sampler_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SortReference)->Apply(reference_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SamplerTemperatureOnly)->Args({64, 151936, 1})->Args({64, 151936, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SamplerTopPOnly)->Args({64, 151936, 1})->Args({64, 151936, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace nucleus::sampling

BENCHMARK_MAIN();
