// Helpers for model tests: run sequences through Model::forward with a simple
// block layout (sequence s owns a contiguous run of blocks).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/model.h"
#include "kernels/device.h"

namespace nucleus::test {

struct SeqSpec {
  std::vector<int32_t> ids;  // the tokens to feed now
  int32_t start_pos = 0;     // position of ids[0]
  int32_t first_block = 0;   // the sequence's blocks are first_block, first_block + 1, ...
};

// Builds a ragged batch over `seqs` asking logits for every row (all_rows) or
// only the last row of each sequence.
inline ForwardBatch make_batch(const std::vector<SeqSpec>& seqs, int block_size, int max_blocks, bool all_rows) {
  ForwardBatch b;
  b.max_blocks_per_seq = max_blocks;
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (int i = 0; i < max_blocks; ++i) b.block_tables.push_back(seqs[s].first_block + i);
    for (size_t i = 0; i < seqs[s].ids.size(); ++i) {
      const int32_t pos = seqs[s].start_pos + static_cast<int32_t>(i);
      if (all_rows || i + 1 == seqs[s].ids.size()) b.logit_rows.push_back(static_cast<int32_t>(b.tokens.size()));
      b.tokens.push_back(seqs[s].ids[i]);
      b.positions.push_back(pos);
      b.token_seq.push_back(static_cast<int32_t>(s));
      b.slot_mapping.push_back((seqs[s].first_block + pos / block_size) * block_size + pos % block_size);
    }
  }
  return b;
}

// The device model tests run on: $NUCLEUS_TEST_DEVICE (cpu, the default, or
// cuda). *skip says why a CUDA run cannot happen here (empty when it can).
inline kernels::Device test_device(std::string* skip) {
  skip->clear();
  const char* env = std::getenv("NUCLEUS_TEST_DEVICE");
  const std::string name = env && *env ? env : "cpu";
  if (name == "cpu") return kernels::Device::kCpu;
  if (name != "cuda") throw std::invalid_argument("NUCLEUS_TEST_DEVICE must be cpu or cuda, got '" + name + "'");
  std::string why;
  if (!kernels::cuda_available(&why)) *skip = "NUCLEUS_TEST_DEVICE=cuda but CUDA is unavailable: " + why;
  return kernels::Device::kCuda;
}

// Model::forward into host logits on any device: device logits are downloaded.
inline void forward_to_host(Model& model, const kernels::Context& ctx, const ForwardBatch& b, KvStorage& kv,
                            float* host_logits) {
  if (ctx.device == kernels::Device::kCpu) {
    model.forward(ctx, b, kv, host_logits);
    return;
  }
  const size_t bytes = b.logit_rows.size() * static_cast<size_t>(model.config().vocab_size) * sizeof(float);
  kernels::DeviceBuffer logits(ctx.device, bytes);
  model.forward(ctx, b, kv, logits.as<float>());
  logits.download(host_logits, bytes);
}

// Feeds `ids` to the model in chunks of `chunk` tokens as one sequence starting
// at block `first_block`; returns the logits of every position [n, vocab].
inline std::vector<float> run_chunked(Model& model, KvStorage& kv, const kernels::Context& ctx,
                                      const std::vector<int32_t>& ids, size_t chunk, int32_t first_block = 0) {
  const int vocab = model.config().vocab_size;
  const int max_blocks = static_cast<int>((ids.size() + kv.block_size() - 1) / kv.block_size());
  std::vector<float> all(ids.size() * vocab);
  for (size_t begin = 0; begin < ids.size(); begin += chunk) {
    const size_t end = std::min(ids.size(), begin + chunk);
    SeqSpec spec{std::vector<int32_t>(ids.begin() + begin, ids.begin() + end), static_cast<int32_t>(begin), first_block};
    ForwardBatch b = make_batch({spec}, kv.block_size(), max_blocks, true);
    forward_to_host(model, ctx, b, kv, all.data() + begin * vocab);
  }
  return all;
}

}  // namespace nucleus::test
