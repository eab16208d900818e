// Admission: every check a request must pass before the engine queues it, in
// one place, each failure an InvalidRequest naming the client's parameter.
// Runs on the submitting thread (it reads only the limits, never engine state).
#pragma once

#include <cstdint>

#include "engine/generation_request.h"

namespace nucleus {

// What the engine can serve, fixed when it starts.
struct AdmissionLimits {
  int64_t vocab = 0;           // logit rows of the model
  int64_t context_length = 0;  // tokens
  int64_t cache_blocks = 0;    // KV blocks in the whole pool
  int block_size = 0;          // tokens per KV block
  bool has_draft_model = false;
  int max_sequences = 256;     // n, or the beam width, of one request (EngineOptions::max_request_sequences)
};

// Validates `spec` and resolves max_tokens = -1 (until the context, or the
// whole cache when that holds less, is full). Throws InvalidRequest.
void admit(GenerationRequest& spec, const AdmissionLimits& limits);

}  // namespace nucleus
