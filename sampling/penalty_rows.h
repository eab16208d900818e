// The bookkeeping of device penalty counts, as host code that every build
// compiles and the CPU tests run (the CUDA step backend only supplies the
// memory operations).
//
// The table is [rows, vocab] uint32 (sampling/device_rows.h). Each sequence that
// samples with penalties owns a row, keyed by its sequence id: the row is
// filled from the sequence's PenaltyState the first time it is sampled
// (admission, a fork, or after an eviction), and later calls add +1 for every
// output token beyond those already counted. Rows of sequences not sampled in
// the current call are taken back when the table is full, and such a sequence
// is rebuilt from its PenaltyState if it returns, so a finished sequence needs
// no notice. A speculative row (pending drafts) gets a scratch copy of its
// sequence's row with the drafts added, reused from the next call on.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "sampling/penalties.h"
#include "sampling/sampler.h"

namespace nucleus {

// One row to sample, as the table sees it.
struct PenaltyRowInput {
  uint64_t seq_id = 0;
  const sampling::RowInput* input = nullptr;  // params, penalties, pending tokens
  std::span<const int32_t> output_tokens;     // the sequence's output so far (drafts excluded)
};

// The memory operations, in the order apply() issues them.
class PenaltyTableOps {
 public:
  virtual ~PenaltyTableOps() = default;
  virtual void grow(int64_t rows) = 0;                                        // keeps existing rows
  virtual void fill(int32_t row, const sampling::PenaltyState& state) = 0;    // fill_penalty_counts
  virtual void zero(int32_t row) = 0;
  virtual void add_outputs(std::span<const int32_t> rows, std::span<const int32_t> ids) = 0;  // +1 each
  virtual void copy(int32_t dst, int32_t src) = 0;
};

class PenaltyRows {
 public:
  explicit PenaltyRows(int64_t vocab) : vocab_(vocab) {}

  // Prepares the table for one sampler call and returns the count row of each
  // input (-1: no penalties). The rows stay valid until the next prepare().
  // Throws std::invalid_argument for a token id outside the vocabulary.
  std::vector<int32_t> prepare(std::span<const PenaltyRowInput> rows, PenaltyTableOps& ops);

  int64_t table_rows() const { return table_rows_; }

 private:
  struct Entry {
    int32_t row = 0;
    size_t counted = 0;  // output tokens already in the row
    uint64_t last_call = 0;
  };
  int32_t allocate(PenaltyTableOps& ops);
  void check_ids(std::span<const int32_t> ids, const char* what) const;

  int64_t vocab_;
  int64_t table_rows_ = 0;
  uint64_t call_ = 0;
  std::vector<int32_t> free_rows_;
  std::vector<int32_t> scratch_;  // the last call's scratch rows, free from the next call on
  std::unordered_map<uint64_t, Entry> entries_;
};

}  // namespace nucleus
