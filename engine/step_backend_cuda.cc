// The CUDA backend: logits, KV cache and activations in device memory,
// kernels/cuda/sampler_cuda.h samples on the device, and only token ids and
// logprobs come back. Compiled in every build; without NUCLEUS_HAVE_CUDA only
// the factory's error remains.
//
// Penalty counts: a device table [rows, vocab] (sampling/device_rows.h), one
// row per sequence that uses penalties, keyed by sequence id. A row is built
// from the sequence's PenaltyState the first time it is sampled (its prompt,
// plus any output so far: admission, a fork, or a rebuild after eviction) and
// then gets +1 per accepted token (its output_tokens beyond those counted),
// added in one kernel call per step. Rows of sequences not sampled in the
// current call are reused when the table is full; such a sequence is simply
// rebuilt from its PenaltyState when it is sampled again, so nothing needs to
// tell the backend that a sequence finished. Speculative rows get a scratch
// copy of their sequence's row with the pending drafts added.
#include "engine/step_backend.h"

#include <stdexcept>
#include <string>

#include "kernels/device.h"

#ifdef NUCLEUS_HAVE_CUDA
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/sampler_cuda.h"
#include "sampling/device_rows.h"
#endif

namespace nucleus {

#ifdef NUCLEUS_HAVE_CUDA
namespace {

using kernels::Device;
using kernels::DeviceBuffer;

// Device floats (or counts) grown on demand; contents kept only when asked.
class DeviceArea {
 public:
  void* reserve(size_t bytes, bool keep) {
    if (buffer_ && buffer_->bytes() >= bytes) return buffer_->data();
    auto grown = std::make_unique<DeviceBuffer>(Device::kCuda, bytes);
    if (keep && buffer_) kernels::device_copy(Device::kCuda, grown->data(), buffer_->data(), buffer_->bytes());
    buffer_ = std::move(grown);
    return buffer_->data();
  }
  void* data() const { return buffer_ ? buffer_->data() : nullptr; }

 private:
  std::unique_ptr<DeviceBuffer> buffer_;
};

class CudaStepBackend final : public StepBackend {
 public:
  CudaStepBackend(const kernels::Context& ctx, int64_t vocab) : ctx_(ctx), vocab_(vocab) {}

  void forward(Model& model, const ForwardBatch& batch, KvStorage& kv) override {
    if (kv.device() != Device::kCuda) throw std::invalid_argument("CUDA step: the KV cache is not in device memory");
    logit_rows_ = batch.logit_rows.size();
    float* logits = static_cast<float*>(logits_.reserve(std::max<size_t>(logit_rows_, 1) * row_bytes(), false));
    model.forward(ctx_, batch, kv, logits);
  }

  void read_logits(size_t logit_row, float* host) const override {
    if (logit_row >= logit_rows_) {
      throw std::invalid_argument("StepBackend::read_logits: no logit row " + std::to_string(logit_row));
    }
    kernels::device_download(Device::kCuda, host, static_cast<const float*>(logits_.data()) + logit_row * vocab_,
                             row_bytes());
  }

  void sample(std::span<const SampleRow> rows, std::span<sampling::RowResult> results) override {
    if (rows.size() != results.size()) throw std::invalid_argument("StepBackend::sample: rows and results differ in size");
    if (rows.empty()) return;
    ++call_;
    float* logits = gather(rows);
    batch_ = {};
    std::vector<int32_t> scratch_rows;
    const uint32_t* counts = prepare_counts(rows, scratch_rows);
    for (size_t i = 0; i < rows.size(); ++i) {
      sampling::append_device_row(rows[i].input, counts_row_of_[i], vocab_, batch_);
    }
    device_results_.resize(rows.size());
    sampler_.sample(logits, vocab_, batch_, counts, device_results_.data());
    for (size_t i = 0; i < rows.size(); ++i) results[i] = sampling::to_row_result(device_results_[i]);
    for (int32_t r : scratch_rows) free_rows_.push_back(r);
  }

