// The host half of sampling on a device: what sampling/cuda/sampler_cuda.h needs
// per row, built from the same RowInput the CPU sampler takes. Plain host code,
// compiled (and tested) in every build, so the conversion is checked on the CPU.
//
// Penalty counts on the device are a [rows, vocab] uint32 table: bit 31 = the id
// occurs in the prompt, bits 0-30 = its occurrences in the output. The caller
// owns the table and says which row a RowInput uses (counts_row, -1 = none);
// the row must already hold the sequence's counts (fill_penalty_counts at
// admission, +1 per accepted token). Pending (speculative) tokens are NOT in
// it: the caller adds them to a copy of the row.
#pragma once

#include <cstdint>
#include <span>

#include "sampling/cuda/sampler_cuda.h"
#include "sampling/penalties.h"
#include "sampling/sampler.h"

namespace nucleus::sampling {

inline constexpr uint32_t kPromptCountBit = 0x80000000u;

// Appends one row to `batch`: its stage parameters, Philox key, logprobs mode,
// allowed / banned / bias lists (bans = bad_token_ids, the bad words' last
// tokens that apply (bad_words.h), the token mask's zeros, plus EOS and
// stop_token_ids while output + pending < min_tokens). Checks the row as
// Sampler::sample does (check_row_input) and throws std::invalid_argument.
void append_device_row(const RowInput& in, int32_t counts_row, int64_t vocab, cuda::SampleBatch& batch);

// Writes a sequence's counts into one row of the device table's host image
// (row[vocab], zeroed first).
void fill_penalty_counts(const PenaltyState& state, std::span<uint32_t> row);

// The device sampler's answer as the CPU sampler gives it.
RowResult to_row_result(const cuda::SampleRowResult& device);

}  // namespace nucleus::sampling
