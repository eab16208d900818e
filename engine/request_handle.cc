// The caller's side of a request (RequestHandle) and the mailbox the engine
// thread fills for it (RequestHandle::Shared, request_state.h).
#include <algorithm>

#include "engine/generation_request.h"
#include "engine/request_state.h"

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
      if (!event.error.empty()) {
        pending->error = event.error;
        pending->error_param = event.error_param;
      }
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

}  // namespace nucleus
