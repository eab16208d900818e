// Runs a batch of sampler rows on either device, for the device sampler tests:
// the CPU through sampling::Sampler, CUDA through sampling/cuda/sampler_cuda.h
// on device logits, with the engine's own host conversion (device_rows.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/build_config.h"
#include "kernels/device.h"
#include "sampling/device_rows.h"
#include "sampling/penalties.h"
#include "sampling/sampler.h"

#if NUCLEUS_HAVE_CUDA
#include "sampling/cuda/sampler_cuda.h"
#endif

namespace nucleus::sampling::test {

using kernels::Device;

// One row of a test batch.
struct TestRow {
  SamplingParams params;
  std::vector<float> logits;
  PenaltyState penalties;
  bool use_penalties = false;
  std::vector<int32_t> prompt_tokens, output_tokens;  // what `penalties` holds, for references
  uint64_t seed = 1;
  int64_t position = 0;
  uint32_t seq_index = 0;
  int64_t num_output_tokens = 0;
  std::vector<int32_t> eos;
};

// Runs the rows on one device; returns one RowResult per row.
inline std::vector<RowResult> sample_on(Device device, const std::vector<TestRow>& rows) {
  const int64_t vocab = static_cast<int64_t>(rows[0].logits.size());
  std::vector<float> logits;
  for (const TestRow& r : rows) logits.insert(logits.end(), r.logits.begin(), r.logits.end());
  std::vector<RowResult> out(rows.size());
  std::vector<RowInput> in(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    in[i].params = &rows[i].params;
    in[i].penalties = rows[i].use_penalties ? &rows[i].penalties : nullptr;
    in[i].seed = rows[i].seed;
    in[i].position = rows[i].position;
    in[i].seq_index = rows[i].seq_index;
    in[i].num_output_tokens = rows[i].num_output_tokens;
    in[i].eos_token_ids = rows[i].eos;
  }
  if (device == Device::kCpu) {
    Sampler sampler;
    sampler.sample(logits.data(), static_cast<int64_t>(rows.size()), vocab, in, out);
    return out;
  }
#if NUCLEUS_HAVE_CUDA
  // The engine's conversion (sampling/device_rows.h): RowInput -> per-row device parameters and counts.
  using namespace sampling::cuda;
  SampleBatch batch;
  std::vector<uint32_t> counts;
  int32_t count_rows = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    int32_t counts_row = -1;
    if (rows[i].use_penalties) {
      counts_row = count_rows++;
      counts.resize(static_cast<size_t>(count_rows * vocab), 0u);
      fill_penalty_counts(rows[i].penalties,
                          std::span<uint32_t>(counts).subspan(static_cast<size_t>(counts_row * vocab), vocab));
    }
    append_device_row(in[i], counts_row, vocab, batch);
  }
  kernels::DeviceBuffer d_logits(Device::kCuda, logits.size() * sizeof(float));
  d_logits.upload(logits.data(), logits.size() * sizeof(float));
  kernels::DeviceBuffer d_counts(Device::kCuda, std::max<size_t>(counts.size(), 1) * sizeof(uint32_t));
  if (!counts.empty()) d_counts.upload(counts.data(), counts.size() * sizeof(uint32_t));
  std::vector<SampleRowResult> device_results(rows.size());
  CudaSampler sampler;
  sampler.sample(d_logits.as<float>(), vocab, batch, d_counts.as<uint32_t>(), device_results.data());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = to_row_result(device_results[i]);
#endif
  return out;
}

}  // namespace nucleus::sampling::test
