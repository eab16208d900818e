// The CPU backend: logits in host memory, sampling::Sampler on the thread pool.
#include "model/step_backend.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace nucleus {
namespace {

// Sizes a per-step buffer to `n` elements. A step with many logit rows (a
// prompt scored whole for its logprobs, hundreds of rows of a vocabulary
// each) must not leave the buffer at that size for the server's lifetime:
// it is released once it is more than 4x what a step needs and over 16 MiB
// (not on a step without logit rows, which would only reallocate it next step).
void fit(std::vector<float>& buffer, size_t n) {
  constexpr size_t kKeep = (16 << 20) / sizeof(float);
  if (n > 0 && buffer.capacity() > kKeep && buffer.capacity() > 4 * n) std::vector<float>().swap(buffer);
  buffer.resize(n);
}

class CpuStepBackend final : public StepBackend {
 public:
  CpuStepBackend(const kernels::Context& ctx, int64_t vocab) : ctx_(ctx), vocab_(vocab), sampler_(ctx.pool) {}

  void forward(Model& model, const ForwardBatch& batch, KvStorage& kv) override {
    fit(logits_, batch.logit_rows.size() * static_cast<size_t>(vocab_));
    model.forward(ctx_, batch, kv, logits_.data());
  }

  void sample(std::span<const SampleRow> rows, std::span<sampling::RowResult> results) override {
    if (rows.size() != results.size()) throw std::invalid_argument("StepBackend::sample: rows and results differ in size");
    if (rows.empty()) return;
    const size_t logit_rows = logits_.size() / static_cast<size_t>(vocab_);
    // The sampler works in place: rows can use logits_ directly unless a logit
    // row is sampled more than once (n > 1 siblings), which needs copies.
    bool one_to_one = true;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].logit_row >= logit_rows) {
        throw std::invalid_argument("StepBackend::sample: row " + std::to_string(i) + " asks for logit row " +
                                    std::to_string(rows[i].logit_row) + " of " + std::to_string(logit_rows));
      }
      one_to_one = one_to_one && rows[i].logit_row == i;
    }
    if (!one_to_one) {
      fit(sample_rows_, rows.size() * vocab_);
      for (size_t i = 0; i < rows.size(); ++i) {
        std::copy_n(logits_.begin() + rows[i].logit_row * vocab_, vocab_, sample_rows_.begin() + i * vocab_);
      }
    }
    inputs_.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) inputs_[i] = rows[i].input;
    sampler_.sample(one_to_one ? logits_.data() : sample_rows_.data(), static_cast<int64_t>(rows.size()), vocab_,
                    inputs_, results);
  }

  std::string device_failure() const override { return ""; }  // a CPU step's error never poisons the CPU

  void read_logits(size_t logit_row, float* host) const override {
    if ((logit_row + 1) * static_cast<size_t>(vocab_) > logits_.size()) {
      throw std::invalid_argument("StepBackend::read_logits: no logit row " + std::to_string(logit_row));
    }
    std::copy_n(logits_.begin() + logit_row * vocab_, vocab_, host);
  }

 private:
  kernels::Context ctx_;
  int64_t vocab_;
  sampling::Sampler sampler_;
  std::vector<float> logits_;       // [logit rows, vocab] of the last forward
  std::vector<float> sample_rows_;  // copies when a logit row is sampled more than once
  std::vector<sampling::RowInput> inputs_;
};

}  // namespace

std::unique_ptr<StepBackend> make_step_backend(const kernels::Context& ctx, int64_t vocab) {
  if (vocab <= 0) throw std::invalid_argument("make_step_backend: vocab must be > 0");
  if (ctx.device == kernels::Device::kCuda) return make_cuda_step_backend(ctx, vocab);
  if (ctx.pool == nullptr) throw std::invalid_argument("make_step_backend: the CPU backend needs ctx.pool");
  return std::make_unique<CpuStepBackend>(ctx, vocab);
}

}  // namespace nucleus