 private:
  size_t row_bytes() const { return static_cast<size_t>(vocab_) * sizeof(float); }

  // The logits rows to sample, one per row, in device memory: the forward's
  // own rows when they map one to one, else gathered copies (the sampler
  // works in place, and n > 1 siblings share a logit row).
  float* gather(std::span<const SampleRow> rows) {
    bool one_to_one = rows.size() == logit_rows_;
    gather_ids_.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].logit_row >= logit_rows_) {
        throw std::invalid_argument("StepBackend::sample: row " + std::to_string(i) + " asks for logit row " +
                                    std::to_string(rows[i].logit_row) + " of " + std::to_string(logit_rows_));
      }
      gather_ids_[i] = static_cast<int32_t>(rows[i].logit_row);
      one_to_one = one_to_one && rows[i].logit_row == i;
    }
    float* logits = static_cast<float*>(logits_.data());
    if (one_to_one) return logits;
    float* copies = static_cast<float*>(sample_rows_.reserve(rows.size() * row_bytes(), false));
    kernels::WeightView table;  // the logits seen as an F32 table: the embedding op is a row gather
    table.type = GgmlType::F32;
    table.data = logits;
    table.rows = static_cast<int64_t>(logit_rows_);
    table.cols = vocab_;
    table.row_bytes = row_bytes();
    kernels::embedding(ctx_, table, gather_ids_.data(), static_cast<int64_t>(rows.size()), copies);
    return copies;
  }

  struct CountsEntry {
    int32_t row = 0;
    size_t counted = 0;  // output tokens already in the row
    uint64_t last_call = 0;
  };

  // Fills counts_row_of_ for every row; returns the device table (or null).
  const uint32_t* prepare_counts(std::span<const SampleRow> rows, std::vector<int32_t>& scratch_rows) {
    counts_row_of_.assign(rows.size(), -1);
    std::vector<int32_t> add_rows, add_ids;
    for (size_t i = 0; i < rows.size(); ++i) {
      const sampling::RowInput& in = rows[i].input;
      if (!in.params || !in.params->stage_params().uses_penalties()) continue;
      if (!in.penalties && in.pending_tokens.empty()) continue;
      int32_t row = -1;
      if (in.penalties) {
        auto it = entries_.find(rows[i].seq_id);
        const size_t outputs = rows[i].output_tokens.size();
        if (it == entries_.end() || it->second.counted > outputs) {
          if (it != entries_.end()) free_rows_.push_back(it->second.row);
          CountsEntry entry;
          entry.row = allocate_row();
          entry.counted = static_cast<size_t>(in.penalties->num_output_tokens());
          upload_row(entry.row, *in.penalties);
          it = entries_.insert_or_assign(rows[i].seq_id, entry).first;
        }
        CountsEntry& e = it->second;
        for (size_t t = e.counted; t < outputs; ++t) {
          add_rows.push_back(e.row);
          add_ids.push_back(rows[i].output_tokens[t]);
        }
        e.counted = std::max(e.counted, outputs);
        e.last_call = call_;
        row = e.row;
      }
      counts_row_of_[i] = row;
    }
    // +1 per accepted token, before any scratch copy is taken.
    if (!add_rows.empty()) {
      check_ids(add_ids, "output_tokens");
      kernels::cuda::add_penalty_counts(counts_table(), vocab_, add_rows.data(), add_ids.data(),
                                        static_cast<int64_t>(add_rows.size()), false);
    }
    // Speculative rows: their sequence's counts plus the drafts pending before them.
    std::vector<int32_t> pending_rows, pending_ids;
    for (size_t i = 0; i < rows.size(); ++i) {
      const sampling::RowInput& in = rows[i].input;
      if (in.pending_tokens.empty() || !in.params || !in.params->stage_params().uses_penalties()) continue;
      const int32_t source = counts_row_of_[i];
      const int32_t scratch = allocate_row();
      scratch_rows.push_back(scratch);
      uint32_t* table = counts_table();
      const size_t width = static_cast<size_t>(vocab_);
      if (source >= 0) {
        kernels::device_copy(Device::kCuda, table + scratch * width, table + source * width, width * sizeof(uint32_t));
      } else {
        zero_row(scratch);
      }
      for (int32_t id : in.pending_tokens) {
        pending_rows.push_back(scratch);
        pending_ids.push_back(id);
      }
      counts_row_of_[i] = scratch;
    }
    if (!pending_rows.empty()) {
      check_ids(pending_ids, "pending_tokens");
      kernels::cuda::add_penalty_counts(counts_table(), vocab_, pending_rows.data(), pending_ids.data(),
                                        static_cast<int64_t>(pending_rows.size()), false);
    }
    return table_rows_ > 0 ? counts_table() : nullptr;
  }

  uint32_t* counts_table() const { return static_cast<uint32_t*>(counts_.data()); }

  void check_ids(const std::vector<int32_t>& ids, const char* what) const {
    for (int32_t id : ids) {
      if (id < 0 || id >= vocab_) {
        throw std::invalid_argument(std::string("StepBackend::sample: ") + what + " has token id " +
                                    std::to_string(id) + ", outside the vocabulary");
      }
    }
  }

  // A free row of the table: a released one, else one of a sequence not
  // sampled in this call (rebuilt if it comes back), else a new one.
  int32_t allocate_row() {
    if (free_rows_.empty()) {
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
      counts_.reserve(static_cast<size_t>(grown * vocab_) * sizeof(uint32_t), true);
      for (int64_t r = grown - 1; r >= table_rows_; --r) free_rows_.push_back(static_cast<int32_t>(r));
      table_rows_ = grown;
    }
    const int32_t row = free_rows_.back();
    free_rows_.pop_back();
    return row;
  }

  void upload_row(int32_t row, const sampling::PenaltyState& state) {
    host_row_.resize(static_cast<size_t>(vocab_));
    sampling::fill_penalty_counts(state, host_row_);
    copy_host_row(row);
  }
  void zero_row(int32_t row) {
    host_row_.assign(static_cast<size_t>(vocab_), 0u);
    copy_host_row(row);
  }
  void copy_host_row(int32_t row) {
    kernels::device_upload(Device::kCuda, counts_table() + static_cast<size_t>(row) * vocab_, host_row_.data(),
                           host_row_.size() * sizeof(uint32_t));
  }

  kernels::Context ctx_;
  int64_t vocab_;
  kernels::cuda::CudaSampler sampler_;
  DeviceArea logits_;       // [logit rows, vocab] of the last forward
  DeviceArea sample_rows_;  // gathered copies
  size_t logit_rows_ = 0;
  std::vector<int32_t> gather_ids_;
  kernels::cuda::SampleBatch batch_;
  std::vector<kernels::cuda::SampleRowResult> device_results_;
  // Penalty counts.
  DeviceArea counts_;  // [table_rows_, vocab] uint32
  int64_t table_rows_ = 0;
  std::vector<int32_t> free_rows_;
  std::unordered_map<uint64_t, CountsEntry> entries_;  // by sequence id
  std::vector<int32_t> counts_row_of_;                 // per row of the current call
  std::vector<uint32_t> host_row_;
  uint64_t call_ = 0;
};

}  // namespace

std::unique_ptr<StepBackend> make_cuda_step_backend(const kernels::Context& ctx, int64_t vocab) {
  std::string why;
  if (!kernels::cuda_available(&why)) throw std::runtime_error("the CUDA engine cannot start: " + why);
  return std::make_unique<CudaStepBackend>(ctx, vocab);
}

#else

std::unique_ptr<StepBackend> make_cuda_step_backend(const kernels::Context&, int64_t) {
  std::string why;
  kernels::cuda_available(&why);  // says "built without CUDA"
  throw std::runtime_error("the CUDA engine cannot start: " + why);
}

#endif

}  // namespace nucleus
