#include "sampling/sampler.h"

#include <sstream>
#include <stdexcept>
#include <string>

#include "sampling/row_sampler.h"
#include "sampling/token_ids.h"

namespace nucleus::sampling {
namespace {

[[noreturn]] void fail(int64_t row, const std::string& what) {
  std::ostringstream msg;
  msg << "Sampler::sample: row " << row << ": " << what;
  throw std::invalid_argument(msg.str());
}

void check_ids(int64_t row, const char* name, std::span<const int32_t> ids, int64_t vocab) {
  if (auto error = first_id_outside_vocabulary(ids, vocab)) fail(row, std::string(name) + ": " + *error);
}

}  // namespace

// Everything sample_row() relies on, checked before any row is touched. O(sum of list sizes).
void check_row_input(int64_t row, const RowInput& in, int64_t vocab) {
  if (!in.params) fail(row, "params is null");
  const SamplingParams& p = *in.params;
  check_ids(row, "allowed_token_ids", p.allowed_token_ids, vocab);
  check_ids(row, "bad_token_ids", p.bad_token_ids, vocab);
  check_ids(row, "stop_token_ids", p.stop_token_ids, vocab);
  check_ids(row, "eos_token_ids", in.eos_token_ids, vocab);
  check_ids(row, "pending_tokens", in.pending_tokens, vocab);
  for (const LogitBias& b : p.logit_bias) {
    if (!in_vocabulary(b.token_id, vocab)) fail(row, "logit_bias: " + outside_vocabulary_message(b.token_id, vocab));
  }
  if (in.penalties && in.penalties->max_token_id() >= vocab) {
    fail(row, "penalty state: " + outside_vocabulary_message(in.penalties->max_token_id(), vocab));
  }
  if (in.position < 0) fail(row, "position must be >= 0, got " + std::to_string(in.position));
  // The stages assume in-range parameters (e.g. temperature > 0 when not greedy).
  try {
    p.validate(vocab);
  } catch (const std::invalid_argument& e) {
    fail(row, e.what());
  }
}

Sampler::Sampler(kernels::ThreadPool* pool) : pool_(pool) {}
Sampler::~Sampler() = default;

std::unique_ptr<RowScratch> Sampler::acquire_scratch() {
  std::lock_guard<std::mutex> lock(scratch_mutex_);
  if (free_scratch_.empty()) return std::make_unique<RowScratch>();
  std::unique_ptr<RowScratch> s = std::move(free_scratch_.back());
  free_scratch_.pop_back();
  return s;
}

void Sampler::release_scratch(std::unique_ptr<RowScratch> scratch) {
  std::lock_guard<std::mutex> lock(scratch_mutex_);
  free_scratch_.push_back(std::move(scratch));
}

void Sampler::sample(float* logits, int64_t rows, int64_t vocab, std::span<const RowInput> inputs,
                     std::span<RowResult> results) {
  if (rows < 0) throw std::invalid_argument("Sampler::sample: rows must be >= 0, got " + std::to_string(rows));
  if (vocab <= 0 || vocab > INT32_MAX) {
    throw std::invalid_argument("Sampler::sample: vocab must be in [1, 2^31), got " + std::to_string(vocab));
  }
  if (static_cast<int64_t>(inputs.size()) != rows || static_cast<int64_t>(results.size()) != rows) {
    throw std::invalid_argument("Sampler::sample: " + std::to_string(rows) + " rows but " +
                                std::to_string(inputs.size()) + " inputs and " + std::to_string(results.size()) +
                                " results");
  }
  if (rows == 0) return;
  if (!logits) throw std::invalid_argument("Sampler::sample: logits is null");
  for (int64_t r = 0; r < rows; ++r) check_row_input(r, inputs[r], vocab);

  // Each range of rows gets its own scratch; a row is computed entirely by one thread.
  auto run = [&](int64_t begin, int64_t end) {
    std::unique_ptr<RowScratch> scratch = acquire_scratch();
    for (int64_t r = begin; r < end; ++r) sample_row(logits + r * vocab, vocab, inputs[r], *scratch, results[r]);
    release_scratch(std::move(scratch));
  };
  if (pool_ && pool_->num_threads() > 1 && rows > 1) {
    pool_->parallel_for(rows, 1, run);
  } else {
    run(0, rows);
  }
}

}  // namespace nucleus::sampling
