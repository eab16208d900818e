#include "engine/engine.h"

#include "engine/engine_core.h"

namespace nucleus {

Engine::Engine(Model& model, const Tokenizer& tokenizer, const EngineOptions& options)
    : core_(std::make_unique<EngineCore>(model, tokenizer, options)) {
  core_->start();
}

Engine::~Engine() { core_->shutdown(std::chrono::milliseconds(0)); }

std::unique_ptr<RequestHandle> Engine::submit(GenerationRequest request) { return core_->submit(std::move(request)); }
EngineStats Engine::stats() const { return core_->stats(); }
const EngineOptions& Engine::options() const { return core_->options(); }
int Engine::context_length() const { return core_->context_length(); }
void Engine::shutdown(std::chrono::milliseconds timeout) { core_->shutdown(timeout); }

}  // namespace nucleus
