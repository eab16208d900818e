// One row through every stage of sampler.h, on one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling/row.h"

namespace nucleus::sampling {

// Buffers reused across rows (sized to the vocabulary on first use). The
// candidates of a row are (ids[j], d[j], p[j]) with ids ascending.
struct RowScratch {
  std::vector<float> raw;       // [vocab] sanitised copy for raw logprobs
  std::vector<float> saved;     // allowed_token_ids: their logits while the row is masked
  std::vector<int32_t> bans;    // bad words' last tokens banned at this row
  std::vector<int32_t> ids;     // [candidates]
  std::vector<float> d;         // [candidates] (l - max) / T
  std::vector<float> p;         // [candidates] exp(d)
  std::vector<float> order_keys;  // [candidates] a stage's keys, in candidate order
  std::vector<float> keys;      // [candidates] selection scratch (reordered)
  std::vector<float> weights;   // [candidates] selection scratch
  std::vector<uint32_t> noise;  // Philox words for a dense id range (exponential race)
};

// Samples one row of `vocab` logits (modified in place, see sampler.h). Inputs are valid.
void sample_row(float* logits, int64_t vocab, const RowInput& input, RowScratch& scratch, RowResult& result);

}  // namespace nucleus::sampling
