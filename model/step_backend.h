// The device half of an engine step: one forward pass over the ragged batch,
// then one sampler call for every row of it. Scheduling, drafting, stop
// conditions and events (engine_core.cc) are the same on every device; what
// differs is here: where the logits live, which sampler runs, and the
// per-sequence state a device keeps (CUDA: penalty counts in device memory).
// The engine picks one backend at construction (make_step_backend).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "model/kv_storage.h"
#include "model/model.h"
#include "kernels/ops.h"
#include "sampling/sampler.h"

namespace nucleus {

// One row to sample.
struct SampleRow {
  size_t logit_row = 0;   // row of the last forward()'s logits (several rows may share one)
  uint64_t seq_id = 0;    // the sequence (never reused): keys per-sequence device state
  std::span<const int32_t> output_tokens;  // its generated tokens so far (drafts excluded)
  sampling::RowInput input;                // exactly what the CPU sampler takes
};

class StepBackend {
 public:
  virtual ~StepBackend() = default;
  StepBackend() = default;
  StepBackend(const StepBackend&) = delete;
  StepBackend& operator=(const StepBackend&) = delete;

  // Runs the model on the batch; `kv` lives on this backend's device. The
  // logits [batch.logit_rows.size(), vocab] stay here for sample().
  virtual void forward(Model& model, const ForwardBatch& batch, KvStorage& kv) = 0;
  // Samples every row from the last forward()'s logits (once per forward: the
  // sampler works in place). Throws std::invalid_argument for bad rows.
  virtual void sample(std::span<const SampleRow> rows, std::span<sampling::RowResult> results) = 0;
  // Copies row `logit_row` of the last forward()'s logits to host[vocab], as
  // the model produced them: call it before sample(), which works in place.
  // (Beam search ranks these rows on the host: engine/beam_search.h.)
  virtual void read_logits(size_t logit_row, float* host) const = 0;
  // Asked after a step threw: empty while the device can run further steps,
  // otherwise why not (kernels::device_failure).
  virtual std::string device_failure() const = 0;
};

// ctx.device selects the backend (ctx.pool must outlive it). CUDA in a build
// without it throws std::runtime_error saying so.
std::unique_ptr<StepBackend> make_step_backend(const kernels::Context& ctx, int64_t vocab);

// The CUDA backend (step_backend_cuda.cc); throws in a build without CUDA.
std::unique_ptr<StepBackend> make_cuda_step_backend(const kernels::Context& ctx, int64_t vocab);

}  // namespace nucleus
