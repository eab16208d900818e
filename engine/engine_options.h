// How an engine is set up (EngineOptions) and what it reports (EngineStats).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "engine/engine_defaults.h"
#include "kernels/device.h"
#include "kernels/kv_dtype.h"

namespace nucleus {

class Model;

// Speculative decoding: a drafter proposes tokens, one forward pass scores
// them, and only drafts equal to the target model's own samples are kept, so
// outputs are bitwise the same with and without it (it is only a speed-up).
// kNgram: prompt lookup (ngram_drafter.h); kDraft: EngineOptions::draft_model
// run greedily (draft_model_drafter.h).
enum class Speculation { kOff, kNgram, kDraft };
const char* speculation_name(Speculation mode);  // "off", "ngram", "draft"
// The mode named "off", "ngram" or "draft"; nullopt for another name.
std::optional<Speculation> speculation_from_name(const std::string& name);

struct EngineOptions {
  int block_size = kDefaultBlockSize;  // tokens per KV block
  int64_t kv_cache_bytes = 0;         // KV pool budget; 0 = sized from the context, at most kv_cache_fraction of free memory (engine/kv_budget.h)
  double kv_cache_fraction = 0.25;    // the cap of the default size, of free RAM (GPU memory on CUDA)
  kernels::KvDtype kv_dtype = kernels::kDefaultKvDtype;  // how keys and values are stored (kernels/kv_dtype.h)
  int max_batched_tokens = kDefaultMaxBatchedTokens;  // token budget of one step (decode + prefill chunks)
  int max_seqs = kDefaultMaxSeqs;     // sequences in one step
  double max_step_ms = 0;             // target step time while decoding (engine/prefill_pacing.h); 0 = none
  int max_queue = kDefaultMaxQueue;              // waiting requests beyond which submit() throws EngineOverloaded
  int max_request_sequences = kDefaultMaxRequestSequences;  // n (or beams) of one submitted request
  bool prefix_cache = true;           // automatic prefix caching
  int threads = 0;                    // CPU threads; 0 = one per core
  Speculation speculation = Speculation::kOff;  // default for requests that do not choose
  int spec_tokens = kDefaultSpecTokens;  // most drafted tokens per step and sequence (SpecPacing picks fewer)
  kernels::Device device = kernels::Device::kCpu;  // where the forward pass, the KV cache and sampling live
  // The drafter of Speculation::kDraft: a model with the same vocabulary (not
  // owned; must outlive the engine; may be the target model itself). Its KV
  // pool has as many blocks as the target's. nullptr: kDraft is refused.
  Model* draft_model = nullptr;
  // Called once, on the engine thread, when a failed step has left the device
  // unable to run anything (StepBackend::device_failure): from then on every
  // request fails at once with that reason. The server exits on it.
  std::function<void(const std::string& why)> on_device_lost;
};

// A snapshot for /metrics and benchmarks.
struct EngineStats {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;          // referenced by live sequences
  int64_t kv_blocks_cached = 0;        // free but holding reusable prefix blocks
  int64_t prefix_queries = 0;          // prompt tokens looked up in the prefix cache
  int64_t prefix_hits = 0;             // of which served from it
  int64_t preemptions = 0;
  int64_t spec_drafted = 0;            // drafted tokens scored
  int64_t spec_accepted = 0;           // of which kept
  int64_t spec_draft_kv_blocks_used = 0;  // blocks of the draft model's own KV pool in use
  int64_t steps = 0;
  int64_t prompt_tokens = 0;
  int64_t generation_tokens = 0;
  int64_t finished_stop = 0, finished_length = 0, finished_abort = 0, finished_error = 0;
  double step_seconds = 0.0;           // total wall time in steps
  double forward_seconds = 0.0;        // of which in the forward pass
  double sample_seconds = 0.0;         // of which in the sampler
};

}  // namespace nucleus
