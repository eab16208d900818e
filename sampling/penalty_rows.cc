#include "sampling/penalty_rows.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace nucleus {
namespace {
bool uses_counts(const sampling::RowInput& in) {
  return in.params && in.params->stage_params().uses_penalties() && (in.penalties || !in.pending_tokens.empty());
}
}  // namespace

void PenaltyRows::check_ids(std::span<const int32_t> ids, const char* what) const {
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_) {
      throw std::invalid_argument(std::string("penalty counts: ") + what + " has token id " + std::to_string(id) +
                                  ", outside the vocabulary [0, " + std::to_string(vocab_) + ")");
    }
  }
}

int32_t PenaltyRows::allocate(PenaltyTableOps& ops) {
  if (free_rows_.empty()) {
    // Take back the rows of sequences this call does not sample.
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.last_call == call_) {
        ++it;
        continue;
      }
      free_rows_.push_back(it->second.row);
      it = entries_.erase(it);
    }
  }
  if (free_rows_.empty()) {
    const int64_t grown = std::max<int64_t>(8, table_rows_ * 2);
    ops.grow(grown);
    for (int64_t r = grown - 1; r >= table_rows_; --r) free_rows_.push_back(static_cast<int32_t>(r));
    table_rows_ = grown;
  }
  const int32_t row = free_rows_.back();
  free_rows_.pop_back();
  return row;
}

std::vector<int32_t> PenaltyRows::prepare(std::span<const PenaltyRowInput> rows, PenaltyTableOps& ops) {
  // The previous call's sampler has read its scratch rows by now.
  free_rows_.insert(free_rows_.end(), scratch_.begin(), scratch_.end());
  scratch_.clear();
  ++call_;
  for (const PenaltyRowInput& r : rows) {
    if (!r.input) throw std::invalid_argument("PenaltyRows::prepare: a row has no input");
    if (!uses_counts(*r.input)) continue;
    check_ids(r.output_tokens, "output_tokens");
    check_ids(r.input->pending_tokens, "pending_tokens");
  }
  std::vector<int32_t> counts_row(rows.size(), -1);
  std::vector<int32_t> add_rows, add_ids;
  for (size_t i = 0; i < rows.size(); ++i) {
    const sampling::RowInput& in = *rows[i].input;
    if (!uses_counts(in) || !in.penalties) continue;
    const size_t outputs = rows[i].output_tokens.size();
    auto it = entries_.find(rows[i].seq_id);
    if (it != entries_.end() && it->second.counted > outputs) {  // the output shrank: rebuild
      free_rows_.push_back(it->second.row);
      entries_.erase(it);
      it = entries_.end();
    }
    if (it == entries_.end()) {
      Entry entry;
      entry.row = allocate(ops);
      entry.counted = static_cast<size_t>(std::min<int64_t>(in.penalties->num_output_tokens(), outputs));
      ops.fill(entry.row, *in.penalties);
      it = entries_.emplace(rows[i].seq_id, entry).first;
    }
    Entry& e = it->second;
    e.last_call = call_;
    for (size_t t = e.counted; t < outputs; ++t) {
      add_rows.push_back(e.row);
      add_ids.push_back(rows[i].output_tokens[t]);
    }
    e.counted = outputs;
    counts_row[i] = e.row;
  }
  // +1 per accepted token, before any scratch copy is taken.
  if (!add_rows.empty()) ops.add_outputs(add_rows, add_ids);
  std::vector<int32_t> pending_rows, pending_ids;
  for (size_t i = 0; i < rows.size(); ++i) {
    const sampling::RowInput& in = *rows[i].input;
    if (!uses_counts(in) || in.pending_tokens.empty()) continue;
    const int32_t scratch = allocate(ops);
    scratch_.push_back(scratch);
    if (counts_row[i] >= 0) {
      ops.copy(scratch, counts_row[i]);
    } else {
      ops.zero(scratch);
    }
    for (int32_t id : in.pending_tokens) {
      pending_rows.push_back(scratch);
      pending_ids.push_back(id);
    }
    counts_row[i] = scratch;
  }
  if (!pending_rows.empty()) ops.add_outputs(pending_rows, pending_ids);
  return counts_row;
}

}  // namespace nucleus
