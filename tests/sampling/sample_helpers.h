// Small helpers shared by the sampling tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "sampling/sampler.h"

namespace nucleus::sampling::test {

struct OneRow {
  uint64_t seed = 1;
  int64_t position = 0;
  uint32_t seq_index = 0;
  const PenaltyState* penalties = nullptr;
  std::vector<int32_t> pending;
  int64_t num_output_tokens = 0;
  std::vector<int32_t> eos;
  const uint8_t* token_mask = nullptr;
};

// Samples a single row (the logits are copied, the sampler edits its copy).
inline OneRow with_seed(uint64_t seed) {
  OneRow row;
  row.seed = seed;
  return row;
}

inline RowResult sample_one(std::vector<float> logits, const SamplingParams& params, const OneRow& row = {}) {
  Sampler sampler;
  RowInput in;
  in.params = &params;
  in.penalties = row.penalties;
  in.pending_tokens = row.pending;
  in.seed = row.seed;
  in.position = row.position;
  in.seq_index = row.seq_index;
  in.num_output_tokens = row.num_output_tokens;
  in.eos_token_ids = row.eos;
  in.token_mask = row.token_mask;
  RowResult out;
  sampler.sample(logits.data(), 1, static_cast<int64_t>(logits.size()), {&in, 1}, {&out, 1});
  return out;
}

// The distribution a row is sampled from (vocab <= 20), read back through processed logprobs.
inline std::vector<double> processed_probs(const std::vector<float>& logits, SamplingParams params,
                                           const OneRow& row = {}) {
  params.logprobs = kMaxLogprobs;
  params.logprobs_mode = LogprobsMode::kProcessed;
  const RowResult r = sample_one(logits, params, row);
  std::vector<double> probs(logits.size(), 0.0);
  for (int32_t j = 0; j < r.num_top; ++j) probs[r.top[j].token_id] = std::exp(static_cast<double>(r.top[j].logprob));
  return probs;
}

inline std::vector<float> log_of(const std::vector<double>& probs) {
  std::vector<float> out;
  for (const double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

}  // namespace nucleus::sampling::test
