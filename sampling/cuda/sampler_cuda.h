// Sampling on the device: the stages of sampling/sampler.h, in the same order and
// with the same semantics, for logits that are already on the GPU. One thread
// block per row; per-row parameters travel as arrays; only the token ids and the
// logprobs come back to the host.
//
// What the host prepares per row (from SamplingParams; see sampler_device_test.cc
// for the conversion):
//   - stage = params.stage_params(); logprobs / logprobs_raw from the request.
//   - allowed ids (stage 1: everything else -> -inf), then biases (stage 2, added in
//     list order), then banned ids (stage 1's bad_token_ids and, while min_tokens is
//     not reached, the EOS and stop ids of stage 3). Applying the bans after the
//     biases gives the same logits as the CPU order: -inf + bias = -inf.
//   - counts_row: a row of the device penalty counts [num_count_rows, vocab] (or -1):
//     bit 31 = seen in the prompt, bits 0-30 = occurrences in the output. Stage 4
//     (repetition, frequency, presence) reads it; speculative "pending" tokens must be
//     added to a copy of the counts by the caller.
//   - seed, seq_index, position: the Philox key of the race (sampling/philox.h).
// Differences from the CPU sampler (see docs/cuda.md): top-k/top-p/typical-p use a
// bisection threshold (sample_math.h) instead of a quickselect; sums are tree
// reductions in double; exp/log are CUDA's (<= 2 ulp). A token can differ from the
// CPU's only when two candidates' race ratios or a stage's mass boundary tie to ~1e-7.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sampling/filter_math.h"

namespace nucleus::sampling::cuda {

inline constexpr int kMaxTopLogprobs = 20;  // = sampling::kMaxLogprobs

struct SampleRowParams {
  sampling::StageParams stage;
  uint64_t seed = 0;
  uint32_t seq_index = 0;
  uint32_t position = 0;
  int32_t logprobs = -1;     // -1 off; 0 = the sampled token's; 1..20 = plus the top N
  int32_t logprobs_raw = 1;  // 1: log_softmax of the sanitised logits; 0: of the sampled distribution
  int32_t counts_row = -1;   // row of the penalty counts, -1 = none
  int32_t allowed_begin = 0, allowed_count = 0;  // into SampleBatch::ids
  int32_t banned_begin = 0, banned_count = 0;    // into SampleBatch::ids
  int32_t bias_begin = 0, bias_count = 0;        // into SampleBatch::bias_ids / bias_values
};

// The same flags as sampling::RowFlags.
enum SampleFlags : uint32_t { kSampleNanLogits = 1u, kSampleInfLogits = 2u, kSampleNoCandidates = 4u };

struct SampleRowResult {
  int32_t token_id = 0;
  float logprob = 0.0f;
  int32_t rank = 0;
  int32_t num_top = 0;
  uint32_t flags = 0;
  int32_t top_ids[kMaxTopLogprobs] = {};
  float top_logprobs[kMaxTopLogprobs] = {};
};

// Host-side description of one call; every array here is host memory.
struct SampleBatch {
  std::vector<SampleRowParams> rows;
  std::vector<int32_t> ids;  // allowed and banned id lists of all rows
  std::vector<int32_t> bias_ids;
  std::vector<float> bias_values;
};

class CudaSampler {
 public:
  CudaSampler();
  ~CudaSampler();
  CudaSampler(const CudaSampler&) = delete;
  CudaSampler& operator=(const CudaSampler&) = delete;

  // d_logits: DEVICE [rows, vocab], modified in place like sampling::Sampler (stages 0-4).
  // d_counts: DEVICE [num_count_rows, vocab] penalty counts, or null when no row has counts_row >= 0.
  // results: host, one per row. Ids must be in [0, vocab) (the host validates, as the CPU sampler).
  void sample(float* d_logits, int64_t vocab, const SampleBatch& batch, const uint32_t* d_counts,
              SampleRowResult* results);

 private:
  struct Buffers;
  Buffers* buffers_;
};

// Adds tokens to device penalty counts: for each i, counts[count_rows[i]][ids[i]] gets one
// more output occurrence, or (prompt = true) the seen-in-prompt bit. Host arrays of n entries.
void add_penalty_counts(uint32_t* d_counts, int64_t vocab, const int32_t* count_rows, const int32_t* ids, int64_t n,
                        bool prompt);

}  // namespace nucleus::sampling::cuda
