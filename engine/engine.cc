#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <unordered_map>

#include "engine/block_pool.h"
#include "engine/engine_core.h"
#include "model/model.h"
#include "engine/request_state.h"
#include "kernels/device.h"
#include "text/tokenizer.h"

namespace nucleus {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
    case FinishReason::kNone: break;
  }
  return "";
}

const char* speculation_name(Speculation mode) {
  switch (mode) {
    case Speculation::kNgram: return "ngram";
    case Speculation::kDraft: return "draft";
    case Speculation::kOff: break;
  }
  return "off";
}

std::optional<Speculation> speculation_from_name(const std::string& name) {
  for (Speculation mode : {Speculation::kOff, Speculation::kNgram, Speculation::kDraft}) {
    if (name == speculation_name(mode)) return mode;
  }
  return std::nullopt;
}

// ---- the mailbox between the engine thread and a handle ----

void RequestHandle::Shared::publish(RequestEvent event) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!pending) {
      pending = std::move(event);
    } else {
      // Coalesce: append each sequence's new tokens and text to what is waiting.
      for (SequenceDelta& d : event.deltas) {
        auto it = std::find_if(pending->deltas.begin(), pending->deltas.end(),
                               [&](const SequenceDelta& p) { return p.index == d.index; });
        if (it == pending->deltas.end()) {
          pending->deltas.push_back(std::move(d));
          continue;
        }
        it->tokens.insert(it->tokens.end(), d.tokens.begin(), d.tokens.end());
        it->logprobs.insert(it->logprobs.end(), d.logprobs.begin(), d.logprobs.end());
        it->text += d.text;
        if (d.finish != FinishReason::kNone) {
          it->finish = d.finish;
          it->stop_reason = d.stop_reason;
          it->stop_reason_is_token = d.stop_reason_is_token;
        }
        if (d.beam_score) {
          it->cumulative_logprob = d.cumulative_logprob;
          it->beam_score = d.beam_score;
        }
      }
      pending->done = pending->done || event.done;
      if (event.done) pending->usage = event.usage;
      if (!event.error.empty()) pending->error = event.error;
      if (!event.prompt_logprobs.empty()) pending->prompt_logprobs = std::move(event.prompt_logprobs);
    }
    if (event.done) finished = true;
  }
  ready.notify_all();
}

RequestHandle::~RequestHandle() { abort(); }

void RequestHandle::abort() { shared_->aborted.store(true); }

std::optional<RequestEvent> RequestHandle::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(shared_->mutex);
  auto has_event = [&] { return shared_->pending.has_value() || shared_->finished; };
  if (timeout == std::chrono::milliseconds::max()) {
    shared_->ready.wait(lock, has_event);
  } else if (!shared_->ready.wait_for(lock, timeout, has_event)) {
    return std::nullopt;
  }
  if (shared_->pending) {
    RequestEvent event = std::move(*shared_->pending);
    shared_->pending.reset();
    return event;
  }
  RequestEvent done;
  done.done = true;
  return done;
}

// ---- Engine: the public face of EngineCore ----

namespace {

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return int64_t{4} << 30;  // unknown: assume 4 GiB
}

// Without --kv-cache-memory the pool takes a fraction of free RAM, capped here:
// 4 GiB holds ~90k tokens of the default model, far more than two cores can use.
constexpr int64_t kDefaultKvCacheCap = int64_t{4} << 30;

}  // namespace

int64_t EngineCore::kv_blocks_for(const ModelConfig& config, const EngineOptions& options) {
  int64_t budget = options.kv_cache_bytes;
  if (budget <= 0) {
    // On CUDA the pool is device memory: a fraction of what the GPU has free
    // (the weights' fp16 copies are uploaded later, on first use, and need room too).
    const int64_t available = options.device == kernels::Device::kCuda ? kernels::device_free_bytes(options.device)
                                                                       : available_memory_bytes();
    budget = std::min<int64_t>(static_cast<int64_t>(options.kv_cache_fraction * available), kDefaultKvCacheCap);
  }
  const int64_t per_block = KvStorage::bytes_per_token(config) * options.block_size;
  const int64_t blocks = budget / per_block;
  if (blocks < 1) {
    throw std::invalid_argument("KV cache budget of " + std::to_string(budget) + " bytes is below one block (" +
                                std::to_string(per_block) + " bytes); raise --kv-cache-memory");
  }
  return std::min<int64_t>(blocks, INT32_MAX / options.block_size);
}

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
