#include "sampling/device_rows.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "sampling/bad_words.h"

namespace nucleus::sampling {

static_assert(cuda::kMaxTopLogprobs == kMaxLogprobs);
static_assert(uint32_t{cuda::kSampleNanLogits} == uint32_t{kNanLogits} &&
              uint32_t{cuda::kSampleInfLogits} == uint32_t{kInfLogits} &&
              uint32_t{cuda::kSampleNoCandidates} == uint32_t{kNoCandidates});

void append_device_row(const RowInput& in, int32_t counts_row, int64_t vocab, cuda::SampleBatch& batch) {
  const int64_t row = static_cast<int64_t>(batch.rows.size());
  check_row_input(row, in, vocab);
  if (in.position > INT32_MAX) {
    throw std::invalid_argument("append_device_row: row " + std::to_string(row) + ": position " +
                                std::to_string(in.position) + " does not fit the device's 32-bit key");
  }
  const SamplingParams& sp = *in.params;
  cuda::SampleRowParams p;
  p.stage = sp.stage_params();
  p.seed = in.seed;
  p.seq_index = in.seq_index;
  p.position = static_cast<uint32_t>(in.position);
  p.logprobs = sp.logprobs;
  p.logprobs_raw = sp.logprobs_mode == LogprobsMode::kRaw ? 1 : 0;
  p.counts_row = counts_row;
  std::vector<int32_t>& ids = batch.ids;
  p.allowed_begin = static_cast<int32_t>(ids.size());
  p.allowed_count = static_cast<int32_t>(sp.allowed_token_ids.size());
  ids.insert(ids.end(), sp.allowed_token_ids.begin(), sp.allowed_token_ids.end());
  p.banned_begin = static_cast<int32_t>(ids.size());
  ids.insert(ids.end(), sp.bad_token_ids.begin(), sp.bad_token_ids.end());
  append_bad_word_bans(sp, in.output_tokens, in.pending_tokens, ids);
  if (in.token_mask) {  // the device takes the mask as more banned ids
    for (int64_t i = 0; i < vocab; ++i) {
      if (!in.token_mask[i]) ids.push_back(static_cast<int32_t>(i));
    }
  }
  // Stage 3: pending tokens count as output, as in the CPU sampler.
  const int64_t outputs = in.num_output_tokens + static_cast<int64_t>(in.pending_tokens.size());
  if (outputs < sp.min_tokens) {
    ids.insert(ids.end(), in.eos_token_ids.begin(), in.eos_token_ids.end());
    ids.insert(ids.end(), sp.stop_token_ids.begin(), sp.stop_token_ids.end());
  }
  p.banned_count = static_cast<int32_t>(ids.size()) - p.banned_begin;
  p.bias_begin = static_cast<int32_t>(batch.bias_ids.size());
  p.bias_count = static_cast<int32_t>(sp.logit_bias.size());
  for (const LogitBias& b : sp.logit_bias) {
    batch.bias_ids.push_back(b.token_id);
    batch.bias_values.push_back(b.bias);
  }
  batch.rows.push_back(p);
}

void fill_penalty_counts(const PenaltyState& state, std::span<uint32_t> row) {
  std::fill(row.begin(), row.end(), 0u);
  for (const PenaltyState::Entry& e : state.entries()) {
    if (e.token_id < 0 || static_cast<size_t>(e.token_id) >= row.size()) {
      throw std::invalid_argument("fill_penalty_counts: token id " + std::to_string(e.token_id) +
                                  " outside the vocabulary [0, " + std::to_string(row.size()) + ")");
    }
    row[static_cast<size_t>(e.token_id)] = std::min<uint32_t>(e.output_count, ~kPromptCountBit) |
                                           (e.in_prompt ? kPromptCountBit : 0u);
  }
}

RowResult to_row_result(const cuda::SampleRowResult& d) {
  RowResult r;
  r.token_id = d.token_id;
  r.logprob = d.logprob;
  r.rank = d.rank;
  r.num_top = std::clamp(d.num_top, 0, kMaxLogprobs);
  r.flags = d.flags;
  for (int j = 0; j < r.num_top; ++j) r.top[j] = TokenLogprob{d.top_ids[j], d.top_logprobs[j]};
  return r;
}

}  // namespace nucleus::sampling
