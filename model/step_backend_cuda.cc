// The CUDA backend: logits, KV cache and activations in device memory,
// sampling/cuda/sampler_cuda.h samples on the device, and only token ids and
// logprobs come back. Compiled in every build; without NUCLEUS_HAVE_CUDA only
// the factory's error remains.
//
// Penalty counts: a device table [rows, vocab] whose bookkeeping (which row
// each sequence owns, what to add each step, scratch rows for speculation) is
// engine/penalty_rows.h, host code the CPU tests run; here are only its memory
// operations on the device.
#include "model/step_backend.h"

#include <stdexcept>
#include <string>

#include "kernels/build_config.h"
#include "kernels/device.h"

#if NUCLEUS_HAVE_CUDA
#include <algorithm>
#include <vector>

#include "sampling/penalty_rows.h"
#include "sampling/cuda/sampler_cuda.h"
#include "sampling/device_rows.h"
#endif

namespace nucleus {

#if NUCLEUS_HAVE_CUDA
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

// The penalty table's memory operations on the device.
class DeviceCountsTable final : public PenaltyTableOps {
 public:
  explicit DeviceCountsTable(int64_t vocab) : width_(static_cast<size_t>(vocab)) {}
  uint32_t* data() const { return static_cast<uint32_t*>(area_.data()); }

  void grow(int64_t rows) override { area_.reserve(static_cast<size_t>(rows) * width_ * sizeof(uint32_t), true); }
  void fill(int32_t row, const sampling::PenaltyState& state) override {
    host_row_.resize(width_);
    sampling::fill_penalty_counts(state, host_row_);
    kernels::device_upload(Device::kCuda, at(row), host_row_.data(), width_ * sizeof(uint32_t));
  }
  void zero(int32_t row) override {
    host_row_.assign(width_, 0u);
    kernels::device_upload(Device::kCuda, at(row), host_row_.data(), width_ * sizeof(uint32_t));
  }
  void add_outputs(std::span<const int32_t> rows, std::span<const int32_t> ids) override {
    sampling::cuda::add_penalty_counts(data(), static_cast<int64_t>(width_), rows.data(), ids.data(),
                                      static_cast<int64_t>(rows.size()), false);
  }
  void copy(int32_t dst, int32_t src) override {
    kernels::device_copy(Device::kCuda, at(dst), at(src), width_ * sizeof(uint32_t));
  }

 private:
  uint32_t* at(int32_t row) const { return data() + static_cast<size_t>(row) * width_; }
  size_t width_;
  DeviceArea area_;
  std::vector<uint32_t> host_row_;
};

class CudaStepBackend final : public StepBackend {
 public:
  CudaStepBackend(const kernels::Context& ctx, int64_t vocab)
      : ctx_(ctx), vocab_(vocab), table_(vocab), penalty_rows_(vocab) {}

  void forward(Model& model, const ForwardBatch& batch, KvStorage& kv) override {
    if (kv.device() != Device::kCuda) throw std::invalid_argument("CUDA step: the KV cache is not in device memory");
    logit_rows_ = batch.logit_rows.size();
    float* logits = static_cast<float*>(logits_.reserve(std::max<size_t>(logit_rows_, 1) * row_bytes(), false));
    model.forward(ctx_, batch, kv, logits);
  }

  std::string device_failure() const override { return kernels::device_failure(Device::kCuda); }

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
    float* logits = gather(rows);
    std::vector<PenaltyRowInput> count_inputs(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      count_inputs[i] = {rows[i].seq_id, &rows[i].input, rows[i].output_tokens};
    }
    const std::vector<int32_t> counts_row = penalty_rows_.prepare(count_inputs, table_);
    batch_ = {};
    for (size_t i = 0; i < rows.size(); ++i) sampling::append_device_row(rows[i].input, counts_row[i], vocab_, batch_);
    device_results_.resize(rows.size());
    const uint32_t* counts = penalty_rows_.table_rows() > 0 ? table_.data() : nullptr;
    sampler_.sample(logits, vocab_, batch_, counts, device_results_.data());
    for (size_t i = 0; i < rows.size(); ++i) results[i] = sampling::to_row_result(device_results_[i]);
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

  kernels::Context ctx_;
  int64_t vocab_;
  sampling::cuda::CudaSampler sampler_;
  DeviceArea logits_;       // [logit rows, vocab] of the last forward
  DeviceArea sample_rows_;  // gathered copies
  size_t logit_rows_ = 0;
  std::vector<int32_t> gather_ids_;
  sampling::cuda::SampleBatch batch_;
  std::vector<sampling::cuda::SampleRowResult> device_results_;
  DeviceCountsTable table_;
  PenaltyRows penalty_rows_;
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
