// The engine: one thread that owns the model, the KV cache and the scheduler,
// and turns many concurrent requests into one stream of batched forward passes.
//
// Threads: Engine::start() creates the engine thread (the only thread that
// touches the model, the KV cache, the scheduler and per-sequence sampling
// state). Any other thread (HTTP handlers, `nucleus generate`, tests) only
// calls submit(), RequestHandle::next()/abort() and stats(), which go through
// mutex-protected queues.
//
// Each step: schedule (decode tokens first, then prefill chunks, within the
// token budget and the free KV blocks) -> one forward pass on the ragged batch
// -> sample every row at once -> advance sequences, check stop conditions,
// publish events to the handles.
#pragma once

#include <chrono>
#include <memory>

#include "engine/engine_options.h"
#include "engine/generation_request.h"

namespace nucleus {

class Tokenizer;
class EngineCore;

class Engine {
 public:
  // The model and tokenizer must outlive the engine.
  Engine(Model& model, const Tokenizer& tokenizer, const EngineOptions& options);
  ~Engine();  // stops the thread, aborting what is left

  // Validates and enqueues; throws InvalidRequest or EngineOverloaded.
  std::unique_ptr<RequestHandle> submit(GenerationRequest request);
  EngineStats stats() const;
  const EngineOptions& options() const;
  int context_length() const;

  // Stops accepting work; waits up to `timeout` for running requests, then aborts the rest.
  void shutdown(std::chrono::milliseconds timeout);

 private:
  std::unique_ptr<EngineCore> core_;
};

}  // namespace nucleus
